//! Command line and settings: each setting is a flag and an environment
//! variable, the flag wins (`shared/spec/api.md`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use leptos::config::{Env, LeptosOptions};

use app::ssr::domain::settings::Settings;
use app::ssr::domain::{memory, phone};

#[derive(Parser, Debug)]
#[command(
    name = "leads-dashboard",
    version,
    about = "Leads Dashboard: every new customer who started a chat, and which ad brought them"
)]
pub struct Cli {
    #[command(flatten)]
    pub settings: SettingsArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the dashboard, the API and the webhooks (the default).
    Serve,
    /// Load NDJSON events (one event, or an array of events, per line; the
    /// API's format and rules) or a CSV of existing customers
    /// (phone,name,email,known_since). The whole file is checked first.
    Import {
        /// The file to load (`.csv`: existing customers).
        file: PathBuf,
        /// Import the valid lines and write the rejected ones, each with its
        /// reason, to this file (instead of importing nothing).
        #[arg(long, value_name = "REJECTED_FILE")]
        skip_invalid: Option<PathBuf>,
        /// Import through a running server's API (e.g. http://127.0.0.1:3000,
        /// with LEADS_API_TOKEN) instead of opening the database, which a
        /// running server holds. Events only (not the customers' CSV).
        #[arg(long, value_name = "URL")]
        url: Option<String>,
    },
    /// Recompute every lead from the stored events and compare with the lead
    /// index built at start; prints one JSON line, exits 1 on a difference.
    Verify,
    /// Dashboard users (`user add NAME --role admin|viewer`, `user list`,
    /// `user remove NAME`). Opens the database: stop an embedded server
    /// first, or use the settings page.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// API tokens (`token create --name NAME`, `token list`, `token revoke
    /// NAME`). Opens the database: stop an embedded server first, or use
    /// the settings page.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Write the whole database (events, leads' state, users, tokens) to
    /// FILE (SurrealQL). Opens the database: stop an embedded server first.
    Backup { file: PathBuf },
    /// Load a backup made with `backup` into a new, empty --db.
    Restore { file: PathBuf },
    /// Benchmark floor: parse each line (one JSON batch) of FILE with the
    /// API's parser and fsync a scratch file once per batch; prints JSON.
    #[command(hide = true)]
    Floor {
        /// NDJSON, one batch (array of events) per line.
        file: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user; the password comes from a prompt, or from standard
    /// input with --password-stdin.
    Add {
        name: String,
        #[arg(long, value_parser = ["admin", "viewer"])]
        role: String,
        /// Read the password from standard input (one line) instead of a prompt.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a user's password (prompt, or --password-stdin); ends their sessions.
    Passwd {
        name: String,
        /// Read the password from standard input (one line) instead of a prompt.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the users and their roles.
    List,
    /// Remove a user and end their sessions (never the last admin).
    Remove { name: String },
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Print a new API token once; only its hash is stored.
    Create {
        #[arg(long)]
        name: String,
    },
    /// List the tokens: name, creation and last use.
    List,
    /// Revoke a token: it stops working at once.
    Revoke { name: String },
}

#[derive(Args, Debug)]
pub struct SettingsArgs {
    /// Log lines as text (default) or as JSON objects, one per line (for log
    /// collectors).
    #[arg(long, env = "LEADS_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"], global = true)]
    pub log_format: String,
    /// Address to listen on.
    #[arg(
        long,
        env = "LEADS_ADDR",
        default_value = "127.0.0.1:3000",
        global = true
    )]
    pub addr: String,
    /// Database: rocksdb://PATH (embedded, on disk), mem:// (in memory), ws://HOST:PORT or wss://… (a SurrealDB server).
    #[arg(
        long,
        env = "LEADS_DB",
        default_value = "rocksdb://data/leads",
        global = true
    )]
    pub db: String,
    /// User for a SurrealDB server (ws:// or wss://).
    #[arg(long, env = "LEADS_DB_USER", global = true, hide_env_values = true)]
    pub db_user: Option<String>,
    /// Password for a SurrealDB server.
    #[arg(long, env = "LEADS_DB_PASS", global = true, hide_env_values = true)]
    pub db_pass: Option<String>,
    /// The business time zone (IANA name).
    #[arg(long, env = "LEADS_TZ", default_value = "Asia/Jakarta", global = true)]
    pub tz: String,
    /// Region for phone numbers written without a country code.
    #[arg(
        long,
        env = "LEADS_DEFAULT_REGION",
        default_value = "ID",
        global = true
    )]
    pub default_region: String,
    /// Inactivity after which a session closes (e.g. 24h, 30m).
    #[arg(
        long,
        env = "LEADS_SESSION_TIMEOUT",
        default_value = "24h",
        global = true
    )]
    pub session_timeout: String,
    /// The deployment's currency (ISO 4217): conversions and ad spend are in it.
    #[arg(long, env = "LEADS_CURRENCY", default_value = "IDR", global = true)]
    pub currency: String,
    /// Days after a lead's Date within which its conversions count for it.
    #[arg(long, env = "LEADS_ATTRIBUTION_DAYS", default_value_t = 28, global = true,
          value_parser = clap::value_parser!(u16).range(1..=365))]
    pub attribution_days: u16,
    /// Opening hours in the business's time zone (e.g. "mon-fri 09:00-17:00,
    /// sat 09:00-13:00"): the summary then splits the leads that arrived in
    /// and out of hours.
    #[arg(long, env = "LEADS_BUSINESS_HOURS", global = true)]
    pub business_hours: Option<String>,
    /// Host names the dashboard is reached by, comma-separated (e.g.
    /// leads.example.com); IP addresses and localhost always work. Requests
    /// for any other name are refused (DNS rebinding).
    #[arg(long, env = "LEADS_PUBLIC_NAMES", global = true, value_delimiter = ',')]
    pub public_names: Vec<String>,
    /// Mark the sign-in cookie Secure: set it when the dashboard is served
    /// over HTTPS (behind a reverse proxy).
    #[arg(long, env = "LEADS_SECURE_COOKIES", global = true)]
    pub secure_cookies: bool,
    /// Reverse proxies whose X-Forwarded-For is believed, comma-separated
    /// addresses or CIDRs (e.g. 127.0.0.1,10.0.0.0/8). The right-most
    /// address in it that is not one of these is the client; from anyone
    /// else the header is ignored.
    #[arg(
        long,
        env = "LEADS_TRUSTED_PROXIES",
        global = true,
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<String>,
    /// Memory the server may use (e.g. 1G, 768M, 2GiB; units are binary):
    /// the embedded database's caches are sized from it. Default: the
    /// process's cgroup limit (systemd's MemoryMax=, a container's limit),
    /// else the host's memory.
    #[arg(long, env = "LEADS_MEMORY", global = true)]
    pub memory: Option<String>,
    /// Writer tasks that store events side by side (each contact belongs
    /// to one); default: one per core.
    #[arg(long, env = "LEADS_WRITERS", global = true,
          value_parser = clap::value_parser!(u16).range(1..=16))]
    pub writers: Option<u16>,
    /// Inactivity after which a sign-in ends (e.g. 7d, 12h).
    #[arg(
        long,
        env = "LEADS_SIGNIN_TIMEOUT",
        default_value = "7d",
        global = true
    )]
    pub signin_timeout: String,
    /// Who sent a WhatsApp reply that its software did not tag with
    /// biz_opaque_callback_data "leads:sender=…": agent or ai.
    #[arg(long, env = "LEADS_WHATSAPP_REPLY_SENDER", default_value = "agent",
          value_parser = ["agent", "ai"], global = true)]
    pub whatsapp_reply_sender: String,
    /// Apps whose Messenger/Instagram echoes are agents' replies,
    /// comma-separated (default: Meta's Page inbox / Business Suite).
    #[arg(long, env = "LEADS_META_AGENT_APP_IDS", global = true, value_delimiter = ',',
          default_value = app::ssr::domain::settings::META_INBOX_APP_ID)]
    pub meta_agent_app_ids: Vec<String>,
    /// Apps whose Messenger/Instagram echoes are the AI's replies, comma-separated.
    #[arg(
        long,
        env = "LEADS_META_AI_APP_IDS",
        global = true,
        value_delimiter = ','
    )]
    pub meta_ai_app_ids: Vec<String>,
    /// Where the Conversions API is posted (Meta's Graph API; tests point
    /// it at a local stand-in).
    #[arg(
        long,
        env = "LEADS_META_GRAPH_URL",
        default_value = "https://graph.facebook.com",
        global = true
    )]
    pub meta_graph_url: String,
    /// The Graph API version events are posted to.
    #[arg(long, env = "LEADS_META_GRAPH_VERSION", default_value = app::ssr::domain::capi::GRAPH_VERSION, global = true)]
    pub meta_graph_version: String,
    /// The dataset (pixel) id outcomes are sent to; with
    /// LEADS_META_CAPI_TOKEN (environment only) it turns sending on.
    #[arg(long, env = "LEADS_META_DATASET_ID", global = true)]
    pub meta_dataset_id: Option<String>,
    /// Meta's test event code: events then show under Test events in
    /// Events Manager (for checking before going live).
    #[arg(long, env = "LEADS_META_TEST_EVENT_CODE", global = true)]
    pub meta_test_event_code: Option<String>,
    /// Seconds before the first retry of a failed send (doubling up to an hour).
    #[arg(
        long,
        env = "LEADS_META_RETRY_SECONDS",
        default_value_t = 2,
        global = true,
        hide = true
    )]
    pub meta_retry_seconds: u32,
    /// Folder with the built site (pkg/ with the WASM, JS and CSS).
    #[arg(
        long,
        env = "LEPTOS_SITE_ROOT",
        default_value = "target/site",
        global = true
    )]
    pub site_root: String,
}

/// The process's cgroup memory limit and the host's memory, read from
/// `/proc` and `/sys` (`None` where they do not exist: not Linux).
fn machine_memory() -> (Option<u64>, Option<u64>) {
    let read = |path: &str| std::fs::read_to_string(path).ok();
    let cgroup = read("/proc/self/cgroup").and_then(|t| memory::cgroup_limit(&t, read));
    let host = read("/proc/meminfo").and_then(|t| memory::mem_total(&t));
    (cgroup, host)
}

/// App ids as given: trimmed, blanks left out.
fn ids(list: &[String]) -> Vec<String> {
    list.iter()
        .map(|i| i.trim().to_owned())
        .filter(|i| !i.is_empty())
        .collect()
}

impl SettingsArgs {
    /// The settings, with the secrets from the process's environment.
    pub fn resolve(&self) -> Result<Settings, String> {
        self.resolve_with(|name| std::env::var(name).ok())
    }

    /// The settings, with the secrets `env` gives (tests run several
    /// servers in one process, each with its own).
    pub fn resolve_with(&self, env: impl Fn(&str) -> Option<String>) -> Result<Settings, String> {
        let tz = self
            .tz
            .parse()
            .map_err(|_| format!("--tz: {:?} is not an IANA time zone", self.tz))?;
        let region = phone::parse_region(&self.default_region).ok_or_else(|| {
            format!(
                "--default-region: {:?} is not a region code",
                self.default_region
            )
        })?;
        let timeout = humantime::parse_duration(&self.session_timeout)
            .map_err(|e| format!("--session-timeout: {e}"))?;
        let session_timeout = chrono::Duration::from_std(timeout)
            .ok()
            .filter(|d| *d > chrono::Duration::zero())
            .ok_or("--session-timeout must be positive")?;
        let currency = self.currency.trim().to_uppercase();
        if !app::ssr::domain::money::is_currency_code(&currency) {
            return Err(format!(
                "--currency: {:?} is not an ISO 4217 code such as IDR",
                self.currency
            ));
        }
        let signin = humantime::parse_duration(&self.signin_timeout)
            .map_err(|e| format!("--signin-timeout: {e}"))?;
        let signin_timeout = chrono::Duration::from_std(signin)
            .ok()
            .filter(|d| *d >= chrono::Duration::minutes(1))
            .ok_or("--signin-timeout must be at least 1m")?;
        let public_names = self
            .public_names
            .iter()
            .map(|n| n.trim().to_lowercase())
            .filter(|n| !n.is_empty())
            .collect();
        let business_hours = self
            .business_hours
            .as_deref()
            .filter(|h| !h.trim().is_empty())
            .map(app::ssr::domain::hours::BusinessHours::parse)
            .transpose()
            .map_err(|e| format!("--business-hours / LEADS_BUSINESS_HOURS: {e}"))?;
        let trusted_proxies = self
            .trusted_proxies
            .iter()
            .filter(|p| !p.trim().is_empty())
            .map(|p| {
                app::ssr::domain::net::Cidr::parse(p).ok_or_else(|| {
                    format!("--trusted-proxies: {p:?} is not an address or CIDR (10.0.0.0/8)")
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let stated = self
            .memory
            .as_deref()
            .filter(|m| !m.trim().is_empty())
            .map(memory::parse_size)
            .transpose()
            .map_err(|e| format!("--memory / LEADS_MEMORY: {e}"))?;
        let memory = match stated {
            Some(bytes) => memory::choose(Some(bytes), None, None),
            None => {
                let (cgroup, host) = machine_memory();
                memory::choose(None, cgroup, host)
            }
        };
        // Secrets come from the environment only (not flags: a process
        // list would show them).
        let secret = |name: &str| env(name).filter(|t| !t.is_empty());
        Ok(Settings {
            tz,
            region,
            session_timeout,
            currency,
            attribution: chrono::Duration::days(i64::from(self.attribution_days)),
            api_token: secret("LEADS_API_TOKEN"),
            whatsapp_app_secret: secret("LEADS_WHATSAPP_APP_SECRET"),
            whatsapp_verify_token: secret("LEADS_WHATSAPP_VERIFY_TOKEN"),
            // One Meta app usually receives WhatsApp, Messenger and
            // Instagram webhooks alike, signed with its one secret: unset,
            // the Messenger/Instagram pair is the WhatsApp one (api.md
            // names only that).
            meta_app_secret: secret("LEADS_META_APP_SECRET")
                .or_else(|| secret("LEADS_WHATSAPP_APP_SECRET")),
            meta_verify_token: secret("LEADS_META_VERIFY_TOKEN")
                .or_else(|| secret("LEADS_WHATSAPP_VERIFY_TOKEN")),
            whatsapp_reply_sender: if self.whatsapp_reply_sender == "ai" {
                app::ssr::domain::event::Sender::Ai
            } else {
                app::ssr::domain::event::Sender::Agent
            },
            meta_agent_app_ids: ids(&self.meta_agent_app_ids),
            meta_ai_app_ids: ids(&self.meta_ai_app_ids),
            chatwoot_secret: secret("LEADS_CHATWOOT_SECRET"),
            public_names,
            secure_cookies: self.secure_cookies,
            trusted_proxies,
            signin_timeout,
            meta_graph_url: self.meta_graph_url.trim().trim_end_matches('/').to_owned(),
            meta_graph_version: self.meta_graph_version.trim().to_owned(),
            meta_dataset_id: self
                .meta_dataset_id
                .as_deref()
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(str::to_owned),
            meta_capi_token: secret("LEADS_META_CAPI_TOKEN"),
            meta_retry_seconds: i64::from(self.meta_retry_seconds),
            meta_test_event_code: self
                .meta_test_event_code
                .as_deref()
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(str::to_owned),
            business_hours,
            memory,
        })
    }

    /// The address to listen on, checked before the database is opened.
    pub fn listen_address(&self) -> Result<std::net::SocketAddr, String> {
        listen_address(&self.addr)
    }

    pub fn leptos_options(&self) -> Result<LeptosOptions, String> {
        let addr = listen_address(&self.addr)?;
        Ok(LeptosOptions::builder()
            .output_name("leads-dashboard")
            .site_root(self.site_root.as_str())
            .site_pkg_dir("pkg")
            .site_addr(addr)
            .env(Env::PROD)
            .build())
    }
}

/// `--addr` as an IP address and port, or a host name and port
/// (`localhost:3000`, resolved once at start; its IPv4 address when it has
/// one, as most clients try that).
fn listen_address(text: &str) -> Result<std::net::SocketAddr, String> {
    use std::net::ToSocketAddrs;
    let bad =
        || format!("--addr: {text:?} is not an address like 127.0.0.1:3000 or localhost:3000");
    if let Ok(addr) = text.parse() {
        return Ok(addr);
    }
    // A port is required: `to_socket_addrs` needs one anyway.
    let found: Vec<std::net::SocketAddr> = text.to_socket_addrs().map_err(|_| bad())?.collect();
    found
        .iter()
        .find(|a| a.is_ipv4())
        .or(found.first())
        .copied()
        .ok_or_else(bad)
}
