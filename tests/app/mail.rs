//! Email through a real SMTP server: what arrives, that its links work, that nothing is
//! lost while the server is down, and that reminders go once however many workers run.

use aup_portal::{
    jobs::{self, ReminderPolicy},
    mail::sender,
};
use reqwest::StatusCode;
use time::{Duration, OffsetDateTime};

use crate::{
    helpers::*,
    publishing::{DPO, publish_changed_cranbrook},
};

async fn send_all(app: &TestApp, sink: &SmtpSink, now: OffsetDateTime) -> sender::SendReport {
    sender::send_due(&app.pool, &sink.mailer(&app.address), now, 100)
        .await
        .unwrap()
}

/// The path of a portal link, for the test client.
fn path(link: &str, base: &str) -> String {
    link.strip_prefix(base)
        .expect("a link to this portal")
        .to_owned()
}

#[tokio::test]
async fn publishing_emails_everyone_who_must_sign_with_both_parts_and_a_working_link() {
    let sink = SmtpSink::start();
    let app = spawn_app().await;
    let dpo = app.another();
    dpo.sign_in(DPO).await;
    let version = publish_changed_cranbrook(&dpo).await;
    let report = send_all(&app, &sink, OffsetDateTime::now_utc()).await;
    assert_eq!(report.sent, 3);

    let messages = sink.messages();
    let to: Vec<&str> = messages.iter().map(|m| m.rcpt_tos[0].as_str()).collect();
    assert_eq!(to, [GOVERNOR, "sbm@cranbrook.example", STAFF]);
    let sam = &messages[2];
    assert_eq!(sam.from, "Cranbrook AUP <aup@cranbrook.example>");
    assert_eq!(
        sam.subject,
        "Cranbrook Primary School: please read and sign the Staff and Governors AUP (2025-26)"
    );
    let text = sam.text.as_deref().unwrap();
    assert!(text.starts_with("Dear Sam,"), "{text}");
    let html = sam.html.as_deref().unwrap();
    assert!(html.contains(r#"<html lang="en-GB">"#) && html.contains("Dear Sam,"));
    let link = sam.link(&app.address);
    assert_eq!(
        link,
        format!("{}/s/cranbrook/versions/{version}/sign", app.address)
    );
    assert!(html.contains(&format!(r#"href="{link}""#)));

    // The link opens the sign page for Sam, once signed in.
    app.sign_in(STAFF).await;
    let page = app.get(&path(&link, &app.address)).await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("I will use the password manager the school provides.");
    assert_eq!(
        app.count("select count(*) from outbox where status = 'sent'")
            .await,
        3
    );
}

#[tokio::test]
async fn nothing_is_lost_while_the_mail_server_is_down_and_each_email_goes_once() {
    let mut sink = SmtpSink::start();
    sink.stop();
    let app = spawn_app().await;
    app.sign_in(STAFF).await;
    let version = app.version_id(CRANBROOK).await;
    let fields = cranbrook_signature(&app).await;
    let signed = app
        .post(
            &format!("/s/cranbrook/versions/{version}/sign"),
            &as_form(&fields),
        )
        .await;
    assert_eq!(
        signed.status,
        StatusCode::SEE_OTHER,
        "signing does not wait for mail"
    );
    let dpo = app.another();
    dpo.sign_in(DPO).await;
    publish_changed_cranbrook(&dpo).await;
    assert_eq!(
        app.count("select count(*) from outbox").await,
        4,
        "a receipt and three notices"
    );

    let now = OffsetDateTime::now_utc();
    let down = send_all(&app, &sink, now).await;
    assert_eq!(
        down,
        sender::SendReport {
            sent: 0,
            retrying: 1,
            failed: 0,
            cancelled: 0
        }
    );
    let (attempts, error): (i32, Option<String>) =
        sqlx::query_as("select attempts, last_error from outbox where attempts > 0")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(attempts, 1);
    assert!(error.is_some());
    // Before the retry is due nothing is tried.
    assert_eq!(send_all(&app, &sink, now).await.sent, 0);

    sink.restart();
    let up = send_all(&app, &sink, now + Duration::minutes(2)).await;
    assert_eq!(up.sent, 4);
    assert_eq!(
        send_all(&app, &sink, now + Duration::hours(1)).await.sent,
        0
    );
    let messages = sink.messages();
    assert_eq!(messages.len(), 4);
    let mut ids: Vec<&str> = messages.iter().map(|m| m.message_id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4, "each email exactly once");
    let receipt = messages
        .iter()
        .find(|m| m.subject.contains("your receipt"))
        .expect("receipt");
    let hash: String = sqlx::query_scalar("select content_sha256 from agreements")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let text = receipt.text.as_deref().unwrap();
    assert!(
        text.contains("Version: 2024-25") && text.contains(&hash),
        "{text}"
    );
    let receipt_page = app
        .get(&path(&receipt.link(&app.address), &app.address))
        .await;
    assert_eq!(receipt_page.status, StatusCode::OK);
    receipt_page.assert_contains("Policy signed");
}

#[tokio::test]
async fn the_dpo_and_sbm_hear_when_a_review_is_due_then_weekly_once_overdue_until_a_new_version() {
    let sink = SmtpSink::start();
    let app = spawn_app().await;
    let base = &app.address;
    let day = |d: &str| {
        time::Date::parse(d, &time::format_description::well_known::Iso8601::DATE).unwrap()
    };
    let run = |as_of: &'static str| {
        let pool = app.pool.clone();
        let base = base.clone();
        async move {
            jobs::reviews(&pool, day(as_of), &base, false)
                .await
                .unwrap()
                .lines
                .len()
        }
    };
    // The Cranbrook AUP's next review is 1 November 2025.
    assert_eq!(run("2025-10-01").await, 0, "more than 30 days ahead");
    assert_eq!(
        run("2025-10-02").await,
        2,
        "a heads-up to the DPO and the SBM"
    );
    assert_eq!(run("2025-10-20").await, 0, "only one heads-up");
    assert_eq!(
        run("2025-11-01").await,
        0,
        "due today: the heads-up was enough"
    );
    assert_eq!(run("2025-11-02").await, 2, "overdue");
    assert_eq!(run("2025-11-08").await, 0);
    assert_eq!(run("2025-11-09").await, 2, "a week later");
    send_all(&app, &sink, OffsetDateTime::now_utc()).await;
    let messages = sink.messages();
    assert_eq!(messages.len(), 6);
    let to_dpo: Vec<&Delivered> = messages.iter().filter(|m| m.rcpt_tos == [DPO]).collect();
    assert_eq!(to_dpo.len(), 3);
    assert!(to_dpo.iter().any(|m| m.subject
        == "Cranbrook Primary School: the Staff and Governors AUP is due for review on 1 November 2025"));
    assert_eq!(
        to_dpo.iter().filter(|m| m.subject
            == "Cranbrook Primary School: the review of the Staff and Governors AUP is overdue (due 1 November 2025)").count(),
        2
    );
    // The DPO's link opens the policy's page for the DPO.
    let dpo = app.another();
    dpo.sign_in(DPO).await;
    let page = dpo.get(&path(&to_dpo[0].link(base), base)).await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("Start next year's version from 2024-25");
    // The SBM's link opens the school's pages for the SBM.
    let to_sbm = messages
        .iter()
        .find(|m| m.rcpt_tos == ["sbm@cranbrook.example"])
        .unwrap();
    let sbm = app.another();
    sbm.sign_in("sbm@cranbrook.example").await;
    assert_eq!(
        sbm.get(&path(&to_sbm.link(base), base)).await.status,
        StatusCode::OK
    );

    // Publishing next year's version stops them.
    publish_changed_cranbrook(&dpo).await;
    assert_eq!(run("2025-11-15").await, 0);
}

#[tokio::test]
async fn people_who_have_not_signed_are_reminded_weekly_up_to_the_cap_and_leavers_never() {
    let app = spawn_app().await;
    let today = aup_portal::clock::today_uk();
    let policy = ReminderPolicy {
        first_after_days: 7,
        cap: 2,
    };
    let run = |days: i64| {
        let pool = app.pool.clone();
        let base = app.address.clone();
        async move {
            jobs::reminders(&pool, today + Duration::days(days), &base, policy, false)
                .await
                .unwrap()
                .lines
        }
    };
    assert!(run(6).await.is_empty(), "not before the first week is out");
    // Outstanding: Sam and Priya (both policies), Alex (Cranbrook only).
    assert_eq!(run(7).await.len(), 5);
    assert!(run(8).await.is_empty(), "a week between reminders");

    // Sam signs Cranbrook; Priya leaves.
    app.sign_in(STAFF).await;
    let version = app.version_id(CRANBROOK).await;
    let fields = cranbrook_signature(&app).await;
    app.post(
        &format!("/s/cranbrook/versions/{version}/sign"),
        &as_form(&fields),
    )
    .await;
    sqlx::query("update memberships set status = 'left', left_on = current_date where user_id = (select id from users where email = 'sbm@cranbrook.example')")
        .execute(&app.pool)
        .await
        .unwrap();
    let second = run(14).await;
    assert_eq!(second.len(), 2, "{second:?}");
    assert!(second.iter().any(|l| l.contains(GOVERNOR)));
    assert!(
        second
            .iter()
            .any(|l| l.contains(STAFF) && l.contains("Staff Acceptable Usage Policy"))
    );
    assert!(run(21).await.is_empty(), "the cap of two is reached");
    assert_eq!(
        app.count("select count(*) from reminders where kind = 'scheduled'")
            .await,
        7
    );
}

#[tokio::test]
async fn three_workers_at_once_send_each_email_once() {
    let sink = SmtpSink::start();
    let app = spawn_app().await;
    let overdue = time::macros::date!(2025 - 11 - 02);
    let reminders_day = aup_portal::clock::today_uk() + Duration::days(7);
    let mailer = sink.mailer(&app.address);
    let worker = |n: u64| {
        let pool = app.pool.clone();
        let base = app.address.clone();
        let mailer = mailer.clone();
        async move {
            for round in 0..3u64 {
                tokio::time::sleep(std::time::Duration::from_millis((n * 7 + round * 3) % 10))
                    .await;
                jobs::reviews(&pool, overdue, &base, false).await.unwrap();
                jobs::reminders(
                    &pool,
                    reminders_day,
                    &base,
                    ReminderPolicy::default(),
                    false,
                )
                .await
                .unwrap();
                sender::send_due(&pool, &mailer, OffsetDateTime::now_utc(), 100)
                    .await
                    .unwrap();
            }
        }
    };
    tokio::join!(worker(1), worker(2), worker(3));
    // Two overdue notices and five signer reminders.
    assert_eq!(app.count("select count(*) from outbox").await, 7);
    assert_eq!(
        app.count("select count(*) from outbox where status = 'sent'")
            .await,
        7
    );
    let messages = sink.messages();
    assert_eq!(messages.len(), 7, "{messages:#?}");
    assert_eq!(app.count("select count(*) from reminders").await, 5);
}

#[tokio::test]
async fn a_forgotten_password_is_reset_by_a_single_use_link() {
    let sink = SmtpSink::start();
    let app = spawn_app().await;
    let known = app.post("/password/reset", &[("email", STAFF)]).await;
    let unknown = app
        .post("/password/reset", &[("email", "nobody@cranbrook.example")])
        .await;
    assert_eq!(known.status, unknown.status);
    known.assert_contains("Check your email");
    assert_eq!(
        known.body.replace(STAFF, ""),
        unknown.body.replace("nobody@cranbrook.example", ""),
        "the same answer whether or not the address has an account"
    );
    // Asking again at once sends nothing more, and says the same.
    let again = app.post("/password/reset", &[("email", STAFF)]).await;
    assert_eq!(again.status, known.status);
    again.assert_contains("Check your email");
    send_all(&app, &sink, OffsetDateTime::now_utc()).await;
    let messages = sink.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(
        messages[0].subject,
        "Cranbrook Primary School: reset your AUP Portal password"
    );
    let link = path(&messages[0].link(&app.address), &app.address);

    let form = app.get(&link).await;
    form.assert_contains("Choose a new password");
    let short = app
        .post(&link, &[("password", "short"), ("confirm", "short")])
        .await;
    short.assert_contains("Your password must be at least 8 characters long");
    let mismatch = app
        .post(
            &link,
            &[
                ("password", "a-brand-new-passphrase"),
                ("confirm", "another"),
            ],
        )
        .await;
    mismatch.assert_contains("The passwords do not match");
    let done = app
        .post(
            &link,
            &[
                ("password", "a-brand-new-passphrase"),
                ("confirm", "a-brand-new-passphrase"),
            ],
        )
        .await;
    assert_eq!(done.location(), Some("/sign-in?password_set=1"));

    let old = app
        .post("/sign-in", &[("email", STAFF), ("password", PASSWORD)])
        .await;
    assert_eq!(
        old.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the old password no longer works"
    );
    old.assert_contains("Enter the email address and password of your account");
    let new = app
        .post(
            "/sign-in",
            &[("email", STAFF), ("password", "a-brand-new-passphrase")],
        )
        .await;
    assert_eq!(new.status, StatusCode::SEE_OTHER);
    let reused = app.get(&link).await;
    assert_eq!(reused.status, StatusCode::NOT_FOUND);
    reused.assert_contains("This link no longer works");
}

#[tokio::test]
async fn an_invitation_link_sets_a_new_persons_password_and_expires_after_seven_days() {
    let sink = SmtpSink::start();
    let app = spawn_app().await;
    let (user_id, school_id): (uuid::Uuid, uuid::Uuid) = sqlx::query_as(
        "with u as (insert into users (email, full_name, signing_name) values ('new@cranbrook.example', 'Jamie Fox', 'Jamie Fox') returning id),
              s as (select id from schools where slug = 'cranbrook')
         insert into memberships (user_id, school_id, grp, job_title) select u.id, s.id, 'staff', 'Teaching assistant' from u, s
         returning user_id, school_id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let mut tx = app.pool.begin().await.unwrap();
    aup_portal::store::tokens::invite(&mut tx, user_id, school_id, &app.address)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let days: f64 = sqlx::query_scalar(
        "select extract(epoch from expires_at - now())::float8 / 86400 from account_tokens",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!((6.99..=7.0).contains(&days), "{days}");
    send_all(&app, &sink, OffsetDateTime::now_utc()).await;
    let invitation = &sink.messages()[0];
    assert_eq!(
        invitation.subject,
        "Cranbrook Primary School: create your password for AUP Portal"
    );
    assert!(
        invitation
            .text
            .as_deref()
            .unwrap()
            .starts_with("Dear Jamie,")
    );
    let link = path(&invitation.link(&app.address), &app.address);
    app.get(&link).await.assert_contains("Create your password");
    app.post(
        &link,
        &[
            ("password", "jamie-first-passphrase"),
            ("confirm", "jamie-first-passphrase"),
        ],
    )
    .await;
    let signed_in = app
        .post(
            "/sign-in",
            &[
                ("email", "new@cranbrook.example"),
                ("password", "jamie-first-passphrase"),
            ],
        )
        .await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);

    // A second invitation, expired, no longer works.
    let mut tx = app.pool.begin().await.unwrap();
    aup_portal::store::tokens::invite(&mut tx, user_id, school_id, &app.address)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    sqlx::query(
        "update account_tokens set expires_at = now() - interval '1 minute' where used_at is null",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    send_all(&app, &sink, OffsetDateTime::now_utc()).await;
    let second = sink
        .messages()
        .into_iter()
        .find(|m| m.text.as_deref().unwrap() != invitation.text.as_deref().unwrap())
        .unwrap();
    let expired = app
        .get(&path(&second.link(&app.address), &app.address))
        .await;
    expired.assert_contains("This link no longer works");
}

#[tokio::test]
async fn the_admin_mail_page_says_when_mail_is_not_set_up_and_retries_failed_emails() {
    let app = spawn_app().await;
    add_member(
        &app,
        "cranbrook",
        ADMIN,
        "Chris Patel",
        "staff",
        "IT administrator",
        "{signer,admin}",
    )
    .await;
    sqlx::raw_sql(
        "insert into outbox (school_id, dedupe_key, to_address, subject, body_text, body_html, status, attempts, last_error)
           select id, 'test:1', 'not-an-address', 'A lost email', 'x', 'x', 'failed', 1, 'not a valid email address'
           from schools where slug = 'cranbrook';",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    app.sign_in(ADMIN).await;
    let page = app.get("/s/cranbrook/admin/mail").await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("Email is not set up");
    page.assert_contains("A lost email");
    let id: uuid::Uuid = sqlx::query_scalar("select id from outbox where dedupe_key = 'test:1'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let retried = app
        .post(&format!("/s/cranbrook/admin/mail/{id}/retry"), &[])
        .await;
    assert_eq!(retried.status, StatusCode::SEE_OTHER);
    let status: String = sqlx::query_scalar("select status from outbox where id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(status, "pending");

    // Only admins.
    let staff = app.another();
    staff.sign_in(STAFF).await;
    assert_eq!(
        staff.get("/s/cranbrook/admin/mail").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        staff
            .post(&format!("/s/cranbrook/admin/mail/{id}/retry"), &[])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_reset_link_lasts_an_hour() {
    let app = spawn_app().await;
    app.post("/password/reset", &[("email", STAFF)]).await;
    let minutes: f64 = sqlx::query_scalar(
        "select extract(epoch from expires_at - now())::float8 / 60 from account_tokens where purpose = 'reset'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!((59.0..=60.0).contains(&minutes), "{minutes}");
}

#[tokio::test]
async fn nobody_gets_a_scheduled_reminder_on_a_day_the_sbm_chased_them() {
    let app = spawn_app().await;
    let day = aup_portal::clock::today_uk() + Duration::days(7);
    // The SBM chased Alex that morning.
    sqlx::query(
        "insert into reminders (school_id, membership_id, version_id, kind, reminded_at)
         select m.school_id, m.id, v.id, 'chase', ($1::date + time '09:00') at time zone 'Europe/London'
         from memberships m join users u on u.id = m.user_id, policy_versions v
         where u.email = $2 and v.status = 'published' and v.label = '2024-25'",
    )
    .bind(day)
    .bind(GOVERNOR)
    .execute(&app.pool)
    .await
    .unwrap();
    let lines = jobs::reminders(
        &app.pool,
        day,
        &app.address,
        ReminderPolicy::default(),
        false,
    )
    .await
    .unwrap()
    .lines;
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert!(!lines.iter().any(|l| l.contains(GOVERNOR)));
}

#[tokio::test]
async fn a_sent_email_keeps_no_working_link_and_its_text_goes_after_the_keep_days() {
    let sink = SmtpSink::start();
    let app = spawn_app().await;
    app.post("/password/reset", &[("email", STAFF)]).await;
    let report = send_all(&app, &sink, OffsetDateTime::now_utc()).await;
    assert_eq!(report.sent, 1);
    let delivered = &sink.messages()[0];
    let link = delivered.link(&app.address);
    let token = link.rsplit('/').next().unwrap().to_owned();
    assert_eq!(token.len(), 64, "{link}");
    let (text, html): (String, String) =
        sqlx::query_as("select body_text, body_html from outbox where dedupe_key like 'reset:%'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(
        !text.contains(&token) && !html.contains(&token),
        "{text}\n{html}"
    );
    assert!(text.contains(sender::REMOVED));
    // The link the person received still works.
    assert_eq!(
        app.get(&path(&link, &app.address)).await.status,
        StatusCode::OK
    );

    // After the keep days only the envelope remains, and nothing is sent twice.
    sqlx::query("update outbox set sent_at = now() - interval '31 days'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(sender::clear_old_bodies(&app.pool, 30).await.unwrap(), 1);
    let (to, subject, text, status): (String, String, String, String) = sqlx::query_as(
        "select to_address, subject, body_text, status from outbox where dedupe_key like 'reset:%'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        (to.as_str(), text.as_str(), status.as_str()),
        (STAFF, "", "sent")
    );
    assert!(subject.contains("reset your AUP Portal password"));
    assert_eq!(
        send_all(&app, &sink, OffsetDateTime::now_utc()).await.sent,
        0
    );
}

#[tokio::test]
async fn the_dpo_and_admins_get_the_days_chain_heads_once_and_the_operator_the_schoolless_chain() {
    let app = spawn_app().await;
    add_cranbrook_admin(&app).await;
    app.sign_in(STAFF).await;
    sign_cranbrook(&app).await;
    aup_portal::seal::seal_all(&app.pool).await.unwrap();
    let today = aup_portal::clock::today_uk();
    let now = OffsetDateTime::now_utc();
    let run =
        || aup_portal::jobs::heads::heads(&app.pool, today, now, Some("ops@trust.example"), false);
    let report = run().await.unwrap();
    // The DPO, both admins (Chris, and the demo's own), and the operator.
    assert_eq!(report.len(), 4, "{report:?}");
    let school: uuid::Uuid = sqlx::query_scalar("select id from schools where slug = 'cranbrook'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let (seq, sha): (i64, String) = sqlx::query_as(
        "select seq, sha256 from seals where school_id = $1 order by seq desc limit 1",
    )
    .bind(school)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let line = aup_portal::seal::head_line(school, seq, &sha);
    for to in [DPO, ADMIN] {
        let body: String = sqlx::query_scalar(
            "select body_text from outbox where to_address = $1 and dedupe_key like 'chain-heads:%'",
        )
        .bind(to)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert!(body.contains(&line), "{to}: {body}");
    }
    let ops: String =
        sqlx::query_scalar("select body_text from outbox where to_address = 'ops@trust.example'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(
        ops.contains(&format!("aup-head v1 {}", uuid::Uuid::nil())),
        "{ops}"
    );
    assert!(
        !ops.contains(&school.to_string()),
        "only the school-less chain"
    );
    assert!(run().await.unwrap().is_empty(), "once a day");
}

#[tokio::test]
async fn a_line_break_in_a_subject_stays_in_the_subject_and_adds_no_header() {
    let app = spawn_app().await;
    let sink = SmtpSink::start();
    // Subjects carry names people type (a school's, a policy's): one with a header in it.
    sqlx::query(
        "insert into outbox (dedupe_key, to_address, subject, body_text, body_html)
         values ('test:injection', $1, $2, 'Text', '<p>Text</p>')",
    )
    .bind(STAFF)
    .bind("Hello\r\nBcc: eve@evil.example")
    .execute(&app.pool)
    .await
    .unwrap();
    send_all(&app, &sink, OffsetDateTime::now_utc()).await;
    let delivered = sink.messages();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].rcpt_tos, [STAFF]);
    assert!(
        delivered[0].subject.starts_with("Hello")
            && delivered[0].subject.contains("Bcc: eve@evil.example"),
        "the would-be header is still part of the subject: {:?}",
        delivered[0].subject
    );
}

#[tokio::test]
async fn an_admin_sends_themselves_a_test_email_and_sees_what_waits() {
    let sink = SmtpSink::start();
    let app = spawn_app_with(|s| s.mail_configured = true).await;
    add_cranbrook_admin(&app).await;
    app.sign_in(ADMIN).await;
    let asked = app.post("/s/cranbrook/admin/mail/test", &[]).await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER, "{}", asked.body);
    let page = app.get(asked.location().unwrap()).await;
    page.assert_contains(&format!("A test email is on its way to {ADMIN}."));
    page.assert_contains(&format!(
        "<li><strong>A test email from AUP Portal</strong><br>To {ADMIN}, queued "
    ));

    send_all(&app, &sink, OffsetDateTime::now_utc()).await;
    let delivered = sink.messages();
    let test = delivered
        .iter()
        .find(|m| m.subject == "A test email from AUP Portal")
        .expect("the test email arrived");
    assert_eq!(test.rcpt_tos, [ADMIN]);
    assert!(
        test.text
            .as_deref()
            .unwrap_or_default()
            .contains("It has arrived, so the portal's email works")
    );
    let after = app.get("/s/cranbrook/admin/mail").await;
    assert!(
        !after
            .body
            .contains("<strong>A test email from AUP Portal</strong>")
    );

    // Without a mail server it waits, and the page says so.
    let unset = spawn_app().await;
    add_cranbrook_admin(&unset).await;
    unset.sign_in(ADMIN).await;
    let asked = unset.post("/s/cranbrook/admin/mail/test", &[]).await;
    unset
        .get(asked.location().unwrap())
        .await
        .assert_contains(&format!(
            "A test email to {ADMIN} is queued: email is not set up, so it is sent once it is."
        ));
}
