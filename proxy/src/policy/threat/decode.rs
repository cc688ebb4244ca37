//! Content codings of bodies under inspection (RFC 9110 §8.4). A body the JSON limits or the
//! body patterns inspect is never inspected compressed and forwarded un-inspected: it is
//! decoded as it streams in (gzip, deflate, br), checked, and the decoded bytes — exactly what
//! was inspected — are what the backend receives, without `Content-Encoding`.
//!
//! * Exactly one coding is decoded (`identity` does not count). Stacked codings
//!   (`gzip, br`), unknown ones, and any coding on a route with `decode_bodies = false` are
//!   `415 Unsupported Media Type` (§15.5.16).
//! * Bounded: decoding stops with `413` as soon as the decoded size passes the body limit, or —
//!   beyond [`RATIO_FLOOR`] decoded bytes — `max_decode_ratio` times the compressed bytes read
//!   so far (a zip bomb). Output is produced and checked a piece at a time, so a bomb never
//!   allocates more than the limit.
//! * A body that does not decode is `400`. `deflate` is the zlib format, as §8.4.1.2 says.
//!   gzip members are decoded one after another (a backend would read them all).

use std::io::Write;

use flate2::write::{MultiGzDecoder, ZlibDecoder};

use super::{Violation, ViolationKind};

/// Decoded bodies up to this size pass the ratio check whatever their compression.
pub const RATIO_FLOOR: u64 = 64 * 1024;

/// The default of `threat.max_decode_ratio`.
pub const DEFAULT_RATIO: u64 = 100;

/// A content coding the inspector decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    Gzip,
    Deflate,
    Br,
}

fn unsupported(message: &str) -> Violation {
    Violation::new(ViolationKind::UnsupportedEncoding, message)
}

/// The coding named by the `Content-Encoding` field values; `None`: no coding (or identity).
pub fn coding<'a>(values: impl Iterator<Item = &'a [u8]>) -> Result<Option<Coding>, Violation> {
    let mut found = None;
    for value in values {
        let value = std::str::from_utf8(value)
            .map_err(|_| unsupported("the Content-Encoding is not supported"))?;
        for token in value.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            if token.eq_ignore_ascii_case("identity") {
                continue;
            }
            if found.is_some() {
                return Err(unsupported("stacked content codings are not supported"));
            }
            found = Some(match token.to_ascii_lowercase().as_str() {
                "gzip" | "x-gzip" => Coding::Gzip,
                "deflate" => Coding::Deflate,
                "br" => Coding::Br,
                _ => return Err(unsupported("the Content-Encoding is not supported")),
            });
        }
    }
    Ok(found)
}

/// Where decoded bytes go: held until taken, and counted against the limits.
#[derive(Debug)]
struct Sink {
    buf: Vec<u8>,
    total: u64,
    max: u64,
    ratio: u64,
    compressed: u64,
    exceeded: Option<Violation>,
}

impl Write for Sink {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.total = self.total.saturating_add(data.len() as u64);
        let bomb = self.total > RATIO_FLOOR
            && self.total > self.ratio.saturating_mul(self.compressed.max(1));
        if self.total > self.max || bomb {
            let message = match bomb {
                true => format!(
                    "the request body decodes to more than {} times its size",
                    self.ratio
                ),
                false => format!("the decoded request body exceeds {} bytes", self.max),
            };
            self.exceeded = Some(Violation::new(ViolationKind::BodyTooLarge, message));
            return Err(std::io::Error::other("decoded size limit"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

enum Inner {
    Gzip(MultiGzDecoder<Sink>),
    Deflate(ZlibDecoder<Sink>),
    Br(Box<brotli::DecompressorWriter<Sink>>),
}

/// Decodes one request body as it streams in.
pub struct Decoder {
    inner: Inner,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder")
            .field("total", &self.sink().total)
            .finish()
    }
}

fn undecodable() -> Violation {
    Violation::new(
        ViolationKind::Undecodable,
        "the request body does not decode with its Content-Encoding",
    )
}

impl Decoder {
    /// A decoder for `coding`, stopping at `max` decoded bytes or `ratio` times the input.
    pub fn new(coding: Coding, max: u64, ratio: u64) -> Self {
        let sink = Sink {
            buf: Vec::new(),
            total: 0,
            max,
            ratio,
            compressed: 0,
            exceeded: None,
        };
        let inner = match coding {
            Coding::Gzip => Inner::Gzip(MultiGzDecoder::new(sink)),
            Coding::Deflate => Inner::Deflate(ZlibDecoder::new(sink)),
            Coding::Br => Inner::Br(Box::new(brotli::DecompressorWriter::new(sink, 4096))),
        };
        Decoder { inner }
    }

    fn sink(&self) -> &Sink {
        match &self.inner {
            Inner::Gzip(d) => d.get_ref(),
            Inner::Deflate(d) => d.get_ref(),
            Inner::Br(d) => d.get_ref(),
        }
    }

    fn sink_mut(&mut self) -> &mut Sink {
        match &mut self.inner {
            Inner::Gzip(d) => d.get_mut(),
            Inner::Deflate(d) => d.get_mut(),
            Inner::Br(d) => d.get_mut(),
        }
    }

    /// The error of a failed write: a limit, or a body that does not decode.
    fn failure(&mut self) -> Violation {
        self.sink_mut().exceeded.take().unwrap_or_else(undecodable)
    }

    /// Decodes the next compressed chunk; returns what it decoded to.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<u8>, Violation> {
        let sink = self.sink_mut();
        sink.compressed = sink.compressed.saturating_add(chunk.len() as u64);
        let written = match &mut self.inner {
            Inner::Gzip(d) => d.write_all(chunk),
            Inner::Deflate(d) => d.write_all(chunk),
            Inner::Br(d) => d.write_all(chunk),
        };
        if written.is_err() {
            return Err(self.failure());
        }
        Ok(std::mem::take(&mut self.sink_mut().buf))
    }

    /// Ends the body; returns the last decoded bytes.
    pub fn finish(&mut self) -> Result<Vec<u8>, Violation> {
        let done = match &mut self.inner {
            Inner::Gzip(d) => d.try_finish(),
            Inner::Deflate(d) => d.try_finish(),
            Inner::Br(d) => d.close(),
        };
        if done.is_err() {
            return Err(self.failure());
        }
        Ok(std::mem::take(&mut self.sink_mut().buf))
    }
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
