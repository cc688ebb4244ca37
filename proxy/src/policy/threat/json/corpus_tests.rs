//! Tests of the scanner against a corpus of valid and malformed documents: chunk-boundary
//! independence (byte by byte and deterministic random splits), a differential check against
//! `serde_json` on mutated documents (with duplicate member names refused on both sides), and
//! arbitrary bytes never panicking.

#![allow(clippy::unwrap_used)]

use super::tests::{limits, scan, scan_in, unlimited};
use super::*;

/// A small deterministic PRNG (xorshift64*), so failures reproduce without new dependencies.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n
    }
}

/// A JSON value that refuses objects naming a member twice (after unescaping), so that
/// `serde_json` can stand for a parser that agrees with the scanner's default.
struct Strict;

impl<'de> serde::Deserialize<'de> for Strict {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = Strict;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Strict, E> {
        Ok(Strict)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Strict, E> {
        Ok(Strict)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Strict, E> {
        Ok(Strict)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Strict, E> {
        Ok(Strict)
    }
    fn visit_str<E>(self, _: &str) -> Result<Strict, E> {
        Ok(Strict)
    }
    fn visit_unit<E>(self) -> Result<Strict, E> {
        Ok(Strict)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<Strict, A::Error> {
        while a.next_element::<Strict>()?.is_some() {}
        Ok(Strict)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut a: A) -> Result<Strict, A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(k) = a.next_key::<String>()? {
            if !seen.insert(k) {
                return Err(serde::de::Error::custom("duplicate member name"));
            }
            a.next_value::<Strict>()?;
        }
        Ok(Strict)
    }
}

fn strict(doc: &[u8]) -> Result<Strict, serde_json::Error> {
    serde_json::from_slice::<Strict>(doc)
}

/// Objects naming a member twice, in some spelling; refused by default.
const DUPLICATES: &[&str] = &[
    r#"{"a":1,"a":2}"#,
    r#"{"a":1,"b":{"c":1,"c":2}}"#,
    r#"[{"a":1,"\u0061":2}]"#,
    r#"{"\n":1,"\u000a":2}"#,
    r#"{"é":1,"\u00e9":2}"#,
    r#"{"😀":1,"\ud83d\ude00":2}"#,
];

#[test]
fn duplicate_member_names_are_refused_in_any_spelling() {
    for doc in DUPLICATES {
        let err = scan(unlimited(), doc.as_bytes()).unwrap_err();
        assert_eq!(
            err.message, "JSON object has a duplicate member name",
            "{doc}"
        );
        assert!(bytewise(unlimited(), doc.as_bytes()).is_err(), "{doc}");
        assert!(strict(doc.as_bytes()).is_err(), "{doc}");
        let allowed = limits(JsonLimits {
            allow_duplicate_keys: true,
            ..Default::default()
        });
        assert_eq!(scan(allowed, doc.as_bytes()), Ok(()), "{doc}");
    }
    for doc in [
        r#"{"a":{"a":{"a":1}}}"#,
        r#"[{"a":1},{"a":1}]"#,
        r#"{"a":1,"b":1,"A":1,"a ":1}"#,
        r#"{"\ud83d":1,"\ude00":2,"\ud83d\ude00":3}"#,
        r#"{"ab":1,"a":{"b":1}}"#,
    ] {
        assert_eq!(scan(unlimited(), doc.as_bytes()), Ok(()), "{doc}");
        assert_eq!(bytewise(unlimited(), doc.as_bytes()), Ok(()), "{doc}");
    }
}

fn bytewise(limits: Limits, doc: &[u8]) -> Result<(), Violation> {
    scan_in(limits, true, doc, &vec![1; doc.len()])
}

fn random_splits(rng: &mut Rng, len: usize) -> Vec<usize> {
    let mut sizes = vec![];
    let mut total = 0;
    while total < len {
        let size = rng.below(8);
        sizes.push(size);
        total += size;
    }
    sizes
}

const VALID: &[&str] = &[
    "{}",
    "[]",
    "0",
    "-0",
    "-0.5e+10",
    "1E5",
    "12.25e-3",
    r#""x""#,
    "true",
    "false",
    "null",
    " \t\r\n[ 1 , 2 ] \n",
    r#"{"a":[1,{"b":null}],"c":{"d":"e"},"":""}"#,
    r#"["\"\\\/\b\f\n\r\t\u0000\uFFFF\uD83D\uDE00", "é日😀", "\u007f"]"#,
    r#"[[[[[[[[[[]]]]]]]]]]"#,
    r#"{"a" : true , "b" : [ false , null , -1 ] }"#,
    // Names one mutation away from repeating, for the differential check.
    r#"{"a":1,"e":2,"t":3,"r":4,"u":5}"#,
    r#"[{"f":{"n":1,"l":2,"a":3}},{"e":[],"t":{},"r":0}]"#,
];

const INVALID: &[&str] = &[
    r#"{"a":"b"#,
    r#""\x""#,
    r#""\u12G4""#,
    r#""\u12""#,
    "[1,2,]",
    r#"{"a":1,}"#,
    "{} x",
    "{}{}",
    "1 2",
    "}",
    "]",
    "[1 2]",
    r#"{"a" 1}"#,
    r#"{"a"}"#,
    "{1:2}",
    r#"{"a":}"#,
    "[,1]",
    "[1,,2]",
    "{,}",
    "[1}",
    r#"{"a":1]"#,
    "[",
    r#"{"a":"#,
    "01",
    "1.",
    "-",
    "1e",
    "1e+",
    ".5",
    "+1",
    "tru",
    "truex",
    "nul",
    "NaN",
    "'a'",
    "\"tab\there\"",
    "\"\u{1}\"",
];

const INVALID_BYTES: &[&[u8]] = &[
    b"\"\xff\"",
    b"\"\xc0\x80\"",
    b"\"\xe0\x80\xaf\"",
    b"\"\xf0\x80\x80\xaf\"",
    b"\"\xed\xa0\x80\"",
    b"\"\xf4\x90\x80\x80\"",
    b"\"\xe2\x82\"",
    b"\"\xe2\x82",
    b"[\"\x80\"]",
    b"[1]\xc3\xa9",
];

#[test]
fn valid_documents_pass() {
    for doc in VALID {
        assert_eq!(scan(unlimited(), doc.as_bytes()), Ok(()), "{doc}");
        serde_json::from_str::<serde_json::Value>(doc).unwrap();
    }
}

#[test]
fn malformed_documents_are_json_violations() {
    let docs = INVALID
        .iter()
        .map(|d| d.as_bytes())
        .chain(INVALID_BYTES.iter().copied());
    for doc in docs {
        let err = scan(unlimited(), doc).unwrap_err();
        assert_eq!(
            err.kind,
            ViolationKind::Json,
            "{}",
            String::from_utf8_lossy(doc)
        );
        assert!(
            err.message.starts_with("malformed JSON at byte "),
            "{}",
            err.message
        );
        assert!(serde_json::from_slice::<serde_json::Value>(doc).is_err());
    }
}

#[test]
fn malformed_messages_locate_the_error() {
    let err = scan(unlimited(), b"[1,2,]").unwrap_err();
    assert_eq!(err.message, "malformed JSON at byte 5: expected a value");
    let err = scan(unlimited(), b"{} x").unwrap_err();
    assert_eq!(
        err.message,
        "malformed JSON at byte 3: data after the top-level value"
    );
    let err = scan(unlimited(), br#"{"a":"b"#).unwrap_err();
    assert_eq!(
        err.message,
        "malformed JSON at byte 7: unexpected end of document"
    );
}

/// Every document of the corpus, under limits some of them exceed.
fn corpus() -> Vec<Vec<u8>> {
    let docs = VALID.iter().chain(INVALID).map(|d| d.as_bytes().to_vec());
    let mut all: Vec<_> = docs
        .chain(INVALID_BYTES.iter().map(|d| d.to_vec()))
        .collect();
    all.push(br#"{"abcd":["\u00e9\u00e9\u00e9\u00e9\u00e9", [[[1]]], 3, 4]}"#.to_vec());
    all.extend(DUPLICATES.iter().map(|d| d.as_bytes().to_vec()));
    all
}

fn tight() -> Limits {
    limits(JsonLimits {
        max_depth: Some(3),
        max_object_entries: Some(2),
        max_array_length: Some(3),
        max_string_length: Some(4),
        max_name_length: Some(3),
        max_total_bytes: None,
        allow_duplicate_keys: false,
    })
}

#[test]
fn chunk_boundaries_do_not_change_the_outcome() {
    let mut rng = Rng(0x5EED_0004);
    for doc in corpus() {
        for l in [unlimited(), tight()] {
            let whole = scan(l, &doc);
            let shown = String::from_utf8_lossy(&doc);
            assert_eq!(bytewise(l, &doc), whole, "byte by byte: {shown}");
            for _ in 0..50 {
                let sizes = random_splits(&mut rng, doc.len());
                assert_eq!(
                    scan_in(l, true, &doc, &sizes),
                    whole,
                    "{shown} split {sizes:?}"
                );
            }
        }
    }
}

#[test]
fn total_limit_outcome_does_not_depend_on_chunking() {
    let l = limits(JsonLimits {
        max_total_bytes: Some(12),
        ..Default::default()
    });
    let mut rng = Rng(7);
    for doc in VALID {
        let whole = scan(l, doc.as_bytes()).is_ok();
        assert_eq!(whole, doc.len() <= 12, "{doc}");
        for _ in 0..20 {
            let sizes = random_splits(&mut rng, doc.len());
            assert_eq!(
                scan_in(l, true, doc.as_bytes(), &sizes).is_ok(),
                whole,
                "{doc}"
            );
        }
    }
}

/// Mutated documents (ASCII replacements, which also make names repeat) must be accepted
/// exactly when serde_json accepts them without duplicate names, whatever the chunking.
#[test]
fn mutated_documents_agree_with_serde_json() {
    let alphabet = b"{}[],:\"\\ 01-.+eEatrufnl/x";
    let mut rng = Rng(0xC0FF_EE00);
    let (mut checked, mut duplicates) = (0, 0);
    for seed in VALID {
        for _ in 0..400 {
            let mut doc = seed.as_bytes().to_vec();
            for _ in 0..=rng.below(3) {
                let i = rng.below(doc.len());
                doc[i] = alphabet[rng.below(alphabet.len())];
            }
            if doc.iter().all(|&b| is_ws(b)) {
                continue;
            }
            let ours = scan(unlimited(), &doc);
            // serde_json refuses numbers beyond f64 and lone surrogates; RFC 8259 does not.
            let theirs = strict(&doc);
            let differs = |e: &serde_json::Error| {
                let e = e.to_string();
                ["out of range", "surrogate", "hex escape"]
                    .iter()
                    .any(|m| e.contains(m))
            };
            if ours.is_ok() && theirs.as_ref().is_err_and(differs) {
                continue;
            }
            if ours
                .as_ref()
                .is_err_and(|e| e.message.contains("duplicate member name"))
            {
                duplicates += 1;
            }
            let shown = String::from_utf8_lossy(&doc);
            assert_eq!(
                ours.is_ok(),
                theirs.is_ok(),
                "{shown}: {ours:?} vs {:?}",
                theirs.as_ref().err()
            );
            let sizes = random_splits(&mut rng, doc.len());
            assert_eq!(
                scan_in(unlimited(), true, &doc, &sizes),
                ours,
                "{shown} {sizes:?}"
            );
            checked += 1;
        }
    }
    assert!(checked > 5000, "{checked}");
    assert!(
        duplicates >= 10,
        "only {duplicates} mutated documents repeat a name"
    );
}

const SPICE: &[u8] = b"{}[]\",:\\u0e-. \xEF\xBB\xBF";

/// Arbitrary bytes never panic, and chunking never changes the answer.
#[test]
fn random_bytes_yield_ok_or_a_violation() {
    let mut rng = Rng(42);
    for _ in 0..3000 {
        let len = rng.below(40);
        let doc: Vec<u8> = (0..len)
            .map(|_| match rng.below(3) {
                0 => SPICE[rng.below(SPICE.len())],
                _ => rng.below(256) as u8,
            })
            .collect();
        for (l, declared) in [(unlimited(), true), (tight(), false)] {
            let whole = scan_in(l, declared, &doc, &[]);
            let sizes = random_splits(&mut rng, doc.len());
            assert_eq!(scan_in(l, declared, &doc, &sizes), whole, "{doc:?}");
        }
    }
}
