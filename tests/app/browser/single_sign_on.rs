//! Signing in as schools do, in a real browser, the whole way through to the person's
//! waiting policies: a school account through a real OpenID provider, and an emailed link.
//! Every portal page on the way is checked (axe-core, 320 px); the provider's own pages
//! are not the portal's to check.

use fantoccini::Locator;

use super::{Browser, PHONE, run};
use crate::helpers::*;
use crate::provider::{Provider, cranbrook_signs_in_with};

impl Browser {
    /// Presses a button that leads away from the portal, and waits for the page it opens.
    async fn click_away(&self, tag: &str, text: &str) {
        let element = self
            .client
            .find(Locator::XPath(&format!(
                "//{tag}[normalize-space()='{text}']"
            )))
            .await
            .unwrap_or_else(|_| panic!("{} found no {tag} {text:?}", self.who));
        self.mark_page().await;
        element.click().await.expect("click");
        self.wait_for_load().await;
    }
}

#[tokio::test]
async fn staff_sign_in_with_their_school_account_and_governors_with_an_emailed_link() {
    let app = spawn_app().await;
    add_cranbrook_admin(&app).await;
    let provider = Provider::start().await;
    cranbrook_signs_in_with(&app, &provider).await;
    provider
        .set_user(
            "sam",
            serde_json::json!({"email": STAFF, "email_verified": true}),
        )
        .await;
    provider
        .set_user(
            "stranger",
            serde_json::json!({"email": "new.starter@cranbrook.example", "email_verified": true}),
        )
        .await;
    let base = app.address.clone();
    let pool = app.pool.clone();
    run(
        "staff_sign_in_with_their_school_account_and_governors_with_an_emailed_link",
        move |journey| async move {
            // Sam finds the school's sign-in page from their address, and its button.
            let sam = journey.open("sam-phone", &base, PHONE).await;
            sam.goto("/sign-in").await;
            sam.fill("work_email", STAFF).await;
            sam.click_button("Find your school").await;
            assert_eq!(sam.path().await, "/s/cranbrook/sign-in");
            sam.click_away("a", "Sign in with your school account")
                .await;
            // At the provider: they sign in there, as they do every morning.
            let sub = sam
                .client
                .find(Locator::Css("input[name=sub]"))
                .await
                .expect("the provider's form");
            sub.send_keys("sam").await.expect("type");
            sam.click_button("Authorize").await;
            assert_eq!(sam.path().await, "/s/cranbrook/");
            sam.expect_text(&format!("Read and sign {CRANBROOK}")).await;

            // Someone the school has not added is told so, and nothing is made for them.
            let stranger = journey.open("stranger-phone", &base, PHONE).await;
            stranger.goto("/s/cranbrook/sign-in").await;
            stranger
                .click_away("a", "Sign in with your school account")
                .await;
            let sub = stranger
                .client
                .find(Locator::Css("input[name=sub]"))
                .await
                .expect("form");
            sub.send_keys("stranger").await.expect("type");
            stranger.click_button("Authorize").await;
            stranger
                .expect_text("Your school has not added you to the portal yet")
                .await;

            // Alex, a governor with no school account, asks for a link by email.
            let alex = journey.open("alex-phone", &base, PHONE).await;
            alex.goto("/sign-in").await;
            alex.click_link("Email me a sign-in link").await;
            alex.fill("email", GOVERNOR).await;
            alex.click_button("Email me a sign-in link").await;
            alex.expect_text("Check your email").await;
            let body: String =
                sqlx::query_scalar("select body_text from outbox where to_address = $1")
                    .bind(GOVERNOR)
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            let start = body.find(&base).expect("a link");
            let link = body[start + base.len()..]
                .split_whitespace()
                .next()
                .unwrap()
                .to_owned();
            alex.goto(&link).await;
            alex.click_button("Sign in").await;
            alex.expect_text(&format!("Read and sign {CRANBROOK}"))
                .await;

            // The admin's single sign-on page and its test sign-in.
            let admin = journey.open("admin-desktop", &base, super::DESKTOP).await;
            admin.sign_in(ADMIN).await;
            admin.goto("/s/cranbrook/admin/settings").await;
            admin.click_link("Set up single sign-on").await;
            admin
                .expect_text("Registering the portal in Microsoft Entra ID")
                .await;
            admin.click_away("a", "Test sign-in").await;
            let sub = admin
                .client
                .find(Locator::Css("input[name=sub]"))
                .await
                .expect("form");
            sub.send_keys("sam").await.expect("type");
            admin.click_button("Authorize").await;
            admin.expect_text("Would be accepted.").await;
            // Sam's account page shows the link made the first time.
            sam.goto("/account").await;
            sam.expect_text("Your school account is linked").await;
        },
    )
    .await;
}

/// A Microsoft-shaped school (the Entra-shaped provider: the tenant's own issuer, `tid`,
/// `oid`) and a Google-shaped one (`hd`), each the whole way through in the browser.
#[tokio::test]
async fn staff_sign_in_with_microsoft_and_with_google() {
    let (app, entra) = crate::entra::microsoft_school().await;
    entra
        .set_user(
            "sam",
            serde_json::json!({"oid": "oid-sam", "email": STAFF, "xms_edov": true}),
        )
        .await;
    let google = Provider::start().await;
    let issuer = google.issuer();
    let google_app = spawn_app_with(|s| s.google_issuer = issuer.clone()).await;
    crate::provider::cranbrook_uses(
        &google_app,
        aup_portal::domain::statuses::SsoProvider::Google,
        &issuer,
        None,
        Some("cranbrook.example"),
    )
    .await;
    google
        .set_user(
            "alex",
            serde_json::json!({"email": GOVERNOR, "email_verified": true, "hd": "cranbrook.example"}),
        )
        .await;
    let base = app.address.clone();
    let google_base = google_app.address.clone();
    run(
        "staff_sign_in_with_microsoft_and_with_google",
        move |journey| async move {
            // Microsoft: the tenant's own sign-in page, then its consent page.
            let sam = journey.open("sam-phone", &base, PHONE).await;
            sam.goto("/s/cranbrook/sign-in").await;
            sam.click_away("a", "Sign in with Microsoft").await;
            let login = sam
                .client
                .find(Locator::Css("input[name=login]"))
                .await
                .expect("Microsoft's form");
            login.send_keys("sam").await.expect("type");
            let password = sam
                .client
                .find(Locator::Css("input[name=password]"))
                .await
                .expect("password");
            password.send_keys("any").await.expect("type");
            sam.click_away("button", "Sign-in").await;
            if sam
                .client
                .find(Locator::XPath("//button[normalize-space()='Continue']"))
                .await
                .is_ok()
            {
                sam.click_button("Continue").await;
            }
            assert_eq!(sam.path().await, "/s/cranbrook/");
            sam.expect_text(&format!("Read and sign {CRANBROOK}")).await;

            // Google: the Workspace account, then the waiting policies.
            let alex = journey.open("alex-phone", &google_base, PHONE).await;
            alex.goto("/s/cranbrook/sign-in").await;
            alex.click_away("a", "Sign in with Google").await;
            let sub = alex
                .client
                .find(Locator::Css("input[name=sub]"))
                .await
                .expect("Google's form");
            sub.send_keys("alex").await.expect("type");
            alex.click_button("Authorize").await;
            alex.expect_text(&format!("Read and sign {CRANBROOK}"))
                .await;
        },
    )
    .await;
}

/// A person in two schools links their school account from their account page, after
/// their password, and the school's button then signs them in.
#[tokio::test]
async fn a_person_in_two_schools_links_their_school_account_from_their_account_page() {
    let app = spawn_app().await;
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
    provider
        .set_user(
            "sam",
            serde_json::json!({"email": STAFF, "email_verified": true}),
        )
        .await;
    let base = app.address.clone();
    run(
        "a_person_in_two_schools_links_their_school_account_from_their_account_page",
        move |journey| async move {
            // Before linking, the address alone does not find someone in two schools.
            let sam = journey.open("sam-phone", &base, PHONE).await;
            sam.goto("/s/cranbrook/sign-in").await;
            sam.click_away("a", "Sign in with your school account")
                .await;
            let sub = sam
                .client
                .find(Locator::Css("input[name=sub]"))
                .await
                .expect("the provider's form");
            sub.send_keys("sam").await.expect("type");
            sam.click_button("Authorize").await;
            sam.expect_text("Link your school account first").await;

            // Signed in with the password, from the account page.
            sam.sign_in(STAFF).await;
            sam.goto("/account").await;
            sam.fill("link-password-cranbrook", PASSWORD).await;
            sam.click_button("Link my school account").await;
            sam.click_away("a", "Continue to your school account").await;
            let sub = sam
                .client
                .find(Locator::Css("input[name=sub]"))
                .await
                .expect("the provider's form");
            sub.send_keys("sam").await.expect("type");
            sam.click_button("Authorize").await;
            sam.expect_text("Your school account is linked").await;

            // Another phone: the school's button now signs Sam in, to their waiting policies.
            let phone = journey.open("sam-second-phone", &base, PHONE).await;
            phone.goto("/s/cranbrook/sign-in").await;
            phone
                .click_away("a", "Sign in with your school account")
                .await;
            let sub = phone
                .client
                .find(Locator::Css("input[name=sub]"))
                .await
                .expect("the provider's form");
            sub.send_keys("sam").await.expect("type");
            phone.click_button("Authorize").await;
            assert_eq!(phone.path().await, "/s/cranbrook/");
            phone
                .expect_text(&format!("Read and sign {CRANBROOK}"))
                .await;
        },
    )
    .await;
}
