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

use super::event::{Event, Sender};
use crate::model::Source;

/// Both copies as one event, or `None` when they cannot be one event (they
/// name other contacts, kinds, directions, channels or conversions): then
/// the first stored stays, as a repeated id does (`events.md`).
///
/// - the time: the earlier (Meta's for a customer's message, the moment an
///   agent sent it in Chatwoot for a reply);
/// - the sender: the more specific (`system` over `ai` over `agent`): the
///   intake that knows an automation or a bot sent it is right, the other
///   only saw a reply go out;
/// - each detail (phone, user id, name, e-mail, click id, account): the one
///   copy that has it, or of two different the one that sorts first;
/// - the source: one with an ad id over one without, else the one that
///   sorts first;
/// - the identifiers tied: both copies'.
pub fn join(a: &Event, b: &Event) -> Option<Event> {
    if a.id != b.id
        || a.kind != b.kind
        || a.direction != b.direction
        || a.channel != b.channel
        || a.contact_key != b.contact_key
        || a.conversion != b.conversion
    {
        return None;
    }
    let mut aliases: Vec<String> = a.aliases.iter().chain(&b.aliases).cloned().collect();
    aliases.sort_unstable();
    aliases.dedup();
    Some(Event {
        id: a.id.clone(),
        kind: a.kind,
        occurred_at: a.occurred_at.min(b.occurred_at),
        channel: a.channel.clone(),
        direction: a.direction,
        sender: if rank(b.sender) > rank(a.sender) {
            b.sender
        } else {
            a.sender
        },
        contact_key: a.contact_key.clone(),
        phone: either(&a.phone, &b.phone),
        external_id: either(&a.external_id, &b.external_id),
        name: either(&a.name, &b.name),
        email: either(&a.email, &b.email),
        source: match (&a.source, &b.source) {
            (Some(x), Some(y)) => Some(if source_order(y) < source_order(x) {
                y.clone()
            } else {
                x.clone()
            }),
            (x, y) => x.clone().or_else(|| y.clone()),
        },
        ctwa_clid: either(&a.ctwa_clid, &b.ctwa_clid),
        meta_account: either(&a.meta_account, &b.meta_account),
        aliases,
        conversion: a.conversion.clone(),
    })
}

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

/// A source with an id first, then by its fields.
fn source_order(s: &Source) -> (bool, [&Option<String>; 3], &str, &str) {
    (
        s.id.is_none(),
        [&s.id, &s.name, &s.url],
        s.platform.as_str(),
        s.kind.as_str(),
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
    fn copies_of_other_contacts_or_kinds_are_not_one_event() {
        let (a, mut b) = copies();
        b.contact_key = "+6289999999999".into();
        assert_eq!(join(&a, &b), None);
        let (a, mut b) = copies();
        b.direction = Some(crate::ssr::domain::event::Direction::Outbound);
        assert_eq!(join(&a, &b), None);
    }
}
