//! What the database itself guarantees, whoever connects: evidence cannot change.

use std::path::Path;

use sqlx::Connection as _;

use aup_portal::db::{self, cluster::EmbeddedCluster};

use crate::helpers::*;

async fn sign_one(app: &TestApp) {
    app.sign_in(STAFF).await;
    sign_cranbrook(app).await;
}

#[tokio::test]
async fn agreements_cannot_be_updated_or_deleted() {
    let app = spawn_app().await;
    sign_one(&app).await;
    for sql in [
        "update agreements set method = 'paper'",
        "delete from agreements",
        "truncate agreements",
        "truncate agreement_personal",
    ] {
        let err = sqlx::query(sql).execute(&app.pool).await.expect_err(sql);
        let message = err.to_string();
        assert!(
            message.contains("append-only") || message.contains("referenced in a foreign key"),
            "{sql}: {err}"
        );
    }
    // Personal fields go only through the owner's erase_personal, whoever connects.
    for sql in [
        "update agreement_personal set full_name = 'Someone Else'",
        "delete from agreement_personal",
    ] {
        let err = sqlx::query(sql).execute(&app.pool).await.expect_err(sql);
        assert!(err.to_string().contains("erase_personal"), "{sql}: {err}");
    }
    let name: String = sqlx::query_scalar("select full_name from agreement_personal")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(name, "Sam Taylor");
}

#[tokio::test]
async fn an_agreement_and_its_seal_take_only_a_sha256_fingerprint() {
    let app = spawn_app().await;
    sign_one(&app).await;
    let copy = |fingerprint: &str| {
        format!(
            "insert into agreements (school_id, membership_id, version_id, acknowledgements,
                                     content_sha256)
             select school_id, membership_id, version_id, acknowledgements, '{fingerprint}'
             from agreements"
        )
    };
    let good = "0123456789abcdef".repeat(4);
    for bad in [
        String::new(),
        good.to_uppercase(),
        good[..63].to_owned(),
        format!("{good}0"),
        format!("{}g", &good[..63]),
        format!("{}é", &good[..63]),
        format!("{} ", &good[..63]),
    ] {
        let err = sqlx::query(&copy(&bad))
            .execute(&app.pool)
            .await
            .expect_err(&bad);
        assert!(
            err.to_string().contains("agreements_content_sha256_check"),
            "{bad:?}: {err}"
        );
        let err = sqlx::query(
            "insert into seals (school_id, seq, prev_sha256, sha256, rows_covered)
             values (gen_random_uuid(), 1, $1, $1, 0)",
        )
        .bind(&bad)
        .execute(&app.pool)
        .await
        .expect_err(&bad);
        assert!(err.to_string().contains("sha256_check"), "{bad:?}: {err}");
    }
    // The rule is the one it always was: the same row with a good fingerprint passes it, and
    // is then refused only as a second signature of the same version.
    let err = sqlx::query(&copy(&good))
        .execute(&app.pool)
        .await
        .expect_err("duplicate");
    assert!(
        err.to_string()
            .contains("agreements_membership_version_key"),
        "{err}"
    );
}

/// A scan of a paper form, uploaded by the SBM, its fingerprint right: its id.
async fn store_scan(app: &TestApp) -> uuid::Uuid {
    sqlx::query_scalar(
        "insert into scans (school_id, content_type, sha256, size_bytes, bytes, uploaded_by)
         select s.id, 'image/png', encode(sha256('\\x89504e47'::bytea), 'hex'), 4, '\\x89504e47',
                (select id from users where email = 'sbm@cranbrook.example')
         from schools s where s.slug = 'cranbrook' returning id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn every_kind_of_evidence_refuses_update_delete_and_truncate() {
    let app = spawn_app().await;
    sign_one(&app).await;
    store_scan(&app).await;
    aup_portal::seal::seal_all(&app.pool).await.unwrap();
    for table in ["audit_events", "scans", "seals", "seal_entries"] {
        let before = app.count(&format!("select count(*) from {table}")).await;
        assert!(before > 0, "{table} holds something to protect");
        let column = match table {
            "audit_events" => "action = 'nothing'",
            "scans" => "bytes = '\\x00'",
            "seals" => "sha256 = repeat('0', 64)",
            _ => "row_sha256 = repeat('0', 64)",
        };
        for sql in [
            format!("update {table} set {column}"),
            format!("delete from {table}"),
            format!("truncate {table} cascade"),
        ] {
            let err = sqlx::query(&sql).execute(&app.pool).await.expect_err(&sql);
            assert!(
                err.to_string().contains(&format!("{table} is append-only")),
                "{sql}: {err}"
            );
        }
        assert_eq!(
            app.count(&format!("select count(*) from {table}")).await,
            before,
            "{table}"
        );
    }
    aup_portal::seal::verify(&app.pool, aup_portal::seal::GRACE)
        .await
        .unwrap()
        .intact()
        .expect("still intact");
}

/// Runs `sql` with the guard triggers of `tables` switched off, as the database's owner can.
async fn behind_the_portals_back(app: &TestApp, tables: &[&str], sql: &str) {
    let off: String = tables
        .iter()
        .map(|t| format!("alter table {t} disable trigger user;"))
        .collect();
    let on: String = tables
        .iter()
        .map(|t| format!("alter table {t} enable trigger user;"))
        .collect();
    sqlx::raw_sql(&format!("{off}{sql};{on}"))
        .execute(&app.pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn verify_catches_a_changed_scan() {
    let app = spawn_app().await;
    let scan = store_scan(&app).await;
    aup_portal::seal::seal_all(&app.pool).await.unwrap();
    aup_portal::seal::verify(&app.pool, aup_portal::seal::GRACE)
        .await
        .unwrap()
        .intact()
        .expect("intact");
    behind_the_portals_back(&app, &["scans"], "update scans set bytes = '\\x00'").await;
    let broken = aup_portal::seal::verify(&app.pool, aup_portal::seal::GRACE)
        .await
        .unwrap()
        .tampered()
        .expect("the changed scan is found");
    assert_eq!(
        broken,
        format!("scan {scan} has been changed since it was stored")
    );
}

#[tokio::test]
async fn verify_catches_a_missing_seal_in_the_middle_or_at_the_end_of_a_chain() {
    for which in ["min", "max"] {
        let app = spawn_app().await;
        let school: uuid::Uuid =
            sqlx::query_scalar("select id from schools where slug = 'cranbrook'")
                .fetch_one(&app.pool)
                .await
                .unwrap();
        // Three seals in Cranbrook's chain.
        for _ in 0..3 {
            sqlx::query("insert into audit_events (school_id, action) values ($1, 'test_event')")
                .bind(school)
                .execute(&app.pool)
                .await
                .unwrap();
            aup_portal::seal::seal_all(&app.pool).await.unwrap();
        }
        let seqs: Vec<i64> =
            sqlx::query_scalar("select seq from seals where school_id = $1 order by seq")
                .bind(school)
                .fetch_all(&app.pool)
                .await
                .unwrap();
        assert_eq!(seqs, [1, 2, 3]);
        aup_portal::seal::verify(&app.pool, aup_portal::seal::GRACE)
            .await
            .unwrap()
            .intact()
            .expect("intact");
        let seq: i64 = if which == "min" { 1 } else { 3 };
        let lost: Vec<String> =
            sqlx::query_scalar("select row_id from seal_entries where school_id = $1 and seq = $2")
                .bind(school)
                .bind(seq)
                .fetch_all(&app.pool)
                .await
                .unwrap();
        // The seal goes with its entries (their foreign key holds even with the guards off).
        behind_the_portals_back(
            &app,
            &["seals", "seal_entries"],
            &format!(
                "delete from seal_entries where school_id = '{school}' and seq = {seq};
                 delete from seals where school_id = '{school}' and seq = {seq}"
            ),
        )
        .await;
        let broken = aup_portal::seal::verify(&app.pool, aup_portal::seal::GRACE)
            .await
            .unwrap();
        if which == "min" {
            assert_eq!(
                broken.tampered().expect("the gap is found"),
                format!("school {school}: seal 1 is missing")
            );
        } else {
            // The chain is whole but shorter: the rows its last seal covered are no longer
            // covered by any, which verify says once the grace period has passed (and
            // `verify --expect` says at once, from the recorded heads).
            broken.intact().expect("within the grace period");
            let found = aup_portal::seal::verify(&app.pool, time::Duration::ZERO)
                .await
                .unwrap()
                .tampered()
                .expect("the rows left unsealed are found");
            assert!(!lost.is_empty());
            for row in &lost {
                assert!(
                    found.contains(&format!("audit event {row} is not covered by any seal")),
                    "{found}"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_policy_has_at_most_one_published_version() {
    let app = spawn_app().await;
    let err = sqlx::query(
        "insert into policy_versions (policy_id, school_id, label, title, body_md, status, published_at, content_sha256)
         select policy_id, school_id, '2025-26', title, body_md, 'published', now(), content_sha256
         from policy_versions where status = 'published' limit 1",
    )
    .execute(&app.pool)
    .await
    .expect_err("a second published version");
    assert!(
        err.to_string().contains("policy_versions_one_published"),
        "{err}"
    );
}

#[tokio::test]
async fn a_published_version_cannot_be_edited_or_deleted_only_superseded() {
    let app = spawn_app().await;
    let version = app.version_id(CRANBROOK).await;
    for sql in [
        "update policy_versions set body_md = 'changed' where id = $1",
        "update policy_versions set status = 'draft' where id = $1",
        "delete from policy_versions where id = $1",
    ] {
        let err = sqlx::query(sql)
            .bind(version)
            .execute(&app.pool)
            .await
            .expect_err(sql);
        assert!(err.to_string().contains("can no longer be"), "{sql}: {err}");
    }
    sqlx::query("update policy_versions set status = 'superseded' where id = $1")
        .bind(version)
        .execute(&app.pool)
        .await
        .expect("published -> superseded is the one change allowed");
    let err = sqlx::query("update policy_versions set status = 'published' where id = $1")
        .bind(version)
        .execute(&app.pool)
        .await
        .expect_err("superseded is final");
    assert!(err.to_string().contains("can no longer be changed"));
}

#[tokio::test]
async fn the_embedded_cluster_starts_restarts_with_its_data_and_refuses_a_second_portal() {
    let dir = tempdir();
    let data = dir.clone();
    let cluster = tokio::task::spawn_blocking(move || EmbeddedCluster::start(&data))
        .await
        .unwrap()
        .expect("first start");
    cluster.ensure_database().await.unwrap();
    // The owner migrates; the portal's own login adds, and cannot rewrite the evidence.
    let owner = db::connect(cluster.owner_options()).await.unwrap();
    db::migrate(&owner).await.unwrap();
    db::grant_runtime(&owner, "aup_portal").await.unwrap();
    owner.close().await;
    let pool = db::connect(cluster.connect_options()).await.unwrap();
    db::check_runtime_role(&pool)
        .await
        .expect("the portal's login cannot rewrite the evidence");
    sqlx::query("insert into schools (slug, name) values ('kept', 'Kept School')")
        .execute(&pool)
        .await
        .unwrap();
    // Local connections need a password, kept beside the database and private to the portal.
    let hba = std::fs::read_to_string(dir.join("postgres/pg_hba.conf")).unwrap();
    assert!(
        hba.contains("local all all scram-sha-256") && !hba.contains("trust"),
        "{hba}"
    );
    for file in ["owner.password", "portal.password"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join(file))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{file}");
    }
    let no_password =
        sqlx::PgConnection::connect_with(&cluster.owner_options().password("not the password"))
            .await;
    let refused = no_password
        .expect_err("a wrong password is refused")
        .to_string();
    assert!(
        refused.contains("password authentication failed"),
        "{refused}"
    );

    // A second portal on the same data folder is told plainly.
    let data = dir.clone();
    let second = tokio::task::spawn_blocking(move || EmbeddedCluster::start(&data))
        .await
        .unwrap();
    let message = second.err().expect("second portal refused").to_string();
    assert!(
        message.contains("another aup-portal is already using the data folder"),
        "{message}"
    );

    // No TCP port: the server listens on its socket only.
    let conf = std::fs::read_to_string(dir.join("postgres/aup-portal.conf")).unwrap();
    assert!(conf.contains("listen_addresses = ''"));

    pool.close().await;
    cluster.stop().unwrap();
    drop(cluster);

    let data = dir.clone();
    let cluster = tokio::task::spawn_blocking(move || EmbeddedCluster::start(&data))
        .await
        .unwrap()
        .expect("restart");
    cluster.ensure_database().await.unwrap();
    let pool = db::connect(cluster.connect_options()).await.unwrap();
    let name: String = sqlx::query_scalar("select name from schools where slug = 'kept'")
        .fetch_one(&pool)
        .await
        .expect("data survives a restart");
    assert_eq!(name, "Kept School");
    pool.close().await;
    cluster.stop().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn missing_server_programs_are_named_with_the_package_to_install() {
    let empty = tempdir();
    let err = db::cluster::find_server_programs_in(
        "no-such-pg-config",
        &empty,
        Some(empty.clone().into_os_string()),
    )
    .expect_err("no server programs");
    let message = err.to_string();
    assert!(message.contains("apt-get install postgresql"), "{message}");
    assert!(message.contains("DATABASE_URL"), "{message}");
    let _ = std::fs::remove_dir_all(&empty);
}

/// A folder under the system temp dir, which the `postgres` user can reach when tests run as root.
fn tempdir() -> std::path::PathBuf {
    let dir = Path::new(&std::env::temp_dir())
        .join(format!("aup-test-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn the_seals_cover_the_evidence_and_verify_catches_a_change_made_behind_the_portals_back() {
    let app = spawn_app().await;
    sign_one(&app).await;
    let covered = aup_portal::seal::seal_all(&app.pool).await.unwrap();
    assert!(
        covered >= 2,
        "the agreement and the sign-in's audit event: {covered}"
    );
    assert_eq!(
        aup_portal::seal::seal_all(&app.pool).await.unwrap(),
        0,
        "nothing twice"
    );
    let verified = aup_portal::seal::verify(&app.pool, aup_portal::seal::GRACE)
        .await
        .unwrap()
        .intact()
        .expect("intact");
    assert_eq!(verified.rows, covered);
    assert_eq!(verified.unsealed, 0);

    // The receipt and the evidence show the seal.
    let receipt = sqlx::query_scalar::<_, uuid::Uuid>("select id from agreements")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let page = app.get(&format!("/s/cranbrook/agreements/{receipt}")).await;
    page.assert_contains("In seal 1 of the school's evidence chain");

    // Someone with the database's owner rights switches the guard off and edits the name
    // signed: a personal field, which the seal covers through its commitment.
    sqlx::raw_sql(
        "alter table agreement_personal disable trigger agreement_personal_guard;
         update agreement_personal set full_name = 'Someone Else';
         alter table agreement_personal enable trigger agreement_personal_guard;",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let broken = aup_portal::seal::verify(&app.pool, aup_portal::seal::GRACE)
        .await
        .unwrap()
        .tampered()
        .expect("tampering found");
    assert!(
        broken.contains(&format!(
            "agreement {receipt} has had its full_name changed since it was sealed"
        )),
        "{broken}"
    );
    // Or what was ticked: a field of the agreement's own row.
    sqlx::raw_sql(
        "alter table agreement_personal disable trigger agreement_personal_guard;
         update agreement_personal set full_name = 'Sam Taylor';
         alter table agreement_personal enable trigger agreement_personal_guard;
         alter table agreements disable trigger agreements_append_only;
         update agreements set acknowledgements = '{}';
         alter table agreements enable trigger agreements_append_only;",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let broken = aup_portal::seal::verify(&app.pool, aup_portal::seal::GRACE)
        .await
        .unwrap()
        .tampered()
        .expect("tampering found");
    assert!(
        broken.contains(&format!(
            "agreement {receipt} has been changed since it was sealed"
        )),
        "{broken}"
    );
}

#[tokio::test]
async fn a_running_portal_seals_a_new_agreement_within_seconds() {
    let app = spawn_app_running(
        |_| {},
        aup_portal::startup::Background::Jobs { mailer: None },
    )
    .await;
    app.sign_in(STAFF).await;
    sign_cranbrook(&app).await;
    let agreement: uuid::Uuid = sqlx::query_scalar("select id from agreements")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    // The sealer wakes every 3 seconds; a minute allows for a loaded machine.
    let mut sealed = None;
    for _ in 0..600 {
        sealed = sqlx::query_scalar::<_, i64>(
            "select seq from seal_entries where kind = 'agreement_v2' and row_id = $1",
        )
        .bind(agreement.to_string())
        .fetch_optional(&app.pool)
        .await
        .unwrap();
        if sealed.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let seq = sealed.expect("the sealer loop sealed the agreement");
    assert_eq!(
        app.count("select count(*) from seal_queue where kind = 'agreement'")
            .await,
        0
    );
    let page = app
        .get(&format!("/s/cranbrook/agreements/{agreement}"))
        .await;
    page.assert_contains(&format!("In seal {seq} of the school's evidence chain"));
}

#[tokio::test]
async fn each_school_has_a_chain_of_its_own_and_a_later_seal_follows_the_last() {
    let app = spawn_app().await;
    aup_portal::seal::seal_all(&app.pool).await.unwrap();
    // Events in two schools and outside any school, waiting together.
    sqlx::raw_sql(
        "insert into schools (slug, name) values ('hillside', 'Hillside Academy');
         insert into audit_events (school_id, action)
           select id, 'test_one' from schools where slug = 'cranbrook'
           union all select id, 'test_two' from schools where slug = 'cranbrook'
           union all select id, 'test_one' from schools where slug = 'hillside'
           union all select null, 'test_one';",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let seals = |slug: &'static str| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_as::<_, (i64, String, String, i32)>(
                "select seq, prev_sha256, sha256, rows_covered from seals
                 where school_id = coalesce((select id from schools where slug = $1), $2)
                 order by seq",
            )
            .bind(slug)
            .bind(uuid::Uuid::nil())
            .fetch_all(&pool)
            .await
            .unwrap()
        }
    };
    let cranbrook_before = seals("cranbrook").await.len();
    let nobody_before = seals("").await.len();
    assert_eq!(aup_portal::seal::seal_all(&app.pool).await.unwrap(), 4);
    let hillside = seals("hillside").await;
    assert_eq!(hillside.len(), 1);
    assert_eq!(hillside[0].0, 1);
    assert_eq!(
        hillside[0].1,
        "0".repeat(64),
        "a new chain starts from nothing"
    );
    assert_eq!(hillside[0].3, 1);
    let cranbrook = seals("cranbrook").await;
    assert_eq!(cranbrook.len(), cranbrook_before + 1);
    assert_eq!(cranbrook.last().unwrap().3, 2);
    assert_eq!(seals("").await.len(), nobody_before + 1);
    // Every entry is in its own school's chain.
    let misplaced: i64 = sqlx::query_scalar(
        "select count(*) from seal_entries x join audit_events e on x.kind = 'audit_event'
           and x.row_id = e.id::text
         where x.school_id <> coalesce(e.school_id, '00000000-0000-0000-0000-000000000000')",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(misplaced, 0);

    // A later event in one school: its next seal follows that school's last one.
    sqlx::raw_sql(
        "insert into audit_events (school_id, action)
           select id, 'test_three' from schools where slug = 'hillside'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    assert_eq!(aup_portal::seal::seal_all(&app.pool).await.unwrap(), 1);
    let hillside = seals("hillside").await;
    assert_eq!(hillside.len(), 2);
    assert_eq!(hillside[1].1, hillside[0].2);
    assert_eq!(seals("cranbrook").await, cranbrook);

    // More than one transaction takes (2,000): sealed in parts, each following the last.
    sqlx::raw_sql(
        "insert into audit_events (school_id, action)
           select s.id, 'test_many' from schools s, generate_series(1, 2500) where s.slug = 'hillside'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    assert_eq!(aup_portal::seal::seal_all(&app.pool).await.unwrap(), 2500);
    let hillside = seals("hillside").await;
    let parts: Vec<i32> = hillside[2..].iter().map(|s| s.3).collect();
    assert_eq!(parts, [2000, 500]);
    assert_eq!(hillside[3].1, hillside[2].2);
    let verified = aup_portal::seal::verify(&app.pool, aup_portal::seal::GRACE)
        .await
        .unwrap()
        .intact()
        .expect("intact");
    assert_eq!(verified.unsealed, 0);
    assert!(verified.chains >= 3, "{}", verified.chains);
}

#[tokio::test]
async fn verify_on_the_command_line_exits_with_failure_on_a_deleted_audit_event() {
    let app = spawn_app().await;
    sign_one(&app).await;
    aup_portal::seal::seal_all(&app.pool).await.unwrap();
    let url = app_database_url(&app).await;
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_aup-portal"))
            .arg("verify")
            .env("DATABASE_URL", &url)
            .env_remove("AUP_DATA_DIR")
            .output()
            .unwrap()
    };
    let ok = run();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).starts_with("The evidence is intact"));
    sqlx::raw_sql(
        "alter table audit_events disable trigger audit_events_append_only;
         delete from audit_events where action = 'sign_in';
         alter table audit_events enable trigger audit_events_append_only;",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let bad = run();
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("the evidence has been tampered with") && err.contains("has been deleted"),
        "{err}"
    );
}

/// The URL of the test's own database, for running the binary against it.
async fn app_database_url(app: &TestApp) -> String {
    let name: String = sqlx::query_scalar("select current_database()")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let base = server_url();
    let (head, _) = base.rsplit_once('/').unwrap();
    format!("{head}/{name}")
}

#[tokio::test]
async fn verify_lists_rows_no_seal_covers_once_the_grace_period_has_passed() {
    assert_eq!(
        aup_portal::seal::GRACE,
        time::Duration::minutes(5),
        "as SECURITY.md says"
    );
    let app = spawn_app().await;
    sign_one(&app).await;
    aup_portal::seal::seal_all(&app.pool).await.unwrap();
    // The portal's own login slips in a backdated paper agreement and takes it off the queue,
    // so the sealer never sees it.
    let sneaked: uuid::Uuid = sqlx::query_scalar(
        "with a as (
           insert into agreements (school_id, membership_id, version_id, acknowledgements,
                                   content_sha256, method, recorded_by, signed_at, recorded_at)
           select m.school_id, m.id, v.id, '{}', v.content_sha256, 'paper', m.user_id,
                  now() - interval '300 days', now() - interval '300 days'
           from memberships m join users u on u.id = m.user_id
           join policy_versions v on v.school_id = m.school_id and v.status = 'published'
           where u.email = $1 limit 1
           returning id
         )
         select id from a",
    )
    .bind(GOVERNOR)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    sqlx::query("delete from seal_queue where row_id = $1")
        .bind(sneaked.to_string())
        .execute(&app.pool)
        .await
        .unwrap();
    // Its recorded time is the server's, whatever the insert said.
    let recent = app
        .count(&format!(
            "select count(*) from agreements where id = '{sneaked}' and recorded_at > now() - interval '1 minute'"
        ))
        .await;
    assert_eq!(recent, 1, "recorded_at is forced to the server's time");
    // Within the grace period it may still be waiting for the sealer...
    let fresh = aup_portal::seal::verify(&app.pool, aup_portal::seal::GRACE)
        .await
        .unwrap();
    assert!(
        matches!(fresh, aup_portal::seal::Verdict::Intact(_)),
        "{fresh:?}"
    );
    // ...after it, verify names it. A queue row whose row is gone is named too.
    sqlx::query(
        "insert into seal_queue (kind, row_id, school_id) values ('audit_event', '999999', $1)",
    )
    .bind(uuid::Uuid::nil())
    .execute(&app.pool)
    .await
    .unwrap();
    let found = aup_portal::seal::verify(&app.pool, time::Duration::ZERO)
        .await
        .unwrap()
        .tampered()
        .expect("unsealed rows are found");
    assert!(
        found.contains(&format!("agreement {sneaked} is not covered by any seal")),
        "{found}"
    );
    assert!(
        found.contains("the seal queue lists audit event 999999, which does not exist"),
        "{found}"
    );
}

#[tokio::test]
async fn a_chain_rebuilt_by_the_database_owner_passes_verify_but_not_verify_expect() {
    let app = spawn_app().await;
    sign_one(&app).await;
    aup_portal::seal::seal_all(&app.pool).await.unwrap();
    let url = app_database_url(&app).await;
    let verify = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_aup-portal"))
            .arg("verify")
            .args(args)
            .env("DATABASE_URL", &url)
            .env_remove("AUP_DATA_DIR")
            .output()
            .unwrap()
    };
    let first = verify(&[]);
    assert!(first.status.success());
    let printed = String::from_utf8_lossy(&first.stdout).into_owned();
    let heads: Vec<&str> = printed
        .lines()
        .filter(|line| line.starts_with("aup-head v1 "))
        .collect();
    // Exactly one line for each chain, naming its last seal.
    let lasts: Vec<(uuid::Uuid, i64, String)> = sqlx::query_as(
        "select distinct on (school_id) school_id, seq, sha256 from seals
         order by school_id, seq desc",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(
        lasts.len() >= 2,
        "Cranbrook's chain and the chain outside any school"
    );
    let mut want: Vec<String> = lasts
        .iter()
        .map(|(school, seq, sha)| aup_portal::seal::head_line(*school, *seq, sha))
        .collect();
    let mut got: Vec<String> = heads.iter().map(|h| h.to_string()).collect();
    want.sort();
    got.sort();
    assert_eq!(got, want, "{printed}");
    let school: uuid::Uuid = sqlx::query_scalar("select id from schools where slug = 'cranbrook'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(
        heads
            .iter()
            .any(|h| h.starts_with(&format!("aup-head v1 {school} 1 "))),
        "{printed}"
    );
    let kept = std::env::temp_dir().join(format!("heads-{}.txt", uuid::Uuid::new_v4().simple()));
    std::fs::write(&kept, heads.join("\n")).unwrap();
    let expect = kept.to_string_lossy().into_owned();
    let still = verify(&["--expect", &expect]);
    assert!(
        still.status.success(),
        "{}",
        String::from_utf8_lossy(&still.stderr)
    );

    // The owner changes a signature and rebuilds the school's chain from its start.
    sqlx::raw_sql(&format!(
        "alter table agreement_personal disable trigger agreement_personal_guard;
         update agreement_personal set full_name = 'Someone Else';
         alter table agreement_personal enable trigger agreement_personal_guard;
         alter table seal_entries disable trigger seal_entries_append_only;
         alter table seals disable trigger seals_append_only;
         delete from seal_entries where school_id = '{school}';
         delete from seals where school_id = '{school}';
         alter table seals enable trigger seals_append_only;
         alter table seal_entries enable trigger seal_entries_append_only;
         insert into seal_queue (kind, row_id, school_id)
           select 'agreement', id::text, school_id from agreements where school_id = '{school}'
           union all
           select 'audit_event', id::text, school_id from audit_events where school_id = '{school}';"
    ))
    .execute(&app.pool)
    .await
    .unwrap();
    aup_portal::seal::seal_all(&app.pool).await.unwrap();
    assert!(
        verify(&[]).status.success(),
        "plain verify sees a whole chain"
    );
    let caught = verify(&["--expect", &expect]);
    assert!(!caught.status.success());
    let said = String::from_utf8_lossy(&caught.stderr);
    assert!(
        said.contains(&format!("school {school}: seal 1 is not the one recorded")),
        "{said}"
    );
    let _ = std::fs::remove_file(kept);
}

#[tokio::test]
async fn the_portals_own_login_adds_evidence_but_cannot_rewrite_it() {
    let app = spawn_app().await;
    sign_one(&app).await;
    let url = app_database_url(&app).await;
    let runtime_url = runtime_login(&app.pool, &url).await;
    let runtime = sqlx::PgPool::connect(&runtime_url).await.unwrap();
    aup_portal::db::check_runtime_role(&runtime)
        .await
        .expect("a login of its own passes the check");
    let refused = aup_portal::db::check_runtime_role(&app.pool)
        .await
        .expect_err("the owner could rewrite the evidence");
    assert!(
        refused.to_string().contains("agreements: owns it"),
        "{refused}"
    );
    for attack in [
        "alter table agreements disable trigger agreements_append_only",
        "truncate agreements",
        "update agreements set method = 'paper'",
        "update agreement_personal set full_name = 'Someone Else'",
        "delete from agreement_personal",
        "select erase_personal('agreement', (select id::text from agreements limit 1), array['full_name'], 'test')",
        "delete from audit_events",
        "insert into seals (school_id, seq, prev_sha256, sha256, rows_covered) values (gen_random_uuid(), 1, repeat('0', 64), repeat('0', 64), 0)",
        "delete from seal_queue",
        "create table public.mine (x int)",
    ] {
        let err = sqlx::raw_sql(attack)
            .execute(&runtime)
            .await
            .expect_err(attack);
        let message = err.to_string();
        assert!(
            message.contains("permission denied") || message.contains("must be owner"),
            "{attack}: {message}"
        );
    }
    // Given the power to create tables, it is refused, as with any power over the evidence.
    sqlx::raw_sql("grant create on schema public to aup_test_runtime")
        .execute(&app.pool)
        .await
        .unwrap();
    let creates = aup_portal::db::check_runtime_role(&runtime)
        .await
        .expect_err("a login that can create tables");
    assert!(
        creates.to_string().contains("schema public: CREATE"),
        "{creates}"
    );
    sqlx::raw_sql("revoke create on schema public from aup_test_runtime")
        .execute(&app.pool)
        .await
        .unwrap();
    // It signs, and the sealer working through it seals, through the owner's function.
    sqlx::query(
        "insert into audit_events (school_id, action) select id, 'test_event' from schools limit 1",
    )
    .execute(&runtime)
    .await
    .unwrap();
    let sealed = aup_portal::seal::seal_all(&runtime).await.unwrap();
    assert!(sealed >= 3, "{sealed}");
    let verified = aup_portal::seal::verify(&runtime, aup_portal::seal::GRACE)
        .await
        .unwrap()
        .intact()
        .expect("intact");
    assert_eq!(verified.unsealed, 0);
    runtime.close().await;
}

#[tokio::test]
async fn every_tables_grants_to_the_portals_login_are_on_the_allow_list() {
    let app = spawn_app().await;
    let url = app_database_url(&app).await;
    runtime_login(&app.pool, &url).await;
    // Every table, and what the portal's own login may do with it. A new table fails this
    // test until it is listed here: decide whether it is evidence.
    const READ_ADD: &[&str] = &["INSERT", "SELECT"];
    const READ: &[&str] = &["SELECT"];
    const ALL: &[&str] = &["DELETE", "INSERT", "SELECT", "UPDATE"];
    let allowed: std::collections::BTreeMap<&str, &[&str]> = [
        ("_sqlx_migrations", READ),
        ("account_tokens", ALL),
        ("agreement_personal", READ_ADD),
        ("agreements", READ_ADD),
        ("audit_events", READ_ADD),
        ("email_changes", ALL),
        ("erasures", READ),
        ("import_mappings", ALL),
        ("memberships", ALL),
        ("outbox", ALL),
        ("policies", ALL),
        ("policy_versions", ALL),
        ("reminders", ALL),
        ("scans", READ_ADD),
        ("school_crests", ALL),
        ("school_sso", ALL),
        ("schools", ALL),
        ("seal_entries", READ),
        ("seal_queue", READ),
        ("seals", READ),
        ("secret_key_id", ALL),
        ("sessions", ALL),
        ("sign_by_dates", ALL),
        ("sign_in_misses", ALL),
        ("sso_identities", ALL),
        ("users", ALL),
    ]
    .into_iter()
    .collect();
    let tables: Vec<String> = sqlx::query_scalar(
        "select tablename::text from pg_tables where schemaname = 'public' order by 1",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let listed: Vec<&str> = allowed.keys().copied().collect();
    assert_eq!(
        tables, listed,
        "every table is on the allow-list, and only tables"
    );
    for table in tables {
        let granted: Vec<String> = sqlx::query_scalar(
            "select privilege_type::text from information_schema.role_table_grants
             where grantee = $1 and table_schema = 'public' and table_name = $2 order by 1",
        )
        .bind(RUNTIME_ROLE)
        .bind(&table)
        .fetch_all(&app.pool)
        .await
        .unwrap();
        assert_eq!(granted, allowed[table.as_str()], "{table}");
    }
}

/// The statuses are Rust enums, and the database still refuses a word outside them: the
/// CHECK constraints stay the rule for whatever writes to the tables.
#[tokio::test]
async fn the_database_still_refuses_a_status_outside_the_enums() {
    let app = spawn_app().await;
    sign_one(&app).await;
    for (statement, constraint) in [
        (
            "insert into policy_versions (policy_id, school_id, label, title, body_md, status,
                                          published_at, content_sha256)
             select policy_id, school_id, 'Next', 'Next', 'Text', 'archived', now(),
                    content_sha256
             from policy_versions limit 1",
            "policy_versions_status_check",
        ),
        (
            "update memberships set status = 'suspended'",
            "memberships_status_check",
        ),
        (
            "update memberships set roles = array['signer', 'owner']",
            "memberships_roles_check",
        ),
        (
            "update memberships set grp = 'parent'",
            "memberships_grp_check",
        ),
        (
            "update policies set audience = array['staff', 'parent']",
            "policies_audience_groups",
        ),
        (
            "insert into agreements (school_id, membership_id, version_id,
                                     acknowledgements, content_sha256, method, recorded_by)
             select school_id, membership_id, version_id, acknowledgements,
                    content_sha256, 'fax', (select id from users limit 1)
             from agreements",
            "agreements_method_check",
        ),
        (
            "insert into account_tokens (user_id, purpose, token_sha256, expires_at)
             select id, 'magic', repeat('0', 64), now() from users limit 1",
            "account_tokens_purpose_check",
        ),
        (
            "insert into seal_queue (school_id, kind, row_id) values (gen_random_uuid(), 'scan', 'x')",
            "seal_queue_kind_check",
        ),
    ] {
        let err = sqlx::query(statement)
            .execute(&app.pool)
            .await
            .expect_err(statement);
        assert!(err.to_string().contains(constraint), "{statement}: {err}");
    }
}
