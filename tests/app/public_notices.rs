//! The pages a public body must have: the accessibility statement, for anyone, and the
//! privacy notice for staff, in default wording the school's DPO can change.

use reqwest::StatusCode;

use crate::{helpers::*, publishing::DPO};

#[tokio::test]
async fn anyone_reads_the_accessibility_statement_linked_from_every_page() {
    let app = spawn_app().await;
    let sign_in = app.get("/sign-in").await;
    sign_in.assert_contains(r#"<a href="/accessibility">Accessibility statement</a>"#);
    assert!(!sign_in.body.contains("Privacy notice"), "no school yet");
    let statement = app.get("/accessibility").await;
    assert_eq!(statement.status, StatusCode::OK);
    statement.assert_contains("<h1>Accessibility statement for AUP Portal</h1>");
    statement.assert_contains("Web Content Accessibility Guidelines version 2.2");
    statement.assert_contains("Equality Advisory and Support Service");
    statement.assert_contains("This statement was prepared on");
}

#[tokio::test]
async fn staff_read_the_privacy_notice_and_the_dpo_puts_it_in_the_schools_words() {
    let app = spawn_app().await;
    app.sign_in(STAFF).await;
    let home = app.get("/s/cranbrook/").await;
    home.assert_contains(r#"<a href="/s/cranbrook/privacy">Privacy notice</a>"#);
    let notice = app.get("/s/cranbrook/privacy").await;
    notice.assert_contains("Cranbrook Primary School is the data controller.");
    notice.assert_contains("your IP address and your browser");
    notice.assert_contains("<h2>Why</h2>");
    assert!(!notice.body.contains("Change the privacy notice"));
    assert_eq!(
        app.get("/s/cranbrook/privacy/edit").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.post("/s/cranbrook/privacy/edit", &[("text", "Mine now")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    let dpo = app.another();
    dpo.sign_in(DPO).await;
    dpo.get("/s/cranbrook/privacy")
        .await
        .assert_contains("Change the privacy notice</a> (this is the portal's default wording)");
    let form = dpo.get("/s/cranbrook/privacy/edit").await;
    form.assert_contains("## Who is responsible for your data");
    let empty = dpo
        .post("/s/cranbrook/privacy/edit", &[("text", "  ")])
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    empty.assert_contains(
        r##"<a href="#text">Enter the privacy notice, or use the default wording</a>"##,
    );
    let long = "a".repeat(20_001);
    let too_long = dpo
        .post("/s/cranbrook/privacy/edit", &[("text", &long)])
        .await;
    too_long.assert_contains("The privacy notice must be 20,000 characters or fewer");
    assert_eq!(
        app.count("select count(*) from schools where privacy_notice is not null")
            .await,
        0,
        "nothing saved"
    );

    let saved = dpo
        .post(
            "/s/cranbrook/privacy/edit",
            &[(
                "text",
                "## Our data protection officer\r\n\r\nWrite to Jordan Lee.<script>alert(1)</script>",
            )],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    dpo.get(saved.location().unwrap())
        .await
        .assert_contains("The privacy notice has been saved.");
    let ours = app.get("/s/cranbrook/privacy").await;
    ours.assert_contains("<h2>Our data protection officer</h2>");
    ours.assert_contains("Write to Jordan Lee.");
    assert!(!ours.body.contains("<script>alert"), "sanitised");
    assert!(!ours.body.contains("is the data controller"));
    assert_eq!(
        app.count("select count(*) from audit_events where action = 'privacy_notice_changed'")
            .await,
        1
    );

    let back = dpo
        .post(
            "/s/cranbrook/privacy/edit",
            &[("text", "anything"), ("action", "default")],
        )
        .await;
    assert_eq!(back.status, StatusCode::SEE_OTHER);
    app.get("/s/cranbrook/privacy")
        .await
        .assert_contains("Cranbrook Primary School is the data controller.");
    assert_eq!(
        app.count("select count(*) from schools where privacy_notice is not null")
            .await,
        0
    );
}
