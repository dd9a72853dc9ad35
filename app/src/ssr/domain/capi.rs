//! The Conversions API for Business Messaging (`shared/spec/meta-capi.md`),
//! pure: which of a lead's outcomes Meta is told about, the events' exact
//! shape, and what Meta's answers mean. No I/O, no clock ("now" is passed).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::event::ConversionType;
use super::money::{self, Minor};
use super::rules::{AdClick, ContactState, Stamped, Terms, attributed};
use super::secret::hex;

/// An outcome more than this long after the click is not sent: Meta no
/// longer attributes it.
pub fn window() -> Duration {
    Duration::days(7)
}

/// "Closing soon" lists the sendable ad leads whose window ends within
/// this long with nothing sent (the API's list and the Leads page's card).
pub fn closing_within() -> Duration {
    Duration::hours(48)
}

/// The most leads "closing soon" lists.
pub const CLOSING_MAX: usize = 200;

/// The most events one request carries.
pub const BATCH_MAX: usize = 1000;

/// The Graph API version events are posted to.
pub const GRAPH_VERSION: &str = "v21.0";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EventName {
    LeadSubmitted,
    Purchase,
}

impl EventName {
    pub fn as_str(self) -> &'static str {
        match self {
            EventName::LeadSubmitted => "LeadSubmitted",
            EventName::Purchase => "Purchase",
        }
    }
}

/// What becomes of an outcome before anything is posted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Goes to the outbox.
    Send,
    /// Cannot be sent; the reason is a stable code (`no_click`,
    /// `no_click_id`, `no_account`, `no_user_id`, `detected_by_meta`,
    /// `before_click`).
    NotSendable(&'static str),
    /// More than [`window`] after the click.
    WindowPassed,
}

/// One outcome of a lead that Meta could be told about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Stable for the lead and the outcome, so a resend is deduplicated.
    pub event_id: String,
    pub name: EventName,
    pub at: DateTime<Utc>,
    /// Purchases: the amount in hundredths.
    pub value: Option<Minor>,
    /// The conversion event it comes from (none for an engaged lead).
    pub conversion: Option<String>,
    pub plan: Plan,
}

fn digest(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes())[..16])
}

/// What names the person at Meta: the click id (with the id of the
/// message that carried it when another person holds that id too: a
/// contact's key can change, the message cannot), or account and user.
fn click_identity(c: &Stamped<AdClick>) -> String {
    let c_id = &c.stamp.id;
    let c = &c.value;
    match &c.clid {
        Some(clid) if c.shared => format!("clid:{clid}|{c_id}"),
        Some(clid) => format!("clid:{clid}"),
        None => format!(
            "{}:{}:{}",
            c.channel,
            c.account.as_deref().unwrap_or(""),
            c.user.as_deref().unwrap_or("")
        ),
    }
}

/// Why a lead without a click cannot be sent: it came from a Meta ad
/// whose click's identifiers never arrived (an API event without
/// `ctwa_clid`), or it is not from a Meta ad at all.
pub fn no_click(state: &ContactState) -> &'static str {
    let meta_ad = state
        .first_source
        .as_ref()
        .is_some_and(|s| s.value.platform.eq_ignore_ascii_case("meta") && s.value.kind == "ad");
    if meta_ad { "no_click_id" } else { "no_click" }
}

/// A lead's outcomes under `terms` (only a lead has any): one
/// `LeadSubmitted` at the first of engaged and the qualified or submitted
/// details that count for the lead, and a `Purchase` per purchase; each
/// with what becomes of it. An outcome more than 7 days after the click is
/// not sent (the spec's rule: the outcome's time against the click's,
/// whenever it is learnt). With `late`, an outcome whose window had closed
/// by then is not sent either: the queueing at start of outcomes known
/// before sending was set up, and the detail of one never queued, which
/// would not be sent now.
pub fn outcomes(state: &ContactState, terms: &Terms, late: Option<DateTime<Utc>>) -> Vec<Outcome> {
    if !state.is_lead() {
        return Vec::new();
    }
    let click = state.click.as_ref();
    let person = match click {
        Some(c) => click_identity(c),
        None => format!("key:{}", state.key),
    };
    let plan = |at: DateTime<Utc>, by_meta: bool| plan_of(state, at, by_meta, late);
    let mut out = Vec::new();
    if let Some((at, conversion, by_meta)) = lead_submitted(state, terms, state.engaged_at(terms)) {
        out.push(Outcome {
            event_id: format!("ls-{}", digest(&person)),
            name: EventName::LeadSubmitted,
            at,
            value: None,
            conversion: conversion.map(str::to_owned),
            plan: plan(at, by_meta),
        });
    }
    for c in state
        .conversions
        .iter()
        .filter(|c| c.kind == ConversionType::Purchase)
    {
        out.push(Outcome {
            event_id: format!("pu-{}", digest(&c.id)),
            name: EventName::Purchase,
            at: c.at,
            value: Some(c.value.unwrap_or(0)),
            conversion: Some(c.id.clone()),
            plan: plan(c.at, c.meta),
        });
    }
    out
}

/// What becomes of an outcome at `at` (`by_meta`: Meta detected it).
fn plan_of(
    state: &ContactState,
    at: DateTime<Utc>,
    by_meta: bool,
    late: Option<DateTime<Utc>>,
) -> Plan {
    match state.click.as_ref() {
        None => Plan::NotSendable(no_click(state)),
        Some(c) => match c.value.missing() {
            Some(why) => Plan::NotSendable(why),
            None if by_meta => Plan::NotSendable("detected_by_meta"),
            None if at < c.stamp.at => Plan::NotSendable("before_click"),
            None if at - c.stamp.at > window() => Plan::WindowPassed,
            None if late.is_some_and(|now| now - c.stamp.at > window()) => Plan::WindowPassed,
            None => Plan::Send,
        },
    }
}

/// The moment of the lead's `LeadSubmitted`: the earliest of engaged (at
/// `engaged_at`) and its qualified / lead_submitted conversions that count
/// for it under `terms` (`outcomes.md`: at or after its Date and within the
/// attribution window; one from before, a CRM import of someone who had not
/// written yet, say, sets nothing), with the conversion, and whether Meta
/// detected it.
fn lead_submitted<'a>(
    state: &'a ContactState,
    terms: &Terms,
    engaged_at: Option<DateTime<Utc>>,
) -> Option<(DateTime<Utc>, Option<&'a str>, bool)> {
    let engaged = engaged_at.map(|at| (at, None, false));
    let date = state.date();
    let submitted = state
        .conversions
        .iter()
        .filter(|c| {
            matches!(
                c.kind,
                ConversionType::Qualified | ConversionType::LeadSubmitted
            ) && date.is_some_and(|d| attributed(d, terms.attribution, c.at))
        })
        .map(|c| (c.at, Some(c.id.as_str()), c.meta))
        .min();
    [engaged, submitted].into_iter().flatten().min()
}

/// When a sendable lead's outcomes fall against its click's [`window`]
/// (what the settings count): whether one came after it, so is not sent
/// ("window passed"), and whether one came within it, so is sent when it is
/// known in time. Meta's own detections are neither (Meta has them).
/// `engaged_at` as [`ContactState::engaged_at`] gives it under `terms`.
pub fn timing(state: &ContactState, terms: &Terms, engaged_at: Option<DateTime<Utc>>) -> Timing {
    let mut t = Timing::default();
    if !state.is_lead()
        || state
            .click
            .as_ref()
            .is_none_or(|c| c.value.missing().is_some())
    {
        return t;
    }
    let moments = lead_submitted(state, terms, engaged_at)
        .map(|(at, _, by_meta)| (at, by_meta))
        .into_iter()
        .chain(
            state
                .conversions
                .iter()
                .filter(|c| c.kind == ConversionType::Purchase)
                .map(|c| (c.at, c.meta)),
        );
    for (at, by_meta) in moments {
        match plan_of(state, at, by_meta, None) {
            Plan::WindowPassed => t.late = true,
            Plan::Send => t.in_time = true,
            Plan::NotSendable(_) => {}
        }
    }
    t
}

/// See [`timing`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timing {
    pub late: bool,
    pub in_time: bool,
}

/// The event as Meta takes it (one item of `data`).
pub fn event_json(o: &Outcome, click: &AdClick, currency: &str) -> Value {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let (channel, user_data) = match click.channel.as_str() {
        "whatsapp" => (
            "whatsapp",
            json!({"whatsapp_business_account_id": text(&click.account), "ctwa_clid": text(&click.clid)}),
        ),
        "instagram" => (
            "instagram",
            json!({"ig_account_id": text(&click.account), "ig_sid": text(&click.user)}),
        ),
        _ => (
            "messenger",
            json!({"page_id": text(&click.account), "page_scoped_user_id": text(&click.user)}),
        ),
    };
    let mut ev = json!({
        "event_name": o.name.as_str(),
        "event_time": o.at.timestamp(),
        "event_id": o.event_id,
        "action_source": "business_messaging",
        "messaging_channel": channel,
        "user_data": user_data,
    });
    if let (EventName::Purchase, Some(v)) = (o.name, o.value) {
        ev["custom_data"] = json!({"value": money::to_json(v), "currency": currency});
    }
    ev
}

/// The settings' test event (sent with the test event code, so that it
/// shows under Test events in Events Manager and nowhere else): a
/// `LeadSubmitted` at `at` naming the person of `click`, the lead clicked
/// last, so that Meta can match it; placeholders before any lead has one.
pub fn test_event(at: DateTime<Utc>, click: Option<&AdClick>) -> Value {
    let placeholder = AdClick {
        channel: "whatsapp".into(),
        clid: Some("test".into()),
        account: Some("test".into()),
        user: None,
        shared: false,
    };
    let o = Outcome {
        event_id: format!("test-{}", at.timestamp()),
        name: EventName::LeadSubmitted,
        at,
        value: None,
        conversion: None,
        plan: Plan::Send,
    };
    event_json(&o, click.unwrap_or(&placeholder), "")
}

/// The outcomes of `state` to queue: planned `Send`, as (outcome, event)
/// (`late` as for [`outcomes`]).
pub fn to_send(
    state: &ContactState,
    terms: &Terms,
    currency: &str,
    late: Option<DateTime<Utc>>,
) -> Vec<(Outcome, Value)> {
    let Some(click) = state.click.as_ref() else {
        return Vec::new();
    };
    outcomes(state, terms, late)
        .into_iter()
        .filter(|o| o.plan == Plan::Send)
        .map(|o| {
            let ev = event_json(&o, &click.value, currency);
            (o, ev)
        })
        .collect()
}

/// A request's body: the events, and the test event code when one is set.
pub fn request_json(events: &[Value], test_event_code: Option<&str>) -> Value {
    let mut body = json!({ "data": events });
    if let Some(code) = test_event_code.filter(|c| !c.is_empty()) {
        body["test_event_code"] = json!(code);
    }
    body
}

/// What an answer of Meta's means for the events of its request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    Sent {
        events_received: Option<i64>,
        fbtrace_id: Option<String>,
    },
    /// A 4xx other than 429 and the Graph API's rate limits: every event of
    /// the request is rejected with Meta's message, and not retried.
    Rejected {
        message: String,
        subcode: Option<i64>,
        fbtrace_id: Option<String>,
    },
    /// A 5xx or 429 (or no answer): tried again later.
    Retry { why: String },
}

/// Reads Meta's answer (status and body).
pub fn classify(status: u16, body: &[u8]) -> Reply {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let err = &v["error"];
    let trace = v["fbtrace_id"]
        .as_str()
        .or_else(|| err["fbtrace_id"].as_str())
        .map(str::to_owned);
    let why = || match err["message"].as_str() {
        Some(m) => format!("HTTP {status}: {}", clip(m)),
        None => format!("HTTP {status}"),
    };
    match status {
        200..=299 => Reply::Sent {
            events_received: v["events_received"].as_i64(),
            fbtrace_id: trace,
        },
        // 408: the request timed out on the way (a time-out, retried). The
        // Graph API's rate limits come as a 4xx with their own codes: a
        // 429 in all but name, so retried as one (never lost).
        408 | 429 | 500..=599 => Reply::Retry { why: why() },
        400..=499 if matches!(err["code"].as_i64(), Some(4 | 17 | 32 | 613 | 80004)) => {
            Reply::Retry { why: why() }
        }
        _ => Reply::Rejected {
            message: match err["message"].as_str() {
                Some(m) => clip(m),
                None => format!("HTTP {status}"),
            },
            subcode: err["error_subcode"].as_i64(),
            fbtrace_id: trace,
        },
    }
}

/// Meta's messages are shown as they are, within reason.
fn clip(m: &str) -> String {
    m.chars().take(500).collect()
}

/// How long to wait before the `tries`-th retry: doubling from `first`
/// seconds, at most an hour.
pub fn backoff(first: i64, tries: u32) -> Duration {
    let secs = first.max(1).saturating_mul(1i64 << tries.min(20));
    Duration::seconds(secs.min(3600))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Source;
    use crate::ssr::domain::event::{Conversion, Direction, Event, Kind, Sender};
    use chrono::TimeZone;

    fn at(min: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0)
            .single()
            .expect("time")
            + Duration::minutes(min)
    }

    fn ev(id: &str, min: i64, kind: Kind, dir: Option<Direction>, sender: Sender) -> Event {
        Event {
            id: id.into(),
            kind,
            occurred_at: at(min),
            channel: "whatsapp".into(),
            direction: dir,
            sender,
            sender_known: false,
            click_shared: false,
            contact_key: "+628111".into(),
            phone: Some("+628111".into()),
            external_id: None,
            name: None,
            email: None,
            source: None,
            ctwa_clid: None,
            meta_account: None,
            aliases: Vec::new(),
            conversion: None,
        }
    }

    fn click_msg(id: &str, min: i64, waba: Option<&str>) -> Event {
        let mut e = ev(
            id,
            min,
            Kind::Message,
            Some(Direction::Inbound),
            Sender::Customer,
        );
        e.source = Some(Source {
            platform: "meta".into(),
            kind: "ad".into(),
            id: Some("AD1".into()),
            name: None,
            url: None,
        });
        e.ctwa_clid = Some("CL1".into());
        e.meta_account = waba.map(str::to_owned);
        e
    }

    fn purchase(id: &str, min: i64, value: Minor, meta: bool) -> Event {
        let mut e = ev(id, min, Kind::Conversion, None, Sender::System);
        e.conversion = Some(Conversion {
            kind: ConversionType::Purchase,
            value: Some(value),
            currency: Some("IDR".into()),
            detected_by_meta: meta,
        });
        e
    }

    fn qualified(id: &str, min: i64) -> Event {
        let mut e = ev(id, min, Kind::Conversion, None, Sender::System);
        e.conversion = Some(Conversion {
            kind: ConversionType::Qualified,
            value: None,
            currency: None,
            detected_by_meta: false,
        });
        e
    }

    fn fold(events: &[Event]) -> ContactState {
        let mut s = ContactState::new("+628111");
        for e in events {
            s.apply(e);
        }
        s
    }

    /// A click-to-WhatsApp message at minute 0, an agent's answer at 2 and
    /// the customer's reply at 3: an engaged lead.
    fn engaged_click() -> Vec<Event> {
        vec![
            click_msg("m1", 0, Some("WABA1")),
            ev(
                "r1",
                2,
                Kind::Message,
                Some(Direction::Outbound),
                Sender::Agent,
            ),
            ev(
                "m2",
                3,
                Kind::Message,
                Some(Direction::Inbound),
                Sender::Customer,
            ),
        ]
    }

    #[test]
    fn an_engaged_buyer_gives_one_lead_submitted_and_a_purchase() {
        let terms = Terms::default();
        let mut evs = engaged_click();
        evs.push(purchase("p1", 60, 15_000_000, false));
        let s = fold(&evs);
        let sent = to_send(&s, &terms, "IDR", None);
        assert_eq!(sent.len(), 2);
        let (ls, ev0) = &sent[0];
        assert_eq!((ls.name, ls.at), (EventName::LeadSubmitted, at(3)));
        assert_eq!(
            ev0,
            &json!({"event_name": "LeadSubmitted", "event_time": at(3).timestamp(), "event_id": ls.event_id,
                "action_source": "business_messaging", "messaging_channel": "whatsapp",
                "user_data": {"whatsapp_business_account_id": "WABA1", "ctwa_clid": "CL1"}})
        );
        assert_eq!(
            sent[1].1["custom_data"],
            json!({"value": 150000, "currency": "IDR"})
        );
        // Stable ids: folding again in another order gives the same.
        let again = fold(&[
            purchase("p1", 60, 15_000_000, false),
            ev(
                "m2",
                3,
                Kind::Message,
                Some(Direction::Inbound),
                Sender::Customer,
            ),
            ev(
                "r1",
                2,
                Kind::Message,
                Some(Direction::Outbound),
                Sender::Agent,
            ),
            click_msg("m1", 0, Some("WABA1")),
        ]);
        assert_eq!(to_send(&again, &terms, "IDR", None), sent);
    }

    /// A qualified conversion from before the lead's Date (a CRM import 3
    /// days before the person first wrote) does not count for the lead, so
    /// sets no moment: the lead's LeadSubmitted is its engaged message,
    /// sent, not one "before the click".
    #[test]
    fn a_qualified_conversion_before_the_leads_date_leaves_lead_submitted_at_engaged() {
        let terms = Terms::default();
        let day = 24 * 60;
        let mut evs = vec![qualified("q0", -3 * day)];
        evs.extend(engaged_click());
        let s = fold(&evs);
        assert_eq!(s.date(), Some(at(0)));
        assert_eq!(s.engaged_at(&terms), Some(at(3)));
        let all = outcomes(&s, &terms, None);
        assert_eq!(all.len(), 1);
        let ls = &all[0];
        assert_eq!(
            (ls.name, ls.at, ls.conversion.as_deref(), &ls.plan),
            (EventName::LeadSubmitted, at(3), None, &Plan::Send)
        );
        let sent = to_send(&s, &terms, "IDR", None);
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].1["event_time"], at(3).timestamp());
        assert!(timing(&s, &terms, s.engaged_at(&terms)).in_time);
    }

    /// "Window passed" is an outcome after the click's 7 days, not one Meta
    /// detected itself, nor one within them.
    #[test]
    fn window_passed_is_an_outcome_after_the_clicks_seven_days() {
        let terms = Terms::default();
        let day = 24 * 60;
        let click = click_msg("m1", 0, Some("WABA1"));
        let passed = |events: &[Event]| {
            let s = fold(events);
            timing(&s, &terms, s.engaged_at(&terms)).late
        };
        assert!(!passed(&[click.clone()]));
        assert!(!passed(&[click.clone(), purchase("p1", 30, 100, false)]));
        // Meta's own detection is never sent: not "window passed".
        assert!(!passed(&[click.clone(), purchase("p1", 30, 100, true)]));
        assert!(!passed(&[
            click.clone(),
            purchase("p1", 10 * day, 100, true)
        ]));
        assert!(passed(&[
            click.clone(),
            purchase("p1", 10 * day, 100, false)
        ]));
        // One late purchase among timely ones.
        assert!(passed(&[
            click.clone(),
            purchase("p1", 30, 100, false),
            purchase("p2", 8 * day, 100, false)
        ]));
        // Without a sendable click nothing is late.
        let mut organic = click;
        organic.ctwa_clid = None;
        organic.source = None;
        assert!(!passed(&[organic, purchase("p1", 10 * day, 100, false)]));
    }

    /// A lead from a Meta ad whose click id never came says so, not "not
    /// from a Meta ad click".
    #[test]
    fn a_meta_ad_lead_without_its_click_id_says_that() {
        let organic = ev(
            "m1",
            0,
            Kind::Message,
            Some(Direction::Inbound),
            Sender::Customer,
        );
        let mut from_ad = organic.clone();
        from_ad.source = Some(Source {
            platform: "meta".into(),
            kind: "ad".into(),
            id: Some("120".into()),
            name: None,
            url: None,
        });
        assert_eq!(no_click(&fold(&[organic])), "no_click");
        let s = fold(&[from_ad, purchase("p1", 5, 100, false)]);
        assert_eq!(no_click(&s), "no_click_id");
        let plans: Vec<Plan> = outcomes(&s, &Terms::default(), None)
            .into_iter()
            .map(|o| o.plan)
            .collect();
        assert_eq!(plans, vec![Plan::NotSendable("no_click_id")]);
    }

    /// On Instagram and Messenger the click is a Meta ad's referral: an ad
    /// of another platform, or a website's referral, is no click.
    #[test]
    fn another_platforms_ad_on_instagram_is_no_click() {
        for (platform, kind) in [("google", "ad"), ("website", "referral"), ("meta", "ad")] {
            let mut m = ev(
                "m1",
                0,
                Kind::Message,
                Some(Direction::Inbound),
                Sender::Customer,
            );
            m.channel = "instagram".into();
            m.phone = None;
            m.contact_key = "instagram:IGX1".into();
            m.external_id = Some("IGX1".into());
            m.meta_account = Some("IGACC".into());
            m.source = Some(Source {
                platform: platform.into(),
                kind: kind.into(),
                id: Some("AD9".into()),
                name: None,
                url: None,
            });
            let mut p = purchase("p1", 5, 100, false);
            p.channel = "instagram".into();
            p.phone = None;
            p.contact_key = "instagram:IGX1".into();
            p.external_id = Some("IGX1".into());
            let s = fold(&[m, p]);
            let plan = outcomes(&s, &Terms::default(), None)[0].plan.clone();
            if platform == "meta" {
                assert_eq!(plan, Plan::Send, "{platform}");
            } else {
                assert!(s.click.is_none(), "{platform}");
                assert_eq!(plan, Plan::NotSendable("no_click"), "{platform}");
            }
        }
    }

    #[test]
    fn what_is_not_sent_says_why() {
        let terms = Terms::default();
        // No click: not sendable.
        let s = fold(&[
            ev(
                "m1",
                0,
                Kind::Message,
                Some(Direction::Inbound),
                Sender::Customer,
            ),
            purchase("p1", 5, 100, false),
        ]);
        assert_eq!(
            outcomes(&s, &terms, None)[0].plan,
            Plan::NotSendable("no_click")
        );
        // A click without its account.
        let s = fold(&[click_msg("m1", 0, None), purchase("p1", 5, 100, false)]);
        assert_eq!(
            outcomes(&s, &terms, None)[0].plan,
            Plan::NotSendable("no_account")
        );
        // Past the window, detected by Meta, inside the window at its edge.
        let week = 7 * 24 * 60;
        let s = fold(&[
            click_msg("m1", 0, Some("W")),
            purchase("p1", week, 100, false),
            purchase("p2", week + 1, 100, false),
            purchase("p3", 10, 100, true),
        ]);
        let plans: Vec<_> = outcomes(&s, &terms, None)
            .into_iter()
            .map(|o| (o.conversion, o.plan))
            .collect();
        assert!(plans.contains(&(Some("p1".into()), Plan::Send)));
        assert!(plans.contains(&(Some("p2".into()), Plan::WindowPassed)));
        assert!(plans.contains(&(Some("p3".into()), Plan::NotSendable("detected_by_meta"))));
        // Learnt after the window closed, the purchase in it is still sent
        // (the spec's rule is its time against the click's)...
        assert_eq!(
            to_send(&s, &terms, "IDR", None)
                .iter()
                .filter_map(|(o, _)| o.conversion.clone())
                .collect::<Vec<_>>(),
            ["p1".to_owned()]
        );
        // ...but not by the queueing at start of what was known before.
        let late = outcomes(&s, &terms, Some(at(week + 1)));
        assert!(late.iter().all(|o| o.plan != Plan::Send));
        // A known customer is no lead: nothing at all.
        let mut s = fold(&[click_msg("m1", 0, Some("W")), purchase("p1", 5, 100, false)]);
        s.mark_known_customer();
        assert!(outcomes(&s, &terms, None).is_empty());
    }

    #[test]
    fn messenger_and_instagram_name_the_page_and_the_user() {
        let o = Outcome {
            event_id: "x".into(),
            name: EventName::LeadSubmitted,
            at: at(0),
            value: None,
            conversion: None,
            plan: Plan::Send,
        };
        let click = |channel: &str| AdClick {
            channel: channel.into(),
            clid: None,
            account: Some("PAGE".into()),
            user: Some("PSID".into()),
            shared: false,
        };
        let m = event_json(&o, &click("messenger"), "IDR");
        assert_eq!(m["messaging_channel"], "messenger");
        assert_eq!(
            m["user_data"],
            json!({"page_id": "PAGE", "page_scoped_user_id": "PSID"})
        );
        let i = event_json(&o, &click("instagram"), "IDR");
        assert_eq!(i["messaging_channel"], "instagram");
        assert_eq!(
            i["user_data"],
            json!({"ig_account_id": "PAGE", "ig_sid": "PSID"})
        );
    }

    /// Two people whose messages carried one click id (Meta's example
    /// placeholder, say; the second marked shared by the store): each
    /// lead's LeadSubmitted has an id of its own, and the click's owner
    /// keeps the id the click alone gives.
    #[test]
    fn a_shared_click_id_still_gives_each_lead_its_own_event_id() {
        let terms = Terms::default();
        let lead = |phone: &str, shared: bool| {
            let mut click = click_msg("m1", 0, Some("WABA1"));
            click.click_shared = shared;
            let reply = ev(
                "r1",
                2,
                Kind::Message,
                Some(Direction::Outbound),
                Sender::Agent,
            );
            let again = ev(
                "m2",
                3,
                Kind::Message,
                Some(Direction::Inbound),
                Sender::Customer,
            );
            let mut s = ContactState::new(phone);
            for mut e in [click, reply, again] {
                e.contact_key = phone.into();
                s.apply(&e);
            }
            outcomes(&s, &terms, None)
        };
        let (owner, other) = (lead("+62811", false), lead("+62812", true));
        assert_eq!(owner[0].name, EventName::LeadSubmitted);
        assert_eq!(other[0].name, EventName::LeadSubmitted);
        assert_eq!(other[0].plan, Plan::Send);
        assert_ne!(owner[0].event_id, other[0].event_id);
        assert_eq!(owner[0].event_id, format!("ls-{}", digest("clid:CL1")));
    }

    /// The test event names a real lead's click when there is one.
    #[test]
    fn the_test_event_names_the_latest_click_or_placeholders() {
        let at = at(0);
        let ig = AdClick {
            channel: "instagram".into(),
            clid: None,
            account: Some("IG1".into()),
            user: Some("IGSID".into()),
            shared: false,
        };
        let e = test_event(at, Some(&ig));
        assert_eq!(e["event_name"], "LeadSubmitted");
        assert_eq!(e["event_time"], at.timestamp());
        assert_eq!(e["messaging_channel"], "instagram");
        assert_eq!(
            e["user_data"],
            json!({"ig_account_id": "IG1", "ig_sid": "IGSID"})
        );
        let e = test_event(at, None);
        assert_eq!(e["messaging_channel"], "whatsapp");
        assert_eq!(
            e["user_data"],
            json!({"whatsapp_business_account_id": "test", "ctwa_clid": "test"})
        );
    }

    #[test]
    fn answers_are_read_as_meta_means_them() {
        assert_eq!(
            classify(200, br#"{"events_received": 2, "fbtrace_id": "T1"}"#),
            Reply::Sent {
                events_received: Some(2),
                fbtrace_id: Some("T1".into())
            }
        );
        assert_eq!(
            classify(400, br#"{"error": {"message": "Invalid parameter", "error_subcode": 2804003, "fbtrace_id": "T2"}}"#),
            Reply::Rejected { message: "Invalid parameter".into(), subcode: Some(2804003), fbtrace_id: Some("T2".into()) }
        );
        // The token, a permission or the dataset: rejected like a refused
        // event, with Meta's message (the status when there is none).
        for (status, body, message) in [
            (
                400,
                r#"{"error": {"message": "Error validating access token", "code": 190, "error_subcode": 463}}"#,
                "Error validating access token",
            ),
            (
                400,
                r#"{"error": {"message": "Permissions error", "code": 200}}"#,
                "Permissions error",
            ),
            (
                400,
                r#"{"error": {"message": "Unsupported post request", "code": 100, "error_subcode": 33}}"#,
                "Unsupported post request",
            ),
            (401, "", "HTTP 401"),
        ] {
            assert!(
                matches!(
                    classify(status, body.as_bytes()),
                    Reply::Rejected { message: m, .. } if m == message
                ),
                "{body}"
            );
        }
        assert!(matches!(classify(429, b""), Reply::Retry { .. }));
        let limit = br#"{"error": {"message": "User request limit reached", "code": 17}}"#;
        assert!(matches!(classify(400, limit), Reply::Retry { .. }));
        assert!(matches!(classify(503, b"<html>"), Reply::Retry { .. }));
        assert!(matches!(classify(408, b""), Reply::Retry { .. }));
        assert!(matches!(classify(404, b"<html>"), Reply::Rejected { .. }));
        assert_eq!(backoff(2, 0), Duration::seconds(2));
        assert_eq!(backoff(2, 3), Duration::seconds(16));
        assert_eq!(backoff(2, 30), Duration::seconds(3600));
        assert_eq!(
            request_json(&[json!({"a": 1})], Some("TEST1")),
            json!({"data": [{"a": 1}], "test_event_code": "TEST1"})
        );
    }
}
