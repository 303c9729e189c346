//! `aup-portal create-admin`: the first account of a school, made by the IT admin at install.

use anyhow::bail;
use sqlx::PgPool;

use crate::auth::password;

/// "St Mary's C of E Primary" -> "st-marys-c-of-e-primary".
pub fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars().filter(|c| *c != '\'' && *c != '’') {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_owned()
}

pub struct NewAdmin<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub school: &'a str,
    pub school_slug: Option<&'a str>,
    pub password: &'a str,
}

pub async fn create_admin(pool: &PgPool, admin: NewAdmin<'_>) -> anyhow::Result<String> {
    let email = admin.email.trim();
    let name = admin.name.trim();
    let school = admin.school.trim();
    if crate::mail::address::check(email).is_err() {
        bail!("--email must be an email address, like it@school.example");
    }
    if name.is_empty() || school.is_empty() {
        bail!("--name and --school must not be empty");
    }
    if let Err(message) = password::check_new(admin.password) {
        bail!("{message}");
    }
    let slug = admin
        .school_slug
        .map_or_else(|| slugify(school), str::to_owned);
    if slug.is_empty() {
        bail!(
            "--school-slug is needed: the school's name has no letters or digits to make one from"
        );
    }
    let hash = password::hash(admin.password.to_owned()).await?;

    let mut tx = pool.begin().await?;
    let existing_school = sqlx::query!("select id, name from schools where slug = $1", slug)
        .fetch_optional(&mut *tx)
        .await?;
    let school_id = match existing_school {
        Some(s) if s.name.eq_ignore_ascii_case(school) => s.id,
        Some(s) => bail!(
            "the web address '{slug}' is already used by {}: choose another with --school-slug",
            s.name
        ),
        None => {
            sqlx::query_scalar!(
                "insert into schools (slug, name) values ($1, $2) returning id",
                slug,
                school
            )
            .fetch_one(&mut *tx)
            .await?
        }
    };
    let existing =
        sqlx::query_scalar!("select id from users where lower(email) = lower($1)", email)
            .fetch_optional(&mut *tx)
            .await?;
    if existing.is_some() {
        bail!("{email} already has an account: sign in with it, or choose another email address");
    }
    let name = crate::domain::names::Name::from_full(name);
    let user_id =
        crate::store::people::create_account(&mut tx, email, &name, Some(hash.as_str())).await?;
    sqlx::query!(
        "insert into memberships (user_id, school_id, grp, job_title, roles)
         values ($1, $2, 'staff', 'IT administrator', '{signer,admin}')",
        user_id,
        school_id
    )
    .execute(&mut *tx)
    .await?;
    crate::audit::record(
        &mut *tx,
        Some(school_id),
        None,
        &crate::audit::Event::AdminCreated { user_id },
    )
    .await?;
    tx.commit().await?;
    Ok(slug)
}

#[cfg(test)]
mod tests {
    use super::slugify;

    #[test]
    fn school_names_become_web_address_slugs() {
        assert_eq!(
            slugify("Cranbrook Primary School"),
            "cranbrook-primary-school"
        );
        assert_eq!(
            slugify("St Mary's C of E Primary"),
            "st-marys-c-of-e-primary"
        );
        assert_eq!(slugify("  Oak -- Hill  "), "oak-hill");
    }
}
