//! The own path against hyper's server: the same requests, bytes on the
//! wire, through the same handler; both answers must be byte for byte the
//! same (the `date` value aside).

use super::*;
use http::{HeaderValue, StatusCode};
use http_body_util::{Full, StreamBody, combinators::BoxBody};
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

type TestBody = BoxBody<Bytes, Infallible>;

/// Answers by the request's path; counts the requests whose body the own
/// loop passed as `None`.
async fn answer(request: Request<ClientBody>, own: Arc<AtomicUsize>) -> Response<TestBody> {
    let path = request.uri().path().to_string();
    let (parts, body) = request.into_parts();
    let received = match body {
        Some(body) => body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default(),
        None => {
            own.fetch_add(1, Ordering::Relaxed);
            Bytes::new()
        }
    };
    let full = |s: &'static str| Full::new(Bytes::from_static(s.as_bytes())).boxed();
    let stream = |chunks: Vec<Frame>| {
        let frames = chunks.into_iter().map(|f| {
            Ok::<_, Infallible>(match f {
                Frame::Data(d) => http_body::Frame::data(Bytes::from_static(d.as_bytes())),
                Frame::Trailers(name, value) => {
                    let mut map = HeaderMap::new();
                    map.insert(name, HeaderValue::from_static(value));
                    http_body::Frame::trailers(map)
                }
            })
        });
        StreamBody::new(futures::stream::iter(frames)).boxed()
    };
    let mut response = Response::new(full(""));
    match path.as_str() {
        "/hello" => *response.body_mut() = full("hello"),
        "/echo" => {
            *response.body_mut() = Full::new(received).boxed();
            response
                .headers_mut()
                .insert("x-method", parts.method.as_str().parse().unwrap());
        }
        "/stream" => {
            *response.body_mut() = stream(vec![Frame::Data("ab"), Frame::Data("cde")]);
        }
        "/trailers" => {
            response
                .headers_mut()
                .insert("trailer", HeaderValue::from_static("x-sum, content-type"));
            *response.body_mut() = stream(vec![Frame::Data("x"), Frame::Trailers("x-sum", "42")]);
        }
        "/no-content" => *response.status_mut() = StatusCode::NO_CONTENT,
        "/not-modified" => {
            *response.status_mut() = StatusCode::NOT_MODIFIED;
            response
                .headers_mut()
                .insert("etag", HeaderValue::from_static("\"v1\""));
        }
        "/length" => {
            // A HEAD answer keeps the length a GET would have had.
            response
                .headers_mut()
                .insert("content-length", HeaderValue::from_static("5"));
        }
        "/reason" => {
            *response.status_mut() = StatusCode::IM_A_TEAPOT;
            response
                .extensions_mut()
                .insert(hyper::ext::ReasonPhrase::from_static(b"Short And Stout"));
        }
        "/many" => {
            let h = response.headers_mut();
            h.append("set-cookie", HeaderValue::from_static("a=1"));
            h.append("set-cookie", HeaderValue::from_static("b=2"));
            h.append("x-list", HeaderValue::from_static("one"));
            h.append("x-list", HeaderValue::from_static("two"));
            h.insert(
                "date",
                HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"),
            );
            *response.body_mut() = full("many");
        }
        _ => *response.status_mut() = StatusCode::NOT_FOUND,
    }
    response
}

enum Frame {
    Data(&'static str),
    Trailers(&'static str, &'static str),
}

/// The bytes one server answers to `sent`, read until it closes.
async fn exchange(sent: &[u8], own_path: bool) -> (String, usize) {
    let (mut client, server) = tokio::io::duplex(1 << 20);
    let own = Arc::new(AtomicUsize::new(0));
    let counted = own.clone();
    let peer = SocketAddr::from(([127, 0, 0, 1], 1));
    let limits = Limits::default();
    let served = tokio::spawn(async move {
        if own_path {
            serve_http1(server, peer, &limits, move |r| answer(r, counted.clone())).await;
        } else {
            super::super::serve_http(server, peer, &limits, move |r: Request<Incoming>| {
                answer(r.map(Some), counted.clone())
            })
            .await;
        }
    });
    client.write_all(sent).await.unwrap();
    let mut received = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), client.read_to_end(&mut received))
        .await
        .expect("the server closes the connection")
        .unwrap();
    served.await.unwrap();
    let text = String::from_utf8(received).unwrap();
    (normalise_dates(&text), own.load(Ordering::Relaxed))
}

/// Every `date: ` value written now replaced by a fixed one.
fn normalise_dates(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("date: ") {
        let (before, after) = rest.split_at(at + "date: ".len());
        out.push_str(before);
        let end = after.find("\r\n").unwrap_or(after.len());
        let value = &after[..end];
        out.push_str(if value.starts_with("Thu, 01 Jan 1970") {
            value
        } else {
            "<now>"
        });
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Both servers answer `sent` alike; the own loop served `own` requests.
async fn alike(sent: &str, own: usize) -> String {
    let (theirs, by_own) = exchange(sent.as_bytes(), false).await;
    assert_eq!(by_own, 0, "hyper reads every body itself");
    let (ours, by_own) = exchange(sent.as_bytes(), true).await;
    assert_eq!(ours, theirs, "for {sent:?}");
    assert_eq!(by_own, own, "requests the own loop served for {sent:?}");
    ours
}

const CLOSE: &str = "GET /hello HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n";

#[tokio::test]
async fn keep_alive_requests_are_answered_in_order_as_hyper_answers_them() {
    let sent = format!(
        "GET /hello HTTP/1.1\r\nHost: a\r\n\r\nGET /missing HTTP/1.1\r\nHost: a\r\n\r\n{CLOSE}"
    );
    let answer = alike(&sent, 3).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\ncontent-length: 5\r\ndate: <now>\r\n\r\nhello"));
    assert!(answer.contains("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n"));
    assert!(answer.ends_with("connection: close\r\ncontent-length: 5\r\ndate: <now>\r\n\r\nhello"));
}

#[tokio::test]
async fn bodies_of_unknown_length_are_chunked_with_only_announced_trailers() {
    let sent = format!(
        "GET /stream HTTP/1.1\r\nHost: a\r\n\r\nGET /trailers HTTP/1.1\r\nHost: a\r\nTE: gzip, Trailers\r\n\r\n{CLOSE}"
    );
    let answer = alike(&sent, 3).await;
    assert!(answer.contains("transfer-encoding: chunked\r\n"));
    assert!(answer.contains("2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n"));
    assert!(answer.contains("1\r\nx\r\n0\r\nx-sum: 42\r\n\r\n"));
    // Not to a client that did not say it takes them.
    let sent = format!("GET /trailers HTTP/1.1\r\nHost: a\r\n\r\n{CLOSE}");
    assert!(alike(&sent, 2).await.contains("1\r\nx\r\n0\r\n\r\n"));
}

#[tokio::test]
async fn http10_closes_unless_asked_and_is_answered_in_its_version() {
    let answer = alike("GET /hello HTTP/1.0\r\n\r\n", 1).await;
    assert!(answer.starts_with("HTTP/1.0 200 OK\r\n"));
    let sent = format!("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n{CLOSE}");
    let answer = alike(&sent, 2).await;
    assert!(answer.contains("connection: keep-alive\r\n"));
    // A body of unknown length is delimited by the close.
    let answer = alike("GET /stream HTTP/1.0\r\n\r\n", 1).await;
    assert!(answer.ends_with("\r\n\r\nabcde"), "{answer}");
}

#[tokio::test]
async fn bodiless_statuses_head_reasons_and_repeated_fields() {
    for path in ["/no-content", "/not-modified", "/reason", "/many"] {
        alike(&format!("GET {path} HTTP/1.1\r\nHost: a\r\n\r\n{CLOSE}"), 2).await;
    }
    let answer = alike(
        &format!("HEAD /length HTTP/1.1\r\nHost: a\r\n\r\n{CLOSE}"),
        2,
    )
    .await;
    assert!(
        answer.starts_with("HTTP/1.1 200 OK\r\ncontent-length: 5\r\ndate: <now>\r\n\r\nHTTP/1.1")
    );
    let answer = alike(
        &format!("HEAD /hello HTTP/1.1\r\nHost: a\r\n\r\n{CLOSE}"),
        2,
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n"));
}

#[tokio::test]
async fn requests_with_a_body_and_what_hyper_refuses_go_to_hyper_from_there_on() {
    // The first request is the own loop's; the POST and all after it
    // hyper's, which reads the body.
    let sent = format!(
        "GET /hello HTTP/1.1\r\nHost: a\r\n\r\nPOST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbodyGET /hello HTTP/1.1\r\nHost: a\r\n\r\n{CLOSE}"
    );
    let answer = alike(&sent, 1).await;
    assert!(answer.contains("x-method: POST\r\n"));
    assert!(answer.contains("\r\n\r\nbody"));
    let chunked = format!(
        "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n{CLOSE}"
    );
    assert!(alike(&chunked, 0).await.contains("\r\n\r\nabc"));
    // A length and a chunked body together (a smuggling attempt) are
    // hyper's to frame: it reads the chunks, and closes after answering.
    let both = "GET /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /hello HTTP/1.1\r\nHost: a\r\n\r\n";
    let answer = alike(both, 0).await;
    assert!(
        answer.contains("\r\n\r\nabc") && !answer.contains("hello"),
        "{answer}"
    );
    // A zero length is no body, however it is spelled.
    alike(
        &format!("GET /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 000\r\n\r\n{CLOSE}"),
        2,
    )
    .await;
    alike(
        &format!("DELETE /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n{CLOSE}"),
        2,
    )
    .await;
    // hyper's own answers to heads it refuses, after a served request.
    for bad in [
        "GET /hello HTTP/1.1\r\nbad header\r\n\r\n",
        "GET /hello HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "GET /hello HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
        "GET /hel lo HTTP/1.1\r\nHost: a\r\n\r\n",
        "G@T /hello HTTP/1.1\r\n\r\n",
    ] {
        let answer = alike(&format!("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n{bad}"), 1).await;
        assert!(
            answer.contains("HTTP/1.1 400 Bad Request\r\n"),
            "{bad:?}: {answer}"
        );
    }
    let many: String = (0..101).map(|i| format!("x-{i}: v\r\n")).collect();
    let answer = alike(&format!("GET /hello HTTP/1.1\r\n{many}\r\n"), 0).await;
    assert!(answer.starts_with("HTTP/1.1 431 "), "{answer}");
}

#[tokio::test]
async fn an_upgrade_or_expect_request_is_hyper_s() {
    let upgrade = format!(
        "GET /hello HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n{CLOSE}"
    );
    alike(&upgrade, 0).await;
    let expect = format!("GET /hello HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n{CLOSE}");
    alike(&expect, 0).await;
}

#[tokio::test]
async fn a_client_that_leaves_abandons_its_request_and_a_streaming_body() {
    /// Counts its drops.
    struct Guard(Arc<AtomicUsize>);
    impl Drop for Guard {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
    for path in ["/never", "/stalls"] {
        let dropped = Arc::new(AtomicUsize::new(0));
        let counted = dropped.clone();
        let (mut client, server) = tokio::io::duplex(4096);
        let peer = SocketAddr::from(([127, 0, 0, 1], 1));
        let served = tokio::spawn(async move {
            serve_http1(
                server,
                peer,
                &Limits::default(),
                move |r: Request<ClientBody>| {
                    let guard = Guard(counted.clone());
                    let stalls = r.uri().path() == "/stalls";
                    async move {
                        if !stalls {
                            std::future::pending::<()>().await;
                        }
                        // One chunk, then a body that never ends.
                        let frames = futures::StreamExt::chain(
                            futures::stream::iter([Ok::<_, Infallible>(http_body::Frame::data(
                                Bytes::from_static(b"a"),
                            ))]),
                            futures::stream::pending(),
                        );
                        let frames = futures::StreamExt::map(frames, move |f| {
                            let _ = &guard;
                            f
                        });
                        Response::new(StreamBody::new(frames))
                    }
                },
            )
            .await;
        });
        client
            .write_all(format!("GET {path} HTTP/1.1\r\nHost: a\r\n\r\n").as_bytes())
            .await
            .unwrap();
        if path == "/stalls" {
            let mut first = [0u8; 16];
            let _ = client.read(&mut first).await.unwrap();
            assert!(
                first.starts_with(b"HTTP/1.1 200 OK"),
                "the head leaves at once"
            );
        }
        drop(client);
        tokio::time::timeout(Duration::from_secs(5), served)
            .await
            .expect("the connection ends when its client leaves")
            .unwrap();
        assert_eq!(
            dropped.load(Ordering::Relaxed),
            1,
            "{path}: the request is dropped"
        );
    }
}

/// An upstream head's fields passed on as bytes (`fields::RawFields`).
fn raw_fields(head: &'static [u8], length: Option<u64>) -> fields::RawFields {
    let mut parsed_fields = [httparse::EMPTY_HEADER; 8];
    let mut parsed = httparse::Response::new(&mut parsed_fields);
    assert!(parsed.parse(head).unwrap().is_complete());
    let spans = fields::spans(head.as_ptr(), parsed.headers.iter());
    fields::RawFields::new(Bytes::from_static(head), spans, length)
}

fn encode_with(raw: &fields::RawFields, method: &http::Method, body: Length) -> (String, Encoded) {
    let mut map = HeaderMap::new();
    map.insert(http::header::VIA, HeaderValue::from_static("1.1 kingress"));
    let exchange = Exchange {
        method,
        version: http::Version::HTTP_11,
        keep_alive: head::KeepAlive::Yes,
        trailers: false,
    };
    let mut out = Vec::new();
    let version = http::Version::HTTP_11;
    let encoded = encode::head(
        &mut out,
        &exchange,
        StatusCode::OK,
        version,
        None,
        Some(raw),
        &map,
        body,
    )
    .unwrap();
    (String::from_utf8(out).unwrap(), encoded)
}

#[test]
fn raw_fields_are_written_lower_case_before_the_map_with_one_length() {
    let raw = raw_fields(
        b"HTTP/1.1 200 OK\r\nX-Up: One\r\nContent-Length: 2\r\nContent-Length: 2\r\nDate: Mon, 07 Dec 2026 20:00:00 GMT\r\n\r\n",
        Some(2),
    );
    assert!(raw.date);
    let (text, encoded) = encode_with(&raw, &http::Method::GET, Length::Known(2));
    assert_eq!(
        text,
        "HTTP/1.1 200 OK\r\nx-up: One\r\ncontent-length: 2\r\n\
         date: Mon, 07 Dec 2026 20:00:00 GMT\r\nvia: 1.1 kingress\r\n\r\n"
    );
    assert_eq!(encoded.framing, Framing::Length(2));
    assert!(!encoded.last);
    // No value in `Debug`: it may be a cookie.
    assert_eq!(
        format!("{raw:?}"),
        r#"["X-Up", "Content-Length", "Content-Length", "Date"]"#
    );

    // An empty body to GET: the length is hyper's `0`, and a date is added.
    let raw = raw_fields(b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n", Some(7));
    let (text, encoded) = encode_with(&raw, &http::Method::GET, Length::Empty);
    let text = normalise_dates(&text);
    assert_eq!(
        text,
        "HTTP/1.1 200 OK\r\nvia: 1.1 kingress\r\ncontent-length: 0\r\ndate: <now>\r\n\r\n"
    );
    assert_eq!(encoded.framing, Framing::Length(0));
    // To HEAD the upstream's length stands, with no body.
    let (text, _) = encode_with(&raw, &http::Method::HEAD, Length::Empty);
    assert!(text.contains("content-length: 7\r\n"), "{text}");
}
