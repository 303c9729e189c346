//! Tamper evidence: every agreement and audit event is covered, within seconds of being
//! stored, by a SHA-256 hash chain per school. A seal lists the rows it covers with the hash
//! of each, and hashes the seal before it; `aup-portal verify` walks the chains.
//!
//! New rows wait in `seal_queue` (filled by trigger) until the sealer takes them, several
//! schools' at once, and seals each school's rows in a seal of its own, through the database
//! owner's function `seal_waiting` (migrations 20261201140000_runtime_role.sql and
//! 20261209090000_seal_v2_agreements.sql).
//! A row's hash is SHA-256 over `jsonb_build_object(...)::text`, written once in SQL:
//! PostgreSQL writes jsonb with its keys sorted and its spacing fixed, times are UTC. An audit
//! event's (`audit_row_sha256`) covers its columns. An agreement's, under format 2
//! (`agreement_row_sha256_v2`), covers its non-personal columns and a salted commitment to each
//! personal field, which lives in `agreement_personal` and can be erased through
//! `erase_personal` alone (SECURITY.md, "Seal format 2"). A seal's hash is SHA-256 over
//! "aup-seal-v1\n{school}\n{seq}\n{prev}\n" then "{kind} {row_id} {row_sha256}\n" for each
//! entry in (kind, row_id) order; `chain_hash` below computes it again for `verify`. Never
//! change any of them: old seals depend on them.

use std::fmt::Write as _;

use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

/// The kind of row a seal entry covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum SealKind {
    /// An agreement under format 1, whose hash covered its personal fields; each has been
    /// attested again under format 2 (`AttestAgreement`).
    Agreement,
    AuditEvent,
    /// An agreement under format 2: its non-personal fields and commitments to its personal
    /// ones (SECURITY.md, "Seal format 2").
    AgreementV2,
    /// An agreement first sealed under format 1, attested once under format 2.
    AttestAgreement,
}

impl SealKind {
    /// The word stored, and the one the seal's text is made of.
    pub fn as_str(self) -> &'static str {
        match self {
            SealKind::Agreement => "agreement",
            SealKind::AuditEvent => "audit_event",
            SealKind::AgreementV2 => "agreement_v2",
            SealKind::AttestAgreement => "attest_agreement",
        }
    }
}

impl std::fmt::Display for SealKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SealKind::Agreement | SealKind::AgreementV2 | SealKind::AttestAgreement => "agreement",
            SealKind::AuditEvent => "audit event",
        })
    }
}

/// Audit events outside any school (sign-ins) are sealed in the chain of the nil school id.
pub const NO_SCHOOL: Uuid = Uuid::nil();
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(sqlx::FromRow, Debug)]
struct Entry {
    kind: SealKind,
    row_id: String,
    row_sha256: String,
    /// Format 2's commitments to the row's personal fields, as it was hashed with them.
    #[sqlx(default)]
    commitments: Option<sqlx::types::JsonValue>,
}

fn chain_hash(school: Uuid, seq: i64, prev: &str, entries: &[Entry]) -> String {
    let mut text = format!("aup-seal-v1\n{school}\n{seq}\n{prev}\n");
    for e in entries {
        let _ = writeln!(text, "{} {} {}", e.kind.as_str(), e.row_id, e.row_sha256);
    }
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Rows taken off the queue at most in one transaction: a school with more is sealed in parts.
const MOST: i64 = 2_000;

/// Seals the rows waiting of `schools`, at most 2,000, in one transaction: one seal per
/// school. Returns how many rows it covered. The database owner's `seal_waiting` does it all,
/// so the portal's own login never writes a seal or takes a row off the queue itself.
async fn seal_schools(pool: &PgPool, schools: &[Uuid]) -> sqlx::Result<usize> {
    let covered: i32 = sqlx::query_scalar("select seal_waiting($1, $2)")
        .bind(schools)
        .bind(i32::try_from(MOST).unwrap_or(i32::MAX))
        .fetch_one(pool)
        .await?;
    Ok(usize::try_from(covered).unwrap_or(0))
}

/// Seals every row waiting when it starts; returns how many rows it covered. Each school's
/// rows go in one seal, schools together in transactions of about 2,000 rows. A school's rows
/// that arrive after its seal wait for the next call, so that a busy school's rows make one
/// seal a call, not one for each transaction.
pub async fn seal_all(pool: &PgPool) -> sqlx::Result<usize> {
    let mut covered = 0;
    loop {
        let waiting: Vec<(Uuid, i64)> =
            sqlx::query_as("select school_id, count(*) from seal_queue group by 1")
                .fetch_all(pool)
                .await?;
        let mut more = false;
        let mut group = vec![];
        let mut rows = 0;
        for (n, (school, count)) in waiting.iter().enumerate() {
            group.push(*school);
            rows += count;
            let next = waiting.get(n + 1).map_or(0, |(_, count)| *count);
            if n + 1 == waiting.len() || rows + next > MOST {
                let sealed = seal_schools(pool, &group).await?;
                covered += sealed;
                // A school with more than one transaction takes: the rest, straight away.
                more |= i64::try_from(sealed).unwrap_or(i64::MAX) >= MOST;
                group.clear();
                rows = 0;
            }
        }
        if !more {
            return Ok(covered);
        }
    }
}

/// Seals every few seconds, for as long as the portal runs.
pub async fn run_forever(pool: PgPool) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3));
    loop {
        tick.tick().await;
        if let Err(err) = seal_all(&pool).await {
            tracing::warn!(error = %err, "sealing");
        }
    }
}

/// A chain's head as it is written everywhere (by `verify`, in the daily email, in the file
/// `verify --expect` reads): "aup-head v1 <school> <seq> <sha256>".
pub fn head_line(school: Uuid, seq: i64, sha256: &str) -> String {
    format!("aup-head v1 {school} {seq} {sha256}")
}

/// The heads named in `text`: every line that starts with a head line (anything after it,
/// such as the school's name, is ignored).
pub fn parse_heads(text: &str) -> Result<Vec<(Uuid, i64, String)>, String> {
    let mut heads = vec![];
    for (n, line) in text.lines().enumerate() {
        let Some(rest) = line.trim().strip_prefix("aup-head v1 ") else {
            continue;
        };
        let mut words = rest.split_whitespace();
        let parsed = (|| {
            let school = words.next()?.parse::<Uuid>().ok()?;
            let seq = words.next()?.parse::<i64>().ok()?;
            let sha = words.next()?;
            (sha.len() == 64 && sha.chars().all(|c| c.is_ascii_hexdigit()))
                .then(|| (school, seq, sha.to_ascii_lowercase()))
        })();
        heads.push(parsed.ok_or_else(|| format!("line {}: not a head line: {line}", n + 1))?);
    }
    if heads.is_empty() {
        return Err("the file holds no lines starting 'aup-head v1'".to_owned());
    }
    Ok(heads)
}

/// Each expected head still in its chain: seal N of that school with hash H. `verify` has
/// checked that each chain links back to its start, so a chain that still holds seal N with
/// hash H has kept everything up to it.
pub async fn check_heads(
    pool: &PgPool,
    expected: &[(Uuid, i64, String)],
) -> anyhow::Result<Verdict<()>> {
    let mut problems = vec![];
    for (school, seq, sha) in expected {
        let found: Option<String> =
            sqlx::query_scalar("select sha256 from seals where school_id = $1 and seq = $2")
                .bind(school)
                .bind(seq)
                .fetch_optional(pool)
                .await?;
        match found {
            Some(found) if found == *sha => {}
            Some(found) => problems.push(format!(
                "school {school}: seal {seq} is not the one recorded: its hash is {found}, the record says {sha}"
            )),
            None => problems.push(format!(
                "school {school}: seal {seq}, which the record names, is not in the chain"
            )),
        }
    }
    Ok(if problems.is_empty() {
        Verdict::Intact(())
    } else {
        Verdict::Tampered(problems.join("\n"))
    })
}

/// What a check of the evidence found.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict<T> {
    /// Nothing is wrong: with what was checked.
    Intact(T),
    /// What has been changed, removed or left unsealed, in words.
    Tampered(String),
}

impl<T> Verdict<T> {
    /// What was checked, if the evidence is intact.
    pub fn intact(self) -> Option<T> {
        match self {
            Verdict::Intact(checked) => Some(checked),
            Verdict::Tampered(_) => None,
        }
    }

    /// What was found, if the evidence has been tampered with.
    pub fn tampered(self) -> Option<String> {
        match self {
            Verdict::Intact(_) => None,
            Verdict::Tampered(found) => Some(found),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct Verified {
    pub chains: usize,
    pub seals: usize,
    pub rows: usize,
    pub unsealed: usize,
    /// The last seal of each chain: record these outside the database, so that even someone
    /// able to rewrite the whole chain cannot do so unnoticed.
    pub heads: Vec<(Uuid, i64, String)>,
}

/// How long a new row may wait for the sealer before `verify` counts it as never sealed.
pub const GRACE: time::Duration = time::Duration::minutes(5);

/// Walks every chain; the first break, in words, if there is one. Then every agreement,
/// audit event and scan that no seal covers, once `grace` has passed since it was stored,
/// and every queue row whose row is gone: a row can be kept from the sealer by whoever can
/// write to the queue, and must not pass unnoticed.
pub async fn verify(pool: &PgPool, grace: time::Duration) -> anyhow::Result<Verdict<Verified>> {
    let mut conn = pool.acquire().await?;
    let schools: Vec<Uuid> = sqlx::query_scalar("select distinct school_id from seals order by 1")
        .fetch_all(&mut *conn)
        .await?;
    let mut verified = Verified {
        chains: 0,
        seals: 0,
        rows: 0,
        unsealed: 0,
        heads: vec![],
    };
    for school in &schools {
        let seals: Vec<(i64, String, String)> = sqlx::query_as(
            "select seq, prev_sha256, sha256 from seals where school_id = $1 order by seq",
        )
        .bind(school)
        .fetch_all(&mut *conn)
        .await?;
        let mut prev = GENESIS.to_owned();
        for (expected_seq, (seq, stored_prev, stored_sha)) in (1..).zip(&seals) {
            if *seq != expected_seq {
                return Ok(Verdict::Tampered(format!(
                    "school {school}: seal {expected_seq} is missing"
                )));
            }
            if *stored_prev != prev {
                return Ok(Verdict::Tampered(format!(
                    "school {school}: seal {seq} does not follow seal {}",
                    seq - 1
                )));
            }
            let entries: Vec<Entry> = sqlx::query_as(
                "select kind, row_id, row_sha256, commitments from seal_entries
                 where school_id = $1 and seq = $2 order by kind, row_id",
            )
            .bind(school)
            .bind(seq)
            .fetch_all(&mut *conn)
            .await?;
            if chain_hash(*school, *seq, &prev, &entries) != *stored_sha {
                return Ok(Verdict::Tampered(format!(
                    "school {school}: seal {seq} does not match the rows it lists"
                )));
            }
            for entry in &entries {
                if let Some(problem) = entry_problem(&mut conn, entry).await? {
                    return Ok(Verdict::Tampered(format!(
                        "school {school}: seal {seq}: {} {} {problem}",
                        entry.kind, entry.row_id
                    )));
                }
                if entry.kind != SealKind::Agreement {
                    verified.rows += 1;
                }
            }
            prev = stored_sha.clone();
            verified.seals += 1;
        }
        if let Some((seq, _, sha)) = seals.last() {
            verified.heads.push((*school, *seq, sha.clone()));
        }
        verified.chains += 1;
    }
    // A scan's bytes must still be what its fingerprint (sealed with its agreement) says.
    let changed_scan: Option<Uuid> = sqlx::query_scalar(
        "select id from scans where encode(sha256(bytes), 'hex') <> sha256 limit 1",
    )
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(scan) = changed_scan {
        return Ok(Verdict::Tampered(format!(
            "scan {scan} has been changed since it was stored"
        )));
    }
    let unsealed = never_sealed(&mut conn, grace).await?;
    if !unsealed.is_empty() {
        return Ok(Verdict::Tampered(unsealed.join("\n")));
    }
    verified.unsealed = usize::try_from(
        sqlx::query_scalar::<_, i64>("select count(*) from seal_queue")
            .fetch_one(&mut *conn)
            .await?,
    )
    .unwrap_or(0);
    Ok(Verdict::Intact(verified))
}

/// What is wrong with the row `entry` covers, as the end of a sentence ("has been deleted"),
/// or None. A format-1 agreement is checked through its attestation, since its personal
/// fields have moved; a format-2 one against its non-personal fields and, field by field,
/// the commitments to its personal ones (the database's `agreement_entry_problem`).
async fn entry_problem(
    conn: &mut sqlx::PgConnection,
    entry: &Entry,
) -> sqlx::Result<Option<String>> {
    match entry.kind {
        SealKind::Agreement => {
            let attested: bool = sqlx::query_scalar(
                "select exists (select 1 from seal_entries where kind = 'attest_agreement' and row_id = $1)",
            )
            .bind(&entry.row_id)
            .fetch_one(&mut *conn)
            .await?;
            Ok((!attested)
                .then(|| "was sealed under format 1 and never attested under format 2".to_owned()))
        }
        SealKind::AgreementV2 | SealKind::AttestAgreement => {
            sqlx::query_scalar("select agreement_entry_problem($1, $2, $3)")
                .bind(&entry.row_id)
                .bind(&entry.row_sha256)
                .bind(&entry.commitments)
                .fetch_one(&mut *conn)
                .await
        }
        SealKind::AuditEvent => {
            let now: Option<String> = sqlx::query_scalar(
                "select audit_row_sha256(e) from audit_events e where e.id::text = $1",
            )
            .bind(&entry.row_id)
            .fetch_optional(&mut *conn)
            .await?;
            Ok(match now {
                None => Some("has been deleted".to_owned()),
                Some(hash) if hash != entry.row_sha256 => {
                    Some("has been changed since it was sealed".to_owned())
                }
                Some(_) => None,
            })
        }
    }
}

/// Rows stored more than `grace` ago that no seal covers, and queue rows whose row is gone,
/// each as a sentence.
async fn never_sealed(
    conn: &mut sqlx::PgConnection,
    grace: time::Duration,
) -> sqlx::Result<Vec<String>> {
    let cutoff = time::OffsetDateTime::now_utc() - grace;
    let rows: Vec<(String, String, time::OffsetDateTime)> = sqlx::query_as(
        "select 'agreement', a.id::text, a.recorded_at from agreements a
         where a.recorded_at < $1
           and not exists (select 1 from seal_entries e
                           where e.kind in ('agreement', 'agreement_v2') and e.row_id = a.id::text)
         union all
         select 'audit event', e.id::text, e.at from audit_events e
         where e.at < $1
           and not exists (select 1 from seal_entries s where s.kind = 'audit_event' and s.row_id = e.id::text)
         union all
         select 'scan', s.id::text, s.uploaded_at from scans s
         where s.uploaded_at < $1
           and not exists (select 1 from agreements a
                           join seal_entries e on e.kind in ('agreement', 'agreement_v2')
                                                  and e.row_id = a.id::text
                           where a.scan_id = s.id)
         order by 3",
    )
    .bind(cutoff)
    .fetch_all(&mut *conn)
    .await?;
    let mut found: Vec<String> = rows
        .into_iter()
        .map(|(what, id, at)| {
            format!(
                "{what} {id} is not covered by any seal (stored {})",
                crate::clock::date_time(at)
            )
        })
        .collect();
    let orphans: Vec<(SealKind, String)> = sqlx::query_as(
        "select q.kind, q.row_id from seal_queue q
         where (q.kind in ('agreement', 'attest_agreement') and not exists (select 1 from agreements a where a.id::text = q.row_id))
            or (q.kind = 'audit_event' and not exists (select 1 from audit_events e where e.id::text = q.row_id))
         order by 1, 2",
    )
    .fetch_all(&mut *conn)
    .await?;
    found.extend(
        orphans
            .into_iter()
            .map(|(kind, id)| format!("the seal queue lists {kind} {id}, which does not exist")),
    );
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_hash_of_the_test_vector_never_changes() {
        let entries = [Entry {
            kind: SealKind::Agreement,
            row_id: "00000000-0000-0000-0000-000000000001".into(),
            row_sha256: "ab".repeat(32),
            commitments: None,
        }];
        assert_eq!(
            chain_hash(NO_SCHOOL, 1, GENESIS, &entries),
            "dda5639eec5baeed25869817622f068832fd267d2eac1f77a223d1fc06422442"
        );
    }
}
