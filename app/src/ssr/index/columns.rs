//! The index's per-lead columns: `hot` (what scans read) and `cold` (the
//! rest), with the time stamps they keep.

use super::*;

/// A time as (seconds, nanoseconds) since 1970 UTC: orders like the time.
pub type Stamp = (i64, u32);

// `#[inline]` on the small accessors a scan calls per lead: reports
// instantiate the scans in their own module, and without it these stay
// calls across codegen units (the 365-day summary was ~20% slower in
// one A/B run at 1M leads).
#[inline]
pub fn stamp(t: DateTime<Utc>) -> Stamp {
    (t.timestamp(), t.timestamp_subsec_nanos())
}

#[inline]
pub(super) fn time(s: Stamp) -> DateTime<Utc> {
    DateTime::from_timestamp(s.0, s.1).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

pub(super) const NONE_TOUCH: Stamp = (i64::MAX, u32::MAX);
pub(super) const UNTOUCHED: u32 = u32::MAX;
/// Waits of 136 years and more are read from `cold` instead.
pub(super) const WAIT_SATURATED: u32 = u32::MAX - 1;

pub(super) const ALIVE: u8 = 1;
pub(super) const KEY_IS_PHONE: u8 = 2;
// 4, 8, 16: the text arena's modes (`arena.rs`).
/// Lead quality (`shared/spec/outcomes.md`); answered is `wait != UNTOUCHED`.
pub(super) const ENGAGED: u8 = 32;
pub(super) const ONE_MESSAGE: u8 = 64;
pub(super) const BUYER: u8 = 128;

/// A lead's Conversions API state (`Hot::capi`): nothing queued (sendable),
/// not sendable, or the state of its events: rejected if any is, else
/// pending if any is, else sent.
pub const CAPI_NONE: u8 = 0;
pub const CAPI_NOT_SENDABLE: u8 = 1;
pub const CAPI_SENT: u8 = 2;
pub const CAPI_PENDING: u8 = 3;
pub const CAPI_REJECTED: u8 = 4;

/// `Hot::timing` bits.
pub(super) const LATE: u8 = 1;
pub(super) const IN_WINDOW: u8 = 2;

#[derive(Clone, Copy, Debug)]
pub(super) struct Hot {
    /// The Date as seconds and nanoseconds (two fields: a tuple would pad).
    pub(super) date_s: i64,
    pub(super) date_ns: u32,
    /// Interned first source, 0 = none.
    pub(super) src: u32,
    /// Whole seconds from Date to First Touched At; [`UNTOUCHED`] if none.
    pub(super) wait: u32,
    pub(super) channel: u8,
    pub(super) flags: u8,
    /// `CAPI_*` (in what was padding).
    pub(super) capi: u8,
    /// `LATE` and `IN_WINDOW`: where the outcomes fall against the click's
    /// 7 days (`LeadFacts::window_passed`, `in_window`; in what was padding).
    pub(super) timing: u8,
}

// A lead's hot column stays one 24-byte record (the spare byte holds its
// outcomes' timing).
const _: () = assert!(std::mem::size_of::<Hot>() == 24);

#[derive(Clone, Copy, Debug)]
pub(super) struct Cold {
    pub(super) touch_s: i64,
    pub(super) touch_ns: u32,
    pub(super) last_src: u32,
    /// Where this lead's records start in the two arenas.
    pub(super) text_off: u32,
    pub(super) data_off: u32,
    /// Ends of the text record's fields (name, e-mail), relative to `text_off`.
    pub(super) text_ends: [u16; 2],
    /// Ends of the data record's fields (phone, key, name, e-mail).
    pub(super) data_ends: [u16; 4],
    /// A sendable lead's ad click, as whole seconds from the Date (it may
    /// come before or after it); [`NO_CLICK`] if none. (In what was
    /// padding.)
    pub(super) click: i32,
}

pub(super) const NO_CLICK: i32 = i32::MIN;

impl Hot {
    #[inline]
    pub(super) fn date(&self) -> Stamp {
        (self.date_s, self.date_ns)
    }
}

impl Cold {
    #[inline]
    pub(super) fn touch(&self) -> Stamp {
        (self.touch_s, self.touch_ns)
    }
}
