//! Follows the HTTP/1.1 messages hyper writes on one connection, byte by byte as they go out,
//! to find the point where a chunked message's trailer section belongs: right after its last
//! chunk (`0\r\n`). Only the framing is read (heads, chunk-size lines, content lengths); body
//! bytes are skipped by count. Anything it does not understand (a message without length that
//! runs to the close, a protocol switch, HTTP/2, a head too large) ends the tracking for the
//! connection: from then on bytes pass untouched and no trailers are spliced. It never
//! changes a byte, only says where to insert.

use super::queue::{Message, Messages};

/// Largest head (or chunk-size line) followed; a larger one stops the tracking.
const MAX_LINE: usize = 64 * 1024;

/// Which side of the connection writes the messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A server writes responses.
    Server,
    /// A client writes requests.
    Client,
}

#[derive(Debug)]
enum State {
    /// Collecting a message head in `buf`.
    Head,
    /// Skipping this many bytes of a `content-length` body.
    Fixed(u64),
    /// Collecting a chunk-size line in `buf`.
    ChunkSize,
    /// Skipping this many bytes: a chunk's data and its CRLF.
    ChunkData(u64),
    /// In the trailer section (after `0\r\n`): collecting one line in `buf`; an empty line
    /// ends the message.
    Trailers,
    /// Not following any more: every byte passes.
    Lost,
}

/// Where to insert bytes into what was written.
#[derive(Debug, PartialEq, Eq)]
pub struct Insert {
    /// Offset in the scanned slice: insert before the byte at this offset.
    pub at: usize,
    /// The bytes (trailer fields, each `name: value\r\n`).
    pub bytes: Vec<u8>,
}

/// The framing of the messages written on one connection.
#[derive(Debug)]
pub struct Framing {
    role: Role,
    state: State,
    buf: Vec<u8>,
    messages: Messages,
    /// The message being written (set when its head is complete).
    current: Option<Message>,
}

impl Framing {
    /// Follows `role`'s messages; `messages` hands over each message's trailers.
    pub fn new(role: Role, messages: Messages) -> Framing {
        Framing { role, state: State::Head, buf: Vec::new(), messages, current: None }
    }

    /// Whether bytes still are followed (false: everything passes untouched).
    pub fn tracking(&self) -> bool {
        !matches!(self.state, State::Lost)
    }

    /// Reads `data` (the next bytes written) and returns the insertions due in it.
    pub fn scan(&mut self, data: &[u8]) -> Vec<Insert> {
        let mut inserts = Vec::new();
        let mut at = 0;
        while at < data.len() {
            let rest = &data[at..];
            at += match self.state {
                State::Lost => rest.len(),
                State::Fixed(left) | State::ChunkData(left) => {
                    let n = usize::try_from(left).unwrap_or(usize::MAX).min(rest.len());
                    let left = left - n as u64;
                    self.state = match self.state {
                        State::Fixed(_) if left == 0 => self.next_message(),
                        State::Fixed(_) => State::Fixed(left),
                        _ if left == 0 => State::ChunkSize,
                        _ => State::ChunkData(left),
                    };
                    n
                }
                State::Head | State::ChunkSize | State::Trailers => {
                    let (n, line_done) = self.collect(rest);
                    if line_done {
                        let last_chunk =
                            matches!(self.state, State::ChunkSize) && chunk_size(&self.buf) == Some(0);
                        self.state = self.line_complete();
                        self.buf.clear();
                        if last_chunk
                            && let Some(bytes) = self.current.as_ref().and_then(Message::take_trailers)
                        {
                            inserts.push(Insert { at: at + n, bytes });
                        }
                    }
                    n
                }
            };
        }
        inserts
    }

    /// Appends to `buf` up to the end of the line (or head); returns the bytes taken and
    /// whether the line is complete.
    fn collect(&mut self, rest: &[u8]) -> (usize, bool) {
        let end: &[u8] = if matches!(self.state, State::Head) { b"\r\n\r\n" } else { b"\r\n" };
        for (i, &b) in rest.iter().enumerate() {
            self.buf.push(b);
            if self.buf.ends_with(end) {
                return (i + 1, true);
            }
            if self.buf.len() > MAX_LINE || !self.plausible_head() {
                self.state = State::Lost;
                return (rest.len(), false);
            }
        }
        (rest.len(), false)
    }

    /// Whether `buf` can still be the start of an HTTP/1 head (HTTP/2 frames on the same
    /// connection are given up on at their first bytes).
    fn plausible_head(&self) -> bool {
        const STATUS_LINE: &[u8] = b"HTTP/1.";
        match (&self.state, self.role) {
            (State::Head, Role::Server) => {
                let n = self.buf.len().min(STATUS_LINE.len());
                self.buf[..n] == STATUS_LINE[..n]
            }
            (State::Head, Role::Client) => self.buf.first().is_none_or(u8::is_ascii_uppercase),
            _ => true,
        }
    }

    /// The state after a complete head or line in `buf`.
    fn line_complete(&mut self) -> State {
        match self.state {
            State::Head => self.head_complete(),
            State::ChunkSize => match chunk_size(&self.buf) {
                Some(0) => State::Trailers,
                Some(n) => State::ChunkData(n.saturating_add(2)),
                None => State::Lost,
            },
            State::Trailers if self.buf == b"\r\n" => self.next_message(),
            State::Trailers => State::Trailers,
            _ => State::Lost,
        }
    }

    fn head_complete(&mut self) -> State {
        let Some(head) = Head::parse(&self.buf, self.role) else { return State::Lost };
        if let Some(status) = head.status {
            if status == 101 {
                return State::Lost;
            }
            if (100..200).contains(&status) {
                return State::Head;
            }
        }
        self.current = self.messages.pop();
        let bodiless = self.current.as_ref().is_some_and(Message::bodiless)
            || head.status.is_some_and(|s| s == 204 || s == 304);
        match head.framing {
            _ if bodiless => self.next_message(),
            BodyLength::Chunked => State::ChunkSize,
            BodyLength::Length(0) => self.next_message(),
            BodyLength::Length(n) => State::Fixed(n),
            BodyLength::None if self.role == Role::Client => self.next_message(),
            BodyLength::None => State::Lost,
            BodyLength::Invalid => State::Lost,
        }
    }

    fn next_message(&mut self) -> State {
        self.current = None;
        State::Head
    }
}

/// How a head says its body ends.
#[derive(Debug, PartialEq, Eq)]
enum BodyLength {
    Chunked,
    Length(u64),
    None,
    Invalid,
}

/// What the framing needs from a head.
struct Head {
    status: Option<u16>,
    framing: BodyLength,
}

impl Head {
    fn parse(bytes: &[u8], role: Role) -> Option<Head> {
        let text = std::str::from_utf8(bytes).ok()?;
        let mut lines = text.split("\r\n");
        let start = lines.next()?;
        let status = match role {
            Role::Server => {
                let rest = start.strip_prefix("HTTP/1.")?;
                Some(rest.get(2..5)?.parse().ok()?)
            }
            Role::Client if start.ends_with(" HTTP/1.1") || start.ends_with(" HTTP/1.0") => None,
            Role::Client => return None,
        };
        let mut framing = BodyLength::None;
        for line in lines.filter(|l| !l.is_empty()) {
            let (name, value) = line.split_once(':')?;
            let value = value.trim();
            if name.eq_ignore_ascii_case("transfer-encoding") {
                let last = value.rsplit(',').next().unwrap_or("").trim();
                framing = if last.eq_ignore_ascii_case("chunked") {
                    BodyLength::Chunked
                } else {
                    BodyLength::Invalid
                };
            } else if name.eq_ignore_ascii_case("content-length") && framing == BodyLength::None {
                framing = value.parse().map(BodyLength::Length).unwrap_or(BodyLength::Invalid);
            }
        }
        Some(Head { status, framing })
    }
}

/// The size of a chunk-size line (`1a;ext\r\n`).
fn chunk_size(line: &[u8]) -> Option<u64> {
    let line = line.strip_suffix(b"\r\n")?;
    let hex = line.split(|&b| b == b';').next()?;
    let hex = std::str::from_utf8(hex).ok()?.trim();
    if hex.is_empty() || hex.len() > 16 {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}
