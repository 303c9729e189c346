//! The SBM's and admin's person forms offer only what the manager may do.

use reqwest::StatusCode;

use crate::helpers::*;

const SBM: &str = "sbm@cranbrook.example";

#[tokio::test]
async fn an_sbm_is_offered_only_the_roles_they_can_give_and_told_why_the_others_are_missing() {
    let app = spawn_app().await;
    app.sign_in(SBM).await;
    let form = app.get("/s/cranbrook/people/new").await;
    assert_eq!(form.status, StatusCode::OK);
    form.assert_contains(r#"id="role-signer""#);
    form.assert_contains(r#"id="role-sbm""#);
    form.assert_contains(r#"id="role-head""#);
    assert!(!form.body.contains(r#"id="role-dpo""#), "{}", form.body);
    assert!(!form.body.contains(r#"id="role-admin""#));
    form.assert_contains(
        "Select all that apply. Only an administrator can give the data protection officer and administrator roles.",
    );

    let sam = app
        .get(&format!(
            "/s/cranbrook/people/{}/edit",
            membership(&app, STAFF).await
        ))
        .await;
    assert!(!sam.body.contains(r#"id="role-dpo""#));
    sam.assert_contains(
        "Only an administrator can give the data protection officer and administrator roles.",
    );

    // On their own record there is nothing to tick: their roles are not theirs to change.
    let own = app
        .get(&format!(
            "/s/cranbrook/people/{}/edit",
            membership(&app, SBM).await
        ))
        .await;
    assert!(!own.body.contains(r#"name="roles""#), "{}", own.body);
    own.assert_contains(
        "Signer, School business manager. You cannot change your own roles: another manager or an administrator can.",
    );
}

#[tokio::test]
async fn an_admin_is_offered_every_role() {
    let app = spawn_app().await;
    add_member(
        &app,
        "cranbrook",
        "avery@cranbrook.example",
        "Avery Admin",
        "staff",
        "IT manager",
        "{admin}",
    )
    .await;
    app.sign_in("avery@cranbrook.example").await;
    let form = app.get("/s/cranbrook/people/new").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    for role in ["signer", "sbm", "head", "dpo", "admin"] {
        form.assert_contains(&format!(r#"id="role-{role}""#));
    }
    assert!(!form.body.contains("Only an administrator can give"));
}

#[tokio::test]
async fn marking_a_person_as_left_asks_for_the_date_which_is_required_kept_and_audited() {
    let app = spawn_app().await;
    app.sign_in(SBM).await;
    let sam = membership(&app, STAFF).await;
    let person = app.get(&format!("/s/cranbrook/people/{sam}")).await;
    person.assert_contains(&format!(
        r#"<a href="/s/cranbrook/people/{sam}/leave" class="button button-warning">Mark as left</a>"#
    ));
    let check = app.get(&format!("/s/cranbrook/people/{sam}/leave")).await;
    assert_eq!(check.status, StatusCode::OK);
    check.assert_contains("<h1>Mark Sam Taylor as left</h1>");
    check.assert_contains(r#"name="left_on_day""#);
    check.assert_contains(r#"name="left_on_month""#);
    check.assert_contains(r#"name="left_on_year""#);

    let path = format!("/s/cranbrook/people/{sam}/leave");
    let tomorrow = aup_portal::clock::today_uk() + time::Duration::days(1);
    let (day, month, year) = (
        tomorrow.day().to_string(),
        u8::from(tomorrow.month()).to_string(),
        tomorrow.year().to_string(),
    );
    for (fields, message) in [
        (
            vec![
                ("left_on_day", ""),
                ("left_on_month", ""),
                ("left_on_year", ""),
            ],
            "Enter the leaving date",
        ),
        (
            vec![
                ("left_on_day", "31"),
                ("left_on_month", ""),
                ("left_on_year", "2026"),
            ],
            "The leaving date must include a month",
        ),
        (
            vec![
                ("left_on_day", "30"),
                ("left_on_month", "2"),
                ("left_on_year", "2026"),
            ],
            "The leaving date must be a real date",
        ),
        (
            vec![
                ("left_on_day", day.as_str()),
                ("left_on_month", month.as_str()),
                ("left_on_year", year.as_str()),
            ],
            "The leaving date must be today or in the past",
        ),
    ] {
        let refused = app.post(&path, &fields).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{message}"
        );
        refused.assert_contains(&format!(r##"<a href="#left_on">{message}</a>"##));
        refused.assert_contains(&format!(
            r#"<p id="left_on-error" class="error-message"><span class="visually-hidden">Error:</span> {message}</p>"#
        ));
    }
    // What was typed stays in the boxes.
    app.post(
        &path,
        &[
            ("left_on_day", "31"),
            ("left_on_month", ""),
            ("left_on_year", "2026"),
        ],
    )
    .await
    .assert_contains(
        r#"name="left_on_year" type="text" inputmode="numeric" class="input-width-4" value="2026""#,
    );
    assert_eq!(
        app.count("select count(*) from memberships where status = 'left'")
            .await,
        0,
        "nothing changed"
    );

    let left = app.post(&path, &LEFT_ON).await;
    assert_eq!(left.status, StatusCode::SEE_OTHER, "{}", left.body);
    let (status, on): (String, time::Date) =
        sqlx::query_as("select status, left_on from memberships where id = $1")
            .bind(sam)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        (status.as_str(), on),
        ("left", time::macros::date!(2026 - 08 - 31))
    );
    let details: serde_json::Value = sqlx::query_scalar(
        "select details from audit_events where action = 'person_left' and subject = $1",
    )
    .bind(sam.to_string())
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(details["left_on"], "2026-08-31");
}

#[tokio::test]
async fn people_ticked_on_the_list_leave_together_from_a_check_page_with_one_date() {
    let app = spawn_app().await;
    app.sign_in(SBM).await;
    let sam = membership(&app, STAFF).await.to_string();
    let alex = membership(&app, GOVERNOR).await.to_string();
    let dpo = membership(&app, crate::publishing::DPO).await.to_string();
    let me = membership(&app, SBM).await.to_string();
    let left = "select count(*) from memberships where status = 'left'";

    // Tick boxes only for those the SBM may mark as left: not the DPO, not themselves.
    let list = app.get("/s/cranbrook/people").await;
    for (id, tickable) in [(&sam, true), (&alex, true), (&dpo, false), (&me, false)] {
        assert_eq!(
            list.body.contains(&format!(r#"name="who" value="{id}""#)),
            tickable,
            "{id}"
        );
    }

    // A list with nobody the SBM may mark (those who have left) offers no button.
    let gone = app.get("/s/cranbrook/people?status=left").await;
    assert!(
        !gone.body.contains("Mark selected as left"),
        "{}",
        gone.body
    );
    assert!(list.body.contains("Mark selected as left"));

    // Nobody ticked: the message next to the list.
    let none = app.post("/s/cranbrook/people/leave-selected", &[]).await;
    assert_eq!(none.status, StatusCode::UNPROCESSABLE_ENTITY);
    none.assert_contains(r##"<a href="#who">Select the people who have left</a>"##);

    // The check page names those who may leave, says one could not, and changes nothing.
    let ticked = [
        ("who", sam.as_str()),
        ("who", alex.as_str()),
        ("who", dpo.as_str()),
    ];
    let check = app
        .post("/s/cranbrook/people/leave-selected", &ticked)
        .await;
    assert_eq!(check.status, StatusCode::OK);
    check.assert_contains("<h1>Mark 2 people as left</h1>");
    check.assert_contains(&format!("({STAFF})"));
    check.assert_contains(&format!("({GOVERNOR})"));
    check.assert_contains("1 other person ticked is not on this list");
    check.assert_contains("When did they leave?");
    assert_eq!(app.count(left).await, 0, "the check page changes nothing");

    // The date is required here too.
    let confirm = "/s/cranbrook/people/leave-selected/confirm";
    let undated = app.post(confirm, &ticked).await;
    assert_eq!(undated.status, StatusCode::UNPROCESSABLE_ENTITY);
    undated.assert_contains(r#"<p id="left_on-error" class="error-message">"#);
    assert_eq!(app.count(left).await, 0);

    // Confirmed: both leave on the date, each audited; the DPO is untouched.
    let mut form = ticked.to_vec();
    form.extend(LEFT_ON);
    let done = app.post(confirm, &form).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    app.get(done.location().unwrap())
        .await
        .assert_contains("2 people are marked as having left.");
    let gone: Vec<(String, time::Date)> = sqlx::query_as(
        "select m.id::text, m.left_on from memberships m where m.status = 'left' order by 1",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let mut expected = vec![
        (sam.clone(), time::macros::date!(2026 - 08 - 31)),
        (alex.clone(), time::macros::date!(2026 - 08 - 31)),
    ];
    expected.sort();
    assert_eq!(gone, expected);
    assert_eq!(
        app.count("select count(*) from audit_events where action = 'person_left'")
            .await,
        2
    );
}
