//! Direct exchanges against raw loopback upstreams that answer with
//! scripted bytes: framing, reuse, refusals, and bytes that arrive one at a
//! time.

use super::super::connectors::PLAIN;
use super::super::pool::{Pool, Pooled};
use super::*;
use crate::model::Target;
use crate::plugins::BoxError;
use bytes::Bytes;
use http_body_util::BodyExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

/// An upstream that answers the n-th request on a connection with
/// `answers[n]` (closing the connection after the last), written in one
/// piece or a byte at a time; counts the connections it accepted.
async fn upstream(answers: Vec<&'static [u8]>, trickle: bool) -> (Target, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            counter.fetch_add(1, Ordering::SeqCst);
            let answers = answers.clone();
            tokio::spawn(async move {
                let mut seen = Vec::new();
                for answer in answers {
                    // One request head per answer.
                    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                        let mut chunk = [0u8; 1024];
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => seen.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let end = seen.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
                    seen.drain(..end);
                    if trickle {
                        for byte in answer {
                            socket.write_all(&[*byte]).await.unwrap();
                            tokio::time::sleep(Duration::from_micros(200)).await;
                        }
                    } else {
                        socket.write_all(answer).await.unwrap();
                    }
                }
            });
        }
    });
    (Target::new("127.0.0.1", port), accepted)
}

fn head(method: &Method) -> Vec<u8> {
    let mut fields = HeaderMap::new();
    fields.insert("x-one", HeaderValue::from_static("1"));
    fields.insert(TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
    encode(
        method,
        "/p?q=1",
        &HeaderValue::from_static("upstream:80"),
        &fields,
    )
}

/// One exchange on a connection from `pool` (idle or new): the response
/// and its body read to the end (or its error).
async fn fetch(
    pool: &Pool,
    target: &Target,
    method: Method,
) -> Result<
    (
        Response<()>,
        Result<http_body_util::Collected<Bytes>, BoxError>,
    ),
    Failed,
> {
    let mut conn = match pool.checkout_direct(target) {
        Some(conn) => conn,
        None => Conn::new(super::super::pool::tcp(target).await.unwrap()),
    };
    let answer = exchange(&mut conn, &head(&method), method == Method::HEAD, false).await?;
    let response = answer.into_response(pool.lease(Pooled::Direct(conn), PLAIN, target));
    let (parts, body) = response.into_parts();
    Ok((Response::from_parts(parts, ()), body.collect().await))
}

#[test]
fn the_head_is_written_with_host_first_and_without_transfer_encoding() {
    let bytes = head(&Method::GET);
    assert_eq!(
        std::str::from_utf8(&bytes).unwrap(),
        "GET /p?q=1 HTTP/1.1\r\nhost: upstream:80\r\nx-one: 1\r\n\r\n"
    );
}

#[test]
fn the_head_is_allocated_once_at_its_size() {
    let mut fields = HeaderMap::new();
    let token = format!("Bearer {}", "t".repeat(800));
    fields.insert(
        http::header::AUTHORIZATION,
        HeaderValue::from_str(&token).unwrap(),
    );
    fields.insert("cookie", HeaderValue::from_static("a=1; b=2"));
    fields.append("x-many", HeaderValue::from_static("1"));
    fields.append("x-many", HeaderValue::from_static("2"));
    let bytes = encode(
        &Method::GET,
        "/p",
        &HeaderValue::from_static("upstream"),
        &fields,
    );
    // Grown, the buffer would have doubled past its length.
    assert_eq!(bytes.capacity(), bytes.len());
    assert!(bytes.ends_with(b"x-many: 1\r\nx-many: 2\r\n\r\n"));
}

#[tokio::test]
async fn a_sized_body_is_read_and_its_connection_serves_the_next_request() {
    let answer: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nx-a: b\r\n\r\nhello";
    let (target, accepted) = upstream(vec![answer; 3], false).await;
    let pool = Pool::new();
    for _ in 0..3 {
        let (head, body) = fetch(&pool, &target, Method::GET).await.unwrap();
        assert_eq!(head.status(), StatusCode::OK);
        assert_eq!(head.headers()["x-a"], "b");
        assert_eq!(body.unwrap().to_bytes(), "hello");
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn bytes_arriving_one_at_a_time_make_the_same_answer() {
    let answer: &[u8] = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nx-sum: abc\r\n\r\n";
    let (target, accepted) = upstream(vec![answer, answer], true).await;
    let pool = Pool::new();
    for _ in 0..2 {
        let (_, body) = fetch(&pool, &target, Method::GET).await.unwrap();
        let body = body.unwrap();
        assert_eq!(body.trailers().unwrap()["x-sum"], "abc");
        assert_eq!(body.to_bytes(), "hello world");
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn chunks_frame_the_body_and_a_length_beside_them_is_dropped() {
    let answer: &[u8] =
        b"HTTP/1.1 200 OK\r\ncontent-length: 99\r\ntransfer-encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    let (target, _) = upstream(vec![answer], false).await;
    let (head, body) = fetch(&Pool::new(), &target, Method::GET).await.unwrap();
    assert!(!head.headers().contains_key(CONTENT_LENGTH));
    let body = body.unwrap();
    assert!(body.trailers().is_none());
    assert_eq!(body.to_bytes(), "abc");
}

#[tokio::test]
async fn a_body_without_a_length_lasts_until_the_close_and_ends_the_connection() {
    let answer: &[u8] = b"HTTP/1.1 200 OK\r\nx: y\r\n\r\nuntil the end";
    let (target, _) = upstream(vec![answer], false).await;
    let pool = Pool::new();
    let (_, body) = fetch(&pool, &target, Method::GET).await.unwrap();
    assert_eq!(body.unwrap().to_bytes(), "until the end");
    assert!(pool.checkout_direct(&target).is_none());
}

#[tokio::test]
async fn head_204_and_304_answers_have_no_body_whatever_their_length_says() {
    let (target, accepted) = upstream(
        vec![
            b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n",
            b"HTTP/1.1 204 No Content\r\ncontent-length: 10\r\n\r\n",
            b"HTTP/1.1 304 Not Modified\r\ncontent-length: 10\r\n\r\n",
        ],
        false,
    )
    .await;
    let pool = Pool::new();
    for method in [Method::HEAD, Method::GET, Method::GET] {
        let (head, body) = fetch(&pool, &target, method).await.unwrap();
        assert_eq!(head.headers()[CONTENT_LENGTH], "10");
        assert!(body.unwrap().to_bytes().is_empty());
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn interim_answers_are_skipped() {
    let answer: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </s.css>\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nok";
    let (target, _) = upstream(vec![answer], false).await;
    let (head, body) = fetch(&Pool::new(), &target, Method::DELETE).await.unwrap();
    assert_eq!(head.status(), StatusCode::CREATED);
    assert!(!head.headers().contains_key("link"));
    assert_eq!(body.unwrap().to_bytes(), "ok");
}

#[tokio::test]
async fn a_reason_phrase_of_its_own_is_kept() {
    let answer: &[u8] = b"HTTP/1.0 200 Fine Thanks\r\ncontent-length: 0\r\n\r\n";
    let (target, _) = upstream(vec![answer], false).await;
    let pool = Pool::new();
    let (head, _) = fetch(&pool, &target, Method::GET).await.unwrap();
    assert_eq!(head.version(), Version::HTTP_10);
    let reason = head.extensions().get::<hyper::ext::ReasonPhrase>().unwrap();
    assert_eq!(reason.as_bytes(), b"Fine Thanks");
    // HTTP/1.0 without keep-alive: not reused.
    assert!(pool.checkout_direct(&target).is_none());
}

#[tokio::test]
async fn broken_and_oversized_answers_are_refused() {
    let many = Box::leak(
        format!(
            "HTTP/1.1 200 OK\r\n{}content-length: 0\r\n\r\n",
            "x: y\r\n".repeat(MAX_HEADERS)
        )
        .into_bytes()
        .into_boxed_slice(),
    );
    let cases: Vec<&'static [u8]> = vec![
        b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\nhello",
        b"HTTP/1.1 200 OK\r\ncontent-length: 5, 6\r\n\r\nhello",
        b"HTTP/1.1 200 OK\r\ncontent-length: -5\r\n\r\nhello",
        b"HTTP/1.1 200 OK\r\ncontent-length: 99999999999999999999\r\n\r\nhello",
        b"HTTP/1.1 200 OK\r\ncontent-length: 5,\r\n\r\nhello",
        b"HTTP/1.1 200 OK\r\nbad header\r\n\r\n",
        b"HTTP/1.0 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n",
        b"HTTP/1.1 101 Switching Protocols\r\nupgrade: x\r\n\r\n",
        b"HTTP/9.1 200 OK\r\n\r\n",
        many,
    ];
    for case in cases {
        let (target, _) = upstream(vec![case], false).await;
        match fetch(&Pool::new(), &target, Method::GET).await {
            Err(Failed::Invalid(_)) => {}
            Err(other) => panic!("{:?}: {other:?}", String::from_utf8_lossy(case)),
            Ok((head, _)) => panic!("{:?} accepted: {head:?}", String::from_utf8_lossy(case)),
        }
    }
}

#[tokio::test]
async fn a_head_beyond_the_limit_is_refused() {
    let long = Box::leak(
        format!("HTTP/1.1 200 OK\r\nx: {}\r\n\r\n", "a".repeat(MAX_HEAD))
            .into_bytes()
            .into_boxed_slice(),
    );
    let (target, _) = upstream(vec![long], false).await;
    let Err(Failed::Invalid(why)) = fetch(&Pool::new(), &target, Method::GET).await else {
        panic!("a head of {} bytes was accepted", long.len());
    };
    assert!(why.contains("larger than"), "{why}");
}

#[tokio::test]
async fn broken_bodies_fail_and_end_their_connection() {
    let cases: Vec<&'static [u8]> = vec![
        b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhello",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhel",
    ];
    for case in cases {
        let (target, _) = upstream(vec![case], false).await;
        let pool = Pool::new();
        let (_, body) = fetch(&pool, &target, Method::GET).await.unwrap();
        assert!(body.is_err(), "{:?}", String::from_utf8_lossy(case));
        assert!(pool.checkout_direct(&target).is_none());
    }
}

#[tokio::test]
async fn a_connection_that_ends_before_answering_is_unanswered() {
    // The upstream reads the request and closes without a word.
    let (target, _) = upstream(vec![], false).await;
    let mut conn = Conn::new(super::super::pool::tcp(&target).await.unwrap());
    match exchange(&mut conn, &head(&Method::GET), false, false).await {
        Err(Failed::Unanswered(_)) => {}
        other => panic!("{:?}", other.err()),
    }
}

#[tokio::test]
async fn an_idle_connection_the_upstream_closed_is_never_handed_out() {
    let answer: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
    // Answers once, then closes the connection.
    let (target, accepted) = upstream(vec![answer], false).await;
    let pool = Pool::new();
    fetch(&pool, &target, Method::GET).await.unwrap().1.unwrap();
    // The close reaches the runtime's I/O driver when it next polls.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(pool.checkout_direct(&target).is_none());
    fetch(&pool, &target, Method::GET).await.unwrap().1.unwrap();
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn connection_close_or_bytes_beyond_the_body_end_the_connection() {
    let (target, _) = upstream(
        vec![b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok"],
        false,
    )
    .await;
    let pool = Pool::new();
    fetch(&pool, &target, Method::GET).await.unwrap().1.unwrap();
    assert!(pool.checkout_direct(&target).is_none());

    let (target, _) = upstream(
        vec![b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n"],
        false,
    )
    .await;
    fetch(&pool, &target, Method::GET).await.unwrap().1.unwrap();
    assert!(pool.checkout_direct(&target).is_none());
}

/// The final answer `head` parses to, its fields bytes when `raw` and they
/// may be.
fn parsed(head: &str, raw: bool) -> Result<Answer, Failed> {
    let mut buf = BytesMut::from(head.as_bytes());
    match parse(&mut buf, false, raw)? {
        Head::Final(answer) => Ok(answer),
        Head::Interim | Head::Partial => panic!("not a final answer: {head:?}"),
    }
}

#[test]
fn plain_fields_stay_bytes_and_only_connection_is_left_out() {
    let answer = parsed(
        "HTTP/1.1 200 OK\r\nServer: up\r\nContent-Length: 5\r\nConnection: Keep-Alive\r\nX-A: b\r\n\r\n",
        true,
    )
    .unwrap();
    let raw = answer.head.extensions().get::<RawFields>().expect("bytes");
    let fields: Vec<(&[u8], &[u8])> = raw.iter().collect();
    let expected: [(&[u8], &[u8]); 3] = [
        (b"Server", b"up"),
        (b"Content-Length", b"5"),
        (b"X-A", b"b"),
    ];
    assert_eq!(fields, expected);
    assert!(answer.head.headers().is_empty());
    assert_eq!(raw.content_length, Some(5));
    assert_eq!(answer.framing, Framing::Length(5));
    assert!(answer.keep_alive);

    // Asked for the map: the same fields in it, `Connection` too (the
    // proxy's hop-by-hop rule takes it out later).
    let answer = parsed(
        "HTTP/1.1 200 OK\r\nServer: up\r\nContent-Length: 5\r\nConnection: close\r\n\r\n",
        false,
    )
    .unwrap();
    assert!(answer.head.extensions().get::<RawFields>().is_none());
    assert_eq!(answer.head.headers()["connection"], "close");
    assert!(!answer.keep_alive);
}

#[test]
fn fields_a_proxy_changes_or_refuses_take_the_map() {
    let heads = [
        // A field `Connection` names must not cross the hop either.
        "HTTP/1.1 200 OK\r\nConnection: x-secret\r\nX-Secret: 1\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nPROXY-Authenticate: Basic\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTrailer: x-t\r\nContent-Length: 0\r\n\r\n",
    ];
    for head in heads {
        let answer = parsed(head, true).unwrap();
        assert!(
            answer.head.extensions().get::<RawFields>().is_none(),
            "{head:?}"
        );
        assert!(!answer.head.headers().is_empty(), "{head:?}");
    }
    // What the map path refuses is refused as before.
    for head in [
        "HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-Bad: a\x7fb\r\nContent-Length: 0\r\n\r\n",
    ] {
        assert!(
            matches!(parsed(head, true), Err(Failed::Invalid(_))),
            "{head:?}"
        );
        assert!(
            matches!(parsed(head, false), Err(Failed::Invalid(_))),
            "{head:?}"
        );
    }
    // No body after HEAD, 204 or 304 whatever the length says; read to the
    // close without one.
    let answer = parsed("HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n", true).unwrap();
    assert_eq!(answer.framing, Framing::Length(0));
    let answer = parsed("HTTP/1.1 200 OK\r\nX-A: b\r\n\r\n", true).unwrap();
    assert_eq!(answer.framing, Framing::Close);
    assert!(!answer.keep_alive);
}

proptest::proptest! {
    /// Heads made of the fields that decide framing, the connection and
    /// the hop: kept as bytes or put in a map, the answer is the same —
    /// refused alike, framed alike, the connection kept alike.
    #[test]
    fn fields_kept_as_bytes_answer_as_the_map_does(
        fields in proptest::collection::vec((0usize..10, 0usize..10), 0..6),
        status in proptest::sample::select(vec!["200 OK", "204 No Content", "304 Not Modified", "404 Not Found"]),
        version in proptest::sample::select(vec!["1.0", "1.1"]),
        no_body in proptest::bool::ANY,
    ) {
        const NAMES: [&str; 10] = [
            "Content-Length", "Connection", "Transfer-Encoding", "Keep-Alive", "X-A",
            "Date", "Proxy-X", "Trailer", "content-length", "CONNECTION",
        ];
        const VALUES: [&str; 10] = [
            "5", "1, 2", "close", "keep-alive", "x-a", "chunked", "v", "a\u{7f}b", "", "Keep-Alive, Close",
        ];
        let mut head = format!("HTTP/{version} {status}\r\n");
        for (name, value) in &fields {
            head.push_str(&format!("{}: {}\r\n", NAMES[*name], VALUES[*value]));
        }
        head.push_str("\r\n");
        let mut map = BytesMut::from(head.as_bytes());
        let mut raw = map.clone();
        match (parse(&mut map, no_body, false), parse(&mut raw, no_body, true)) {
            (Ok(Head::Final(a)), Ok(Head::Final(b))) => {
                proptest::prop_assert_eq!(a.framing, b.framing, "{:?}", head);
                proptest::prop_assert_eq!(a.keep_alive, b.keep_alive, "{:?}", head);
                proptest::prop_assert_eq!(a.head.status(), b.head.status());
            }
            (Err(_), Err(_)) => {}
            _ => proptest::prop_assert!(false, "the two paths differ on {:?}", head),
        }
    }
}
