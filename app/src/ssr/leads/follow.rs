//! Following other instances' commits on a shared database server (live
//! queries): contacts into the lead index, ad spend into the spend book,
//! Conversions API send states onto their leads. When a stream is lost,
//! it subscribes again and reloads that read model whole, since what was
//! committed meanwhile is not replayed.

use std::future::Future;

use futures::StreamExt;
use futures::stream::BoxStream;

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
    let l = leads.clone();
    tokio::spawn(follow(
        "contacts",
        streams.contacts,
        move || {
            let db = l.inner.db.clone();
            async move { contacts::watch_contacts(&db).await }
        },
        {
            let l = leads.clone();
            move |ready| {
                let l = l.clone();
                async move { apply_contacts(&l, ready) }
            }
        },
        {
            let l = leads.clone();
            move || {
                let l = l.clone();
                async move {
                    let terms = l.inner.terms;
                    let (_, all) =
                        contacts::load_states(&l.inner.db, move |s| s.lead(&terms)).await?;
                    l.reload(all);
                    Ok(())
                }
            }
        },
    ));
    let l = leads.clone();
    tokio::spawn(follow(
        "ad spend",
        streams.spend,
        move || {
            let db = l.inner.db.clone();
            async move { spend::watch(&db).await }
        },
        {
            let l = leads.clone();
            move |rows| {
                let l = l.clone();
                async move { l.show_spend(&rows) }
            }
        },
        {
            let l = leads.clone();
            move || {
                let l = l.clone();
                async move { l.reload_spend().await }
            }
        },
    ));
    let l = leads.clone();
    tokio::spawn(follow(
        "conversions API states",
        streams.capi,
        move || {
            let db = l.inner.db.clone();
            async move { outbox::watch(&db).await }
        },
        {
            let l = leads.clone();
            move |mut changed: Vec<String>| {
                let l = l.clone();
                async move {
                    changed.sort_unstable();
                    changed.dedup();
                    if let Err(e) = l.show_capi(&changed).await {
                        tracing::warn!("conversions API states of followed changes: {e}");
                    }
                }
            }
        },
        {
            let l = leads.clone();
            move || {
                let l = l.clone();
                async move { l.show_capi_all().await }
            }
        },
    ));
}

/// Applies a stream's items as they arrive (whatever is ready, together);
/// when the stream ends (the connection to the database server dropped),
/// subscribes again once a second until that works, then reloads.
async fn follow<T, W, WF, A, AF, R, RF>(
    what: &'static str,
    mut stream: BoxStream<'static, Result<T, AppError>>,
    watch: W,
    apply: A,
    reload: R,
) where
    W: Fn() -> WF,
    WF: Future<Output = Result<BoxStream<'static, Result<T, AppError>>, AppError>>,
    A: Fn(Vec<T>) -> AF,
    AF: Future<Output = ()>,
    R: Fn() -> RF,
    RF: Future<Output = Result<(), AppError>>,
{
    loop {
        while let Some(first) = stream.next().await {
            let mut ready = vec![first];
            while ready.len() < 1000 {
                match futures::FutureExt::now_or_never(stream.next()) {
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
                apply(items).await;
            }
        }
        tracing::warn!("lost the database's change stream of {what}; subscribing again");
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            match watch().await {
                Ok(s) => {
                    stream = s;
                    break;
                }
                Err(e) => tracing::warn!("cannot follow {what} yet: {e}"),
            }
        }
        if let Err(e) = reload().await {
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
