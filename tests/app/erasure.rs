//! Seal format 2 (SECURITY.md): an agreement's personal fields can be erased through the
//! owner's `erase_personal` alone, and the chain still verifies; a change to what is left of
//! an erased row, or to a personal field of a live one, still breaks it; and the migration to
//! format 2 keeps every chain head recorded before it.

use std::borrow::Cow;

use aup_portal::seal::{self, GRACE};
use sqlx::{Connection, PgConnection, PgPool};

use crate::helpers::*;

async fn signed_and_sealed() -> (TestApp, uuid::Uuid) {
    let app = spawn_app().await;
    app.sign_in(STAFF).await;
    sign_cranbrook(&app).await;
    seal::seal_all(&app.pool).await.unwrap();
    let id = sqlx::query_scalar("select id from agreements")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    (app, id)
}

async fn erase(pool: &PgPool, agreement: uuid::Uuid, fields: &[&str]) {
    sqlx::query(
        "select erase_personal('agreement', $1, $2, 'left on 31 August 2020: kept 6 years')",
    )
    .bind(agreement.to_string())
    .bind(fields)
    .execute(pool)
    .await
    .unwrap();
}

async fn verdict(pool: &PgPool) -> seal::Verdict<seal::Verified> {
    seal::seal_all(pool).await.unwrap();
    seal::verify(pool, GRACE).await.unwrap()
}

#[tokio::test]
async fn an_erased_agreement_still_verifies_and_a_change_to_what_is_left_still_breaks_it() {
    let (app, agreement) = signed_and_sealed().await;

    // The IP address and browser go first, then the name and role: the chain verifies after each.
    erase(&app.pool, agreement, &["ip", "user_agent"]).await;
    assert!(verdict(&app.pool).await.intact().is_some());
    let (name, ip): (Option<String>, Option<String>) =
        sqlx::query_as("select full_name, host(ip) from agreement_personal")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((name.as_deref(), ip), (Some("Sam Taylor"), None));
    erase(&app.pool, agreement, &["full_name", "role_stated"]).await;
    assert_eq!(
        app.count("select count(*) from agreement_personal").await,
        0
    );
    assert_eq!(app.count("select count(*) from erasures").await, 4);
    let intact = verdict(&app.pool)
        .await
        .intact()
        .expect("intact after erasure");
    assert_eq!(intact.unsealed, 0);
    // The erasure is an audit event that names no one, sealed like the rest.
    let details: serde_json::Value = sqlx::query_scalar(
        "select details from audit_events where action = 'personal_data_erased' order by id desc limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        details["fields"],
        serde_json::json!(["full_name", "role_stated"])
    );
    let logged =
        aup_portal::audit::Logged::read("personal_data_erased", &agreement.to_string(), &details);
    assert_eq!(
        logged.sentence(),
        "Erased the name and role of an agreement, under the rule: left on 31 August 2020: kept 6 years"
    );

    // The person's evidence says so where the name was.
    app.sign_in("sbm@cranbrook.example").await;
    let membership = membership(&app, STAFF).await;
    let page = app
        .get(&format!("/s/cranbrook/people/{membership}/evidence"))
        .await;
    page.assert_contains("(erased)");

    // What is left of the erased row is still sealed: a changed tick breaks the chain.
    sqlx::raw_sql(
        "alter table agreements disable trigger agreements_append_only;
         update agreements set acknowledgements = '{}';
         alter table agreements enable trigger agreements_append_only;",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let broken = verdict(&app.pool)
        .await
        .tampered()
        .expect("tampering found");
    assert!(
        broken.contains(&format!(
            "agreement {agreement} has been changed since it was sealed"
        )),
        "{broken}"
    );
}

#[tokio::test]
async fn a_personal_field_removed_outside_erase_personal_breaks_the_chain() {
    let (app, agreement) = signed_and_sealed().await;
    // Refused to anyone, the owner included, while the guard is on.
    let refused = sqlx::query("update agreement_personal set full_name = null")
        .execute(&app.pool)
        .await
        .expect_err("only erase_personal removes a personal field");
    assert!(refused.to_string().contains("erase_personal"), "{refused}");
    // The owner switches the guard off: verify sees a field gone with no record of erasure.
    sqlx::raw_sql(
        "alter table agreement_personal disable trigger agreement_personal_guard;
         update agreement_personal set role_stated = null, role_stated_salt = null;
         alter table agreement_personal enable trigger agreement_personal_guard;",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let broken = verdict(&app.pool)
        .await
        .tampered()
        .expect("tampering found");
    assert!(
        broken.contains(&format!(
            "agreement {agreement} has lost its role_stated without a record of its erasure"
        )),
        "{broken}"
    );
}

#[tokio::test]
async fn the_format_two_hashes_of_the_test_vector_never_change() {
    let (pool, _) = fresh_database().await;
    let (commitment, row): (String, String) = sqlx::query_as(
        "select personal_commitment('agreement', '00000000-0000-0000-0000-000000000001', 'full_name',
                                    decode(repeat('ab', 32), 'hex'), 'Sam Taylor'),
                agreement_row_sha256_v2(jsonb_populate_record(null::agreements, '{
                    \"id\": \"00000000-0000-0000-0000-000000000001\",
                    \"school_id\": \"00000000-0000-0000-0000-000000000002\",
                    \"membership_id\": \"00000000-0000-0000-0000-000000000003\",
                    \"version_id\": \"00000000-0000-0000-0000-000000000004\",
                    \"signed_at\": \"2026-09-01T08:30:00Z\", \"recorded_at\": \"2026-09-01T08:30:01Z\",
                    \"acknowledgements\": {\"agree\": true}, \"content_sha256\": \"ab\", \"method\": \"online\"
                }'), '{\"full_name\": \"cd\", \"ip\": null}')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    // Computed apart from PostgreSQL too: sha256 of the text SECURITY.md gives.
    assert_eq!(
        commitment,
        "2806eda6d47e82fdaa200941495dcd97658b90cf3f967c91e064f0777e41603e"
    );
    // SHA-256 of {"row": {"id": "…01", "method": "online", …, "acknowledgements": {"agree":
    // true}}, "format": 2, "personal": {"ip": null, "full_name": "cd"}, "scan_sha256": null},
    // as PostgreSQL writes jsonb: times in UTC, keys by length and then bytes.
    assert_eq!(
        row,
        "714e365c7628f7c62d6fdac3910e42bf70ee321259848cce2a2ca4f390061125"
    );
}

/// The migration to format 2 on a database sealed under format 1: the heads recorded before
/// it still verify after it, each agreement attested once, its personal fields moved.
#[tokio::test]
async fn heads_recorded_before_the_migration_still_verify_after_it() {
    const FORMAT_TWO: i64 = 20261209090000;
    let server = server_url();
    let name = format!("aup_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = PgConnection::connect(&server).await.unwrap();
    sqlx::query(&format!("create database {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let (head, _) = server.rsplit_once('/').unwrap();
    let pool = PgPool::connect(&format!("{head}/{name}")).await.unwrap();
    let all = sqlx::migrate!("./migrations");
    let mut before = sqlx::migrate!("./migrations");
    before.migrations = Cow::Owned(
        all.migrations
            .iter()
            .filter(|m| m.version < FORMAT_TWO)
            .cloned()
            .collect(),
    );
    before.run(&pool).await.unwrap();
    let school = uuid::Uuid::new_v4();
    sqlx::raw_sql(&format!(
        "insert into schools (id, slug, name) values ('{school}', 'oldfield', 'Oldfield School');
         insert into users (email, full_name, signing_name) values ('sam@oldfield.example', 'Sam Old', 'Sam Old');
         insert into memberships (user_id, school_id, grp)
             select id, '{school}', 'staff' from users;
         insert into policies (school_id, name, audience) values ('{school}', 'AUP', '{{staff}}');
         insert into policy_versions (policy_id, school_id, label, title, body_md, status,
                                      published_at, content_sha256)
             select id, '{school}', '2025-26', 'AUP', '- I will', 'published', now(), repeat('a', 64)
             from policies;
         insert into agreements (school_id, membership_id, version_id, full_name, role_stated,
                                 acknowledgements, content_sha256, ip, user_agent)
             select '{school}', m.id, v.id, 'Sam Old', 'Teacher', '{{}}', repeat('a', 64),
                    '192.0.2.1', 'Old browser'
             from memberships m, policy_versions v;
         insert into audit_events (school_id, action) values ('{school}', 'test_event');
         select seal_waiting(array['{school}'::uuid], 100);"
    ))
    .execute(&pool)
    .await
    .unwrap();
    let heads: Vec<(uuid::Uuid, i64, String)> = sqlx::query_as(
        "select distinct on (school_id) school_id, seq, sha256 from seals order by school_id, seq desc",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(heads.len(), 1);

    all.run(&pool).await.unwrap();
    assert!(
        seal::check_heads(&pool, &heads)
            .await
            .unwrap()
            .intact()
            .is_some()
    );
    let verified = seal::verify(&pool, GRACE)
        .await
        .unwrap()
        .intact()
        .expect("intact");
    assert_eq!(
        verified.heads[0].1,
        heads[0].1 + 1,
        "one seal of attestations follows"
    );
    let (name, attested): (String, i64) = sqlx::query_as(
        "select p.full_name, (select count(*) from seal_entries where kind = 'attest_agreement')
         from agreement_personal p",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((name.as_str(), attested), ("Sam Old", 1));
    pool.close().await;
}

#[tokio::test]
async fn a_personal_field_added_after_sealing_breaks_the_chain() {
    let (app, agreement) = signed_and_sealed().await;
    // Once erasure has removed the last field, the row is gone: the portal's login may insert
    // one again, with words the person never signed.
    erase(
        &app.pool,
        agreement,
        &["full_name", "role_stated", "ip", "user_agent"],
    )
    .await;
    assert!(verdict(&app.pool).await.intact().is_some());
    sqlx::query(
        "insert into agreement_personal (agreement_id, note) values ($1, 'Withdrew consent')",
    )
    .bind(agreement)
    .execute(&app.pool)
    .await
    .unwrap();
    let broken = verdict(&app.pool)
        .await
        .tampered()
        .expect("tampering found");
    assert!(
        broken.contains(&format!(
            "agreement {agreement} has gained its note since it was sealed"
        )),
        "{broken}"
    );
}

#[tokio::test]
async fn an_agreement_sealed_before_its_personal_row_existed_breaks_the_chain() {
    let (app, _) = signed_and_sealed().await;
    // An agreement stored and sealed alone, its name added after the seal.
    let lone: uuid::Uuid = sqlx::query_scalar(
        "insert into agreements (school_id, membership_id, version_id, acknowledgements, content_sha256)
         select a.school_id, m.id, a.version_id, '{}', a.content_sha256
         from agreements a join memberships m on m.school_id = a.school_id and m.id <> a.membership_id
         limit 1
         returning id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    seal::seal_all(&app.pool).await.unwrap();
    sqlx::query("insert into agreement_personal (agreement_id, full_name) values ($1, 'Anyone')")
        .bind(lone)
        .execute(&app.pool)
        .await
        .unwrap();
    let broken = verdict(&app.pool)
        .await
        .tampered()
        .expect("tampering found");
    assert!(
        broken.contains(&format!(
            "agreement {lone} has gained its full_name since it was sealed"
        )),
        "{broken}"
    );
}
