//! gRPC-Web bodies: the text form's base64, decoded as the request streams
//! and encoded frame by frame on the way back (as Kong does, each chunk
//! padded on its own: gRPC-Web clients decode concatenated segments), and
//! the trailer frame that replaces HTTP trailers.

use crate::plugins::{BoxBody, BoxError};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::{BufMut, Bytes, BytesMut};
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use std::pin::Pin;
use std::task::{Context, Poll};

/// gRPC-Web's flag for the trailer frame.
const TRAILER_FLAG: u8 = 0x80;

/// The request body of the text form decoded as it arrives; a chunk may
/// end in the middle of a base64 quad, and segments may each be padded.
pub(super) fn decode_base64(body: BoxBody) -> BoxBody {
    Decode {
        inner: body,
        pending: Vec::new(),
    }
    .boxed()
}

struct Decode {
    inner: BoxBody,
    pending: Vec<u8>,
}

/// The text form's body was not base64.
#[derive(Debug, thiserror::Error)]
#[error("gRPC-Web text body: {0}")]
struct BadBase64(String);

impl Decode {
    /// Decodes every complete quad of `pending`, segment by segment (a quad
    /// with `=` ends a segment).
    fn drain(&mut self) -> Result<Bytes, BadBase64> {
        let whole = self.pending.len() / 4 * 4;
        let mut out = Vec::with_capacity(whole / 4 * 3);
        let mut start = 0;
        for quad in (0..whole).step_by(4) {
            if self.pending[quad..quad + 4].contains(&b'=') || quad + 4 == whole {
                STANDARD
                    .decode_vec(&self.pending[start..quad + 4], &mut out)
                    .map_err(|e| BadBase64(e.to_string()))?;
                start = quad + 4;
            }
        }
        self.pending.drain(..whole);
        Ok(out.into())
    }
}

impl Body for Decode {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        loop {
            return match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => {
                        this.pending
                            .extend(data.iter().filter(|b| !b.is_ascii_whitespace()));
                        match this.drain() {
                            Ok(bytes) if bytes.is_empty() => continue,
                            Ok(bytes) => Poll::Ready(Some(Ok(Frame::data(bytes)))),
                            Err(e) => Poll::Ready(Some(Err(Box::new(e)))),
                        }
                    }
                    Err(frame) => Poll::Ready(Some(Ok(frame))),
                },
                Poll::Ready(None) if !this.pending.is_empty() => {
                    this.pending.clear();
                    Poll::Ready(Some(Err(Box::new(BadBase64(
                        "ends inside a base64 quad".into(),
                    )))))
                }
                other => other,
            };
        }
    }

    fn is_end_stream(&self) -> bool {
        self.pending.is_empty() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

/// A gRPC status as the response headers or trailers carry it.
#[derive(Clone, Debug, Default)]
pub(super) struct Status {
    code: Option<String>,
    message: Option<String>,
    others: Vec<(String, String)>,
}

impl Status {
    /// The status of a Trailers-Only response, if its headers carry one.
    pub(super) fn from_headers(headers: &HeaderMap) -> Option<Status> {
        headers
            .contains_key("grpc-status")
            .then(|| Self::from_trailers(headers, false))
    }

    fn from_trailers(trailers: &HeaderMap, all: bool) -> Status {
        let text = |name: &str| {
            trailers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let others = trailers
            .iter()
            .filter(|(name, _)| all && !matches!(name.as_str(), "grpc-status" | "grpc-message"))
            .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_string())))
            .collect();
        Status {
            code: text("grpc-status"),
            message: text("grpc-message"),
            others,
        }
    }

    /// The trailer frame in Kong's spelling; other trailers follow.
    fn frame(&self) -> Bytes {
        let mut block = format!(
            "grpc-status:{}\r\ngrpc-message:{}\r\n",
            self.code.as_deref().unwrap_or("0"),
            self.message.as_deref().unwrap_or("")
        );
        for (name, value) in &self.others {
            block.push_str(&format!("{name}:{value}\r\n"));
        }
        let mut out = BytesMut::with_capacity(5 + block.len());
        out.put_u8(TRAILER_FLAG);
        out.put_u32(block.len() as u32);
        out.put_slice(block.as_bytes());
        out.freeze()
    }
}

/// The response body as a gRPC-Web client reads it: messages as they
/// come, then the trailer frame (from the upstream's trailers, else from
/// `headers_status`, else `0`). Base64 for the text form.
pub(super) fn encode(body: BoxBody, text: bool, headers_status: Option<Status>) -> BoxBody {
    Encode {
        inner: body,
        text,
        headers_status,
        done: false,
    }
    .boxed()
}

struct Encode {
    inner: BoxBody,
    text: bool,
    headers_status: Option<Status>,
    done: bool,
}

impl Encode {
    fn data(&self, bytes: Bytes) -> Frame<Bytes> {
        if self.text {
            Frame::data(Bytes::from(STANDARD.encode(&bytes)))
        } else {
            Frame::data(bytes)
        }
    }
}

impl Body for Encode {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        let status = match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
            Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                Ok(data) => return Poll::Ready(Some(Ok(this.data(data)))),
                Err(frame) => match frame.into_trailers() {
                    Ok(trailers) => Status::from_trailers(&trailers, true),
                    Err(_) => return Poll::Ready(Some(Ok(Frame::data(Bytes::new())))),
                },
            },
            Poll::Ready(None) => this.headers_status.take().unwrap_or_default(),
        };
        this.done = true;
        Poll::Ready(Some(Ok(this.data(status.frame()))))
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::full_body;

    /// spec/03-plugins/32-grpc-web/01-proxy_spec.lua: Kong's hello
    /// request in the text form, split inside a quad.
    #[tokio::test]
    async fn text_bodies_decode_across_chunks_and_padded_segments() {
        let chunks = ["AAAAAAYK", "BGhl", "eWE=", "AAAAAAYKBGhleWE="];
        let stream = futures::stream::iter(
            chunks.map(|c| Ok::<_, BoxError>(Frame::data(Bytes::from_static(c.as_bytes())))),
        );
        let body = http_body_util::StreamBody::new(stream).boxed();
        let decoded = decode_base64(body).collect().await.unwrap().to_bytes();
        let one = STANDARD.decode("AAAAAAYKBGhleWE=").unwrap();
        assert_eq!(decoded.len(), 2 * one.len());
        assert_eq!(&decoded[..one.len()], &one[..]);
        assert!(
            decode_base64(full_body(Bytes::from_static(b"AAA")))
                .collect()
                .await
                .is_err()
        );
        assert!(
            decode_base64(full_body(Bytes::from_static(b"!!!!")))
                .collect()
                .await
                .is_err()
        );
    }

    /// The same spec's HELLO_RESPONSE_TEXT_BODY: the message and the
    /// trailer frame, each base64 on its own.
    #[tokio::test]
    async fn responses_end_with_kongs_trailer_frame() {
        let message = STANDARD.decode("AAAAAAwKCmhlbGxvIGhleWE=").unwrap();
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", "0".parse().unwrap());
        let frames = vec![
            Ok::<_, BoxError>(Frame::data(Bytes::from(message.clone()))),
            Ok(Frame::trailers(trailers)),
        ];
        let body = http_body_util::StreamBody::new(futures::stream::iter(frames)).boxed();
        let text = encode(body, true, None).collect().await.unwrap().to_bytes();
        assert_eq!(
            text,
            "AAAAAAwKCmhlbGxvIGhleWE=gAAAAB5ncnBjLXN0YXR1czowDQpncnBjLW1lc3NhZ2U6DQo="
        );
        // Trailers-Only: the status came in the headers.
        let mut headers = HeaderMap::new();
        headers.insert("grpc-status", "16".parse().unwrap());
        headers.insert("grpc-message", "Unauthenticated".parse().unwrap());
        let binary = encode(
            crate::plugins::empty_body(),
            false,
            Status::from_headers(&headers),
        )
        .collect()
        .await
        .unwrap()
        .to_bytes();
        assert_eq!(&binary[..5], &[0x80, 0, 0, 0, 46]);
        assert_eq!(
            &binary[5..],
            b"grpc-status:16\r\ngrpc-message:Unauthenticated\r\n"
        );
    }
}
