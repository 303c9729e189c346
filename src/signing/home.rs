//! The signer's home page: what is waiting for them, and what they have signed.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{auth::session::Member, clock, error::Result, page::Nav, state::AppState};

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
    let waiting = sqlx::query_as!(
        Waiting,
        r#"select w.version_id as "version_id!", w.policy_name as "policy_name!", w.label as "label!"
           from must_sign w
           where w.school_id = $1 and w.membership_id = $2 and w.status = 'published'
             and not exists (select 1 from agreements a
                             where a.version_id = w.version_id and a.membership_id = $2)
           order by w.policy_name"#,
        member.school.id,
        member.membership_id
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
