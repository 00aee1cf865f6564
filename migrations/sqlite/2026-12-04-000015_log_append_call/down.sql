-- PostgreSQL gains `log_append_event` here (an event and its log leaf in
-- one statement). SQLite has no server functions and no round trips to
-- save: its appends stay in `store::log`. Kept so that both backends
-- number their migrations alike.
SELECT 1;
