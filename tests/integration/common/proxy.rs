//! A loopback HTTP proxy in front of a real Pushgateway that refuses some
//! paths, as a reverse proxy exposing only part of the API does: the real
//! gateway answers everything else. One request per connection (it asks
//! the gateway to close), which is all the janitor's client needs.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

pub struct Proxy {
    pub url: String,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// What the proxy does besides forwarding; paths match by prefix.
#[derive(Clone, Default)]
pub struct Rules {
    /// Answered 403 without reaching the gateway.
    pub refuse: Vec<String>,
    /// Forwarded after this long (a gateway slow to render).
    pub delay: Option<(String, Duration)>,
    /// Forwarded this many times, then answered 403.
    pub refuse_after: Option<(String, usize)>,
    /// Forwarded this many times; the next such request is dropped
    /// unanswered and the proxy stops listening, so that every later
    /// connection is refused: a gateway killed mid-batch, gone for good.
    pub die_after: Option<(String, usize)>,
}

impl Proxy {
    /// Forwards to `upstream` (`http://127.0.0.1:PORT`); a request whose
    /// path starts with any of `refused` gets 403 without reaching it.
    pub fn refusing(upstream: &str, refused: &[&str]) -> Proxy {
        Proxy::new(
            upstream,
            Rules {
                refuse: refused.iter().map(|s| s.to_string()).collect(),
                ..Rules::default()
            },
        )
    }

    pub fn new(upstream: &str, rules: Rules) -> Proxy {
        let upstream = upstream
            .strip_prefix("http://")
            .expect("an http:// upstream")
            .trim_end_matches('/')
            .to_owned();
        let rules = Arc::new(rules);
        let served = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let lived = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let dead = Arc::new(AtomicBool::new(false));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            // The listener is dropped with this loop: refused from then on.
            while !stopping.load(Ordering::Relaxed) && !dead.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let upstream = upstream.clone();
                        let rules = Arc::clone(&rules);
                        let counts = [Arc::clone(&served), Arc::clone(&lived)];
                        let dead = Arc::clone(&dead);
                        std::thread::spawn(move || {
                            let _ = serve(client, &upstream, &rules, &counts, &dead);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Proxy {
            url,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(
    mut client: TcpStream,
    upstream: &str,
    rules: &Rules,
    [served, lived]: &[Arc<std::sync::atomic::AtomicUsize>; 2],
    dead: &AtomicBool,
) -> std::io::Result<()> {
    if dead.load(Ordering::SeqCst) {
        return Ok(());
    }
    client.set_nonblocking(false)?;
    client.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if client.read(&mut byte)? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0; length];
    client.read_exact(&mut body)?;
    let over = match &rules.refuse_after {
        Some((prefix, n)) if path.starts_with(prefix.as_str()) => {
            served.fetch_add(1, Ordering::SeqCst) >= *n
        }
        _ => false,
    };
    if let Some((prefix, n)) = &rules.die_after {
        if path.starts_with(prefix.as_str()) && lived.fetch_add(1, Ordering::SeqCst) >= *n {
            dead.store(true, Ordering::SeqCst);
            return Ok(());
        }
    }
    if over || rules.refuse.iter().any(|p| path.starts_with(p.as_str())) {
        client.write_all(
            b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 10\r\nConnection: close\r\n\r\nforbidden\n",
        )?;
        return client.shutdown(Shutdown::Both);
    }
    if let Some((prefix, delay)) = &rules.delay {
        if path.starts_with(prefix.as_str()) {
            std::thread::sleep(*delay);
        }
    }
    let mut out = TcpStream::connect(upstream)?;
    let mut lines = head.trim_end().split("\r\n");
    let mut forwarded = format!("{}\r\n", lines.next().unwrap_or_default());
    for line in lines.filter(|l| !l.to_ascii_lowercase().starts_with("connection:")) {
        forwarded.push_str(line);
        forwarded.push_str("\r\n");
    }
    forwarded.push_str("Connection: close\r\n\r\n");
    out.write_all(forwarded.as_bytes())?;
    out.write_all(&body)?;
    std::io::copy(&mut out, &mut client)?;
    client.shutdown(Shutdown::Both)
}
