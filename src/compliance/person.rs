//! One person: what they have signed and still owe, and re-activating and inviting them
//! (leaving is `leaving`).

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Path, Query, State},
    response::Redirect,
};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    person_records::{Person, load_person},
    roles::outranks,
};
use crate::audit::Event;
use crate::paths;
use crate::store::{email_changes, tokens};
use crate::{
    audit,
    auth::session::{ComplianceViewers, PeopleManagers, RequireRole, Roles},
    clock,
    domain::render,
    domain::statuses::{AgreementMethod, MembershipStatus},
    error::{AppError, Result},
    page::Nav,
    state::AppState,
};

struct AgreementRow {
    policy_name: String,
    label: String,
    signed_at: String,
    method: AgreementMethod,
    current: bool,
}

struct OwedRow {
    version_id: Uuid,
    policy_name: String,
    label: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "compliance/person.html")]
pub(super) struct PersonPage {
    nav: Nav,
    slug: String,
    person: Person,
    agreements: Vec<AgreementRow>,
    owed: Vec<OwedRow>,
    can_manage: bool,
    /// The viewer may change this person (they hold no role the viewer cannot give).
    can_change: bool,
    /// How the account came to be activated: by a link handed over, or after a manager
    /// chose its address.
    activation: Option<String>,
    /// The school signs in through its provider only, so a password link is of no use.
    passwords_off: bool,
    notice: Option<&'static str>,
}

impl PersonPage {
    fn group(&self) -> String {
        self.person.grp.to_string()
    }

    fn left_on(&self) -> String {
        self.person
            .left_on
            .map(render::long_date)
            .unwrap_or_default()
    }
}

#[derive(Deserialize)]
pub(super) struct PersonQuery {
    added: Option<String>,
    saved: Option<String>,
    left: Option<String>,
    reactivated: Option<String>,
    invited: Option<String>,
    paper: Option<String>,
    email_changed: Option<String>,
}

pub(super) async fn show(
    State(state): State<AppState>,
    viewer: RequireRole<ComplianceViewers>,
    Path((_slug, membership_id)): Path<(String, Uuid)>,
    Query(query): Query<PersonQuery>,
) -> Result<PersonPage> {
    let person = load_person(&state.pool, &viewer, membership_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let agreements = sqlx::query!(
        r#"select p.name as policy_name, v.label, a.signed_at, a.method as "method: AgreementMethod", v.status = 'published' as "current!"
           from agreements a
           join policy_versions v on v.id = a.version_id and v.school_id = a.school_id
           join policies p on p.id = v.policy_id
           where a.membership_id = $1 and a.school_id = $2
           order by a.signed_at desc"#,
        membership_id,
        viewer.school.id
    )
    .fetch_all(&state.pool)
    .await?
    .into_iter()
    .map(|r| AgreementRow {
        policy_name: r.policy_name,
        label: r.label,
        signed_at: clock::date_time(r.signed_at),
        method: r.method,
        current: r.current,
    })
    .collect();
    let owed = sqlx::query_as!(
        OwedRow,
        r#"select w.version_id as "version_id!", w.policy_name as "policy_name!", w.label as "label!"
           from must_sign w
           where w.school_id = $1 and w.membership_id = $2 and w.status = 'published'
             and not exists (select 1 from agreements a
                             where a.membership_id = $2 and a.version_id = w.version_id)
           order by w.policy_name"#,
        viewer.school.id,
        membership_id
    )
    .fetch_all(&state.pool)
    .await?;
    let notice = if query.added.is_some() && viewer.mail_waits {
        Some(
            "The person has been added. If they have no password yet, an invitation to create one is queued: email is not set up, so it is sent once it is.",
        )
    } else if query.added.is_some() {
        Some(
            "The person has been added. If they have no password yet, an invitation to create one is on its way to them by email.",
        )
    } else if query.saved.is_some() {
        Some("The changes have been saved.")
    } else if query.left.is_some() {
        Some(
            "The person is marked as having left. Their signatures are kept; they are no longer counted or reminded.",
        )
    } else if query.reactivated.is_some() {
        Some("The person is active again.")
    } else if query.invited.is_some() && viewer.mail_waits {
        Some("A new invitation is queued: email is not set up, so it is sent once it is.")
    } else if query.invited.is_some() {
        Some("A new invitation has been sent.")
    } else if query.paper.is_some() {
        Some("The paper signature has been recorded.")
    } else if query.email_changed.is_some() {
        Some(
            "The email address has been changed. The old address has been told, and the person has been signed out everywhere.",
        )
    } else {
        None
    };
    let mut conn = state.pool.acquire().await?;
    let activation = email_changes::activation_note(&mut conn, person.user_id).await?;
    let can_manage = PeopleManagers::allows(&viewer);
    let passwords_off = sqlx::query_scalar!(
        "select passwords_off from schools where id = $1",
        viewer.school.id
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(PersonPage {
        passwords_off,
        nav: viewer.nav(),
        slug: viewer.school.slug.clone(),
        can_change: can_manage && !outranks(&viewer, &person.roles),
        can_manage,
        activation,
        person,
        agreements,
        owed,
        notice,
    })
}

pub(super) async fn reactivate(
    State(state): State<AppState>,
    manager: RequireRole<PeopleManagers>,
    Path((_slug, membership_id)): Path<(String, Uuid)>,
) -> Result<Redirect> {
    let person = load_person(&state.pool, &manager, membership_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if outranks(&manager, &person.roles) {
        return Err(AppError::Forbidden);
    }
    let mut tx = state.pool.begin().await?;
    // Only a leaver comes back: an offer waiting for its answer is the person's to accept.
    let back = sqlx::query!(
        "update memberships set status = 'active', left_on = null
         where id = $1 and school_id = $2 and status = 'left'",
        person.membership_id,
        manager.school.id
    )
    .execute(&mut *tx)
    .await?;
    if back.rows_affected() != 1 {
        return Err(AppError::NotFound);
    }
    audit::record(
        &mut *tx,
        Some(manager.school.id),
        Some(manager.user.id),
        &Event::PersonReactivated { membership_id },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "{}?reactivated=1",
        paths::Person::new(&manager.school.slug, membership_id)
    )))
}

pub(super) async fn invite(
    State(state): State<AppState>,
    manager: RequireRole<PeopleManagers>,
    Path((_slug, membership_id)): Path<(String, Uuid)>,
) -> Result<Redirect> {
    let person = load_person(&state.pool, &manager, membership_id)
        .await?
        .ok_or(AppError::NotFound)?;
    // Only for a person who has never set a password: otherwise the email would hand their
    // account to whoever reads it.
    if person.status != MembershipStatus::Active || person.has_password {
        return Err(AppError::NotFound);
    }
    let mut tx = state.pool.begin().await?;
    tokens::invite(
        &mut tx,
        person.user_id,
        manager.school.id,
        &state.settings.base_url,
    )
    .await?;
    audit::record(
        &mut *tx,
        Some(manager.school.id),
        Some(manager.user.id),
        &Event::PersonInvited { membership_id },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "{}?invited=1",
        paths::Person::new(&manager.school.slug, membership_id)
    )))
}
