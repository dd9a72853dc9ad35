//! Following other instances' commits on a shared database server (live
//! queries): contacts into the lead index, ad spend into the spend book,
//! Conversions API send states onto their leads. When a stream is lost,
//! it subscribes again and reloads that read model whole, since what was
//! committed meanwhile is not replayed.

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};

use super::Leads;
use crate::error::AppError;
use crate::ssr::domain::rules::ContactState;
use crate::ssr::store::{contacts, outbox, spend};

/// The three streams, subscribed before the read models are loaded so that
/// nothing committed in between is missed.
pub(super) struct Streams {
    contacts: contacts::ContactChanges,
    spend: spend::SpendChanges,
    capi: outbox::LeadChanges,
}

pub(super) async fn subscribe(db: &crate::ssr::store::db::Db) -> Result<Streams, AppError> {
    Ok(Streams {
        contacts: contacts::watch_contacts(db).await?,
        spend: spend::watch(db).await?,
        capi: outbox::watch(db).await?,
    })
}

/// Starts a task per stream.
pub(super) fn start(leads: &Leads, streams: Streams) {
    tokio::spawn(follow(
        "contacts",
        streams.contacts,
        leads.clone(),
        |l| contacts::watch_contacts(&l.inner.db).boxed(),
        |l, ready| async move { apply_contacts(l, ready) }.boxed(),
        |l| {
            async move {
                let terms = l.inner.terms;
                let (_, all) = contacts::load_states(&l.inner.db, move |s| s.lead(&terms)).await?;
                l.reload(all);
                Ok(())
            }
            .boxed()
        },
    ));
    tokio::spawn(follow(
        "ad spend",
        streams.spend,
        leads.clone(),
        |l| spend::watch(&l.inner.db).boxed(),
        |l, rows| async move { l.show_spend(&rows) }.boxed(),
        |l| l.reload_spend().boxed(),
    ));
    tokio::spawn(follow(
        "conversions API states",
        streams.capi,
        leads.clone(),
        |l| outbox::watch(&l.inner.db).boxed(),
        |l, mut changed| {
            async move {
                changed.sort_unstable();
                changed.dedup();
                if let Err(e) = l.show_capi(&changed).await {
                    tracing::warn!("conversions API states of followed changes: {e}");
                }
            }
            .boxed()
        },
        |l| l.show_capi_all().boxed(),
    ));
}

/// A stream of one read model's changes.
type Changes<T> = BoxStream<'static, Result<T, AppError>>;

/// Applies a stream's items as they arrive (whatever is ready, together);
/// when the stream ends (the connection to the database server dropped),
/// subscribes again once a second until that works, then reloads.
async fn follow<T>(
    what: &'static str,
    mut stream: Changes<T>,
    leads: Leads,
    watch: for<'a> fn(&'a Leads) -> BoxFuture<'a, Result<Changes<T>, AppError>>,
    apply: for<'a> fn(&'a Leads, Vec<T>) -> BoxFuture<'a, ()>,
    reload: for<'a> fn(&'a Leads) -> BoxFuture<'a, Result<(), AppError>>,
) {
    loop {
        while let Some(first) = stream.next().await {
            let mut ready = vec![first];
            while ready.len() < 1000 {
                match stream.next().now_or_never() {
                    Some(Some(c)) => ready.push(c),
                    _ => break,
                }
            }
            let items: Vec<T> = ready
                .into_iter()
                .filter_map(|c| {
                    c.map_err(|e| tracing::warn!("a followed change of {what} was unreadable: {e}"))
                        .ok()
                })
                .collect();
            if !items.is_empty() {
                apply(&leads, items).await;
            }
        }
        tracing::warn!("lost the database's change stream of {what}; subscribing again");
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            match watch(&leads).await {
                Ok(s) => {
                    stream = s;
                    break;
                }
                Err(e) => tracing::warn!("cannot follow {what} yet: {e}"),
            }
        }
        if let Err(e) = reload(&leads).await {
            tracing::warn!("reloading {what} after a lost change stream failed: {e}");
        }
    }
}

/// Other processes' contact changes into the index. Our own commits come
/// back too: only what differs is applied.
fn apply_contacts(leads: &Leads, ready: Vec<contacts::ContactChange>) {
    let mut batch: Vec<ContactState> = Vec::new();
    let mut gone: Vec<String> = Vec::new();
    for c in ready {
        match c {
            contacts::ContactChange::State(s) => batch.push(s),
            contacts::ContactChange::Gone(k) => gone.push(k),
        }
    }
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
