//! Signatures written in groups. On an INSET morning hundreds of people press "Sign" within
//! the same second; writing each agreement in a statement and a commit of its own spends
//! most of the database's time on commits. Here a request hands its agreement to a writer
//! task and waits: each writer takes every agreement waiting at that moment and stores them
//! all in one statement and one commit, then answers each request. A request's receipt is
//! shown only after the commit that stored it, so a receipt a person saw is never lost.

use std::{collections::HashSet, sync::Arc};

use sqlx::{PgPool, types::ipnetwork::IpNetwork};
use tokio::sync::{Mutex, mpsc, oneshot};
use uuid::Uuid;

use crate::{db::database_unavailable, mail::OutgoingEmail};

/// Writers working at once: while one waits for its commit, the next gathers a group.
const WRITERS: usize = 2;
/// The most agreements in one statement.
const MOST: usize = 256;

/// Why an agreement was not stored.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The writer tasks have ended (the portal is stopping).
    #[error("the signature writer has stopped")]
    Stopped,
    /// The database is away; the cause is for the log.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Where the receipt email says the receipt's reference, such as CRA-2026-000123: the
/// database gives it as it stores the agreement, and puts it there in the same statement.
pub const REFERENCE_PLACEHOLDER: &str = "AUP-RECEIPT-REFERENCE";

/// One agreement, with its receipt email.
pub struct NewAgreement {
    pub id: Uuid,
    pub school_id: Uuid,
    pub membership_id: Uuid,
    pub version_id: Uuid,
    pub full_name: String,
    pub role_stated: Option<String>,
    pub acknowledgements: serde_json::Value,
    pub content_sha256: String,
    pub ip: IpNetwork,
    pub user_agent: Option<String>,
    pub receipt: OutgoingEmail,
}

struct Job {
    agreement: NewAgreement,
    done: oneshot::Sender<Result<bool, WriteError>>,
}

/// Where requests hand in agreements.
#[derive(Clone, Debug)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer tasks; they end when the last `Writer` is dropped.
    pub fn start(pool: PgPool) -> Writer {
        let (jobs, waiting) = mpsc::channel::<Job>(4 * MOST);
        let waiting = Arc::new(Mutex::new(waiting));
        for _ in 0..WRITERS {
            tokio::spawn(write_groups(pool.clone(), waiting.clone()));
        }
        Writer { jobs }
    }

    /// Stores `agreement` (with its receipt email) unless this person has
    /// signed this version already or it is no longer the published one: true if stored.
    pub async fn write(&self, agreement: NewAgreement) -> Result<bool, WriteError> {
        let (done, answer) = oneshot::channel();
        self.jobs
            .send(Job { agreement, done })
            .await
            .map_err(|_| WriteError::Stopped)?;
        answer.await.unwrap_or(Err(WriteError::Stopped))
    }
}

async fn write_groups(pool: PgPool, waiting: Arc<Mutex<mpsc::Receiver<Job>>>) {
    let mut group = Vec::with_capacity(MOST);
    loop {
        {
            let mut waiting = waiting.lock().await;
            if waiting.recv_many(&mut group, MOST).await == 0 {
                return;
            }
        }
        let jobs = std::mem::take(&mut group);
        let agreements: Vec<&NewAgreement> = jobs.iter().map(|job| &job.agreement).collect();
        match insert(&pool, &agreements).await {
            Ok(stored) => {
                for job in jobs {
                    let _ = job.done.send(Ok(stored.contains(&job.agreement.id)));
                }
            }
            // The database is away: every request in the group gets the 503 page.
            Err(err) if database_unavailable(&err) => {
                let cause = err.to_string();
                for job in jobs {
                    let _ = job.done.send(Err(WriteError::Unavailable(cause.clone())));
                }
            }
            // One agreement the database refused must not fail the others: each on its own.
            Err(_) => {
                for job in jobs {
                    let alone = insert(&pool, &[&job.agreement]).await;
                    let _ = job.done.send(
                        alone
                            .map(|stored| stored.contains(&job.agreement.id))
                            .map_err(WriteError::from),
                    );
                }
            }
        }
    }
}

/// One statement for the whole group, so one round trip and one commit: each agreement,
/// only while its version is still the published one and only once per person; its receipt
/// email, queued in the outbox as `mail::queue` would. Nothing is written for an agreement
/// that is not. An online agreement is its own audit record (who, when, what, from where;
/// append-only and sealed), so no audit event repeats it: the audit log reads signings from
/// `agreements`. Returns the ids stored.
async fn insert(pool: &PgPool, group: &[&NewAgreement]) -> Result<HashSet<Uuid>, sqlx::Error> {
    let column = |f: fn(&NewAgreement) -> Uuid| group.iter().map(|a| f(a)).collect::<Vec<_>>();
    let text = |f: for<'a> fn(&'a NewAgreement) -> &'a str| {
        group.iter().map(|a| f(a)).collect::<Vec<&str>>()
    };
    let stored = sqlx::query_scalar!(
        r#"with input as (
             select * from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[],
                                  $6::text[], $7::jsonb[], $8::text[], $9::inet[], $10::text[],
                                  $11::text[], $12::text[], $13::text[], $14::text[])
               as i(id, school_id, membership_id, version_id, full_name, role_stated,
                    acknowledgements, content_sha256, ip, user_agent, to_address, subject,
                    body_text, body_html)
           ), agreement as (
             insert into agreements
               (id, school_id, membership_id, version_id, acknowledgements, content_sha256, method)
             select i.id, i.school_id, i.membership_id, i.version_id, i.acknowledgements,
                    i.content_sha256, 'online'
             from input i
             join policy_versions v on v.id = i.version_id and v.school_id = i.school_id
             where v.status = 'published'
             on conflict on constraint agreements_membership_version_key do nothing
             returning id, school_id, reference
           ), personal as (
             -- Personal fields in a table of their own, so they can be erased and the seal
             -- still verify (SECURITY.md, "Seal format 2").
             insert into agreement_personal (agreement_id, full_name, role_stated, ip, user_agent)
             select a.id, i.full_name, i.role_stated, i.ip, i.user_agent
             from agreement a join input i on i.id = a.id
           ), receipt as (
             insert into outbox (school_id, dedupe_key, to_address, subject, body_text, body_html)
             select a.school_id, 'receipt:' || a.id, i.to_address, i.subject,
                    replace(i.body_text, $15, a.reference), replace(i.body_html, $15, a.reference)
             from agreement a join input i on i.id = a.id
           )
           select id as "id!" from agreement"#,
        &column(|a| a.id),
        &column(|a| a.school_id),
        &column(|a| a.membership_id),
        &column(|a| a.version_id),
        &text(|a| &a.full_name) as &[&str],
        &group
            .iter()
            .map(|a| a.role_stated.clone())
            .collect::<Vec<_>>() as &[Option<String>],
        &group
            .iter()
            .map(|a| a.acknowledgements.clone())
            .collect::<Vec<_>>(),
        &text(|a| &a.content_sha256) as &[&str],
        &group.iter().map(|a| a.ip).collect::<Vec<_>>(),
        &group
            .iter()
            .map(|a| a.user_agent.clone())
            .collect::<Vec<_>>() as &[Option<String>],
        &text(|a| &a.receipt.to) as &[&str],
        &text(|a| &a.receipt.subject) as &[&str],
        &text(|a| &a.receipt.text) as &[&str],
        &text(|a| &a.receipt.html) as &[&str],
        REFERENCE_PLACEHOLDER,
    )
    .fetch_all(pool)
    .await?;
    Ok(stored.into_iter().collect())
}
