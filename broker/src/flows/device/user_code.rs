//! User codes (RFC 8628 §6.1): what a person reads off a TV and types on a phone. Eight
//! characters from a reduced alphabet of 20 consonants — no vowels (no words), no digits, no
//! look-alikes — shown as `XXXX-XXXX`, and read back case-insensitively with dashes and spaces
//! ignored. 20⁸ ≈ 2.6·10¹⁰ codes (34.6 bits); guessing is slowed by the per-IP back-off on
//! wrong codes and the codes' short life.

use tessera_shared::crypto::random_bytes;

/// RFC 8628 §6.1's example alphabet: base-20, consonants only.
pub const ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
/// Characters of a user code (without the dash).
pub const LEN: usize = 8;

/// A fresh user code, normalized (8 letters, no dash); every letter equally likely.
pub fn generate() -> String {
    let mut out = String::with_capacity(LEN);
    while out.len() < LEN {
        for b in random_bytes::<16>() {
            // 240 = 12 × 20: rejecting the rest keeps the draw uniform.
            if b < 240 && out.len() < LEN {
                out.push(ALPHABET[usize::from(b % 20)] as char);
            }
        }
    }
    out
}

/// `ABCD-EFGH`: how a normalized code is shown.
pub fn display(code: &str) -> String {
    match (code.get(..4), code.get(4..)) {
        (Some(a), Some(b)) if code.len() == LEN => format!("{a}-{b}"),
        _ => code.to_string(),
    }
}

/// What the user typed, normalized: upper case, dashes and spaces dropped; `None` unless that
/// leaves exactly [`LEN`] letters of the alphabet.
pub fn normalize(typed: &str) -> Option<String> {
    if typed.len() > 32 {
        return None;
    }
    let code: String = typed
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\t'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let ok = code.len() == LEN && code.bytes().all(|b| ALPHABET.contains(&b));
    ok.then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_eight_letters_of_the_alphabet_and_read_back_loosely() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let c = generate();
            assert_eq!(normalize(&c).as_deref(), Some(c.as_str()));
            assert_eq!(
                normalize(&display(&c).to_lowercase()).as_deref(),
                Some(c.as_str())
            );
            seen.extend(c.bytes());
        }
        assert_eq!(seen.len(), 20, "every letter turns up");
        assert_eq!(display("BCDFGHJK"), "BCDF-GHJK");
        assert_eq!(normalize(" bcdf - ghjk ").as_deref(), Some("BCDFGHJK"));
        for bad in [
            "BCDFGHJ",
            "BCDFGHJKL",
            "ABCDFGHJ",
            "BCDF1HJK",
            "BCDFGHJÉ",
            "",
        ] {
            assert_eq!(normalize(bad), None, "{bad}");
        }
    }
}
