//! Sign-in, roles, API tokens and the request checks around them, on the
//! server's router in this process (`mem://`); the log test spawns the binary.

mod common;

use common::{ADMIN_PASSWORD, InProcess, Server, TOKEN, client};

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// A GET with the path exactly as given; the whole answer as text.
async fn raw_get(s: &InProcess, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = s.base.trim_start_matches("http://");
    let mut conn = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    conn.write_all(req.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    conn.read_to_end(&mut out).await.expect("read");
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_server_functions_and_live_updates_need_a_sign_in() {
    let s = InProcess::start("mem://").await;
    let anon = no_redirects();
    let r = anon
        .get(s.url("/?range=30d&q=budi"))
        .send()
        .await
        .expect("page");
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        "/signin?next=%2F%3Frange%3D30d%26q%3Dbudi"
    );
    let r = anon
        .get(s.url("/export/leads.csv"))
        .send()
        .await
        .expect("csv");
    assert_eq!(r.status(), 303);
    let r = anon.get(s.url("/srv/live")).send().await.expect("live");
    assert_eq!(r.status(), 401);
    let r = anon
        .post(s.url("/srv/leads"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .expect("server fn");
    assert_eq!(r.status(), 401);
    // Dot segments under an open prefix do not reach the page (a review
    // found `/pkg/%2e%2e/` rendered it, leads and all, without a session).
    // (Sent raw: an HTTP client would normalise the path itself.)
    for path in [
        "/pkg/%2e%2e/",
        "/webhooks/%2E%2e/?lead=x",
        "/api/x/../",
        "/lang/x/%2e%2e/",
    ] {
        let answer = raw_get(&s, path).await;
        assert!(answer.starts_with("HTTP/1.1 400"), "{path}: {answer:.200}");
        assert!(!answer.contains("leads-table"), "{path}");
    }
    // A made-up session is no session.
    let r = anon
        .get(s.url("/"))
        .header("cookie", "leads_session=made-up")
        .send()
        .await
        .expect("page");
    assert_eq!(r.status(), 303);
    // Open: health, the sign-in page, the site's files.
    for path in ["/healthz", "/signin"] {
        let r = anon.get(s.url(path)).send().await.expect("open");
        assert_eq!(r.status(), 200, "{path}");
    }
    // The site's files (none in this test's folder: 404, not sign-in).
    let r = anon
        .get(s.url("/pkg/leads-dashboard.css"))
        .send()
        .await
        .expect("pkg");
    assert_eq!(r.status(), 404);

    // Signed in (the harness's client), the same requests work.
    let r = s.http.get(s.url("/")).send().await.expect("page");
    assert_eq!(r.status(), 200);
    // The content security policy names the nonce of the page's scripts.
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_owned();
    let html = r.text().await.expect("html");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|n| n.split('\'').next())
        .expect("a nonce in the policy");
    assert!(
        html.contains(&format!("nonce=\"{nonce}\"")),
        "scripts carry it"
    );
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("'wasm-unsafe-eval'"));
    assert!(html.contains("data-testid=\"user\""));
    let r = s.http.get(s.url("/srv/live")).send().await.expect("live");
    assert_eq!(r.status(), 200);
    let r = s
        .http
        .get(s.url("/export/leads.csv"))
        .send()
        .await
        .expect("csv");
    assert_eq!(r.status(), 200);

    // Signing out ends the session.
    let r = s.http.post(s.url("/signout")).send().await.expect("out");
    assert_eq!(r.url().path(), "/signin");
    let r = no_redirects().get(s.url("/")).send().await.expect("page");
    assert_eq!(r.status(), 303);
    let r = s.http.get(s.url("/srv/live")).send().await.expect("live");
    assert_eq!(r.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_names_and_passwords_answer_alike_and_sign_in_goes_back() {
    let s = InProcess::start("mem://").await;
    let c = client();
    let mut bodies = Vec::new();
    for (name, pw) in [
        ("admin", "not the password"),
        ("nobody", "not the password"),
    ] {
        let r = c
            .post(s.url("/signin"))
            .form(&[("name", name), ("password", pw), ("next", "/")])
            .header("accept-language", "en")
            .send()
            .await
            .expect("sign-in");
        assert_eq!(r.status(), 401);
        assert!(r.headers().get("set-cookie").is_none());
        let text = r.text().await.expect("page");
        assert!(text.contains("Wrong name or password."));
        bodies.push(text.replace(name, "NAME"));
    }
    assert_eq!(bodies[0], bodies[1], "nothing tells the two apart");
    // An address of another site is never where sign-in leads.
    let r = no_redirects()
        .post(s.url("/signin"))
        .form(&[
            ("name", "admin"),
            ("password", ADMIN_PASSWORD),
            ("next", "//evil.example/x"),
        ])
        .send()
        .await
        .expect("sign-in");
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/");
    // A tab (dropped by browsers: `//evil.example`) is no way out either.
    let r = no_redirects()
        .post(s.url("/signin"))
        .form(&[
            ("name", "admin"),
            ("password", ADMIN_PASSWORD),
            ("next", "/\t/evil.example"),
        ])
        .send()
        .await
        .expect("sign-in");
    assert_eq!(r.headers()["location"], "/");
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_owned();
    assert!(cookie.starts_with("leads_session="));
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    assert!(!cookie.contains("Secure"), "plain HTTP on loopback");
    // A sign-in through a proxy that says the browser used HTTPS.
    let over_https = |s: &InProcess| {
        no_redirects()
            .post(s.url("/signin"))
            .form(&[
                ("name", "admin"),
                ("password", ADMIN_PASSWORD),
                ("next", "/?range=30d"),
            ])
            .header("x-forwarded-proto", "https")
            .send()
    };
    let r = over_https(&s).await.expect("sign-in");
    assert_eq!(r.headers()["location"], "/?range=30d");
    // Said by a client that is no trusted proxy: not believed.
    let plain = r.headers()["set-cookie"].to_str().expect("c").to_owned();
    assert!(!plain.contains("Secure"), "{plain}");
    // Said by the proxy in front (LEADS_TRUSTED_PROXIES): a Secure cookie.
    let s = InProcess::start_with_env("mem://", &[("LEADS_TRUSTED_PROXIES", "127.0.0.1")]).await;
    let r = over_https(&s).await.expect("sign-in");
    let secure = r.headers()["set-cookie"].to_str().expect("c").to_owned();
    assert!(secure.contains("Secure"), "{secure}");
    // Over HTTPS the __Host- name: only this host, over HTTPS, whole site.
    assert!(secure.starts_with("__Host-leads_session=") && secure.contains("Path=/"));
    assert!(!secure.contains("Domain"));
    // And that cookie signs in.
    let value = secure.split(';').next().unwrap_or("").to_owned();
    let r = no_redirects()
        .get(s.url("/"))
        .header("cookie", value)
        .send()
        .await
        .expect("page");
    assert_eq!(r.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_read_leads_but_cannot_reach_admin_pages() {
    let s = InProcess::start("mem://").await;
    // The admin adds a viewer on the settings page.
    let r = s
        .http
        .get(s.url("/settings"))
        .send()
        .await
        .expect("settings");
    assert_eq!(r.status(), 200);
    let r = s
        .http
        .post(s.url("/settings/users"))
        .form(&[
            ("name", "Ani"),
            ("password", "ani-password"),
            ("role", "viewer"),
        ])
        .send()
        .await
        .expect("add");
    assert_eq!(r.status(), 200);
    let text = r.text().await.expect("page");
    assert!(text.contains("<td>ani</td>"), "listed");

    let viewer = client();
    s.sign_in(&viewer, "ani", "ani-password").await;
    let page = viewer.get(s.url("/")).send().await.expect("page");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(
        !html.contains("href=\"/settings\""),
        "no settings link for viewers"
    );
    let csv = viewer
        .get(s.url("/export/leads.csv"))
        .send()
        .await
        .expect("csv");
    assert_eq!(csv.status(), 200);
    for (path, form) in [
        ("/settings/tokens", vec![("name", "sneaky")]),
        (
            "/settings/users",
            vec![
                ("name", "eve"),
                ("password", "eve-password"),
                ("role", "admin"),
            ],
        ),
        ("/settings/users/remove", vec![("name", "admin")]),
        ("/settings/tokens/revoke", vec![("name", "x")]),
        ("/settings/capi/test", vec![]),
    ] {
        let r = viewer
            .post(s.url(path))
            .form(&form)
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), 403, "{path}");
    }
    let r = viewer
        .get(s.url("/settings"))
        .send()
        .await
        .expect("settings");
    assert_eq!(r.status(), 403);
    // Nothing was made.
    let text = s
        .http
        .get(s.url("/settings"))
        .send()
        .await
        .expect("settings")
        .text()
        .await
        .expect("page");
    // As table cells: the page's own texts say "event".
    assert!(!text.contains("<td>sneaky</td>") && !text.contains("<td>eve</td>"));

    // Removing the viewer ends their session at once.
    let r = s
        .http
        .post(s.url("/settings/users/remove"))
        .form(&[("name", "ani")])
        .send()
        .await
        .expect("remove");
    assert_eq!(r.status(), 200);
    let r = viewer.get(s.url("/srv/live")).send().await.expect("live");
    assert_eq!(r.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_tokens_are_shown_once_used_and_revoked() {
    let s = InProcess::start("mem://").await;
    let r = s
        .http
        .post(s.url("/settings/tokens"))
        .form(&[("name", "Zapier")])
        .send()
        .await
        .expect("create");
    let page = r.text().await.expect("page");
    let token = page
        .split("data-testid=\"new-token\">")
        .nth(1)
        .and_then(|t| t.split('<').next())
        .expect("the token, shown once")
        .to_owned();
    assert!(token.starts_with("ld_"));
    let api = reqwest::Client::new();
    // The scheme's name in any case.
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let r = api
            .get(s.url("/api/v1/leads"))
            .header("authorization", format!("{scheme} {token}"))
            .send()
            .await
            .expect("api");
        assert_eq!(r.status(), 200, "{scheme}");
    }
    // LEADS_API_TOKEN keeps working beside it.
    let r = api
        .get(s.url("/api/v1/leads"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("api");
    assert_eq!(r.status(), 200);
    let page = s
        .http
        .get(s.url("/settings"))
        .send()
        .await
        .expect("settings")
        .text()
        .await
        .expect("page");
    assert!(page.contains("<td>zapier</td>"));
    assert!(!page.contains(&token), "never shown again");
    assert!(!page.contains(">never<"), "its last use is listed");
    let r = s
        .http
        .post(s.url("/settings/tokens/revoke"))
        .form(&[("name", "zapier")])
        .send()
        .await
        .expect("revoke");
    assert_eq!(r.status(), 200);
    let r = api
        .get(s.url("/api/v1/leads"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("api");
    assert_eq!(r.status(), 401);
    let v: serde_json::Value = r.json().await.expect("json");
    assert_eq!(v["error"]["code"], "unauthorized");
}

/// With a short LEADS_API_TOKEN, wrong tokens from one address are slowed
/// as wrong passwords are: 20 free, then each further 401 comes late; the
/// right token is never refused (`api.md`: a wrong token answers 401). With
/// a long one nothing is slowed (no lock-out of every client behind one
/// proxy).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_api_tokens_are_slowed_when_the_token_is_short() {
    let strong = InProcess::start("mem://").await;
    for _ in 0..25 {
        let r = client()
            .get(strong.url("/api/v1/leads"))
            .bearer_auth("guess-0000")
            .send()
            .await
            .expect("api");
        assert_eq!(r.status(), 401);
    }
    let r = client()
        .get(strong.url("/api/v1/leads"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("api");
    assert_eq!(r.status(), 200);

    const SHORT: &str = "s3cret";
    let s = InProcess::start_with_env("mem://", &[("LEADS_API_TOKEN", SHORT)]).await;
    let api = client();
    let get = |token: &'static str| api.get(s.url("/api/v1/leads")).bearer_auth(token).send();
    let r = get(SHORT).await.expect("api");
    assert_eq!(r.status(), 200, "the short token is taken");
    for i in 0..20 {
        let r = get("guess-0000").await.expect("api");
        assert_eq!(r.status(), 401, "guess {i}");
    }
    let started = std::time::Instant::now();
    let r = get("guess-0021").await.expect("api");
    assert_eq!(r.status(), 401);
    let r = get("guess-0022").await.expect("api");
    assert_eq!(r.status(), 401);
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(900),
        "the guesses after the free ones are answered late: {:?}",
        started.elapsed()
    );
    let started = std::time::Instant::now();
    let r = get(SHORT).await.expect("api");
    assert_eq!(r.status(), 200, "the right token is never refused");
    assert!(started.elapsed() < std::time::Duration::from_millis(900));
    // No token at all is no guess: it still answers 401.
    let r = api.get(s.url("/api/v1/leads")).send().await.expect("api");
    assert_eq!(r.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_host_names_and_cross_site_sign_ins_are_refused() {
    let s =
        InProcess::start_with_env("mem://", &[("LEADS_PUBLIC_NAMES", "leads.example.com")]).await;
    let anon = no_redirects();
    // What a browser uses answers only under the server's own names.
    for path in ["/", "/signin", "/ads"] {
        let r = anon
            .get(s.url(path))
            .header("host", "rebind.attacker.example")
            .send()
            .await
            .expect("rebinding");
        assert_eq!(r.status(), 403, "{path}");
        let v: serde_json::Value = r.json().await.expect("json");
        assert_eq!(v["error"]["code"], "unknown_host");
    }
    // Programs' routes prove themselves (a token, a signature) and are
    // reached under names nobody listed (Meta, a container network).
    let r = anon
        .get(s.url("/api/v1/leads"))
        .bearer_auth(TOKEN)
        .header("host", "leads-app:3000")
        .send()
        .await
        .expect("api");
    assert_eq!(r.status(), 200);
    let r = anon
        .get(s.url("/api/v1/leads"))
        .header("host", "rebind.attacker.example")
        .send()
        .await
        .expect("api");
    assert_eq!(r.status(), 401);
    for host in ["leads.example.com", "localhost:1234", "127.0.0.1"] {
        let r = anon
            .get(s.url("/"))
            .header("host", host)
            .send()
            .await
            .expect("ok");
        // The page answers: a redirect to sign in, not a refusal.
        assert_eq!(r.status(), 303, "{host}");
    }
    // A sign-in form posted from another site, or from another port or
    // subdomain of this one (same-site, not same-origin).
    for site in ["cross-site", "same-site"] {
        let r = anon
            .post(s.url("/signin"))
            .header("sec-fetch-site", site)
            .form(&[("name", "admin"), ("password", ADMIN_PASSWORD)])
            .send()
            .await
            .expect("csrf");
        assert_eq!(r.status(), 403, "{site}");
        assert!(r.headers().get("set-cookie").is_none());
    }
    // An older browser (no Sec-Fetch-Site): a foreign Origin is not made
    // ours by an X-Forwarded-Host the client sends itself (no trusted proxy).
    let r = anon
        .post(s.url("/signin"))
        .header("origin", "https://evil.example")
        .header("x-forwarded-host", "evil.example")
        .form(&[("name", "admin"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .expect("csrf");
    assert_eq!(r.status(), 403);
    // The API takes only a bearer token, which no foreign page can send
    // on its own: a client on another origin gets its answer by the token.
    let ev = serde_json::json!([{"id": "xs-1", "occurred_at": "2026-11-20T10:00:00Z",
        "channel": "whatsapp", "direction": "inbound", "contact": {"phone": "+6281234500077"}}]);
    for (token, status) in [(None, 401), (Some(common::TOKEN), 200)] {
        let mut req = anon
            .post(s.url("/api/v1/events"))
            .header("origin", "http://localhost:5173")
            .header("sec-fetch-site", "cross-site")
            .json(&ev);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.expect("api");
        assert_eq!(r.status(), status);
    }
}

/// Even at debug level the log holds no phone number, e-mail address or
/// user name, whatever passes through: events, searches, webhooks, sign-in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_hold_no_phone_email_or_user_name() {
    let log = std::env::temp_dir().join(format!("leads-log-{}.txt", std::process::id()));
    let log_path = log.display().to_string();
    let s = Server::start_with_env(
        "mem://",
        &[
            ("RUST_LOG", "debug,surrealdb=warn,hyper=warn,h2=warn"),
            ("TEST_STDERR_FILE", &log_path),
            ("LEADS_WHATSAPP_APP_SECRET", "log-secret"),
        ],
    )
    .await;
    let ev = serde_json::json!([{"id": "log-1", "occurred_at": "2026-11-20T10:00:00Z",
        "channel": "whatsapp", "direction": "inbound",
        "contact": {"phone": "0812-9876-5432", "name": "Rahasia Sekali", "email": "rahasia@contoh.id"}}]);
    assert_eq!(s.post_events(&ev).await.0, 200);
    // A bad event naming the same data.
    let mut bad = ev.clone();
    bad[0]["occurred_at"] = serde_json::json!("nope");
    assert_eq!(s.post_events(&bad).await.0, 400);
    s.get("/api/v1/leads?q=0812-9876-5432&from=2026-11-20&to=2026-11-20")
        .await;
    s.get("/api/v1/leads?q=rahasia%40contoh.id&from=2026-11-20&to=2026-11-20")
        .await;
    s.get("/api/v1/leads/%2B6281298765432").await;
    // A webhook with a sender too short to be a phone (skipped and logged).
    let body = serde_json::json!({"object": "whatsapp_business_account", "entry": [{"id": "1",
        "changes": [{"field": "messages", "value": {"messaging_product": "whatsapp",
        "messages": [{"from": "6281", "id": "wamid.L", "timestamp": "1764300000", "type": "text",
                      "text": {"body": "halo"}}]}}]}]})
    .to_string();
    let r = common::meta_signed(
        &reqwest::Client::new(),
        &s.url("/webhooks/whatsapp"),
        "log-secret",
        body,
    )
    .send()
    .await
    .expect("webhook");
    assert_eq!(r.status(), 200);
    // A sign-in with an e-mail address as the name (right and wrong).
    s.http
        .post(s.url("/settings/users"))
        .form(&[
            ("name", "pemilik@contoh.id"),
            ("password", "owner-password"),
            ("role", "viewer"),
        ])
        .send()
        .await
        .expect("add");
    let c = common::client();
    s.sign_in(&c, "pemilik@contoh.id", "owner-password").await;
    c.post(s.url("/signin"))
        .form(&[
            ("name", "pemilik@contoh.id"),
            ("password", "wrong-password"),
        ])
        .send()
        .await
        .expect("wrong");
    drop(s);
    let text = std::fs::read_to_string(&log).expect("log");
    assert!(text.lines().count() > 5, "the log was written: {text}");
    assert!(
        text.contains("/api/v1/leads/{id}"),
        "requests are logged by route"
    );
    // Whole tokens only: a request id or a duration may hold "9876" by chance.
    let token = |s: &str| {
        text.match_indices(s).any(|(i, _)| {
            let before = text[..i].chars().next_back();
            let after = text[i + s.len()..].chars().next();
            !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
        })
    };
    for secret in [
        "9876",
        "6281",
        "81298765432",
        "6281298765432",
        "rahasia",
        "Rahasia",
        "pemilik",
        "contoh.id",
        "owner-password",
    ] {
        assert!(!token(secret), "{secret} is in the log:\n{text}");
    }
    let _ = std::fs::remove_file(log);
}

/// Signs in as `admin` with `password`, as forwarded for `client`: the status.
async fn sign_in_from(c: &reqwest::Client, s: &InProcess, client: &str, password: &str) -> u16 {
    c.post(s.url("/signin"))
        .header("x-forwarded-for", client)
        .form(&[("name", "admin"), ("password", password), ("next", "/")])
        .send()
        .await
        .expect("sign-in")
        .status()
        .as_u16()
}

/// Wrong passwords as `client` until 7 have counted (the waits after the
/// 5th and 6th are sat out): the next try must then wait 4 s, ample for
/// the checks that follow.
async fn fail_seven_times(c: &reqwest::Client, s: &InProcess, client: impl Fn(usize) -> String) {
    let mut counted = 0;
    for i in 0..200 {
        match sign_in_from(c, s, &client(i), "not the password").await {
            401 => counted += 1,
            429 => tokio::time::sleep(std::time::Duration::from_millis(250)).await,
            other => panic!("a wrong password answered {other}"),
        }
        if counted == 7 {
            return;
        }
    }
    panic!("the waits never ended");
}

/// Behind a trusted proxy each client is counted on its own: one client's
/// wrong passwords neither slow another's sign-in nor keep `admin` out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_one_clients_failures_lock_out_nobody_else() {
    let s = InProcess::start_with_env(
        "mem://",
        &[("LEADS_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8")],
    )
    .await;
    let c = no_redirects();
    fail_seven_times(&c, &s, |_| "203.0.113.5".into()).await;
    assert_eq!(
        sign_in_from(&c, &s, "203.0.113.5", "not the password").await,
        429
    );
    // The attacker's own right guess waits too...
    assert_eq!(
        sign_in_from(&c, &s, "203.0.113.5", ADMIN_PASSWORD).await,
        429
    );
    // ...but the owner, elsewhere, signs in (a forged entry to the left of
    // what the proxy added is not read).
    assert_eq!(
        sign_in_from(&c, &s, "203.0.113.5, 198.51.100.7", ADMIN_PASSWORD).await,
        303
    );
    assert_eq!(
        sign_in_from(&c, &s, "198.51.100.8, 10.1.2.3", ADMIN_PASSWORD).await,
        303
    );
}

/// Without trusted proxies the header is the client's own text: changing
/// it buys no fresh attempts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forwarded_header_from_an_untrusted_peer_is_not_believed() {
    let s = InProcess::start("mem://").await;
    let c = no_redirects();
    fail_seven_times(&c, &s, |i| format!("203.0.113.{}", i % 250)).await;
    assert_eq!(
        sign_in_from(&c, &s, "198.51.100.7", ADMIN_PASSWORD).await,
        429
    );
}

/// A flood of sign-ins (from many addresses, as a botnet would, through
/// the trusted proxy) beyond the sign-in queue is answered 503 at once,
/// and ingest and webhooks are answered meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_flood_is_bounded_and_ingest_goes_on() {
    let s = InProcess::start_with_env(
        "mem://",
        &[
            ("LEADS_TRUSTED_PROXIES", "127.0.0.1"),
            ("LEADS_WHATSAPP_APP_SECRET", "flood-secret"),
        ],
    )
    .await;
    let c = no_redirects();
    let flood: Vec<_> = (0..120u32)
        .map(|i| {
            let (c, url) = (c.clone(), s.url("/signin"));
            tokio::spawn(async move {
                let r = c
                    .post(url)
                    .header("x-forwarded-for", format!("198.18.{}.{}", i / 200, i % 200))
                    .form(&[
                        ("name", format!("user{i}")),
                        ("password", "guess guess".into()),
                    ])
                    .send()
                    .await
                    .expect("sign-in");
                (r.status().as_u16(), r.headers().contains_key("retry-after"))
            })
        })
        .collect();
    // Meanwhile: events and a webhook, each answered.
    for i in 0..5 {
        let ev = serde_json::json!([{"id": format!("flood-{i}"), "occurred_at": "2026-11-20T10:00:00Z",
            "channel": "whatsapp", "direction": "inbound", "contact": {"phone": format!("+6281200000{i:03}")}}]);
        assert_eq!(s.post_events(&ev).await.0, 200);
        let body = r#"{"object":"whatsapp_business_account","entry":[]}"#;
        let r = common::meta_signed(
            &c,
            &s.url("/webhooks/whatsapp"),
            "flood-secret",
            body.into(),
        )
        .send()
        .await
        .expect("webhook");
        assert_eq!(r.status(), 200);
    }
    let mut refused = 0;
    for t in flood {
        let (status, retry) = t.await.expect("task");
        match status {
            401 => {}
            503 => {
                assert!(retry, "503 says when to retry");
                refused += 1;
            }
            other => panic!("a sign-in answered {other}"),
        }
    }
    assert!(refused > 0, "the queue is bounded");
}

/// Passwords chosen in the dashboard have at least 12 characters (the
/// operator's own, and tokens, are only warned about); an admin sets a
/// user's password on the settings page, which ends that user's sessions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_are_long_and_can_be_changed() {
    let s = InProcess::start("mem://").await;
    let add = |pw: &'static str| {
        s.http
            .post(s.url("/settings/users"))
            .header("Accept-Language", "en")
            .form(&[("name", "rina"), ("password", pw), ("role", "viewer")])
            .send()
    };
    let page = add("short-pw")
        .await
        .expect("add")
        .text()
        .await
        .expect("page");
    assert!(page.contains("at least 12 characters"), "{page}");
    add("rina-password-1").await.expect("add");
    let rina = client();
    s.sign_in(&rina, "rina", "rina-password-1").await;
    let r = s
        .http
        .post(s.url("/settings/users/password"))
        .form(&[("name", "rina"), ("password", "rina-password-2")])
        .send()
        .await
        .expect("set");
    assert_eq!(r.status(), 200);
    // Her session ended; the old password is wrong, the new one works.
    let r = no_redirects().get(s.url("/")).send().await.expect("page");
    assert_eq!(r.status(), 303);
    let page = rina.get(s.url("/")).send().await.expect("page");
    assert!(page.url().path().starts_with("/signin"), "signed out");
    assert_eq!(
        no_redirects()
            .post(s.url("/signin"))
            .form(&[("name", "rina"), ("password", "rina-password-1")])
            .send()
            .await
            .expect("old")
            .status(),
        401
    );
    s.sign_in(&client(), "rina", "rina-password-2").await;
    // The operator's LEADS_API_TOKEN stands, however short (warned about).
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_leads-dashboard"))
        .args(["verify", "--db", "mem://"])
        .env("LEADS_API_TOKEN", "short")
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A live stream ends with its session: signing out in one browser ends
/// that browser's stream (the page then shows live updates off), not
/// another session's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_stream_ends_when_its_session_does() {
    let s = InProcess::start("mem://").await;
    let other = client();
    s.sign_in(&other, "admin", ADMIN_PASSWORD).await;
    let mut mine = s.http.get(s.url("/srv/live")).send().await.expect("live");
    assert_eq!(mine.status(), 200);
    let mut theirs = other.get(s.url("/srv/live")).send().await.expect("live");
    assert_eq!(theirs.status(), 200);

    let r = s.http.post(s.url("/signout")).send().await.expect("out");
    assert_eq!(r.url().path(), "/signin");
    // The signed-out stream ends (keep-alive comments aside).
    let ended = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while mine.chunk().await.expect("stream").is_some() {}
    })
    .await;
    assert!(ended.is_ok(), "the stream of the ended session closed");

    // The other session's stream goes on and still announces commits.
    let e = serde_json::json!([{"id": "after-signout", "occurred_at": "2026-11-20T01:00:00Z",
        "channel": "whatsapp", "direction": "inbound", "contact": {"phone": "+6281299999990"}}]);
    assert_eq!(s.post_events(&e).await.0, 200);
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !seen.contains("\"new\":1") {
        let chunk = tokio::time::timeout_at(deadline, theirs.chunk())
            .await
            .expect("an event within 10 s")
            .expect("stream")
            .expect("still open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
}

/// A settings form's refusal is in the page's language, next to its form,
/// with the name as typed; an unknown role says so; removing and revoking
/// ask once more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_refusals_are_translated_and_kept_by_their_form() {
    let s = InProcess::start("mem://").await;
    let post = |path: &'static str, form: Vec<(&'static str, &'static str)>| {
        let r = s
            .http
            .post(s.url(path))
            .header("Accept-Language", "id-ID,id;q=0.9")
            .form(&form)
            .send();
        async move {
            let r = r.await.expect("post");
            assert_eq!(r.status(), 200, "{path}");
            r.text().await.expect("page")
        }
    };
    let page = post("/settings/tokens", vec![("name", "bad name!")]).await;
    assert!(page.contains("Nama berisi 1–64 huruf"), "{page}");
    assert!(
        page.contains("value=\"bad name!\""),
        "the typed name is kept"
    );
    let tokens = page
        .find("action=\"/settings/tokens\"")
        .expect("token form");
    let error = page.find("Nama berisi").expect("error");
    let users = page.find("action=\"/settings/users\"").expect("user form");
    assert!(
        users < error && error < tokens,
        "the error is by the token form"
    );

    let page = post(
        "/settings/users",
        vec![
            ("name", "budi"),
            ("password", "a-long-password-1"),
            ("role", "root"),
        ],
    )
    .await;
    assert!(page.contains("Peran harus admin atau viewer"), "{page}");
    assert!(page.contains("value=\"budi\""));
    assert!(!page.contains("<td>budi</td>"));

    // Done: back to the page by a redirect, so a reload posts nothing.
    let admin = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let r = admin
        .post(s.url("/signin"))
        .form(&[("name", "admin"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .expect("sign-in");
    assert_eq!(r.status(), 303);
    let r = admin
        .post(s.url("/settings/users"))
        .form(&[
            ("name", "budi"),
            ("password", "a-long-password-1"),
            ("role", "viewer"),
        ])
        .send()
        .await
        .expect("add");
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/settings?done=1");
    let page = s
        .http
        .get(s.url("/settings?done=1"))
        .header("Accept-Language", "id")
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("page");
    assert!(page.contains("Selesai.") && page.contains("<td>budi</td>"));

    let page = post("/settings/tokens", vec![("name", "crm")]).await;
    assert!(page.contains("data-testid=\"new-token\""));
    // Revoking is a second step: the row's button is inside a closed
    // `details`, naming the token.
    assert!(page.contains("<details class=\"confirm\">"));
    assert!(page.contains("Cabut token crm?"));
    // Removing a name that is not there says so in the users' section.
    let page = post("/settings/users/remove", vec![("name", "ghost")]).await;
    let users = page.find("action=\"/settings/users\"").expect("user form");
    let error = page.find("Nama itu tidak ada.").expect("error");
    let heading = page.find("Pengguna</h2>").expect("users heading");
    assert!(
        heading < error && error < users,
        "the error is in the users' card"
    );

    // An admin changing their own password is signed out, and told why.
    let r = admin
        .post(s.url("/settings/users/password"))
        .form(&[("name", "Admin"), ("password", "a-new-admin-password")])
        .send()
        .await
        .expect("own password");
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/signin?changed=1");
    let page = admin
        .get(s.url("/signin?changed=1"))
        .header("Accept-Language", "en")
        .send()
        .await
        .expect("sign-in")
        .text()
        .await
        .expect("page");
    assert!(page.contains("Your password was changed."), "{page}");
    assert!(!page.contains("signin-error"));
}
