//! A Microsoft-shaped school against a provider shaped like Entra ID (npm `oidc-provider`,
//! tests/support/entra): the tenant's own issuer, accounts keyed by `oid`, guests and other
//! tenants refused, and a tenant found from one of its domain names.

use std::process::{Child, Command, Stdio};

use aup_portal::domain::statuses::SsoProvider;
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::*;
use crate::provider::cranbrook_uses;

const TENANT: &str = "6a1c3e2f-8b0d-4c5e-9f7a-1b2c3d4e5f60";

pub struct Entra {
    child: Child,
    port: u16,
}

impl Entra {
    /// On `port`, for a portal whose return address is `redirect_uri`.
    pub fn start(port: u16, redirect_uri: &str) -> Self {
        use std::io::BufRead;
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/entra");
        let mut child = Command::new("node")
            .arg(format!("{dir}/provider.mjs"))
            .args([&port.to_string(), TENANT, redirect_uri, "cranbrook.example"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node, with tests/support/entra installed (scripts/test does it)");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("provider output");
        assert_eq!(
            line.trim(),
            "ready",
            "the Entra-shaped provider did not start"
        );
        Entra { child, port }
    }

    pub fn authority(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub async fn set_user(&self, login: &str, claims: serde_json::Value) {
        let answer = http()
            .build()
            .unwrap()
            .put(format!("{}/users/{login}", self.authority()))
            .body(claims.to_string())
            .send()
            .await
            .expect("PUT user");
        assert_eq!(answer.status(), StatusCode::NO_CONTENT);
    }

    /// Through the provider's sign-in and consent forms as `login`, to where it sends the
    /// browser back.
    async fn authorize(&self, url: &str, login: &str, back_to: &str) -> String {
        let browser = http()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let absolute = |to: &str| {
            if to.starts_with("http") {
                to.to_owned()
            } else {
                format!("{}{to}", self.authority())
            }
        };
        let mut answer = browser.get(url).send().await.unwrap();
        for _ in 0..12 {
            if let Some(to) = answer.headers().get("location") {
                let to = absolute(to.to_str().unwrap());
                if to.starts_with(back_to) {
                    return to;
                }
                answer = browser.get(&to).send().await.unwrap();
                continue;
            }
            let page = answer.text().await.unwrap();
            let action = between(&page, "action=\"", "\"").expect("a form at the provider");
            let prompt = between(&page, "name=\"prompt\" value=\"", "\"").unwrap_or_default();
            answer = browser
                .post(absolute(&action))
                .form(&[
                    ("prompt", prompt.as_str()),
                    ("login", login),
                    ("password", "any"),
                ])
                .send()
                .await
                .unwrap();
        }
        panic!("the provider never sent the browser back");
    }
}

fn between(text: &str, start: &str, end: &str) -> Option<String> {
    let from = text.find(start)? + start.len();
    let to = text[from..].find(end)? + from;
    Some(text[from..to].to_owned())
}

impl Drop for Entra {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn microsoft_school() -> (TestApp, Entra) {
    let port = free_port();
    let app = spawn_app_with(|s| s.entra_authority = format!("http://127.0.0.1:{port}")).await;
    let entra = Entra::start(port, &format!("{}/sign-in/return", app.address));
    let tenant = Uuid::parse_str(TENANT).unwrap();
    let issuer = aup_portal::oidc::rules::entra_issuer(&entra.authority(), tenant);
    cranbrook_uses(&app, SsoProvider::Microsoft, &issuer, Some(tenant), None).await;
    (app, entra)
}

async fn sign_in(app: &TestApp, entra: &Entra, login: &str) -> Page {
    let start = app.get("/s/cranbrook/sign-in/school-account").await;
    let url = start
        .location()
        .unwrap_or_else(|| panic!("no redirect: {}", start.body))
        .to_owned();
    let back = entra
        .authorize(&url, login, &format!("{}/sign-in/return", app.address))
        .await;
    app.get(back.trim_start_matches(&app.address)).await
}

#[tokio::test]
async fn a_microsoft_school_signs_its_staff_in_by_object_id() {
    let (app, entra) = microsoft_school().await;
    app.get("/s/cranbrook/sign-in")
        .await
        .assert_contains("Sign in with Microsoft");
    entra
        .set_user(
            "sam",
            json!({"oid": "oid-sam", "email": STAFF, "xms_edov": true}),
        )
        .await;
    let page = sign_in(&app, &entra, "sam").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    app.visit("/")
        .await
        .assert_contains("Staff and Governors AUP");
    let (issuer, subject): (String, String) =
        sqlx::query_as("select issuer, subject from sso_identities")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(issuer, format!("{}/{TENANT}/v2.0", entra.authority()));
    assert_eq!(
        subject, "oid-sam",
        "keyed by the object ID, not the pairwise sub"
    );
}

#[tokio::test]
async fn guests_other_tenants_and_unverified_domains_are_refused() {
    let (app, entra) = microsoft_school().await;
    entra
        .set_user(
            "guest",
            json!({"oid": "oid-g", "email": STAFF, "xms_edov": true, "acct": 1}),
        )
        .await;
    let page = sign_in(&app, &entra, "guest").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    page.assert_contains("That is a guest account");

    entra
        .set_user(
            "elsewhere",
            json!({"oid": "oid-e", "email": STAFF, "xms_edov": true, "tid": Uuid::nil().to_string()}),
        )
        .await;
    let page = sign_in(&app.another(), &entra, "elsewhere").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    page.assert_contains("belongs to another organisation");

    // The tenant has not verified the address's domain: it finds no one.
    entra
        .set_user("unverified", json!({"oid": "oid-u", "email": STAFF}))
        .await;
    let page = sign_in(&app.another(), &entra, "unverified").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(app.count("select count(*) from sso_identities").await, 0);
}

#[tokio::test]
async fn a_tenants_domain_name_is_resolved_to_its_id_once_on_the_settings_page() {
    let (app, entra) = microsoft_school().await;
    sqlx::query("delete from school_sso")
        .execute(&app.pool)
        .await
        .unwrap();
    add_cranbrook_admin(&app).await;
    app.sign_in(ADMIN).await;
    let saved = app
        .post(
            "/s/cranbrook/admin/settings/sign-in",
            &[
                ("provider", "microsoft"),
                ("tenant", "cranbrook.example"),
                ("client_id", "aup-portal"),
                ("client_secret", "test-secret"),
                ("email_domains", "cranbrook.example"),
                ("password", PASSWORD),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let (tenant, issuer): (Uuid, String) =
        sqlx::query_as("select tenant_id, issuer from school_sso")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(tenant.to_string(), TENANT);
    assert_eq!(issuer, format!("{}/{TENANT}/v2.0", entra.authority()));

    // A name no tenant has is refused next to the field.
    let unknown = app
        .post(
            "/s/cranbrook/admin/settings/sign-in",
            &[
                ("provider", "microsoft"),
                ("tenant", "nowhere.example"),
                ("client_id", "aup-portal"),
                ("password", PASSWORD),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    unknown.assert_contains("Microsoft could not find that tenant");
}
