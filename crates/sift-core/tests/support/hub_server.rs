//! A small HTTP server in the Hugging Face Hub's layout for download tests: serves files under
//! `/{repo}/resolve/{revision}/{path}`, honours `Range: bytes=N-`, can redirect to a "CDN" path, cut the
//! connection after N bytes on a file's first request, send slowly, or ignore ranges; records every request.
//! Shared by sift-core's and sift-cli's tests (`#[path]`).
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request the server saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub path: String,
    pub range: Option<String>,
    /// Body bytes sent in answer.
    pub sent: u64,
    pub status: u16,
}

#[derive(Default)]
struct State {
    files: HashMap<String, Vec<u8>>,
    cut_first: HashMap<String, usize>,
    redirect: bool,
    ignore_range: bool,
    slow: Option<(usize, Duration)>,
    requests: Vec<Request>,
    /// Connections being answered.
    active: usize,
}

pub struct HubServer {
    pub endpoint: String,
    state: Arc<Mutex<State>>,
}

fn resolve_path(repo: &str, revision: &str, path: &str) -> String {
    format!("/{repo}/resolve/{revision}/{path}")
}

impl HubServer {
    /// Listens on 127.0.0.1 on a free port, in a background thread (one thread per connection).
    pub fn start() -> HubServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let state = Arc::clone(&shared);
                state.lock().unwrap().active += 1;
                std::thread::spawn(move || {
                    handle(stream, &state);
                    state.lock().unwrap().active -= 1;
                });
            }
        });
        HubServer { endpoint, state }
    }

    pub fn add(&self, repo: &str, revision: &str, path: &str, bytes: Vec<u8>) {
        let key = resolve_path(repo, revision, path);
        self.state.lock().unwrap().files.insert(key, bytes);
    }

    /// Serves `bytes` at exactly `path` (any query string ignored), e.g. the API's
    /// `/api/models/{repo}/revision/{rev}`.
    pub fn serve(&self, path: &str, bytes: Vec<u8>) {
        self.state
            .lock()
            .unwrap()
            .files
            .insert(path.to_string(), bytes);
    }

    /// The first request for this file gets only `after` body bytes, then the connection is closed.
    pub fn cut_first_request(&self, repo: &str, revision: &str, path: &str, after: usize) {
        let key = resolve_path(repo, revision, path);
        self.state.lock().unwrap().cut_first.insert(key, after);
    }

    /// `resolve` URLs answer `302` to `/cdn/...`, as the hub does for large files.
    pub fn redirect_to_cdn(&self, on: bool) {
        self.state.lock().unwrap().redirect = on;
    }

    /// Answer every request with the whole file (`200`), whatever its `Range`.
    pub fn ignore_range(&self, on: bool) {
        self.state.lock().unwrap().ignore_range = on;
    }

    /// Send bodies in `chunk`-byte pieces with `pause` between them.
    pub fn slow(&self, chunk: usize, pause: Duration) {
        self.state.lock().unwrap().slow = Some((chunk, pause));
    }

    /// Every request so far, once the connections in flight have been answered (at most 10 s).
    pub fn requests(&self) -> Vec<Request> {
        for _ in 0..1000 {
            if self.state.lock().unwrap().active == 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.state.lock().unwrap().requests.clone()
    }

    /// Requests that served (or tried to serve) this file's bytes: the resolve URL, or its CDN target.
    pub fn requests_for(&self, path: &str) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.ends_with(&format!("/{path}")) && r.status != 302)
            .collect()
    }
}

fn handle(stream: TcpStream, state: &Mutex<State>) {
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut range = None;
    loop {
        let mut h = String::new();
        match reader.read_line(&mut h) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((name, value)) = h.split_once(':') {
            if name.trim().eq_ignore_ascii_case("range") {
                range = Some(value.trim().to_string());
            }
        }
    }
    let mut out = stream;
    let (redirect, ignore_range, slow, file, cut) = {
        let mut st = state.lock().unwrap();
        let bare = path.split('?').next().unwrap_or(&path);
        let key = bare.strip_prefix("/cdn").unwrap_or(bare).to_string();
        let redirect = st.redirect && path.contains("/resolve/") && !path.starts_with("/cdn/");
        let cut = if redirect {
            None
        } else {
            st.cut_first.remove(&key)
        };
        (
            redirect,
            st.ignore_range,
            st.slow,
            st.files.get(&key).cloned(),
            cut,
        )
    };
    let record = |status: u16, sent: u64| {
        state.lock().unwrap().requests.push(Request {
            path: path.clone(),
            range: range.clone(),
            sent,
            status,
        });
    };
    if redirect {
        let _ = write!(
            out,
            "HTTP/1.1 302 Found\r\nLocation: /cdn{path}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        record(302, 0);
        return;
    }
    let Some(file) = file else {
        let _ = write!(
            out,
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        record(404, 0);
        return;
    };
    let len = file.len();
    let start = match range.as_deref().filter(|_| !ignore_range) {
        Some(r) => r
            .strip_prefix("bytes=")
            .and_then(|r| r.strip_suffix('-'))
            .and_then(|n| n.parse::<usize>().ok()),
        None => None,
    };
    let (status, body) = match start {
        Some(s) if s >= len => {
            let _ = write!(
                out,
                "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{len}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            record(416, 0);
            return;
        }
        Some(s) => {
            let _ = write!(
                out,
                "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {s}-{}/{len}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                len - 1,
                len - s
            );
            (206, &file[s..])
        }
        None => {
            let _ = write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
            );
            (200, &file[..])
        }
    };
    let body = &body[..cut.unwrap_or(body.len()).min(body.len())];
    let mut sent = 0u64;
    let chunk = slow.map(|(c, _)| c).unwrap_or(64 * 1024).max(1);
    for piece in body.chunks(chunk) {
        if out.write_all(piece).is_err() {
            break;
        }
        sent += piece.len() as u64;
        if let Some((_, pause)) = slow {
            std::thread::sleep(pause);
        }
    }
    let _ = out.flush();
    let _ = out.shutdown(Shutdown::Both);
    record(status, sent);
}
