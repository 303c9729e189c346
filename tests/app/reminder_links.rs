//! A reminder to someone who has never set a password carries a fresh link to create one,
//! voiding the last; in a school that signs in through its own provider, it carries that
//! sign-in instead. Both the SBM's chase and the weekly job.

use aup_portal::{
    domain::statuses::SsoProvider,
    jobs::{self, ReminderPolicy},
    mail::sender,
};
use reqwest::StatusCode;
use time::{Duration, OffsetDateTime};

use crate::{helpers::*, provider::cranbrook_uses};

const SBM: &str = "sbm@cranbrook.example";
const JAMIE: &str = "jamie@cranbrook.example";

/// The SBM adds Jamie, who has no password yet: an invitation is queued.
async fn sbm_adds_jamie(app: &TestApp) {
    app.sign_in(SBM).await;
    let added = app
        .post(
            "/s/cranbrook/people/new",
            &[
                ("legal_forename", "Jamie"),
                ("surname", "Fox"),
                ("email", JAMIE),
                ("grp", "staff"),
                ("job_title", "Teaching assistant"),
                ("roles", "signer"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
}

async fn send_all(app: &TestApp, sink: &SmtpSink) {
    sender::send_due(
        &app.pool,
        &sink.mailer(&app.address),
        OffsetDateTime::now_utc(),
        100,
    )
    .await
    .unwrap();
}

/// The text of the newest email queued to `to` whose subject has `about`.
async fn queued_text(app: &TestApp, to: &str, about: &str) -> String {
    sqlx::query_scalar(
        "select body_text from outbox where to_address = $1 and subject like '%' || $2 || '%'
         order by created_at desc limit 1",
    )
    .bind(to)
    .bind(about)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

async fn open_links(app: &TestApp) -> i64 {
    app.count(&format!(
        "select count(*) from account_tokens t join users u on u.id = t.user_id
         where u.email = '{JAMIE}' and t.used_at is null"
    ))
    .await
}

#[tokio::test]
async fn a_chase_gives_someone_without_a_password_a_fresh_link_and_voids_the_last() {
    let sink = SmtpSink::start();
    let app = spawn_app().await;
    sbm_adds_jamie(&app).await;
    send_all(&app, &sink).await;
    let invitation = sink
        .messages()
        .into_iter()
        .find(|m| m.subject.contains("create your password"))
        .expect("the invitation");
    let first_link = invitation.link(&app.address);

    // The check page shows the email with a placeholder, and issues nothing.
    let version = app.version_id(CRANBROOK).await;
    let jamie = membership(&app, JAMIE).await.to_string();
    let sam = membership(&app, STAFF).await.to_string();
    let check = app
        .post(
            &format!("/s/cranbrook/compliance/{version}/check-reminders"),
            &[("who", &jamie)],
        )
        .await;
    check.assert_contains("You have not created your password for AUP Portal yet.");
    check.assert_contains("/password/a-new-link-for-each-person");
    assert_eq!(open_links(&app).await, 1, "only the invitation");

    let sent = app
        .post(
            &format!("/s/cranbrook/compliance/{version}/remind-selected"),
            &[("who", &jamie), ("who", &sam)],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    assert_eq!(open_links(&app).await, 1, "the new link, and not the old");
    send_all(&app, &sink).await;
    let reminder = sink
        .messages()
        .into_iter()
        .find(|m| m.rcpt_tos.iter().any(|to| to == JAMIE) && m.subject.contains("reminder"))
        .expect("Jamie's reminder");
    let new_link = reminder.link(&app.address);
    assert!(new_link.contains("/password/"), "{new_link}");
    assert_ne!(new_link, first_link);
    let text = reminder.text.as_deref().unwrap_or_default();
    assert!(
        text.contains("replaces any link you were sent before"),
        "{text}"
    );
    assert!(text.contains(&format!("/s/cranbrook/versions/{version}/sign")));
    // Sam has a password: no link to make one.
    let sams = sink
        .messages()
        .into_iter()
        .find(|m| m.rcpt_tos.iter().any(|to| to == STAFF))
        .expect("Sam's reminder");
    assert!(!sams.text.unwrap_or_default().contains("/password/"));

    // The invitation's link is void; the reminder's sets the password.
    let jamie_browser = app.another();
    let base = app.address.as_str();
    jamie_browser
        .get(first_link.strip_prefix(base).unwrap())
        .await
        .assert_contains("This link no longer works");
    let set = new_link.strip_prefix(base).unwrap().to_owned();
    jamie_browser
        .get(&set)
        .await
        .assert_contains("Create your password");
    jamie_browser
        .post(
            &set,
            &[
                ("password", "jamie-first-passphrase"),
                ("confirm", "jamie-first-passphrase"),
            ],
        )
        .await;
    let signed_in = app
        .another()
        .post(
            "/sign-in",
            &[("email", JAMIE), ("password", "jamie-first-passphrase")],
        )
        .await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_weekly_reminder_carries_the_link_too_and_a_school_account_school_its_sign_in() {
    let app = spawn_app().await;
    sbm_adds_jamie(&app).await;
    let today = aup_portal::clock::today_uk();
    let run = |days: i64, dry_run: bool| {
        let pool = app.pool.clone();
        let base = app.address.clone();
        async move {
            jobs::reminders(
                &pool,
                today + Duration::days(days),
                &base,
                ReminderPolicy::default(),
                dry_run,
            )
            .await
            .unwrap()
            .lines
        }
    };
    let would = run(7, true).await;
    assert!(would.iter().any(|l| l.contains(JAMIE)), "{would:?}");
    assert_eq!(open_links(&app).await, 1, "a dry run issues nothing");
    let lines = run(7, false).await;
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("queued <{JAMIE}>"))),
        "{lines:?}"
    );
    let first = queued_text(&app, JAMIE, "reminder").await;
    assert!(first.contains("/password/"), "{first}");
    assert_eq!(
        app.count(&format!(
            "select count(*) from account_tokens t join users u on u.id = t.user_id
             where u.email = '{JAMIE}'"
        ))
        .await,
        3,
        "the invitation, and a link in each policy's reminder"
    );
    assert_eq!(open_links(&app).await, 2, "today's two reminders both work");
    assert!(
        !queued_text(&app, STAFF, "reminder")
            .await
            .contains("/password/")
    );

    // Cranbrook now signs in with its own provider: the next reminder links to that.
    cranbrook_uses(
        &app,
        SsoProvider::Oidc,
        "https://id.cranbrook.example",
        None,
        None,
    )
    .await;
    run(14, false).await;
    let second = queued_text(&app, JAMIE, "reminder").await;
    assert_ne!(second, first);
    assert!(
        second.contains(&format!("{}/s/cranbrook/sign-in", app.address)),
        "{second}"
    );
    assert!(second.contains("with your school account"));
    assert!(!second.contains("/password/"));
}
