//! The compliance dashboard at trust scale: 200 schools, 40,000 people and ten years of
//! yearly versions (about 400,000 agreements). Measures one school's dashboard and CSV
//! export over HTTP, and prints the plans of the queries behind them.
//!
//! Run: `cargo bench --bench dashboard` (PostgreSQL from BENCH_DATABASE_URL, or
//! TEST_DATABASE_URL, or 127.0.0.1:5432). Results go in BENCHMARKS.md.

use std::{
    str::FromStr,
    time::{Duration, Instant},
};

use aup_portal::{auth::password, db, startup::Application, state::Settings};
use sqlx::{Connection, PgConnection, PgPool, postgres::PgConnectOptions};

const SCHOOLS: i32 = 200;
const PEOPLE_PER_SCHOOL: i32 = 200;
const YEARS: i32 = 10;
const REQUESTS: usize = 200;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

async fn generate(pool: &PgPool, sbm_hash: &str) -> anyhow::Result<()> {
    let started = Instant::now();
    sqlx::raw_sql(&format!(
        r#"
        -- The SBM signs in with a password alone here, to measure the pages, not the sign-in.
        insert into schools (slug, name, require_two_factor)
            select 'school-' || n, 'School ' || n, false from generate_series(1, {SCHOOLS}) n;
        insert into users (email, full_name, signing_name, surname, password_hash)
            select 'person' || s || '-' || p || '@trust.example', 'Person ' || s || ' ' || p,
                   'Person ' || s || ' ' || p, p, null
            from generate_series(1, {SCHOOLS}) s, generate_series(1, {PEOPLE_PER_SCHOOL}) p;
        insert into memberships (user_id, school_id, grp, job_title, roles)
            select u.id, sc.id,
                   case when p % 10 = 0 then 'governor' else 'staff' end,
                   (array['Class teacher', 'Teaching assistant', 'Office manager', 'Site manager', 'Parent governor'])[1 + p % 5],
                   case when p = 1 then '{{signer,sbm}}'::text[] else '{{signer}}'::text[] end
            from generate_series(1, {SCHOOLS}) s cross join generate_series(1, {PEOPLE_PER_SCHOOL}) p
            join users u on u.email = 'person' || s || '-' || p || '@trust.example'
            join schools sc on sc.slug = 'school-' || s;
        update users set password_hash = '{sbm_hash}' where email = 'person1-1@trust.example';
        insert into policies (school_id, name, audience)
            select id, 'Staff and Governors AUP', '{{staff,governor}}' from schools;
        insert into policy_versions (policy_id, school_id, label, title, body_md, status, published_at, content_sha256, next_review_due)
            select p.id, p.school_id, (2015 + y) || '-' || lpad(((16 + y) % 100)::text, 2, '0'),
                   'Acceptable Use Policy', '- I will keep my password secret',
                   case when y = {YEARS} then 'published' else 'superseded' end,
                   make_date(2015 + y, 9, 1)::timestamptz,
                   md5(p.id::text || y) || md5(y::text || p.id::text),
                   make_date(2016 + y, 9, 1)
            from policies p, generate_series(1, {YEARS}) y;
        -- Everyone signed every past year; nine in ten have signed this year's.
        with a as (
            insert into agreements (school_id, membership_id, version_id, signed_at,
                                    acknowledgements, content_sha256)
            select m.school_id, m.id, v.id,
                   v.published_at + ((m.id::text < '8') ::int * 3 + (hashtext(m.id::text) & 7)) * interval '1 day',
                   '{{"agree": true}}', v.content_sha256
            from memberships m
            join policy_versions v on v.school_id = m.school_id
            where v.status = 'superseded' or hashtext(m.id::text || v.id::text) % 10 <> 0
            returning id, membership_id
        )
        insert into agreement_personal (agreement_id, full_name, role_stated, ip, user_agent)
            select a.id, 'Person', m.job_title, '10.0.0.1', 'bench'
            from a join memberships m on m.id = a.membership_id;
        insert into reminders (school_id, membership_id, version_id, kind)
            select m.school_id, m.id, v.id, 'scheduled'
            from memberships m join policy_versions v on v.school_id = m.school_id and v.status = 'published'
            where not exists (select 1 from agreements a where a.membership_id = m.id and a.version_id = v.id);
        analyze;
        "#
    ))
    .execute(pool)
    .await?;
    let (agreements,): (i64,) = sqlx::query_as("select count(*) from agreements")
        .fetch_one(pool)
        .await?;
    println!(
        "generated {SCHOOLS} schools, {} people, {} versions, {agreements} agreements in {:.1} s",
        SCHOOLS * PEOPLE_PER_SCHOOL,
        SCHOOLS * YEARS,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn measure(client: &reqwest::Client, url: &str) -> anyhow::Result<Vec<Duration>> {
    // Warm up: the first requests fill PostgreSQL's and the pool's caches.
    for _ in 0..10 {
        client.get(url).send().await?.bytes().await?;
    }
    let mut times = Vec::with_capacity(REQUESTS);
    for _ in 0..REQUESTS {
        let started = Instant::now();
        let response = client.get(url).send().await?;
        anyhow::ensure!(
            response.status() == reqwest::StatusCode::OK,
            "{url}: {}",
            response.status()
        );
        response.bytes().await?;
        times.push(started.elapsed());
    }
    times.sort();
    Ok(times)
}

type Query<'q> = sqlx::query::QueryAs<'q, sqlx::Postgres, (String,), sqlx::postgres::PgArguments>;

/// Prints `EXPLAIN (ANALYZE, BUFFERS)` of a query, run once before to warm the caches.
async fn explain(
    pool: &PgPool,
    title: &str,
    sql: &str,
    bind: impl for<'q> Fn(Query<'q>) -> Query<'q>,
) -> anyhow::Result<()> {
    let query = format!("explain (analyze, buffers, costs off) {sql}");
    bind(sqlx::query_as(&query)).fetch_all(pool).await?;
    let plan = bind(sqlx::query_as(&query)).fetch_all(pool).await?;
    println!("\n{title}:\n\n```");
    for (line,) in plan {
        println!("{line}");
    }
    println!("```");
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let server = std::env::var("BENCH_DATABASE_URL")
        .or_else(|_| std::env::var("TEST_DATABASE_URL"))
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let server = PgConnectOptions::from_str(&server)?;
    let mut admin = PgConnection::connect_with(&server).await?;
    sqlx::query("drop database if exists aup_bench")
        .execute(&mut admin)
        .await?;
    sqlx::query("create database aup_bench")
        .execute(&mut admin)
        .await?;
    let pool = db::connect(server.clone().database("aup_bench")).await?;
    db::migrate(&pool).await?;
    generate(&pool, &password::hash("bench-password".to_owned()).await?).await?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let app = Application::build(Settings::for_base_url(base.clone()), pool.clone(), listener);
    tokio::spawn(app.run_until_stopped(
        std::future::pending(),
        aup_portal::startup::Background::Nothing,
    ));

    // No redirects followed: a redirect to the sign-in page must not pass for a fast dashboard.
    let client = {
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::builder()
    }
    .cookie_store(true)
    .redirect(reqwest::redirect::Policy::none())
    .build()?;
    let signed_in = client
        .post(format!("{base}/sign-in"))
        .form(&[
            ("email", "person1-1@trust.example"),
            ("password", "bench-password"),
        ])
        .send()
        .await?;
    anyhow::ensure!(
        signed_in
            .headers()
            .get("location")
            .is_some_and(|l| l == "/"),
        "sign-in failed: {}",
        signed_in.status()
    );
    let (school_id, version): (uuid::Uuid, uuid::Uuid) = sqlx::query_as(
        "select v.school_id, v.id from policy_versions v join schools s on s.id = v.school_id
         where s.slug = 'school-1' and v.status = 'published'",
    )
    .fetch_one(&pool)
    .await?;

    println!("\n| page | requests | median | p95 | max |\n| --- | --- | --- | --- | --- |");
    for (name, path) in [
        ("dashboard", format!("/s/school-1/compliance/{version}")),
        (
            "CSV export",
            format!("/s/school-1/compliance/{version}/export.csv"),
        ),
        ("people list", "/s/school-1/people".to_owned()),
        // The SBM is a signer too, and signed this year's version or not: either way a 200.
        ("sign page", format!("/s/school-1/versions/{version}/sign")),
    ] {
        let times = measure(&client, &format!("{base}{path}")).await?;
        println!(
            "| {name} | {REQUESTS} | {:.1} ms | {:.1} ms | {:.1} ms |",
            percentile(&times, 0.5).as_secs_f64() * 1000.0,
            percentile(&times, 0.95).as_secs_f64() * 1000.0,
            times[times.len() - 1].as_secs_f64() * 1000.0
        );
    }

    // The very texts the portal runs, explained with the SBM's session.
    let (session_id,): (String,) = sqlx::query_as("select id from sessions")
        .fetch_one(&pool)
        .await?;
    let others: Vec<uuid::Uuid> = sqlx::query_scalar(
        "select o.id from policy_versions o join policy_versions v on v.policy_id = o.policy_id
         where v.id = $1 and o.id <> v.id",
    )
    .bind(version)
    .fetch_all(&pool)
    .await?;
    explain(
        &pool,
        "The query behind the dashboard and the export (one school's signers of one version)",
        include_str!("../src/compliance/signers.sql"),
        |q| q.bind(school_id).bind(version),
    )
    .await?;
    explain(
        &pool,
        "The sign page's query, the first time a version is asked for",
        include_str!("../src/signing/sign_request.sql"),
        |q| {
            q.bind("school-1")
                .bind(session_id.clone())
                .bind(version)
                .bind(true)
        },
    )
    .await?;
    explain(
        &pool,
        "The sign page's query with the version's facts kept in memory (every later request)",
        include_str!("../src/signing/sign_request_kept.sql"),
        |q| {
            q.bind("school-1")
                .bind(session_id.clone())
                .bind(version)
                .bind(true)
                .bind(others.clone())
        },
    )
    .await?;
    pool.close().await;
    sqlx::query("drop database aup_bench")
        .execute(&mut admin)
        .await?;
    Ok(())
}
