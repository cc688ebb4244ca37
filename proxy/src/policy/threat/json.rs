//! JSON threat protection (seed 004; Apigee's `JSONThreatProtection`): decides whether a body is
//! JSON ([`JsonGate`]) and scans it with a strict, incremental RFC 8259 state machine
//! ([`Scanner`]) that enforces nesting depth, entries per object, elements per array, string and
//! member-name lengths, and total size.
//!
//! # Design notes
//!
//! * No DOM and no buffering: the scanner keeps its current state and a stack with one small frame
//!   per open container, so memory is bounded by the depth cap ([`HARD_MAX_DEPTH`]) whatever the
//!   body. Every state is resumable, so a chunk may end anywhere — inside an escape, a `\uXXXX`, a
//!   number, a literal or a multi-byte UTF-8 character.
//! * Strict: strings must be valid UTF-8 (overlong forms and encoded surrogates refused) without
//!   raw control characters; numbers follow the RFC grammar; nothing but whitespace may follow the
//!   top-level value. Lenient parsers downstream would otherwise see a different document than the
//!   one whose limits were checked. `\uXXXX` escapes are checked for hex digits only: lone
//!   surrogates are grammatical in RFC 8259 §7.
//! * Limits fail as early as possible: an entry is counted when its name opens, an element when it
//!   begins, a string when its characters arrive — not when they end.
//! * An empty or whitespace-only body contains no JSON document and passes, even when declared
//!   JSON: there is no shape to limit, and the backend decides what an empty body means.
//! * JSON is UTF-8 (RFC 8259 §8.1). A declared-JSON body in UTF-16 or UTF-32 is refused as
//!   malformed; an undeclared one is not sniffed, like any other binary body. A truncated BOM
//!   (`EF BB` then anything else) makes an undeclared body "not JSON" and a declared one malformed.
//!
//! # Layout
//!
//! * `json.rs` — the resolved [`Limits`] and the [`JsonGate`] (sniffing, total size).
//! * `json/scanner.rs` — the [`Scanner`] state machine; `json/keys.rs` — duplicate member
//!   names, refused by default.
//! * `json/tests.rs` (each limit, sniffing) and `json/corpus_tests.rs` (valid and malformed
//!   corpus, chunking, differential and random-input tests).

mod keys;
mod scanner;

use scanner::Scanner;

use super::{JsonLimits, Violation, ViolationKind};

/// Nesting cap applied even when no `max_depth` is configured, so the scanner's stack is bounded;
/// a configured `max_depth` may not exceed it.
pub const HARD_MAX_DEPTH: usize = 512;

const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// [`JsonLimits`] resolved: `usize::MAX` stands for unlimited.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    depth: usize,
    entries: usize,
    elements: usize,
    string: usize,
    name: usize,
    total: Option<usize>,
    /// Objects naming a member twice are refused.
    refuse_duplicates: bool,
}

impl Limits {
    pub(super) fn compile(cfg: &JsonLimits) -> Result<Self, String> {
        let depth = cfg.max_depth.unwrap_or(HARD_MAX_DEPTH);
        if depth > HARD_MAX_DEPTH {
            return Err(format!("json.max_depth: at most {HARD_MAX_DEPTH}"));
        }
        Ok(Self {
            depth,
            entries: cfg.max_object_entries.unwrap_or(usize::MAX),
            elements: cfg.max_array_length.unwrap_or(usize::MAX),
            string: cfg.max_string_length.unwrap_or(usize::MAX),
            name: cfg.max_name_length.unwrap_or(usize::MAX),
            total: cfg.max_total_bytes,
            refuse_duplicates: !cfg.allow_duplicate_keys,
        })
    }

    pub(super) fn max_total_bytes(&self) -> Option<usize> {
        self.total
    }
}

pub(super) fn total_too_large(max: usize) -> Violation {
    Violation::new(
        ViolationKind::BodyTooLarge,
        format!("JSON body exceeds {max} bytes"),
    )
}

fn limit(message: String) -> Violation {
    Violation::new(ViolationKind::Json, message)
}

fn malformed(at: usize, what: &str) -> Violation {
    Violation::new(
        ViolationKind::Json,
        format!("malformed JSON at byte {at}: {what}"),
    )
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Decides from the leading bytes whether a body is JSON, then hands it to the [`Scanner`].
#[derive(Debug)]
pub(super) struct JsonGate {
    limits: Limits,
    declared: bool,
    seen: usize,
    stage: Stage,
}

#[derive(Debug)]
enum Stage {
    /// Only whitespace so far; `bom` bytes of a UTF-8 BOM are matched.
    Sniff {
        bom: usize,
    },
    Scan(Scanner),
    /// Not JSON: the limits do not apply.
    Skip,
}

impl JsonGate {
    pub(super) fn new(limits: Limits, declared: bool) -> Self {
        let stage = Stage::Sniff { bom: 0 };
        Self {
            limits,
            declared,
            seen: 0,
            stage,
        }
    }

    pub(super) fn feed(&mut self, chunk: &[u8]) -> Result<(), Violation> {
        let start = self.seen;
        self.seen = self.seen.saturating_add(chunk.len());
        let mut rest = chunk;
        if let Stage::Sniff { bom } = &mut self.stage {
            // `Some(i)`: the document starts at `chunk[i]`; `None`: still undecided.
            let mut begins = None;
            for (i, &b) in chunk.iter().enumerate() {
                if *bom > 0 {
                    if BOM.get(*bom) == Some(&b) {
                        *bom = (*bom + 1) % BOM.len();
                        continue;
                    }
                    if self.declared {
                        return Err(malformed(start + i, "invalid byte order mark"));
                    }
                    self.stage = Stage::Skip;
                    return Ok(());
                }
                match b {
                    0xEF => *bom = 1,
                    b if is_ws(b) => {}
                    b'{' | b'[' => {
                        begins = Some(i);
                        break;
                    }
                    _ if self.declared => {
                        begins = Some(i);
                        break;
                    }
                    _ => {
                        self.stage = Stage::Skip;
                        return Ok(());
                    }
                }
            }
            if let Some(i) = begins {
                self.stage = Stage::Scan(Scanner::new(self.limits, start + i));
                rest = chunk.get(i..).unwrap_or_default();
            }
        }
        // Declared JSON counts from its first byte; sniffed JSON from the first byte of the body,
        // once it is known to be JSON.
        let is_json = match self.stage {
            Stage::Sniff { .. } => self.declared,
            Stage::Scan(_) => true,
            Stage::Skip => false,
        };
        if is_json {
            self.check_total()?;
        }
        match &mut self.stage {
            Stage::Scan(scanner) => scanner.feed(rest),
            Stage::Sniff { .. } | Stage::Skip => Ok(()),
        }
    }

    fn check_total(&self) -> Result<(), Violation> {
        match self.limits.total.filter(|max| self.seen > *max) {
            Some(max) => Err(total_too_large(max)),
            None => Ok(()),
        }
    }

    pub(super) fn finish(self) -> Result<(), Violation> {
        match self.stage {
            Stage::Sniff { bom } if bom > 0 && self.declared => {
                Err(malformed(self.seen, "invalid byte order mark"))
            }
            Stage::Sniff { .. } | Stage::Skip => Ok(()),
            Stage::Scan(scanner) => scanner.finish(),
        }
    }
}

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod tests;
