//! A real Pushgateway behind `--web.config.file` (the exporter-toolkit web
//! config): TLS with certificates generated here by `rcgen`, optionally
//! requiring client certificates, and basic auth users with bcrypt hashes
//! generated here. Nothing is fixed on disk; every file is in a temp dir.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

use super::{Launch, Pushgateway};

/// A test CA, a server certificate for 127.0.0.1 and localhost, a client
/// certificate, and an unrelated CA (for "trusts the wrong CA").
pub struct Pki {
    pub dir: tempfile::TempDir,
    pub ca: PathBuf,
    pub other_ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

fn leaf(
    issuer: &CertifiedIssuer<'static, KeyPair>,
    names: &[&str],
    usage: ExtendedKeyUsagePurpose,
) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(
        DnType::CommonName,
        names.first().copied().unwrap_or("client"),
    );
    params.extended_key_usages = vec![usage];
    let cert = params.signed_by(&key, issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

pub fn pki() -> Pki {
    pki_for(&["127.0.0.1", "localhost"])
}

/// As [`pki`], with a server certificate for `names` only.
pub fn pki_for(names: &[&str]) -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let ca_ = ca("pushgateway-janitor test CA");
    let other = ca("some other CA");
    let (server_cert, server_key) = leaf(&ca_, names, ExtendedKeyUsagePurpose::ServerAuth);
    let (client_cert, client_key) = leaf(&ca_, &[], ExtendedKeyUsagePurpose::ClientAuth);
    Pki {
        ca: write("ca.pem", &ca_.pem()),
        other_ca: write("other-ca.pem", &other.pem()),
        server_cert: write("server.pem", &server_cert),
        server_key: write("server-key.pem", &server_key),
        client_cert: write("client.pem", &client_cert),
        client_key: write("client-key.pem", &client_key),
        dir,
    }
}

/// What the gateway demands.
#[derive(Default)]
pub struct Security<'a> {
    pub tls: Option<&'a Pki>,
    /// Require and verify a client certificate signed by the test CA.
    pub mtls: bool,
    /// Speak TLS 1.2 at most: the server then checks the client
    /// certificate inside the handshake, before any request is sent.
    pub tls12_only: bool,
    /// (user, password) pairs; the file holds bcrypt hashes of them.
    pub users: &'a [(&'a str, &'a str)],
}

impl Security<'_> {
    /// The exporter-toolkit web config YAML.
    fn web_config(&self) -> String {
        let mut yaml = String::new();
        if let Some(pki) = self.tls {
            yaml.push_str("tls_server_config:\n");
            yaml.push_str(&format!("  cert_file: {}\n", pki.server_cert.display()));
            yaml.push_str(&format!("  key_file: {}\n", pki.server_key.display()));
            if self.tls12_only {
                yaml.push_str("  max_version: TLS12\n");
            }
            if self.mtls {
                yaml.push_str("  client_auth_type: RequireAndVerifyClientCert\n");
                yaml.push_str(&format!("  client_ca_file: {}\n", pki.ca.display()));
            }
        }
        if !self.users.is_empty() {
            yaml.push_str("basic_auth_users:\n");
            for (user, password) in self.users {
                // Cost 4 is bcrypt's minimum: the gateway checks it per request.
                let hash = bcrypt::hash(password, 4).unwrap();
                yaml.push_str(&format!("  {user}: '{hash}'\n"));
            }
        }
        yaml
    }

    /// A client the harness pushes and reads with: trusts the CA, presents
    /// the client certificate, sends the first user's credentials.
    fn client(&self) -> reqwest::blocking::ClientBuilder {
        let mut b = reqwest::blocking::Client::builder();
        if let Some(pki) = self.tls {
            let ca = std::fs::read(&pki.ca).unwrap();
            b = b.add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap());
            if self.mtls {
                let mut pem = std::fs::read(&pki.client_cert).unwrap();
                pem.extend(std::fs::read(&pki.client_key).unwrap());
                b = b.identity(reqwest::Identity::from_pem(&pem).unwrap());
            }
        }
        if let Some((user, password)) = self.users.first() {
            use base64::Engine as _;
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            let mut headers = reqwest::header::HeaderMap::new();
            headers.insert(
                reqwest::header::AUTHORIZATION,
                format!("Basic {token}").parse().unwrap(),
            );
            b = b.default_headers(headers);
        }
        b
    }
}

impl Pushgateway {
    /// Starts one behind `--web.config.file` built from `security`. Its
    /// `url` is `https://127.0.0.1:PORT` when TLS is on; the harness client
    /// (`push`, `groups`) is authorized.
    pub fn start_secured(security: &Security<'_>) -> Pushgateway {
        security.launch().start()
    }
}

impl Security<'_> {
    /// The launch of a gateway demanding this, with an authorized harness
    /// client; callers may change the address, port or host name first.
    pub fn launch(&self) -> Launch {
        Launch {
            web_config: Some(self.web_config()),
            scheme: if self.tls.is_some() { "https" } else { "http" },
            client: self.client(),
            ..Launch::default()
        }
    }
}

/// Writes `text` to a new file in `dir`.
pub fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// A self-signed CA certificate for `names` and its key, written to `dir`,
/// as `openssl req -x509` makes one: TLS servers accept it, WebPKI clients
/// refuse it as a server's own certificate (`CaUsedAsEndEntity`) even when
/// it is trusted.
pub fn self_signed(dir: &Path, names: &[&str]) -> (PathBuf, PathBuf) {
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, names.first().copied().unwrap_or("self"));
    let cert = params.self_signed(&key).unwrap();
    (
        write_file(dir, "self-signed.pem", &cert.pem()),
        write_file(dir, "self-signed-key.pem", &key.serialize_pem()),
    )
}
