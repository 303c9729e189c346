//! Signing in with a link sent by email: the link, the button, once only, 15 minutes, the
//! same answer for unknown addresses, one a minute, and the code still asked of those who
//! reach personal data.

use reqwest::StatusCode;
use time::OffsetDateTime;

use crate::helpers::*;

fn link_path(body: &str, base: &str) -> String {
    let start = body.find(base).expect("a link to the portal");
    body[start + base.len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_governor_signs_in_with_an_emailed_link_that_works_once_after_the_button() {
    let sink = SmtpSink::start();
    let app = spawn_app().await;
    app.get("/sign-in")
        .await
        .assert_contains("Email me a sign-in link");

    let known = app.post("/sign-in/email", &[("email", GOVERNOR)]).await;
    let unknown = app
        .post("/sign-in/email", &[("email", "nobody@cranbrook.example")])
        .await;
    assert_eq!(known.status, StatusCode::OK);
    assert_eq!(
        known.body.replace(GOVERNOR, ""),
        unknown.body.replace("nobody@cranbrook.example", ""),
        "the same answer whether or not the address has an account"
    );
    // Asked again at once: the same answer, and no second email.
    let again = app.post("/sign-in/email", &[("email", GOVERNOR)]).await;
    again.assert_contains("Check your email");
    aup_portal::mail::sender::send_due(
        &app.pool,
        &sink.mailer(&app.address),
        OffsetDateTime::now_utc(),
        100,
    )
    .await
    .unwrap();
    let messages = sink.messages();
    assert_eq!(messages.len(), 1, "{messages:#?}");
    assert_eq!(
        messages[0].subject,
        "Cranbrook Primary School: your AUP Portal sign-in link"
    );
    let link = messages[0]
        .link(&app.address)
        .trim_start_matches(&app.address)
        .to_owned();
    assert!(link.starts_with("/sign-in/link/"), "{link}");
    // The copy kept in the outbox has no working link.
    let kept: String = sqlx::query_scalar("select body_text from outbox")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(!kept.contains(&link), "{kept}");

    // A mail scanner opening the link uses nothing up.
    let scanner = app.another();
    for _ in 0..3 {
        scanner
            .get(&link)
            .await
            .assert_contains("Press the button to sign in");
    }
    let governor = app.another();
    let signed = governor.post(&link, &[]).await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
    governor
        .visit("/")
        .await
        .assert_contains("Staff and Governors AUP");
    assert_eq!(
        app.count("select count(*) from audit_events where action = 'sign_in' and details ->> 'with' = 'email link'")
            .await,
        1
    );
    // Once only.
    assert_eq!(
        app.another().post(&link, &[]).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.another().get(&link).await.status, StatusCode::NOT_FOUND);
    // Not a way to set a password either.
    let token = link.trim_start_matches("/sign-in/link/");
    assert_eq!(
        app.another()
            .get(&format!("/password/{token}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_sign_in_link_lasts_fifteen_minutes_and_a_typo_gets_a_message() {
    let app = spawn_app().await;
    let bad = app
        .post("/sign-in/email", &[("email", "not an address")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    bad.assert_contains("Enter your email address, like name@school.example");
    app.post("/sign-in/email", &[("email", GOVERNOR)]).await;
    let body: String = sqlx::query_scalar("select body_text from outbox")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let link = link_path(&body, &app.address);
    let minutes: f64 = sqlx::query_scalar(
        "select extract(epoch from expires_at - created_at)::float8 / 60 from account_tokens where purpose = 'sign_in'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(minutes.round(), 15.0);
    sqlx::query("update account_tokens set expires_at = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(app.post(&link, &[]).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn after_a_link_those_who_reach_personal_data_still_give_a_code() {
    let app = spawn_app().await;
    app.post("/sign-in/email", &[("email", "sbm@cranbrook.example")])
        .await;
    let body: String = sqlx::query_scalar("select body_text from outbox")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let link = link_path(&body, &app.address);
    let page = app.post(&link, &[]).await;
    assert_eq!(page.location(), Some("/sign-in/two-factor"));
    assert_eq!(
        app.get("/s/cranbrook/compliance").await.status,
        StatusCode::SEE_OTHER,
        "not signed in before the code"
    );
}

/// An email-change confirmation link is for confirming the address, not for choosing a
/// password.
#[tokio::test]
async fn a_link_sets_a_password_only_if_it_was_sent_for_that() {
    let app = spawn_app().await;
    app.sign_in(STAFF).await;
    let new = "sam.taylor@cranbrook.example";
    app.post("/account/email", &[("email", new), ("password", PASSWORD)])
        .await;
    let body: String = sqlx::query_scalar("select body_text from outbox where to_address = $1")
        .bind(new)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let confirm = link_path(&body, &app.address);
    let token = confirm.rsplit('/').next().unwrap();
    let set = app
        .another()
        .post(
            &format!("/password/{token}"),
            &[
                ("password", "a-brand-new-passphrase"),
                ("confirm", "a-brand-new-passphrase"),
            ],
        )
        .await;
    assert_eq!(set.status, StatusCode::NOT_FOUND, "{}", set.body);
}
