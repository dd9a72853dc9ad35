//! The writer tasks: each stores group commits of the contacts that hash to
//! it, one at a time, and applies each commit to the index.

use std::time::Instant;

use tokio::sync::mpsc;

use super::{GROUP_MAX_EVENTS, Ingested, Job, Leads};
use crate::error::AppError;
use crate::ssr::store::batch;

/// The writer a contact belongs to (a fixed hash: the same for the life of
/// the process).
pub(super) fn writer_of(contact_key: &str, writers: usize) -> usize {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    (BuildHasherDefault::<DefaultHasher>::default().hash_one(contact_key) % writers as u64) as usize
}

/// A writer: one group commit at a time, each in its own task so that a
/// panic fails only that group's requests.
pub(super) async fn write_loop(leads: Leads, mut jobs: mpsc::Receiver<Job>) {
    let mut idle_from = Instant::now();
    while let Some(first) = jobs.recv().await {
        let idle = idle_from.elapsed();
        let mut group = vec![first];
        let mut n = group[0].events.len();
        while n < GROUP_MAX_EVENTS {
            match jobs.try_recv() {
                Ok(job) => {
                    n += job.events.len();
                    group.push(job);
                }
                Err(_) => break,
            }
        }
        let sizes: Vec<usize> = group.iter().map(|j| j.events.len()).collect();
        let mut replies = Vec::with_capacity(group.len());
        let mut events = Vec::with_capacity(n);
        for job in group {
            events.extend(job.events);
            replies.push(job.reply);
        }
        let db = leads.inner.db.clone();
        let l = leads.clone();
        let busy = Instant::now();
        let done = tokio::spawn(async move {
            let stored = batch::store(&db, &events, l.inner.outbox.as_ref()).await?;
            l.apply_committed(&stored.changed, &stored.gone);
            l.note_queued(&stored.queued);
            if !stored.gone.is_empty() {
                // A merge moved the merged leads' Conversions API rows to
                // the lead they joined: its send state is theirs now.
                let keys: Vec<String> = stored.changed.iter().map(|s| s.key.clone()).collect();
                if let Err(e) = l.show_capi(&keys).await {
                    tracing::warn!(error = %e, "conversions API: a merged lead's send state could not be read");
                }
            }
            Ok::<_, AppError>(stored.new)
        })
        .await;
        // `RUST_LOG=leads::writer=debug` shows where a writer's time goes.
        tracing::debug!(
            target: "leads::writer",
            jobs = sizes.len(),
            events = n,
            idle_ms = idle.as_secs_f64() * 1e3,
            busy_ms = busy.elapsed().as_secs_f64() * 1e3,
            "group stored"
        );
        idle_from = Instant::now();
        let result = match done {
            Ok(r) => r,
            Err(e) => Err(AppError::Internal(format!("the writer failed: {e}"))),
        };
        let mut from = 0;
        for (reply, size) in replies.into_iter().zip(sizes) {
            let answer = result.as_ref().map_err(Clone::clone).map(|new| {
                let fresh = new[from..from + size].to_vec();
                let accepted = fresh.iter().filter(|n| **n).count();
                Ingested {
                    accepted,
                    duplicates: size - accepted,
                    fresh,
                }
            });
            from += size;
            // The request may be gone (client disconnected): its events are
            // stored all the same.
            let _ = reply.send(answer);
        }
    }
}
