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
        "admin@cranbrook.example",
        "Avery Admin",
        "staff",
        "IT manager",
        "{admin}",
    )
    .await;
    app.sign_in("admin@cranbrook.example").await;
    let form = app.get("/s/cranbrook/people/new").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    for role in ["signer", "sbm", "head", "dpo", "admin"] {
        form.assert_contains(&format!(r#"id="role-{role}""#));
    }
    assert!(!form.body.contains("Only an administrator can give"));
}
