//! Two copies of one event: the same id through two intakes (a WhatsApp
//! message through Meta's webhook and through Chatwoot, `channels.md`:
//! "one event"). The copies can differ: Chatwoot stamps its own time, a
//! second or two after Meta's; its copy of an automation's reply says
//! `system` where Meta's status says only that a reply went out. Keeping
//! the copy that came first made a lead depend on the order of delivery
//! (`channels.md`: "the same set of deliveries gives the same leads in any
//! order"). [`join`] makes one event of both, field by field, so that the
//! result is the same in any order, and again the same when a copy comes
//! back (each field is a minimum or a maximum of the copies).

use super::event::{Event, Kind, Sender};
use crate::model::Source;

/// Both copies of a WhatsApp message (`wa:` id) as one event, or `None`:
/// for any other repeat, and for copies that name other contacts (unless
/// one copy ties the other's key to its own), kinds,
/// directions or channels; then the first stored stays, as a repeated id
/// does (`events.md`).
///
/// - the time: the earlier (Meta's for a customer's message, the moment an
///   agent sent it in Chatwoot for a reply);
/// - the sender: the one an intake knew (Chatwoot's, the Business app's
///   echo, a sending tool's tag) over one inferred from a status's
///   category; of two alike the more specific (`system` over `ai` over
///   `agent`);
/// - each detail (phone, user id, name, e-mail, click id, account): the one
///   copy that has it, or of two different the one that sorts first;
/// - the source: one with an ad id over one without, else the one that
///   sorts first, with the other copy's name and link of the same source;
/// - the identifiers tied: both copies'.
pub fn join(a: &Event, b: &Event) -> Option<Event> {
    // Only a WhatsApp message reaches us through two intakes under one id;
    // any other repeat is ignored, whatever it carries (`events.md`).
    if a.kind != Kind::Message || !a.id.starts_with(WHATSAPP_ID) {
        return None;
    }
    // Two keys are one person when a copy ties them itself (Chatwoot's
    // copy names the number an agent edited and ties the WhatsApp number
    // Meta's copy names).
    let same_person = a.contact_key == b.contact_key
        || a.aliases.contains(&b.contact_key)
        || b.aliases.contains(&a.contact_key);
    if a.id != b.id
        || a.kind != b.kind
        || a.direction != b.direction
        || a.channel != b.channel
        || !same_person
        || a.conversion != b.conversion
    {
        return None;
    }
    // Of two keys the one that sorts first, the other tied to it.
    let contact_key = a.contact_key.clone().min(b.contact_key.clone());
    let mut aliases: Vec<String> = a
        .aliases
        .iter()
        .chain(&b.aliases)
        .chain([&a.contact_key, &b.contact_key])
        .filter(|k| **k != contact_key)
        .cloned()
        .collect();
    aliases.sort_unstable();
    aliases.dedup();
    Some(Event {
        id: a.id.clone(),
        kind: a.kind,
        occurred_at: a.occurred_at.min(b.occurred_at),
        channel: a.channel.clone(),
        direction: a.direction,
        sender: if (b.sender_known, rank(b.sender)) > (a.sender_known, rank(a.sender)) {
            b.sender
        } else {
            a.sender
        },
        sender_known: a.sender_known || b.sender_known,
        contact_key,
        phone: either(&a.phone, &b.phone),
        external_id: either(&a.external_id, &b.external_id),
        name: either(&a.name, &b.name),
        email: either(&a.email, &b.email),
        source: match (&a.source, &b.source) {
            (Some(x), Some(y)) => Some(join_source(x, y)),
            (x, y) => x.clone().or_else(|| y.clone()),
        },
        ctwa_clid: either(&a.ctwa_clid, &b.ctwa_clid),
        click_shared: a.click_shared || b.click_shared,
        meta_account: either(&a.meta_account, &b.meta_account),
        aliases,
        conversion: a.conversion.clone(),
    })
}

/// The id prefix of a WhatsApp message (`channels.md`: `wa:` + Meta's id,
/// whichever intake it came through).
const WHATSAPP_ID: &str = "wa:";

fn rank(s: Sender) -> u8 {
    match s {
        Sender::Customer => 0,
        Sender::Agent => 1,
        Sender::Ai => 2,
        Sender::System => 3,
    }
}

/// The copy that has it, or the smaller of two.
fn either(a: &Option<String>, b: &Option<String>) -> Option<String> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y).clone()),
        (x, y) => x.clone().or_else(|| y.clone()),
    }
}

/// Two copies' sources: the one that sorts first by what it is (one with an
/// ad id first), with the other's name and link when it is the same source
/// and lacks them (Meta's copy names the ad's headline, Chatwoot's may not).
fn join_source(x: &Source, y: &Source) -> Source {
    let (kx, ky) = (identity(x), identity(y));
    if kx != ky {
        return if ky < kx { y.clone() } else { x.clone() };
    }
    Source {
        name: either(&x.name, &y.name),
        url: either(&x.url, &y.url),
        ..x.clone()
    }
}

/// What a source is: with an id, its platform, kind and id; without, also
/// its name (`outcomes.md`: sources without id are told by their name).
fn identity(s: &Source) -> (bool, &str, &str, Option<&str>, Option<&str>) {
    (
        s.id.is_none(),
        s.platform.as_str(),
        s.kind.as_str(),
        s.id.as_deref(),
        s.id.is_none().then_some(s.name.as_deref()).flatten(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::domain::event::test_batch;

    fn copies() -> (Event, Event) {
        let v = test_batch(serde_json::json!([
            {"id": "wa:wamid.X", "occurred_at": "2026-11-20T09:00:00Z", "channel": "whatsapp",
             "direction": "inbound", "contact": {"phone": "+6281234567890", "name": "Budi"},
             "source": {"platform": "meta", "type": "ad", "id": "120200001"}, "ctwa_clid": "CLID"},
            {"id": "wa:wamid.X", "occurred_at": "2026-11-20T09:00:02Z", "channel": "whatsapp",
             "direction": "inbound", "contact": {"phone": "+6281234567890", "name": "Budi S",
             "email": "budi@example.com"}}
        ]));
        (v[0].clone(), v[1].clone())
    }

    #[test]
    fn the_copies_make_one_event_in_either_order() {
        let (meta, chatwoot) = copies();
        let j = join(&meta, &chatwoot).expect("one event");
        assert_eq!(Some(&j), join(&chatwoot, &meta).as_ref());
        assert_eq!(j.occurred_at, meta.occurred_at);
        assert_eq!(j.source, meta.source);
        assert_eq!(j.ctwa_clid.as_deref(), Some("CLID"));
        assert_eq!(j.email.as_deref(), Some("budi@example.com"));
        assert_eq!(j.name.as_deref(), Some("Budi"));
        // A copy that comes again changes nothing.
        assert_eq!(join(&j, &chatwoot).as_ref(), Some(&j));
        assert_eq!(join(&j, &meta).as_ref(), Some(&j));
        assert_eq!(join(&meta, &meta).as_ref(), Some(&meta));
    }

    #[test]
    fn the_sender_that_knows_an_automation_or_a_bot_wins() {
        let (mut a, mut b) = copies();
        a.direction = Some(crate::ssr::domain::event::Direction::Outbound);
        b.direction = a.direction;
        for (x, y, want) in [
            (Sender::Agent, Sender::System, Sender::System),
            (Sender::Agent, Sender::Ai, Sender::Ai),
            (Sender::Ai, Sender::System, Sender::System),
            (Sender::Agent, Sender::Agent, Sender::Agent),
        ] {
            a.sender = x;
            b.sender = y;
            assert_eq!(join(&a, &b).map(|e| e.sender), Some(want));
            assert_eq!(join(&b, &a).map(|e| e.sender), Some(want));
        }
    }

    #[test]
    fn a_sender_an_intake_knew_wins_over_one_inferred() {
        let (mut chatwoot, mut meta) = copies();
        for e in [&mut chatwoot, &mut meta] {
            e.direction = Some(crate::ssr::domain::event::Direction::Outbound);
        }
        // An agent typed it in Chatwoot; Meta's status only had its
        // category, read as the AI's by the reply-sender setting.
        chatwoot.sender = Sender::Agent;
        chatwoot.sender_known = true;
        meta.sender = Sender::Ai;
        for j in [join(&chatwoot, &meta), join(&meta, &chatwoot)] {
            let j = j.expect("one event");
            assert_eq!((j.sender, j.sender_known), (Sender::Agent, true));
        }
    }

    #[test]
    fn the_same_source_keeps_the_details_either_copy_has() {
        let (meta, mut chatwoot) = copies();
        let mut bare = meta.source.clone().expect("source");
        bare.name = None;
        bare.url = None;
        let mut full = bare.clone();
        full.name = Some("Kopi A".into());
        full.url = Some("https://fb.me/x".into());
        let mut meta = meta;
        meta.source = Some(full.clone());
        chatwoot.source = Some(bare);
        assert_eq!(
            join(&meta, &chatwoot).and_then(|j| j.source),
            Some(full.clone())
        );
        assert_eq!(join(&chatwoot, &meta).and_then(|j| j.source), Some(full));
    }

    #[test]
    fn other_repeats_are_not_joined() {
        let (mut a, mut b) = copies();
        a.id = "order-1".into();
        b.id = "order-1".into();
        assert_eq!(join(&a, &b), None);
        let (mut a, mut b) = copies();
        a.kind = crate::ssr::domain::event::Kind::Conversion;
        b.kind = a.kind;
        assert_eq!(join(&a, &b), None);
    }

    #[test]
    fn a_copy_that_ties_the_others_number_is_the_same_person() {
        // Chatwoot's copy names the number an agent edited and ties the
        // WhatsApp number Meta's copy names.
        let (meta, mut chatwoot) = copies();
        chatwoot.contact_key = "+6281111111111".into();
        chatwoot.phone = Some("+6281111111111".into());
        chatwoot.aliases = vec![meta.contact_key.clone()];
        let j = join(&meta, &chatwoot).expect("one event");
        assert_eq!(Some(&j), join(&chatwoot, &meta).as_ref());
        assert_eq!(j.contact_key, "+6281111111111");
        assert_eq!(j.aliases, vec![meta.contact_key.clone()]);
        assert_eq!(j.occurred_at, meta.occurred_at);
        assert_eq!(join(&j, &meta).as_ref(), Some(&j));
        assert_eq!(join(&j, &chatwoot).as_ref(), Some(&j));
    }

    #[test]
    fn copies_of_other_contacts_or_kinds_are_not_one_event() {
        let (a, mut b) = copies();
        b.contact_key = "+6289999999999".into();
        assert_eq!(join(&a, &b), None);
        let (a, mut b) = copies();
        b.direction = Some(crate::ssr::domain::event::Direction::Outbound);
        assert_eq!(join(&a, &b), None);
    }
}
