//! The home page: each person's own work first. The DPO sees the policy reviews due or
//! overdue, the SBM and head who has signed, and every signer what is waiting for them and
//! what they have signed; a person with several roles sees a short summary of each. A new
//! school's admin sees the getting-started checklist first.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::getting_started::{Checklist, checklist};
use crate::{
    auth::session::{Admins, ComplianceViewers, Member, PolicyEditors, Roles},
    clock,
    compliance::dashboard::{VersionSummary, summaries},
    domain::render,
    error::Result,
    page::Nav,
    state::AppState,
};

struct Waiting {
    version_id: Uuid,
    policy_name: String,
    label: String,
    sign_by: Option<Date>,
}

impl Waiting {
    fn sign_by_text(&self) -> Option<String> {
        self.sign_by.map(render::long_date)
    }
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

/// A published version whose review is due within 30 days, or overdue.
struct Review {
    policy_id: Uuid,
    policy_name: String,
    label: String,
    due: Date,
}

impl Review {
    fn due_text(&self) -> String {
        render::long_date(self.due)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "signing/home.html")]
pub(super) struct HomePage {
    nav: Nav,
    slug: String,
    first_name: String,
    /// For the admin, until the school is set up.
    getting_started: Option<Checklist>,
    /// For the DPO: the reviews due soon or overdue, the first due first.
    reviews: Option<Vec<Review>>,
    /// For the SBM and head: who has signed each published version.
    compliance: Option<Vec<VersionSummary>>,
    today: Date,
    waiting: Vec<Waiting>,
    signed: Vec<Signed>,
}

impl HomePage {
    fn overdue(&self, review: &Review) -> bool {
        review.due < self.today
    }

    fn late(&self, item: &Waiting) -> bool {
        item.sign_by.is_some_and(|date| date < self.today)
    }
}

pub(super) async fn home(State(state): State<AppState>, member: Member) -> Result<HomePage> {
    let waiting = sqlx::query_as!(
        Waiting,
        r#"select w.version_id as "version_id!", w.policy_name as "policy_name!", w.label as "label!",
                  d.sign_by as "sign_by?"
           from must_sign w
           left join sign_by_dates d on d.version_id = w.version_id
           where w.school_id = $1 and w.membership_id = $2 and w.status = 'published'
             and not exists (select 1 from agreements a
                             where a.version_id = w.version_id and a.membership_id = $2)
           order by d.sign_by nulls last, w.policy_name"#,
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
    let today = clock::today_uk();
    let reviews = if PolicyEditors::allows(&member) {
        Some(
            sqlx::query_as!(
                Review,
                r#"select p.id as policy_id, p.name as policy_name, v.label,
                          v.next_review_due as "due!"
                   from policy_versions v
                   join policies p on p.id = v.policy_id and p.school_id = v.school_id
                   where v.school_id = $1 and v.status = 'published'
                     and v.next_review_due <= $2::date + 30
                   order by v.next_review_due, p.name"#,
                member.school.id,
                today
            )
            .fetch_all(&state.pool)
            .await?,
        )
    } else {
        None
    };
    let compliance = if ComplianceViewers::allows(&member) {
        Some(summaries(&state.pool, member.school.id).await?)
    } else {
        None
    };
    let getting_started = if Admins::allows(&member) {
        let list = checklist(
            &state.pool,
            member.school.id,
            &member.school.slug,
            state.settings.mail_configured,
        )
        .await?;
        (!list.finished()).then_some(list)
    } else {
        None
    };
    Ok(HomePage {
        getting_started,
        nav: member.nav(),
        slug: member.school.slug.clone(),
        first_name: crate::mail::first_name(&member.user.full_name).to_owned(),
        reviews,
        compliance,
        today,
        waiting,
        signed,
    })
}
