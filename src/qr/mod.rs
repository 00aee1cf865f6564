//! Everything about the QR itself: the payload URL printed in it
//! (`{public_url}/v/{jws}`), rendering it as PNG or SVG, and reading one
//! back from a photo.

pub mod read;
pub mod render;

/// A signed QR: the compact JWS and the URL printed in the QR.
#[derive(Debug, Clone, serde::Serialize, PartialEq, Eq)]
pub struct Qr {
    pub jws: String,
    pub url: String,
}

impl Qr {
    /// The QR of `jws` served under `public_url`.
    pub fn new(public_url: &str, jws: String) -> Qr {
        let url = format!("{public_url}/v/{jws}");
        Qr { jws, url }
    }

    /// Recovers the JWS from a stored QR URL.
    pub fn from_url(url: &str) -> Option<Qr> {
        let (_, jws) = url.rsplit_once("/v/")?;
        Some(Qr {
            jws: jws.to_string(),
            url: url.to_string(),
        })
    }
}

/// The JWS inside a QR text: the part after `/v/` of a URL (any host; a
/// query or fragment is cut off), or the text itself.
pub fn extract_jws(qr: &str) -> &str {
    match qr.rfind("/v/") {
        Some(i) if qr.contains("://") || qr.starts_with("/v/") => {
            let rest = &qr[i + 3..];
            rest.split(['?', '#']).next().unwrap_or(rest)
        }
        _ => qr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_jws_is_found_in_urls_and_bare() {
        assert_eq!(extract_jws("https://v.example.cn/v/a.b.c"), "a.b.c");
        assert_eq!(
            extract_jws("http://127.0.0.1:8080/v/a.b.c?cp=G4#x"),
            "a.b.c"
        );
        assert_eq!(extract_jws("a.b.c"), "a.b.c");
        assert_eq!(extract_jws("/v/a.b.c"), "a.b.c");
    }

    #[test]
    fn a_qr_url_round_trips() {
        let qr = Qr::new("https://v.example.cn", "a.b.c".into());
        assert_eq!(qr.url, "https://v.example.cn/v/a.b.c");
        assert_eq!(Qr::from_url(&qr.url), Some(qr.clone()));
        assert_eq!(extract_jws(&qr.url), qr.jws);
    }
}
