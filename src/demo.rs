//! The demo school: Cranbrook Primary School, its two sample policies published, and five
//! demo accounts. Idempotent: each `demo` start sets the demo accounts' password again.

use anyhow::Context;
use rand::Rng;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    auth::password,
    domain::{groups::Group, roles::Role},
};

pub const SCHOOL_SLUG: &str = "cranbrook";
pub const SCHOOL_NAME: &str = "Cranbrook Primary School";

pub struct DemoPerson {
    pub email: &'static str,
    pub name: &'static str,
    pub grp: Group,
    pub job_title: &'static str,
    pub roles: &'static [Role],
}

pub const PEOPLE: [DemoPerson; 5] = [
    DemoPerson {
        email: "staff@cranbrook.example",
        name: "Sam Taylor",
        grp: Group::Staff,
        job_title: "Class teacher",
        roles: &[Role::Signer],
    },
    DemoPerson {
        email: "governor@cranbrook.example",
        name: "Alex Morgan",
        grp: Group::Governor,
        job_title: "Parent governor",
        roles: &[Role::Signer],
    },
    DemoPerson {
        email: "sbm@cranbrook.example",
        name: "Priya Shah",
        grp: Group::Staff,
        job_title: "School business manager",
        roles: &[Role::Signer, Role::Sbm],
    },
    DemoPerson {
        email: "dpo@cranbrook.example",
        name: "Jordan Lee",
        grp: Group::External,
        job_title: "Data protection officer",
        roles: &[Role::Dpo],
    },
    DemoPerson {
        email: "admin@cranbrook.example",
        name: "Robin Hughes",
        grp: Group::External,
        job_title: "IT manager",
        roles: &[Role::Admin],
    },
];

/// A password of 20 letters and digits in groups of five, easy to read out on an INSET morning.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..4)
        .map(|_| {
            (0..5)
                .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// Creates (or refreshes) the demo school and returns its id.
pub async fn seed(pool: &PgPool, demo_password: &str) -> anyhow::Result<Uuid> {
    let hash = password::hash(demo_password.to_owned()).await?;
    let mut tx = pool.begin().await?;
    // The demo lets its SBM and DPO in with a password alone, so it can be tried at once;
    // a real school created with create-admin requires a second factor for them.
    let school_id = sqlx::query_scalar!(
        "insert into schools (slug, name, require_two_factor) values ($1, $2, false)
         on conflict (slug) do update set name = excluded.name returning id",
        SCHOOL_SLUG,
        SCHOOL_NAME
    )
    .fetch_one(&mut *tx)
    .await?;
    let mut dpo = None;
    for person in &PEOPLE {
        let name = crate::domain::names::Name::from_full(person.name);
        let user_id = sqlx::query_scalar!(
            "insert into users (email, full_name, legal_forename, surname, signing_name, password_hash)
             values ($1, $2, $3, $4, $5, $6)
             on conflict (lower(email)) do update set full_name = excluded.full_name,
                 legal_forename = excluded.legal_forename, surname = excluded.surname,
                 signing_name = excluded.signing_name, password_hash = excluded.password_hash
             returning id",
            person.email,
            name.shown(),
            name.legal_forename,
            name.surname,
            name.signing_name,
            hash
        )
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query!(
            "insert into memberships (user_id, school_id, grp, job_title, roles) values ($1, $2, $3, $4, $5)
             on conflict on constraint memberships_user_school_key do update
                 set grp = excluded.grp, job_title = excluded.job_title, roles = excluded.roles,
                     status = 'active', left_on = null, pending_name = null,
                     joined_at = coalesce(memberships.joined_at, now())",
            user_id,
            school_id,
            person.grp as Group,
            person.job_title,
            person.roles as &[Role]
        )
        .execute(&mut *tx)
        .await?;
        if person.roles.contains(&Role::Dpo) {
            dpo = Some(user_id);
        }
    }
    let has_policies = sqlx::query_scalar!(
        r#"select exists (select 1 from policies where school_id = $1) as "exists!""#,
        school_id
    )
    .fetch_one(&mut *tx)
    .await?;
    if !has_policies {
        for sample in [
            crate::domain::samples::cranbrook(),
            crate::domain::samples::staff(),
        ] {
            crate::store::versions::create_published(
                &mut tx,
                school_id,
                sample.name,
                sample.audience,
                &sample.content,
                dpo,
            )
            .await
            .with_context(|| format!("storing the sample policy {}", sample.name))?;
        }
    }
    tx.commit().await?;
    Ok(school_id)
}
