//! A module server for tests of plugins fetched by URL (`remote`, Envoy's
//! `vm_config.code.remote`): serves bytes by path over HTTP/1.1 on loopback, counts the
//! requests, and can misbehave (404, redirect, never answer, a body that never ends); stopped,
//! it refuses connections.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// What a path answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Serve {
    /// 200 with these bytes.
    Bytes(Vec<u8>),
    /// A redirect to this location.
    Redirect(String),
    /// Reads the request, then says nothing until the client goes away.
    Hang,
    /// 200, chunked, chunks of 64 KiB forever (until the client goes away).
    Endless,
}

/// The server; stops when dropped.
#[derive(Debug)]
pub struct ModuleServer {
    addr: SocketAddr,
    routes: Arc<Mutex<HashMap<String, Serve>>>,
    hits: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ModuleServer {
    /// Listens on an ephemeral loopback port; every path answers 404 until [`serve`](Self::serve).
    pub fn start() -> std::io::Result<ModuleServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let routes: Arc<Mutex<HashMap<String, Serve>>> = Arc::default();
        let hits = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, h, s) = (routes.clone(), hits.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (r, h, s) = (r.clone(), h.clone(), s.clone());
                        std::thread::spawn(move || answer(stream, &r, &h, &s));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Ok(ModuleServer { addr, routes, hits, stop, thread: Some(thread) })
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// What `path` answers from now on.
    pub fn serve(&self, path: &str, what: Serve) {
        self.routes.lock().unwrap_or_else(PoisonError::into_inner).insert(path.to_string(), what);
    }

    /// Requests received so far.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// Stops listening: connections are refused from now on.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for ModuleServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn answer(
    mut stream: TcpStream,
    routes: &Mutex<HashMap<String, Serve>>,
    hits: &AtomicUsize,
    stop: &AtomicBool,
) {
    if stream.set_nonblocking(false).is_err() {
        return;
    }
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    hits.fetch_add(1, Ordering::SeqCst);
    let head = String::from_utf8_lossy(&head).into_owned();
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
    let what = routes.lock().unwrap_or_else(PoisonError::into_inner).get(&path).cloned();
    let _ = match what {
        None => stream.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"),
        Some(Serve::Bytes(bytes)) => stream
            .write_all(
                format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", bytes.len())
                    .as_bytes(),
            )
            .and_then(|()| stream.write_all(&bytes)),
        Some(Serve::Redirect(to)) => stream.write_all(
            format!("HTTP/1.1 302 Found\r\nlocation: {to}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .as_bytes(),
        ),
        Some(Serve::Hang) => {
            // Until the client closes (a read returns) or the server stops.
            let _ = stream.set_read_timeout(Some(Duration::from_millis(50)));
            while !stop.load(Ordering::SeqCst) && !matches!(stream.read(&mut byte), Ok(0) | Ok(1)) {}
            Ok(())
        }
        Some(Serve::Endless) => {
            let chunk = vec![0u8; 64 * 1024];
            let mut sent = stream.write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n");
            while sent.is_ok() && !stop.load(Ordering::SeqCst) {
                sent = stream
                    .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                    .and_then(|()| stream.write_all(&chunk))
                    .and_then(|()| stream.write_all(b"\r\n"));
            }
            Ok(())
        }
    };
}
