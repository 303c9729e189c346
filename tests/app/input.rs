//! Whatever a person types gets an answer on the page and changes nothing: never a 500 for
//! a NUL byte, a year like -9999 or an invisible character, and names kept in one form.

use reqwest::StatusCode;

use crate::{helpers::*, publishing::DPO};

const SBM: &str = "sbm@cranbrook.example";

fn person<'a>(name: &'a str, email: &'a str, job_title: &'a str) -> Vec<(&'a str, &'a str)> {
    let (forename, surname) = name.rsplit_once(' ').unwrap_or((name, ""));
    vec![
        ("legal_forename", forename),
        ("surname", surname),
        ("email", email),
        ("grp", "staff"),
        ("job_title", job_title),
        ("roles", "signer"),
    ]
}

#[tokio::test]
async fn a_nul_byte_in_a_text_field_gets_a_message_next_to_it_and_changes_nothing() {
    let app = spawn_app().await;
    let sign_in = app
        .post(
            "/sign-in",
            &[("email", "sam\0@cranbrook.example"), ("password", "x")],
        )
        .await;
    assert_eq!(sign_in.status, StatusCode::UNPROCESSABLE_ENTITY);
    sign_in.assert_contains("Your email address must not contain control characters");
    let reset = app
        .post("/password/reset", &[("email", "sam\0@cranbrook.example")])
        .await;
    assert_eq!(reset.status, StatusCode::UNPROCESSABLE_ENTITY);
    reset.assert_contains("Enter your email address");

    app.sign_in(SBM).await;
    let added = app
        .post(
            "/s/cranbrook/people/new",
            &person("Jamie\0Fox", "jamie@cranbrook.example", "TA\u{1}"),
        )
        .await;
    assert_eq!(added.status, StatusCode::UNPROCESSABLE_ENTITY);
    added.assert_contains("The first name must not contain control characters");
    added.assert_contains("The job title must not contain control characters");
    assert_eq!(
        app.count("select count(*) from users where email = 'jamie@cranbrook.example'")
            .await,
        0
    );
    let search = app.get("/s/cranbrook/people?q=Sam%00").await;
    assert_ne!(
        search.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{}",
        search.body
    );

    let signer = app.another();
    signer.sign_in(STAFF).await;
    let version = app.version_id(CRANBROOK).await;
    let mut fields = cranbrook_signature(&app).await;
    fields.retain(|(name, _)| *name != "role");
    fields.push(("role", "Class\0teacher".into()));
    let signed = signer
        .post(
            &format!("/s/cranbrook/versions/{version}/sign"),
            &as_form(&fields),
        )
        .await;
    assert_eq!(signed.status, StatusCode::UNPROCESSABLE_ENTITY);
    signed.assert_contains("Role within the school must only include");
    assert_eq!(app.count("select count(*) from agreements").await, 0);
}

#[tokio::test]
async fn years_outside_1900_to_2200_are_refused_with_a_message() {
    let app = spawn_app().await;
    app.sign_in(SBM).await;
    let sam = membership(&app, STAFF).await;
    let left = app
        .post(
            &format!("/s/cranbrook/people/{sam}/leave"),
            &[
                ("left_on_day", "1"),
                ("left_on_month", "1"),
                ("left_on_year", "1850"),
            ],
        )
        .await;
    assert_eq!(left.status, StatusCode::UNPROCESSABLE_ENTITY);
    left.assert_contains("The leaving date must be a real date");
    assert_eq!(
        app.count("select count(*) from memberships where status = 'left'")
            .await,
        0
    );

    let dpo = app.another();
    dpo.sign_in(DPO).await;
    let draft = crate::publishing::start_clone(&dpo).await;
    for (year, message) in [
        ("-9999", "Year must include 4 numbers"),
        ("2301", "The date of the next review must be a real date"),
    ] {
        let mut fields = crate::publishing::draft_fields("- One statement");
        for (name, value) in &mut fields {
            if *name == "next_review_due_year" {
                *value = year.into();
            }
        }
        let page = dpo.post(&draft, &as_form(&fields)).await;
        assert_eq!(
            page.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            page.body
        );
        page.assert_contains(message);
    }
    let nul = crate::publishing::draft_fields("- One\0 statement");
    let page = dpo.post(&draft, &as_form(&nul)).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    page.assert_contains("The policy text must not contain control characters");
    let mut statement = crate::publishing::draft_fields("- One statement");
    for (name, value) in &mut statement {
        if *name == "ack_text" {
            *value = "I agree\u{0}".into();
            break;
        }
    }
    let page = dpo.post(&draft, &as_form(&statement)).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    page.assert_contains("Statement 1 must not contain control characters");
}

#[tokio::test]
async fn invisible_characters_are_refused_and_names_are_kept_composed() {
    let app = spawn_app().await;
    app.sign_in(SBM).await;
    let spoof = app
        .post(
            "/s/cranbrook/people/new",
            &person("Sam \u{202E}rolyaT", "spoof@cranbrook.example", ""),
        )
        .await;
    assert_eq!(spoof.status, StatusCode::UNPROCESSABLE_ENTITY);
    spoof.assert_contains("must not contain invisible characters");
    let composed = app
        .post(
            "/s/cranbrook/people/new",
            &person("Ame\u{301}lie Dupont", "amelie@cranbrook.example", ""),
        )
        .await;
    assert_eq!(composed.status, StatusCode::SEE_OTHER, "{}", composed.body);
    // A Persian name needs its zero-width non-joiner.
    let persian = app
        .post(
            "/s/cranbrook/people/new",
            &person("مریم نیک\u{200C}نام", "maryam@cranbrook.example", ""),
        )
        .await;
    assert_eq!(persian.status, StatusCode::SEE_OTHER, "{}", persian.body);
    let names: Vec<String> = sqlx::query_scalar(
        "select full_name from users where email in ('amelie@cranbrook.example', 'maryam@cranbrook.example') order by email",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(names, ["Amélie Dupont", "مریم نیک\u{200C}نام"]);
}

#[tokio::test]
async fn a_draft_nested_too_deeply_is_refused_next_to_the_text_and_not_saved() {
    let app = spawn_app().await;
    let dpo = app.another();
    dpo.sign_in(DPO).await;
    let draft = crate::publishing::start_clone(&dpo).await;
    let deep = format!("{}I will", "> ".repeat(2_000));
    let page = dpo
        .post(&draft, &as_form(&crate::publishing::draft_fields(&deep)))
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    page.assert_contains(
        r##"<a href="#body_md">The policy text nests lists or quotes more than 16 levels deep"##,
    );
    assert_eq!(
        app.count("select count(*) from policy_versions where body_md like '> > > %'")
            .await,
        0
    );
}

#[tokio::test]
async fn an_address_that_looks_like_one_on_the_list_is_flagged_in_the_import_preview() {
    let app = spawn_app().await;
    app.sign_in(SBM).await;
    // "staff@cranbrook.example" with a Cyrillic "а".
    let csv = "Name,Email,Group\nSam Taylor,st\u{430}ff@cranbrook.example,staff\nRobin Hale,robin@cranbrook.example,staff\n";
    let preview = crate::compliance::upload(&app, csv).await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    preview.assert_contains(
        "Looks like staff@cranbrook.example, which is already on the list: check the address",
    );
    assert_eq!(
        preview.body.matches("Looks like").count(),
        1,
        "Robin is not flagged"
    );
}
