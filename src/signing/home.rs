//! The signer's home page: what is waiting for them, and what they have signed.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    auth::session::Member, clock, domain::groups::Group, domain::roles::Role, error::Result,
    page::Nav, state::AppState,
};

struct Waiting {
    version_id: Uuid,
    policy_name: String,
    label: String,
}

struct Signed {
    agreement_id: Uuid,
    policy_name: String,
    label: String,
    signed_at: OffsetDateTime,
    current: bool,
}

impl Signed {
    fn signed_at_text(&self) -> String {
        clock::date_time(self.signed_at)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "signing/home.html")]
pub(super) struct HomePage {
    nav: Nav,
    slug: String,
    first_name: String,
    waiting: Vec<Waiting>,
    signed: Vec<Signed>,
}

pub(super) async fn home(State(state): State<AppState>, member: Member) -> Result<HomePage> {
    let signer = member.has_role(Role::Signer);
    let waiting = sqlx::query_as!(
        Waiting,
        r#"select v.id as version_id, p.name as policy_name, v.label
           from policy_versions v join policies p on p.id = v.policy_id and p.school_id = v.school_id
           where v.school_id = $1 and v.status = 'published' and $2 = any(p.audience)
             and not exists (select 1 from agreements a where a.version_id = v.id and a.membership_id = $3)
             and $4
           order by p.name"#,
        member.school.id,
        member.grp as Group,
        member.membership_id,
        signer
    )
    .fetch_all(&state.pool)
    .await?;
    let signed = sqlx::query_as!(
        Signed,
        r#"select a.id as agreement_id, p.name as policy_name, v.label, a.signed_at,
                  (v.status = 'published') as "current!"
           from agreements a
           join policy_versions v on v.id = a.version_id and v.school_id = a.school_id
           join policies p on p.id = v.policy_id and p.school_id = v.school_id
           where a.membership_id = $1 and a.school_id = $2
           order by a.signed_at desc"#,
        member.membership_id,
        member.school.id
    )
    .fetch_all(&state.pool)
    .await?;
    Ok(HomePage {
        nav: member.nav(),
        slug: member.school.slug.clone(),
        first_name: crate::mail::first_name(&member.user.full_name).to_owned(),
        waiting,
        signed,
    })
}
