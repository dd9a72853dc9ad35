//! Starts the real `leads-dashboard` binary for a test and talks HTTP to
//! it ([`Server`]), or runs its router in the test's process ([`InProcess`]).
#![allow(dead_code)]

mod in_process;
#[allow(unused_imports)]
pub use in_process::{InProcess, request};

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const TOKEN: &str = "test-api-token-1";
/// The first admin's password (`LEADS_ADMIN_PASSWORD`); `http` is signed in
/// as `admin` once the server is up.
pub const ADMIN_PASSWORD: &str = "test-admin-password";

pub struct Server {
    child: Child,
    pub base: String,
    pub http: reqwest::Client,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on loopback")
}

impl Server {
    /// Starts the server on `db` and waits until `/healthz` answers.
    pub async fn start(db: &str) -> Server {
        Server::start_with_env(db, &[]).await
    }

    /// The same, with extra environment variables (webhook secrets).
    pub async fn start_with_env(db: &str, env: &[(&str, &str)]) -> Server {
        Server::start_as(db, env, true).await
    }

    /// `signed_in`: whether `http` signs in as the first admin.
    pub async fn start_as(db: &str, env: &[(&str, &str)], signed_in: bool) -> Server {
        let port = free_port();
        // LEADS_TEST_BIN: another build of the binary (the load test on release).
        let bin = std::env::var("LEADS_TEST_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_leads-dashboard").to_owned());
        let mut cmd = Command::new(bin);
        cmd.args(["serve", "--db", db, "--addr", &format!("127.0.0.1:{port}")])
            .env("LEADS_API_TOKEN", TOKEN)
            .env("LEADS_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null());
        for (k, v) in env {
            // Not a setting: where the server's log goes (the log test).
            if *k == "TEST_STDERR_FILE" {
                cmd.stderr(std::fs::File::create(v).expect("log file"));
            } else {
                cmd.env(k, v);
            }
        }
        let child = cmd.spawn().expect("the server binary starts");
        let server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            http: client(),
        };
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(r) = server.http.get(server.url("/healthz")).send().await {
                if r.status() == 200 {
                    if signed_in {
                        server.sign_in(&server.http, "admin", ADMIN_PASSWORD).await;
                    }
                    return server;
                }
            }
            assert!(Instant::now() < deadline, "server did not become healthy");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Signs `client` (one with a cookie store) in through the form.
    pub async fn sign_in(&self, client: &reqwest::Client, name: &str, password: &str) {
        sign_in(client, &self.url("/signin"), name, password).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post_events(&self, body: &Value) -> (u16, Value) {
        let r = post_json(&self.http, &self.url("/api/v1/events"), body).await;
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path_and_query: &str) -> (u16, Value) {
        let r = self
            .http
            .get(self.url(path_and_query))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Sends a POST of `body` on a raw connection and closes it before any
    /// answer: a client that goes away in the middle of its request.
    pub async fn post_and_disconnect(&self, body: &str, send_bytes: usize) {
        use tokio::io::AsyncWriteExt;
        let addr = self.base.trim_start_matches("http://");
        let mut conn = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let head = format!(
            "POST /api/v1/events HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        conn.write_all(head.as_bytes()).await.expect("head");
        conn.write_all(&body.as_bytes()[..send_bytes.min(body.len())])
            .await
            .expect("body");
        conn.flush().await.expect("flush");
        drop(conn);
    }

    /// SIGKILL: no chance to flush or shut down.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Signs `client` (one with a cookie store) in through the form at `url`.
pub async fn sign_in(client: &reqwest::Client, url: &str, name: &str, password: &str) {
    let r = client
        .post(url)
        .form(&[("name", name), ("password", password), ("next", "/")])
        .send()
        .await
        .expect("sign-in request");
    assert_eq!(r.status(), 200, "signed in as {name} (after the redirect)");
    assert!(r.url().path() == "/", "sign-in went back to the page");
    // Read the page to its end (a dropped stream only adds log noise).
    let _ = r.bytes().await;
}

/// A client that keeps cookies (a browser's session), signed in nowhere yet.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .cookie_store(true)
        .build()
        .expect("client")
}

/// Percent-encodes a query value (the app's own encoder).
#[allow(unused_imports)]
pub use app::url::encode as enc;

/// `leads-dashboard verify` on a database no server holds: recomputes every
/// lead from the stored events and compares with the index built at start.
pub fn verify(db: &str) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_leads-dashboard"))
        .args(["verify", "--db", db])
        .env("RUST_LOG", "warn")
        .output()
        .expect("verify runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(text.trim()).unwrap_or(Value::Null);
    assert!(
        out.status.success(),
        "verify found differences: {text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    v
}

/// A fresh folder for an on-disk database.
pub fn temp_db(name: &str) -> (std::path::PathBuf, String) {
    let dir = std::env::temp_dir().join(format!(
        "leads-{name}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    let url = format!("rocksdb://{}", dir.display());
    (dir, url)
}

/// Removes test folders, again while something writes one back (an
/// embedded RocksDB still closing).
pub fn remove_dirs(dirs: &[std::path::PathBuf]) {
    for _ in 0..50 {
        for d in dirs {
            let _ = std::fs::remove_dir_all(d);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        if dirs.iter().all(|d| !d.exists()) {
            return;
        }
    }
}

/// A small deterministic generator (xorshift): the same cases every run.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Runs the binary with `args` and `--db db`, `stdin` written to it;
/// answers (success, stdout, stderr).
/// A POST of `body` to a Meta webhook at `url`, signed with `secret` as
/// Meta signs (`X-Hub-Signature-256`).
#[allow(dead_code)]
pub fn meta_signed(
    http: &reqwest::Client,
    url: &str,
    secret: &str,
    body: String,
) -> reqwest::RequestBuilder {
    http.post(url)
        .header(
            "x-hub-signature-256",
            app::ssr::intake::signature::sign(secret, body.as_bytes()),
        )
        .header("content-type", "application/json")
        .body(body)
}

pub fn run_cli(args: &[&str], db: &str, stdin: Option<&str>) -> (bool, String, String) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_leads-dashboard"))
        .args(args)
        .args(["--db", db])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run");
    if let Some(text) = stdin {
        let mut input = child.stdin.take().expect("stdin");
        input.write_all(text.as_bytes()).expect("write");
    }
    let out = child.wait_with_output().expect("wait");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// An inbound WhatsApp message of `phone` at `at` (RFC 3339), named `Lead {id}`.
pub fn inbound(id: &str, phone: &str, at: &str) -> Value {
    serde_json::json!({"id": id, "occurred_at": at, "channel": "whatsapp", "direction": "inbound",
           "contact": {"phone": phone, "name": format!("Lead {id}")}})
}

/// A JSON `POST` of `body` to `url` with the API token (from any task).
pub async fn post_json(
    http: &reqwest::Client,
    url: &str,
    body: &impl serde::Serialize,
) -> reqwest::Response {
    http.post(url)
        .bearer_auth(TOKEN)
        .json(body)
        .send()
        .await
        .expect("request")
}
