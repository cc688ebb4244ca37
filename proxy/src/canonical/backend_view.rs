//! The path as a lenient backend may read it, for the defence-in-depth check that a forwarded
//! path stays under its route (whatever the canonical path let through).
//!
//! The reading is the most generous we know of: percent-escapes decoded until nothing changes
//! (also IIS's `%uXXXX`), overlong UTF-8 read as the ASCII it spells (old decoders did),
//! compatibility forms folded (fullwidth `．` is `.`, `／` and `＼` are `/`), `\` read as `/`,
//! `;params` dropped from each segment (Tomcat, Spring), then dot-segments resolved
//! (RFC 3986 §5.2.4) both with empty segments kept and with them merged (nginx's
//! `merge_slashes`). The path stays under its floor only if every reading does.
//!
//! This runs only for paths that still hold escapes after canonicalisation: a canonical path
//! without `%` has no `\`, no `;`, no dot-segment and no empty segment, so every reading of it
//! is itself.

/// What a backend folding compatibility forms (NFKC) or Windows "best fit" reads a character
/// as, when that is a dot or a separator.
pub fn compat_fold(c: u32) -> Option<&'static str> {
    match c {
        // FULLWIDTH FULL STOP, ONE DOT LEADER, SMALL FULL STOP; TWO DOT LEADER.
        0xFF0E | 0x2024 | 0xFE52 => Some("."),
        0x2025 => Some(".."),
        // FULLWIDTH SOLIDUS, DIVISION SLASH.
        0xFF0F | 0x2215 => Some("/"),
        // FULLWIDTH and SMALL REVERSE SOLIDUS; YEN and WON SIGN (best fit in CJK code pages).
        0xFF3C | 0xFE68 | 0x00A5 | 0x20A9 => Some("\\"),
        _ => None,
    }
}

fn hex(b: Option<&u8>) -> Option<u32> {
    (*b? as char).to_digit(16)
}

/// One round of percent-decoding; `None` when there was nothing to decode.
fn decode_once(s: &[u8]) -> Option<Vec<u8>> {
    if !s.contains(&b'%') {
        return None;
    }
    let mut out = Vec::with_capacity(s.len());
    let mut changed = false;
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        if b == b'%' {
            if let (Some(h), Some(l)) = (hex(s.get(i + 1)), hex(s.get(i + 2))) {
                out.push((h << 4 | l) as u8);
                (i, changed) = (i + 3, true);
                continue;
            }
            let u = matches!(s.get(i + 1), Some(b'u' | b'U'));
            let digits: Option<Vec<u32>> = (2..6).map(|k| hex(s.get(i + k))).collect();
            if let (true, Some(d)) = (u, digits) {
                let c = d.iter().fold(0, |acc, x| acc << 4 | x);
                let mut buf = [0u8; 4];
                let c = char::from_u32(c).unwrap_or('\u{FFFD}');
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                (i, changed) = (i + 6, true);
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    changed.then_some(out)
}

/// Reads overlong UTF-8 sequences as the ASCII they spell, then the rest as UTF-8 (lossy),
/// folding compatibility forms and reading `\` as `/`.
fn lenient_text(bytes: &[u8]) -> String {
    let mut plain = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let len = match b {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => 1,
        };
        let tail = bytes.get(i + 1..i + len).unwrap_or_default();
        if len > 1 && tail.len() == len - 1 && tail.iter().all(|t| (0x80..=0xBF).contains(t)) {
            let lead = u32::from(b) & (0x7F >> len);
            let c = tail
                .iter()
                .fold(lead, |acc, t| acc << 6 | u32::from(t & 0x3F));
            if c < 0x80 {
                plain.push(c as u8);
                i += len;
                continue;
            }
        }
        plain.push(b);
        i += 1;
    }
    let mut out = String::with_capacity(plain.len());
    for c in String::from_utf8_lossy(&plain).chars() {
        match compat_fold(c as u32) {
            Some(s) => out.push_str(s),
            None => out.push(c),
        }
    }
    out.replace('\\', "/")
}

/// Resolves dot-segments (RFC 3986 §5.2.4), dropping `;params`; `merge`: empty segments too.
fn resolve(text: &str, merge: bool) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for seg in text.split('/').skip(1) {
        let seg = seg.split(';').next().unwrap_or_default();
        match seg {
            "." => {}
            ".." => {
                segments.pop();
            }
            "" if merge => {}
            s => segments.push(s),
        }
    }
    let mut out = String::with_capacity(text.len());
    for s in segments {
        out.push('/');
        out.push_str(s);
    }
    out
}

/// `path` equals `floor` or lies below it, on segment boundaries.
pub fn is_under(path: &str, floor: &str) -> bool {
    let floor = floor.trim_end_matches('/');
    floor.is_empty()
        || path == floor
        || (path.starts_with(floor) && path.as_bytes().get(floor.len()) == Some(&b'/'))
}

/// Whether `path`, read as leniently as described above, stays under `floor`.
pub fn stays_under(path: &str, floor: &str) -> bool {
    let mut bytes = path.as_bytes().to_vec();
    // Four rounds undo any encoding the canonical form could hide; more would be pointless.
    for _ in 0..4 {
        match decode_once(&bytes) {
            Some(next) => bytes = next,
            None => break,
        }
    }
    let text = lenient_text(&bytes);
    [false, true]
        .into_iter()
        .all(|merge| is_under(&resolve(&text, merge), floor))
}
