//! The canonical path: one pass over the raw path that decodes it for matching, refuses what a
//! backend could read differently, and re-encodes it one way for forwarding.
//!
//! # The canonical form
//!
//! Every percent-escape is decoded once. A decoded character that may stand in a path segment
//! unencoded (RFC 3986 §3.3 `pchar` less `;`: unreserved, sub-delims, `:`, `@`) is written as
//! itself; any other (space, `?`, `#`, `"`, non-ASCII UTF-8, an allowed encoded `/`…) as `%XX`
//! with upper-case hex (§6.2.2.1). Two paths a backend decodes to the same characters thus have
//! one canonical form, so `/%6Frders` is routed as `/orders`, and the canonical bytes are both
//! what routes match and what the backend receives. A path that is canonical already (the usual
//! case: plain ASCII, no `%`) is borrowed, not copied.
//!
//! # Refused (400, see [`Refusal`])
//!
//! * raw `\`, control characters, non-ASCII bytes; raw or encoded `;` (path parameters: Tomcat
//!   and Spring drop them, so `/..;/` climbs); encoded `\`, NUL and control characters;
//! * encoded `/` (`%2F`), unless the route opts in with `allow_encoded_slashes` — checked after
//!   routing, from [`CanonicalPath::has_encoded_slash`]; the escape is then forwarded encoded;
//! * a malformed escape (`%`, `%4`, `%zz`, IIS's `%u002e`), a percent-encoded escape (`%252e`,
//!   also `%25%32%65`), decoded bytes that are not UTF-8 (overlong `%c0%ae` included);
//! * dot-segments in any encoding (`.`, `..`, `%2e%2E`, fullwidth `%EF%BC%8E`, U+2025 `‥`), also
//!   between encoded slashes; empty segments (`//`) except a trailing `/`;
//! * characters Unicode compatibility mapping (NFKC) or Windows "best fit" turn into `/` or `\`.

use std::borrow::Cow;

use super::backend_view::compat_fold;
use super::Refusal;

/// A path in canonical form (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalPath<'a> {
    text: Cow<'a, str>,
    encoded_slash: bool,
    escaped: bool,
}

impl CanonicalPath<'_> {
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The path holds an encoded `/`, forwarded as `%2F` on routes that allow it.
    pub fn has_encoded_slash(&self) -> bool {
        self.encoded_slash
    }

    /// The canonical form still holds escapes (`%XX`): only such a path can read differently
    /// to a backend that decodes more than once ([`super::backend_view`]).
    pub fn has_escapes(&self) -> bool {
        self.escaped
    }
}

/// RFC 3986 `pchar` less `;`: what a segment may hold unencoded.
pub fn is_pchar(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.'
                | b'_'
                | b'~'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b'='
                | b':'
                | b'@'
        )
}

fn hex_value(b: Option<&u8>) -> Option<u8> {
    let b = *b?;
    (b as char).to_digit(16).map(|d| d as u8)
}

/// The byte at `at` once decoded, and how many raw bytes it took.
fn decoded_at(bytes: &[u8], at: usize) -> Option<(u8, usize)> {
    match bytes.get(at)? {
        b'%' => Some((
            hex_value(bytes.get(at + 1))? << 4 | hex_value(bytes.get(at + 2))?,
            3,
        )),
        &b => Some((b, 1)),
    }
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// What a decoded character is to a segment: `dots` counts what NFKC maps to `.`.
#[derive(Debug, Default, Clone, Copy)]
struct Segment {
    chars: usize,
    dots: usize,
}

impl Segment {
    fn push(&mut self, dots: usize, chars: usize) {
        self.chars += chars;
        self.dots += dots;
    }

    fn is_dot_segment(&self) -> bool {
        self.chars > 0 && self.chars == self.dots && self.chars <= 2
    }
}

/// How a decoded non-ASCII character may be read by a backend that folds compatibility forms:
/// `Some(n)` it becomes `n` dots, `None` it is ordinary; `Err` it becomes a separator.
fn fold(c: u32) -> Result<Option<usize>, Refusal> {
    match compat_fold(c) {
        Some("/" | "\\") => Err(Refusal::CONFUSABLE),
        Some(dots) => Ok(Some(dots.len())),
        None => Ok(None),
    }
}

/// The one pass: state while reading, and the output once it differs from the input.
struct Pass<'a> {
    raw: &'a str,
    out: Option<String>,
    seg: Segment,
    /// UTF-8 continuation bytes still expected, their allowed range, and the scalar so far.
    need: u8,
    lo: u8,
    hi: u8,
    scalar: u32,
    encoded_slash: bool,
    escaped: bool,
}

impl<'a> Pass<'a> {
    /// From here on the output differs from the input: copy what was read so far.
    fn out(&mut self, at: usize) -> &mut String {
        let raw = self.raw;
        self.out.get_or_insert_with(|| {
            let mut s = String::with_capacity(raw.len() + 8);
            s.push_str(raw.get(..at).unwrap_or_default());
            s
        })
    }

    /// Emits `width` raw bytes at `at` unchanged.
    fn keep(&mut self, at: usize, width: usize) {
        if let Some(out) = &mut self.out {
            out.push_str(self.raw.get(at..at + width).unwrap_or_default());
        }
    }

    /// Emits `%XX` for `d`, read from `width` raw bytes at `at`.
    fn encoded(&mut self, at: usize, width: usize, d: u8) {
        self.escaped = true;
        let hex = [b'%', HEX[usize::from(d >> 4)], HEX[usize::from(d & 15)]];
        if self.raw.as_bytes().get(at..at + width) == Some(&hex[..]) && self.out.is_none() {
            return;
        }
        let out = self.out(at);
        out.push('%');
        out.push(char::from(hex[1]));
        out.push(char::from(hex[2]));
    }

    /// Ends a (sub-)segment at a raw or encoded `/`, or at the end (`last`).
    fn boundary(&mut self, first: bool, last: bool) -> Result<(), Refusal> {
        if self.need > 0 {
            return Err(Refusal::INVALID_UTF8);
        }
        if self.seg.is_dot_segment() {
            return Err(Refusal::DOT_SEGMENT);
        }
        if self.seg.chars == 0 && !first && !last {
            return Err(Refusal::EMPTY_SEGMENT);
        }
        self.seg = Segment::default();
        Ok(())
    }

    fn raw_byte(&mut self, at: usize, b: u8) -> Result<(), Refusal> {
        if self.need > 0 {
            return Err(Refusal::INVALID_UTF8);
        }
        match b {
            b'\\' => return Err(Refusal::BACKSLASH),
            b';' => return Err(Refusal::SEMICOLON),
            0x00..=0x1F | 0x7F => return Err(Refusal::CONTROL),
            0x80..=0xFF => return Err(Refusal::INVALID_CHAR),
            _ => {}
        }
        self.seg.push(usize::from(b == b'.'), 1);
        if is_pchar(b) {
            self.keep(at, 1);
        } else {
            self.encoded(at, 1, b);
        }
        Ok(())
    }

    fn escape(&mut self, at: usize, d: u8) -> Result<(), Refusal> {
        if self.need > 0 {
            if !(self.lo..=self.hi).contains(&d) {
                return Err(Refusal::INVALID_UTF8);
            }
            (self.need, self.lo, self.hi) = (self.need - 1, 0x80, 0xBF);
            self.scalar = self.scalar << 6 | u32::from(d & 0x3F);
            if self.need == 0 {
                match fold(self.scalar)? {
                    Some(dots) => self.seg.push(dots, dots),
                    None => self.seg.push(0, 1),
                }
            }
            self.encoded(at, 3, d);
            return Ok(());
        }
        match d {
            b'%' => {
                let bytes = self.raw.as_bytes();
                let first = decoded_at(bytes, at + 3);
                let second = first.and_then(|(_, w)| decoded_at(bytes, at + 3 + w));
                if let (Some((a, _)), Some((b, _))) = (first, second) {
                    if a.is_ascii_hexdigit() && b.is_ascii_hexdigit() {
                        return Err(Refusal::DOUBLE_ENCODING);
                    }
                }
            }
            b'/' => {
                self.boundary(false, false)?;
                self.encoded_slash = true;
                self.encoded(at, 3, d);
                return Ok(());
            }
            b'\\' => return Err(Refusal::BACKSLASH),
            b';' => return Err(Refusal::SEMICOLON),
            0x00..=0x1F | 0x7F => return Err(Refusal::CONTROL),
            0x80..=0xFF => {
                // RFC 3629 §4: the first byte fixes the length and the range of the second.
                (self.need, self.lo, self.hi, self.scalar) = match d {
                    0xC2..=0xDF => (1, 0x80, 0xBF, u32::from(d & 0x1F)),
                    0xE0 => (2, 0xA0, 0xBF, u32::from(d & 0x0F)),
                    0xE1..=0xEC | 0xEE..=0xEF => (2, 0x80, 0xBF, u32::from(d & 0x0F)),
                    0xED => (2, 0x80, 0x9F, u32::from(d & 0x0F)),
                    0xF0 => (3, 0x90, 0xBF, u32::from(d & 0x07)),
                    0xF1..=0xF3 => (3, 0x80, 0xBF, u32::from(d & 0x07)),
                    0xF4 => (3, 0x80, 0x8F, u32::from(d & 0x07)),
                    _ => return Err(Refusal::INVALID_UTF8),
                };
                self.encoded(at, 3, d);
                return Ok(());
            }
            _ => {}
        }
        self.seg.push(usize::from(d == b'.'), 1);
        if is_pchar(d) {
            self.out(at).push(char::from(d));
        } else {
            self.encoded(at, 3, d);
        }
        Ok(())
    }
}

/// Canonicalises a raw request path (as it came on the request line, without the query).
pub fn canonicalise(raw: &str) -> Result<CanonicalPath<'_>, Refusal> {
    let bytes = raw.as_bytes();
    if bytes.first() != Some(&b'/') {
        return Err(Refusal::TARGET_FORM);
    }
    let mut pass = Pass {
        raw,
        out: None,
        seg: Segment::default(),
        need: 0,
        lo: 0x80,
        hi: 0xBF,
        scalar: 0,
        encoded_slash: false,
        escaped: false,
    };
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'/' => {
                pass.boundary(i == 0, false)?;
                pass.keep(i, 1);
                i += 1;
            }
            b'%' => {
                let (d, _) = decoded_at(bytes, i)
                    .filter(|(_, w)| *w == 3)
                    .ok_or(Refusal::MALFORMED_ESCAPE)?;
                pass.escape(i, d)?;
                i += 3;
            }
            _ => {
                pass.raw_byte(i, b)?;
                i += 1;
            }
        }
    }
    pass.boundary(false, true)?;
    Ok(CanonicalPath {
        text: match pass.out {
            Some(s) => Cow::Owned(s),
            None => Cow::Borrowed(raw),
        },
        encoded_slash: pass.encoded_slash,
        escaped: pass.escaped,
    })
}

/// Whether a route's configured `path` is canonical: what [`canonicalise`] returns unchanged,
/// without escapes (a route names its path in plain characters).
pub fn is_canonical_route_path(path: &str) -> bool {
    !path.contains('%')
        && canonicalise(path).is_ok_and(|c| matches!(c.text, Cow::Borrowed(_)) && !c.escaped)
}
