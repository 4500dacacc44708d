//! A loopback HTTP proxy in front of a real Pushgateway that refuses some
//! paths, as a reverse proxy exposing only part of the API does: the real
//! gateway answers everything else. One request per connection (it asks
//! the gateway to close), which is all the janitor's client needs.
//!
//! It can also stall a response mid-body ([`Rules::stall_after`]), as a
//! gateway or a link that hangs while the janitor reads: the janitor's
//! reader is then blocked, which is where a cancelled scan must stop it.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

pub struct Proxy {
    pub url: String,
    stop: Arc<AtomicBool>,
    /// Responses stalled so far ([`Rules::stall_after`]).
    stalled: Arc<AtomicUsize>,
    /// Stalled responses whose client has gone away.
    released: Arc<AtomicUsize>,
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
    /// Let through this many times (counting every such request, refused
    /// ones too); every later one that is forwarded gets the gateway's
    /// response head and the first half of its body, then nothing more
    /// until the client goes away (or the proxy is dropped).
    pub stall_after: Option<(String, usize)>,
    /// The request with this number (0-based, counting every such
    /// request) is answered 403 without reaching the gateway.
    pub refuse_nth: Option<(String, usize)>,
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

    /// Forwards to `upstream`; every `GET /api/v1/metrics` after the first
    /// `full` stalls mid-body ([`Rules::stall_after`]).
    pub fn stalling_scans(upstream: &str, full: usize) -> Proxy {
        Proxy::new(
            upstream,
            Rules {
                stall_after: Some(("/api/v1/metrics".into(), full)),
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
        let served = Arc::new(AtomicUsize::new(0));
        let lived = Arc::new(AtomicUsize::new(0));
        let forwarded = Arc::new(AtomicUsize::new(0));
        let nth = Arc::new(AtomicUsize::new(0));
        let stalled = Arc::new(AtomicUsize::new(0));
        let dead = Arc::new(AtomicBool::new(false));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let stalls = Arc::clone(&stalled);
        let released = Arc::new(AtomicUsize::new(0));
        let releases = Arc::clone(&released);
        let thread = std::thread::spawn(move || {
            // The listener is dropped with this loop: refused from then on.
            while !stopping.load(Ordering::Relaxed) && !dead.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let upstream = upstream.clone();
                        let rules = Arc::clone(&rules);
                        let counts = Counts {
                            served: Arc::clone(&served),
                            lived: Arc::clone(&lived),
                            forwarded: Arc::clone(&forwarded),
                            nth: Arc::clone(&nth),
                            stalled: Arc::clone(&stalls),
                            released: Arc::clone(&releases),
                            stop: Arc::clone(&stopping),
                        };
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
            stalled,
            released,
            thread: Some(thread),
        }
    }

    /// Waits (bounded) until `n` responses are stalled mid-body: the
    /// janitor is then blocked reading one.
    pub fn wait_for_stalls(&self, n: usize) {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while self.stalled.load(Ordering::SeqCst) < n {
            assert!(
                std::time::Instant::now() < deadline,
                "no response stalled ({} of {n})",
                self.stalled.load(Ordering::SeqCst)
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Proxy {
    /// Waits (bounded by `limit`) until the client has closed every stalled
    /// response: nothing of the janitor still reads one. False when one is
    /// still open then.
    pub fn stalls_released_within(&self, limit: Duration) -> bool {
        let deadline = std::time::Instant::now() + limit;
        loop {
            let stalled = self.stalled.load(Ordering::SeqCst);
            if stalled > 0 && self.released.load(Ordering::SeqCst) == stalled {
                return true;
            }
            if std::time::Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// What the connections share.
struct Counts {
    served: Arc<AtomicUsize>,
    lived: Arc<AtomicUsize>,
    forwarded: Arc<AtomicUsize>,
    nth: Arc<AtomicUsize>,
    stalled: Arc<AtomicUsize>,
    released: Arc<AtomicUsize>,
    /// The proxy is being dropped: a stalled response ends.
    stop: Arc<AtomicBool>,
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
    counts: &Counts,
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
    // Counted when it arrives, whatever another rule does with it.
    let nth = |rule: &Option<(String, usize)>, counter: &AtomicUsize| match rule {
        Some((prefix, n)) if path.starts_with(prefix.as_str()) => {
            Some((counter.fetch_add(1, Ordering::SeqCst), *n))
        }
        _ => None,
    };
    let refused_nth = nth(&rules.refuse_nth, &counts.nth).is_some_and(|(i, n)| i == n);
    let stall = nth(&rules.stall_after, &counts.forwarded).is_some_and(|(i, n)| i >= n);
    let over = match &rules.refuse_after {
        Some((prefix, n)) if path.starts_with(prefix.as_str()) => {
            counts.served.fetch_add(1, Ordering::SeqCst) >= *n
        }
        _ => false,
    };
    if let Some((prefix, n)) = &rules.die_after {
        if path.starts_with(prefix.as_str()) && counts.lived.fetch_add(1, Ordering::SeqCst) >= *n {
            dead.store(true, Ordering::SeqCst);
            return Ok(());
        }
    }
    if over || refused_nth || rules.refuse.iter().any(|p| path.starts_with(p.as_str())) {
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
    if stall {
        return stall_mid_body(out, client, counts);
    }
    std::io::copy(&mut out, &mut client)?;
    client.shutdown(Shutdown::Both)
}

/// Sends the head and the first half of the body the gateway answered,
/// then holds the connection open, sending nothing, until the client
/// closes it or the proxy is dropped (a minute at most).
fn stall_mid_body(
    mut upstream: TcpStream,
    mut client: TcpStream,
    counts: &Counts,
) -> std::io::Result<()> {
    let mut response = Vec::new();
    upstream.read_to_end(&mut response)?;
    let body_at = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(response.len(), |i| i + 4);
    let cut = body_at + (response.len() - body_at) / 2;
    client.write_all(&response[..cut])?;
    client.flush()?;
    counts.stalled.fetch_add(1, Ordering::SeqCst);
    client.set_read_timeout(Some(Duration::from_millis(50)))?;
    let until = std::time::Instant::now() + Duration::from_secs(60);
    let mut byte = [0u8; 1];
    while !counts.stop.load(Ordering::Relaxed) && std::time::Instant::now() < until {
        match client.read(&mut byte) {
            // The client went away.
            Ok(0) => {
                counts.released.fetch_add(1, Ordering::SeqCst);
                break;
            }
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => {
                counts.released.fetch_add(1, Ordering::SeqCst);
                break;
            }
        }
    }
    Ok(())
}
