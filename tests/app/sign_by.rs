//! The date to sign by: set when publishing, kept beside the version (never in its hash),
//! moved later; shown on the signer's home, in the emails and on the dashboard; and the
//! reminders it brings, 3 days and 1 day before it and on the day, within the cap.

use aup_portal::{
    domain::render::long_date,
    jobs::{self, ReminderPolicy},
};
use reqwest::StatusCode;
use time::{Date, Duration};

use crate::helpers::*;
use crate::publishing::{DPO, draft_fields, start_clone};

/// The date `days` from today, as the three boxes of the date input.
fn boxes(date: Date) -> [String; 3] {
    [
        date.day().to_string(),
        u8::from(date.month()).to_string(),
        date.year().to_string(),
    ]
}

/// Opens the draft's publish page and posts it with the date to sign by.
async fn publish_with(app: &TestApp, draft: &str, sign_by: [&str; 3]) -> Page {
    let confirm = app.get(&format!("{draft}/publish")).await;
    confirm.assert_contains("Date to sign by (optional)");
    let marker = r#"name="content_sha256" value=""#;
    let start = confirm.body.find(marker).expect("a confirmation form") + marker.len();
    let hash = confirm.body[start..start + 64].to_owned();
    app.post(
        &format!("{draft}/publish"),
        &[
            ("content_sha256", hash.as_str()),
            ("sign_by_day", sign_by[0]),
            ("sign_by_month", sign_by[1]),
            ("sign_by_year", sign_by[2]),
        ],
    )
    .await
}

async fn text_to(app: &TestApp, to: &str, key: &str) -> String {
    sqlx::query_scalar(
        "select body_text from outbox where to_address = $1 and dedupe_key like $2
         order by created_at desc limit 1",
    )
    .bind(to)
    .bind(key)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

/// The DPO, signed in, starts next year's Cranbrook version and saves it: its path.
async fn dpo_drafts_next_year(app: &TestApp) -> String {
    app.sign_in(DPO).await;
    let draft = start_clone(app).await;
    let saved = app
        .post(
            &draft,
            &as_form(&draft_fields("- I will lock my screen.\n")),
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    draft
}

#[tokio::test]
async fn a_date_to_sign_by_is_set_when_publishing_shown_to_everyone_and_moved_later() {
    let app = spawn_app().await;
    let draft = dpo_drafts_next_year(&app).await;
    let today = aup_portal::clock::today_uk();

    // A date that has passed, or half a date, is refused next to the field; nothing is published.
    let [d, m, y] = boxes(today);
    let past = publish_with(&app, &draft, [&d, &m, &y]).await;
    assert_eq!(past.status, StatusCode::UNPROCESSABLE_ENTITY);
    past.assert_contains(r#"<p id="sign_by-error" class="error-message"><span class="visually-hidden">Error:</span> The date to sign by must be in the future</p>"#);
    past.assert_contains(&format!(r#"id="sign_by-day" name="sign_by_day" type="text" inputmode="numeric" class="input-width-2" value="{d}""#));
    let half = publish_with(&app, &draft, ["31", "", "2027"]).await;
    half.assert_contains("The date to sign by must include a month");
    assert_eq!(
        app.count("select count(*) from policy_versions where status = 'draft'")
            .await,
        1
    );

    let sign_by = today + Duration::days(20);
    let [d, m, y] = boxes(sign_by);
    let published = publish_with(&app, &draft, [&d, &m, &y]).await;
    assert_eq!(
        published.status,
        StatusCode::SEE_OTHER,
        "{}",
        published.body
    );
    let version = app.version_id(CRANBROOK).await;
    let hash_before = app.content_hash(version).await;
    let said = long_date(sign_by);
    assert!(text_to(&app, STAFF, "published:%").await.contains(&format!(
        "Everyone it applies to needs to read and sign it by {said}."
    )),);
    let policy = app.get(published.location().unwrap()).await;
    policy.assert_contains(&format!(
        "<dt>Sign by</dt><dd>{said} <a href=\"/s/cranbrook/versions/{version}/sign-by\">Change"
    ));

    // Sam sees it on the home page; the SBM on the dashboard, with the target line.
    let sam = app.another();
    sam.sign_in(STAFF).await;
    sam.visit("/s/cranbrook/").await.assert_contains(&format!(
        r#"<span class="task-detail">Sign it by {said}.</span>"#
    ));
    let sbm = app.another();
    sbm.sign_in("sbm@cranbrook.example").await;
    let dashboard = sbm.get(&format!("/s/cranbrook/compliance/{version}")).await;
    dashboard.assert_contains(&format!(
        "Everyone is asked to sign it by <strong>{said}</strong>."
    ));
    dashboard.assert_contains(r#"<line class="chart-target""#);
    dashboard.assert_contains(&format!("Everyone was asked to sign by {said}."));
    assert!(
        !dashboard
            .body
            .contains(r#"<span class="tag tag-red">Overdue</span>"#)
    );

    // The DPO moves it: a date that has passed is refused, a later one kept and audited.
    let form = app
        .get(&format!("/s/cranbrook/versions/{version}/sign-by"))
        .await;
    form.assert_contains(&format!("Everyone has been asked to sign it by {said}."));
    let refused = app
        .post(
            &format!("/s/cranbrook/versions/{version}/sign-by"),
            &[
                ("sign_by_day", ""),
                ("sign_by_month", ""),
                ("sign_by_year", ""),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    refused.assert_contains("Enter the date to sign by");
    let later = sign_by + Duration::days(14);
    let [d, m, y] = boxes(later);
    let moved = app
        .post(
            &format!("/s/cranbrook/versions/{version}/sign-by"),
            &[
                ("sign_by_day", &d),
                ("sign_by_month", &m),
                ("sign_by_year", &y),
            ],
        )
        .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER);
    app.get(moved.location().unwrap())
        .await
        .assert_contains(&format!("The date to sign by is now {}.", long_date(later)));
    let logged: String = sqlx::query_scalar(
        "select details->>'sign_by' from audit_events where action = 'sign_by_date_set'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(logged, later.to_string());
    // The version itself, its evidence, is untouched.
    assert_eq!(app.content_hash(version).await, hash_before);

    // Once it has passed, those who have not signed are overdue, in red.
    sqlx::query("update sign_by_dates set sign_by = current_date - 1")
        .execute(&app.pool)
        .await
        .unwrap();
    let dashboard = sbm.get(&format!("/s/cranbrook/compliance/{version}")).await;
    dashboard.assert_contains("everyone outstanding is overdue");
    dashboard.assert_contains(r#"<td class="numeric" data-label="Days outstanding"><span class="tag tag-red">Overdue</span> 0</td>"#);
    sam.visit("/s/cranbrook/")
        .await
        .assert_contains(r#"<span class="tag tag-red">Overdue</span>"#);
}

#[tokio::test]
async fn reminders_come_3_days_and_1_day_before_the_date_and_on_it_within_the_cap() {
    let app = spawn_app().await;
    let draft = dpo_drafts_next_year(&app).await;
    let today = aup_portal::clock::today_uk();
    let sign_by = today + Duration::days(20);
    let [d, m, y] = boxes(sign_by);
    let published = publish_with(&app, &draft, [&d, &m, &y]).await;
    assert_eq!(
        published.status,
        StatusCode::SEE_OTHER,
        "{}",
        published.body
    );

    let run = |days: i64| {
        let pool = app.pool.clone();
        let base = app.address.clone();
        async move {
            jobs::reminders(
                &pool,
                today + Duration::days(days),
                &base,
                ReminderPolicy::default(),
                false,
            )
            .await
            .unwrap()
            .lines
            .into_iter()
            .filter(|line| line.contains(STAFF) && line.contains(CRANBROOK))
            .count()
        }
    };
    // The cap of four: the first weekly one, then the three the date brings; the weekly
    // ones on days 14 and 21 give way to them, and nothing goes once the cap is reached.
    let mut sent = vec![];
    for day in 0..=35 {
        if run(day).await > 0 {
            sent.push(day);
        }
    }
    assert_eq!(sent, vec![7, 17, 19, 20]);
    let before: String = sqlx::query_scalar(
        "select body_text from outbox where to_address = $1 and dedupe_key like '%:by-%-3'",
    )
    .bind(STAFF)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(
        before.contains(&format!("Please sign it by {}.", long_date(sign_by))),
        "{before}"
    );
}
