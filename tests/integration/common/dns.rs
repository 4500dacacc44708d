//! A real DNS server on loopback: Debian's dnsmasq (`dnsmasq-base`,
//! installed by scripts/test.sh), authoritative for `.test`, answering from
//! a hosts file the test rewrites (re-read on SIGHUP) and SRV records given
//! at start. Missing is a failure, never a skip.

use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Dnsmasq {
    child: Child,
    /// Where to send queries: `--dns-server` takes it.
    pub addr: SocketAddr,
    hosts: PathBuf,
    _dir: tempfile::TempDir,
}

fn dnsmasq_bin() -> PathBuf {
    for dir in ["/usr/sbin", "/sbin", "/usr/bin", "/usr/local/sbin"] {
        let p = PathBuf::from(dir).join("dnsmasq");
        if p.is_file() {
            return p;
        }
    }
    panic!("no dnsmasq: install Debian's dnsmasq-base (scripts/test.sh does)");
}

/// A port free for both UDP and TCP on 127.0.0.1.
fn free_dns_port() -> u16 {
    loop {
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

fn hosts_text(hosts: &[(&str, &str)]) -> String {
    hosts
        .iter()
        .map(|(ip, name)| format!("{ip} {name}\n"))
        .collect()
}

impl Dnsmasq {
    /// `hosts`: (IP, name) lines; `srv`: (service name, target, port).
    pub fn start(hosts: &[(&str, &str)], srv: &[(&str, &str, u16)]) -> Dnsmasq {
        let bin = dnsmasq_bin();
        let dir = tempfile::tempdir().unwrap();
        // dnsmasq drops to "nobody" when started as root; it re-reads the
        // file on SIGHUP as that user.
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let hosts_file = dir.path().join("hosts");
        std::fs::write(&hosts_file, hosts_text(hosts)).unwrap();
        std::fs::set_permissions(&hosts_file, std::fs::Permissions::from_mode(0o644)).unwrap();
        for _ in 0..5 {
            let port = free_dns_port();
            let mut cmd = Command::new(&bin);
            cmd.args([
                "--keep-in-foreground",
                "--conf-file=/dev/null",
                "--no-resolv",
                "--no-hosts",
                "--bind-interfaces",
                "--listen-address=127.0.0.1",
                "--pid-file",
                "--local=/test/",
            ])
            .arg(format!("--port={port}"))
            .arg(format!("--addn-hosts={}", hosts_file.display()));
            for (name, target, target_port) in srv {
                cmd.arg(format!("--srv-host={name},{target},{target_port}"));
            }
            let mut child = cmd
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                // It listens on TCP as well as UDP, once it is ready.
                if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                    return Dnsmasq {
                        child,
                        addr,
                        hosts: hosts_file,
                        _dir: dir,
                    };
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("dnsmasq did not start");
    }

    /// Replaces the A/AAAA records and makes dnsmasq re-read them (SIGHUP).
    pub fn set_hosts(&self, hosts: &[(&str, &str)]) {
        std::fs::write(&self.hosts, hosts_text(hosts)).unwrap();
        super::signal(self.child.id(), "HUP");
    }

    /// `--dns-server IP:PORT`.
    pub fn flag(&self) -> String {
        self.addr.to_string()
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
