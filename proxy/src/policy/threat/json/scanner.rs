//! The strict, incremental RFC 8259 scanner behind [`super::JsonGate`]: one state per position in
//! the grammar, a stack of open containers, and the limit checks at the earliest byte that can
//! break them. Every state is resumable, so a chunk may end anywhere.

use super::super::hex_digit;
use super::keys::{unescape, NameDigest, Seen};
use super::{is_ws, limit, malformed, Limits, Violation};

/// An open object or array, with the entries or elements seen so far, and an object's member
/// names when duplicates are refused.
#[derive(Debug)]
struct Frame {
    object: bool,
    count: usize,
    seen: Option<Seen>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Expecting a value; `close`: `]` is allowed too (just after `[`).
    Value {
        close: bool,
    },
    /// Expecting a member name; `close`: `}` is allowed too (just after `{`).
    Name {
        close: bool,
    },
    Colon,
    /// After a value inside a container: `,` or the closing bracket.
    After,
    Str(Str),
    Num(Num),
    /// The rest of `true`, `false` or `null` still expected.
    Lit(&'static [u8]),
    /// After the top-level value: only whitespace.
    End,
}

/// Inside a string: member name or value, decoded characters so far, pending escape and UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Str {
    name: bool,
    chars: usize,
    esc: Esc,
    /// Continuation bytes still expected, and the allowed range of the next one.
    need: u8,
    lo: u8,
    hi: u8,
    /// The last character was a `\u` escape of a high surrogate.
    high: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Esc {
    None,
    Backslash,
    Hex { digits: u8, value: u16 },
}

/// RFC 8259 §6 number grammar, one state per position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Num {
    Minus,
    Zero,
    Int,
    Dot,
    Frac,
    Exp,
    ExpSign,
    ExpInt,
}

impl Num {
    fn next(self, b: u8) -> Option<Self> {
        use Num::*;
        match (self, b) {
            (Minus, b'0') => Some(Zero),
            (Minus, b'1'..=b'9') | (Int, b'0'..=b'9') => Some(Int),
            (Zero | Int, b'.') => Some(Dot),
            (Dot | Frac, b'0'..=b'9') => Some(Frac),
            (Zero | Int | Frac, b'e' | b'E') => Some(Exp),
            (Exp, b'+' | b'-') => Some(ExpSign),
            (Exp | ExpSign | ExpInt, b'0'..=b'9') => Some(ExpInt),
            _ => None,
        }
    }

    fn complete(self) -> bool {
        matches!(self, Num::Zero | Num::Int | Num::Frac | Num::ExpInt)
    }
}

/// What a byte did: moved to a state, or ended a number and must be read again in that state.
enum Step {
    Consume(State),
    Again(State),
}

/// The streaming scanner of one JSON document.
#[derive(Debug)]
pub(super) struct Scanner {
    limits: Limits,
    stack: Vec<Frame>,
    state: State,
    /// Body offset of the next byte, for messages.
    offset: usize,
    /// The digest of the member name being read, when duplicate names are refused.
    names: Option<Box<NameDigest>>,
}

impl Scanner {
    pub(super) fn new(limits: Limits, offset: usize) -> Self {
        let state = State::Value { close: false };
        Self {
            names: limits
                .refuse_duplicates
                .then(|| Box::new(NameDigest::new())),
            limits,
            stack: Vec::new(),
            state,
            offset,
        }
    }

    pub(super) fn feed(&mut self, chunk: &[u8]) -> Result<(), Violation> {
        let base = self.offset;
        self.offset = self.offset.saturating_add(chunk.len());
        let mut i = 0;
        while let Some(&b) = chunk.get(i) {
            // Fast path: a run of plain ASCII inside a string.
            if let State::Str(s) = &mut self.state {
                if s.esc == Esc::None && s.need == 0 {
                    let run = chunk.get(i..).unwrap_or_default();
                    let n = run.iter().take_while(|&&c| plain_ascii(c)).count();
                    if n > 0 {
                        s.high = false;
                        s.chars = s.chars.saturating_add(n);
                        check_length(s, &self.limits)?;
                        if let (true, Some(names)) = (s.name, &mut self.names) {
                            names.bytes(run.get(..n).unwrap_or_default());
                        }
                        i += n;
                        continue;
                    }
                }
            }
            match self.step(b, base.saturating_add(i))? {
                Step::Consume(state) => {
                    self.state = state;
                    i += 1;
                }
                Step::Again(state) => self.state = state,
            }
        }
        Ok(())
    }

    pub(super) fn finish(self) -> Result<(), Violation> {
        match self.state {
            State::End => Ok(()),
            State::Num(n) if n.complete() && self.stack.is_empty() => Ok(()),
            _ => Err(malformed(self.offset, "unexpected end of document")),
        }
    }

    fn step(&mut self, b: u8, at: usize) -> Result<Step, Violation> {
        let state = self.state;
        let next = match state {
            _ if is_ws(b) && !matches!(state, State::Str(_) | State::Num(_) | State::Lit(_)) => {
                state
            }
            State::Value { close: true } if b == b']' => self.close(b, at)?,
            State::Value { .. } => {
                if let Some(frame) = self.stack.last_mut().filter(|f| !f.object) {
                    frame.count = frame.count.saturating_add(1);
                    if frame.count > self.limits.elements {
                        let max = self.limits.elements;
                        return Err(limit(format!("JSON array has more than {max} elements")));
                    }
                }
                self.start_value(b, at)?
            }
            State::Name { close: true } if b == b'}' => self.close(b, at)?,
            State::Name { .. } if b == b'"' => {
                if let Some(frame) = self.stack.last_mut() {
                    frame.count = frame.count.saturating_add(1);
                    if frame.count > self.limits.entries {
                        let max = self.limits.entries;
                        return Err(limit(format!("JSON object has more than {max} entries")));
                    }
                }
                if let Some(names) = &mut self.names {
                    names.reset();
                }
                State::Str(Str::new(true))
            }
            State::Name { .. } => return Err(malformed(at, "expected a member name")),
            State::Colon if b == b':' => State::Value { close: false },
            State::Colon => return Err(malformed(at, "expected ':'")),
            State::After => match (b, self.stack.last()) {
                (b',', Some(frame)) if frame.object => State::Name { close: false },
                (b',', Some(_)) => State::Value { close: false },
                (b'}' | b']', _) => self.close(b, at)?,
                _ => return Err(malformed(at, "expected ',' or a closing bracket")),
            },
            State::End => return Err(malformed(at, "data after the top-level value")),
            State::Lit(rest) => match rest.split_first() {
                Some((&expected, [])) if b == expected => self.after_value(),
                Some((&expected, tail)) if b == expected => State::Lit(tail),
                _ => return Err(malformed(at, "invalid literal")),
            },
            State::Num(n) => match n.next(b) {
                Some(n) => State::Num(n),
                None if n.complete() => return Ok(Step::Again(self.after_value())),
                None => return Err(malformed(at, "invalid number")),
            },
            State::Str(s) => self.string_byte(s, b, at)?,
        };
        Ok(Step::Consume(next))
    }

    fn start_value(&mut self, b: u8, at: usize) -> Result<State, Violation> {
        Ok(match b {
            b'{' | b'[' => {
                if self.stack.len() >= self.limits.depth {
                    let max = self.limits.depth;
                    return Err(limit(format!("JSON nesting exceeds depth {max}")));
                }
                let object = b == b'{';
                let seen = (object && self.names.is_some()).then(Seen::default);
                self.stack.push(Frame {
                    object,
                    count: 0,
                    seen,
                });
                match object {
                    true => State::Name { close: true },
                    false => State::Value { close: true },
                }
            }
            b'"' => State::Str(Str::new(false)),
            b'-' => State::Num(Num::Minus),
            b'0' => State::Num(Num::Zero),
            b'1'..=b'9' => State::Num(Num::Int),
            b't' => State::Lit(b"rue"),
            b'f' => State::Lit(b"alse"),
            b'n' => State::Lit(b"ull"),
            _ => return Err(malformed(at, "expected a value")),
        })
    }

    fn close(&mut self, b: u8, at: usize) -> Result<State, Violation> {
        match self.stack.last() {
            Some(frame) if frame.object == (b == b'}') => {
                self.stack.pop();
                Ok(self.after_value())
            }
            _ => Err(malformed(at, "mismatched closing bracket")),
        }
    }

    fn after_value(&self) -> State {
        match self.stack.is_empty() {
            true => State::End,
            false => State::After,
        }
    }

    /// Decoded bytes of a member name, for the duplicate check.
    fn name_bytes(&mut self, s: &Str, bytes: &[u8]) {
        if let (true, Some(names)) = (s.name, &mut self.names) {
            names.bytes(bytes);
        }
    }

    /// A member name is complete: refused if its object already has it.
    fn name_done(&mut self) -> Result<(), Violation> {
        let seen = self.stack.last_mut().and_then(|f| f.seen.as_mut());
        self.names.as_mut().map_or(Ok(()), |n| n.done(seen))
    }

    fn string_byte(&mut self, mut s: Str, b: u8, at: usize) -> Result<State, Violation> {
        if s.need > 0 {
            if !(s.lo..=s.hi).contains(&b) {
                return Err(malformed(at, "invalid UTF-8"));
            }
            (s.need, s.lo, s.hi) = (s.need - 1, 0x80, 0xBF);
            self.name_bytes(&s, &[b]);
            return Ok(State::Str(s));
        }
        match s.esc {
            Esc::Backslash => match b {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {
                    s.esc = Esc::None;
                    count_char(&mut s, &self.limits)?;
                    self.name_bytes(&s, &[unescape(b)]);
                }
                b'u' => {
                    s.esc = Esc::Hex {
                        digits: 0,
                        value: 0,
                    }
                }
                _ => return Err(malformed(at, "invalid escape")),
            },
            Esc::Hex { digits, value } => {
                let digit = hex_digit(b).ok_or_else(|| malformed(at, "invalid \\u escape"))?;
                let value = value << 4 | u16::from(digit);
                if digits < 3 {
                    s.esc = Esc::Hex {
                        digits: digits + 1,
                        value,
                    };
                } else {
                    s.esc = Esc::None;
                    let high = (0xD800..=0xDBFF).contains(&value);
                    // The low half of an escaped surrogate pair completes the character counted
                    // with its high half.
                    if !(s.high && (0xDC00..=0xDFFF).contains(&value)) {
                        count_char(&mut s, &self.limits)?;
                    }
                    s.high = high;
                    if let (true, Some(names)) = (s.name, &mut self.names) {
                        names.escape(value);
                    }
                }
            }
            Esc::None => match b {
                b'"' if s.name => {
                    self.name_done()?;
                    return Ok(State::Colon);
                }
                b'"' => return Ok(self.after_value()),
                b'\\' => s.esc = Esc::Backslash,
                0x00..=0x1F => return Err(malformed(at, "control character in string")),
                0x20..=0x7F => {
                    count_char(&mut s, &self.limits)?;
                    self.name_bytes(&s, &[b]);
                }
                _ => {
                    (s.need, s.lo, s.hi) = match b {
                        0xC2..=0xDF => (1, 0x80, 0xBF),
                        0xE0 => (2, 0xA0, 0xBF),
                        0xE1..=0xEC | 0xEE..=0xEF => (2, 0x80, 0xBF),
                        0xED => (2, 0x80, 0x9F),
                        0xF0 => (3, 0x90, 0xBF),
                        0xF1..=0xF3 => (3, 0x80, 0xBF),
                        0xF4 => (3, 0x80, 0x8F),
                        _ => return Err(malformed(at, "invalid UTF-8")),
                    };
                    count_char(&mut s, &self.limits)?;
                    self.name_bytes(&s, &[b]);
                }
            },
        }
        Ok(State::Str(s))
    }
}

impl Str {
    fn new(name: bool) -> Self {
        let (esc, need, lo, hi, high) = (Esc::None, 0, 0x80, 0xBF, false);
        Self {
            name,
            chars: 0,
            esc,
            need,
            lo,
            hi,
            high,
        }
    }
}

/// A string byte that is one character by itself and needs no state change.
fn plain_ascii(b: u8) -> bool {
    (0x20..0x80).contains(&b) && b != b'"' && b != b'\\'
}

fn count_char(s: &mut Str, limits: &Limits) -> Result<(), Violation> {
    s.high = false;
    s.chars = s.chars.saturating_add(1);
    check_length(s, limits)
}

fn check_length(s: &Str, limits: &Limits) -> Result<(), Violation> {
    let (max, what) = match s.name {
        true => (limits.name, "member name"),
        false => (limits.string, "string"),
    };
    match s.chars > max {
        true => Err(limit(format!("JSON {what} longer than {max} characters"))),
        false => Ok(()),
    }
}
