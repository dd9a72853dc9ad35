//! Slowing repeated wrong passwords, per account and per address. Pure: the
//! caller passes the time. After a few free failures each further attempt
//! must wait twice as long as the one before (up to 15 minutes); failures
//! are forgotten a quarter of an hour after the last one. Known and unknown
//! accounts are treated alike, so waiting says nothing about who exists.

use std::collections::HashMap;

/// Free failures for one account (a person mistyping).
pub const FREE_PER_ACCOUNT: u32 = 5;
/// Free failures from one address (an office behind one NAT address).
pub const FREE_PER_ADDRESS: u32 = 20;
/// Free failures for one account from anywhere (many addresses guessing
/// one password); never applied to an address that has not been failing.
pub const FREE_PER_ACCOUNT_ANYWHERE: u32 = 20;
/// Times are milliseconds: with whole seconds, a 1 s wait could end at
/// the next tick, at once.
const MAX_WAIT: i64 = 15 * 60 * 1000;
const FORGET_AFTER: i64 = 15 * 60 * 1000;
/// Entries kept at most (old ones are dropped first).
const MAX_ENTRIES: usize = 100_000;

#[derive(Default, Debug)]
pub struct Throttle {
    entries: HashMap<String, (u32, i64)>,
}

impl Throttle {
    /// Milliseconds before `key` may try again (0: now); `now` in
    /// milliseconds.
    pub fn wait(&self, key: &str, free: u32, now: i64) -> i64 {
        match self.entries.get(key) {
            Some(&(failures, last)) if failures >= free => {
                let doublings = failures - free;
                let wait = if doublings >= 20 {
                    MAX_WAIT
                } else {
                    (1000i64 << doublings).min(MAX_WAIT)
                };
                (last + wait - now).max(0)
            }
            _ => 0,
        }
    }

    /// Failures counted for `key` and not yet forgotten at `now`.
    pub fn failures(&self, key: &str, now: i64) -> u32 {
        match self.entries.get(key) {
            Some(&(n, last)) if now - last < FORGET_AFTER => n,
            _ => 0,
        }
    }

    pub fn failed(&mut self, key: &str, now: i64) {
        if self.entries.len() >= MAX_ENTRIES {
            self.entries
                .retain(|_, (_, last)| now - *last < FORGET_AFTER);
        }
        let e = self.entries.entry(key.to_owned()).or_insert((0, now));
        if now - e.1 >= FORGET_AFTER {
            *e = (0, now);
        }
        e.0 = e.0.saturating_add(1);
        e.1 = now;
    }

    /// Takes back one failure (an attempt counted ahead that succeeded).
    pub fn forgive(&mut self, key: &str) {
        if let Some(e) = self.entries.get_mut(key) {
            e.0 = e.0.saturating_sub(1);
        }
    }

    pub fn succeeded(&mut self, key: &str) {
        self.entries.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_failures_then_doubling_waits() {
        let mut t = Throttle::default();
        for i in 0..FREE_PER_ACCOUNT {
            assert_eq!(
                t.wait("u:budi", FREE_PER_ACCOUNT, 100_000),
                0,
                "failure {i}"
            );
            t.failed("u:budi", 100_000);
        }
        assert_eq!(t.wait("u:budi", FREE_PER_ACCOUNT, 100_000), 1000);
        // Milliseconds count: 1 s means 1 s, not "until the next second".
        assert_eq!(t.wait("u:budi", FREE_PER_ACCOUNT, 100_999), 1);
        t.failed("u:budi", 101_000);
        assert_eq!(t.wait("u:budi", FREE_PER_ACCOUNT, 101_000), 2000);
        assert_eq!(t.wait("u:budi", FREE_PER_ACCOUNT, 103_000), 0);
        for _ in 0..40 {
            t.failed("u:budi", 200_000);
        }
        assert_eq!(t.wait("u:budi", FREE_PER_ACCOUNT, 200_000), MAX_WAIT);
        // Others are not slowed; success clears.
        assert_eq!(t.wait("u:ani", FREE_PER_ACCOUNT, 200_000), 0);
        t.succeeded("u:budi");
        assert_eq!(t.wait("u:budi", FREE_PER_ACCOUNT, 200_000), 0);
    }

    #[test]
    fn failures_are_forgotten() {
        let mut t = Throttle::default();
        for _ in 0..10 {
            t.failed("a:1.2.3.4", 0);
        }
        assert!(t.wait("a:1.2.3.4", FREE_PER_ACCOUNT, 0) > 0);
        // 15 minutes after the last failure, all are forgotten.
        t.failed("a:1.2.3.4", FORGET_AFTER);
        assert_eq!(t.wait("a:1.2.3.4", FREE_PER_ACCOUNT, FORGET_AFTER), 0);
    }
}
