//! Each person lands on their own work: the DPO on the reviews due, the SBM on who has
//! signed, a signer on what is waiting, and someone with several roles on a summary of each.

use crate::{helpers::*, publishing::DPO};

const SBM: &str = "sbm@cranbrook.example";

/// Moves the published versions' review date, as a version published with it would have:
/// published versions cannot change, so past their guard.
async fn review_due_on(app: &TestApp, due: time::Date) {
    let mut tx = app.pool.begin().await.unwrap();
    sqlx::query("set local session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("update policy_versions set next_review_due = $1 where status = 'published'")
        .bind(due)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn the_dpo_lands_on_the_reviews_due_with_the_overdue_first() {
    let app = spawn_app().await;
    app.sign_in(DPO).await;
    let home = app.get("/s/cranbrook/").await;
    home.assert_contains("<h2>Policy reviews</h2>");
    home.assert_contains(
        r#"<span class="tag tag-red">Review overdue</span> <span class="task-detail">It was due on 1 November 2025."#,
    );
    home.assert_contains(&format!(">{CRANBROOK}</a>"));
    assert!(
        !home.body.contains("<h2>Who has signed</h2>"),
        "not the SBM's work"
    );

    // A review due in ten days is due, not overdue; one beyond thirty days is not listed.
    let today = aup_portal::clock::today_uk();
    review_due_on(&app, today + time::Duration::days(10)).await;
    let home = app.get("/s/cranbrook/").await;
    home.assert_contains(&format!(
        r#"<span class="tag">Review due</span> <span class="task-detail">It is due on {}."#,
        aup_portal::domain::render::long_date(today + time::Duration::days(10))
    ));
    assert!(!home.body.contains("Review overdue"));
    review_due_on(&app, today + time::Duration::days(31)).await;
    app.get("/s/cranbrook/")
        .await
        .assert_contains("No policy is due for review in the next 30 days.");
}

#[tokio::test]
async fn the_sbm_lands_on_who_has_signed_and_a_signer_on_what_is_waiting() {
    let app = spawn_app().await;
    let sam = app.another();
    sam.sign_in(STAFF).await;
    sign_cranbrook(&sam).await;

    app.sign_in(SBM).await;
    let home = app.get("/s/cranbrook/").await;
    home.assert_contains("<h2>Who has signed</h2>");
    let version = app.version_id(CRANBROOK).await;
    home.assert_contains(&format!(
        r#"<a href="/s/cranbrook/compliance/{version}">{CRANBROOK}, version"#
    ));
    home.assert_contains("1 of 3 signed (33%), 2 outstanding");
    assert!(
        !home.body.contains("<h2>Policy reviews</h2>"),
        "not the DPO's work"
    );
    // The SBM signs too: their own summary follows.
    home.assert_contains("<h2>Waiting for your signature</h2>");

    let signer = sam.get("/s/cranbrook/").await;
    signer.assert_contains("<h2>Waiting for your signature</h2>");
    assert!(!signer.body.contains("<h2>Who has signed</h2>"));
    assert!(!signer.body.contains("<h2>Policy reviews</h2>"));
}

#[tokio::test]
async fn a_dpo_serving_several_schools_sees_a_line_of_reviews_for_each() {
    let app = spawn_app().await;
    add_member(
        &app,
        "oakfield",
        "office@oakfield.example",
        "Olu Ade",
        "staff",
        "",
        "{signer}",
    )
    .await;
    // The DPO of Cranbrook is Oakfield's DPO too; Oakfield has published nothing.
    sqlx::query(
        "insert into memberships (user_id, school_id, grp, job_title, roles)
         select u.id, s.id, 'staff', '', '{dpo}' from users u, schools s
         where u.email = $1 and s.slug = 'oakfield'",
    )
    .bind(DPO)
    .execute(&app.pool)
    .await
    .unwrap();
    let overdue = app
        .count(
            "select count(*) from policy_versions v join schools s on s.id = v.school_id
             where s.slug = 'cranbrook' and v.status = 'published' and v.next_review_due < current_date",
        )
        .await;
    assert!(overdue > 0, "the demo school's reviews are overdue");

    app.sign_in(DPO).await;
    let schools = app.get("/").await;
    schools.assert_contains("Choose a school.");
    schools.assert_contains(&format!(
        r#">Cranbrook Primary School</a><br><span class="hint">{overdue} policy {} overdue.</span>"#,
        if overdue == 1 { "review" } else { "reviews" }
    ));
    schools.assert_contains(
        r#">Oakfield Academy</a><br><span class="hint">No policy review is due in the next 30 days.</span>"#,
    );

    // Someone who is not a DPO sees only the names.
    sqlx::query(
        "insert into memberships (user_id, school_id, grp, job_title, roles)
         select u.id, s.id, 'staff', '', '{signer}' from users u, schools s
         where u.email = $1 and s.slug = 'oakfield'",
    )
    .bind(STAFF)
    .execute(&app.pool)
    .await
    .unwrap();
    let sam = app.another();
    sam.sign_in(STAFF).await;
    let schools = sam.get("/").await;
    schools.assert_contains(">Oakfield Academy</a></li>");
    assert!(!schools.body.contains("policy review"));
}

/// The status the checklist shows for the step titled `title`.
fn step_status(page: &Page, title: &str) -> String {
    let after = page
        .body
        .split(&format!(">{title}</a>"))
        .nth(1)
        .unwrap_or_else(|| panic!("the step {title}"));
    after
        .split("<span class=\"tag")
        .nth(1)
        .and_then(|tag| tag.split('>').nth(1))
        .and_then(|text| text.split('<').next())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn a_new_schools_admin_is_guided_by_a_checklist_that_ticks_itself_off() {
    let sink = SmtpSink::start();
    let app = spawn_app_with(|s| s.mail_configured = true).await;
    // A school with nothing in it yet, and its first admin.
    add_member(
        &app,
        "oakfield",
        "it@oakfield.example",
        "Jo Lee",
        "external",
        "IT",
        "{admin}",
    )
    .await;
    let oakfield = app.another();
    oakfield.sign_in("it@oakfield.example").await;
    let empty = oakfield.get("/s/oakfield/").await;
    empty.assert_contains("<h2 id=\"getting-started\">Getting started</h2>");
    empty.assert_contains("You have done 0 of 5 steps.");
    for title in [
        "Add the school business manager and data protection officer",
        "Import people",
        "Create or import the policy",
        "Set up email",
    ] {
        assert_eq!(step_status(&empty, title), "Not done yet", "{title}");
    }
    assert_eq!(step_status(&empty, "Set up sign-in"), "Optional");
    empty.assert_contains(r#"<a href="/s/oakfield/people/new""#);

    // Cranbrook has its SBM, DPO and a published policy; the admin does the rest.
    add_cranbrook_admin(&app).await;
    app.sign_in(ADMIN).await;
    let home = app.get("/s/cranbrook/").await;
    home.assert_contains("You have done 2 of 5 steps.");
    assert_eq!(
        step_status(
            &home,
            "Add the school business manager and data protection officer"
        ),
        "Completed"
    );
    assert_eq!(
        step_status(&home, "Create or import the policy"),
        "Completed"
    );

    let preview = crate::compliance::upload(
        &app,
        "Name,Email,Group,Job title\r\nRobin Hale,robin@cranbrook.example,Staff,Teaching assistant\r\n",
    )
    .await;
    let csv = crate::compliance::kept_csv(&preview);
    app.post(
        "/s/cranbrook/people/import/confirm",
        &[("csv", csv.as_str())],
    )
    .await;
    let home = app.get("/s/cranbrook/").await;
    assert_eq!(step_status(&home, "Import people"), "Completed");

    crate::provider::cranbrook_uses(
        &app,
        aup_portal::domain::statuses::SsoProvider::Oidc,
        "https://id.cranbrook.example",
        None,
        None,
    )
    .await;
    let home = app.get("/s/cranbrook/").await;
    assert_eq!(step_status(&home, "Set up sign-in"), "Completed");
    home.assert_contains("You have done 4 of 5 steps.");

    // Email counts as set up once an email has gone: the test email.
    app.post("/s/cranbrook/admin/mail/test", &[]).await;
    assert_eq!(
        step_status(&app.get("/s/cranbrook/").await, "Set up email"),
        "Not done yet"
    );
    aup_portal::mail::sender::send_due(
        &app.pool,
        &sink.mailer(&app.address),
        time::OffsetDateTime::now_utc(),
        100,
    )
    .await
    .unwrap();
    let done = app.get("/s/cranbrook/").await;
    assert!(
        !done.body.contains("Getting started"),
        "set up: the list goes"
    );
    done.assert_contains("Who has signed");

    // Only the admin sees it.
    let sbm = app.another();
    sbm.sign_in(SBM).await;
    assert!(
        !sbm.get("/s/oakfield/")
            .await
            .body
            .contains("Getting started")
    );
    assert!(
        !sbm.get("/s/cranbrook/")
            .await
            .body
            .contains("Getting started")
    );
}
