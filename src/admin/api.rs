//! The admin API's front door: splits the path, dispatches by method:
//! reads to `read`, everything else to `write` (which refuses in cluster
//! mode).

use super::page::Page;
use super::read::{self, Node};
use super::write::{self, Writes};
use crate::kong::Document;
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;

/// What the admin API answers from.
#[derive(Debug)]
pub(super) struct State {
    /// What reads answer from.
    pub node: Node,
    /// Where writes go (standalone mode); `None` refuses them.
    pub writes: Option<Writes>,
    /// Who may send requests at all, and writes in particular.
    pub guard: super::guard::Guard,
}

/// Answers one read (GET or HEAD); `declared` is what the Admin API wrote
/// (standalone mode).
pub(super) fn handle<B>(
    state: &State,
    request: &Request<B>,
    declared: Option<&Document>,
) -> Response<Full<Bytes>> {
    let decoded = segments(request.uri().path());
    // Only the health path needs it: the other upstream reads answer the
    // document's entities by id themselves.
    let decoded = match decoded.get(2).map(String::as_str) {
        Some("health") => aliased(decoded, declared),
        _ => decoded,
    };
    let segments: Vec<&str> = decoded.iter().map(String::as_str).collect();
    let page = Page::new(request.uri().path(), request.uri().query());
    read::get(&state.node, &segments, declared, &page)
}

/// Answers one write (any other method).
pub(super) async fn write(state: &State, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let decoded = segments(request.uri().path());
    let segments: Vec<&str> = decoded.iter().map(String::as_str).collect();
    write::handle(state.writes.as_ref(), request, &segments).await
}

/// Whether the request is for `/oauth2_tokens[/…]`.
pub(super) fn is_tokens<B>(request: &Request<B>) -> bool {
    segments(request.uri().path()).first().map(String::as_str) == Some(super::tokens::COLLECTION)
}

/// Answers any method on `/oauth2_tokens[/…]` (the token store's entities).
pub(super) async fn tokens(
    state: &State,
    request: Request<Incoming>,
    is_read: bool,
) -> Response<Full<Bytes>> {
    let decoded = segments(request.uri().path());
    let segments: Vec<&str> = decoded.iter().map(String::as_str).collect();
    if is_read {
        let page = Page::new(request.uri().path(), request.uri().query());
        return super::tokens::read(&state.node, &segments, &page).await;
    }
    super::tokens::write(&state.node, state.writes.as_ref(), request, &segments).await
}

/// Answers any method on `/proxy-cache[/…]` (the cache's entries, which
/// live in this process, not in the configuration); `None` for other paths.
pub(super) fn proxy_cache<B>(state: &State, request: &Request<B>) -> Option<Response<Full<Bytes>>> {
    let decoded = segments(request.uri().path());
    if decoded.first().map(String::as_str) != Some(super::proxy_cache::COLLECTION) {
        return None;
    }
    let segments: Vec<&str> = decoded.iter().map(String::as_str).collect();
    Some(super::proxy_cache::handle(
        &state.node,
        request.method(),
        &segments,
    ))
}

/// Answers any method on `/upstreams/{u}/targets/{t}[/{address}]/healthy`
/// or `/unhealthy` (runtime state, not configuration); `None` for other
/// paths. `declared` turns the ids the Admin API answered into names.
pub(super) fn target_health<B>(
    state: &State,
    request: &Request<B>,
    declared: Option<&Document>,
) -> Option<Response<Full<Bytes>>> {
    let decoded = aliased(segments(request.uri().path()), declared);
    let segments: Vec<&str> = decoded.iter().map(String::as_str).collect();
    super::target_health::matches(&segments)
        .then(|| super::target_health::handle(&state.node, request.method(), &segments))
}

/// Whether the request is for `/upstreams/…` (whose runtime paths need
/// the Admin API's document to know the ids it answered).
pub(super) fn is_upstreams<B>(request: &Request<B>) -> bool {
    segments(request.uri().path()).first().map(String::as_str) == Some("upstreams")
}

/// `/upstreams/{u}/health` and `/upstreams/{u}/targets/{t}/…` with the id
/// of an upstream or target the Admin API wrote replaced by its name or
/// address: the balancers know upstreams by name and targets by address,
/// while a client holds the ids its writes were answered with.
fn aliased(mut segments: Vec<String>, declared: Option<&Document>) -> Vec<String> {
    let Some(doc) = declared else {
        return segments;
    };
    if segments.first().map(String::as_str) != Some("upstreams") || segments.len() < 3 {
        return segments;
    }
    let Some(upstream) = doc.upstreams.iter().find(|u| u.id == segments[1]) else {
        return segments;
    };
    let upstream_id = upstream.id.clone();
    segments[1] = upstream.name.clone();
    if segments[2] == "targets" && segments.len() > 4 {
        let target = doc
            .targets
            .iter()
            .find(|t| t.upstream.id == upstream_id && t.id == segments[3]);
        if let Some(t) = target {
            segments[3] = t.target.clone();
        }
    }
    segments
}

/// The path's segments, percent-decoded, empty ones dropped.
pub(super) fn segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect()
}

/// Decodes `%XX` escapes (names and usernames may be escaped by clients);
/// invalid escapes are kept as they are.
fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("jane%40example.com"), "jane@example.com");
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("plain"), "plain");
    }
}
