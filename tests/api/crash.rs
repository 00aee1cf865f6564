//! No event without its leaf, no leaf without its event (SPEC §12): a
//! server killed (SIGKILL) between the event's statement and the leaf's,
//! or after both before the COMMIT, leaves neither behind; the request was
//! never acknowledged, the log verifies, and the same registration then
//! succeeds. On both backends.

use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use crate::helpers::*;
use crate::instances::start_instance_with;

async fn a_kill_between_the_event_and_its_leaf_leaves_neither() {
    let app = spawn_app().await;
    let e = app.qualified_enterprise(91).await;
    for point in ["event_before_leaf", "event_after_leaf"] {
        let before = database_dump(&app.db);
        let mut doomed = start_instance_with(
            &app.settings.database_url,
            &app.settings.keys_dir,
            &[(scrapcert::crash::CRASH_AT, point)],
        )
        .await;
        let sent = reqwest::Client::new()
            .post(format!("{}/api/v1/recycling-certificates", doomed.address))
            .bearer_auth(&e.token)
            .json(&fresh_rc_body("RC-K1", &make_vin(91)))
            .timeout(Duration::from_secs(20))
            .send()
            .await;
        assert!(sent.is_err(), "{point}: the request was answered: {sent:?}");
        let status = doomed.child.wait().unwrap();
        assert_eq!(status.signal(), Some(libc::SIGKILL), "{point}: {status}");
        assert_eq!(
            database_dump(&app.db),
            before,
            "{point}: something was left"
        );
    }
    // The database is whole: the log verifies, and the registration the
    // killed servers never acknowledged goes through.
    let (ok, said) = crate::log_verify::log_verify(&app);
    assert!(ok, "{said}");
    app.register_rc(&e, &fresh_rc_body("RC-K1", &make_vin(91)))
        .await
        .expect(201);
    assert_eq!(app.rc_events("RC-K1").await.len(), 1);
}

crate::backend_tests!(a_kill_between_the_event_and_its_leaf_leaves_neither);
