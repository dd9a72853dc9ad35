//! Meta's webhook signature: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256
//! of the raw body with the app secret>`, compared in constant time.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Whether `header` is the signature of `body` under `secret`.
pub fn valid(secret: &str, body: &[u8], header: Option<&str>) -> bool {
    let Some(hex) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let Some(given) = decode_hex(hex) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    // `verify_slice` compares in constant time.
    mac.verify_slice(&given).is_ok()
}

/// Equal texts, compared in constant time (the verification token).
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The header value for `body` (for tests and for clients of ours).
pub fn sign(secret: &str, body: &[u8]) -> String {
    // HMAC takes a key of any length.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
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
        assert!(
            same_secret("abc", "abc") && !same_secret("abc", "abd") && !same_secret("ab", "abc")
        );
    }
}
