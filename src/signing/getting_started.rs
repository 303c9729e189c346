//! The first admin's "Getting started" checklist on the school's home page. Each step ticks
//! itself off from what the school holds, so nothing is stored: the SBM and DPO are added,
//! people imported, a policy published, email set up (one email sent), and, optionally,
//! sign-in through the school's own provider.

use uuid::Uuid;

use crate::paths;

/// One step: what to do, where it is done, and whether it is.
pub struct Step {
    pub title: &'static str,
    pub hint: &'static str,
    pub href: String,
    pub done: bool,
    pub optional: bool,
}

pub struct Checklist {
    pub steps: Vec<Step>,
}

impl Checklist {
    pub fn done(&self) -> usize {
        self.steps.iter().filter(|s| s.done).count()
    }

    /// Shown until every step that is not optional is done.
    pub fn finished(&self) -> bool {
        self.steps.iter().all(|s| s.done || s.optional)
    }
}

/// The school's checklist; `mail_configured` is whether this server can send email.
pub async fn checklist(
    db: &sqlx::PgPool,
    school_id: Uuid,
    slug: &str,
    mail_configured: bool,
) -> sqlx::Result<Checklist> {
    let found = sqlx::query!(
        r#"select
             exists (select 1 from memberships where school_id = $1 and status <> 'left'
                       and 'sbm' = any (roles))
             and exists (select 1 from memberships where school_id = $1 and status <> 'left'
                           and 'dpo' = any (roles)) as "managers!",
             exists (select 1 from audit_events where school_id = $1
                       and action = 'people_imported') as "imported!",
             exists (select 1 from policy_versions where school_id = $1
                       and status = 'published') as "published!",
             exists (select 1 from outbox where school_id = $1 and status = 'sent') as "sent!",
             exists (select 1 from school_sso where school_id = $1) as "sso!""#,
        school_id
    )
    .fetch_one(db)
    .await?;
    let step = |title, hint, href: String, done| Step {
        title,
        hint,
        href,
        done,
        optional: false,
    };
    Ok(Checklist {
        steps: vec![
            step(
                "Add the school business manager and data protection officer",
                "Give each their role when you add them: the SBM keeps the list of people, the DPO writes the policy.",
                paths::NewPerson::new(slug).to_string(),
                found.managers,
            ),
            step(
                "Import people",
                "Upload your staff and governors from a spreadsheet or your MIS export.",
                paths::ImportPeople::new(slug).to_string(),
                found.imported,
            ),
            step(
                "Create or import the policy",
                "Start from one of the sample policies, or paste your own, then publish it.",
                paths::Policies::new(slug).to_string(),
                found.published,
            ),
            step(
                "Set up email",
                if mail_configured {
                    "Send a test email to check that the portal's emails arrive."
                } else {
                    "This server cannot send email yet: the Email page says what it needs."
                },
                paths::Mail::new(slug).to_string(),
                mail_configured && found.sent,
            ),
            Step {
                optional: true,
                ..step(
                    "Set up sign-in",
                    "Let staff sign in with their school Microsoft or Google account. Without it, they create a password.",
                    paths::SsoSettings::new(slug).to_string(),
                    found.sso,
                )
            },
        ],
    })
}
