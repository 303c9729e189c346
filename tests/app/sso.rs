//! Single sign-on against a real OpenID provider process: the whole way from the school's
//! button to the person's waiting policies, and each refusal as the person sees it.

use reqwest::StatusCode;
use serde_json::json;

use aup_portal::domain::statuses::SsoProvider;

use crate::helpers::*;
use crate::provider::*;

const SUB: &str = "sam-taylor-at-provider";

async fn staff_at_provider(provider: &Provider) {
    provider
        .set_user(
            SUB,
            json!({"email": STAFF, "email_verified": true, "name": "Sam Taylor"}),
        )
        .await;
}

#[tokio::test]
async fn a_school_account_finds_the_person_by_verified_address_then_by_its_key() {
    let app = spawn_app().await;
    let provider = Provider::start().await;
    cranbrook_signs_in_with(&app, &provider).await;
    staff_at_provider(&provider).await;

    // The school's page offers the button beside the password form.
    let page = app.get("/s/cranbrook/sign-in").await;
    page.assert_contains("Sign in with your school account");
    page.assert_contains("name=\"password\"");

    let back = sign_in_through(&app, &provider, SUB).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    let home = app.visit("/").await;
    home.assert_contains("Staff and Governors AUP");
    let linked: i64 = app
        .count(&format!(
            "select count(*) from sso_identities where issuer = '{}' and subject = '{SUB}'",
            provider.issuer()
        ))
        .await;
    assert_eq!(linked, 1, "the provider account is linked by its key");
    let logged = app
        .count("select count(*) from audit_events where action = 'sign_in' and details ->> 'with' = 'school account' and school_id is not null")
        .await;
    assert_eq!(
        logged, 1,
        "the sign-in is audited with its method, in the school"
    );

    // The next time the key finds them, whatever address the provider now gives.
    let fresh = app.another();
    provider
        .set_user(
            SUB,
            json!({"email": "renamed@elsewhere.example", "email_verified": true}),
        )
        .await;
    let again = sign_in_through(&fresh, &provider, SUB).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
    fresh
        .visit("/")
        .await
        .assert_contains("Staff and Governors AUP");
}

#[tokio::test]
async fn a_session_made_through_one_schools_provider_opens_no_other_school() {
    let app = spawn_app().await;
    // Sam also belongs to Oakfield (added as a second membership of the same account).
    add_member(
        &app,
        "oakfield",
        "someone@oakfield.example",
        "Someone",
        "staff",
        "Teacher",
        "{signer}",
    )
    .await;
    sqlx::query(
        "insert into memberships (user_id, school_id, grp, roles)
         select u.id, s.id, 'staff', '{signer}' from users u, schools s
         where u.email = $1 and s.slug = 'oakfield'",
    )
    .bind(STAFF)
    .execute(&app.pool)
    .await
    .unwrap();
    let provider = Provider::start().await;
    cranbrook_signs_in_with(&app, &provider).await;
    staff_at_provider(&provider).await;
    // In two schools and not linked: the address alone does not find them.
    let refused = sign_in_through(&app, &provider, SUB).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    refused.assert_contains("Link your school account first");

    // Signed in with the password, Sam links the account from their account page.
    app.sign_in(STAFF).await;
    let account = app.get("/account").await;
    account.assert_contains("Link my school account");
    let wrong = app
        .post(
            "/s/cranbrook/link-school-account",
            &[("password", "not it")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    wrong.assert_contains("Your password is not right");
    // Without the password first, the next step goes nowhere.
    let skipped = app.get("/s/cranbrook/link-school-account/continue").await;
    assert_eq!(skipped.location(), Some("/account"));
    let confirmed = app
        .post(
            "/s/cranbrook/link-school-account",
            &[("password", PASSWORD)],
        )
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    confirmed.assert_contains("Continue to your school account");
    let start = app.get("/s/cranbrook/link-school-account/continue").await;
    let authorize = start.location().expect("to the provider").to_owned();
    let back = provider.authorize(&authorize, SUB).await;
    let linked = app.get(back.trim_start_matches(&app.address)).await;
    assert_eq!(linked.status, StatusCode::OK, "{}", linked.body);
    linked.assert_contains("Your school account is linked");

    // Now the button signs them in, to Cranbrook only.
    let sso = app.another();
    let back = sign_in_through(&sso, &provider, SUB).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    assert_eq!(sso.get("/s/cranbrook/").await.status, StatusCode::OK);
    assert_eq!(
        sso.get("/s/oakfield/").await.status,
        StatusCode::NOT_FOUND,
        "a Cranbrook single sign-on session does not open Oakfield"
    );
    // The password session still opens both.
    assert_eq!(app.get("/s/oakfield/").await.status, StatusCode::OK);
    // Signing out everywhere also unlinks the provider account: whoever linked it from a
    // stolen session loses that way back in.
    app.post("/account/sign-out-everywhere", &[]).await;
    assert_eq!(app.count("select count(*) from sso_identities").await, 0);
}

#[tokio::test]
async fn single_sign_on_never_creates_a_person_and_refuses_leavers() {
    let app = spawn_app().await;
    let provider = Provider::start().await;
    cranbrook_signs_in_with(&app, &provider).await;
    let people = app.count("select count(*) from users").await;

    provider
        .set_user(
            "new-starter",
            json!({"email": "new.starter@cranbrook.example", "email_verified": true}),
        )
        .await;
    let page = sign_in_through(&app, &provider, "new-starter").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    page.assert_contains("Your school has not added you to the portal yet");
    assert_eq!(
        app.count("select count(*) from users").await,
        people,
        "no one is created"
    );

    staff_at_provider(&provider).await;
    sqlx::query(
        "update memberships set status = 'left', left_on = current_date
         where user_id = (select id from users where email = $1)",
    )
    .bind(STAFF)
    .execute(&app.pool)
    .await
    .unwrap();
    let page = sign_in_through(&app.another(), &provider, SUB).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    page.assert_contains("You are no longer a member of this school");
    assert_eq!(
        app.count("select count(*) from audit_events where action = 'single_sign_on_refused'")
            .await,
        2
    );
}

#[tokio::test]
async fn an_address_outside_the_schools_domains_or_unverified_finds_no_one() {
    let app = spawn_app().await;
    let provider = Provider::start().await;
    cranbrook_signs_in_with(&app, &provider).await;
    // The "nOAuth" case: the provider asserts an address that is not the school's to vouch for.
    add_member(
        &app,
        "oakfield",
        "dpo@oakfield.example",
        "Dana Oak",
        "external",
        "DPO",
        "{signer}",
    )
    .await;
    provider
        .set_user(
            "claims-oak",
            json!({"email": "dpo@oakfield.example", "email_verified": true}),
        )
        .await;
    let page = sign_in_through(&app, &provider, "claims-oak").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    page.assert_contains("which is not one of the school&#39;s own");
    // An address in the school's domain that the provider does not say it verified.
    provider
        .set_user(
            "unverified",
            json!({"email": STAFF, "email_verified": false}),
        )
        .await;
    let page = sign_in_through(&app.another(), &provider, "unverified").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(app.count("select count(*) from sso_identities").await, 0);
}

#[tokio::test]
async fn a_return_is_used_once_and_needs_the_sessions_state() {
    let app = spawn_app().await;
    let provider = Provider::start().await;
    cranbrook_signs_in_with(&app, &provider).await;
    staff_at_provider(&provider).await;
    let back = go_to_provider_and_back(&app, &provider, SUB).await;
    let path = back.trim_start_matches(&app.address).to_owned();

    // Another browser cannot use it: its session holds no such trip.
    let thief = app.another();
    let stolen = thief.get(&path).await;
    assert_eq!(stolen.status, StatusCode::BAD_REQUEST);
    stolen.assert_contains("This sign-in has expired");

    // A forged state in the right session is refused, and the trip is spent.
    let forged = path.replace("state=", "state=x");
    assert_eq!(app.get(&forged).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(app.get(&path).await.status, StatusCode::BAD_REQUEST);

    // A fresh trip works once; replayed, it is refused.
    let back = go_to_provider_and_back(&app, &provider, SUB).await;
    let path = back.trim_start_matches(&app.address).to_owned();
    assert_eq!(app.get(&path).await.status, StatusCode::SEE_OTHER);
    let replayed = app.another();
    assert_eq!(replayed.get(&path).await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_provider_that_does_not_answer_gets_a_page_not_an_error() {
    let app = spawn_app().await;
    let mut provider = Provider::start().await;
    cranbrook_signs_in_with(&app, &provider).await;
    provider.stop();
    let page = app.get("/s/cranbrook/sign-in/school-account").await;
    assert_eq!(page.status, StatusCode::BAD_GATEWAY);
    page.assert_contains("could not be reached");
}

#[tokio::test]
async fn rotated_keys_are_fetched_again_but_not_more_than_the_limit_allows() {
    // Keys fetched again at once: a provider that rotates its key goes on working.
    let app = spawn_app_with(|s| s.keys_refetch_after = std::time::Duration::ZERO).await;
    let mut provider = Provider::start().await;
    cranbrook_signs_in_with(&app, &provider).await;
    staff_at_provider(&provider).await;
    assert_eq!(
        sign_in_through(&app, &provider, SUB).await.status,
        StatusCode::SEE_OTHER
    );
    provider.restart().await;
    staff_at_provider(&provider).await;
    let after = sign_in_through(&app.another(), &provider, SUB).await;
    assert_eq!(after.status, StatusCode::SEE_OTHER, "{}", after.body);

    // With the minute's limit, a key the portal fetched moments ago is not fetched again:
    // a token under a key it has not seen is refused.
    let limited = spawn_app().await;
    cranbrook_signs_in_with(&limited, &provider).await;
    staff_at_provider(&provider).await;
    assert_eq!(
        sign_in_through(&limited, &provider, SUB).await.status,
        StatusCode::SEE_OTHER
    );
    provider.restart().await;
    staff_at_provider(&provider).await;
    let refused = sign_in_through(&limited.another(), &provider, SUB).await;
    assert_eq!(refused.status, StatusCode::BAD_GATEWAY, "{}", refused.body);
    refused.assert_contains("its signature is not the provider&#39;s");
}

#[tokio::test]
async fn those_who_reach_personal_data_still_give_the_portals_code() {
    let app = spawn_app().await;
    let provider = Provider::start().await;
    cranbrook_signs_in_with(&app, &provider).await;
    provider
        .set_user(
            "sbm",
            json!({"email": "sbm@cranbrook.example", "email_verified": true}),
        )
        .await;
    let page = sign_in_through(&app, &provider, "sbm").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(
        page.location(),
        Some("/sign-in/two-factor"),
        "the SBM sets up an authenticator before going further"
    );
    assert_eq!(
        app.get("/s/cranbrook/compliance").await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn an_admin_sets_single_sign_on_up_on_the_settings_page() {
    let app = spawn_app().await;
    add_cranbrook_admin(&app).await;
    app.sign_in(ADMIN).await;
    let provider = Provider::start().await;
    let page = app.get("/s/cranbrook/admin/settings/sign-in").await;
    page.assert_contains("/sign-in/return");

    // Plain http to another machine, and a missing password, are refused next to the field.
    let refused = app
        .post(
            "/s/cranbrook/admin/settings/sign-in",
            &[
                ("provider", "oidc"),
                ("issuer", "http://login.example.org"),
                ("client_id", "aup-portal"),
                ("client_secret", "s3cret"),
                ("email_domains", "cranbrook.example"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    refused.assert_contains("The issuer must be an https address");
    assert_eq!(app.count("select count(*) from school_sso").await, 0);

    // The issuer typed with a trailing slash is kept as the provider names itself.
    let issuer = format!("{}/", provider.issuer());
    let saved = app
        .post(
            "/s/cranbrook/admin/settings/sign-in",
            &[
                ("provider", "oidc"),
                ("issuer", &issuer),
                ("client_id", "aup-portal"),
                ("client_secret", "s3cret"),
                ("secret_expires_day", "1"),
                ("secret_expires_month", "12"),
                ("secret_expires_year", "2027"),
                ("email_domains", "Cranbrook.example\n@cranbrook.example"),
                ("password", PASSWORD),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let (stored, secret, domains): (String, String, Vec<String>) =
        sqlx::query_as("select issuer, client_secret_sealed, email_domains from school_sso")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(stored, provider.issuer());
    assert!(!secret.contains("s3cret"), "the secret is stored sealed");
    assert_eq!(domains, vec!["cranbrook.example".to_owned()]);
    let page = app.get("/s/cranbrook/admin/settings/sign-in").await;
    assert!(
        !page.body.contains("s3cret"),
        "the secret is never shown again"
    );
    page.assert_contains("1 December 2027");
    page.assert_contains(
        r#"name="secret_expires_year" type="text" inputmode="numeric" class="input-width-4" value="2027""#,
    );

    // A secret already kept is never sent to another issuer: changing it asks for the secret.
    let moved = app
        .post(
            "/s/cranbrook/admin/settings/sign-in",
            &[
                ("provider", "oidc"),
                ("issuer", "https://login.example.org"),
                ("client_id", "aup-portal"),
                ("client_secret", ""),
                ("secret_expires_day", "31"),
                ("secret_expires_month", "2"),
                ("secret_expires_year", "2028"),
                ("email_domains", "cranbrook.example"),
                ("password", PASSWORD),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(moved.status, StatusCode::UNPROCESSABLE_ENTITY);
    moved.assert_contains("Enter the client secret again");
    moved.assert_contains("The date the secret expires must be a real date");

    // The test sign-in shows what the provider sent, and signs no one in.
    staff_at_provider(&provider).await;
    let start = app.get("/s/cranbrook/admin/settings/sign-in/test").await;
    let back = provider
        .authorize(start.location().expect("to the provider"), SUB)
        .await;
    let test = app.get(back.trim_start_matches(&app.address)).await;
    assert_eq!(test.status, StatusCode::OK, "{}", test.body);
    test.assert_contains("Would be accepted.");
    test.assert_contains(STAFF);
    assert_eq!(app.count("select count(*) from sso_identities").await, 0);
    assert_eq!(
        app.count("select count(*) from audit_events where action = 'single_sign_on_set_up'")
            .await,
        1
    );
}

/// Each token the portal must refuse, minted by the tampering proxy and signed with the key
/// it publishes (or, for a bad signature, with one it does not): the person gets a page,
/// and nothing is linked.
#[tokio::test]
async fn tokens_with_a_wrong_issuer_audience_expiry_nonce_or_signature_are_refused() {
    let app = spawn_app().await;
    let provider = Provider::start().await;
    staff_at_provider(&provider).await;

    // The proxy changes nothing but the signature: accepted, so the refusals below are the
    // changes' doing.
    let honest = Proxy::start(&provider, "none");
    cranbrook_uses(&app, SsoProvider::Oidc, &honest.issuer(), None, None).await;
    let page = sign_in_through(&app, &provider, SUB).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    sqlx::query("delete from sso_identities")
        .execute(&app.pool)
        .await
        .unwrap();

    for (mode, message) in [
        ("issuer", "it comes from another issuer"),
        ("audience", "it was made for another service"),
        ("expired", "it has expired"),
        ("no-nonce", "it does not belong to this sign-in"),
        ("bad-signature", "its signature is not the provider&#39;s"),
    ] {
        let proxy = Proxy::start(&provider, mode);
        cranbrook_uses(&app, SsoProvider::Oidc, &proxy.issuer(), None, None).await;
        let page = sign_in_through(&app.another(), &provider, SUB).await;
        assert_eq!(
            page.status,
            StatusCode::BAD_GATEWAY,
            "{mode}: {}",
            page.body
        );
        page.assert_contains(message);
        assert_eq!(
            app.count("select count(*) from sso_identities").await,
            0,
            "{mode}"
        );
    }
}

/// A Google-shaped school: Google's issuer (here the test provider, standing in for it),
/// the Workspace domain in `hd`, and a verified address.
#[tokio::test]
async fn a_google_school_accepts_its_own_workspace_only() {
    let provider = Provider::start().await;
    let issuer = provider.issuer();
    let app = spawn_app_with(|s| s.google_issuer = issuer.clone()).await;
    cranbrook_uses(
        &app,
        SsoProvider::Google,
        &issuer,
        None,
        Some("cranbrook.example"),
    )
    .await;
    app.get("/s/cranbrook/sign-in")
        .await
        .assert_contains("Sign in with Google");

    // A personal Google account, or another school's Workspace, is refused.
    provider
        .set_user(SUB, json!({"email": STAFF, "email_verified": true}))
        .await;
    let personal = sign_in_through(&app, &provider, SUB).await;
    assert_eq!(personal.status, StatusCode::FORBIDDEN);
    personal.assert_contains("That Google account is not one of your school&#39;s");
    provider
        .set_user(
            SUB,
            json!({"email": STAFF, "email_verified": true, "hd": "oakfield.example"}),
        )
        .await;
    let other = sign_in_through(&app.another(), &provider, SUB).await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);

    provider
        .set_user(
            SUB,
            json!({"email": STAFF, "email_verified": true, "hd": "cranbrook.example"}),
        )
        .await;
    let school = app.another();
    let page = sign_in_through(&school, &provider, SUB).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    school
        .visit("/")
        .await
        .assert_contains("Staff and Governors AUP");
}

#[tokio::test]
async fn with_passwords_off_a_password_no_longer_opens_the_school() {
    let app = spawn_app().await;
    let provider = Provider::start().await;
    cranbrook_signs_in_with(&app, &provider).await;
    add_cranbrook_admin(&app).await;
    app.sign_in(ADMIN).await;
    let switch = |action: &'static str| {
        let app = &app;
        async move {
            app.post(
                "/s/cranbrook/admin/settings/sign-in",
                &[("action", action), ("password", PASSWORD)],
            )
            .await
        }
    };
    // Not while an admin has no authenticator: their password and code are the way in when
    // the provider is down.
    let refused = switch("passwords_off").await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    refused.assert_contains("Every administrator needs an authenticator app before passwords go off. Without one: Chris Patel");
    // Both of the school's admins: Chris, and the demo's own.
    sqlx::query(
        "update users set totp_enabled_at = now() where email in ($1, 'admin@cranbrook.example')",
    )
    .bind(ADMIN)
    .execute(&app.pool)
    .await
    .unwrap();
    let staff = app.another();
    staff.sign_in(STAFF).await;
    assert_eq!(staff.get("/s/cranbrook/").await.status, StatusCode::OK);
    let done = switch("passwords_off").await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);

    // Sam's password session now leads to the school's own sign-in page.
    let turned_away = staff.get("/s/cranbrook/").await;
    assert_eq!(
        turned_away.location(),
        Some("/s/cranbrook/sign-in?passwords_off=1")
    );
    // Nor can that session give the account a new address (and so an emailed link) or a new
    // password.
    let moved = staff
        .post(
            "/account/email",
            &[("email", "thief@elsewhere.example"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(moved.status, StatusCode::UNPROCESSABLE_ENTITY);
    moved.assert_contains("Your school signs in without passwords");
    assert_eq!(app.count("select count(*) from email_changes").await, 0);
    let page = staff.get("/s/cranbrook/sign-in?passwords_off=1").await;
    page.assert_contains("This school no longer signs in with passwords");
    assert!(!page.body.contains("name=\"password\""), "no password form");
    // Through the school's account, Sam is in.
    staff_at_provider(&provider).await;
    let sso = app.another();
    assert_eq!(
        sign_in_through(&sso, &provider, SUB).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(sso.get("/s/cranbrook/").await.status, StatusCode::OK);
    // The admin's own session, made with the password alone, is turned away too; one made
    // with the password and a code (as the admin's now would be) opens the school.
    assert_eq!(
        app.get("/s/cranbrook/admin/settings/sign-in").await.status,
        StatusCode::SEE_OTHER
    );
    sqlx::query(
        r#"update sessions set data = jsonb_set(data, '{auth,with}', '"password and code"')
           where data -> 'auth' ->> 'user_id' = (select id::text from users where email = $1)"#,
    )
    .bind(ADMIN)
    .execute(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        app.get("/s/cranbrook/admin/settings/sign-in").await.status,
        StatusCode::OK
    );
    // Single sign-on cannot be switched off while it is the only way in.
    let off = app
        .post(
            "/s/cranbrook/admin/settings/sign-in",
            &[("action", "remove"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(off.status, StatusCode::UNPROCESSABLE_ENTITY);
    off.assert_contains("Switch passwords back on before switching single sign-on off");
    assert_eq!(
        app.count("select count(*) from audit_events where action = 'passwords_switched'")
            .await,
        1
    );
}

/// A generic provider that says it asked for more than one factor (`amr` "mfa") stands in
/// for the portal's code, but only where the school chose to trust it; the audit log says
/// which applied.
#[tokio::test]
async fn a_trusted_providers_multi_factor_stands_in_for_the_code() {
    let app = spawn_app().await;
    let provider = Provider::start().await;
    cranbrook_signs_in_with(&app, &provider).await;
    provider
        .set_user(
            "sbm",
            json!({"email": "sbm@cranbrook.example", "email_verified": true, "amr": ["pwd", "mfa"]}),
        )
        .await;
    let untrusted = sign_in_through(&app, &provider, "sbm").await;
    assert_eq!(untrusted.location(), Some("/sign-in/two-factor"));

    sqlx::query("update school_sso set trust_provider_mfa = true")
        .execute(&app.pool)
        .await
        .unwrap();
    let trusted = app.another();
    let page = sign_in_through(&trusted, &provider, "sbm").await;
    assert_eq!(page.location(), Some("/"), "{}", page.body);
    assert_eq!(
        trusted.get("/s/cranbrook/compliance").await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.count("select count(*) from audit_events where action = 'sign_in' and details ->> 'with' = 'school account with its multi-factor'")
            .await,
        1
    );
}

/// A link is made only in the session that asked for it, still signed in: a return after
/// signing out links nothing.
#[tokio::test]
async fn a_link_needs_the_session_that_started_it_still_signed_in() {
    let app = spawn_app().await;
    let provider = Provider::start().await;
    cranbrook_signs_in_with(&app, &provider).await;
    staff_at_provider(&provider).await;
    app.sign_in(STAFF).await;
    app.post(
        "/s/cranbrook/link-school-account",
        &[("password", PASSWORD)],
    )
    .await;
    let start = app.get("/s/cranbrook/link-school-account/continue").await;
    let authorize = start.location().expect("to the provider").to_owned();
    let back = provider.authorize(&authorize, SUB).await;
    app.post("/sign-out", &[]).await;
    let page = app.get(back.trim_start_matches(&app.address)).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    page.assert_contains("This sign-in has expired");
    assert_eq!(app.count("select count(*) from sso_identities").await, 0);
}
