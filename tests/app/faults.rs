//! When things go wrong: the database going away and coming back, the portal told to stop,
//! and two portals sharing one database.

use std::{
    collections::BTreeMap,
    io::{Read, Write},
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use aup_portal::{db, startup::Application, state::Settings};
use reqwest::StatusCode;
use sqlx::postgres::PgConnectOptions;
use tokio::{net::TcpListener, task::AbortHandle};

use crate::{
    cli::{Running, portal},
    helpers::*,
};

/// A TCP link between the portal and PostgreSQL that the test can cut, as a database restart
/// or a network fault would: open connections are dropped and new ones refused until restored.
struct Link {
    port: u16,
    up: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<AbortHandle>>>,
}

impl Link {
    async fn to(target: SocketAddr) -> Link {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let open: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let (up2, open2) = (up.clone(), open.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !up2.load(Ordering::SeqCst) {
                    continue;
                }
                let task = tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                open2.lock().unwrap().push(task.abort_handle());
            }
        });
        Link { port, up, open }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for task in self.open.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn while_the_database_is_away_pages_say_so_and_the_portal_recovers_by_itself() {
    let seeded = spawn_app().await;
    let url = url::Url::parse(&server_url()).unwrap();
    let target: SocketAddr = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432))
        .parse()
        .unwrap();
    let database: String = sqlx::query_scalar("select current_database()")
        .fetch_one(&seeded.pool)
        .await
        .unwrap();
    let link = Link::to(target).await;
    let options: PgConnectOptions = server_url().parse::<PgConnectOptions>().unwrap();
    let pool = db::connect(
        options
            .host("127.0.0.1")
            .port(link.port)
            .database(&database),
    )
    .await
    .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let portal_pool = pool.clone();
    let app = Application::build(Settings::for_base_url(address.clone()), pool, listener);
    tokio::spawn(app.run_until_stopped(
        std::future::pending(),
        aup_portal::startup::Background::Nothing,
    ));
    let app = TestApp {
        address,
        pool: seeded.pool.clone(),
        client: client(),
        secret: std::sync::Arc::new(aup_portal::secret_key::SecretKey::generate(1)),
    };
    app.sign_in(STAFF).await;
    let version = app.version_id(CRANBROOK).await;
    let form = cranbrook_signature(&app).await;
    let sign = format!("/s/cranbrook/versions/{version}/sign");
    // A busy moment just before: the pool holds several connections, all of which the
    // outage kills, and none of which may be handed to anyone once the database is back.
    let size = aup_portal::db::connections();
    let busy = futures::future::try_join_all((0..size).map(|_| portal_pool.acquire()))
        .await
        .unwrap();
    drop(busy);
    // Connections go back to the pool in tasks of their own (up to 10 s on a loaded machine).
    for _ in 0..1000 {
        if portal_pool.num_idle() >= size as usize {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        portal_pool.num_idle() >= size as usize,
        "{}",
        portal_pool.num_idle()
    );

    link.cut();
    let started = Instant::now();
    let home = app.get("/s/cranbrook/").await;
    assert_eq!(home.status, StatusCode::SERVICE_UNAVAILABLE);
    home.assert_contains("Sorry, the portal is unavailable");
    home.assert_contains("Please try again in a minute");
    assert_eq!(home.headers["retry-after"], "30");
    let signed = app.post(&sign, &as_form(&form)).await;
    assert_eq!(signed.status, StatusCode::SERVICE_UNAVAILABLE);
    signed.assert_contains("Nothing you entered has been saved");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "each answer within the pool's 5-second wait"
    );
    assert_eq!(app.count("select count(*) from agreements").await, 0);

    link.restore();
    let home = app.get("/s/cranbrook/").await;
    assert_eq!(home.status, StatusCode::OK, "back without a restart");
    home.assert_contains("Read and sign");
    let signed = app.post(&sign, &as_form(&form)).await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER);
    assert_eq!(app.count("select count(*) from agreements").await, 1);
}

/// Writes raw HTTP to the portal, so the test controls when each byte goes.
fn raw(port: u16) -> std::net::TcpStream {
    let stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream
}

#[tokio::test]
async fn sigterm_lets_a_request_in_flight_finish_then_exits_within_ten_seconds() {
    let (_pool, url) = fresh_database().await;
    let port = free_port();
    let mut cmd = portal();
    cmd.arg("serve")
        .env("DATABASE_URL", &url)
        .env("AUP_BIND", format!("127.0.0.1:{port}"));
    let mut running = Running(
        cmd.stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let http = client();
    let mut ready = false;
    for _ in 0..600 {
        ready = http
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == StatusCode::OK);
        if ready {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "the portal answers /readyz within a minute");

    // One request half sent, and one client that never finishes its request at all.
    let body = "email=someone%40example.org&password=not-their-password";
    let mut in_flight = raw(port);
    write!(
        in_flight,
        "POST /sign-in HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{}",
        body.len(),
        &body[..10]
    )
    .unwrap();
    let mut stalled = raw(port);
    stalled.write_all(b"GET /sign-in HTTP/1.1\r\nHo").unwrap();
    // A third connection answered means the portal has taken the two before it off the
    // queue of connections (taken in order), however slow the machine is.
    let mut third = raw(port);
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answered = String::new();
    third.read_to_string(&mut answered).unwrap();
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");

    let sent = std::process::Command::new("kill")
        .args(["-TERM", &running.0.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let signalled = Instant::now();
    let mut refused = false;
    for _ in 0..500 {
        refused = std::net::TcpStream::connect(("127.0.0.1", port)).is_err();
        if refused {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(refused, "no new connections once told to stop");
    in_flight.write_all(&body.as_bytes()[10..]).unwrap();
    let mut answer = vec![0; 4096];
    let n = in_flight.read(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(
        answer.starts_with("HTTP/1.1 422") || answer.starts_with("HTTP/1.1 200"),
        "the request in flight is answered: {answer}"
    );

    let status = tokio::task::spawn_blocking(move || running.0.wait().unwrap())
        .await
        .unwrap();
    let took = signalled.elapsed();
    assert!(status.success(), "exits cleanly: {status:?}");
    assert!(
        took < Duration::from_secs(10),
        "exits within 10 seconds, took {took:?}"
    );
    drop(stalled);
}

/// The portal as a second server would run it: jobs and mail sender included.
async fn serve_with_jobs(pool: sqlx::PgPool, sink: &SmtpSink) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let mailer = sink.mailer(&address);
    let app = Application::build(Settings::for_base_url(address.clone()), pool, listener);
    tokio::spawn(app.run_until_stopped(
        std::future::pending(),
        aup_portal::startup::Background::Jobs {
            mailer: Some(mailer),
        },
    ));
    address
}

#[tokio::test]
async fn two_portals_on_one_database_share_sessions_and_send_each_email_once() {
    let sink = SmtpSink::start();
    let (pool, url) = fresh_database().await;
    aup_portal::demo::seed(&pool, PASSWORD).await.unwrap();
    // A month on, everyone who has not signed is due a reminder: queued now, for both
    // portals' senders to race for.
    let later = aup_portal::clock::today_uk() + time::Duration::days(30);
    let reminders =
        aup_portal::jobs::reminders(&pool, later, "http://portal", Default::default(), false)
            .await
            .unwrap();
    assert!(reminders.lines.len() >= 3, "{:?}", reminders.lines);
    // Each portal has its own pool, as two processes would.
    let other_pool = db::connect(url.parse().unwrap()).await.unwrap();
    let (first, second) = tokio::join!(
        serve_with_jobs(pool.clone(), &sink),
        serve_with_jobs(other_pool, &sink)
    );
    assert_ne!(first, second);
    let on = |address: &str| TestApp {
        address: address.to_owned(),
        pool: pool.clone(),
        client: client(),
        secret: std::sync::Arc::new(aup_portal::secret_key::SecretKey::generate(1)),
    };

    // A session made on one is good on the other. Cookies do not depend on the port, so the
    // same browser sends the same session cookie to both.
    let staff = on(&first);
    staff.sign_in(STAFF).await;
    let elsewhere = TestApp {
        client: staff.client.clone(),
        ..on(&second)
    };
    let home = elsewhere.get("/s/cranbrook/").await;
    assert_eq!(home.status, StatusCode::OK);
    home.assert_contains("Sam Taylor");
    // Signing out on the second ends the session on the first too.
    let out = elsewhere.post("/sign-out", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(
        staff.get("/s/cranbrook/").await.status,
        StatusCode::SEE_OTHER,
        "the first portal reads the same session store, so the session has ended there too"
    );

    // Both run the daily jobs as they start: the demo policies' reviews are overdue, so
    // the DPO and the SBM are each told once per policy, whichever portal sends it.
    // The first pass sends at once; a slow one is picked up by the next, 30 s later.
    let mut delivered = vec![];
    for _ in 0..700 {
        delivered = sink.messages();
        let waiting: i64 = sqlx::query_scalar("select count(*) from outbox where status <> 'sent'")
            .fetch_one(&pool)
            .await
            .unwrap();
        if !delivered.is_empty() && waiting == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    delivered = sink.messages();
    let queued: i64 = sqlx::query_scalar("select count(*) from outbox")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        queued > reminders.lines.len() as i64,
        "the reminders, and review notices"
    );
    let outbox: Vec<(String, String, String, i32)> =
        sqlx::query_as("select to_address, subject, status, attempts from outbox order by subject")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(delivered.len() as i64, queued, "{outbox:#?}");
    let mut seen = BTreeMap::new();
    for message in &delivered {
        *seen
            .entry((message.rcpt_tos.clone(), message.subject.clone()))
            .or_insert(0) += 1;
    }
    assert!(seen.values().all(|&n| n == 1), "{seen:#?}");
}
