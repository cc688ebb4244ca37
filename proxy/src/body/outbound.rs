//! The request body as hyper sends it to the backend: nothing, bytes read whole, or chunks
//! pumped from the client's connection through a small channel (the actix payload is tied to
//! its worker thread; hyper's connection task may run elsewhere).
//!
//! The size hints are what they were under reqwest, so hyper frames the request the same way:
//! an empty body is at its end at once (no `Content-Length: 0` added to a `GET`), bytes have
//! their exact length, a stream has none (the client's `Content-Length`, forwarded, or
//! chunked encoding).

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::sync::mpsc::Receiver;

/// A chunk of a streamed body, or why the stream stopped (too large, the client went away).
pub(crate) type Chunk = Result<Bytes, std::io::Error>;

#[derive(Debug)]
pub enum Outbound {
    Empty,
    /// `None` once sent.
    Whole(Option<Bytes>),
    Streaming(Receiver<Chunk>),
}

impl Body for Outbound {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        match self.get_mut() {
            Outbound::Empty => Poll::Ready(None),
            Outbound::Whole(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            Outbound::Streaming(rx) => rx.poll_recv(cx).map(|c| c.map(|c| c.map(Frame::data))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Outbound::Empty => true,
            Outbound::Whole(b) => b.as_ref().is_none_or(Bytes::is_empty),
            Outbound::Streaming(_) => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Outbound::Empty => SizeHint::with_exact(0),
            Outbound::Whole(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            Outbound::Streaming(_) => SizeHint::default(),
        }
    }
}
