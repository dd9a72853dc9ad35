//! Indonesian and English: every text (the Leads page's, and the sign-in
//! and settings pages'), numbers, days and durations.
//! Shared by the server render and the browser, so both write the same text
//! (no flash of the other language, no hydration mismatch).

use crate::model::Lang;

/// `(key, Indonesian, English)`.
const TEXTS: &[(&str, &str, &str)] = &[
    ("title", "Leads", "Leads"),
    (
        "subtitle",
        "Pelanggan baru yang memulai chat, menurut hari pesan pertama mereka.",
        "New customers who started a chat, by the day of their first message.",
    ),
    ("lang.switch", "Bahasa", "Language"),
    ("settings", "Pengaturan", "Settings"),
    ("skip", "Langsung ke isi", "Skip to content"),
    ("signout", "Keluar", "Sign out"),
    ("range", "Periode", "Period"),
    ("range.today", "Hari ini", "Today"),
    ("range.yesterday", "Kemarin", "Yesterday"),
    ("range.7d", "7 hari terakhir", "Last 7 days"),
    ("range.30d", "30 hari terakhir", "Last 30 days"),
    ("range.this_month", "Bulan ini", "This month"),
    ("range.last_month", "Bulan lalu", "Last month"),
    ("range.custom", "Pilih tanggal", "Custom"),
    ("from", "Dari", "From"),
    ("to", "Sampai", "To"),
    ("tz", "Zona waktu", "Time zone"),
    ("channel", "Kanal", "Channel"),
    ("channel.all", "Semua kanal", "All channels"),
    ("apply", "Terapkan", "Apply"),
    ("source", "Sumber pertama", "First source"),
    ("source.all", "Semua sumber", "All sources"),
    ("last_source", "Sumber terakhir", "Last source"),
    (
        "last_source.remove",
        "Hapus filter sumber terakhir",
        "Remove the last source filter",
    ),
    ("status", "Status", "Status"),
    ("status.all", "Semua", "All"),
    ("status.yes", "Sudah dibalas", "Answered"),
    (
        "status.no",
        "Menunggu balasan pertama",
        "Awaiting first response",
    ),
    ("quality", "Kualitas", "Quality"),
    ("quality.all", "Semua", "All"),
    ("quality.engaged", "Terlibat", "Engaged"),
    ("quality.not_engaged", "Tidak terlibat", "Not engaged"),
    (
        "quality.one_message",
        "Hanya satu pesan",
        "One message only",
    ),
    (
        "quality.not_one_message",
        "Lebih dari satu pesan",
        "More than one message",
    ),
    ("quality.buyer", "Pembeli", "Buyer"),
    ("quality.not_buyer", "Belum membeli", "Not a buyer"),
    ("capi", "Dikirim ke Meta", "Sent to Meta"),
    ("capi.all", "Semua", "All"),
    ("capi.f.sent", "Terkirim", "Sent"),
    ("capi.f.pending", "Menunggu dikirim", "Pending"),
    ("capi.f.rejected", "Ditolak Meta", "Rejected by Meta"),
    ("capi.f.not_sendable", "Tidak bisa dikirim", "Not sendable"),
    ("search", "Cari", "Search"),
    (
        "search.placeholder",
        "Nama, e-mail atau nomor (0812…)",
        "Name, e-mail or phone (0812…)",
    ),
    ("reset", "Hapus filter", "Clear filters"),
    ("export", "Unduh CSV", "Download CSV"),
    ("kpi.leads", "Lead baru", "New leads"),
    ("kpi.answered", "Sudah dibalas", "Answered"),
    (
        "kpi.awaiting",
        "Menunggu balasan",
        "Awaiting first response",
    ),
    (
        "kpi.median",
        "Median waktu balas pertama",
        "Median time to first touch",
    ),
    ("kpi.vs", "vs periode sebelumnya", "vs previous period"),
    ("kpi.until", "s.d. pukul", "until"),
    ("ch.whatsapp", "WhatsApp", "WhatsApp"),
    ("ch.instagram", "Instagram", "Instagram"),
    ("ch.messenger", "Messenger", "Messenger"),
    ("ch.tiktok", "TikTok", "TikTok"),
    ("ch.telegram", "Telegram", "Telegram"),
    ("ch.line", "LINE", "LINE"),
    ("ch.web", "Web", "Web"),
    ("ch.email", "Email", "Email"),
    ("ch.other", "Lainnya", "Other"),
    ("kpi.of", "dari lead", "of leads"),
    ("kpi.in_hours", "di jam kerja", "in business hours"),
    ("kpi.out_of_hours", "di luar jam kerja", "out of hours"),
    (
        "dist.title",
        "Waktu balas pertama",
        "Time to first response",
    ),
    ("dist.0", "< 1 mnt", "< 1 min"),
    ("dist.1", "1–5 mnt", "1–5 min"),
    ("dist.2", "5–30 mnt", "5–30 min"),
    ("dist.3", "30 mnt–2 jam", "30 min–2 h"),
    ("dist.4", "2–24 jam", "2–24 h"),
    ("dist.5", "> 24 jam", "> 24 h"),
    ("dist.6", "Belum dibalas", "Never"),
    ("dist.wait", "Dibalas dalam", "Answered within"),
    ("dist.leads", "Lead", "Leads"),
    ("dist.engaged", "Terlibat", "Engaged"),
    ("dist.bought", "Membeli", "Bought"),
    ("dist.all", "Semua lead", "All leads"),
    ("chart.title", "Lead baru per hari", "New leads per day"),
    (
        "chart.hint",
        "Arahkan atau fokus ke batang untuk melihat angkanya.",
        "Hover or focus a bar to see its numbers.",
    ),
    ("chart.other", "Lainnya", "Other"),
    (
        "breakdown.title",
        "Menurut sumber pertama",
        "By first source",
    ),
    ("breakdown.leads", "Lead", "Leads"),
    ("breakdown.answered", "Dibalas", "Answered"),
    ("breakdown.median", "Median balas", "Median first touch"),
    (
        "breakdown.filter",
        "Klik sumber untuk memfilter.",
        "Click a source to filter by it.",
    ),
    ("col.date", "Tanggal", "Date"),
    ("col.name", "Nama Pelanggan", "Customer Name"),
    ("col.phone", "Nomor Telepon", "Phone Number"),
    ("col.email", "Email", "Email"),
    ("col.first_source", "Sumber Pertama", "First Source"),
    ("col.first_touched", "Pertama Dibalas", "First Touched At"),
    ("col.last_source", "Sumber Terakhir", "Last Source"),
    ("col.channel", "Kanal", "Channel"),
    ("col.id", "ID Lead", "Lead ID"),
    ("organic", "Organik", "Organic"),
    (
        "awaiting",
        "Menunggu balasan pertama",
        "Awaiting first response",
    ),
    ("waited", "menunggu", "waiting"),
    ("lead", "lead", "lead"),
    ("leads", "lead", "leads"),
    ("times_in", "waktu dalam", "times in"),
    ("more", "Muat lagi", "Load more"),
    ("shown_of", "dari", "of"),
    ("shown", "ditampilkan", "shown"),
    (
        "empty.filtered",
        "Tidak ada lead yang cocok dengan filter ini.",
        "No leads match these filters.",
    ),
    (
        "empty.period",
        "Tidak ada lead baru pada periode ini.",
        "No new leads in this period.",
    ),
    ("empty.none", "Belum ada lead.", "No leads yet."),
    (
        "empty.how",
        "Kirim event pertama ke API, misalnya:",
        "Send your first events to the API, for example:",
    ),
    (
        "error",
        "Data tidak dapat dimuat.",
        "The data could not be loaded.",
    ),
    ("error.param", "Periksa filter", "Check the filters"),
    ("retry", "Coba lagi", "Try again"),
    ("live.new_one", "lead baru", "new lead"),
    ("live.new_many", "lead baru", "new leads"),
    ("live.show", "Tampilkan", "Show"),
    ("live.on", "Langsung", "Live"),
    ("live.off", "Menyambung ulang…", "Reconnecting…"),
    ("detail.title", "Detail lead", "Lead detail"),
    ("detail.close", "Tutup", "Close"),
    (
        "detail.missing",
        "Lead ini tidak ditemukan.",
        "This lead was not found.",
    ),
    ("detail.sessions", "Sesi", "Sessions"),
    ("detail.window", "Menampilkan", "Showing"),
    ("detail.older", "Event sebelumnya", "Older events"),
    ("detail.latest", "Terbaru", "Latest"),
    ("detail.session", "Sesi", "Session"),
    ("detail.outside", "Di luar sesi", "Outside sessions"),
    ("detail.open", "masih terbuka", "still open"),
    (
        "detail.timeout",
        "ditutup karena tidak aktif",
        "closed after inactivity",
    ),
    ("detail.resolved", "diselesaikan", "resolved"),
    ("detail.wait", "waktu balas", "time to answer"),
    ("ev.inbound", "Pesan pelanggan", "Customer message"),
    ("ev.agent", "Balasan agen", "Agent reply"),
    ("ev.ai", "Balasan AI", "AI reply"),
    ("ev.system", "Pesan sistem", "System message"),
    ("ev.customer", "Pesan keluar", "Outbound message"),
    ("ev.resolved", "Diselesaikan", "Resolved"),
    ("ev.purchase", "Pembelian", "Purchase"),
    ("nav.leads", "Leads", "Leads"),
    ("nav.ads", "Iklan", "Ads"),
    (
        "ads.title",
        "Iklan: biaya dan hasil",
        "Ads: cost and outcome",
    ),
    ("ads.source", "Sumber", "Source"),
    ("ads.spend", "Biaya iklan", "Spend"),
    ("ads.leads", "Lead", "Leads"),
    ("ads.cpl", "Biaya per lead", "Cost per lead"),
    ("ads.answered", "Sudah dibalas", "Answered"),
    ("ads.engaged", "Terlibat", "Engaged"),
    ("ads.one_message", "Satu pesan", "One message"),
    (
        "ads.median",
        "Median waktu balas pertama",
        "Median first touch",
    ),
    ("ads.buyers", "Pembeli", "Buyers"),
    ("ads.revenue", "Pendapatan", "Revenue"),
    ("ads.cpb", "Biaya per pembeli", "Cost per buyer"),
    ("ads.roas", "ROAS", "ROAS"),
    ("ads.total", "Total", "Total"),
    ("ads.organic", "Organik", "Organic"),
    (
        "ads.channel_note",
        "Biaya iklan tidak dicatat per kanal: dengan satu kanal dipilih, seluruh biaya iklan dibandingkan dengan lead kanal itu saja.",
        "Ad spend is not recorded per channel: with one channel chosen, each ad's whole spend is set against that channel's leads only.",
    ),
    ("ads.first", "Sumber pertama", "First source"),
    ("ads.last", "Sumber terakhir", "Last source"),
    ("ads.lead_date", "Menurut tanggal lead", "By lead date"),
    (
        "ads.event_date",
        "Menurut tanggal pembelian",
        "By purchase date",
    ),
    ("ads.csv", "Unduh CSV", "Download CSV"),
    (
        "ads.empty",
        "Belum ada lead atau biaya iklan di rentang ini.",
        "No leads or ad spend in this range yet.",
    ),
    ("ev.qualified", "Dinilai layak", "Qualified"),
    ("ev.lead_submitted", "Mengirim data", "Submitted details"),
    ("ev.by_meta", "dideteksi Meta", "detected by Meta"),
    (
        "ev.not_attributed",
        "di luar jendela atribusi",
        "outside the attribution window",
    ),
    (
        "ev.referral",
        "Membuka chat dari iklan atau tautan",
        "Opened the chat from an ad or link",
    ),
    (
        "ev.opened",
        "Membuka chat tanpa mengetik",
        "Opened the chat without typing",
    ),
    (
        "ev.known",
        "Pelanggan lama (impor)",
        "Existing customer (imported)",
    ),
    ("ev.source", "dari", "from"),
    ("sort.by", "Urutkan menurut", "Sort by"),
    ("notfound", "Halaman tidak ditemukan.", "Page not found."),
];

/// Texts rendered on the server only (the sign-in and settings pages, the
/// lead detail's Conversions API part, the closing-soon card), so kept out
/// of the browser bundle.
#[cfg(feature = "ssr")]
const ACCOUNT_TEXTS: &[(&str, &str, &str)] = &[
    ("signin", "Masuk", "Sign in"),
    (
        "signin.title",
        "Masuk ke Leads Dashboard",
        "Sign in to Leads Dashboard",
    ),
    ("name", "Nama pengguna", "User name"),
    ("password", "Kata sandi", "Password"),
    (
        "wrong",
        "Nama atau kata sandi salah.",
        "Wrong name or password.",
    ),
    (
        "throttled",
        "Terlalu banyak percobaan. Coba lagi dalam {} detik.",
        "Too many attempts. Try again in {} seconds.",
    ),
    (
        "expired",
        "Silakan masuk untuk melanjutkan.",
        "Please sign in to continue.",
    ),
    (
        "no_user",
        "Belum ada pengguna. Buat admin pertama di server: leads-dashboard user add admin --role admin (saat server berhenti), atau jalankan dengan LEADS_ADMIN_PASSWORD.",
        "No user exists yet. Create the first admin on the server: leads-dashboard user add admin --role admin (with the server stopped), or start it with LEADS_ADMIN_PASSWORD set.",
    ),
    (
        "failed",
        "Gagal, coba lagi sebentar lagi.",
        "That failed; please try again in a moment.",
    ),
    ("back", "← Kembali ke Leads", "← Back to Leads"),
    ("users", "Pengguna", "Users"),
    ("role", "Peran", "Role"),
    (
        "role.admin",
        "Admin (pengguna, token, pengaturan)",
        "Admin (users, tokens, settings)",
    ),
    (
        "role.viewer",
        "Viewer (melihat dan mengunduh lead)",
        "Viewer (reads and exports leads)",
    ),
    ("created", "Dibuat", "Created"),
    ("add_user", "Tambah pengguna", "Add user"),
    ("set_password", "Ganti kata sandi", "Set password"),
    ("new_password", "Kata sandi baru", "New password"),
    ("remove", "Hapus", "Remove"),
    ("tokens", "Token API", "API tokens"),
    (
        "tokens.help",
        "Untuk integrasi: kirim sebagai Authorization: Bearer TOKEN ke /api/v1. Token hanya ditampilkan sekali.",
        "For integrations: send as Authorization: Bearer TOKEN to /api/v1. A token is shown once only.",
    ),
    ("token.name", "Nama token", "Token name"),
    ("create_token", "Buat token", "Create token"),
    ("last_used", "Terakhir dipakai", "Last used"),
    ("never", "belum pernah", "never"),
    ("revoke", "Cabut", "Revoke"),
    ("none", "Belum ada.", "None yet."),
    ("intake", "Saluran masuk", "Channel intake"),
    (
        "intake.help",
        "Sejak server dimulai: kiriman webhook yang diterima, peristiwa yang dibuat, dan yang sengaja diabaikan (tanda terima, reaksi, grup, pemberitahuan).",
        "Since the server started: webhook deliveries received, the events they made, and what was left out on purpose (receipts, reactions, groups, notices).",
    ),
    ("intake.name", "Saluran", "Intake"),
    ("intake.configured", "Terpasang", "Set up"),
    ("intake.deliveries", "Kiriman", "Deliveries"),
    ("intake.events", "Peristiwa", "Events"),
    ("intake.dropped", "Diabaikan", "Left out"),
    ("intake.refused", "Ditolak", "Refused"),
    ("yes", "ya", "yes"),
    ("no", "tidak", "no"),
    (
        "intake.unknown_apps",
        "Balasan dari aplikasi yang belum dikenal (dihitung sebagai sistem, bukan balasan):",
        "Replies from apps no setting names (counted as system, not as answers):",
    ),
    (
        "intake.unknown_help",
        "Tambahkan id aplikasi ke LEADS_META_AGENT_APP_IDS (agen) atau LEADS_META_AI_APP_IDS (AI).",
        "Add the app id to LEADS_META_AGENT_APP_IDS (agents) or LEADS_META_AI_APP_IDS (AI).",
    ),
    (
        "new_token",
        "Token baru — salin sekarang, tidak akan ditampilkan lagi:",
        "New token — copy it now, it will not be shown again:",
    ),
    ("capi.title", "Meta Conversions API", "Meta Conversions API"),
    (
        "capi.off",
        "Pengiriman ke Meta belum diatur (LEADS_META_DATASET_ID dan LEADS_META_CAPI_TOKEN): tidak ada yang dikirim.",
        "Sending to Meta is not set up (LEADS_META_DATASET_ID and LEADS_META_CAPI_TOKEN): nothing is sent.",
    ),
    ("capi.click", "Klik iklan", "Ad click id"),
    (
        "capi.click.person",
        "Klik iklan (akun · pengguna)",
        "Ad click (account · user id)",
    ),
    ("capi.sendable", "Bisa dikirim", "Sendable"),
    ("capi.sendable.yes", "ya", "yes"),
    ("capi.sendable.no", "tidak", "no"),
    ("capi.window", "Batas 7 hari", "7-day window ends"),
    ("capi.window.left", "sisa", "in"),
    ("capi.window.over", "sudah lewat", "passed"),
    (
        "capi.none",
        "Belum ada hasil untuk dikirim (lead terlibat atau pembelian).",
        "No outcome to send yet (an engaged lead or a purchase).",
    ),
    ("capi.tries", "percobaan", "tries"),
    ("capi.state.sent", "Terkirim", "Sent"),
    ("capi.state.pending", "Menunggu dikirim", "Pending"),
    ("capi.state.rejected", "Ditolak Meta", "Rejected"),
    (
        "capi.state.not_sendable",
        "Tidak bisa dikirim",
        "Not sendable",
    ),
    (
        "capi.state.window_passed",
        "Lewat batas 7 hari",
        "Window passed",
    ),
    (
        "capi.state.unsent",
        "Tidak dikirim (terjadi sebelum pengiriman diatur)",
        "Not sent (known before sending was set up)",
    ),
    (
        "capi.why.no_click",
        "bukan dari klik iklan Meta",
        "not from a Meta ad click",
    ),
    (
        "capi.why.no_click_id",
        "klik tanpa click id (ctwa_clid)",
        "the click has no click id (ctwa_clid)",
    ),
    (
        "capi.why.no_account",
        "id WhatsApp Business Account atau Page tidak diketahui",
        "no WhatsApp Business Account or Page id",
    ),
    (
        "capi.why.no_user_id",
        "id pengguna di Page tidak diketahui",
        "no user id for the Page",
    ),
    (
        "capi.why.detected_by_meta",
        "sudah dideteksi Meta sendiri",
        "Meta detected it itself",
    ),
    (
        "capi.why.before_click",
        "terjadi sebelum klik iklan",
        "it happened before the ad click",
    ),
    ("closing.title", "Segera lewat batas Meta", "Closing soon"),
    (
        "closing.help",
        "Lead dari iklan yang batas 7 harinya berakhir dalam 48 jam dan belum ada yang dikirim ke Meta: nilai sekarang agar Meta masih bisa mengaitkannya.",
        "Ad leads whose 7-day window ends within 48 hours with nothing sent to Meta: qualify them now so Meta can still attribute them.",
    ),
    ("closing.ends", "berakhir", "ends"),
    ("capi.dataset", "Dataset id", "Dataset id"),
    ("capi.token", "Token akses", "Access token"),
    (
        "capi.token.set",
        "terpasang (tidak ditampilkan)",
        "set (never shown)",
    ),
    ("capi.token.unset", "belum dipasang", "not set"),
    ("capi.test_code", "Kode event uji", "Test event code"),
    ("capi.last_success", "Terakhir berhasil", "Last success"),
    ("capi.last_error", "Galat terakhir", "Last error"),
    ("capi.counts", "Event", "Events"),
    ("capi.n.sent", "terkirim", "sent"),
    ("capi.n.pending", "menunggu", "pending"),
    ("capi.n.rejected", "ditolak", "rejected"),
    ("capi.leads_unsent", "Lead tanpa kiriman", "Leads not sent"),
    ("capi.n.not_sendable", "tidak bisa dikirim", "not sendable"),
    ("capi.n.window_passed", "lewat 7 hari", "window passed"),
    ("capi.test", "Kirim event uji", "Send a test event"),
    (
        "capi.test.help",
        "Mengirim satu LeadSubmitted dengan kode event uji: muncul di Events Manager → Test events, tidak dihitung untuk iklan.",
        "Sends one LeadSubmitted with the test event code: it shows under Events Manager → Test events and counts for no ad.",
    ),
    (
        "capi.test.no_code",
        "Setel LEADS_META_TEST_EVENT_CODE (dari Events Manager → Test events) untuk mengirim event uji.",
        "Set LEADS_META_TEST_EVENT_CODE (from Events Manager → Test events) to send a test event.",
    ),
    (
        "capi.test.sent",
        "Event uji diterima Meta (events_received: {}). Periksa Test events di Events Manager.",
        "Meta received the test event (events_received: {}). Check Test events in Events Manager.",
    ),
    (
        "capi.test.failed",
        "Event uji gagal",
        "The test event failed",
    ),
    ("done", "Selesai.", "Done."),
    (
        "password.changed",
        "Kata sandi Anda sudah diganti. Masuk lagi dengan kata sandi baru.",
        "Your password was changed. Sign in again with the new one.",
    ),
    (
        "auth.invalid_name",
        "Nama berisi 1–64 huruf, angka, '.', '_', '-' atau '@'.",
        "A name is 1–64 letters, digits, '.', '_', '-' or '@'.",
    ),
    (
        "auth.weak_password",
        "Kata sandi minimal 12 karakter (maksimal 1024).",
        "A password needs at least 12 characters (and at most 1024).",
    ),
    (
        "auth.bad_password",
        "Kata sandi berisi 1–1024 karakter.",
        "A password is 1–1024 characters.",
    ),
    (
        "auth.taken",
        "Nama itu sudah dipakai.",
        "That name is taken.",
    ),
    (
        "auth.unknown",
        "Nama itu tidak ada.",
        "There is no such name.",
    ),
    (
        "auth.last_admin",
        "Admin terakhir tidak bisa dihapus.",
        "The last admin cannot be removed.",
    ),
    (
        "auth.bad_role",
        "Peran harus admin atau viewer.",
        "A role is admin or viewer.",
    ),
    (
        "confirm.revoke",
        "Cabut token {}? Integrasi yang memakainya berhenti bekerja.",
        "Revoke the token {}? Integrations using it stop working.",
    ),
    (
        "confirm.remove",
        "Hapus pengguna {}? Sesinya berakhir.",
        "Remove the user {}? Their sessions end.",
    ),
    (
        "admins_only",
        "Halaman ini hanya untuk admin.",
        "This page is for admins only.",
    ),
];

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Id, Lang::En];

    pub fn code(self) -> &'static str {
        match self {
            Lang::Id => "id",
            Lang::En => "en",
        }
    }

    pub fn from_code(code: &str) -> Option<Lang> {
        match code.trim().to_ascii_lowercase().get(..2)? {
            "id" | "in" => Some(Lang::Id),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The first language of an `Accept-Language` header we speak.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut langs: Vec<(f32, Lang)> = header
            .split(',')
            .filter_map(|part| {
                let mut it = part.split(';');
                let lang = Lang::from_code(it.next()?)?;
                let q = it
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.parse::<f32>().ok())
                    .unwrap_or(1.0);
                Some((q, lang))
            })
            .collect();
        // Stable: among equal weights the first listed wins.
        langs.sort_by(|a, b| b.0.total_cmp(&a.0));
        langs.first().map(|(_, l)| *l)
    }

    /// The text for `key`; the key itself if it has none (a bug, visible).
    /// A channel as people write it (`whatsapp` → WhatsApp, `other` →
    /// Lainnya); a channel without a name of its own as it is.
    pub fn channel(self, c: &str) -> String {
        match self.t(&format!("ch.{c}")) {
            "?" => c.to_owned(),
            name => name.to_owned(),
        }
    }

    pub fn t(self, key: &str) -> &'static str {
        texts()
            .find(|(k, _, _)| *k == key)
            .map(|(_, id, en)| match self {
                Lang::Id => *id,
                Lang::En => *en,
            })
            .unwrap_or("?")
    }

    /// `1.234.567` (Indonesian) or `1,234,567` (English).
    pub fn int(self, n: u64) -> String {
        let sep = match self {
            Lang::Id => '.',
            Lang::En => ',',
        };
        let digits = n.to_string();
        let mut out = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(sep);
            }
            out.push(c);
        }
        out
    }

    /// What separates whole units from decimals: `,` (Indonesian) or `.`.
    pub fn decimal_mark(self) -> &'static str {
        match self {
            Lang::Id => ",",
            Lang::En => ".",
        }
    }

    /// A share as a whole percent: `42%`.
    pub fn percent(self, part: u64, whole: u64) -> String {
        if whole == 0 {
            return "–".into();
        }
        format!("{}%", (part as f64 * 100.0 / whole as f64).round() as u64)
    }

    /// A duration for people: `45 dtk`, `2 mnt`, `3 jam 5 mnt`, `2 hari 3 jam`.
    pub fn duration(self, seconds: i64) -> String {
        let s = seconds.max(0);
        let (sec, min, hour, day) = match self {
            Lang::Id => ("dtk", "mnt", "jam", "hari"),
            Lang::En => ("s", "min", "h", "d"),
        };
        match s {
            0..60 => format!("{s} {sec}"),
            60..3_600 => format!("{} {min}", s / 60),
            3_600..86_400 => match (s / 3_600, (s % 3_600) / 60) {
                (h, 0) => format!("{h} {hour}"),
                (h, m) => format!("{h} {hour} {m} {min}"),
            },
            _ => match (s / 86_400, (s % 86_400) / 3_600) {
                (d, 0) => format!("{d} {day}"),
                (d, h) => format!("{d} {day} {h} {hour}"),
            },
        }
    }

    pub fn month(self, month: u32) -> &'static str {
        const ID: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des",
        ];
        const EN: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let i = (month.clamp(1, 12) - 1) as usize;
        match self {
            Lang::Id => ID[i],
            Lang::En => EN[i],
        }
    }

    /// A calendar day `YYYY-MM-DD` as `20 Nov` (with the year: `20 Nov 2026`).
    pub fn day(self, iso: &str, with_year: bool) -> String {
        let mut parts = iso.split('-');
        let (Some(y), Some(m), Some(d)) = (parts.next(), parts.next(), parts.next()) else {
            return iso.to_owned();
        };
        let (Ok(m), Ok(d)) = (m.parse::<u32>(), d.parse::<u32>()) else {
            return iso.to_owned();
        };
        if with_year {
            format!("{d} {} {y}", self.month(m))
        } else {
            format!("{d} {}", self.month(m))
        }
    }

    /// A local date and time: `27 Nov 2026 09.15` (Indonesian uses a dot
    /// between hours and minutes) or `27 Nov 2026 09:15`.
    pub fn date_time(self, year: i32, month: u32, day: u32, hour: u32, minute: u32) -> String {
        let sep = match self {
            Lang::Id => '.',
            Lang::En => ':',
        };
        format!(
            "{day} {} {year} {hour:02}{sep}{minute:02}",
            self.month(month)
        )
    }
}

/// Every text: the page's, and on the server the account pages' too.
fn texts() -> impl Iterator<Item = &'static (&'static str, &'static str, &'static str)> {
    let account: &[(&str, &str, &str)] = {
        #[cfg(feature = "ssr")]
        {
            ACCOUNT_TEXTS
        }
        #[cfg(not(feature = "ssr"))]
        {
            &[]
        }
    };
    TEXTS.iter().chain(account)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_has_both_languages() {
        for (k, id, en) in texts() {
            assert!(!id.is_empty() && !en.is_empty(), "{k}");
        }
        let mut keys: Vec<&str> = texts().map(|(k, _, _)| *k).collect();
        let n = keys.len();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), n, "a key is listed twice");
    }

    #[test]
    fn numbers_days_and_durations_follow_the_language() {
        assert_eq!(Lang::Id.int(1234567), "1.234.567");
        assert_eq!(Lang::En.int(1234), "1,234");
        assert_eq!(Lang::En.int(999), "999");
        assert_eq!(Lang::Id.date_time(2026, 11, 27, 9, 15), "27 Nov 2026 09.15");
        assert_eq!(Lang::En.date_time(2026, 8, 7, 19, 5), "7 Aug 2026 19:05");
        assert_eq!(Lang::Id.day("2026-08-17", false), "17 Agu");
        assert_eq!(Lang::Id.duration(40), "40 dtk");
        assert_eq!(Lang::En.duration(150), "2 min");
        assert_eq!(Lang::Id.duration(3 * 3600 + 300), "3 jam 5 mnt");
        assert_eq!(Lang::En.duration(2 * 86_400 + 3 * 3600), "2 d 3 h");
        assert_eq!(Lang::En.percent(1, 3), "33%");
    }

    #[test]
    fn accept_language_picks_the_first_we_speak() {
        assert_eq!(Lang::from_accept_language("en-US,en;q=0.9"), Some(Lang::En));
        assert_eq!(
            Lang::from_accept_language("id-ID,id;q=0.9,en;q=0.8"),
            Some(Lang::Id)
        );
        assert_eq!(
            Lang::from_accept_language("fr-FR;q=0.9,en;q=0.5"),
            Some(Lang::En)
        );
        assert_eq!(
            Lang::from_accept_language("en;q=0.4,id;q=0.8"),
            Some(Lang::Id)
        );
        assert_eq!(Lang::from_accept_language("de"), None);
    }
}
