//! A school's single sign-on, and the provider accounts linked to people's accounts.

use sqlx::PgExecutor;
use time::Date;
use uuid::Uuid;

use crate::domain::statuses::SsoProvider;

/// A school's single sign-on, as stored; the client secret still sealed.
#[derive(Clone, Debug)]
pub struct SchoolSso {
    pub provider: SsoProvider,
    pub issuer: String,
    pub tenant_id: Option<Uuid>,
    pub hosted_domain: Option<String>,
    pub client_id: String,
    pub client_secret_sealed: String,
    pub secret_expires_on: Option<Date>,
    pub email_domains: Vec<String>,
    pub trust_provider_mfa: bool,
}

/// The context a client secret is sealed under: one school's, so it opens for no other.
pub fn secret_context(school_id: Uuid) -> String {
    format!("sso-client-secret {school_id}")
}

pub async fn for_school(
    db: impl PgExecutor<'_>,
    school_id: Uuid,
) -> sqlx::Result<Option<SchoolSso>> {
    sqlx::query_as!(
        SchoolSso,
        r#"select provider as "provider: SsoProvider", issuer, tenant_id, hosted_domain,
                  client_id, client_secret_sealed, secret_expires_on, email_domains,
                  trust_provider_mfa
           from school_sso where school_id = $1"#,
        school_id
    )
    .fetch_optional(db)
    .await
}

/// A school by its slug, and its single sign-on if it has one, in one look-up.
pub async fn by_slug(
    db: impl PgExecutor<'_>,
    slug: &str,
) -> sqlx::Result<Option<(Uuid, Option<SchoolSso>)>> {
    let row = sqlx::query!(
        r#"select s.id, o.provider as "provider?: SsoProvider", o.issuer as "issuer?",
                  o.tenant_id, o.hosted_domain, o.client_id as "client_id?",
                  o.client_secret_sealed as "client_secret_sealed?", o.secret_expires_on,
                  o.email_domains as "email_domains?", o.trust_provider_mfa as "trust_provider_mfa?"
           from schools s left join school_sso o on o.school_id = s.id
           where s.slug = $1"#,
        slug
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| {
        let sso = match (r.provider, r.issuer, r.client_id, r.client_secret_sealed) {
            (Some(provider), Some(issuer), Some(client_id), Some(client_secret_sealed)) => {
                Some(SchoolSso {
                    provider,
                    issuer,
                    tenant_id: r.tenant_id,
                    hosted_domain: r.hosted_domain,
                    client_id,
                    client_secret_sealed,
                    secret_expires_on: r.secret_expires_on,
                    email_domains: r.email_domains.unwrap_or_default(),
                    trust_provider_mfa: r.trust_provider_mfa.unwrap_or(false),
                })
            }
            _ => None,
        };
        (r.id, sso)
    }))
}

/// Sets up (or replaces) a school's single sign-on.
pub async fn save(db: impl PgExecutor<'_>, school_id: Uuid, sso: &SchoolSso) -> sqlx::Result<()> {
    sqlx::query!(
        "insert into school_sso (school_id, provider, issuer, tenant_id, hosted_domain, client_id,
                                 client_secret_sealed, secret_expires_on, email_domains,
                                 trust_provider_mfa)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         on conflict (school_id) do update set
             provider = excluded.provider, issuer = excluded.issuer,
             tenant_id = excluded.tenant_id, hosted_domain = excluded.hosted_domain,
             client_id = excluded.client_id, client_secret_sealed = excluded.client_secret_sealed,
             secret_expires_on = excluded.secret_expires_on,
             email_domains = excluded.email_domains,
             trust_provider_mfa = excluded.trust_provider_mfa, updated_at = now()",
        school_id,
        sso.provider as SsoProvider,
        sso.issuer,
        sso.tenant_id,
        sso.hosted_domain,
        sso.client_id,
        sso.client_secret_sealed,
        sso.secret_expires_on,
        &sso.email_domains,
        sso.trust_provider_mfa
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Switches a school's single sign-on off; true if it was on.
pub async fn remove(db: impl PgExecutor<'_>, school_id: Uuid) -> sqlx::Result<bool> {
    let removed = sqlx::query!("delete from school_sso where school_id = $1", school_id)
        .execute(db)
        .await?;
    Ok(removed.rows_affected() == 1)
}

/// A school a person may sign in to, found by their address's domain.
pub struct SchoolChoice {
    pub slug: String,
    pub name: String,
}

/// The schools whose single sign-on lists `domain` among their email domains.
pub async fn schools_for_domain(
    db: impl PgExecutor<'_>,
    domain: &str,
) -> sqlx::Result<Vec<SchoolChoice>> {
    sqlx::query_as!(
        SchoolChoice,
        "select s.slug, s.name from school_sso o join schools s on s.id = o.school_id
         where o.email_domains @> array[lower($1)] order by s.name",
        domain
    )
    .fetch_all(db)
    .await
}

/// The account a provider account is linked to.
pub async fn linked_user(
    db: impl PgExecutor<'_>,
    issuer: &str,
    subject: &str,
) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar!(
        "select user_id from sso_identities where issuer = $1 and subject = $2",
        issuer,
        subject
    )
    .fetch_optional(db)
    .await
}

/// Links a provider account to `user_id`; false if it is already another account's.
pub async fn link(
    db: impl PgExecutor<'_>,
    issuer: &str,
    subject: &str,
    user_id: Uuid,
) -> sqlx::Result<bool> {
    let owner = sqlx::query_scalar!(
        "with added as (
             insert into sso_identities (issuer, subject, user_id) values ($1, $2, $3)
             on conflict (issuer, subject) do nothing
             returning user_id
         )
         select user_id as \"user_id!\" from added
         union all
         select user_id from sso_identities where issuer = $1 and subject = $2",
        issuer,
        subject,
        user_id
    )
    .fetch_one(db)
    .await?;
    Ok(owner == user_id)
}
