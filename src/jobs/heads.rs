//! The chain heads, kept outside the portal: once a day, if anything was sealed, each
//! school's DPOs and admins are emailed the last seal of that school's chain, one email per
//! person however many schools they serve. Someone able to rebuild a chain in the database
//! cannot reach those inboxes; `aup-portal verify --expect` checks a chain against them.

use sqlx::PgPool;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::{
    mail::{self, ChainHeads},
    seal,
};

/// One recipient's heads.
struct Recipient {
    user_id: Option<Uuid>,
    email: String,
    lines: Vec<String>,
}

/// Queues the day's chain-head emails for the chains sealed in the day before `now`; at most
/// one a day per recipient. The chain outside any school goes to `operator`, if set. Returns
/// a line per email queued (or, with `dry_run`, that would be).
pub async fn heads(
    pool: &PgPool,
    as_of: Date,
    now: OffsetDateTime,
    operator: Option<&str>,
    dry_run: bool,
) -> anyhow::Result<Vec<String>> {
    let rows = sqlx::query!(
        r#"select h.school_id as "school_id!", h.seq as "seq!", h.sha256 as "sha256!",
                  s.name as "school_name?", u.id as "user_id?", u.email as "email?"
           from (select distinct on (school_id) school_id, seq, sha256, sealed_at from seals
                 order by school_id, seq desc) h
           left join schools s on s.id = h.school_id
           left join memberships m on m.school_id = h.school_id and m.status = 'active'
                                  and m.roles && array['dpo', 'admin']::text[]
           left join users u on u.id = m.user_id
           where h.sealed_at > $1::timestamptz - interval '1 day'
           order by u.email, h.school_id"#,
        now
    )
    .fetch_all(pool)
    .await?;
    let mut recipients: Vec<Recipient> = vec![];
    for row in rows {
        let (user_id, email) = match (row.user_id, row.email) {
            (Some(id), Some(email)) => (Some(id), email),
            // The chain of events outside any school: the operator's.
            _ if row.school_id == seal::NO_SCHOOL => match operator {
                Some(operator) => (None, operator.to_owned()),
                None => continue,
            },
            _ => continue,
        };
        let line = format!(
            "{}  ({})",
            seal::head_line(row.school_id, row.seq, &row.sha256),
            row.school_name
                .as_deref()
                .unwrap_or("events outside any school")
        );
        match recipients.last_mut() {
            Some(last) if last.email == email => last.lines.push(line),
            _ => recipients.push(Recipient {
                user_id,
                email,
                lines: vec![line],
            }),
        }
    }
    let mut report = vec![];
    for recipient in recipients {
        let key = format!(
            "chain-heads:{as_of}:{}",
            recipient
                .user_id
                .map_or_else(|| recipient.email.to_lowercase(), |id| id.to_string())
        );
        let lines = recipient.lines.join("\n");
        let message = ChainHeads { lines: &lines }.render(
            &recipient.email,
            format!("AUP Portal: the evidence chain heads for {as_of}"),
        )?;
        if dry_run {
            report.push(format!("would send <{}>: {}", message.to, message.subject));
            continue;
        }
        let mut tx = pool.begin().await?;
        if mail::queue(&mut tx, None, &key, &message).await? {
            report.push(format!("queued <{}>: {}", message.to, message.subject));
        }
        tx.commit().await?;
    }
    Ok(report)
}
