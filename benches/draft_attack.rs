//! A DPO's heavy drafts against everyone else's sign page. The penetration test froze every
//! school for 38 seconds with one 198 KB deeply nested draft previewed twice at once. This
//! measures a signer's sign page alone, then while two DPO sessions save and preview, over
//! and over: (a) a 195 KB draft nested 2,000 deep, which the editor now refuses before any
//! parsing, and (b) the heaviest draft it accepts, 195 KB nested 16 deep, a new text each
//! time so every preview renders. It prints the sign page's latency in each phase, and the
//! attackers' own. Rendering runs on the blocking pool behind a semaphore sized to the cores,
//! so the request threads stay free.
//!
//! Run: `cargo bench --bench draft_attack` (PostgreSQL from BENCH_DATABASE_URL, or
//! TEST_DATABASE_URL, or 127.0.0.1:5432). Results go in BENCHMARKS.md.

use std::{
    str::FromStr,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use aup_portal::{db, startup::Application, state::Settings};
use sqlx::{Connection, PgConnection, postgres::PgConnectOptions};

const PASSWORD: &str = "bench-password-long-enough";
/// How long each phase reads the sign page.
const PHASE: Duration = Duration::from_secs(10);
/// Just under the editor's 200,000-character limit on a version's text.
const TARGET_BYTES: usize = 195_000;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

fn client() -> reqwest::Client {
    {
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::builder()
    }
    .cookie_store(true)
    .redirect(reqwest::redirect::Policy::none())
    .build()
    .expect("client")
}

async fn sign_in(base: &str, email: &str) -> reqwest::Client {
    let client = client();
    let answer = client
        .post(format!("{base}/sign-in"))
        .form(&[("email", email), ("password", PASSWORD)])
        .send()
        .await
        .expect("sign in");
    assert_eq!(answer.status(), 303, "{email} signs in");
    client
}

/// The sign page, one request after another for `PHASE`: its latencies, sorted. Every
/// answer must be a 200.
async fn sign_page(client: &reqwest::Client, url: &str) -> Vec<Duration> {
    let mut times = vec![];
    let phase = Instant::now();
    while phase.elapsed() < PHASE {
        let started = Instant::now();
        let answer = client.get(url).send().await.expect("sign page");
        assert_eq!(answer.status(), 200, "the sign page answers");
        answer.bytes().await.expect("body");
        times.push(started.elapsed());
    }
    times.sort();
    times
}

/// A 198 KB text nested `depth` levels deep, made different by `n`.
fn draft(depth: usize, n: usize) -> String {
    let prefix = "> ".repeat(depth.saturating_sub(1));
    let mut text = format!("Draft {n}\n\n");
    let mut line = 0;
    while text.len() < TARGET_BYTES {
        text.push_str(&format!(
            "{prefix}- I will keep statement {line} of draft {n} with *emphasis* and [a link](https://www.ncsc.gov.uk/)\n"
        ));
        line += 1;
    }
    text
}

fn fields(body: &str) -> Vec<(&'static str, String)> {
    let mut fields = vec![
        ("label", "2026-27".to_owned()),
        ("title", "Acceptable Use Policy".to_owned()),
        ("body_md", body.to_owned()),
        ("signature_fields", "signature".to_owned()),
        ("signature_fields", "full_name".to_owned()),
        ("action", "preview".to_owned()),
    ];
    let acks = aup_portal::domain::samples::cranbrook()
        .content
        .acknowledgements;
    for (i, ack) in acks.iter().enumerate() {
        fields.push(("ack_id", ack.id.clone()));
        fields.push(("ack_text", ack.text.clone()));
        fields.push(("ack_position", (i + 1).to_string()));
        if ack.required {
            fields.push(("ack_required", i.to_string()));
        }
    }
    fields
}

/// Saves and previews drafts nested `depth` deep until `stop`, as one DPO session; returns
/// the latencies of its requests.
async fn attack(
    base: String,
    draft_path: String,
    depth: usize,
    stop: Arc<AtomicBool>,
    counter: Arc<AtomicUsize>,
    previews: Arc<AtomicUsize>,
) -> Vec<Duration> {
    let dpo = sign_in(&base, "dpo@cranbrook.example").await;
    let mut times = vec![];
    while !stop.load(Ordering::SeqCst) {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        let body = draft(depth, n);
        let started = Instant::now();
        let saved = dpo
            .post(format!("{base}{draft_path}"))
            .form(&fields(&body))
            .send()
            .await
            .expect("save");
        let status = saved.status();
        saved.bytes().await.expect("body");
        if status == 303 {
            let preview = dpo
                .get(format!("{base}{draft_path}/preview"))
                .send()
                .await
                .expect("preview");
            assert_eq!(preview.status(), 200, "the preview renders");
            let page = preview.text().await.expect("body");
            assert!(
                page.contains("I will keep statement 1 "),
                "the text is on the preview"
            );
            previews.fetch_add(1, Ordering::SeqCst);
        } else {
            assert_eq!(status, 422, "a refused draft is sent back, {status}");
        }
        times.push(started.elapsed());
    }
    times.sort();
    times
}

fn report(name: &str, times: &[Duration]) {
    println!(
        "| {name} | {} | {:.1} | {:.1} | {:.1} |",
        times.len(),
        percentile(times, 0.5).as_secs_f64() * 1000.0,
        percentile(times, 0.99).as_secs_f64() * 1000.0,
        times.last().copied().unwrap_or_default().as_secs_f64() * 1000.0
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let server = std::env::var("BENCH_DATABASE_URL")
        .or_else(|_| std::env::var("TEST_DATABASE_URL"))
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let server = PgConnectOptions::from_str(&server)?;
    let mut admin = PgConnection::connect_with(&server).await?;
    sqlx::query("drop database if exists aup_bench_drafts")
        .execute(&mut admin)
        .await?;
    sqlx::query("create database aup_bench_drafts")
        .execute(&mut admin)
        .await?;
    let pool = db::connect(server.clone().database("aup_bench_drafts")).await?;
    db::migrate(&pool).await?;
    aup_portal::demo::seed(&pool, PASSWORD).await?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let app = Application::build(Settings::for_base_url(base.clone()), pool.clone(), listener);
    tokio::spawn(app.run_until_stopped(
        std::future::pending(),
        aup_portal::startup::Background::Nothing,
    ));

    let version: uuid::Uuid = sqlx::query_scalar(
        "select v.id from policy_versions v join policies p on p.id = v.policy_id
         where p.name = 'Staff and Governors AUP' and v.status = 'published'",
    )
    .fetch_one(&pool)
    .await?;
    let policy: uuid::Uuid =
        sqlx::query_scalar("select policy_id from policy_versions where id = $1")
            .bind(version)
            .fetch_one(&pool)
            .await?;
    let signer = sign_in(&base, "staff@cranbrook.example").await;
    let sign_url = format!("{base}/s/cranbrook/versions/{version}/sign");
    let dpo = sign_in(&base, "dpo@cranbrook.example").await;
    let started = dpo
        .post(format!("{base}/s/cranbrook/policies/{policy}/versions"))
        .form(&[("start", "clone")])
        .send()
        .await?;
    let draft_path = started
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .expect("a draft")
        .to_owned();

    // Warm up, then the sign page alone.
    sign_page(&signer, &sign_url).await;
    println!("| Phase | Requests | p50 ms | p99 ms | max ms |");
    println!("| --- | --- | --- | --- | --- |");
    report("Sign page, alone", &sign_page(&signer, &sign_url).await);

    for (depth, name) in [
        (2_000, "refused, nested 2,000 deep"),
        (16, "accepted, nested 16 deep"),
    ] {
        let stop = Arc::new(AtomicBool::new(false));
        let counter = Arc::new(AtomicUsize::new(0));
        let previews = Arc::new(AtomicUsize::new(0));
        let attackers: Vec<_> = (0..2)
            .map(|_| {
                tokio::spawn(attack(
                    base.clone(),
                    draft_path.clone(),
                    depth,
                    stop.clone(),
                    counter.clone(),
                    previews.clone(),
                ))
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let during = sign_page(&signer, &sign_url).await;
        stop.store(true, Ordering::SeqCst);
        let mut theirs = vec![];
        for attacker in attackers {
            theirs.extend(attacker.await?);
        }
        theirs.sort();
        report(
            &format!("Sign page, two DPOs previewing 195 KB drafts {name}"),
            &during,
        );
        report(
            &format!(
                "The DPOs' save and preview, {name} ({} previews rendered)",
                previews.load(Ordering::SeqCst)
            ),
            &theirs,
        );
    }
    Ok(())
}
