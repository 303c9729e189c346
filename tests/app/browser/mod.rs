//! A real browser for the journeys: Debian's Chromium, headless, driven over WebDriver by
//! chromedriver. Every page a journey lands on is checked: axe-core (from npm, injected into
//! the page) must find no WCAG 2.2 A or AA violation, and the page must reflow without
//! sideways scrolling at 640 CSS pixels (a 1280-pixel screen at 200% zoom) and at 320 (the
//! WCAG reflow width), with nothing beyond the window's right edge: no table column, and no
//! action in one, hidden in a box that scrolls sideways. When a journey fails, each browser's
//! screenshot and HTML are kept in `target/browser-failures/<journey>/`.

use std::{
    collections::BTreeSet,
    future::Future,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

use fantoccini::{
    Client, ClientBuilder, Locator,
    actions::{InputSource, KeyAction, KeyActions},
    key::Key,
};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, free_port};

pub mod editor;
pub mod journeys;
pub mod pages;
pub mod single_sign_on;

/// The window of a phone held upright, and of a school laptop.
pub const PHONE: (u32, u32) = (360, 740);
pub const DESKTOP: (u32, u32) = (1280, 900);

const AXE_TAGS: &str = "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']";

fn program(env: &str, default: &str) -> String {
    std::env::var(env).unwrap_or_else(|_| default.to_owned())
}

fn axe_source() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/browser/node_modules/axe-core/axe.min.js"
    );
    std::fs::read_to_string(path).unwrap_or_else(|_| {
        panic!("{path} is missing: run `npm ci` in tests/browser (scripts/test does)")
    })
}

/// One chromedriver for a journey, and every browser opened through it.
#[derive(Clone)]
pub struct Journey {
    name: &'static str,
    driver_url: String,
    browsers: Arc<Mutex<Vec<Browser>>>,
    pub visited: Arc<Mutex<BTreeSet<String>>>,
}

struct DriverProcess(Child);

impl Drop for DriverProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `steps` as the journey `name`; on failure keeps each browser's screenshot and HTML.
pub async fn run<F, Fut>(name: &'static str, steps: F)
where
    F: FnOnce(Journey) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let port = free_port();
    let driver = DriverProcess(
        Command::new(program("AUP_CHROMEDRIVER", "/usr/bin/chromedriver"))
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (scripts/test installs Debian's chromium-driver)"),
    );
    let mut listening = false;
    for _ in 0..1200 {
        listening = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok();
        if listening {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(listening, "chromedriver listens within 30 seconds");
    let journey = Journey {
        name,
        driver_url: format!("http://127.0.0.1:{port}"),
        browsers: Arc::default(),
        visited: Arc::default(),
    };
    let outcome = tokio::spawn(steps(journey.clone())).await;
    if let Err(failure) = outcome {
        // The panic's own message is printed before its backtrace; say it again after it, so
        // the end of a long log (all CI shows) names what failed and where each browser was.
        let failure = failure.into_panic();
        let message = failure
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| failure.downcast_ref::<&str>().copied())
            .unwrap_or("a panic without a message");
        eprintln!("The journey {name} failed: {message}");
        journey.keep_evidence().await;
        journey.close_all().await;
        drop(driver);
        std::panic::resume_unwind(failure);
    }
    journey.close_all().await;
    drop(driver);
}

impl Journey {
    /// A new browser, with no cookies, its window `size` CSS pixels.
    pub async fn open(&self, who: &str, base: &str, size: (u32, u32)) -> Browser {
        let user_data = std::env::temp_dir().join(format!("aup-chromium-{}", uuid::Uuid::new_v4()));
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": program("AUP_CHROMIUM", "/usr/bin/chromium"),
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--disable-quic", "--no-first-run", "--lang=en-GB",
                    "--hide-scrollbars",
                    format!("--user-data-dir={}", user_data.display()),
                    format!("--window-size={},{}", size.0, size.1),
                ],
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.driver_url)
            .await
            .expect("a Chromium session from chromedriver");
        let browser = Browser {
            client,
            who: who.to_owned(),
            base: base.to_owned(),
            size,
            user_data,
            visited: self.visited.clone(),
        };
        browser.resize(size).await;
        self.browsers.lock().unwrap().push(browser.clone());
        browser
    }

    async fn keep_evidence(&self) {
        let dir = PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/target/browser-failures"
        ))
        .join(self.name);
        let _ = std::fs::create_dir_all(&dir);
        let browsers = self.browsers.lock().unwrap().clone();
        for browser in browsers {
            if let Ok(url) = browser.client.current_url().await {
                eprintln!("{} was on {url}", browser.who);
            }
            if let Ok(png) = browser.client.screenshot().await {
                let _ = std::fs::write(dir.join(format!("{}.png", browser.who)), png);
            }
            if let Ok(html) = browser.client.source().await {
                let _ = std::fs::write(dir.join(format!("{}.html", browser.who)), html);
            }
        }
        eprintln!(
            "The browsers' screenshots and HTML are in {}",
            dir.display()
        );
    }

    async fn close_all(&self) {
        let browsers = std::mem::take(&mut *self.browsers.lock().unwrap());
        for browser in browsers {
            let _ = browser.client.clone().close().await;
            let _ = std::fs::remove_dir_all(&browser.user_data);
        }
    }
}

/// One person's browser.
#[derive(Clone)]
pub struct Browser {
    pub client: Client,
    who: String,
    base: String,
    size: (u32, u32),
    user_data: PathBuf,
    visited: Arc<Mutex<BTreeSet<String>>>,
}

impl Browser {
    async fn resize(&self, (width, height): (u32, u32)) {
        self.client
            .set_window_size(width, height)
            .await
            .expect("resize");
        // The window manager may take a moment to apply the size, under load.
        let mut inner = self.script("return window.innerWidth").await;
        for _ in 0..40 {
            if inner == json!(width) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            inner = self.script("return window.innerWidth").await;
        }
        assert_eq!(
            inner,
            json!(width),
            "the browser window should be {width} CSS pixels wide"
        );
    }

    pub async fn script(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|err| panic!("script failed: {err}\n{script}"))
    }

    /// Goes to a path of the portal and checks the page.
    pub async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .expect("navigate");
        self.check().await;
    }

    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("current URL");
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    pub async fn text(&self) -> String {
        self.script("return document.body.innerText")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub async fn expect_text(&self, text: &str) {
        let body = self.text().await;
        assert!(
            body.contains(text),
            "{} expected {text:?} on {}:\n{body}",
            self.who,
            self.path().await
        );
    }

    pub async fn title(&self) -> String {
        self.script("return document.title")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Marks the page showing, so the next one can be told from it.
    pub async fn mark_page(&self) {
        self.script("window.aupOldPage = true").await;
    }

    /// Waits for a page other than the marked one to finish loading, then checks it.
    pub async fn wait_for_next_page(&self) {
        self.wait_for_load().await;
        self.check().await;
    }

    /// Waits for a page other than the marked one to finish loading (another site's page,
    /// which is not the portal's to check).
    pub async fn wait_for_load(&self) {
        for _ in 0..600 {
            let loaded = self
                .client
                .execute(
                    "return window.aupOldPage !== true && document.readyState === 'complete'",
                    vec![],
                )
                .await;
            if loaded.is_ok_and(|v| v == json!(true)) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{}: the next page did not load within 30 seconds", self.who);
    }

    /// Follows the link with this text, then checks the page it leads to.
    pub async fn click_link(&self, text: &str) {
        self.click("a", text).await;
    }

    /// Presses the button with this text, then checks the page it leads to.
    pub async fn click_button(&self, text: &str) {
        self.click("button", text).await;
    }

    async fn click(&self, tag: &str, text: &str) {
        let mut element = None;
        // The first one shown: the top bar's sections are in the page twice, once for a
        // phone's menu and once for a wide screen, and only one of them is displayed.
        for found in self
            .client
            .find_all(Locator::XPath(&format!(
                "//{tag}[normalize-space()={}]",
                xpath_literal(text)
            )))
            .await
            .unwrap_or_default()
        {
            if found.is_displayed().await.unwrap_or(false) {
                element = Some(found);
                break;
            }
        }
        let element =
            element.unwrap_or_else(|| panic!("{} found no {tag} {text:?} shown", self.who));
        self.mark_page().await;
        element.click().await.expect("click");
        self.wait_for_next_page().await;
    }

    /// Opens the top bar's menu, on a phone: a `<details>`, so nothing loads.
    pub async fn open_menu(&self) {
        self.client
            .find(Locator::Css("summary.menu-button"))
            .await
            .expect("the menu button")
            .click()
            .await
            .expect("open the menu");
    }

    /// Types into the field whose label has this id, replacing what was there.
    pub async fn fill(&self, id: &str, value: &str) {
        let field = self
            .client
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|_| panic!("{} found no field #{id}", self.who));
        field.clear().await.expect("clear");
        field.send_keys(value).await.expect("type");
    }

    /// Chooses the file at `path` in the file input with this id.
    pub async fn choose_file(&self, id: &str, path: &str) {
        let field = self
            .client
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|_| panic!("{} found no file input #{id}", self.who));
        field.send_keys(path).await.expect("choose the file");
    }

    /// Sets a long text as a paste would, in one go.
    pub async fn paste(&self, id: &str, value: &str) {
        self.client
            .execute(
                "document.getElementById(arguments[0]).value = arguments[1];",
                vec![json!(id), json!(value)],
            )
            .await
            .expect("paste");
    }

    pub async fn tick(&self, id: &str) {
        let checkbox = self.client.find(Locator::Id(id)).await.expect("checkbox");
        if !checkbox.is_selected().await.expect("checked?") {
            checkbox.click().await.expect("tick");
        }
    }

    pub async fn sign_in(&self, email: &str) {
        self.goto("/sign-in").await;
        self.fill("email", email).await;
        self.fill("password", PASSWORD).await;
        self.click_button("Sign in").await;
    }

    /// Presses and releases one key, as a keyboard does.
    pub async fn press(&self, key: Key) {
        let key: char = key.into();
        self.keys(&[key]).await;
    }

    /// Types text a key at a time into whatever has the focus.
    pub async fn type_keys(&self, text: &str) {
        self.keys(&text.chars().collect::<Vec<_>>()).await;
    }

    async fn keys(&self, keys: &[char]) {
        let mut actions = KeyActions::new("keyboard".to_owned());
        for &value in keys {
            actions = actions
                .then(KeyAction::Down { value })
                .then(KeyAction::Up { value });
        }
        self.client
            .perform_actions(actions)
            .await
            .expect("key presses");
    }

    /// The element with the focus: its id, and whether its focus indicator shows.
    pub async fn focused(&self) -> (String, bool) {
        let found = self
            .script(
                "const e = document.activeElement; const s = getComputedStyle(e);
                 return [e.id || e.tagName.toLowerCase() + ':' + (e.textContent || '').replace(/\\s+/g, ' ').trim().slice(0, 60),
                         (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2 && s.outlineColor !== 'rgba(0, 0, 0, 0)')
                           || s.boxShadow !== 'none'];",
            )
            .await;
        (
            found[0].as_str().unwrap_or_default().to_owned(),
            found[1].as_bool().unwrap_or(false),
        )
    }

    /// Presses Tab until `target` has the focus (an id, or a link or button as "a:Its text" or
    /// "button:Its text"), checking that the focus shows on every control on the way.
    pub async fn tab_to(&self, target: &str) {
        for _ in 0..200 {
            self.press(Key::Tab).await;
            let (id, visible) = self.focused().await;
            assert!(visible, "{}: the focus on {id:?} cannot be seen", self.who);
            if id == target {
                return;
            }
        }
        panic!("{}: Tab never reached {target:?}", self.who);
    }

    /// Presses Enter on what has the focus, and checks the page it leads to.
    pub async fn enter(&self) {
        self.mark_page().await;
        self.press(Key::Enter).await;
        self.wait_for_next_page().await;
    }

    /// How many A4 pages the page now showing prints on (Chromium's print to PDF).
    pub async fn printed_pages(&self) -> usize {
        let config = fantoccini::wd::PrintConfiguration::builder()
            .size(fantoccini::wd::PrintSize::A4)
            .build()
            .expect("A4");
        let pdf = self.client.print(config).await.expect("print to PDF");
        let text = String::from_utf8_lossy(&pdf);
        // Each page is a dictionary of type /Page (the tree above them is /Pages).
        text.match_indices("/Type /Page")
            .filter(|(at, found)| !text[at + found.len()..].starts_with('s'))
            .count()
    }

    /// axe-core and the reflow widths, on the page now showing.
    pub async fn check(&self) {
        let path = self.path().await;
        let page = format!("{} {}", self.title().await, path);
        self.visited.lock().unwrap().insert(
            path.split('?')
                .next()
                .unwrap_or_default()
                .split('/')
                .map(|part| {
                    if uuid::Uuid::parse_str(part).is_ok() {
                        "{id}"
                    } else {
                        part
                    }
                })
                .collect::<Vec<_>>()
                .join("/"),
        );
        if self.script("return typeof window.axe").await != json!("object") {
            self.client
                // Run as a function body, axe's `var axe` is local: hand it to the page.
                .execute(&format!("{}\nwindow.axe = axe;", axe_source()), vec![])
                .await
                .expect("inject axe-core");
        }
        let violations = self
            .client
            .execute_async(
                &format!(
                    "const done = arguments[arguments.length - 1];
                     axe.run(document, {{ runOnly: {{ type: 'tag', values: {AXE_TAGS} }}, resultTypes: ['violations'] }})
                       .then(r => done(r.violations.map(v => ({{ rule: v.id, impact: v.impact, help: v.help,
                                                               where: v.nodes.map(n => n.target.join(' ')).slice(0, 5) }}))))
                       .catch(e => done([{{ rule: 'axe failed', help: String(e) }}]));"
                ),
                vec![],
            )
            .await
            .expect("axe.run");
        assert_eq!(
            violations,
            json!([]),
            "axe-core found WCAG 2.2 A/AA violations on {page} ({}):\n{violations:#}",
            self.who
        );
        for width in [640, 320] {
            if width >= self.size.0 {
                continue;
            }
            self.resize((width, self.size.1)).await;
            let overflow = self
                .script(
                    "const w = document.documentElement.clientWidth;
                     const wide = [...document.querySelectorAll('body *')].filter(e => {
                         const r = e.getBoundingClientRect(); return r.width > 0 && r.right > w + 1; })
                       .slice(0, 5).map(e => e.outerHTML.slice(0, 120));
                     return { page: document.documentElement.scrollWidth - w, wide };",
                )
                .await;
            self.resize(self.size).await;
            assert!(
                overflow["page"].as_i64() == Some(0) && overflow["wide"] == json!([]),
                "{page} does not fit {width} CSS pixels ({}): {overflow:#}",
                self.who
            );
        }
    }
}

fn xpath_literal(text: &str) -> String {
    if text.contains('\'') {
        format!("\"{text}\"")
    } else {
        format!("'{text}'")
    }
}
