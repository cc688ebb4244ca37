//! Duplicate member names (RFC 8259 §4: names "SHOULD be unique", and parsers disagree on
//! which value of a repeated name wins): refused unless `json.allow_duplicate_keys`.
//!
//! Names compare by their decoded characters — `"a"`, `"\u0061"` and `"\u0061"` split across
//! chunks are one name — without buffering them: each name's decoded bytes stream into two
//! independently keyed SipHash hashers, and an object remembers the 128-bit digests of its
//! names. Memory is 16 bytes per member of the open objects, whatever the names' lengths. Two
//! different names would have to collide on both keys, which the per-scanner random keys make
//! beyond reach of an attacker (and would only cost a false 400).

use std::collections::hash_map::{DefaultHasher, RandomState};
use std::collections::HashSet;
use std::hash::{BuildHasher, Hasher};

use super::{limit, Violation};

/// The character a one-letter escape (`\n`, `\"`…) stands for.
pub(super) fn unescape(b: u8) -> u8 {
    match b {
        b'b' => 0x08,
        b'f' => 0x0C,
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        other => other,
    }
}

/// The digest of one member name as its characters arrive.
#[derive(Debug)]
pub(super) struct NameDigest {
    keys: (RandomState, RandomState),
    hashers: (DefaultHasher, DefaultHasher),
    /// A `\uD8xx` escape waiting for the low surrogate that may follow it.
    high: Option<u16>,
}

impl NameDigest {
    pub(super) fn new() -> Self {
        let keys = (RandomState::new(), RandomState::new());
        let hashers = (keys.0.build_hasher(), keys.1.build_hasher());
        NameDigest {
            keys,
            hashers,
            high: None,
        }
    }

    /// Starts a new name.
    pub(super) fn reset(&mut self) {
        self.hashers = (self.keys.0.build_hasher(), self.keys.1.build_hasher());
        self.high = None;
    }

    fn write(&mut self, bytes: &[u8]) {
        self.hashers.0.write(bytes);
        self.hashers.1.write(bytes);
    }

    /// A lone surrogate, written as the three bytes UTF-8 would give it (WTF-8), so that it
    /// stays distinct from every other name.
    fn flush_high(&mut self) {
        if let Some(h) = self.high.take() {
            let c = u32::from(h);
            let bytes = [
                0xE0 | (c >> 12) as u8,
                0x80 | ((c >> 6) & 0x3F) as u8,
                0x80 | (c & 0x3F) as u8,
            ];
            self.write(&bytes);
        }
    }

    /// Raw (already UTF-8) bytes of the name.
    pub(super) fn bytes(&mut self, bytes: &[u8]) {
        self.flush_high();
        self.write(bytes);
    }

    /// A `\uXXXX` escape: pairs surrogates into one character.
    pub(super) fn escape(&mut self, unit: u16) {
        match (self.high, unit) {
            (Some(h), 0xDC00..=0xDFFF) => {
                self.high = None;
                let c = 0x10000 + ((u32::from(h) - 0xD800) << 10) + (u32::from(unit) - 0xDC00);
                self.char(c);
            }
            (_, 0xD800..=0xDBFF) => {
                self.flush_high();
                self.high = Some(unit);
            }
            _ => {
                self.flush_high();
                self.char(u32::from(unit));
            }
        }
    }

    fn char(&mut self, c: u32) {
        match char::from_u32(c) {
            Some(ch) => {
                let mut buf = [0u8; 4];
                let encoded = ch.encode_utf8(&mut buf);
                self.write(encoded.as_bytes());
            }
            // A lone low surrogate.
            None => {
                self.high = u16::try_from(c).ok();
                self.flush_high();
            }
        }
    }

    /// The name is complete: refused if its object (`seen`; `None` in an array) has it.
    pub(super) fn done(&mut self, seen: Option<&mut Seen>) -> Result<(), Violation> {
        self.flush_high();
        let digest =
            u128::from(self.hashers.0.finish()) << 64 | u128::from(self.hashers.1.finish());
        match seen.is_none_or(|seen| seen.0.insert(digest)) {
            true => Ok(()),
            false => Err(limit("JSON object has a duplicate member name".into())),
        }
    }
}

/// The names an open object has seen.
#[derive(Debug, Default)]
pub(super) struct Seen(HashSet<u128>);
