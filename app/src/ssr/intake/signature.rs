//! Webhook signatures, compared in constant time:
//! - Meta's: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body
//!   with the app secret>`;
//! - Chatwoot's: `X-Chatwoot-Signature: sha256=<hex HMAC-SHA256 of
//!   "<X-Chatwoot-Timestamp>.<raw body>" with the webhook's secret>`, the
//!   timestamp (Unix seconds) at most five minutes from now (replays).

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::ssr::domain::secret::{from_hex, hex};

/// Whether `header` is the signature of `body` under `secret`.
pub fn valid(secret: &str, body: &[u8], header: Option<&str>) -> bool {
    let Some(hex) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let Some(given) = from_hex(hex) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    // `verify_slice` compares in constant time.
    mac.verify_slice(&given).is_ok()
}

/// How far a Chatwoot delivery's timestamp may be from now.
pub const CHATWOOT_WINDOW_SECONDS: i64 = 300;

/// Whether a delivery is signed by `secret` under `scheme`; `header` reads
/// a request header by its lower-case name; `now` is Unix seconds.
pub fn check<'a>(
    scheme: super::Scheme,
    secret: &str,
    body: &[u8],
    header: impl Fn(&str) -> Option<&'a str>,
    now: i64,
) -> bool {
    match scheme {
        super::Scheme::Hub => valid(secret, body, header("x-hub-signature-256")),
        super::Scheme::Chatwoot => {
            let Some(ts) = header("x-chatwoot-timestamp").map(str::trim) else {
                return false;
            };
            let Ok(at) = ts.parse::<i64>() else {
                return false;
            };
            if (now - at).abs() > CHATWOOT_WINDOW_SECONDS {
                return false;
            }
            let mut signed = Vec::with_capacity(ts.len() + 1 + body.len());
            signed.extend_from_slice(ts.as_bytes());
            signed.push(b'.');
            signed.extend_from_slice(body);
            valid(secret, &signed, header("x-chatwoot-signature"))
        }
    }
}

/// Chatwoot's signature header for `body` sent at `timestamp` (tests).
pub fn sign_chatwoot(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut signed = format!("{timestamp}.").into_bytes();
    signed.extend_from_slice(body);
    sign(secret, &signed)
}

/// The header value for `body` (for tests and for clients of ours).
pub fn sign(secret: &str, body: &[u8]) -> String {
    // HMAC takes a key of any length.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    format!("sha256={}", hex(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_checked() {
        let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
        let good = sign("s3cret", body);
        assert!(valid("s3cret", body, Some(&good)));
        assert!(!valid("other", body, Some(&good)));
        assert!(!valid("s3cret", b"{}", Some(&good)));
        assert!(!valid("s3cret", body, None));
        assert!(!valid("s3cret", body, Some("sha256=zz")));
        assert!(!valid(
            "s3cret",
            body,
            Some(good.trim_start_matches("sha256="))
        ));
    }

    #[test]
    fn chatwoot_signs_the_timestamp_and_the_body() {
        use super::super::Scheme;
        let body = br#"{"event":"message_created"}"#;
        let now = 1_764_300_000;
        let sig = sign_chatwoot("cw", now, body);
        let ts = now.to_string();
        let headers = |sig: &str, ts: &str| {
            let (sig, ts) = (sig.to_owned(), ts.to_owned());
            move |name: &str| -> Option<String> {
                match name {
                    "x-chatwoot-signature" => Some(sig.clone()),
                    "x-chatwoot-timestamp" => Some(ts.clone()),
                    _ => None,
                }
            }
        };
        let ok = |sig: &str, ts: &str, at: i64, body: &[u8]| {
            let h = headers(sig, ts);
            let values: Vec<(String, Option<String>)> =
                ["x-chatwoot-signature", "x-chatwoot-timestamp"]
                    .iter()
                    .map(|n| ((*n).to_owned(), h(n)))
                    .collect();
            check(
                Scheme::Chatwoot,
                "cw",
                body,
                |n| {
                    values
                        .iter()
                        .find(|(k, _)| k == n)
                        .and_then(|(_, v)| v.as_deref())
                },
                at,
            )
        };
        assert!(ok(&sig, &ts, now, body));
        assert!(ok(&sig, &ts, now + 300, body));
        // Stale or from the future: a replay.
        assert!(!ok(&sig, &ts, now + 301, body));
        assert!(!ok(&sig, &ts, now - 301, body));
        // Another timestamp than the signed one, another body, another secret.
        assert!(!ok(&sig, &(now + 1).to_string(), now, body));
        assert!(!ok(&sig, &ts, now, b"{}"));
        assert!(!ok(&sign_chatwoot("other", now, body), &ts, now, body));
        assert!(!ok(&sig, "", now, body));
        // Meta's scheme does not accept it.
        assert!(!check(Scheme::Hub, "cw", body, |_| Some(sig.as_str()), now));
    }
}
