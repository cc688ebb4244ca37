//! A batch of stored lines packed as the one stream field that holds them (issue 11,
//! direction 5): the events' JSON lines joined by `\n`, written straight into one buffer the
//! writer reuses from batch to batch — no `String` per event, no join and no scan for line
//! breaks when the batch is stored ([`crate::store::AnalyticsStore::analytics_append_packed`]).
//!
//! A line break would split an event in two, so a [`Packed`] only ever holds lines without
//! one: [`Packed::push`] writes an event's JSON, which escapes every control character
//! (RFC 8259 §7), and [`Packed::push_line`] refuses a line that holds one.

use super::wire::{Wire, WireMemo};
use crate::error::StoreError;

/// Lines of one batch, joined by `\n`.
#[derive(Debug, Default, Clone)]
pub struct Packed {
    text: String,
    lines: usize,
    /// The last pushed line's caller and route, as text: kept from line to line and from
    /// batch to batch ([`WireMemo`]: a repeated caller and route are copied, not written).
    memo: WireMemo,
}

/// Two batches are equal when their lines are.
impl PartialEq for Packed {
    fn eq(&self, other: &Self) -> bool {
        self.lines == other.lines && self.text == other.text
    }
}

impl Eq for Packed {}

impl Packed {
    /// Empties the batch, keeping its buffer — unless a huge batch grew it beyond
    /// [`Packed::KEEP`], which is given back rather than held while idle.
    pub fn clear(&mut self) {
        match self.text.capacity() > Self::KEEP {
            true => self.text = String::new(),
            false => self.text.clear(),
        }
        self.lines = 0;
    }

    /// The most buffer kept from one batch to the next, bytes (the default batch of 256
    /// events is about 100 KiB).
    pub const KEEP: usize = 1 << 20;

    /// Events in the batch.
    pub fn len(&self) -> usize {
        self.lines
    }

    pub fn is_empty(&self) -> bool {
        self.lines == 0
    }

    /// The packed field: the lines joined by `\n`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The batch's lines, in order.
    pub fn lines(&self) -> impl Iterator<Item = &str> {
        self.text.split('\n').take(self.lines)
    }

    fn separate(&mut self) {
        if self.lines > 0 {
            self.text.push('\n');
        }
        self.lines += 1;
    }

    /// Appends an event's stored line ([`Wire::write_json`]: JSON never holds a raw line
    /// break, so none is checked for).
    pub fn push(&mut self, event: &Wire<'_>) {
        self.separate();
        event.write_json_with(&mut self.text, Some(&mut self.memo));
    }

    /// Appends a line given as text; refused if it holds a line break.
    pub fn push_line(&mut self, line: &str) -> Result<(), StoreError> {
        if line.contains('\n') {
            return Err(StoreError::Corrupt(
                "an analytics event holds a line break".into(),
            ));
        }
        self.separate();
        self.text.push_str(line);
        Ok(())
    }

    /// Packs lines given as text ([`Packed::push_line`] each).
    pub fn of_lines(lines: &[String]) -> Result<Packed, StoreError> {
        let mut packed = Packed::default();
        for line in lines {
            packed.push_line(line)?;
        }
        Ok(packed)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::analytics::CallEvent;

    proptest::proptest! {
        /// Whatever the order of callers and routes (drawn from a few, so that they repeat and
        /// alternate), across batches, each line is the one serde writes for its event: the
        /// caller and route text a line copies from the one before ([`WireMemo`]) is always
        /// its own.
        #[test]
        fn a_batch_s_lines_are_serde_s_whatever_repeats(
            batches in proptest::collection::vec(
                proptest::collection::vec((0..3usize, 0..3usize, 0..2usize, 0..3u128), 1..12),
                1..4,
            ),
        ) {
            let clients = [None, Some("c1"), Some("c\"2")];
            let routes = ["r", "orders\n", "r2"];
            let mut packed = Packed::default();
            for batch in batches {
                packed.clear();
                let mut events = Vec::new();
                for (client, route, method, app) in batch {
                    let event = CallEvent {
                        client_id: clients[client].map(str::to_string),
                        app_id: (app > 0).then(|| uuid::Uuid::from_u128(app)),
                        developer_id: (app > 1).then(|| uuid::Uuid::from_u128(!app)),
                        route: routes[route].into(),
                        method: ["GET", "PURGE"][method].into(),
                        ..serde_json::from_str(
                            r#"{"ts_ms":1,"client_id":null,"app_id":null,"developer_id":null,
                            "route":"","method":"","status":200,"latency_us":1,"bytes_in":0,
                            "bytes_out":0,"auth":"ok","throttled":false}"#,
                        )
                        .unwrap()
                    };
                    packed.push(&event.wire());
                    events.push(serde_json::to_string(&event).unwrap());
                }
                let lines: Vec<&str> = packed.lines().collect();
                proptest::prop_assert_eq!(lines, events);
            }
        }
    }

    #[test]
    fn lines_come_back_as_they_were_pushed() {
        // Text with line breaks, which the stored line escapes.
        let event: CallEvent = serde_json::from_str(
            r#"{"ts_ms":1,"client_id":"a\nb","app_id":null,"developer_id":null,"route":"r\n",
            "method":"GET","status":200,"latency_us":1,"bytes_in":0,"bytes_out":0,
            "auth":"ok","throttled":false}"#,
        )
        .unwrap();
        let mut p = Packed::default();
        assert!(p.is_empty());
        assert_eq!(p.lines().count(), 0);
        p.push(&event.wire());
        p.push_line("").unwrap();
        p.push_line("{}").unwrap();
        assert!(p.push_line("x\ny").is_err(), "a line break would split it");
        let json = serde_json::to_string(&event).unwrap();
        assert_eq!(p.len(), 3);
        assert_eq!(p.lines().collect::<Vec<_>>(), [json.as_str(), "", "{}"]);
        assert_eq!(p.as_str(), format!("{json}\n\n{{}}"));
        let back: CallEvent = serde_json::from_str(p.lines().next().unwrap()).unwrap();
        assert_eq!(back, event);
        p.clear();
        assert_eq!((p.len(), p.as_str()), (0, ""));
        p.push_line(&"x".repeat(Packed::KEEP + 1)).unwrap();
        p.clear();
        assert_eq!(p.text.capacity(), 0, "a huge batch's buffer is not kept");
        let lone = Packed::of_lines(&[String::new()]).unwrap();
        assert_eq!(
            (lone.len(), lone.lines().collect::<Vec<_>>()),
            (1, vec![""])
        );
    }
}
