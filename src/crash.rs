//! Crash points, for the crash-safety tests: with `SCRAPCERT_CRASH_AT` set
//! to a point's name, the process kills itself with SIGKILL when it gets
//! there (no unwinding, no destructor, no COMMIT: what a power cut or the
//! OOM killer would do at that statement). Unset, as in every deployment,
//! a point costs one read of a value cached at the first one.
//!
//! Points: `event_before_leaf` (on SQLite an event row inserted, its log
//! leaf not yet; on PostgreSQL, where one statement writes both, just
//! before that statement) and `event_after_leaf`
//! (both written, the transaction not yet committed).

use std::sync::OnceLock;

/// The environment variable that names the point to die at.
pub const CRASH_AT: &str = "SCRAPCERT_CRASH_AT";

/// Dies here if this is the point `SCRAPCERT_CRASH_AT` names.
pub fn point(name: &str) {
    static AT: OnceLock<Option<String>> = OnceLock::new();
    if AT.get_or_init(|| std::env::var(CRASH_AT).ok()).as_deref() == Some(name) {
        // SAFETY: kill(2) on our own pid with a valid signal number has no
        // memory-safety preconditions.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
}
