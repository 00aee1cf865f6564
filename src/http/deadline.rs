//! The body deadline (SPEC §16): once a request's headers are in, its body
//! must arrive within `SCRAPCERT_BODY_DEADLINE_SECS`, however slowly it
//! trickles, so that a slow client holds a connection and its buffer for
//! no longer than that. (The header deadline is the server's own
//! `client_request_timeout`.)

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::HttpMessage;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{ResponseError, web};
use futures_util::Stream;

use crate::domain::ProblemCode;
use crate::http::error::ApiError;
use crate::http::state::AppState;

/// A body stream that fails once its deadline has passed.
struct Deadline {
    inner: Payload,
    sleep: Pin<Box<tokio::time::Sleep>>,
    passed: Arc<AtomicBool>,
}

impl Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.passed.load(Ordering::Relaxed) {
            return Poll::Ready(None);
        }
        if let Poll::Ready(item) = Pin::new(&mut self.inner).poll_next(cx) {
            return Poll::Ready(item);
        }
        if self.sleep.as_mut().poll(cx).is_ready() {
            self.passed.store(true, Ordering::Relaxed);
            return Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the request body did not arrive within its deadline",
            )))));
        }
        Poll::Pending
    }
}

/// The middleware: gives every request that may have a body its deadline,
/// and answers 408 `request_timeout` (closing the connection) when the
/// body missed it, whatever the route made of the broken body.
pub async fn body_deadline(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let bodiless = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let deadline = req
        .app_data::<web::Data<AppState>>()
        .map(|s| Duration::from_secs(s.settings.body_deadline_secs));
    let (Some(deadline), false) = (deadline, bodiless) else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    let passed = Arc::new(AtomicBool::new(false));
    let stream = Deadline {
        inner: req.take_payload(),
        sleep: Box::pin(tokio::time::sleep(deadline)),
        passed: Arc::clone(&passed),
    };
    req.set_payload(Payload::from(
        Box::pin(stream) as Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>>
    ));
    let res = next.call(req).await?;
    if !passed.load(Ordering::Relaxed) {
        return Ok(res.map_into_boxed_body());
    }
    let mut timeout = ApiError::problem(
        StatusCode::REQUEST_TIMEOUT,
        ProblemCode::RequestTimeout,
        format!(
            "the request body did not arrive within {} s",
            deadline.as_secs()
        ),
    )
    .error_response();
    timeout.headers_mut().insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
    Ok(res.into_response(timeout))
}
