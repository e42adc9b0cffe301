use proptest::prelude::*;

use super::framing::{Framing, Role};
use super::queue::{Message, Messages};

/// Runs `stream` through a framing in pieces cut at `cuts`, applying its insertions.
fn splice(role: Role, messages: &Messages, stream: &[u8], cuts: &[usize]) -> Vec<u8> {
    let mut framing = Framing::new(role, messages.clone());
    let mut out = Vec::new();
    let mut bounds: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    bounds.extend([0, stream.len()]);
    bounds.sort_unstable();
    for pair in bounds.windows(2) {
        let piece = &stream[pair[0]..pair[1]];
        let mut from = 0;
        for insert in framing.scan(piece) {
            out.extend_from_slice(&piece[from..insert.at]);
            out.extend_from_slice(&insert.bytes);
            from = insert.at;
        }
        out.extend_from_slice(&piece[from..]);
    }
    out
}

fn with_trailers(messages: &Messages, fields: &[(&'static str, &'static str)]) {
    let message = Message::new(false);
    let mut map = http::HeaderMap::new();
    for (name, value) in fields {
        map.append(*name, http::HeaderValue::from_static(value));
    }
    message.set_trailers(map);
    messages.push(message);
}

const CHUNKED: &[u8] = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";

#[test]
fn trailers_go_after_the_last_chunk() {
    let messages = Messages::default();
    with_trailers(&messages, &[("grpc-status", "0"), ("x-t", "v")]);
    let out = splice(Role::Server, &messages, CHUNKED, &[]);
    assert_eq!(
        out,
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\ngrpc-status: 0\r\nx-t: v\r\n\r\n"
    );
}

#[test]
fn a_message_without_trailers_is_unchanged_and_the_next_one_gets_its_own() {
    let messages = Messages::default();
    messages.push(Message::new(false));
    with_trailers(&messages, &[("x-second", "2")]);
    let stream = [CHUNKED, CHUNKED].concat();
    let out = splice(Role::Server, &messages, &stream, &[7, 60]);
    let expected = [CHUNKED, &CHUNKED[..CHUNKED.len() - 2], b"x-second: 2\r\n\r\n"].concat();
    assert_eq!(out, expected);
}

#[test]
fn informational_heads_and_fixed_bodies_keep_the_count() {
    let messages = Messages::default();
    messages.push(Message::new(false));
    with_trailers(&messages, &[("x-t", "v")]);
    // A fixed body that looks like a last chunk must be skipped, not read.
    let fixed =
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n0\r\n\r\n0\r\n\r\n";
    let stream = [&fixed[..], CHUNKED].concat();
    let out = splice(Role::Server, &messages, &stream, &[3, 30, fixed.len() - 4]);
    assert!(out.ends_with(b"0\r\nx-t: v\r\n\r\n"), "{}", String::from_utf8_lossy(&out));
    assert_eq!(out.len(), stream.len() + "x-t: v\r\n".len());
}

#[test]
fn a_head_response_has_no_body_whatever_its_head_says() {
    let messages = Messages::default();
    messages.push(Message::new(true));
    with_trailers(&messages, &[("x-t", "v")]);
    let head = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
    let stream = [&head[..], CHUNKED].concat();
    let out = splice(Role::Server, &messages, &stream, &[]);
    assert!(out.ends_with(b"0\r\nx-t: v\r\n\r\n"));
}

#[test]
fn http2_and_protocol_switches_pass_untouched() {
    let messages = Messages::default();
    with_trailers(&messages, &[("x-t", "v")]);
    let h2 = [&[0u8, 0, 6, 4, 0, 0, 0, 0, 0][..], CHUNKED].concat();
    assert_eq!(splice(Role::Server, &messages, &h2, &[4]), h2);
    let mut framing = Framing::new(Role::Server, messages.clone());
    assert!(framing.scan(&[0, 0, 6, 4]).is_empty());
    assert!(!framing.tracking(), "HTTP/2 is given up on at its first byte");
    let upgrade = [&b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n\r\n"[..], CHUNKED].concat();
    assert_eq!(splice(Role::Server, &messages, &upgrade, &[]), upgrade);
}

#[test]
fn requests_are_followed_on_the_client_side() {
    let messages = Messages::default();
    messages.push(Message::new(false));
    with_trailers(&messages, &[("x-req", "r")]);
    let get = b"GET / HTTP/1.1\r\nhost: a\r\n\r\n";
    let post = b"POST /p HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n";
    let out = splice(Role::Client, &messages, &[&get[..], post].concat(), &[10]);
    assert!(out.ends_with(b"0\r\nx-req: r\r\n\r\n"), "{}", String::from_utf8_lossy(&out));
}

#[test]
fn framing_fields_are_never_written_as_trailers() {
    let messages = Messages::default();
    with_trailers(&messages, &[("content-length", "1"), ("transfer-encoding", "chunked"), ("x-ok", "1")]);
    let out = splice(Role::Server, &messages, CHUNKED, &[]);
    assert!(out.ends_with(b"0\r\nx-ok: 1\r\n\r\n"));
}

proptest! {
    /// However hyper's writes are cut, the output is the input with the trailers inserted
    /// once, right after the last chunk.
    #[test]
    fn any_cut_gives_the_same_output(
        chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..40), 0..5),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let mut stream = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
        for chunk in &chunks {
            stream.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            stream.extend_from_slice(chunk);
            stream.extend_from_slice(b"\r\n");
        }
        stream.extend_from_slice(b"0\r\n\r\n");
        let messages = Messages::default();
        with_trailers(&messages, &[("x-t", "v")]);
        let out = splice(Role::Server, &messages, &stream, &cuts);
        let mut expected = stream[..stream.len() - 2].to_vec();
        expected.extend_from_slice(b"x-t: v\r\n\r\n");
        prop_assert_eq!(out, expected);
    }
}

/// Through a socket that takes a few bytes at a time, the spliced stream arrives whole.
#[test]
fn a_slow_socket_gets_every_byte_in_order() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let messages = Messages::default();
        messages.push(Message::new(false));
        with_trailers(&messages, &[("x-t", "v")]);
        let (near, mut far) = tokio::io::duplex(5);
        let mut io = super::SpliceIo::splicing(near, Role::Server, messages);
        let stream = [CHUNKED, CHUNKED].concat();
        let write = async move {
            for piece in stream.chunks(9) {
                io.write_all(piece).await.unwrap();
            }
            io.shutdown().await.unwrap();
        };
        let mut got = Vec::new();
        let read = far.read_to_end(&mut got);
        let ((), read) = tokio::join!(write, read);
        read.unwrap();
        let expected = [CHUNKED, &CHUNKED[..CHUNKED.len() - 2], b"x-t: v\r\n\r\n"].concat();
        assert_eq!(got, expected);
    });
}
