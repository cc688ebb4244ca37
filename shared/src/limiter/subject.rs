//! The subject a keyed limiter counts, as governor's map keys it: held inline up to
//! [`INLINE`] bytes — every subject the broker counts (an app id, an address or its /64, a keyed
//! hash of a username) — so that a check allocates nothing for its key (issue 11, P3: the
//! broker's pre-filter made a `String` of the subject on every request). A longer subject is
//! kept on the heap. Two subjects are equal when their bytes are, whichever way they are held.

use std::hash::{Hash, Hasher};

/// The longest subject held inline (the key then takes 48 bytes).
pub const INLINE: usize = 46;

#[derive(Clone, Debug)]
pub enum Subject {
    Inline(u8, [u8; INLINE]),
    Heap(Box<[u8]>),
}

impl Subject {
    pub fn new(subject: &str) -> Self {
        let bytes = subject.as_bytes();
        match u8::try_from(bytes.len()) {
            Ok(len) if bytes.len() <= INLINE => {
                let mut inline = [0; INLINE];
                inline[..bytes.len()].copy_from_slice(bytes);
                Subject::Inline(len, inline)
            }
            _ => Subject::Heap(bytes.into()),
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Subject::Inline(len, inline) => &inline[..usize::from(*len)],
            Subject::Heap(bytes) => bytes,
        }
    }
}

impl PartialEq for Subject {
    fn eq(&self, other: &Self) -> bool {
        self.bytes() == other.bytes()
    }
}

impl Eq for Subject {}

impl Hash for Subject {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.bytes().hash(state);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn equal_by_bytes_inline_or_not() {
        let app = "0b7c3b8e-5a52-4f3e-9a55-3f2d7c1e9b10";
        assert!(matches!(Subject::new(app), Subject::Inline(36, _)));
        assert_eq!(Subject::new(app), Subject::new(app));
        assert_ne!(Subject::new(app), Subject::new("10.0.0.1"));
        assert!(matches!(Subject::new(""), Subject::Inline(0, _)));
        let edge = "x".repeat(INLINE);
        assert!(matches!(Subject::new(&edge), Subject::Inline(_, _)));
        let long = "y".repeat(INLINE + 1);
        assert!(matches!(Subject::new(&long), Subject::Heap(_)));
        let longer = "y".repeat(300);
        let set: HashSet<Subject> = [app, "", &edge, &long, &longer, app, &long]
            .iter()
            .map(|s| Subject::new(s))
            .collect();
        assert_eq!(set.len(), 5);
        assert!(set.contains(&Subject::new(&longer)));
        // A prefix is another subject, inline padding notwithstanding.
        assert_ne!(Subject::new("10.0.0.1"), Subject::new("10.0.0.1\0"));
    }
}
