//! Meta's webhook signature: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256
//! of the raw body with the app secret>`, compared in constant time.

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
}
