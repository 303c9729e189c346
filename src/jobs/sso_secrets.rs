//! Reminders that single sign-on's client secret runs out: Entra secrets last two years at
//! most, and on the day one expires single sign-on silently stops. Each admin is told 30 days
//! before, 7 days before, and each week after, until a new secret is saved.

use sqlx::PgPool;
use time::Date;

use super::queue::{JobReport, Planned, queue_all};
use crate::paths;
use crate::{
    domain::render,
    mail::{SsoSecretExpiring, first_name},
};

/// Queues the reminders due on `as_of`.
pub async fn sso_secrets(
    pool: &PgPool,
    as_of: Date,
    base_url: &str,
    dry_run: bool,
) -> anyhow::Result<JobReport> {
    let rows = sqlx::query!(
        r#"select o.school_id, o.secret_expires_on as "expires!", s.slug, s.name as school_name,
                  m.id as membership_id, u.email, u.full_name
           from school_sso o
           join schools s on s.id = o.school_id
           join memberships m on m.school_id = o.school_id and m.status = 'active'
                and 'admin' = any(m.roles)
           join users u on u.id = m.user_id
           where o.secret_expires_on <= $1::date + 30
           order by s.name, u.email"#,
        as_of
    )
    .fetch_all(pool)
    .await?;
    let mut planned = vec![];
    for r in rows {
        let days_left = (r.expires - as_of).whole_days();
        let expired = days_left < 0;
        let stage = if expired {
            format!("expired-week-{}", (-days_left - 1) / 7)
        } else if days_left <= 7 {
            "7-days".to_owned()
        } else {
            "30-days".to_owned()
        };
        let expires = render::long_date(r.expires);
        let link = format!("{base_url}{}", paths::SsoSettings::new(&r.slug));
        let subject = if expired {
            format!(
                "{}: single sign-on stopped working on {expires}: its client secret has expired",
                r.school_name
            )
        } else {
            format!(
                "{}: single sign-on's client secret expires on {expires}",
                r.school_name
            )
        };
        let email = SsoSecretExpiring {
            first_name: first_name(&r.full_name),
            school_name: &r.school_name,
            expires: &expires,
            expired,
            link: &link,
        }
        .render(&r.email, subject)?;
        planned.push(Planned {
            school_id: r.school_id,
            dedupe_key: format!(
                "sso-secret:{}:{}:{}:{stage}",
                r.school_id, r.expires, r.membership_id
            ),
            email,
        });
    }
    Ok(queue_all(pool, planned, dry_run).await?)
}
