//! The first INSET morning of September: every member of staff signs within the same hour,
//! many on phones. The portal (the release binary, as a separate process) and its own
//! PostgreSQL run on this machine, and so does the load: 64 people at once. As on a real
//! portal in its second September, everyone signed last year's version, one statement
//! shorter: the sign page shows what changed, and the agreements table is not empty.
//!
//! Phases: sign-in; the signer's home; the sign page; sign submissions with the SBM's
//! dashboard read throughout; then the same submissions while PostgreSQL is stopped and
//! started again. The two reading phases are driven by wrk with a script that gives each
//! request the next person's page and cookie; the others by this program, which checks each
//! answer and keeps each receipt. For scale, the same run measures wrk on a static file from
//! the same portal, wrk on its `/readyz` (one `select 1` per request), and pgbench inserting
//! one agreement-shaped row into the same PostgreSQL.
//!
//! Run: `cargo bench --bench inset` (needs PostgreSQL's server programs, wrk and pgbench:
//! Debian's postgresql and wrk). Results go in BENCHMARKS.md.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use aup_portal::{auth::session::SignedIn, db, db::cluster::EmbeddedCluster};
use reqwest::{StatusCode, header};
use sqlx::PgPool;
use tower_sessions::{
    SessionStore,
    session::{Id, Record},
};
use uuid::Uuid;

const CLIENTS: usize = 64;
const PHASE: Duration = Duration::from_secs(10);
/// A trust's schools on one portal, each with its staff: enough people that nobody signs
/// twice in the submission phases.
const SCHOOLS: usize = 600;
const STAFF_PER_SCHOOL: usize = 270;
const PEOPLE: usize = SCHOOLS * STAFF_PER_SCHOOL;
const PASSWORD: &str = "correct-horse-battery";
/// SBMs watching their school's dashboard while everyone signs (the first person of each
/// school is its SBM).
const SBMS: usize = 8;

#[derive(Default)]
struct Outcome {
    latencies: Vec<Duration>,
    statuses: HashMap<u16, usize>,
    receipts: Vec<Uuid>,
    errors: usize,
    /// 503s with the portal's "unavailable" page (retried); any other answer is an error.
    unavailable: usize,
    elapsed: Duration,
}

impl Outcome {
    fn ok(&self) -> usize {
        self.latencies.len()
    }

    fn percentile(&self, p: f64) -> f64 {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        if sorted.is_empty() {
            return f64::NAN;
        }
        let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        sorted[index].as_secs_f64() * 1000.0
    }

    fn merge(&mut self, other: Outcome) {
        self.latencies.extend(other.latencies);
        for (status, n) in other.statuses {
            *self.statuses.entry(status).or_default() += n;
        }
        self.receipts.extend(other.receipts);
        self.errors += other.errors;
        self.unavailable += other.unavailable;
    }

    fn figures(&self) -> Figures {
        Figures {
            ok: self.ok(),
            elapsed: self.elapsed,
            p50: self.percentile(0.50),
            p95: self.percentile(0.95),
            p99: self.percentile(0.99),
        }
    }
}

/// What a phase achieved, whichever client drove it: answers as expected, time taken, and
/// latency percentiles in milliseconds.
#[derive(Clone)]
struct Figures {
    ok: usize,
    elapsed: Duration,
    p50: f64,
    p95: f64,
    p99: f64,
}

impl Figures {
    fn rps(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    fn row(&self, name: &str) -> String {
        format!(
            "| {name} | {:.0} | {:.1} | {:.1} | {:.1} | {} |",
            self.rps(),
            self.p50,
            self.p95,
            self.p99,
            self.ok
        )
    }
}

/// One member of staff: their email, their session once they have one, and their school's
/// web address and published version.
#[derive(Clone)]
struct Person {
    email: String,
    full_name: String,
    cookie: Option<String>,
    school: usize,
}

/// What one simulated person does in a phase: one request, for the `n`th person.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    SignIn,
    Home,
    SignPage,
    Submit,
    Dashboard,
}

struct Portal {
    base: String,
    child: Child,
    http: reqwest::Client,
    /// Each school's published version, by school number.
    versions: HashMap<usize, Uuid>,
    sha: String,
    unexpected: Mutex<Option<String>>,
}

impl Portal {
    /// The page `step` asks for, for `person`.
    fn path(&self, step: Step, person: &Person) -> String {
        let school = person.school;
        let version = self.versions.get(&school).copied().unwrap_or_default();
        match step {
            Step::SignIn => "/sign-in".to_owned(),
            Step::Home => format!("/s/school-{school}/"),
            Step::SignPage | Step::Submit => format!("/s/school-{school}/versions/{version}/sign"),
            Step::Dashboard => format!("/s/school-{school}/compliance/{version}"),
        }
    }

    fn request(&self, step: Step, person: &Person) -> reqwest::RequestBuilder {
        let url = format!("{}{}", self.base, self.path(step, person));
        let builder = match step {
            Step::SignIn => self
                .http
                .post(url)
                .form(&[("email", person.email.as_str()), ("password", PASSWORD)]),
            Step::Submit => self
                .http
                .post(url)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(self.form(person)),
            Step::Home | Step::SignPage | Step::Dashboard => self.http.get(url),
        };
        match &person.cookie {
            Some(cookie) => builder.header(header::COOKIE, format!("aup_session={cookie}")),
            None => builder,
        }
    }

    /// `person`'s sign form, filled in as they would: the required ticks, name and role.
    fn form(&self, person: &Person) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("content_sha256", &self.sha)
            .append_pair("ack", "understand")
            .append_pair("ack", "agree")
            .append_pair("full_name", &person.full_name)
            .append_pair("role", "Class teacher")
            .finish()
    }

    /// Peak resident memory of the portal's process so far, in MiB.
    fn peak_memory_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|kb| kb.trim().trim_end_matches(" kB").trim().parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    }
}

/// `clients` people at once, each taking the next person's session from `people` until
/// `duration` is up or nobody is left. A 503 or a lost connection is retried for the same
/// person after a pause, as a person pressing the button again would. With `again`, people
/// come round again, and each client waits that long after each answer before the next.
async fn phase(
    portal: &Arc<Portal>,
    step: Step,
    people: Arc<Vec<Person>>,
    clients: usize,
    duration: Duration,
    again: Option<Duration>,
) -> Outcome {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = vec![];
    for _ in 0..clients {
        let (portal, people, next) = (portal.clone(), people.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut outcome = Outcome::default();
            let mut retry: Option<usize> = None;
            while started.elapsed() < duration {
                let n = match retry.take() {
                    Some(n) => n,
                    None => {
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        if n >= people.len() {
                            if again.is_none() {
                                break;
                            }
                            n % people.len()
                        } else {
                            n
                        }
                    }
                };
                let sent = Instant::now();
                let response = portal.request(step, &people[n]).send().await;
                match response {
                    Ok(response) => {
                        let status = response.status();
                        *outcome.statuses.entry(status.as_u16()).or_default() += 1;
                        let location = response
                            .headers()
                            .get(header::LOCATION)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned);
                        let body = response.bytes().await;
                        // A sign-in counts only when it lets the person in, a submission
                        // only when it leads to the receipt (not, say, back to sign in).
                        let lands = |prefix: &str| {
                            location.as_deref().is_some_and(|l| l.starts_with(prefix))
                        };
                        let good = match step {
                            Step::SignIn => {
                                status == StatusCode::SEE_OTHER
                                    && (lands("/s/") || location.as_deref() == Some("/"))
                            }
                            Step::Submit => {
                                status == StatusCode::SEE_OTHER
                                    && location
                                        .as_deref()
                                        .is_some_and(|l| l.contains("/agreements/"))
                            }
                            _ => status == StatusCode::OK,
                        };
                        // The portal's own answer while its database is away, not anything
                        // else with that status.
                        let unavailable = status == StatusCode::SERVICE_UNAVAILABLE
                            && body.as_ref().is_ok_and(|b| {
                                String::from_utf8_lossy(b)
                                    .contains("Sorry, the portal is unavailable")
                            });
                        if good && body.is_ok() {
                            outcome.latencies.push(sent.elapsed());
                            if let Some(id) = location
                                .as_deref()
                                .and_then(|l| l.rsplit('/').next())
                                .and_then(|id| id.parse().ok())
                            {
                                outcome.receipts.push(id);
                            }
                        } else if unavailable {
                            outcome.unavailable += 1;
                            retry = Some(n);
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        } else {
                            outcome.errors += 1;
                            let mut first = portal.unexpected.lock().expect("lock");
                            if first.is_none() {
                                let body = body.map(|b| String::from_utf8_lossy(&b).into_owned());
                                *first = Some(format!(
                                    "{status}: {}",
                                    body.unwrap_or_default()
                                        .chars()
                                        .take(3000)
                                        .collect::<String>()
                                ));
                            }
                        }
                    }
                    Err(_) => {
                        outcome.errors += 1;
                        retry = Some(n);
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
                if let Some(pause) = again {
                    tokio::time::sleep(pause).await;
                }
            }
            outcome
        }));
    }
    let mut total = Outcome::default();
    for task in tasks {
        total.merge(task.await.expect("client task"));
    }
    total.elapsed = started.elapsed();
    total
}

/// How many of `people` get their page for `step` with a 200, each asked once.
async fn verified(portal: &Arc<Portal>, step: Step, people: &Arc<Vec<Person>>) -> usize {
    let asked = phase(portal, step, people.clone(), CLIENTS, PHASE * 6, None).await;
    asked.latencies.len()
}

/// Sessions made straight in the store, as sign-in would make them, for the people who
/// sign in the submission phases (argon2 would otherwise take most of the benchmark).
async fn sessions_for(pool: &PgPool, people: &[Person]) -> Vec<Person> {
    sessions_seen(pool, people, 0).await
}

/// As `sessions_for`, each session last seen `ago` seconds ago: past the refresh interval,
/// its next page view refreshes the idle timer.
async fn sessions_seen(pool: &PgPool, people: &[Person], ago: i64) -> Vec<Person> {
    let emails: Vec<&str> = people.iter().map(|p| p.email.as_str()).collect();
    let ids: HashMap<String, Uuid> =
        sqlx::query_as::<_, (String, Uuid)>("select email, id from users where email = any($1)")
            .bind(&emails)
            .fetch_all(pool)
            .await
            .expect("users")
            .into_iter()
            .collect();
    let rows: Vec<(Uuid, Person)> = people.iter().map(|p| (ids[&p.email], p.clone())).collect();
    let store = aup_portal::auth::store::PgSessions::new(pool.clone());
    let mut out = Vec::with_capacity(rows.len());
    let mut pending = vec![];
    for chunk in rows.chunks(rows.len().div_ceil(8).max(1)) {
        let chunk = chunk.to_vec();
        let store = store.clone();
        pending.push(tokio::spawn(async move {
            let mut made = vec![];
            for (id, person) in chunk {
                let mut data = HashMap::new();
                data.insert(
                    "auth".to_owned(),
                    serde_json::to_value(SignedIn::new(
                        id,
                        0,
                        time::OffsetDateTime::now_utc().unix_timestamp() - ago,
                    ))
                    .expect("json"),
                );
                let mut record = Record {
                    id: Id::default(),
                    data,
                    expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(12),
                };
                store.create(&mut record).await.expect("session");
                made.push(Person {
                    cookie: Some(record.id.to_string()),
                    ..person
                });
            }
            made
        }));
    }
    for task in pending {
        out.extend(task.await.expect("sessions"));
    }
    out
}

fn start_portal(database_url: &str, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_aup-portal"))
        .arg("serve")
        .env("DATABASE_URL", database_url)
        .env("AUP_BIND", format!("127.0.0.1:{port}"))
        .env("AUP_ATTEMPTS_PER_MINUTE", "off")
        .env(
            "AUP_SECRET_KEY_FILE",
            std::env::temp_dir().join("aup-inset-bench-secret.key"),
        )
        .env("RUST_LOG", "error")
        .env_remove("SMTP_URL")
        .stdout(Stdio::null())
        .spawn()
        .expect("start the portal")
}

async fn seed(pool: &PgPool) {
    aup_portal::demo::seed(pool, PASSWORD)
        .await
        .expect("demo school");
    // Each school publishes the Cranbrook AUP as its own; the first of its staff is its SBM.
    sqlx::raw_sql(&format!(
        r#"
        insert into schools (slug, name, require_two_factor)
            select 'school-' || s, 'School ' || s, false from generate_series(0, {SCHOOLS} - 1) s;
        insert into users (email, full_name, signing_name, surname, password_hash)
            select 'staff' || p || '@school' || s || '.example', 'Staff Member ' || s || '-' || p,
                   'Staff Member ' || s || '-' || p, s || '-' || p,
                   (select password_hash from users where email = 'staff@cranbrook.example')
            from generate_series(0, {SCHOOLS} - 1) s, generate_series(1, {STAFF_PER_SCHOOL}) p;
        insert into memberships (user_id, school_id, grp, job_title, roles)
            select u.id, sc.id, 'staff',
                   (array['Class teacher', 'Teaching assistant', 'Office manager', 'Site manager'])[1 + p % 4],
                   case when p = 1 then '{{signer,sbm}}'::text[] else '{{signer}}'::text[] end
            from generate_series(0, {SCHOOLS} - 1) s cross join generate_series(1, {STAFF_PER_SCHOOL}) p
            join users u on u.email = 'staff' || p || '@school' || s || '.example'
            join schools sc on sc.slug = 'school-' || s;
        insert into policies (school_id, name, audience)
            select id, 'Staff and Governors AUP', '{{staff,governor}}' from schools where slug like 'school-%';
        insert into policy_versions (policy_id, school_id, label, title, body_md, acknowledgements,
                                     signature_fields, reviewed_on, next_review_due, reviewed_by,
                                     status, published_at, content_sha256)
            select p.id, p.school_id, v.label, v.title, v.body_md, v.acknowledgements,
                   v.signature_fields, v.reviewed_on, v.next_review_due, v.reviewed_by,
                   'published', now(), v.content_sha256
            from policies p join schools sc on sc.id = p.school_id and sc.slug like 'school-%',
                 policy_versions v join policies cp on cp.id = v.policy_id
            where cp.name = 'Staff and Governors AUP' and v.status = 'published';
        -- Last September's version, one statement shorter, which all of each school's staff
        -- signed: this morning everyone signs again, and the sign page shows what changed.
        insert into policy_versions (policy_id, school_id, label, title, body_md, acknowledgements,
                                     signature_fields, reviewed_on, next_review_due, reviewed_by,
                                     status, published_at, content_sha256)
            select v.policy_id, v.school_id, 'Last year', v.title, o.body_md, v.acknowledgements,
                   v.signature_fields, v.reviewed_on - 365, v.next_review_due - 365, v.reviewed_by,
                   'superseded', now() - interval '1 year',
                   encode(sha256(convert_to(o.body_md, 'UTF8')), 'hex')
            from policy_versions v join schools sc on sc.id = v.school_id and sc.slug like 'school-%',
                 lateral (select replace(v.body_md, E'- I will not identify myself as a representative of the school\n', '')
                          as body_md) o
            where v.status = 'published';
        with a as (
            insert into agreements (school_id, membership_id, version_id, signed_at,
                                    acknowledgements, content_sha256)
            select m.school_id, m.id, v.id, v.published_at + interval '1 hour', '{{}}',
                   v.content_sha256
            from memberships m
            join policy_versions v on v.school_id = m.school_id and v.status = 'superseded'
            returning id, membership_id
        )
        insert into agreement_personal (agreement_id, full_name, role_stated, ip, user_agent)
            select a.id, u.full_name, m.job_title, '127.0.0.1', 'INSET benchmark seed'
            from a join memberships m on m.id = a.membership_id join users u on u.id = m.user_id;
        "#
    ))
    .execute(pool)
    .await
    .expect("schools");
}

/// Lets the database come to rest after a bulk load, as a school's would have long before
/// the morning: tables vacuumed and analysed, dirty pages written. Otherwise autovacuum and
/// the checkpointer would work through the next phase and take its cores.
async fn settle(pool: &PgPool) {
    for statement in ["vacuum analyze", "checkpoint"] {
        sqlx::raw_sql(statement)
            .execute(pool)
            .await
            .expect("vacuum and checkpoint");
    }
}

/// Everyone, in an order that takes one person from each school in turn.
fn everyone() -> Vec<Person> {
    (0..PEOPLE)
        .map(|n| Person {
            email: format!("staff{}@school{}.example", 1 + n / SCHOOLS, n % SCHOOLS),
            full_name: format!("Staff Member {}-{}", n % SCHOOLS, 1 + n / SCHOOLS),
            cookie: None,
            school: n % SCHOOLS,
        })
        .collect()
}

/// CPU seconds used so far by the portal, by PostgreSQL (the server and its backends) and by
/// this program, which plays the clients.
#[derive(Clone, Copy, Default)]
struct Cpu {
    portal: f64,
    postgres: f64,
    clients: f64,
}

impl Cpu {
    fn now(portal: u32, cluster_dir: &Path) -> Cpu {
        let postmaster = std::fs::read_to_string(cluster_dir.join("postgres/postmaster.pid"))
            .ok()
            .and_then(|text| text.lines().next()?.trim().parse::<u32>().ok());
        let postgres = postmaster.map_or(0.0, |pid| {
            // The server, the children it has reaped, and its live backends.
            let (own, reaped) = process_cpu(pid);
            own + reaped
                + children(pid)
                    .into_iter()
                    .map(|c| process_cpu(c).0)
                    .sum::<f64>()
        });
        Cpu {
            portal: process_cpu(portal).0,
            postgres,
            // This program and the wrk runs it has waited for.
            clients: {
                let (own, reaped) = process_cpu(std::process::id());
                own + reaped
            },
        }
    }

    fn since(self, before: Cpu) -> Cpu {
        Cpu {
            portal: self.portal - before.portal,
            postgres: self.postgres - before.postgres,
            clients: self.clients - before.clients,
        }
    }

    /// Share of the machine's cores, then CPU microseconds per request, for each of the three.
    fn row(&self, name: &str, figures: &Figures) -> String {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as f64;
        let seconds = figures.elapsed.as_secs_f64();
        let share = |cpu: f64| 100.0 * cpu / seconds / cores;
        let per = |cpu: f64| 1e6 * cpu / figures.ok.max(1) as f64;
        format!(
            "| {name} | {:.0}% | {:.0}% | {:.0}% | {:.0} | {:.0} | {:.0} |",
            share(self.portal),
            share(self.postgres),
            share(self.clients),
            per(self.portal),
            per(self.postgres),
            per(self.clients)
        )
    }
}

/// (CPU seconds of the process itself, of its reaped children), from /proc.
fn process_cpu(pid: u32) -> (f64, f64) {
    let ticks = 100.0; // USER_HZ on Linux
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<f64> = stat
        .rsplit_once(") ")
        .map(|(_, rest)| {
            rest.split_whitespace()
                .map(|f| f.parse().unwrap_or(0.0))
                .collect()
        })
        .unwrap_or_default();
    let at = |i: usize| fields.get(i).copied().unwrap_or(0.0) / ticks;
    // Fields 14 to 17 of stat: utime, stime, cutime, cstime (11 to 14 after the name).
    (at(11) + at(12), at(13) + at(14))
}

fn children(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| {
                    let rest = stat.rsplit_once(") ")?.1.to_owned();
                    rest.split_whitespace().nth(1)?.parse::<u32>().ok()
                })
                == Some(parent)
        })
        .collect()
}

/// Rows PostgreSQL has written so far: in the whole database (its own catalogue included,
/// where autoanalyze keeps its statistics), and in each of the portal's tables.
async fn rows_written(pool: &PgPool) -> (i64, HashMap<String, i64>) {
    // A backend that goes idle reports its counts within 10 s (PGSTAT_IDLE_INTERVAL).
    tokio::time::sleep(Duration::from_secs(11)).await;
    let total = sqlx::query_scalar(
        "select (tup_inserted + tup_updated + tup_deleted)::bigint from pg_stat_database where datname = current_database()",
    )
    .fetch_one(pool)
    .await
    .expect("stats");
    let tables = sqlx::query_as::<_, (String, i64)>(
        "select relname::text, (n_tup_ins + n_tup_upd + n_tup_del)::bigint from pg_stat_user_tables",
    )
        .fetch_all(pool)
        .await
        .expect("table stats");
    (total, tables.into_iter().collect())
}

/// argon2 alone on every core for as long as a phase: password checks a second, the ceiling
/// for sign-in. This machine's speed drifts, so it is measured just before the sign-in phase
/// and just after, and the two are averaged.
async fn argon2_limit(pool: &PgPool) -> f64 {
    let hash: Option<String> = sqlx::query_scalar(
        "select password_hash from users where email = 'staff@cranbrook.example'",
    )
    .fetch_one(pool)
    .await
    .expect("hash");
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let started = Instant::now();
    let done = Arc::new(AtomicUsize::new(0));
    let mut tasks = vec![];
    for _ in 0..cores {
        let (hash, done) = (hash.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            while started.elapsed() < PHASE {
                let ok = aup_portal::auth::password::verify(hash.clone(), PASSWORD.to_owned())
                    .await
                    .expect("verify");
                assert!(ok);
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for task in tasks {
        task.await.expect("argon2");
    }
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

fn wrk(url: &str) -> (f64, String) {
    let out = Command::new("wrk")
        .args(["-t2", &format!("-c{CLIENTS}"), "-d10s", "--latency", url])
        .output()
        .expect("wrk (Debian package wrk)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let rps = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(f64::NAN);
    let p99 = text
        .lines()
        .find(|l| l.trim_start().starts_with("99%"))
        .map(|l| l.trim().trim_start_matches("99%").trim().to_owned())
        .unwrap_or_default();
    (rps, p99)
}

/// A reading phase driven by wrk, which spends far less CPU per request than this program's
/// client would: 64 connections, each request the next person's page with their session
/// cookie, the requests written out once before the clock starts. wrk counts any answer from
/// 400 up as a failure; a redirect (to sign in, say) it would not, so `verified` checks each
/// person's page for a 200 before and after the phase.
fn wrk_phase(portal: &Portal, step: Step, people: &[Person], dir: &Path) -> (Figures, usize) {
    let script = dir.join("reading.lua");
    std::fs::write(
        &script,
        format!(
            r#"local paths = {{ {paths} }}
local cookies = {{ {cookies} }}
local n = #paths
local prepared = {{}}
local threads = {{}}
function setup(thread)
  table.insert(threads, thread)
  thread:set("start", #threads * 997)
end
function init(args)
  for k = 1, n do
    prepared[k] = wrk.format("GET", paths[k], {{ ["Cookie"] = "aup_session=" .. cookies[k] }})
  end
  i = start % n
end
function request()
  i = i % n + 1
  return prepared[i]
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %.0f %.0f %.0f\n", summary.requests,
    summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"#,
            paths = lua_list(people.iter().map(|p| portal.path(step, p)).collect()),
            cookies = lua_list(
                people
                    .iter()
                    .map(|p| p.cookie.clone().unwrap_or_default())
                    .collect()
            ),
        ),
    )
    .expect("wrk script");
    run_wrk(&script, &portal.base)
}

/// `items` as the body of a Lua table of strings.
fn lua_list(items: Vec<String>) -> String {
    items
        .iter()
        .map(|item| format!("{item:?}"))
        .collect::<Vec<_>>()
        .join(",\n")
}

/// Runs wrk with `script` for one phase, whose `done` writes after "RESULT" the requests,
/// the time taken, the failed answers, the socket errors and the three percentiles: the
/// phase's figures and its failures.
fn run_wrk(script: &Path, base: &str) -> (Figures, usize) {
    let out = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{CLIENTS}"),
            &format!("-d{}s", PHASE.as_secs()),
        ])
        .args(["--timeout", "10s", "-s"])
        .arg(script)
        .arg(base)
        .output()
        .expect("wrk (Debian package wrk)");
    let text = String::from_utf8_lossy(&out.stdout);
    let numbers: Vec<f64> = text
        .lines()
        .find_map(|line| line.strip_prefix("RESULT "))
        .map(|rest| {
            rest.split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    let at = |i: usize| numbers.get(i).copied().unwrap_or(f64::NAN);
    let (requests, bad, errors) = (at(0) as usize, at(2) as usize, at(3) as usize);
    (
        Figures {
            ok: requests.saturating_sub(bad),
            elapsed: Duration::from_micros(at(1) as u64),
            p50: at(4) / 1000.0,
            p95: at(5) / 1000.0,
            p99: at(6) / 1000.0,
        },
        bad + errors,
    )
}

/// Sign submissions driven by wrk: each request the next person's filled-in form, written out
/// once before the clock starts, each person once (wrk's two threads take alternate people).
/// Only a 303 to a receipt counts; every receipt seen is kept, to be looked for afterwards.
fn wrk_submit(portal: &Portal, people: &[Person], dir: &Path) -> (Figures, Vec<Uuid>, usize) {
    let receipts_file = dir.join("receipts.txt");
    let script = dir.join("submit.lua");
    std::fs::write(
        &script,
        format!(
            r#"local paths = {{ {paths} }}
local cookies = {{ {cookies} }}
local bodies = {{ {bodies} }}
local n = #paths
local prepared = {{}}
local threads = {{}}
function setup(thread)
  table.insert(threads, thread)
  thread:set("first", #threads)
end
function init(args)
  for k = first, n, 2 do
    prepared[k] = wrk.format("POST", paths[k], {{
      ["Cookie"] = "aup_session=" .. cookies[k],
      ["Content-Type"] = "application/x-www-form-urlencoded" }}, bodies[k])
  end
  i = first
  bad = 0
  seen = 0
  receipts = {{}}
end
function request()
  local k = i
  i = i + 2
  if k > n then k = first end
  return prepared[k]
end
function response(status, headers, body)
  local location = headers["location"] or headers["Location"]
  if status == 303 and location and location:find("/agreements/", 1, true) then
    seen = seen + 1
    receipts[seen] = location
  else
    bad = bad + 1
  end
end
function done(summary, latency, requests)
  local b = 0
  local out = io.open({receipts_file:?}, "w")
  for _, t in ipairs(threads) do
    b = b + t:get("bad")
    for _, r in ipairs(t:get("receipts")) do out:write(r, "\n") end
  end
  out:close()
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %.0f %.0f %.0f\n", summary.requests,
    summary.duration, b, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"#,
            paths = lua_list(
                people
                    .iter()
                    .map(|p| portal.path(Step::Submit, p))
                    .collect()
            ),
            cookies = lua_list(
                people
                    .iter()
                    .map(|p| p.cookie.clone().unwrap_or_default())
                    .collect()
            ),
            bodies = lua_list(people.iter().map(|p| portal.form(p)).collect()),
            receipts_file = receipts_file.display().to_string(),
        ),
    )
    .expect("wrk script");
    let (figures, failed) = run_wrk(&script, &portal.base);
    let receipts = std::fs::read_to_string(&receipts_file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.rsplit('/').next()?.parse().ok())
        .collect();
    (figures, receipts, failed)
}

fn pgbench(socket: &Path, password: &str, dir: &Path) -> f64 {
    let script = dir.join("agreement.sql");
    std::fs::write(
        &script,
        "with a as (insert into bench_agreements (school_id, membership_id, version_id, acknowledgements, content_sha256)\n\
         values (gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), '{\"understand\": true, \"agree\": true, \"wish\": false}', '6c2a8a4c1f0e4d2b9b1d7e3f5a6c8e0f1a2b3c4d5e6f708192a3b4c5d6e7f809') returning id)\n\
         insert into bench_agreement_personal (agreement_id, full_name, role_stated, ip, user_agent)\n\
         select id, 'Pat Example', 'Class teacher', '127.0.0.1', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)' from a;\n",
    )
    .expect("pgbench script");
    let out = Command::new("pgbench")
        .args(["-n", &format!("-c{CLIENTS}"), "-j2", "-T10", "-f"])
        .arg(&script)
        .arg("-h")
        .arg(socket)
        .args(["-U", "aup", "aup"])
        .env("PGPASSWORD", password)
        .output()
        .expect("pgbench (Debian package postgresql-contrib or postgresql)");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("tps = "))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

/// The limits the phases are compared with: wrk on a static file and on `/readyz`, and
/// pgbench's plain insert. Measured before the phases and after, as this machine drifts.
#[derive(Clone, Copy)]
struct Limits {
    static_rps: f64,
    ready_rps: f64,
    insert_tps: f64,
}

/// Also the CPU the `/readyz` run used.
fn limits(
    base: &str,
    socket: &Path,
    password: &str,
    (dir, portal_pid): (&Path, u32),
    when: &str,
) -> (Limits, Cpu) {
    let (static_rps, static_p99) = wrk(&format!("{base}/static/app.css"));
    println!("{when}: wrk, static file: {static_rps:.0} requests/s, p99 {static_p99}");
    // The floor for any page that reads the database: one `select 1` through the portal's
    // pool and middleware, no session, no template.
    let at = Cpu::now(portal_pid, dir);
    let (ready_rps, ready_p99) = wrk(&format!("{base}/readyz"));
    let ready_cpu = Cpu::now(portal_pid, dir).since(at);
    println!("{when}: wrk, /readyz (one select 1): {ready_rps:.0} requests/s, p99 {ready_p99}");
    let insert_tps = pgbench(socket, password, dir);
    println!("{when}: pgbench, one plain agreement-shaped insert: {insert_tps:.0} tps");
    (
        Limits {
            static_rps,
            ready_rps,
            insert_tps,
        },
        ready_cpu,
    )
}

async fn start_cluster(dir: PathBuf) -> EmbeddedCluster {
    tokio::task::spawn_blocking(move || EmbeddedCluster::start(&dir))
        .await
        .expect("start")
        .expect("PostgreSQL")
}

#[tokio::main]
async fn main() {
    let dir = PathBuf::from(format!("/tmp/aup-inset-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut cluster = Some(start_cluster(dir.clone()).await);
    let database_url = {
        let cluster = cluster.as_ref().expect("cluster");
        cluster.ensure_database().await.expect("database");
        cluster.database_url()
    };
    let socket = cluster.as_ref().expect("cluster").socket_dir().to_owned();
    let pool = db::connect(database_url.parse().expect("url"))
        .await
        .expect("connect");
    db::migrate(&pool).await.expect("migrate");
    let seeding = Instant::now();
    seed(&pool).await;
    // Last year's agreements were sealed long ago.
    aup_portal::seal::seal_all(&pool).await.expect("seal");
    settle(&pool).await;
    println!("Seeded {PEOPLE} staff in {:.1?}", seeding.elapsed());

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let child = start_portal(&database_url, port);
    let child_pid = child.id();
    let base = format!("http://127.0.0.1:{port}");
    let http = {
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::builder()
    }
    .redirect(reqwest::redirect::Policy::none())
    .pool_max_idle_per_host(CLIENTS * 2)
    .build()
    .expect("client");
    for _ in 0..100 {
        if http
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let published: Vec<(String, Uuid, String)> = sqlx::query_as(
        "select s.slug, v.id, v.content_sha256 from policy_versions v join schools s on s.id = v.school_id
         where s.slug like 'school-%' and v.status = 'published'",
    )
    .fetch_all(&pool)
    .await
    .expect("versions");
    let sha = published[0].2.clone();
    let versions = published
        .into_iter()
        .filter_map(|(slug, id, _)| Some((slug.strip_prefix("school-")?.parse().ok()?, id)))
        .collect();
    let portal = Arc::new(Portal {
        base: base.clone(),
        child,
        http,
        versions,
        sha,
        unexpected: Mutex::default(),
    });

    // What goes wrong is collected, and fails the run at the end (after the clean-up).
    let mut problems: Vec<String> = vec![];
    // pgbench's tables: the agreements' and their personal fields' columns, defaults, checks
    // and indexes, but not their triggers or foreign keys, and one agreement per statement
    // where the portal writes batches. Its ratio is to a plain insert, not to the writer.
    sqlx::raw_sql(
        "create table bench_agreements (like agreements including all);
         create table bench_agreement_personal (like agreement_personal including all);",
    )
    .execute(&pool)
    .await
    .expect("bench table");
    let (limits_before, _) = limits(
        &base,
        &socket,
        cluster.as_ref().expect("cluster").owner_password(),
        (&dir, child_pid),
        "before",
    );
    settle(&pool).await;

    let argon2_before = argon2_limit(&pool).await;
    println!("argon2 alone, before sign-in: {argon2_before:.0} checks/s");

    // Sign-in: real passwords, each person once.
    let people = everyone();
    let portal_pid = portal.child.id();
    let mut cpu = vec![];
    let before = Cpu::now(portal_pid, &dir);
    let sign_in = phase(
        &portal,
        Step::SignIn,
        Arc::new(people[..20_000].to_vec()),
        CLIENTS,
        PHASE,
        None,
    )
    .await;
    let sign_in = sign_in.figures();
    println!("{}", sign_in.row("sign-in"));
    cpu.push(Cpu::now(portal_pid, &dir).since(before));
    println!("peak memory so far: {:.1} MiB", portal.peak_memory_mib());
    let argon2_after = argon2_limit(&pool).await;
    println!("argon2 alone, after sign-in: {argon2_after:.0} checks/s");
    let argon2 = (argon2_before + argon2_after) / 2.0;

    // Reading: the home page and the sign page, by people already signed in.
    // Last seen two minutes ago, past the minute between refreshes: each session's first
    // view refreshes its idle timer (one write), and the claim "at most once a minute" is
    // tested with the refresh happening.
    let readers = Arc::new(sessions_seen(&pool, &people[20_000..20_000 + 2_000], 120).await);
    settle(&pool).await;
    let before = rows_written(&pool).await;
    let reading_started = Instant::now();
    let mut reading = vec![];
    for step in [Step::Home, Step::SignPage] {
        let before = verified(&portal, step, &readers).await;
        let at = Cpu::now(portal_pid, &dir);
        let (figures, failed) = wrk_phase(&portal, step, &readers, &dir);
        cpu.push(Cpu::now(portal_pid, &dir).since(at));
        let after = verified(&portal, step, &readers).await;
        let name = if step == Step::Home {
            "home"
        } else {
            "sign page"
        };
        println!(
            "{} failed: {failed}; pages answered 200 before {before}, after {after} of {}",
            figures.row(name),
            readers.len()
        );
        if before != readers.len() || after != readers.len() || failed != 0 {
            problems.push(format!(
                "{name}: {failed} failed; {before} and {after} of {} pages answered 200 before and after",
                readers.len()
            ));
        }
        reading.push(figures);
    }
    let (home, sign_page) = (reading[0].clone(), reading[1].clone());
    println!("peak memory so far: {:.1} MiB", portal.peak_memory_mib());
    let after = rows_written(&pool).await;
    let written = after.0 - before.0;
    let by_table: Vec<String> = after
        .1
        .iter()
        .filter_map(|(table, n)| {
            let n = n - before.1.get(table).copied().unwrap_or(0);
            (n != 0).then(|| format!("{table} {n}"))
        })
        .collect();
    let views = home.ok + sign_page.ok;
    let reading_minutes = reading_started.elapsed().as_secs_f64() / 60.0;
    let refreshed = after.1.get("sessions").copied().unwrap_or(0)
        - before.1.get("sessions").copied().unwrap_or(0);
    let allowed = (readers.len() as f64 * (1.0 + reading_minutes.ceil())) as i64;
    println!(
        "session refreshes: {refreshed} for {} sessions over {:.1} minutes (at most once a minute allows {allowed})",
        readers.len(),
        reading_minutes
    );
    if refreshed < readers.len() as i64 || refreshed > allowed {
        problems.push(format!(
            "session refreshes: {refreshed}, outside {} (each refreshed) to {allowed} (once a minute)",
            readers.len()
        ));
    }
    println!(
        "{views} page views by {} sessions over {:.0} s wrote {written} rows; in the portal's \
         tables: {}",
        readers.len(),
        (home.elapsed + sign_page.elapsed).as_secs_f64(),
        if by_table.is_empty() {
            "none".to_owned()
        } else {
            by_table.join(", ")
        }
    );

    // Signing, with SBMs watching their dashboards: eight schools' SBMs, each reloading four
    // times a second, 32 dashboards a second. That is the load of every one of the 600
    // schools' SBMs reloading every 20 seconds. 90,000 signers: more than 9,000 a second
    // would run out of people who have not signed.
    let signers = Arc::new(sessions_for(&pool, &people[30_000..120_000]).await);
    let sbm = Arc::new(sessions_for(&pool, &people[..SBMS]).await);
    settle(&pool).await;
    let at = Cpu::now(portal_pid, &dir);
    let submitting = {
        let (portal, signers, dir) = (portal.clone(), signers.clone(), dir.clone());
        tokio::task::spawn_blocking(move || wrk_submit(&portal, &signers, &dir))
    };
    let (submitted, dashboard) = tokio::join!(
        submitting,
        phase(
            &portal,
            Step::Dashboard,
            sbm,
            SBMS,
            PHASE,
            Some(Duration::from_millis(250))
        )
    );
    let (submit, submit_receipts, submit_failed) = submitted.expect("wrk");
    cpu.push(Cpu::now(portal_pid, &dir).since(at));
    println!(
        "{} failed: {submit_failed}; receipts seen {}",
        submit.row("sign submission"),
        submit_receipts.len()
    );
    if submit_failed != 0 || submit_receipts.len() != submit.ok {
        problems.push(format!(
            "sign submission: {submit_failed} failed, {} receipts seen for {} counted",
            submit_receipts.len(),
            submit.ok
        ));
    }
    let dashboard_errors = dashboard.errors;
    if dashboard_errors != 0 {
        problems.push(format!(
            "SBM dashboard: {dashboard_errors} unexpected answers"
        ));
    }
    println!(
        "{}",
        dashboard.figures().row("SBM dashboard, during signing")
    );
    if let Some(first) = portal.unexpected.lock().expect("lock").take() {
        println!("first unexpected answer: {first}");
    }
    println!("peak memory so far: {:.1} MiB", portal.peak_memory_mib());

    // The same, with PostgreSQL stopped 3 s in and started again 3 s later.
    let drill_people = Arc::new(sessions_for(&pool, &people[120_000..]).await);
    pool.close().await;
    let down_for = Arc::new(Mutex::new(None));
    let restarting = {
        let dir = dir.clone();
        let down_for = down_for.clone();
        let mut held = cluster.take();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(3)).await;
            let at = Instant::now();
            if let Some(cluster) = held.take() {
                tokio::task::spawn_blocking(move || cluster.stop().expect("stop"))
                    .await
                    .expect("stop");
            }
            tokio::time::sleep(Duration::from_secs(3)).await;
            let cluster = start_cluster(dir).await;
            *down_for.lock().expect("lock") = Some(at.elapsed());
            cluster
        })
    };
    let drill = phase(
        &portal,
        Step::Submit,
        drill_people,
        CLIENTS,
        Duration::from_secs(15),
        None,
    )
    .await;
    cluster = Some(restarting.await.expect("restart"));
    let pool = db::connect(database_url.parse().expect("url"))
        .await
        .expect("connect again");
    println!(
        "{}",
        drill.figures().row("sign submission, PostgreSQL restarted")
    );
    println!(
        "drill statuses: {:?}, 503s with the unavailable page {}, other errors {}, database down for {:.1?}",
        drill.statuses,
        drill.unavailable,
        drill.errors,
        down_for.lock().expect("lock")
    );
    let unexplained_503 = drill.statuses.get(&503).copied().unwrap_or(0) - drill.unavailable;
    if unexplained_503 != 0 {
        problems.push(format!(
            "drill: {unexplained_503} 503s without the unavailable page"
        ));
    }
    let receipts: Vec<Uuid> = submit_receipts
        .iter()
        .chain(&drill.receipts)
        .copied()
        .collect();
    let found: i64 = sqlx::query_scalar("select count(*) from agreements where id = any($1)")
        .bind(&receipts)
        .fetch_one(&pool)
        .await
        .expect("count");
    let duplicated: i64 = sqlx::query_scalar(
        "select count(*) from (select 1 from agreements group by membership_id, version_id having count(*) > 1) d",
    )
    .fetch_one(&pool)
    .await
    .expect("duplicates");
    let total: i64 = sqlx::query_scalar(
        "select count(*) from agreement_personal where full_name like 'Staff Member %'",
    )
    .fetch_one(&pool)
    .await
    .expect("total");
    // Every successful submission's agreement is in the database, each once; the new
    // agreements beyond the receipts seen are those whose answer a cut connection lost.
    let new_agreements = total - PEOPLE as i64;
    println!(
        "receipts seen {}, of them in the database {found}; new agreements {new_agreements}; duplicated {duplicated}",
        receipts.len()
    );
    if found != receipts.len() as i64 || duplicated != 0 || new_agreements < found {
        problems.push(format!(
            "agreements: {} receipts seen, {found} in the database, {new_agreements} new, {duplicated} duplicated",
            receipts.len()
        ));
    }

    // The limits again, after the phases.
    let (limits_after, ready_cpu) = limits(
        &base,
        &socket,
        cluster.as_ref().expect("cluster").owner_password(),
        (&dir, portal_pid),
        "after",
    );
    let mean = |f: fn(&Limits) -> f64| (f(&limits_before) + f(&limits_after)) / 2.0;
    let wrk_rps = mean(|l| l.static_rps);
    let ready_rps = mean(|l| l.ready_rps);
    let pg_rps = mean(|l| l.insert_tps);
    let peak = portal.peak_memory_mib();
    let dashboard = dashboard.figures();

    println!();
    println!(
        "| Step | Requests/s | p50 ms | p95 ms | p99 ms | Requests | Of wrk | Of a plain insert | Of /readyz |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (name, outcome) in [
        ("Sign-in", &sign_in),
        ("Signer's home", &home),
        ("Sign page", &sign_page),
        ("Sign submission", &submit),
        ("SBM dashboard, during signing", &dashboard),
    ] {
        println!(
            "{} {:.1}% | {:.1}% | {:.1}% |",
            outcome.row(name),
            100.0 * outcome.rps() / wrk_rps,
            100.0 * outcome.rps() / pg_rps,
            100.0 * outcome.rps() / ready_rps
        );
    }
    println!();
    println!(
        "| Step | Portal | PostgreSQL | Clients | Portal µs/request | PostgreSQL µs/request | Clients µs/request |"
    );
    println!("|---|---|---|---|---|---|---|");
    for ((name, outcome), used) in [
        ("Sign-in", &sign_in),
        ("Signer's home", &home),
        ("Sign page", &sign_page),
        ("Sign submission, with the SBM's dashboard", &submit),
    ]
    .into_iter()
    .zip(&cpu)
    {
        println!("{}", used.row(name, outcome));
    }
    let ready = Figures {
        ok: (ready_rps * PHASE.as_secs_f64()) as usize,
        elapsed: PHASE,
        p50: f64::NAN,
        p95: f64::NAN,
        p99: f64::NAN,
    };
    println!("{}", ready_cpu.row("/readyz (wrk)", &ready));
    println!();
    println!(
        "Sign-in: {:.1}% of argon2 alone ({:.1}/s against {argon2:.1}/s: {argon2_before:.1}/s \
         before, {argon2_after:.1}/s after)",
        100.0 * sign_in.rps() / argon2,
        sign_in.rps()
    );
    println!("Peak memory of the portal: {peak:.1} MiB");
    println!(
        "Rows written per page view: {:.4} ({written} rows, {views} views)",
        written as f64 / views.max(1) as f64
    );

    if let Ok(mut portal) = Arc::try_unwrap(portal) {
        let _ = portal.child.kill();
        let _ = portal.child.wait();
    }
    if let Some(cluster) = cluster {
        let _ = cluster.stop();
    }
    let _ = std::fs::remove_dir_all(&dir);
    if !problems.is_empty() {
        eprintln!("\nThe run does not hold what BENCHMARKS.md says:");
        for problem in &problems {
            eprintln!("- {problem}");
        }
        std::process::exit(1);
    }
}
