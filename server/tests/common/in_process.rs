//! The router in this test's process, as axum's `examples/testing` does:
//! [`InProcess::call`] sends one request through it with
//! `tower::ServiceExt::oneshot` (no socket), and the same router also
//! listens on a loopback port for tests that talk HTTP with a client
//! (cookies, streamed downloads, disconnects). No process is spawned: for
//! API behaviour only; the crash, CLI, browser and process tests spawn the
//! binary ([`super::Server`]). Tests using it run on a multi-threaded
//! runtime, as the server does (on one thread the server, its writers and
//! the test's client take turns: the download test took 62 s instead of 45).

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Request, header};
use clap::Parser;
use serde_json::Value;
use tower::ServiceExt;

use super::{ADMIN_PASSWORD, TOKEN, client};

pub struct InProcess {
    pub base: String,
    pub http: reqwest::Client,
    router: axum::Router,
    state: app::ssr::state::AppState,
    task: tokio::task::JoinHandle<()>,
}

impl InProcess {
    /// The router on `db` (`mem://`), `http` signed in as the first admin.
    pub async fn start(db: &str) -> InProcess {
        InProcess::start_with_env(db, &[]).await
    }

    /// The same with settings as the process would read them from its
    /// environment (`Server::start_with_env`): secrets (`…_SECRET`,
    /// `…_TOKEN`) as such, the others as the flag of the same name
    /// (`LEADS_PUBLIC_NAMES` → `--public-names`), never through this
    /// process's own environment, which every test shares.
    pub async fn start_with_env(db: &str, env: &[(&str, &str)]) -> InProcess {
        InProcess::start_on(db, None, env).await
    }

    /// The same on `shared`, a database handle another `InProcess` may use
    /// too (two instances on one database); `db` names it in the settings.
    pub async fn start_on(
        db: &str,
        shared: Option<app::ssr::store::db::Db>,
        env: &[(&str, &str)],
    ) -> InProcess {
        let mut argv: Vec<String> = [
            "leads-dashboard",
            "serve",
            "--db",
            db,
            "--addr",
            "127.0.0.1:0",
        ]
        .map(str::to_owned)
        .to_vec();
        let mut secrets: Vec<(String, String)> = vec![("LEADS_API_TOKEN".into(), TOKEN.into())];
        for (k, v) in env {
            if k.ends_with("_SECRET") || k.ends_with("_TOKEN") {
                secrets.push((k.to_string(), v.to_string()));
            } else {
                let flag = k
                    .trim_start_matches("LEADS_")
                    .to_lowercase()
                    .replace('_', "-");
                argv.push(format!("--{flag}"));
                argv.push(v.to_string());
            }
        }
        let cli = server::cli::Cli::try_parse_from(argv).expect("arguments");
        let settings = cli
            .settings
            .resolve_with(|name| {
                // The last of a name wins (a test's own token).
                secrets
                    .iter()
                    .rfind(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            })
            .expect("settings");
        let state = match shared {
            Some(handle) => {
                server::in_process_state_on(handle, &cli, settings, Some(ADMIN_PASSWORD)).await
            }
            None => server::in_process_state(&cli, settings, Some(ADMIN_PASSWORD)).await,
        }
        .expect("state");
        let router = server::http::router(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("address");
        let service = router
            .clone()
            .into_make_service_with_connect_info::<SocketAddr>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, service).await;
        });
        let s = InProcess {
            base: format!("http://{addr}"),
            http: client(),
            // Requests sent with `call` come from loopback, as a socket's would.
            router: router.layer(MockConnectInfo(SocketAddr::from(([127, 0, 0, 1], 1)))),
            state,
            task,
        };
        super::sign_in(&s.http, &s.url("/signin"), "admin", ADMIN_PASSWORD).await;
        s
    }

    /// Signs `client` (one with a cookie store) in through the form.
    pub async fn sign_in(&self, client: &reqwest::Client, name: &str, password: &str) {
        super::sign_in(client, &self.url("/signin"), name, password).await
    }

    /// Another router on this instance's state, built as a second instance
    /// in this process would build its own.
    pub fn another_router(&self) -> axum::Router {
        server::http::router(self.state.clone())
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// One request through the router, without a socket: the status, the
    /// headers and the body's text.
    pub async fn call(&self, req: Request<Body>) -> (u16, axum::http::HeaderMap, String) {
        let res = self.router.clone().oneshot(req).await.expect("infallible");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let body = axum::body::to_bytes(res.into_body(), 64 << 20)
            .await
            .expect("body");
        (status, headers, String::from_utf8_lossy(&body).into_owned())
    }

    /// A request with the API token: `GET path` or, with a body, `POST`.
    pub fn api(&self, path: &str, body: Option<&Value>) -> Request<Body> {
        request(path, Some(TOKEN), body)
    }

    pub async fn post_events(&self, body: &Value) -> (u16, Value) {
        let (status, _, text) = self.call(self.api("/api/v1/events", Some(body))).await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn get(&self, path_and_query: &str) -> (u16, Value) {
        let (status, _, text) = self.call(self.api(path_and_query, None)).await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `GET path` or, with a body, a JSON `POST`, to this host, with `token` as
/// the bearer token if any.
pub fn request(path: &str, token: Option<&str>, body: Option<&Value>) -> Request<Body> {
    let mut b = Request::builder()
        .uri(path)
        .header(header::HOST, "127.0.0.1");
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    match body {
        None => b.method("GET").body(Body::empty()),
        Some(v) => b
            .method("POST")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(v.to_string())),
    }
    .expect("request")
}
