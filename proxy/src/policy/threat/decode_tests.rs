//! Tests of the decoder: each coding in any chunking, bombs and limits, garbage, and the
//! codings accepted. The encoders are the end-to-end tests' (`tests/api/gateway/encode.rs`).

#![allow(clippy::unwrap_used)]

#[path = "../../../../tests/api/gateway/encode.rs"]
mod encode;
use encode::{br, deflate, gzip};

use super::*;

/// Decodes `body` fed in `chunk`-byte pieces.
fn decode(c: Coding, body: &[u8], chunk: usize, max: u64) -> Result<Vec<u8>, Violation> {
    let mut d = Decoder::new(c, max, DEFAULT_RATIO);
    let mut out = Vec::new();
    for piece in body.chunks(chunk) {
        out.extend(d.feed(piece)?);
    }
    out.extend(d.finish()?);
    Ok(out)
}

#[test]
fn each_coding_decodes_in_any_chunking() {
    let plain = br#"{"order":[1,2,3],"note":"caf\u00e9"}"#.repeat(50);
    for (c, body) in [
        (Coding::Gzip, gzip(&plain)),
        (Coding::Deflate, deflate(&plain)),
        (Coding::Br, br(&plain)),
    ] {
        for chunk in [1, 7, 4096] {
            assert_eq!(decode(c, &body, chunk, 1 << 20).unwrap(), plain, "{c:?}");
        }
    }
    let two = [gzip(b"first "), gzip(b"second")].concat();
    assert_eq!(
        decode(Coding::Gzip, &two, 5, 1 << 20).unwrap(),
        b"first second"
    );
}

#[test]
fn bombs_and_oversized_bodies_stop_early_with_413() {
    let zeros = vec![0u8; 20 << 20];
    for (c, body) in [(Coding::Gzip, gzip(&zeros)), (Coding::Br, br(&zeros))] {
        let err = decode(c, &body, 4096, 100 << 20).unwrap_err();
        assert_eq!(err.kind, ViolationKind::BodyTooLarge, "{c:?}");
        assert!(err.message.contains("100 times"), "{}", err.message);
    }
    let plain = b"0123456789".repeat(1000);
    let err = decode(Coding::Deflate, &deflate(&plain), 64, 5000).unwrap_err();
    assert_eq!(err.message, "the decoded request body exceeds 5000 bytes");
}

#[test]
fn garbage_does_not_decode() {
    for c in [Coding::Gzip, Coding::Deflate, Coding::Br] {
        let err = decode(c, b"this is not compressed at all", 8, 1 << 20).unwrap_err();
        assert_eq!(err.kind, ViolationKind::Undecodable, "{c:?}");
    }
}

#[test]
fn only_one_known_coding_is_accepted() {
    let parse = |values: &[&str]| coding(values.iter().map(|v| v.as_bytes()));
    assert_eq!(parse(&[]), Ok(None));
    assert_eq!(parse(&["identity"]), Ok(None));
    assert_eq!(parse(&["GZIP"]), Ok(Some(Coding::Gzip)));
    assert_eq!(parse(&["x-gzip"]), Ok(Some(Coding::Gzip)));
    assert_eq!(parse(&["identity, br"]), Ok(Some(Coding::Br)));
    assert_eq!(parse(&["deflate"]), Ok(Some(Coding::Deflate)));
    for stacked in [
        &["gzip, br"][..],
        &["gzip", "gzip"],
        &["compress"],
        &["zstd"],
    ] {
        let err = parse(stacked).unwrap_err();
        assert_eq!(err.kind, ViolationKind::UnsupportedEncoding, "{stacked:?}");
    }
}
