use super::*;
use crate::plugins::proxy_cache::{Bounds, Store};
use http_body_util::{BodyExt, StreamBody};
use std::sync::{Arc, Mutex};

fn chunks(parts: Vec<Result<&'static [u8], &'static str>>) -> BoxBody {
    let frames = parts.into_iter().map(|p| {
        p.map(|b| Frame::data(Bytes::from_static(b)))
            .map_err(BoxError::from)
    });
    StreamBody::new(futures::stream::iter(frames)).boxed()
}

fn tee(body: BoxBody, limit: usize) -> (Tee, Arc<Mutex<Option<Bytes>>>) {
    let got = Arc::new(Mutex::new(None));
    let sink = got.clone();
    let store = Store::new(Bounds::default());
    let done: OnComplete = Box::new(move |b| *sink.lock().unwrap() = Some(b));
    (Tee::new(body, limit, store.reserve(), done), got)
}

#[tokio::test]
async fn a_complete_body_is_handed_over_and_streamed_unchanged() {
    let (t, got) = tee(chunks(vec![Ok(b"ab"), Ok(b"cd")]), 10);
    let streamed = t.collect().await.unwrap().to_bytes();
    assert_eq!(&streamed[..], b"abcd");
    assert_eq!(got.lock().unwrap().as_deref(), Some(&b"abcd"[..]));
}

#[tokio::test]
async fn too_large_failed_or_abandoned_bodies_are_not() {
    let (t, got) = tee(chunks(vec![Ok(b"abc"), Ok(b"def")]), 5);
    // The client still gets all of it.
    assert_eq!(&t.collect().await.unwrap().to_bytes()[..], b"abcdef");
    assert!(got.lock().unwrap().is_none());

    let (t, got) = tee(chunks(vec![Ok(b"abc"), Err("reset")]), 10);
    assert!(t.collect().await.is_err());
    assert!(got.lock().unwrap().is_none());

    let (mut t, got) = tee(chunks(vec![Ok(b"abc"), Ok(b"def")]), 10);
    assert!(t.frame().await.is_some());
    drop(t);
    assert!(got.lock().unwrap().is_none());
}
