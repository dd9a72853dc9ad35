//! Following other instances' commits on a shared database server (the
//! change stream), and reloading when that stream was lost.

use super::Leads;
use crate::ssr::domain::rules::ContactState;
use crate::ssr::store::contacts;

/// Applies other processes' commits as they arrive (whatever is ready is
/// applied together). When the subscription ends (the connection to the
/// database server dropped), it subscribes again and reloads every contact,
/// since what was committed meanwhile is not replayed.
pub(super) async fn follow_loop(leads: Leads, mut changes: contacts::ContactChanges) {
    use futures::StreamExt;
    loop {
        while let Some(first) = changes.next().await {
            let mut ready = vec![first];
            while ready.len() < 1000 {
                match futures::FutureExt::now_or_never(changes.next()) {
                    Some(Some(c)) => ready.push(c),
                    _ => break,
                }
            }
            let mut batch: Vec<ContactState> = Vec::new();
            let mut gone: Vec<String> = Vec::new();
            for c in ready {
                match c {
                    Ok(contacts::ContactChange::State(s)) => batch.push(s),
                    Ok(contacts::ContactChange::Gone(k)) => gone.push(k),
                    Err(e) => tracing::warn!("a followed change was unreadable: {e}"),
                }
            }
            // Our own commits come back too: only what differs is applied.
            let (fresh, gone): (Vec<ContactState>, Vec<String>) = {
                let index = leads.read();
                (
                    batch
                        .into_iter()
                        .filter(|s| match s.lead(&leads.inner.terms) {
                            Some(l) => index.get(&l.key).as_ref() != Some(&l),
                            None => index.contains(&s.key),
                        })
                        .collect(),
                    gone.into_iter().filter(|k| index.contains(k)).collect(),
                )
            };
            if !fresh.is_empty() || !gone.is_empty() {
                leads.apply_committed(&fresh, &gone);
            }
        }
        tracing::warn!("lost the database's change stream; subscribing again");
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            match contacts::watch_contacts(&leads.inner.db).await {
                Ok(c) => {
                    changes = c;
                    break;
                }
                Err(e) => tracing::warn!("cannot follow the database yet: {e}"),
            }
        }
        match contacts::load_states(&leads.inner.db, {
            let terms = leads.inner.terms;
            move |s| s.lead(&terms)
        })
        .await
        {
            Ok((_, all)) => leads.reload(all),
            Err(e) => tracing::warn!("reloading after a lost change stream failed: {e}"),
        }
    }
}
