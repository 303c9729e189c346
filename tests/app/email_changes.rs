//! Nobody takes over an account by changing its email address: who may change one, what the
//! old address is told, and people with more power than the person managing them.

use reqwest::StatusCode;
use uuid::Uuid;

use crate::{helpers::*, publishing::DPO};

const SBM: &str = "sbm@cranbrook.example";

fn details<'a>(
    name: &'a str,
    email: &'a str,
    grp: &'a str,
    job_title: &'a str,
    roles: &[&'a str],
) -> Vec<(&'a str, &'a str)> {
    let (forename, surname) = name.rsplit_once(' ').unwrap_or((name, ""));
    let mut form = vec![
        ("legal_forename", forename),
        ("surname", surname),
        ("email", email),
        ("grp", grp),
        ("job_title", job_title),
    ];
    form.extend(roles.iter().map(|role| ("roles", *role)));
    form
}

async fn email_of(app: &TestApp, membership_id: Uuid) -> String {
    sqlx::query_scalar(
        "select u.email from memberships m join users u on u.id = m.user_id where m.id = $1",
    )
    .bind(membership_id)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

/// The link in the newest queued email to `to` whose dedupe key starts with `kind`.
async fn queued_link(app: &TestApp, to: &str, kind: &str) -> String {
    let body: String = sqlx::query_scalar(
        "select body_text from outbox where lower(to_address) = lower($1) and dedupe_key like $2 || ':%'
         order by created_at desc limit 1",
    )
    .bind(to)
    .bind(kind)
    .fetch_one(&app.pool)
    .await
    .unwrap_or_else(|_| panic!("no {kind} email queued for {to}"));
    let start = body.find(&app.address).expect("a link to the portal");
    body[start + app.address.len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn an_sbm_cannot_change_the_email_of_an_account_that_has_been_activated() {
    let app = spawn_app().await;
    app.sign_in(SBM).await;
    let sam = membership(&app, STAFF).await;
    let refused = app
        .post(
            &format!("/s/cranbrook/people/{sam}/edit"),
            &details(
                "Sam Taylor",
                "attacker@elsewhere.example",
                "staff",
                "Class teacher",
                &["signer"],
            ),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    refused.assert_contains("Sam Taylor has activated their account");
    assert_eq!(email_of(&app, sam).await, STAFF);
    assert_eq!(app.count("select count(*) from email_changes").await, 0);
    // The edit form does not offer the address as a field to change.
    let form = app.get(&format!("/s/cranbrook/people/{sam}/edit")).await;
    assert!(!form.body.contains(r#"name="email""#), "{}", form.body);
}

#[tokio::test]
async fn nobody_edits_marks_as_left_or_reactivates_a_person_with_more_power_than_their_own() {
    let app = spawn_app().await;
    add_cranbrook_admin(&app).await;
    app.sign_in(SBM).await;
    for (email, name, roles) in [
        (DPO, "Jordan Lee", &["dpo"][..]),
        (ADMIN, "Chris Patel", &["admin"][..]),
    ] {
        let person = membership(&app, email).await;
        let edit = format!("/s/cranbrook/people/{person}/edit");
        assert_eq!(
            app.get(&edit).await.status,
            StatusCode::FORBIDDEN,
            "{email}"
        );
        let form = details(name, "sbm@cranbrook.example", "staff", "", roles);
        assert_eq!(app.post(&edit, &form).await.status, StatusCode::FORBIDDEN);
        let leave = format!("/s/cranbrook/people/{person}/leave");
        assert_eq!(app.post(&leave, &[]).await.status, StatusCode::FORBIDDEN);
        let back = format!("/s/cranbrook/people/{person}/reactivate");
        assert_eq!(app.post(&back, &[]).await.status, StatusCode::FORBIDDEN);
        let (status, stored): (String, String) = sqlx::query_as(
            "select m.status, u.email from memberships m join users u on u.id = m.user_id where m.id = $1",
        )
        .bind(person)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert_eq!((status.as_str(), stored.as_str()), ("active", email));
        // Their page does not offer what the SBM may not do.
        let page = app.get(&format!("/s/cranbrook/people/{person}")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(!page.body.contains("Mark as left"), "{}", page.body);
    }
    // An admin may: they can give every role.
    let admin = app.another();
    admin.sign_in(ADMIN).await;
    let dpo = membership(&app, DPO).await;
    let saved = admin
        .post(
            &format!("/s/cranbrook/people/{dpo}/edit"),
            &details(
                "Jordan Lee",
                DPO,
                "external",
                "Data protection lead",
                &["dpo"],
            ),
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let job_title: String = sqlx::query_scalar("select job_title from memberships where id = $1")
        .bind(dpo)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(job_title, "Data protection lead");
}

#[tokio::test]
async fn an_sbm_corrects_the_email_of_a_signer_who_never_activated_and_the_first_invitation_dies() {
    let app = spawn_app().await;
    app.sign_in(SBM).await;
    let added = app
        .post(
            "/s/cranbrook/people/new",
            &details(
                "Jamie Fox",
                "jamie@cranbrok.example",
                "staff",
                "Teaching assistant",
                &["signer"],
            ),
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let jamie = membership(&app, "jamie@cranbrok.example").await;
    let first_link = queued_link(&app, "jamie@cranbrok.example", "invite").await;
    assert_eq!(app.get(&first_link).await.status, StatusCode::OK);

    let form = app.get(&format!("/s/cranbrook/people/{jamie}/edit")).await;
    assert!(form.body.contains(r#"name="email""#), "correctable");
    let corrected = app
        .post(
            &format!("/s/cranbrook/people/{jamie}/edit"),
            &details(
                "Jamie Fox",
                "jamie@cranbrook.example",
                "staff",
                "Teaching assistant",
                &["signer"],
            ),
        )
        .await;
    assert_eq!(
        corrected.status,
        StatusCode::SEE_OTHER,
        "{}",
        corrected.body
    );
    assert_eq!(email_of(&app, jamie).await, "jamie@cranbrook.example");
    assert_eq!(
        app.get(&first_link).await.status,
        StatusCode::NOT_FOUND,
        "the invitation sent to the wrong address no longer works"
    );
    let (old, new, how): (String, String, String) =
        sqlx::query_as("select old_email, new_email, how from email_changes")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        (old.as_str(), new.as_str(), how.as_str()),
        (
            "jamie@cranbrok.example",
            "jamie@cranbrook.example",
            "correction"
        )
    );
    let event: serde_json::Value = sqlx::query_scalar(
        "select details from audit_events where action = 'email_changed' and subject = $1",
    )
    .bind(jamie.to_string())
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(event["email_change"].is_string(), "{event}");
    assert!(
        !event.to_string().contains('@'),
        "no address in the audit event: {event}"
    );

    // Jamie uses the new invitation; their page and their evidence say how they activated.
    let link = queued_link(&app, "jamie@cranbrook.example", "invite").await;
    let jamie_browser = app.another();
    let set = jamie_browser
        .post(
            &link,
            &[
                ("password", "a long new passphrase"),
                ("confirm", "a long new passphrase"),
            ],
        )
        .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER, "{}", set.body);
    jamie_browser
        .sign_in_as("jamie@cranbrook.example", "a long new passphrase")
        .await;
    let version = app.version_id(CRANBROOK).await;
    let mut fields = cranbrook_signature(&app).await;
    fields.retain(|(name, _)| *name != "full_name" && *name != "role");
    fields.push(("full_name", "Jamie Fox".into()));
    fields.push(("role", "Teaching assistant".into()));
    let signed = jamie_browser
        .post(
            &format!("/s/cranbrook/versions/{version}/sign"),
            &as_form(&fields),
        )
        .await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
    for page in ["", "/evidence"] {
        app.get(&format!("/s/cranbrook/people/{jamie}{page}"))
            .await
            .assert_contains("Activated after an email change by Priya Shah");
    }
    let csv = app
        .get(&format!("/s/cranbrook/people/{jamie}/evidence.csv"))
        .await;
    csv.assert_contains("Activated after an email change by Priya Shah");
}

#[tokio::test]
async fn an_sbm_cannot_correct_the_email_of_an_unactivated_person_with_more_than_the_signer_role() {
    let app = spawn_app().await;
    app.sign_in(SBM).await;
    let mut form = details(
        "Robin Hale",
        "robin@cranbrook.example",
        "staff",
        "Deputy head",
        &["signer", "head"],
    );
    form.push(("password", PASSWORD));
    let added = app.post("/s/cranbrook/people/new", &form).await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let robin = membership(&app, "robin@cranbrook.example").await;
    let refused = app
        .post(
            &format!("/s/cranbrook/people/{robin}/edit"),
            &details(
                "Robin Hale",
                "sbm-second@cranbrook.example",
                "staff",
                "Deputy head",
                &["signer", "head"],
            ),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    refused.assert_contains("Only an administrator can change the email address of a person with");
    assert_eq!(email_of(&app, robin).await, "robin@cranbrook.example");
}

#[tokio::test]
async fn an_admin_changes_an_activated_email_only_after_reentering_their_own_password() {
    let app = spawn_app().await;
    add_cranbrook_admin(&app).await;
    app.sign_in(ADMIN).await;
    let sam = membership(&app, STAFF).await;
    let phone = app.another();
    phone.sign_in(STAFF).await;
    let reset = app
        .another()
        .post("/password/reset", &[("email", STAFF)])
        .await;
    assert_eq!(reset.status, StatusCode::OK);
    let reset_link = queued_link(&app, STAFF, "reset").await;

    let path = format!("/s/cranbrook/people/{sam}/email");
    app.get(&path).await.assert_contains("Your password");
    let wrong = app
        .post(
            &path,
            &[
                ("email", "sam.taylor@cranbrook.example"),
                ("password", "not it at all"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    wrong.assert_contains("Your password is not right");
    assert_eq!(email_of(&app, sam).await, STAFF);
    assert_eq!(
        app.count("select count(*) from audit_events where action = 'reauthentication_failed'")
            .await,
        1
    );

    let changed = app
        .post(
            &path,
            &[
                ("email", "sam.taylor@cranbrook.example"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.body);
    assert_eq!(email_of(&app, sam).await, "sam.taylor@cranbrook.example");
    assert_eq!(
        phone.get("/s/cranbrook/").await.location(),
        Some("/sign-in"),
        "Sam's sessions have ended"
    );
    assert_eq!(
        app.get(&reset_link).await.status,
        StatusCode::NOT_FOUND,
        "the open reset link is void"
    );
    let told: String = sqlx::query_scalar(
        "select body_text from outbox where to_address = $1 and dedupe_key like 'email-changed:%'",
    )
    .bind(STAFF)
    .fetch_one(&app.pool)
    .await
    .expect("the old address is told");
    assert!(told.contains("Chris Patel"), "{told}");
    let how: String = sqlx::query_scalar("select how from email_changes")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(how, "admin");
    let event: serde_json::Value =
        sqlx::query_scalar("select details from audit_events where action = 'email_changed'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(!event.to_string().contains('@'), "{event}");
    // Sam signs in with the new address.
    let again = app.another();
    let signed_in = again
        .post(
            "/sign-in",
            &[
                ("email", "sam.taylor@cranbrook.example"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_person_changes_their_own_email_once_the_new_address_confirms_it() {
    let app = spawn_app().await;
    app.sign_in(STAFF).await;
    let phone = app.another();
    phone.sign_in(STAFF).await;
    let new = "sam.taylor@cranbrook.example";
    app.get("/account")
        .await
        .assert_contains(r#"href="/account/email""#);
    let wrong = app
        .post(
            "/account/email",
            &[("email", new), ("password", "not it at all")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    wrong.assert_contains("Your password is not right");
    let taken = app
        .post(
            "/account/email",
            &[("email", GOVERNOR), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(taken.status, StatusCode::UNPROCESSABLE_ENTITY);
    taken.assert_contains("Another account already uses this email address");

    let asked = app
        .post("/account/email", &[("email", new), ("password", PASSWORD)])
        .await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER, "{}", asked.body);
    assert_eq!(
        app.count(&format!(
            "select count(*) from users where email = '{STAFF}'"
        ))
        .await,
        1,
        "nothing changes before the new address confirms"
    );
    let link = queued_link(&app, new, "email-confirm").await;
    let confirm = app.another();
    confirm
        .get(&link)
        .await
        .assert_contains("Confirm your new email address");
    let done = confirm.post(&link, &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        app.count(&format!("select count(*) from users where email = '{new}'"))
            .await,
        1
    );
    assert_eq!(
        app.count(&format!(
            "select count(*) from outbox where to_address = '{STAFF}' and dedupe_key like 'email-changed:%'"
        ))
        .await,
        1,
        "the old address is told"
    );
    assert_eq!(
        phone.get("/s/cranbrook/").await.location(),
        Some("/sign-in")
    );
    assert_eq!(app.get("/s/cranbrook/").await.location(), Some("/sign-in"));
    assert_eq!(
        confirm.post(&link, &[]).await.status,
        StatusCode::NOT_FOUND,
        "the link works once"
    );
    let signed_in = app
        .another()
        .post("/sign-in", &[("email", new), ("password", PASSWORD)])
        .await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn giving_or_taking_away_the_admin_dpo_or_head_role_asks_for_the_password_again() {
    let app = spawn_app().await;
    add_cranbrook_admin(&app).await;
    app.sign_in(ADMIN).await;
    let alex = membership(&app, GOVERNOR).await;
    let path = format!("/s/cranbrook/people/{alex}/edit");
    let form = |roles: &[&'static str], password: &'static str| {
        let mut form = details(
            "Alex Morgan",
            GOVERNOR,
            "governor",
            "Parent governor",
            roles,
        );
        form.push(("password", password));
        form
    };
    let without = app.post(&path, &form(&["signer", "dpo"], "")).await;
    assert_eq!(without.status, StatusCode::UNPROCESSABLE_ENTITY);
    without.assert_contains("Enter your password to give or take away");
    let wrong = app
        .post(&path, &form(&["signer", "dpo"], "not it at all"))
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    wrong.assert_contains("Your password is not right");
    let roles = || async {
        sqlx::query_scalar::<_, Vec<String>>("select roles from memberships where id = $1")
            .bind(alex)
            .fetch_one(&app.pool)
            .await
            .unwrap()
    };
    assert_eq!(roles().await, ["signer"]);
    let granted = app.post(&path, &form(&["signer", "dpo"], PASSWORD)).await;
    assert_eq!(granted.status, StatusCode::SEE_OTHER, "{}", granted.body);
    assert_eq!(roles().await, ["signer", "dpo"]);
    // Other changes need no password.
    let plain = details(
        "Alex Morgan",
        GOVERNOR,
        "governor",
        "Chair",
        &["signer", "dpo"],
    );
    assert_eq!(app.post(&path, &plain).await.status, StatusCode::SEE_OTHER);
    let title: String = sqlx::query_scalar("select job_title from memberships where id = $1")
        .bind(alex)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(title, "Chair");
    assert_eq!(roles().await, ["signer", "dpo"]);

    // Turning the school's two-factor requirement off asks too.
    sqlx::query("update schools set require_two_factor = true")
        .execute(&app.pool)
        .await
        .unwrap();
    let off = app.post("/s/cranbrook/admin/settings", &[]).await;
    assert_eq!(off.status, StatusCode::UNPROCESSABLE_ENTITY);
    off.assert_contains("Enter your password to turn the requirement off");
    let still = app
        .count("select count(*) from schools where require_two_factor")
        .await;
    assert_eq!(still, 1);
    let done = app
        .post("/s/cranbrook/admin/settings", &[("password", PASSWORD)])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        app.count("select count(*) from schools where require_two_factor")
            .await,
        0
    );
}

#[tokio::test]
async fn an_admin_cannot_change_the_email_of_someone_who_also_belongs_to_another_school() {
    let app = spawn_app().await;
    add_cranbrook_admin(&app).await;
    // Sam also works at Oakfield.
    sqlx::raw_sql(
        "insert into schools (slug, name, require_two_factor) values ('oakfield', 'Oakfield Academy', false);
         insert into memberships (user_id, school_id, grp, job_title, roles)
           select u.id, s.id, 'staff', 'Cover supervisor', '{signer}'
           from users u, schools s where u.email = 'staff@cranbrook.example' and s.slug = 'oakfield';",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    app.sign_in(ADMIN).await;
    let sam = membership(&app, STAFF).await;
    let refused = app
        .post(
            &format!("/s/cranbrook/people/{sam}/email"),
            &[
                ("email", "sam.taylor@cranbrook.example"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    refused.assert_contains(
        "This person also belongs to another school, so only they can change their email address",
    );
    assert_eq!(
        app.count("select count(*) from users where email = 'staff@cranbrook.example'")
            .await,
        1,
        "unchanged"
    );
    assert_eq!(app.count("select count(*) from email_changes").await, 0);
}

#[tokio::test]
async fn the_sbm_gives_the_head_role_only_after_entering_their_password() {
    let app = spawn_app().await;
    app.sign_in("sbm@cranbrook.example").await;
    let alex = membership(&app, GOVERNOR).await;
    let path = format!("/s/cranbrook/people/{alex}/edit");
    let mut form = details(
        "Alex Morgan",
        GOVERNOR,
        "governor",
        "Parent governor",
        &["signer", "head"],
    );
    form.push(("password", ""));
    let without = app.post(&path, &form).await;
    assert_eq!(without.status, StatusCode::UNPROCESSABLE_ENTITY);
    without.assert_contains("Enter your password to give or take away");
    let roles: Vec<String> = sqlx::query_scalar("select roles from memberships where id = $1")
        .bind(alex)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(roles, ["signer"]);
    form.pop();
    form.push(("password", PASSWORD));
    let granted = app.post(&path, &form).await;
    assert_eq!(granted.status, StatusCode::SEE_OTHER, "{}", granted.body);
}
