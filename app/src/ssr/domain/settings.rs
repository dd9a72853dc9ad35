//! The settings of `shared/spec/api.md`, resolved (the command line reads
//! them; every wing that needs one takes it from here). Pure data.

use chrono_tz::Tz;
use phonenumber::country::Id as Region;

use super::event::Sender;

/// Meta's own app that Page inbox / Business Suite replies come from.
pub const META_INBOX_APP_ID: &str = "263902037430900";

/// The settings of `shared/spec/api.md`, resolved.
#[derive(Clone, Debug)]
pub struct Settings {
    pub tz: Tz,
    pub region: Region,
    pub session_timeout: chrono::Duration,
    /// `LEADS_CURRENCY`: conversions' and spend's currency (ISO 4217).
    pub currency: String,
    /// `LEADS_ATTRIBUTION_DAYS`: how long after a lead's Date its
    /// conversions count for it.
    pub attribution: chrono::Duration,
    pub api_token: Option<String>,
    /// `LEADS_WHATSAPP_APP_SECRET`: checks WhatsApp webhook signatures.
    pub whatsapp_app_secret: Option<String>,
    /// `LEADS_WHATSAPP_VERIFY_TOKEN`: the webhook verification handshake.
    pub whatsapp_verify_token: Option<String>,
    /// `LEADS_META_APP_SECRET`: checks Messenger/Instagram webhook signatures.
    pub meta_app_secret: Option<String>,
    /// `LEADS_META_VERIFY_TOKEN`: their verification handshake.
    pub meta_verify_token: Option<String>,
    /// `LEADS_WHATSAPP_REPLY_SENDER`: who sent a WhatsApp reply (a `sent`
    /// status of category `service`) that its software did not tag:
    /// `agent` (default) or `ai`.
    pub whatsapp_reply_sender: Sender,
    /// `LEADS_META_AGENT_APP_IDS`: apps whose Messenger/Instagram echoes
    /// are an agent's replies (default: Meta's Page inbox / Business Suite).
    pub meta_agent_app_ids: Vec<String>,
    /// `LEADS_META_AI_APP_IDS`: apps whose echoes are the AI's replies.
    pub meta_ai_app_ids: Vec<String>,
    /// `LEADS_CHATWOOT_SECRET`: the Chatwoot webhook's secret.
    pub chatwoot_secret: Option<String>,
    /// `LEADS_PUBLIC_NAMES`: host names the server is reached by (besides
    /// IP addresses and `localhost`); any other `Host` is refused.
    pub public_names: Vec<String>,
    /// `LEADS_SECURE_COOKIES`: mark the session cookie `Secure` (behind HTTPS).
    pub secure_cookies: bool,
    /// `LEADS_TRUSTED_PROXIES`: proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<super::net::Cidr>,
    /// `LEADS_SIGNIN_TIMEOUT`: inactivity after which a sign-in ends.
    pub signin_timeout: chrono::Duration,
    /// `LEADS_META_GRAPH_URL`: where the Conversions API is posted.
    pub meta_graph_url: String,
    /// `LEADS_META_GRAPH_VERSION`.
    pub meta_graph_version: String,
    /// `LEADS_META_DATASET_ID`: the dataset outcomes go to.
    pub meta_dataset_id: Option<String>,
    /// `LEADS_META_CAPI_TOKEN`: never logged, shown or answered.
    pub meta_capi_token: Option<String>,
    /// `LEADS_META_TEST_EVENT_CODE`.
    pub meta_test_event_code: Option<String>,
    /// `LEADS_META_RETRY_SECONDS`: the first retry's wait (tests shorten it).
    pub meta_retry_seconds: i64,
    /// `LEADS_BUSINESS_HOURS`: opening hours in `tz`; with them the summary
    /// splits the leads that arrived in and out of hours.
    pub business_hours: Option<super::hours::BusinessHours>,
    /// `LEADS_MEMORY`, else the process's cgroup limit, else the host's
    /// memory: what the server may use (`None`: not known, not Linux).
    pub memory: Option<super::memory::Budget>,
}

impl Settings {
    /// What deriving a lead from its contact's state depends on.
    pub fn terms(&self) -> super::rules::Terms {
        super::rules::Terms {
            session_timeout: self.session_timeout,
            attribution: self.attribution,
        }
    }

    /// The embedded database's caches for [`Self::memory`].
    pub fn db_memory(&self) -> Option<super::memory::DbMemory> {
        self.memory
            .map(|b| super::memory::DbMemory::for_budget(b.bytes))
    }

    /// Whether outcomes are sent to Meta: a dataset and a token are set.
    pub fn capi_configured(&self) -> bool {
        self.meta_dataset_id.is_some() && self.meta_capi_token.is_some()
    }

    /// The defaults, without secrets (unit tests).
    pub fn for_tests() -> Settings {
        Settings {
            tz: chrono_tz::Asia::Jakarta,
            region: Region::ID,
            session_timeout: chrono::Duration::hours(24),
            currency: "IDR".to_owned(),
            attribution: chrono::Duration::days(28),
            api_token: None,
            whatsapp_app_secret: None,
            whatsapp_verify_token: None,
            meta_app_secret: None,
            meta_verify_token: None,
            whatsapp_reply_sender: Sender::Agent,
            meta_agent_app_ids: vec![META_INBOX_APP_ID.to_owned()],
            meta_ai_app_ids: Vec::new(),
            chatwoot_secret: None,
            public_names: Vec::new(),
            secure_cookies: false,
            trusted_proxies: Vec::new(),
            signin_timeout: chrono::Duration::days(7),
            meta_graph_url: "https://graph.facebook.com".to_owned(),
            meta_graph_version: super::capi::GRAPH_VERSION.to_owned(),
            meta_dataset_id: None,
            meta_capi_token: None,
            meta_test_event_code: None,
            meta_retry_seconds: 2,
            business_hours: None,
            memory: None,
        }
    }
}
