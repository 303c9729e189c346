//! A real OpenID provider for the single sign-on tests: `oidc-provider-mock` (PyPI, pinned
//! in scripts/test), run as its own process on a free port. It signs real RS256 tokens with
//! a key of its own, made fresh each time it starts.

use std::process::{Child, Command, Stdio};

use aup_portal::domain::statuses::SsoProvider;

use crate::helpers::{TestApp, free_port, http};

pub struct Provider {
    child: Option<Child>,
    pub port: u16,
    args: Vec<String>,
}

/// The Python with oidc-provider-mock (and joserfc, for the tampering proxy): scripts/test
/// makes it in target/oidc-venv.
fn python() -> String {
    std::env::var("AUP_OIDC_PYTHON").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/target/oidc-venv/bin/python").to_owned()
    })
}

impl Provider {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// With extra command-line options, such as `["--token-max-age", "0"]`.
    pub async fn start_with(args: &[&str]) -> Self {
        let mut provider = Provider {
            child: None,
            port: free_port(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
        };
        provider.launch().await;
        provider
    }

    async fn launch(&mut self) {
        let child = Command::new(python())
            .args(["-m", "oidc_provider_mock", "--port", &self.port.to_string()])
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("oidc-provider-mock (scripts/test installs it)");
        self.child = Some(child);
        let client = http().build().expect("client");
        for _ in 0..100 {
            let answer = client
                .get(format!(
                    "{}/.well-known/openid-configuration",
                    self.issuer()
                ))
                .send()
                .await;
            if answer.is_ok_and(|a| a.status().is_success()) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("the OpenID provider did not start on port {}", self.port);
    }

    pub fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts again on the same port, with a new signing key.
    pub async fn restart(&mut self) {
        self.stop();
        self.launch().await;
    }

    /// The claims the provider puts in `sub`'s tokens.
    pub async fn set_user(&self, sub: &str, claims: serde_json::Value) {
        let answer = http()
            .build()
            .expect("client")
            .put(format!("{}/users/{sub}", self.issuer()))
            .header("content-type", "application/json")
            .body(claims.to_string())
            .send()
            .await
            .expect("PUT user");
        assert!(
            answer.status().is_success(),
            "the provider refused the user"
        );
    }

    /// At the provider, signs in as `sub`: where it sends the browser back to.
    pub async fn authorize(&self, authorize_url: &str, sub: &str) -> String {
        let answer = http()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
            .post(authorize_url)
            .form(&[("sub", sub)])
            .send()
            .await
            .expect("authorize");
        answer
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .unwrap_or_else(|| panic!("the provider sent no redirect ({})", answer.status()))
            .to_owned()
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Sets Cranbrook up to sign in through `provider` (a generic OpenID provider), its email
/// domain cranbrook.example, with the app's own key sealing the secret.
pub async fn cranbrook_signs_in_with(app: &TestApp, provider: &Provider) {
    cranbrook_uses(app, SsoProvider::Oidc, &provider.issuer(), None, None).await;
}

/// As `cranbrook_signs_in_with`, for any provider and issuer.
pub async fn cranbrook_uses(
    app: &TestApp,
    kind: SsoProvider,
    issuer: &str,
    tenant_id: Option<uuid::Uuid>,
    hosted_domain: Option<&str>,
) {
    let school_id: uuid::Uuid =
        sqlx::query_scalar("select id from schools where slug = 'cranbrook'")
            .fetch_one(&app.pool)
            .await
            .expect("school");
    let sealed = app.secret.seal(
        &aup_portal::store::sso::secret_context(school_id),
        b"test-secret",
    );
    let sso = aup_portal::store::sso::SchoolSso {
        provider: kind,
        issuer: issuer.to_owned(),
        tenant_id,
        hosted_domain: hosted_domain.map(str::to_owned),
        client_id: "aup-portal".to_owned(),
        client_secret_sealed: sealed,
        secret_expires_on: None,
        email_domains: vec!["cranbrook.example".to_owned()],
        trust_provider_mfa: false,
    };
    aup_portal::store::sso::save(&app.pool, school_id, &sso)
        .await
        .expect("save single sign-on");
}

/// Presses the school's button, signs in at the provider as `sub`, and comes back: the
/// portal's answer to the return.
pub async fn sign_in_through(
    app: &TestApp,
    provider: &Provider,
    sub: &str,
) -> crate::helpers::Page {
    let return_url = go_to_provider_and_back(app, provider, sub).await;
    app.get(return_url.trim_start_matches(&app.address)).await
}

/// The way there and back, up to the address the provider sends the browser back to.
pub async fn go_to_provider_and_back(app: &TestApp, provider: &Provider, sub: &str) -> String {
    let start = app.get("/s/cranbrook/sign-in/school-account").await;
    let authorize = start
        .location()
        .unwrap_or_else(|| panic!("no redirect to the provider: {}", start.body))
        .to_owned();
    assert!(authorize.starts_with(&provider.issuer()), "{authorize}");
    provider.authorize(&authorize, sub).await
}

/// The tampering proxy (tests/support/tampering_proxy.py) in front of `upstream`: the issuer
/// a school is set up with, whose ID tokens come back changed as `mode` says.
pub struct Proxy {
    child: Child,
    port: u16,
}

impl Proxy {
    pub fn start(upstream: &Provider, mode: &str) -> Self {
        use std::io::BufRead;
        let port = free_port();
        let mut child = Command::new(python())
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/support/tampering_proxy.py"
            ))
            .args([upstream.issuer(), port.to_string(), mode.to_owned()])
            .stdout(Stdio::piped())
            .spawn()
            .expect("the tampering proxy");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("proxy output");
        assert_eq!(line.trim(), "ready", "the tampering proxy did not start");
        Proxy { child, port }
    }

    pub fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
