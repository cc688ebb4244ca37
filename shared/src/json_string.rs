//! A JSON string written as `serde_json` writes it, for the hand-written JSON of the hot paths
//! (the token record, `model/record_json.rs`; the broker's token answer). Issue 11, P3: tokens,
//! client ids and scopes hold nothing to escape, and serde's escaping looked every byte up in
//! its table; a string with nothing to escape (checked eight bytes at a time) is copied as it is,
//! any other one is written by serde.

/// `s` as a JSON string, quoted and escaped exactly as `serde_json::to_writer` writes it.
pub fn write(out: &mut Vec<u8>, s: &str) -> Result<(), serde_json::Error> {
    if needs_escape(s.as_bytes()) {
        return serde_json::to_writer(&mut *out, s);
    }
    out.reserve(s.len() + 2);
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
    Ok(())
}

/// Eight copies of a byte.
const fn lanes(b: u8) -> u64 {
    u64::from_ne_bytes([b; 8])
}

/// Whether `bytes` holds anything serde_json escapes in a string: the quote, the backslash or a
/// control character below U+0020 (RFC 8259 §7); DEL and non-ASCII go through as they are.
/// Eight bytes at a time: a lane below 0x20, or equal to `"` or `\` once XORed to zero, sets its
/// top bit in `(x - 0x20…) & !x & 0x80…` (exact for the question "is there one", as borrows only
/// run from a lane that is one).
fn needs_escape(bytes: &[u8]) -> bool {
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let x = u64::from_ne_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        let below = |x: u64, n: u8| x.wrapping_sub(lanes(n)) & !x & lanes(0x80);
        if below(x, 0x20) | below(x ^ lanes(b'"'), 1) | below(x ^ lanes(b'\\'), 1) != 0 {
            return true;
        }
    }
    words
        .remainder()
        .iter()
        .any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn every_character_class_is_written_as_serde_writes_it() {
        for s in [
            "",
            "tsr_at_AbC-_09",
            "a\"b",
            "a\\b",
            "\u{0}\u{1f}\u{7f}",
            "\u{2028}\u{2029}é</script>",
        ] {
            let mut out = Vec::new();
            write(&mut out, s).unwrap();
            assert_eq!(out, serde_json::to_vec(s).unwrap(), "{s:?}");
        }
    }

    /// Every byte value at every position of the words and of the remainder, alone in plain text
    /// and beside another: the check misses nothing and flags nothing serde would not escape.
    #[test]
    fn every_byte_at_every_position_is_checked() {
        for len in [1, 7, 8, 9, 16, 19] {
            for pos in 0..len {
                for b in 0u8..=0x7f {
                    for other in [b'a', 0x7f, 0x20, 0x21] {
                        let mut text = vec![other; len];
                        text[pos] = b;
                        let s = std::str::from_utf8(&text).unwrap();
                        let mut out = Vec::new();
                        write(&mut out, s).unwrap();
                        assert_eq!(out, serde_json::to_vec(s).unwrap(), "{s:?}");
                        assert_eq!(needs_escape(&text), b < 0x20 || b == b'"' || b == b'\\');
                    }
                }
            }
        }
    }

    proptest! {
        #[test]
        fn any_string_is_written_as_serde_writes_it(s in any::<String>(), plain in "[ -~]{0,40}") {
            for s in [s, plain] {
                let mut out = b"[".to_vec();
                write(&mut out, &s).unwrap();
                let mut theirs = b"[".to_vec();
                serde_json::to_writer(&mut theirs, &s).unwrap();
                prop_assert_eq!(out, theirs);
            }
        }
    }
}
