#!/usr/bin/env python3
"""Seeded, deterministic generator of realistic chat traffic for the benchmarks.

    python3 bench/gen.py --scale 0.01 --out /tmp/events.ndjson [--events-per-lead 3]
        [--seed 42] [--end-day 2026-11-26] [--batch 1000] [--stats stats.json]

writes batches of `--batch` events as NDJSON, one JSON array per line, in
delivery order, and prints a summary (counts, ratios, expected totals) to stderr.

As a module:

    from gen import generate, write_batches
    for event in generate(scale=0.01, stats=stats): ...   # dicts in the API's format
    stats = write_batches("/tmp/events.ndjson", scale=0.01)

What it produces (1,000,000 x scale contacts over the 365 days ending end_day,
Asia/Jakarta): WhatsApp ~70% (phones written in four Indonesian habits, mixed
per event), Instagram ~15% and Messenger ~10% (external_id, no phone), web ~5%;
~40% with an e-mail; 200 ads (mostly Meta, some TikTok and Google) running in
campaign windows, ~60% of leads from an ad; agent / AI replies with log-normal
delays (agents sleep at night), ~10% of leads never answered, system greetings
and broadcasts (never a touch), 5% agent-only contacts (never a lead), 10%
returning customers, 2% duplicate deliveries, 5% late deliveries (held back
1-5 batches, first inbound messages included).

Streaming: contacts are made in time order and their events pass through a
heap that only holds the conversations still going on, plus a small reorder
buffer for late and duplicate deliveries, so memory stays flat at any scale.
Expected figures (leads per day, touched, per channel, per source, search
matches) are computed on the way and land in `stats`, so a driver can check
the server's totals. Standard library only.
"""
import argparse
import calendar
import csv
import datetime as dt
import heapq
import json
import math
import random
import sys
import time

JAKARTA = 7 * 3600
DAY = 86400
CONTACTS_AT_SCALE_1 = 1_000_000

FIRST_NAMES = """Budi Siti Agus Dewi Rina Andi Sri Ahmad Putri Eko Wahyu Fitri Dian Joko Rudi
Yuni Hendra Ratna Bambang Indah Teguh Lestari Arif Nur Dedi Ayu Fajar Intan Rizky Maya
Adi Wati Bayu Citra Dimas Eka Fauzi Gita Hadi Ika Iwan Kartika Lukman Mega Nanda Okta
Pratiwi Reza Sari Taufik Umi Vina Wulan Yoga Zainal Anisa Bagus Cahya Dwi Erna Fikri
Gilang Hana Ilham Joni Kurnia Lina Mira Novi Oki Purnama Rahmat Sinta Tri Utami Vera
Winda Yanti Yusuf Aditya Bella Cindy Dodi Evi Ferry Galih Hesti Irfan Jihan Kiki Laras
Muhammad Nia Oscar Puspita Rini Surya Tika Wawan Zahra Rangga Larasati Bima""".split()
LAST_NAMES = """Santoso Wijaya Saputra Hidayat Pratama Kusuma Siregar Nasution Lubis Harahap
Simanjuntak Sitompul Hutapea Pangaribuan Gunawan Setiawan Susanto Wibowo Purnomo Suryadi
Halim Tanjung Rahman Hakim Firmansyah Ramadhan Maulana Nugroho Prasetyo Kurniawan
Hartono Budiman Salim Sulistyo Utomo Wahyudi Syahputra Permana Hermawan Sembiring
Ginting Tarigan Manurung Situmorang Panjaitan Simatupang Batubara Daulay Pohan Rangkuti
Matondang Effendi Iskandar Rusli Syam Yusuf Anwar Putra Putri Lestari Wulandari
Handayani Rahayu Safitri Puspitasari Anggraini Permatasari Maharani Fitriani Susilo
Sugiarto Kartika Hendrawan Irawan Sinaga Tambunan Silalahi Napitupulu Marpaung Damanik
Purba Saragih Hasibuan Ritonga Pasaribu Gultom Simbolon Sihombing Pardede Lumbantobing
Manullang Sianturi Simorangkir Aritonang Sibarani Hutagalung Tobing Wirawan Gozali
Chandra Tanoto Sasmita""".split()
MOBILE_PREFIXES = ["811", "812", "813", "821", "822", "823", "851", "852", "853",
                   "855", "856", "857", "858", "859", "877", "878", "817", "818",
                   "819", "831", "838", "895", "896", "897", "898", "899", "881",
                   "882", "887", "888"]
EMAIL_DOMAINS = (["gmail.com"] * 12 + ["yahoo.co.id"] * 3 + ["yahoo.com"] * 2
                 + ["outlook.com", "hotmail.com", "ymail.com", "icloud.com",
                    "tokomakmur.co.id", "cvsejahtera.id"])
INBOUND_TEXTS = ["Halo kak, masih ada?", "Berapa harganya kak?", "Bisa COD?",
                 "Mau tanya ongkir ke Surabaya", "Ready stok ukuran L?", "Kak, promonya masih berlaku?",
                 "Saya mau order 2", "Sudah transfer ya kak", "Kapan dikirim?", "Ada warna lain?",
                 "Terima kasih kak", "Halo", "Info lebih lanjut dong", "Bisa kirim ke Medan?",
                 "Apakah ada garansi?", "Minta katalognya kak", "P", "Ok siap", "Resi nya mana kak?",
                 "Diskonnya berapa persen?"]
OUTBOUND_TEXTS = ["Halo kak, terima kasih sudah menghubungi kami 🙏", "Masih ada kak, mau ukuran apa?",
                  "Harganya Rp149.000 kak, lagi promo", "Bisa COD kak untuk area Jabodetabek",
                  "Ongkirnya Rp18.000 ya kak", "Baik kak, pesanan sudah kami catat",
                  "Ini katalog terbaru kak", "Sudah dikirim kak, resi JNE menyusul",
                  "Ada kak, warna hitam, navy dan maroon", "Sama-sama kak, ditunggu order berikutnya"]
SYSTEM_GREETINGS = ["Terima kasih telah menghubungi kami. Tim kami akan segera membalas.",
                    "Halo! Jam operasional kami 08.00-21.00 WIB.",
                    "Hai kak, ada yang bisa kami bantu? (pesan otomatis)"]
BROADCASTS = ["PROMO GAJIAN! Diskon 25% semua produk sampai Minggu. Balas YA untuk info.",
              "Flash sale 12.12 mulai jam 12 siang, jangan sampai kehabisan!",
              "Halo kak, ada koleksi baru minggu ini. Mau lihat katalognya?"]
CAMPAIGNS = ["Promo 12.12", "Flash Sale 11.11", "Ramadan Sale", "Gratis Ongkir", "Diskon Akhir Tahun",
             "Harbolnas", "Promo Gajian", "New Arrival", "Cashback 50%", "Beli 1 Gratis 1",
             "Promo Lebaran", "Back to School", "Promo 9.9", "Payday Sale", "Clearance Sale"]
AD_FORMATS = {"meta": ["Carousel", "Video", "Single Image", "Story", "Reels"],
              "tiktok": ["In-Feed", "Spark Ads", "TopView"],
              "google": ["Search", "Performance Max", "Display"]}
WEBSITE_SOURCES = [
    {"platform": "website", "type": "link", "name": "Tombol WhatsApp di toko.example.id",
     "url": "https://toko.example.id/"},
    {"platform": "website", "type": "qr", "name": "QR kasir Cabang Bandung"},
    {"platform": "website", "type": "link", "name": "Link di bio Instagram",
     "url": "https://toko.example.id/bio"},
]
# Ramadan (busier chat commerce), then Lebaran holidays (quieter).
RAMADAN = [("2025-03-01", "2025-03-30"), ("2026-02-18", "2026-03-19"), ("2027-02-08", "2027-03-09")]
LEBARAN = [("2025-03-31", "2025-04-04"), ("2026-03-20", "2026-03-24"), ("2027-03-10", "2027-03-14")]
# Share of new contacts per local hour in Jakarta: lunch and evening peaks.
HOUR_WEIGHTS = [0.3, 0.15, 0.1, 0.08, 0.1, 0.3, 0.6, 1.0, 1.5, 2.0, 2.4, 2.5,
                2.3, 2.2, 2.0, 1.9, 1.8, 1.9, 2.2, 2.6, 2.9, 2.8, 2.0, 1.0]

# Channel -> (share, id prefix, share with an e-mail). E-mail shares give ~40% overall.
CHANNELS = [("whatsapp", 0.70, "wamid", 0.38), ("instagram", 0.15, "ig", 0.35),
            ("messenger", 0.10, "m", 0.40), ("web", 0.05, "web", 0.75)]
P_AGENT_ONLY = 0.05        # outbound only, never a lead
P_UNANSWERED = 0.10        # leads nobody answers
P_RETURNING = 0.10         # a second session days later
P_AD = 0.60                # first inbound from an ad
P_WEBSITE = 0.05           # first inbound from a website link / QR
P_PRIOR_BROADCAST = 0.03   # business wrote first (broadcast or agent), customer answers days later
P_GREETING = 0.30          # automatic greeting after the first inbound
P_DUPLICATE = 0.02
P_LATE = 0.05
# Outcomes (shared/spec/outcomes.md): ~20% of leads buy (a WhatsApp lead's
# phone is what an order carries, so buyers are drawn from those: 0.2 / 0.7),
# within the 28-day attribution window; a year of daily spend for 500 Meta
# ads (the generator's Meta ads first, then ads no lead names).
P_BUYER_WHATSAPP = 0.2 / 0.7
SPEND_ADS_AT_SCALE_1 = 500
ADS_MANAGER_HEADER = ["Day", "Ad ID", "Ad name", "Campaign name", "Amount spent (IDR)"]


def _splitmix(x):
    """A fixed 64-bit mix, for per-contact values that must not depend on rng order."""
    x = (x + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return x ^ (x >> 31)


def _geom(rng, mean):
    """Geometric count >= 0 with the given mean (long tail, like chat lengths)."""
    if mean <= 0:
        return 0
    return int(math.log(1.0 - rng.random()) / math.log(mean / (1.0 + mean)))


def _jakarta_midnight(day):
    """UTC epoch seconds of 00:00 Asia/Jakarta on a date."""
    return calendar.timegm(day.timetuple()) - JAKARTA


def _ts(epoch, z):
    if z:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
    return time.strftime("%Y-%m-%dT%H:%M:%S+07:00", time.gmtime(epoch + JAKARTA))


def phone_national(i):
    """The national significant number (11 digits, `812xxxxxxxx`) of contact i.

    A pure function of i, unique for i < 10**8 (odd multiplier not divisible
    by 5 is a bijection modulo 10**8)."""
    prefix = MOBILE_PREFIXES[_splitmix(i) % len(MOBILE_PREFIXES)]
    return prefix + "%08d" % ((i * 48271 + 3141592) % 100_000_000)


def phone_formats(nat):
    """The four ways the same number is written across events."""
    return [f"0{nat[:3]}-{nat[3:7]}-{nat[7:]}",          # 0812-3456-7890
            f"62{nat}",                                 # 6281234567890 (WhatsApp wa_id)
            f"+62 {nat[:3]} {nat[3:7]} {nat[7:]}",      # +62 812 3456 7890
            f"0{nat}"]                                  # 081234567890


def phone_queries(e164):
    """Search strings for one phone in several habits: (label, q)."""
    nat = e164[3:]
    return [("national part 0812… (8 digits)", "0" + nat[:7]),
            ("62812… (full)", "62" + nat),
            ("+62 0812… (full, trunk 0 kept)", f"+62 0{nat[:3]} {nat[3:7]} {nat[7:]}"),
            ("0062812… (8 national digits)", "0062" + nat[:8])]


def phone_query_matches(q, e164):
    """What the spec's phone search should find: digits of q inside the number's
    E.164 digits or national form, after reading `00` and `+62 0` habits."""
    d = "".join(ch for ch in q if ch.isdigit())
    if d.startswith("00"):
        d = d[2:]
    if d.startswith("620"):
        d = "62" + d[3:]
    return d in e164[1:] or d in "0" + e164[3:]


class _Contact:
    __slots__ = ("i", "channel", "prefix", "nat", "ext", "n", "n_first_in")

    def __init__(self, i, channel, prefix, nat, ext):
        self.i, self.channel, self.prefix, self.nat, self.ext = i, channel, prefix, nat, ext
        self.n = 0
        self.n_first_in = -1


class _Generator:
    def __init__(self, scale, events_per_lead, seed, end_day, batch_size, stats):
        self.rng = random.Random(seed)
        self.seed = seed
        self.n_contacts = max(1, round(CONTACTS_AT_SCALE_1 * scale))
        self.end_day = dt.date.fromisoformat(end_day)
        self.first_day = self.end_day - dt.timedelta(days=364)
        self.start_ts = _jakarta_midnight(self.first_day)
        self.end_ts = _jakarta_midnight(self.end_day) + DAY
        self.batch = batch_size
        # Mean chat length, tuned so all events / contacts ~= events_per_lead
        # (greetings, resolved events, second sessions and short unanswered
        # chats shift the raw mean).
        self.mean_msgs = max(0.0, (events_per_lead - 2.0) / 0.857)
        self._make_ads()
        self.stats = stats if stats is not None else {}
        self._init_stats(scale, events_per_lead, seed, end_day)
        self.heap = []          # (occurred epoch, seq, contact, event tuple): conversations in flight
        self.seq = 0
        self.delayed = []       # (release at emitted count, seq, event dict): late and duplicate deliveries
        self.emitted = 0
        self.pre_sample = []    # leads seen before the search sample was chosen
        self.sample = None
        # The purchases themselves are kept only when asked for (write_batches'
        # conversions_path: ~40 bytes each, 190k at scale 1); their figures always.
        self.want_conversions = False
        self.conversions = []   # (contact number, phone, epoch, value in hundredths)

    # ---- ads -------------------------------------------------------------
    def _make_ads(self):
        """200 ads with ids, names and a campaign window; popularity is Zipf-like."""
        r = random.Random(self.seed * 7919 + 1)
        plats = ["meta"] * 150 + ["tiktok"] * 30 + ["google"] * 20
        r.shuffle(plats)
        plats[0] = "meta"       # the most popular ad is a Meta ad (bench filters on its id)
        self.ads = []
        for k, plat in enumerate(plats, 1):
            if plat == "meta":
                aid = "120210" + "%012d" % r.randrange(10**12)
                url = f"https://fb.me/{aid[-8:]}"
            elif plat == "tiktok":
                aid = "17" + "%017d" % r.randrange(10**17)
                url = f"https://www.tiktok.com/@toko.example/video/{aid}"
            else:
                aid = "%011d" % r.randrange(10**10, 10**11)
                url = f"https://toko.example.id/promo?utm_campaign={aid}"
            name = f"{r.choice(CAMPAIGNS)} {r.choice(AD_FORMATS[plat])} #{k}"
            src = {"platform": plat, "type": "ad", "id": aid, "name": name}
            if r.random() < 0.8:
                src["url"] = url
            # First 10 ads run all year, the others 2 weeks to 7 months.
            if k <= 10:
                a, b = 0, 365
            else:
                length = r.randint(14, 200)
                a = r.randint(-length // 2, 364)
                b = min(365, a + length)
                a = max(0, a)
            weight = 1.0 / k ** 0.6
            self.ads.append((src, a, b, weight))
        self.top_ad = self.ads[0][0]
        # Per day and channel group, the ads running and their cumulative weights.
        groups = {"whatsapp": ("meta", "tiktok", "google"), "instagram": ("meta",),
                  "messenger": ("meta",), "web": ("google", "meta")}
        self.ad_tables = {}
        for ch, allowed in groups.items():
            table = []
            for d in range(365):
                live = [(s, w) for s, a, b, w in self.ads if a <= d < b and s["platform"] in allowed]
                cum, tot = [], 0.0
                for _, w in live:
                    tot += w
                    cum.append(tot)
                table.append(([s for s, _ in live], cum))
            self.ad_tables[ch] = table

    def _pick_ad(self, channel, ts):
        d = min(364, max(0, (ts - self.start_ts) // DAY))
        srcs, cum = self.ad_tables[channel][d]
        return self.rng.choices(srcs, cum_weights=cum)[0]

    # ---- stats -----------------------------------------------------------
    def _init_stats(self, scale, epl, seed, end_day):
        s = self.stats
        s.update(scale=scale, events_per_lead_target=epl, seed=seed, end_day=end_day,
                 first_day=self.first_day.isoformat(), batch_size=self.batch,
                 contacts=self.n_contacts, events=0, deliveries=0, duplicates=0, late=0,
                 late_first_inbound=0, leads=0, agent_only=0, returning=0, touched=0,
                 untouched=0, with_email=0, from_ad=0, prior_outbound=0, greetings=0,
                 by_channel={c[0]: 0 for c in CHANNELS}, by_first_platform={},
                 leads_by_channel={c[0]: 0 for c in CHANNELS},
                 leads_by_day=[0] * 365, touched_by_day=[0] * 365, top_ad=self.top_ad, top_ad_leads=0,
                 ads=len(self.ads), max_in_flight=0,
                 conversions=0, revenue_minor=0, buyers_by_day=[0] * 365, revenue_by_day=[0] * 365)

    def _account(self, c, tl):
        """Expected figures for one contact from its full timeline (rules 2, 5, 6, 7)."""
        s = self.stats
        s["events"] += len(tl)
        s["by_channel"][c.channel] += 1
        inbound = [e for e in tl if e[2] == "in"]
        if not inbound:
            s["agent_only"] += 1
            return
        lead_ts = min(e[0] for e in inbound)
        day = (lead_ts - self.start_ts) // DAY
        s["leads"] += 1
        s["leads_by_day"][day] += 1
        s["leads_by_channel"][c.channel] += 1     # every event of a contact is on one channel
        touched = any(e[2] in ("agent", "ai") and e[0] >= lead_ts for e in tl)
        s["touched" if touched else "untouched"] += 1
        if touched:
            s["touched_by_day"][day] += 1
        key = lambda e: (e[0], f"{c.prefix}.b{c.i}.{e[1]}")
        sourced = sorted((e for e in inbound if e[3] is not None), key=key)
        first = sourced[0][3] if sourced else None
        plat = first["platform"] if first else "organic"
        s["by_first_platform"][plat] = s["by_first_platform"].get(plat, 0) + 1
        if first is not None and first.get("type") == "ad":
            s["from_ad"] += 1
        if first is self.top_ad:
            s["top_ad_leads"] += 1
        if c.nat:
            self._conversion(c, lead_ts, day)
        named = [e for e in tl if e[4]]
        name = max(named, key=key)[4] if named else ""
        mailed = [e for e in tl if e[5]]
        email = max(mailed, key=key)[5] if mailed else ""
        if email:
            s["with_email"] += 1
        phone = "+62" + c.nat if c.nat else ""
        lead = (c, name, email, phone, touched)
        if self.sample is None:
            # The search sample: the first WhatsApp lead with a full name and an e-mail.
            self.pre_sample.append(lead)
            if phone and email and " " in name and name.isascii():
                self._choose_sample(lead)
        else:
            self._count_search(lead)

    def _conversion(self, c, lead_ts, day):
        """Maybe one purchase for this lead, from a hash of its number (the
        shared rng is left alone, so the events are the same with or without
        conversions): 10 minutes to 27 days after its first message, before
        the year ends, Rp 25,000-1,000,000 (some with cents)."""
        h = _splitmix(self.seed * 1_000_003 + c.i)
        if (h % 1_000_000) >= P_BUYER_WHATSAPP * 1_000_000:
            return
        h2 = _splitmix(h)
        delay = 600 + (h2 % (27 * DAY - 600))
        at = min(lead_ts + delay, self.end_ts - 1)
        value = 25_000_00 + (h2 >> 20) % (975_000_00)          # hundredths
        if (h2 >> 50) % 4:
            value -= value % 100                                 # most prices are whole rupiah
        s = self.stats
        s["conversions"] += 1
        s["revenue_minor"] += value
        s["buyers_by_day"][day] += 1
        s["revenue_by_day"][day] += value
        if self.want_conversions:
            self.conversions.append((c.i, "+62" + c.nat, at, value))

    def _choose_sample(self, lead):
        c, name, email, phone, _ = lead
        self.sample = {"contact": c.i, "name": name, "email": email, "phone": phone}
        s = self.stats
        s["sample"] = self.sample
        s["search"] = {"name": {"q": "santoso", "expected": 0},
                       "email": {"q": email.split("@")[0], "expected": 0}}
        for label, q in phone_queries(phone):
            s["search"]["phone: " + label] = {"q": q, "expected": 0}
        for lead in self.pre_sample:
            self._count_search(lead)
        self.pre_sample = []

    def _count_search(self, lead):
        _, name, email, phone, _ = lead
        for label, item in self.stats["search"].items():
            q = item["q"]
            if label.startswith("phone"):
                hit = bool(phone) and phone_query_matches(q, phone)
            else:
                hit = q in name.lower() or q in email.lower()
            if hit:
                item["expected"] += 1

    # ---- contacts ---------------------------------------------------------
    def _day_counts(self):
        """Contacts per day: growth over the year, weekends, twin-date promos, Ramadan."""
        def within(day, ranges):
            return any(dt.date.fromisoformat(a) <= day <= dt.date.fromisoformat(b) for a, b in ranges)
        weights = []
        for d in range(365):
            day = self.first_day + dt.timedelta(days=d)
            w = 0.75 + 0.5 * d / 364
            w *= {5: 1.1, 6: 1.15}.get(day.weekday(), 1.0)
            if day.month == day.day:
                w *= 2.5                      # 9.9, 10.10, 11.11, 12.12 ...
            elif day.day == day.month + 1:
                w *= 1.4
            if day.day == 25:
                w *= 1.3                      # payday
            if within(day, RAMADAN):
                w *= 1.3
            if within(day, LEBARAN):
                w *= 0.5
            weights.append(w)
        total, cum, counts, prev = sum(weights), 0.0, [], 0
        for w in weights:
            cum += w
            upto = round(self.n_contacts * cum / total)
            counts.append(upto - prev)
            prev = upto
        return counts

    def _new_contact(self, i):
        r = self.rng.random()
        acc = 0.0
        for channel, share, prefix, _ in CHANNELS:
            acc += share
            if r < acc:
                break
        nat = ext = None
        if channel == "whatsapp":
            nat = phone_national(i)
        elif channel == "instagram":
            ext = "178414" + "%011d" % ((i * 7919 + 12345) % 10**11)
        elif channel == "messenger":
            ext = "2" + "%015d" % ((i * 104729 + 777) % 10**15)
        else:
            ext = "v-%012x" % ((i * 2654435761 + 99) % 16**12)
        return _Contact(i, channel, prefix, nat, ext)

    def _names(self, c):
        """(display name, e-mail, a later different name or None)."""
        rng = self.rng
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        r = rng.random()
        if c.channel == "instagram" and r < 0.3:
            name = rng.choice([f"{first.lower()}.{last.lower()}", f"{first.lower()}_{rng.randint(1, 99)}",
                               f"{first.lower()}.shop", f"{first.lower()}{last.lower()}"])
        elif r < 0.55:
            name = f"{first} {last}"
        elif r < 0.78:
            name = first
        elif r < 0.84:
            name = f"{rng.choice(['Bu', 'Pak', 'Kak', 'Mas', 'Mbak'])} {first}"
        elif r < 0.89:
            name = f"{first} {last}".lower()
        elif r < 0.92:
            name = f"{first} {rng.choice(['🌸', '✨', '🙏', '❤️'])}"
        elif r < 0.94:
            name = f"{first} {last} {rng.choice(LAST_NAMES)}"
        else:
            name = ""                      # no profile name
        email = ""
        share = next(x[3] for x in CHANNELS if x[0] == c.channel)
        if rng.random() < share:
            local = rng.choice([f"{first}.{last}", f"{first}{last}", f"{first}_{last}", first]).lower()
            num = rng.choice(["", str(rng.randint(1, 99)), str(rng.randint(1975, 2006))])
            email = f"{local}{num}@{rng.choice(EMAIL_DOMAINS)}"
        later = None
        if rng.random() < 0.03:
            later = f"{first} {rng.choice(LAST_NAMES)}"   # the profile name changed
        return name, email, later

    def _reply_delay(self, responder, first_in_session):
        rng = self.rng
        if responder == "ai":
            return max(2, int(rng.lognormvariate(math.log(20), 0.8)))
        median = 240 if first_in_session else 60
        return max(5, min(3 * DAY, int(rng.lognormvariate(math.log(median), 1.5))))

    def _agent_hours(self, ts):
        """Agents mostly wait until the morning (08:00 Jakarta) to answer night messages."""
        local_h = ((ts + JAKARTA) % DAY) // 3600
        if (local_h >= 22 or local_h < 8) and self.rng.random() < 0.8:
            midnight = ts - (ts + JAKARTA) % DAY
            morning = midnight + 8 * 3600 + (DAY if local_h >= 22 else 0)
            return morning + int(self.rng.lognormvariate(math.log(1800), 0.7))
        return ts

    def _session(self, c, t0, n_msgs, answered, source0, responder, tl, first_session):
        """Append one conversation to the timeline; returns the time of its last event.

        Timeline entries: (epoch, n, role, source, name or "", email or "", phone format)
        with role in: in, agent, ai, system, res."""
        rng = self.rng
        t, last, replies, count = t0, "in", 0, 1
        tl.append([t0, 0, "in", source0])
        if first_session and rng.random() < P_GREETING:
            tl.append([t0 + rng.randint(1, 5), 0, "system", None])
            self.stats["greetings"] += 1
            count += 1
        if not answered:
            n_msgs = min(n_msgs, 1 + _geom(rng, 0.5))      # nobody answers: the customer gives up
        while count < n_msgs:
            if answered and (last == "in" and rng.random() < 0.75 or last != "in" and rng.random() < 0.3):
                who = responder if responder != "mixed" else ("ai" if replies < 2 else "agent")
                t += self._reply_delay(who, replies == 0)
                if who == "agent":
                    t = self._agent_hours(t)
                tl.append([t, 0, who, None])
                replies += 1
                last = who
            else:
                t += max(3, int(rng.lognormvariate(math.log(120), 1.2)))
                src = None
                if rng.random() < 0.08:
                    # A later click: mostly a different ad (Last Source), sometimes the same.
                    src = source0 if source0 is not None and rng.random() < 0.4 else self._pick_ad(c.channel, t)
                tl.append([t, 0, "in", src])
                last = "in"
            count += 1
        if answered and not replies:
            # Answered means at least one reply, even to a one-message chat.
            who = "agent" if responder == "agent" else "ai"
            t += self._reply_delay(who, True)
            if who == "agent":
                t = self._agent_hours(t)
            tl.append([t, 0, who, None])
            replies = 1
        if answered and rng.random() < 0.25:
            t += rng.randint(60, 7200)
            tl.append([t, 0, "res", None])
        return t

    def _timeline(self, c, start):
        """Every event of one contact, in time order, already clipped to the window."""
        rng, s = self.rng, self.stats
        name, email, later_name = self._names(c)
        tl = []
        if rng.random() < P_AGENT_ONLY:
            # Outbound only (an agent or a broadcast wrote, the customer never answered).
            t = start
            for _ in range(1 + _geom(rng, 0.8)):
                tl.append([t, 0, "agent" if rng.random() < 0.6 else "system", None])
                t += rng.randint(3600, 3 * DAY)
        else:
            t0 = start
            if rng.random() < P_PRIOR_BROADCAST:
                tl.append([start, 0, "system" if rng.random() < 0.7 else "agent", None])
                t0 = start + rng.randint(3600, 10 * DAY)
                s["prior_outbound"] += 1
            r = rng.random()
            if r < P_AD:
                source0 = self._pick_ad(c.channel, t0)
            elif r < P_AD + P_WEBSITE:
                source0 = rng.choice(WEBSITE_SOURCES)
            else:
                source0 = None
            answered = rng.random() >= P_UNANSWERED
            rr = rng.random()
            responder = "ai" if rr < 0.35 else "agent" if rr < 0.85 else "mixed"
            n1 = 1 + _geom(rng, self.mean_msgs)
            t = self._session(c, t0, n1, answered, source0, responder, tl, True)
            if rng.random() < P_RETURNING:
                t2 = t + int(1.5 * DAY + rng.lognormvariate(math.log(10 * DAY), 1.0))
                if t2 < self.end_ts:
                    r = rng.random()
                    src2 = (self._pick_ad(c.channel, t2) if r < 0.5
                            else rng.choice(WEBSITE_SOURCES) if r < 0.6 else None)
                    self._session(c, t2, 1 + _geom(rng, self.mean_msgs / 2),
                                  rng.random() < 0.9, src2, responder, tl, False)
                    s["returning"] += 1
        tl = [e for e in tl if e[0] < self.end_ts]
        # Identity details per event: the name on most inbound messages (channel
        # profile), rarely on outbound ones; the e-mail once it is known.
        email_from = 0 if rng.random() < 0.5 else rng.randint(0, max(0, len(tl) - 1))
        change_at = rng.randint(1, len(tl)) if later_name and len(tl) > 1 else None
        for k, e in enumerate(tl):
            c.n += 1
            e[1] = c.n
            nm = later_name if change_at is not None and k >= change_at else name
            inbound = e[2] == "in"
            e.append(nm if nm and (rng.random() < 0.95 if inbound else rng.random() < 0.1) else "")
            e.append(email if email and (k == email_from or k > email_from and rng.random() < 0.3) else "")
            e.append(rng.randrange(4) if rng.random() < 0.7 else 1)     # wa_id form is the most common
        return [tuple(e) for e in tl]

    def _event(self, c, e):
        ts, n, role, src, name, email, fmt = e
        ev = {"id": f"{c.prefix}.b{c.i}.{n}", "occurred_at": _ts(ts, (c.i + n) % 5 == 0),
              "channel": c.channel}
        if role == "res":
            ev["kind"] = "resolved"
        else:
            if (c.i + n) % 10 == 3:
                ev["kind"] = "message"
            ev["direction"] = "inbound" if role == "in" else "outbound"
            if role != "in":
                ev["sender"] = role
        contact = {"phone": phone_formats(c.nat)[fmt]} if c.nat else {"external_id": c.ext}
        if name:
            contact["name"] = name
        if email:
            contact["email"] = email
        ev["contact"] = contact
        if src is not None:
            ev["source"] = src
        if role == "in":
            ev["text"] = INBOUND_TEXTS[(c.i * 7 + n) % len(INBOUND_TEXTS)]
        elif role == "system":
            ev["text"] = (SYSTEM_GREETINGS if n > 1 else BROADCASTS)[(c.i + n) % 3]
        elif role != "res":
            ev["text"] = OUTBOUND_TEXTS[(c.i * 3 + n) % len(OUTBOUND_TEXTS)]
        if c.channel == "whatsapp" and (c.i + n) % 20 == 7:
            ev["metadata"] = {"phone_number_id": "106540352242922"}   # unknown field: ignored
        return ev

    # ---- delivery ---------------------------------------------------------
    def _deliver(self, ev, out, first_inbound):
        """Send now, or hold back 1-5 batches (late); maybe send again (duplicate)."""
        rng, s = self.rng, self.stats
        if rng.random() < P_LATE:
            heapq.heappush(self.delayed, (self.emitted + rng.randint(self.batch, 5 * self.batch), self.seq, ev))
            self.seq += 1
            s["late"] += 1
            if first_inbound:
                s["late_first_inbound"] += 1
        else:
            out.append(ev)
            self.emitted += 1
        if rng.random() < P_DUPLICATE:
            heapq.heappush(self.delayed, (self.emitted + rng.randint(0, 3 * self.batch), self.seq, dict(ev)))
            self.seq += 1
            s["duplicates"] += 1
        while self.delayed and self.delayed[0][0] <= self.emitted:
            out.append(heapq.heappop(self.delayed)[2])
            self.emitted += 1

    def _flush(self, until, out):
        heap = self.heap
        while heap and heap[0][0] < until:
            _, _, c, e = heapq.heappop(heap)
            self._deliver(self._event(c, e), out, e[2] == "in" and e[1] == c.n_first_in)

    def events(self):
        rng, out, i = self.rng, [], 0
        for d, count in enumerate(self._day_counts()):
            midnight = self.start_ts + d * DAY
            hours = rng.choices(range(24), weights=HOUR_WEIGHTS, k=count)
            starts = sorted(midnight + h * 3600 + rng.randrange(3600) for h in hours)
            for start in starts:
                self._flush(start, out)
                c = self._new_contact(i)
                i += 1
                tl = self._timeline(c, start)
                self._account(c, tl)
                first_in = min((e for e in tl if e[2] == "in"), default=None)
                c.n_first_in = first_in[1] if first_in else -1
                for e in tl:
                    heapq.heappush(self.heap, (e[0], self.seq, c, e))
                    self.seq += 1
                if len(self.heap) > self.stats["max_in_flight"]:
                    self.stats["max_in_flight"] = len(self.heap)
                if out:
                    self.stats["deliveries"] += len(out)
                    yield from out
                    out.clear()
        self._flush(float("inf"), out)
        while self.delayed:
            out.append(heapq.heappop(self.delayed)[2])
        self.stats["deliveries"] += len(out)
        yield from out
        self._finish()

    def _finish(self):
        s = self.stats
        if self.sample is None:
            s["sample"], s["search"] = None, {}
        n = max(1, s["contacts"])
        s["ratios"] = {
            "events_per_contact": round(s["events"] / n, 3),
            "events_per_lead": round(s["events"] / max(1, s["leads"]), 3),
            "leads": round(s["leads"] / n, 4),
            "agent_only": round(s["agent_only"] / n, 4),
            "untouched_of_leads": round(s["untouched"] / max(1, s["leads"]), 4),
            "returning_of_leads": round(s["returning"] / max(1, s["leads"]), 4),
            "from_ad_of_leads": round(s["from_ad"] / max(1, s["leads"]), 4),
            "with_email": round(s["with_email"] / max(1, s["leads"]), 4),
            "duplicates": round(s["duplicates"] / max(1, s["events"]), 4),
            "late": round(s["late"] / max(1, s["events"]), 4),
            "channels": {k: round(v / n, 4) for k, v in s["by_channel"].items()},
        }


def generate(scale=1.0, events_per_lead=3, seed=42, end_day="2026-11-26", batch_size=1000, stats=None):
    """Yield events (dicts in the API's format) in delivery order.

    `stats`, when given a dict, is filled with counts and expected figures;
    complete once the generator is exhausted."""
    return _Generator(scale, events_per_lead, seed, end_day, batch_size, stats).events()


def batches(events, size=1000):
    """Group an event stream into lists of `size`."""
    batch = []
    for ev in events:
        batch.append(ev)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def write_batches(path, scale=1.0, events_per_lead=3, seed=42, end_day="2026-11-26", batch_size=1000,
                  progress=None, conversions_path=None):
    """Write NDJSON batches (one JSON array per line) to path ('-' = stdout); returns the stats.

    With `conversions_path`, the purchases (`kind: conversion`) go there,
    in batches of the same size, to be sent after the events."""
    stats = {}
    g = _Generator(scale, events_per_lead, seed, end_day, batch_size, stats)
    g.want_conversions = conversions_path is not None
    out = sys.stdout if path == "-" else open(path, "w", encoding="utf-8")
    try:
        n = 0
        for batch in batches(g.events(), batch_size):
            out.write(json.dumps(batch, ensure_ascii=False, separators=(",", ":")))
            out.write("\n")
            n += 1
            if progress and n % 500 == 0:
                progress(n, stats)
        stats["batches"] = n
    finally:
        if out is not sys.stdout:
            out.close()
    if conversions_path:
        stats["conversion_batches"] = write_conversions(conversions_path, g.conversions, batch_size)
    return stats


def conversion_event(conv):
    """A purchase as `POST /api/v1/events` takes it (value as a string, as an order system sends it)."""
    i, phone, at, value = conv
    return {"id": f"order-{i}", "kind": "conversion", "occurred_at": _ts(at, i % 3 == 0),
            "contact": {"phone": phone},
            "conversion": {"type": "purchase", "value": f"{value // 100}.{value % 100:02d}" if value % 100
                           else str(value // 100), "currency": "IDR"}}


def write_conversions(path, conversions, batch_size=1000):
    """The purchases as NDJSON batches; returns the number of batches."""
    n = 0
    with open(path, "w", encoding="utf-8") as out:
        for batch in batches(map(conversion_event, conversions), batch_size):
            out.write(json.dumps(batch, ensure_ascii=False, separators=(",", ":")))
            out.write("\n")
            n += 1
    return n


def write_spend_csv(path, scale=1.0, seed=42, end_day="2026-11-26"):
    """A year of daily spend as Meta Ads Manager exports it (Breakdown by
    Day, Ads level): SPEND_ADS_AT_SCALE_1 x scale Meta ads, every day of the
    365 to end_day. Returns the expected sums: rows, total and per day (in
    hundredths), ads, and how many of the ads leads name."""
    g = _Generator(scale, 3, seed, end_day, 1000, {})
    n_ads = max(1, round(SPEND_ADS_AT_SCALE_1 * scale))
    r = random.Random(seed * 31 + 5)
    ads = [(src["id"], src["name"], w) for src, _, _, w in g.ads if src["platform"] == "meta"][:n_ads]
    named = len(ads)
    while len(ads) < n_ads:
        k = len(ads) + 1
        ads.append(("120219" + "%012d" % r.randrange(10**12),
                    f"{r.choice(CAMPAIGNS)} {r.choice(AD_FORMATS['meta'])} (no chats) #{k}", 0.05))
    by_day, total, rows = [0] * 365, 0, 0
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("\ufeff")
        w = csv.writer(f)
        w.writerow(ADS_MANAGER_HEADER)
        for d in range(365):
            day = (g.first_day + dt.timedelta(days=d)).isoformat()
            for ad_id, name, weight in ads:
                # Ads Manager leaves the cell empty for an ad that spent nothing.
                if r.random() < 0.03:
                    w.writerow([day, ad_id, name, name.split(" #")[0], ""])
                    rows += 1
                    continue
                minor = int(2_000_000 * weight * (0.5 + r.random())) * 100 + (r.randrange(100) if r.random() < 0.2 else 0)
                amount = f"{minor // 100}.{minor % 100:02d}" if minor % 100 else str(minor // 100)
                w.writerow([day, ad_id, name, name.split(" #")[0], amount])
                by_day[d] += minor
                total += minor
                rows += 1
    return {"rows": rows, "ads": n_ads, "ads_with_leads": named, "total_minor": total, "by_day_minor": by_day}


def summary_text(s):
    r = s["ratios"]
    lines = [
        f"contacts {s['contacts']}, leads {s['leads']} ({r['leads']:.1%}), agent-only {s['agent_only']}",
        f"events {s['events']} distinct, deliveries {s['deliveries']} in {s.get('batches', '?')} batches "
        f"(duplicates {s['duplicates']} = {r['duplicates']:.1%}, late {s['late']} = {r['late']:.1%}, "
        f"late first inbound {s['late_first_inbound']})",
        f"events per contact {r['events_per_contact']}, per lead {r['events_per_lead']}",
        "channels " + ", ".join(f"{k} {v:.1%}" for k, v in r["channels"].items()),
        f"leads: from an ad {r['from_ad_of_leads']:.1%}, untouched {r['untouched_of_leads']:.1%}, "
        f"returning {r['returning_of_leads']:.1%}, with e-mail {r['with_email']:.1%}, "
        f"business wrote first {s['prior_outbound']}, greetings {s['greetings']}",
        "first source " + ", ".join(f"{k} {v}" for k, v in sorted(s["by_first_platform"].items())),
        f"top ad {s['top_ad']['id']} ({s['top_ad']['name']}): {s['top_ad_leads']} leads",
        f"max events in flight {s['max_in_flight']}",
        f"purchases {s['conversions']} ({s['conversions'] / max(1, s['leads']):.1%} of leads), "
        f"revenue Rp {s['revenue_minor'] / 100:,.2f}",
    ]
    if s.get("sample"):
        lines.append(f"search sample: {s['sample']}")
        lines += [f"  q={v['q']!r} ({k}): expected {v['expected']}" for k, v in s["search"].items()]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=1.0, help="1.0 = 1,000,000 contacts")
    ap.add_argument("--events-per-lead", type=float, default=3)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--end-day", default="2026-11-26", help="last day (Asia/Jakarta) of the 365")
    ap.add_argument("--batch", type=int, default=1000, help="events per line (the API takes up to 1000)")
    ap.add_argument("--out", default="-", help="NDJSON file, '-' for stdout")
    ap.add_argument("--stats", help="also write the stats as JSON here")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()
    t = time.perf_counter()
    progress = None if a.quiet else (
        lambda n, s: print(f"  {n} batches written, {s['events']} events generated", file=sys.stderr))
    stats = write_batches(a.out, a.scale, a.events_per_lead, a.seed, a.end_day, a.batch, progress)
    stats["seconds"] = round(time.perf_counter() - t, 2)
    if a.stats:
        with open(a.stats, "w", encoding="utf-8") as f:
            json.dump(stats, f, ensure_ascii=False, indent=1)
    if not a.quiet:
        print(summary_text(stats), file=sys.stderr)
        print(f"generated in {stats['seconds']} s", file=sys.stderr)


if __name__ == "__main__":
    main()
