//! Rate limits on the public endpoints (SPEC §16): a budget per client
//! address for each kind of public work, and one budget per token instead
//! for callers with a token, so that officers behind one address (a
//! checkpoint, a registration office) are not limited by it.
//!
//! A token is charged to its own budget only once the service has
//! accepted it: a request with a token not yet seen, or one that was
//! refused, is charged to its address. Made-up tokens therefore buy no
//! budget of their own.

use std::collections::HashSet;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ipnet::IpNet;
use sha2::{Digest, Sha256};

use crate::config::{Allowance, Limits};
use crate::domain::ProblemCode;
use crate::http::error::ApiError;

fn quota(a: Allowance) -> Quota {
    let rate = NonZeroU32::new(a.per_second).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(a.burst).unwrap_or(NonZeroU32::MIN);
    Quota::per_second(rate).allow_burst(burst)
}

/// The kinds of public work, each with its own budget per address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    /// Verification, by the API or a page, and the public pages.
    Verify,
    /// A photo of a QR to decode.
    Image,
    /// A vehicle lookup.
    Vehicle,
}

impl Work {
    /// The work a request is, if it is public work that is limited.
    /// Complaints have a budget of their own, counted where they are filed.
    pub fn of(method: &Method, path: &str) -> Option<(Work, Answer)> {
        let get = method == Method::GET;
        let post = method == Method::POST;
        Some(match path {
            "/api/v1/verify" if post => (Work::Verify, Answer::Problem),
            "/api/v1/verify/image" if post => (Work::Image, Answer::Problem),
            "/api/v1/vehicles/lookup" if post => (Work::Vehicle, Answer::Problem),
            p if get && p.starts_with("/api/v1/vehicles/") => (Work::Vehicle, Answer::Problem),
            "/verify/image" if post => (Work::Image, Answer::Page),
            "/vehicles" if get => (Work::Vehicle, Answer::Page),
            "/" | "/complaints/new" if get => (Work::Verify, Answer::Page),
            "/verify" if post => (Work::Verify, Answer::Page),
            p if (get || post) && p.starts_with("/v/") => (Work::Verify, Answer::Page),
            _ => return None,
        })
    }
}

/// How a refusal is answered: problem+json to the API, a page to a browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Problem,
    Page,
}

/// Keys at which a limiter forgets the keys that are full again.
const TIDY_AT: usize = 100_000;

/// The limiters of one service instance.
pub struct RateLimits {
    enabled: bool,
    verify: DefaultKeyedRateLimiter<IpAddr>,
    image: DefaultKeyedRateLimiter<IpAddr>,
    vehicle: DefaultKeyedRateLimiter<IpAddr>,
    token: DefaultKeyedRateLimiter<TokenKey>,
    /// Tokens the service accepted (by digest).
    known: Mutex<HashSet<TokenKey>>,
    trusted_proxies: Vec<IpNet>,
}

/// A token's digest: the secret itself is never kept.
type TokenKey = [u8; 16];

fn token_key(secret: &str) -> TokenKey {
    let digest = Sha256::digest(secret.as_bytes());
    let mut key = [0; 16];
    key.copy_from_slice(&digest[..16]);
    key
}

impl RateLimits {
    pub fn new(s: &Limits) -> RateLimits {
        RateLimits {
            enabled: s.enabled,
            verify: RateLimiter::keyed(quota(s.verify)),
            image: RateLimiter::keyed(quota(s.image)),
            vehicle: RateLimiter::keyed(quota(s.vehicle)),
            token: RateLimiter::keyed(quota(s.token)),
            known: Mutex::new(HashSet::new()),
            trusted_proxies: s.trusted_proxies.clone(),
        }
    }

    /// The client's address: the peer, or, when the peer is a trusted
    /// proxy, the nearest address in `X-Forwarded-For` that is not one.
    pub fn client(&self, req: &HttpRequest) -> IpAddr {
        let forwarded = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok());
        client_address(
            req.peer_addr().map(|a| a.ip()),
            forwarded,
            &self.trusted_proxies,
        )
    }

    /// `Ok` if the request is within its budget, else the wait.
    fn check(&self, work: Work, client: IpAddr, bearer: Option<TokenKey>) -> Result<(), Duration> {
        if !self.enabled {
            return Ok(());
        }
        let known = bearer.filter(|k| self.known.lock().is_ok_and(|set| set.contains(k)));
        let now = DefaultClock::default().now();
        let wait = |not_until: governor::NotUntil<_>| not_until.wait_time_from(now);
        match known {
            Some(key) => {
                tidy(&self.token);
                self.token.check_key(&key).map_err(wait)
            }
            None => {
                let limiter = match work {
                    Work::Verify => &self.verify,
                    Work::Image => &self.image,
                    Work::Vehicle => &self.vehicle,
                };
                tidy(limiter);
                limiter.check_key(&client).map_err(wait)
            }
        }
    }

    /// Learns from the answer whether the token was accepted.
    fn learn(&self, key: TokenKey, status: StatusCode) {
        let Ok(mut known) = self.known.lock() else {
            return;
        };
        if status == StatusCode::UNAUTHORIZED {
            known.remove(&key);
        } else {
            if known.contains(&key) {
                return;
            }
            if known.len() >= TIDY_AT {
                known.clear();
            }
            known.insert(key);
        }
    }
}

fn tidy<K: Hash + Eq + Clone>(limiter: &DefaultKeyedRateLimiter<K>) {
    if limiter.len() > TIDY_AT {
        limiter.retain_recent();
        limiter.shrink_to_fit();
    }
}

/// See [`RateLimits::client`].
pub fn client_address(
    peer: Option<IpAddr>,
    forwarded_for: Option<&str>,
    trusted: &[IpNet],
) -> IpAddr {
    let unknown = IpAddr::from([0, 0, 0, 0]);
    let Some(peer) = peer else {
        return unknown;
    };
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let Some(list) = forwarded_for else {
        return peer;
    };
    let mut nearest = peer;
    for hop in list.rsplit(',') {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) if is_trusted(&ip) => nearest = ip,
            Ok(ip) => return ip,
            // A hop that is no address ends what can be believed.
            Err(_) => return nearest,
        }
    }
    nearest
}

fn bearer_secret(req: &ServiceRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The middleware: charges public work to its budget and refuses it
/// beyond with 429 `rate_limited` and `Retry-After`.
pub async fn limit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some((work, answer)) = Work::of(req.method(), req.path()) else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    // Switched off (benchmarks), nothing is hashed, looked up or learnt.
    let Some(limits) = req
        .app_data::<web::Data<RateLimits>>()
        .filter(|l| l.enabled)
        .cloned()
    else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    let bearer = bearer_secret(&req).map(token_key);
    let client = limits.client(req.request());
    if let Err(wait) = limits.check(work, client, bearer) {
        let response = refusal(answer, wait);
        return Ok(req.into_response(response));
    }
    let res = next.call(req).await?;
    if let Some(key) = bearer {
        limits.learn(key, res.status());
    }
    Ok(res.map_into_boxed_body())
}

/// Whole seconds to wait, at least one.
fn seconds(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

fn refusal(answer: Answer, wait: Duration) -> HttpResponse {
    let seconds = seconds(wait).max(1);
    match answer {
        Answer::Problem => ApiError::problem(
            StatusCode::TOO_MANY_REQUESTS,
            ProblemCode::RateLimited,
            "too many requests from this client; try again after Retry-After seconds",
        )
        .with_extension("retry_after", serde_json::json!(seconds))
        .error_response(),
        Answer::Page => {
            let mut page = crate::http::pages::landing_page(
                StatusCode::TOO_MANY_REQUESTS,
                Some("请求过于频繁，请稍后再试。"),
            );
            if let Ok(value) = header::HeaderValue::from_str(&seconds.to_string()) {
                page.headers_mut().insert(header::RETRY_AFTER, value);
            }
            page
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(verify: Allowance) -> Limits {
        let one = Allowance {
            burst: 1,
            per_second: 1,
        };
        Limits {
            enabled: true,
            verify,
            image: one,
            vehicle: one,
            token: Allowance {
                burst: 3,
                per_second: 1,
            },
            trusted_proxies: vec!["10.0.0.0/8".parse().unwrap()],
        }
    }

    #[test]
    fn allowances_are_burst_comma_rate() {
        assert_eq!(
            Allowance::parse("120, 10"),
            Ok(Allowance {
                burst: 120,
                per_second: 10
            })
        );
        for bad in ["", "120", "0,1", "1,0", "a,1", "1,-1", "1,2,3"] {
            assert!(Allowance::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn public_work_is_classified_by_method_and_path() {
        let cases = [
            (Method::POST, "/api/v1/verify", Some(Work::Verify)),
            (Method::POST, "/api/v1/verify/image", Some(Work::Image)),
            (Method::GET, "/v/abc", Some(Work::Verify)),
            (Method::POST, "/v/abc", Some(Work::Verify)),
            (Method::GET, "/", Some(Work::Verify)),
            (Method::POST, "/verify/image", Some(Work::Image)),
            (Method::GET, "/api/v1/vehicles/LSVAB", Some(Work::Vehicle)),
            (Method::POST, "/api/v1/vehicles/lookup", Some(Work::Vehicle)),
            (Method::GET, "/vehicles", Some(Work::Vehicle)),
            (Method::GET, "/api/v1/verify", None),
            (Method::POST, "/api/v1/recycling-certificates", None),
            (Method::GET, "/.well-known/jwks.json", None),
            (Method::GET, "/healthz", None),
            (Method::POST, "/api/v1/complaints", None),
        ];
        for (method, path, work) in cases {
            assert_eq!(
                Work::of(&method, path).map(|w| w.0),
                work,
                "{method} {path}"
            );
        }
    }

    #[test]
    fn an_address_has_its_burst_then_waits() {
        let limits = RateLimits::new(&settings(Allowance {
            burst: 2,
            per_second: 1,
        }));
        let a = IpAddr::from([192, 0, 2, 1]);
        let b = IpAddr::from([192, 0, 2, 2]);
        assert!(limits.check(Work::Verify, a, None).is_ok());
        assert!(limits.check(Work::Verify, a, None).is_ok());
        let wait = limits.check(Work::Verify, a, None).unwrap_err();
        assert!(
            wait <= Duration::from_secs(1) && seconds(wait) == 1,
            "{wait:?}"
        );
        // Another address, and another kind of work, have budgets of their own.
        assert!(limits.check(Work::Verify, b, None).is_ok());
        assert!(limits.check(Work::Image, a, None).is_ok());
        assert!(limits.check(Work::Image, a, None).is_err());
    }

    #[test]
    fn an_accepted_token_has_its_own_budget_and_a_made_up_one_none() {
        let limits = RateLimits::new(&settings(Allowance {
            burst: 1,
            per_second: 1,
        }));
        let a = IpAddr::from([192, 0, 2, 1]);
        let good = token_key("good");
        // Not yet accepted: charged to the address.
        assert!(limits.check(Work::Verify, a, Some(good)).is_ok());
        limits.learn(good, StatusCode::OK);
        for _ in 0..3 {
            assert!(limits.check(Work::Verify, a, Some(good)).is_ok());
        }
        assert!(limits.check(Work::Verify, a, Some(good)).is_err());
        // The address's budget is spent; made-up tokens do not refill it.
        for n in 0..5 {
            let made_up = token_key(&format!("made-up-{n}"));
            assert!(limits.check(Work::Verify, a, Some(made_up)).is_err());
            limits.learn(made_up, StatusCode::UNAUTHORIZED);
        }
        // A token refused later (revoked) is charged to its address again.
        limits.learn(good, StatusCode::UNAUTHORIZED);
        assert!(limits.check(Work::Verify, a, Some(good)).is_err());
    }

    #[test]
    fn switched_off_nothing_is_limited() {
        let mut s = settings(Allowance {
            burst: 1,
            per_second: 1,
        });
        s.enabled = false;
        let limits = RateLimits::new(&s);
        let a = IpAddr::from([192, 0, 2, 1]);
        for _ in 0..100 {
            assert!(limits.check(Work::Image, a, None).is_ok());
        }
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let proxy = Some(IpAddr::from([10, 1, 2, 3]));
        let stranger = Some(IpAddr::from([203, 0, 113, 9]));
        let client = |peer, xff| client_address(peer, xff, &trusted).to_string();
        assert_eq!(client(stranger, Some("198.51.100.7")), "203.0.113.9");
        assert_eq!(client(proxy, Some("198.51.100.7")), "198.51.100.7");
        // The client cannot choose its address by writing hops of its own
        // in front: the nearest untrusted hop counts.
        assert_eq!(
            client(proxy, Some("1.1.1.1, 198.51.100.7, 10.9.9.9")),
            "198.51.100.7"
        );
        assert_eq!(client(proxy, None), "10.1.2.3");
        assert_eq!(client(proxy, Some("junk, 10.9.9.9")), "10.9.9.9");
        assert_eq!(client(None, Some("198.51.100.7")), "0.0.0.0");
    }
}
