//! Handing an invitation over in person: only to someone whose only role is signer, single
//! use for 24 hours, audited with the SBM as actor, and named in the person's evidence.

use reqwest::StatusCode;

use crate::helpers::*;

const SBM: &str = "sbm@cranbrook.example";
const HEAD: &str = "head@cranbrook.example";

/// The SBM adds someone with no password yet, with these roles.
async fn sbm_adds(app: &TestApp, email: &str, roles: &[&str]) -> String {
    let mut form = vec![
        ("legal_forename", "Jamie"),
        ("surname", "Fox"),
        ("email", email),
        ("grp", "staff"),
        ("job_title", "Cook"),
    ];
    form.extend(roles.iter().map(|r| ("roles", *r)));
    // Giving the head role asks for the SBM's own password again.
    form.push(("password", PASSWORD));
    let added = app.post("/s/cranbrook/people/new", &form).await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    membership(app, email).await.to_string()
}

#[tokio::test]
async fn the_sbm_hands_a_signer_a_link_that_works_once_for_a_day_and_is_on_their_evidence() {
    let app = spawn_app().await;
    app.sign_in(SBM).await;
    let jamie = sbm_adds(&app, "jamie@cranbrook.example", &["signer"]).await;
    let person = app.get(&format!("/s/cranbrook/people/{jamie}")).await;
    person.assert_contains(&format!(
        r#"<a href="/s/cranbrook/people/{jamie}/hand-over">Hand over an invitation in person</a>"#
    ));
    let check = app
        .get(&format!("/s/cranbrook/people/{jamie}/hand-over"))
        .await;
    check.assert_contains("The link works once, for 24 hours.");
    assert_eq!(
        app.count("select count(*) from account_tokens where purpose = 'handover'")
            .await,
        0,
        "the check page makes nothing"
    );

    let made = app
        .post(&format!("/s/cranbrook/people/{jamie}/hand-over"), &[])
        .await;
    assert_eq!(made.status, StatusCode::OK);
    made.assert_contains("<h1>Invitation for Jamie Fox</h1>");
    assert_eq!(
        made.headers.get("cache-control").unwrap(),
        "no-store",
        "never kept by the browser"
    );
    let link = made
        .body
        .split(r#"<p class="handover-link">"#)
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_owned();
    let path = link.strip_prefix(&app.address).unwrap().to_owned();
    assert!(path.starts_with("/password/"), "{path}");
    let hours: f64 = sqlx::query_scalar(
        "select extract(epoch from expires_at - now())::float8 / 3600 from account_tokens
         where purpose = 'handover'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!((23.9..=24.0).contains(&hours), "{hours}");
    assert_eq!(
        app.count(
            "select count(*) from account_tokens t join users u on u.id = t.user_id
             where u.email = 'jamie@cranbrook.example' and t.used_at is null"
        )
        .await,
        1,
        "the emailed invitation no longer works"
    );
    let actor: String = sqlx::query_scalar(
        "select u.email from audit_events e join users u on u.id = e.actor_user_id
         where e.action = 'invitation_handed_over' and e.subject = $1",
    )
    .bind(&jamie)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(actor, SBM);

    // Jamie uses it once.
    let at_desk = app.another();
    at_desk
        .get(&path)
        .await
        .assert_contains("Create your password");
    let set = at_desk
        .post(
            &path,
            &[
                ("password", "jamie-first-passphrase"),
                ("confirm", "jamie-first-passphrase"),
            ],
        )
        .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER, "{}", set.body);
    at_desk
        .get(&path)
        .await
        .assert_contains("This link no longer works");
    let signed_in = app
        .another()
        .post(
            "/sign-in",
            &[
                ("email", "jamie@cranbrook.example"),
                ("password", "jamie-first-passphrase"),
            ],
        )
        .await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);

    // Their evidence names who handed it over.
    let sbm_name: String = sqlx::query_scalar("select full_name from users where email = $1")
        .bind(SBM)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let evidence = app
        .get(&format!("/s/cranbrook/people/{jamie}/evidence"))
        .await;
    evidence.assert_contains("by a link handed over by ");
    evidence.assert_contains(&sbm_name);
    app.get(&format!("/s/cranbrook/people/{jamie}"))
        .await
        .assert_contains(&format!("by a link handed over by {sbm_name}"));
    // Now they have a password: no more links to hand over.
    assert_eq!(
        app.get(&format!("/s/cranbrook/people/{jamie}/hand-over"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn no_link_is_handed_to_anyone_with_another_role_and_only_managers_make_one() {
    let app = spawn_app().await;
    app.sign_in(SBM).await;
    let manager = sbm_adds(&app, "deputy@cranbrook.example", &["signer", "sbm"]).await;
    let page = app.get(&format!("/s/cranbrook/people/{manager}")).await;
    assert!(!page.body.contains("Hand over an invitation in person"));
    page.assert_contains(
        "An invitation can only be handed over in person to someone whose only role is signer",
    );
    let head = sbm_adds(&app, "head2@cranbrook.example", &["head"]).await;
    for who in [&manager, &head] {
        let path = format!("/s/cranbrook/people/{who}/hand-over");
        assert_eq!(app.get(&path).await.status, StatusCode::NOT_FOUND);
        assert_eq!(app.post(&path, &[]).await.status, StatusCode::NOT_FOUND);
    }
    // Someone who already has a password.
    let sam = membership(&app, STAFF).await;
    assert_eq!(
        app.post(&format!("/s/cranbrook/people/{sam}/hand-over"), &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // The head sees people but makes no links.
    let signer = sbm_adds(&app, "cook@cranbrook.example", &["signer"]).await;
    add_member(
        &app,
        "cranbrook",
        HEAD,
        "Dana Hughes",
        "staff",
        "Headteacher",
        "{signer,head}",
    )
    .await;
    let viewer = app.another();
    viewer.sign_in(HEAD).await;
    assert_eq!(
        viewer
            .post(&format!("/s/cranbrook/people/{signer}/hand-over"), &[])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.count("select count(*) from account_tokens where purpose = 'handover'")
            .await,
        0
    );
}
