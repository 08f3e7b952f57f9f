//! What an HTML response (the `html` format, or a plugin's page) is
//! allowed to do in a browser: a Content-Security-Policy that lets it load
//! nothing, run no script but the built-in page's filter box (allowed by
//! its SHA-256, so a script smuggled in through a label value or a
//! plugin's markup does not run), use inline styles and `data:` images,
//! and submit forms only here; and `nosniff`, so a browser never reads
//! another format as HTML.
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// The `Content-Security-Policy` value of HTML responses.
pub fn content_security_policy() -> &'static str {
    static POLICY: OnceLock<String> = OnceLock::new();
    POLICY.get_or_init(|| {
        let hash = base64(&Sha256::digest(metrics_render_core::HTML_FILTER_SCRIPT.as_bytes()));
        format!(
            "default-src 'none'; script-src 'sha256-{hash}'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        )
    })
}

/// RFC 4648 base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            out.push(if i <= chunk.len() { ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char } else { '=' });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_vectors_and_the_policy_names_the_script_hash() {
        for (input, output) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("foobar", "Zm9vYmFy")] {
            assert_eq!(base64(input.as_bytes()), output);
        }
        let policy = content_security_policy();
        assert!(policy.starts_with("default-src 'none'; script-src 'sha256-"), "{policy}");
        assert_eq!(policy.split("'sha256-").nth(1).unwrap().split('\'').next().unwrap().len(), 44);
    }
}
