//! Honest about email: with no mail server set, nothing says people were emailed, and the
//! SBM and DPO are told on every page that email waits in the outbox.

use reqwest::StatusCode;

use crate::helpers::*;
use crate::publishing::{DPO, draft_fields, start_clone};

const SBM: &str = "sbm@cranbrook.example";
const BANNER: &str = "Email is not set up";

async fn add_robin(app: &TestApp) -> Page {
    let added = app
        .post(
            "/s/cranbrook/people/new",
            &[
                ("legal_forename", "Robin"),
                ("preferred_forename", ""),
                ("surname", "Hale"),
                ("signing_name", ""),
                ("email", "robin@cranbrook.example"),
                ("grp", "staff"),
                ("job_title", "Teaching assistant"),
                ("roles", "signer"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    app.get(added.location().unwrap()).await
}

#[tokio::test]
async fn with_no_mail_server_the_sbm_and_dpo_are_told_emails_wait_and_nothing_claims_a_send() {
    let app = spawn_app().await;
    app.sign_in(SBM).await;
    let version = app.version_id(CRANBROOK).await;
    let dashboard = app.get(&format!("/s/cranbrook/compliance/{version}")).await;
    dashboard.assert_contains(BANNER);
    dashboard.assert_contains("No email leaves the portal yet.");

    add_robin(&app).await.assert_contains(
        "The person has been added. If they have no password yet, an invitation to create one is queued: email is not set up, so it is sent once it is.",
    );
    let reminded = app
        .post(&format!("/s/cranbrook/compliance/{version}/remind"), &[])
        .await;
    app.get(reminded.location().unwrap()).await.assert_contains(
        "4 reminders are queued: email is not set up, so they are sent once it is.",
    );
    assert!(
        app.count("select count(*) from outbox where status = 'pending'")
            .await
            >= 4,
        "queued, not lost"
    );

    let dpo = app.another();
    dpo.sign_in(DPO).await;
    let draft = start_clone(&dpo).await;
    let body = aup_portal::domain::samples::cranbrook().content.body_md;
    let saved = dpo.post(&draft, &as_form(&draft_fields(&body))).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let confirm = dpo.get(&format!("{draft}/publish")).await;
    confirm.assert_contains(BANNER);
    confirm.assert_contains(
        "each of them is emailed a link to sign it, once email is set up: until then the emails wait in the portal's outbox",
    );

    // Signers have nothing to do with it.
    let sam = app.another();
    sam.sign_in(STAFF).await;
    let home = sam.visit("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(!home.body.contains(BANNER));
}

#[tokio::test]
async fn with_a_mail_server_there_is_no_banner_and_messages_say_sent() {
    let app = spawn_app_with(|s| s.mail_configured = true).await;
    app.sign_in(SBM).await;
    let version = app.version_id(CRANBROOK).await;
    let dashboard = app.get(&format!("/s/cranbrook/compliance/{version}")).await;
    assert!(!dashboard.body.contains(BANNER));
    add_robin(&app)
        .await
        .assert_contains("an invitation to create one is on its way to them by email.");
}
