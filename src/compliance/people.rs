//! The school's people: search and filters, adding and editing a person, leavers
//! (history kept, no longer counted or chased) and re-activating them.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use axum_extra::extract::Form;
use serde::Deserialize;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{
    audit,
    auth::{
        email_change,
        session::{ComplianceViewers, Member, PeopleManagers, RequireRole, Roles},
        tokens,
    },
    clock,
    domain::{
        groups::{GROUPS, group_name},
        render,
    },
    error::{AppError, Result, unique_violation},
    input,
    page::{FieldErrors, Nav},
    state::AppState,
};

pub const ROLES: [(&str, &str); 5] = [
    ("signer", "Signs the policies for their group"),
    ("sbm", "School business manager: people and compliance"),
    (
        "head",
        "Headteacher or SLT: sees compliance, changes nothing",
    ),
    (
        "dpo",
        "Data protection officer: writes and publishes policies",
    ),
    ("admin", "Administrator: everything, and the portal's email"),
];

/// The roles a manager may give or take away: an admin any, an SBM none with more power
/// than their own.
fn grantable(manager: &Member) -> &'static [&'static str] {
    if manager.has_role("admin") {
        &["signer", "sbm", "head", "dpo", "admin"]
    } else {
        &["signer", "head", "sbm"]
    }
}

/// A person has more power than the manager when they hold a role the manager cannot give:
/// then the manager may not edit them, mark them as left or bring them back (an SBM cannot
/// touch the DPO or the admin).
pub(super) fn outranks(manager: &Member, roles: &[String]) -> bool {
    let may = grantable(manager);
    roles.iter().any(|role| !may.contains(&role.as_str()))
}

/// The roles a person ends up with: what the manager ticked of the roles they may grant, and
/// the person's other roles unchanged. Nobody changes their own roles.
fn resulting_roles(
    manager: &Member,
    membership_id: Option<Uuid>,
    ticked: &[String],
    current: &[String],
) -> Vec<String> {
    if membership_id == Some(manager.membership_id) {
        return current.to_vec();
    }
    let may = grantable(manager);
    ROLES
        .iter()
        .map(|(key, _)| *key)
        .filter(|key| {
            if may.contains(key) {
                ticked.iter().any(|r| r == key)
            } else {
                current.iter().any(|r| r == key)
            }
        })
        .map(str::to_owned)
        .collect()
}

pub fn router(limit: crate::web::AttemptLimit) -> Router<AppState> {
    // These forms may check the manager's password: under the per-address limit.
    let checked = Router::new()
        .route("/s/{slug}/people/new", get(new_form).post(create))
        .route(
            "/s/{slug}/people/{membership_id}/edit",
            get(edit_form).post(save),
        )
        .route_layer(limit);
    Router::new()
        .merge(checked)
        .route("/s/{slug}/people", get(list))
        .route("/s/{slug}/people/{membership_id}", get(show))
        .route("/s/{slug}/people/{membership_id}/leave", post(leave))
        .route(
            "/s/{slug}/people/{membership_id}/reactivate",
            post(reactivate),
        )
        .route("/s/{slug}/people/{membership_id}/invite", post(invite))
}

// ---- The list ----

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    job_title: String,
    #[serde(default)]
    status: String,
    /// A published version; with `signed`, only those who have ("yes") or have not ("no").
    policy: Option<Uuid>,
    #[serde(default)]
    signed: String,
    imported: Option<String>,
    added: Option<usize>,
    changed: Option<usize>,
}

struct PersonRow {
    membership_id: Uuid,
    full_name: String,
    email: String,
    grp: String,
    job_title: String,
    status: String,
    signed: Option<bool>,
}

struct VersionChoice {
    id: Uuid,
    name: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "compliance/people.html")]
struct ListPage {
    nav: Nav,
    slug: String,
    query: ListQuery,
    people: Vec<PersonRow>,
    job_titles: Vec<String>,
    versions: Vec<VersionChoice>,
}

impl ListPage {
    fn groups(&self) -> Vec<(&'static str, &'static str)> {
        GROUPS.to_vec()
    }

    fn selected(&self, field: &str, value: &str) -> bool {
        let current = match field {
            "group" => &self.query.group,
            "job_title" => &self.query.job_title,
            "status" => &self.query.status,
            "signed" => &self.query.signed,
            _ => return false,
        };
        current == value
    }

    fn policy_selected(&self, id: &Uuid) -> bool {
        self.query.policy.as_ref() == Some(id)
    }
}

async fn list(
    State(state): State<AppState>,
    manager: RequireRole<PeopleManagers>,
    Query(query): Query<ListQuery>,
) -> Result<ListPage> {
    let pattern = format!(
        "%{}%",
        query
            .q
            .trim()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    let empty_to_none = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    let signed_filter = match query.signed.as_str() {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    };
    let people = sqlx::query_as!(
        PersonRow,
        r#"select m.id as membership_id, coalesce(m.pending_name, u.full_name) as "full_name!",
                  u.email, m.grp, m.job_title, m.status,
                  case when $7::uuid is null then null
                       else exists (select 1 from agreements a where a.membership_id = m.id and a.version_id = $7)
                  end as signed
           from memberships m join users u on u.id = m.user_id
           where m.school_id = $1
             and ($2 = '%%' or coalesce(m.pending_name, u.full_name) ilike $2 or u.email ilike $2)
             and ($3::text is null or m.grp = $3)
             and ($4::text is null or m.job_title = $4)
             and ($5::text is null or m.status = $5)
             and ($6::bool is null or $7::uuid is null
                  or $6 = exists (select 1 from agreements a where a.membership_id = m.id and a.version_id = $7))
           order by m.status = 'pending', coalesce(m.pending_name, u.full_name), u.email
           limit 2000"#,
        manager.school.id,
        pattern,
        empty_to_none(&query.group),
        empty_to_none(&query.job_title),
        empty_to_none(&query.status),
        signed_filter,
        query.policy
    )
    .fetch_all(&state.pool)
    .await?;
    let job_titles = sqlx::query_scalar!(
        "select distinct job_title from memberships where school_id = $1 and job_title <> '' order by job_title",
        manager.school.id
    )
    .fetch_all(&state.pool)
    .await?;
    let versions = sqlx::query_as!(
        VersionChoice,
        r#"select v.id, p.name || ' ' || v.label as "name!" from policy_versions v
           join policies p on p.id = v.policy_id where v.school_id = $1 and v.status = 'published'
           order by p.name"#,
        manager.school.id
    )
    .fetch_all(&state.pool)
    .await?;
    Ok(ListPage {
        nav: manager.nav(),
        slug: manager.school.slug.clone(),
        query,
        people,
        job_titles,
        versions,
    })
}

// ---- Adding and editing ----

#[derive(Deserialize, Default, Clone)]
struct PersonForm {
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    grp: String,
    #[serde(default)]
    job_title: String,
    #[serde(default)]
    roles: Vec<String>,
    /// The manager's own password: asked for when the admin, DPO or head role changes hands.
    #[serde(default)]
    password: String,
}

/// Roles that reach the whole school's personal data or its policies: giving or taking one
/// away needs the manager's password again.
const GUARDED_ROLES: [&str; 3] = ["admin", "dpo", "head"];

/// Whether going from `before` to `after` gives or takes away a guarded role.
fn guarded_change(before: &[String], after: &[String]) -> bool {
    GUARDED_ROLES
        .iter()
        .any(|role| before.iter().any(|r| r == role) != after.iter().any(|r| r == role))
}

/// Asks for the manager's password if the roles change as `guarded_change` says.
async fn reauth_for_roles(
    state: &AppState,
    manager: &Member,
    (before, after): (&[String], &[String]),
    password: &str,
    errors: &mut FieldErrors,
) -> Result<()> {
    if errors.is_empty()
        && guarded_change(before, after)
        && let Some(message) =
            crate::auth::reauth::check(&state.pool, manager.user.id, password, "roles")
                .await?
                .refusal(
                    "Enter your password to give or take away the admin, DPO or head role",
                    "Your password is not right",
                )
    {
        errors.add("password", message);
    }
    Ok(())
}

#[derive(Template, WebTemplate)]
#[template(path = "compliance/person_form.html")]
struct PersonFormPage {
    nav: Nav,
    slug: String,
    membership_id: Option<Uuid>,
    /// Why the address is not a field here, when it is not.
    email_locked: Option<String>,
    /// The address as stored, shown when it is not a field.
    current_email: String,
    /// Whether to offer the admin's page for changing the address.
    admin_changes_email: bool,
    form: PersonForm,
    errors: FieldErrors,
}

impl PersonFormPage {
    fn groups(&self) -> Vec<(&'static str, &'static str)> {
        GROUPS.to_vec()
    }

    fn roles(&self) -> Vec<(&'static str, &'static str, bool)> {
        ROLES
            .iter()
            .map(|(key, name)| (*key, *name, self.form.roles.iter().any(|r| r == key)))
            .collect()
    }
}

struct CleanPerson {
    full_name: String,
    email: String,
    grp: String,
    job_title: String,
    roles: Vec<String>,
}

fn check_person(form: &PersonForm) -> (CleanPerson, FieldErrors) {
    let mut errors = FieldErrors::default();
    let full_name = input::normalise(&form.full_name);
    if full_name.is_empty() {
        errors.add("full_name", "Enter the person's full name");
    } else if let Some(message) = input::check("The full name", &full_name, false) {
        errors.add("full_name", message);
    } else if full_name.chars().count() > 200 {
        errors.add("full_name", "The full name must be 200 characters or fewer");
    }
    let email = input::normalise(&form.email);
    if email.is_empty() {
        errors.add("email", "Enter the person's email address");
    } else if let Err(message) = crate::mail::address::check(&email) {
        errors.add("email", message);
    }
    if !GROUPS.iter().any(|(key, _)| *key == form.grp) {
        errors.add("grp-staff", "Select the person's group");
    }
    let job_title = input::normalise(&form.job_title);
    if let Some(message) = input::check("The job title", &job_title, false) {
        errors.add("job_title", message);
    } else if job_title.chars().count() > 200 {
        errors.add("job_title", "The job title must be 200 characters or fewer");
    }
    // Only known roles; a forged one is ignored.
    let roles: Vec<String> = ROLES
        .iter()
        .filter(|(key, _)| form.roles.iter().any(|r| r == key))
        .map(|(key, _)| (*key).to_owned())
        .collect();
    (
        CleanPerson {
            full_name,
            email,
            grp: form.grp.clone(),
            job_title,
            roles,
        },
        errors,
    )
}

async fn new_form(manager: RequireRole<PeopleManagers>) -> PersonFormPage {
    PersonFormPage {
        nav: manager.nav(),
        slug: manager.school.slug.clone(),
        membership_id: None,
        email_locked: None,
        current_email: String::new(),
        admin_changes_email: false,
        form: PersonForm {
            grp: "staff".to_owned(),
            roles: vec!["signer".to_owned()],
            ..PersonForm::default()
        },
        errors: FieldErrors::default(),
    }
}

/// Adds a person to the school (a new account, or a person already known from another
/// school) and queues their invitation if they have no password yet. Returns the membership.
pub struct NewPerson<'a> {
    pub full_name: &'a str,
    pub email: &'a str,
    pub grp: &'a str,
    pub job_title: &'a str,
    pub roles: &'a [String],
}

pub async fn add_person(
    db: &mut PgConnection,
    school_id: Uuid,
    actor: Option<Uuid>,
    person: &NewPerson<'_>,
    base_url: &str,
) -> anyhow::Result<std::result::Result<Uuid, &'static str>> {
    let NewPerson {
        full_name,
        email,
        grp,
        job_title,
        roles,
    } = *person;
    let user = sqlx::query!(
        "select id, password_hash is not null as \"has_password!\" from users where lower(email) = lower($1)",
        email
    )
    .fetch_optional(&mut *db)
    .await?;
    // An address that already has an account gets an offer the person accepts: the school
    // learns nothing of the account (its name, its history) until they do.
    let (user_id, has_password, offered) = match user {
        Some(u) => (u.id, u.has_password, true),
        None => (
            sqlx::query_scalar!(
                "insert into users (email, full_name) values ($1, $2) returning id",
                email,
                full_name
            )
            .fetch_one(&mut *db)
            .await?,
            false,
            false,
        ),
    };
    let membership = sqlx::query_scalar!(
        "insert into memberships (user_id, school_id, grp, job_title, roles, status, pending_name, joined_at)
         values ($1, $2, $3, $4, $5,
                 case when $6 then 'pending' else 'active' end,
                 case when $6 then $7 end,
                 case when $6 then null else now() end)
         returning id",
        user_id,
        school_id,
        grp,
        job_title,
        roles,
        offered,
        full_name
    )
    .fetch_one(&mut *db)
    .await;
    let membership_id = match membership {
        Ok(id) => id,
        Err(err) if unique_violation(&err).as_deref() == Some("memberships_user_school_key") => {
            return Ok(Err("This person is already on the school's list"));
        }
        Err(err) => return Err(err.into()),
    };
    if offered {
        crate::auth::memberships::offer(db, membership_id, base_url).await?;
    }
    if !has_password {
        tokens::invite(db, user_id, school_id, base_url).await?;
    }
    audit::record(
        &mut *db,
        Some(school_id),
        actor,
        "person_added",
        &membership_id.to_string(),
        Some(serde_json::json!({ "roles": roles, "group": grp, "pending": offered })),
    )
    .await?;
    Ok(Ok(membership_id))
}

async fn create(
    State(state): State<AppState>,
    manager: RequireRole<PeopleManagers>,
    Form(form): Form<PersonForm>,
) -> Result<Response> {
    let (mut person, mut errors) = check_person(&form);
    person.roles = resulting_roles(&manager, None, &person.roles, &[]);
    reauth_for_roles(
        &state,
        &manager,
        (&[], &person.roles),
        &form.password,
        &mut errors,
    )
    .await?;
    if errors.is_empty() {
        let mut tx = state.pool.begin().await?;
        match add_person(
            &mut tx,
            manager.school.id,
            Some(manager.user.id),
            &NewPerson {
                full_name: &person.full_name,
                email: &person.email,
                grp: &person.grp,
                job_title: &person.job_title,
                roles: &person.roles,
            },
            &state.settings.base_url,
        )
        .await?
        {
            Ok(membership_id) => {
                tx.commit().await?;
                return Ok(Redirect::to(&format!(
                    "/s/{}/people/{membership_id}?added=1",
                    manager.school.slug
                ))
                .into_response());
            }
            Err(message) => errors.add("email", message),
        }
    }
    Ok((
        StatusCode::UNPROCESSABLE_ENTITY,
        PersonFormPage {
            nav: manager.nav(),
            slug: manager.school.slug.clone(),
            membership_id: None,
            email_locked: None,
            current_email: String::new(),
            admin_changes_email: false,
            form,
            errors,
        },
    )
        .into_response())
}

pub(super) struct Person {
    pub membership_id: Uuid,
    pub user_id: Uuid,
    pub full_name: String,
    pub email: String,
    pub grp: String,
    pub job_title: String,
    pub roles: Vec<String>,
    pub status: String,
    pub left_on: Option<time::Date>,
    pub has_password: bool,
}

pub(super) async fn load_person(
    db: &sqlx::PgPool,
    member: &Member,
    membership_id: Uuid,
) -> Result<Person> {
    sqlx::query_as!(
        Person,
        r#"select m.id as membership_id, u.id as user_id,
                  coalesce(m.pending_name, u.full_name) as "full_name!", u.email, m.grp, m.job_title, m.roles,
                  m.status, m.left_on, u.password_hash is not null as "has_password!"
           from memberships m join users u on u.id = m.user_id
           where m.id = $1 and m.school_id = $2"#,
        membership_id,
        member.school.id
    )
    .fetch_optional(db)
    .await?
    .ok_or(AppError::NotFound)
}

/// Why this form may not change the person's address, if it may not. Only the address of a
/// signer who has never activated can be corrected here: anyone else's address is the key to
/// an account that someone uses, and changing it would hand that account to whoever reads
/// the new address.
fn email_lock(account: &email_change::Account) -> Option<String> {
    if account.correctable() {
        None
    } else if account.schools > 1 {
        Some("This person also belongs to another school, so only they can change their email address".to_owned())
    } else if account.activated {
        Some(format!(
            "{} has activated their account, so only they, from their account page, or an administrator can change its email address",
            account.full_name
        ))
    } else {
        Some("Only an administrator can change the email address of a person with a role beyond signing policies".to_owned())
    }
}

fn edit_page(
    manager: &Member,
    person: &Person,
    account: &email_change::Account,
    form: PersonForm,
    errors: FieldErrors,
) -> PersonFormPage {
    let email_locked = email_lock(account);
    PersonFormPage {
        nav: manager.nav(),
        slug: manager.school.slug.clone(),
        membership_id: Some(person.membership_id),
        admin_changes_email: email_locked.is_some()
            && manager.has_role("admin")
            && account.schools <= 1
            && person.membership_id != manager.membership_id,
        email_locked,
        current_email: person.email.clone(),
        form,
        errors,
    }
}

async fn edit_form(
    State(state): State<AppState>,
    manager: RequireRole<PeopleManagers>,
    Path((_slug, membership_id)): Path<(String, Uuid)>,
) -> Result<PersonFormPage> {
    let person = load_person(&state.pool, &manager, membership_id).await?;
    if outranks(&manager, &person.roles) {
        return Err(AppError::Forbidden);
    }
    let mut conn = state.pool.acquire().await?;
    let account = email_change::account(&mut conn, person.user_id).await?;
    let form = PersonForm {
        full_name: person.full_name.clone(),
        email: person.email.clone(),
        grp: person.grp.clone(),
        job_title: person.job_title.clone(),
        roles: person.roles.clone(),
        password: String::new(),
    };
    Ok(edit_page(
        &manager,
        &person,
        &account,
        form,
        FieldErrors::default(),
    ))
}

async fn save(
    State(state): State<AppState>,
    manager: RequireRole<PeopleManagers>,
    Path((_slug, membership_id)): Path<(String, Uuid)>,
    Form(mut form): Form<PersonForm>,
) -> Result<Response> {
    let before = load_person(&state.pool, &manager, membership_id).await?;
    if outranks(&manager, &before.roles) {
        return Err(AppError::Forbidden);
    }
    let mut tx = state.pool.begin().await?;
    let account = email_change::account(&mut tx, before.user_id).await?;
    let lock = email_lock(&account);
    // Where the address is not a field of the form, it stays as it is.
    if lock.is_some() && form.email.trim().is_empty() {
        form.email.clone_from(&before.email);
    }
    let (mut person, mut errors) = check_person(&form);
    person.roles = resulting_roles(&manager, Some(membership_id), &person.roles, &before.roles);
    let email_changed = person.email != before.email;
    if let (true, Some(why)) = (email_changed, &lock) {
        errors.add("email", why.clone());
    }
    reauth_for_roles(
        &state,
        &manager,
        (&before.roles, &person.roles),
        &form.password,
        &mut errors,
    )
    .await?;
    // A person who also belongs to another school keeps the name they have there.
    if account.schools > 1 && person.full_name != before.full_name {
        errors.add(
            "full_name",
            "This person also belongs to another school, so only they can change their name",
        );
    }
    if errors.is_empty() {
        // While an offer waits, the name is the school's own, kept on the membership.
        if before.status == "pending" {
            sqlx::query!(
                "update memberships set pending_name = $2 where id = $1",
                membership_id,
                person.full_name
            )
            .execute(&mut *tx)
            .await?;
        } else {
            sqlx::query!(
                "update users set full_name = $2 where id = $1",
                before.user_id,
                person.full_name
            )
            .execute(&mut *tx)
            .await?;
        }
        let corrected = if email_changed {
            email_change::change_by_manager(
                &mut tx,
                &email_change::ManagerChange {
                    user_id: before.user_id,
                    new_email: &person.email,
                    how: email_change::How::Correction,
                    actor: manager.user.id,
                    actor_name: &manager.user.full_name,
                    school_id: manager.school.id,
                    school_name: &manager.school.name,
                    subject: &membership_id.to_string(),
                },
                &state.settings.base_url,
            )
            .await?
            .map(|_| ())
        } else {
            Ok(())
        };
        match corrected {
            Err(email_change::Taken) => {
                errors.add("email", "Another person already uses this email address");
            }
            Ok(()) => {
                sqlx::query!(
                    "update memberships set grp = $3, job_title = $4, roles = $5 where id = $1 and school_id = $2",
                    membership_id,
                    manager.school.id,
                    person.grp,
                    person.job_title,
                    &person.roles
                )
                .execute(&mut *tx)
                .await?;
                audit::record(
                    &mut *tx,
                    Some(manager.school.id),
                    Some(manager.user.id),
                    "person_edited",
                    &membership_id.to_string(),
                    None,
                )
                .await?;
                if before.roles != person.roles {
                    audit::record(
                        &mut *tx,
                        Some(manager.school.id),
                        Some(manager.user.id),
                        "roles_changed",
                        &membership_id.to_string(),
                        Some(serde_json::json!({ "from": before.roles, "to": person.roles })),
                    )
                    .await?;
                }
                tx.commit().await?;
                return Ok(Redirect::to(&format!(
                    "/s/{}/people/{membership_id}?saved=1",
                    manager.school.slug
                ))
                .into_response());
            }
        }
    }
    Ok((
        StatusCode::UNPROCESSABLE_ENTITY,
        edit_page(&manager, &before, &account, form, errors),
    )
        .into_response())
}

// ---- One person ----

struct AgreementRow {
    policy_name: String,
    label: String,
    signed_at: String,
    method: String,
    current: bool,
}

struct OwedRow {
    version_id: Uuid,
    policy_name: String,
    label: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "compliance/person.html")]
struct PersonPage {
    nav: Nav,
    slug: String,
    person: Person,
    agreements: Vec<AgreementRow>,
    owed: Vec<OwedRow>,
    can_manage: bool,
    /// The viewer may change this person (they hold no role the viewer cannot give).
    can_change: bool,
    /// How the account came to be activated, when a manager chose its address first.
    activation: Option<String>,
    notice: Option<&'static str>,
}

impl PersonPage {
    fn group(&self) -> &str {
        group_name(&self.person.grp)
    }

    fn left_on(&self) -> String {
        self.person
            .left_on
            .map(render::long_date)
            .unwrap_or_default()
    }
}

#[derive(Deserialize)]
struct PersonQuery {
    added: Option<String>,
    saved: Option<String>,
    left: Option<String>,
    reactivated: Option<String>,
    invited: Option<String>,
    paper: Option<String>,
    email_changed: Option<String>,
}

async fn show(
    State(state): State<AppState>,
    viewer: RequireRole<ComplianceViewers>,
    Path((_slug, membership_id)): Path<(String, Uuid)>,
    Query(query): Query<PersonQuery>,
) -> Result<PersonPage> {
    let person = load_person(&state.pool, &viewer, membership_id).await?;
    let agreements = sqlx::query!(
        r#"select p.name as policy_name, v.label, a.signed_at, a.method, v.status = 'published' as "current!"
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
        method: if r.method == "paper" { "Paper form".to_owned() } else { "Online".to_owned() },
        current: r.current,
    })
    .collect();
    let owed = sqlx::query_as!(
        OwedRow,
        r#"select v.id as version_id, p.name as policy_name, v.label
           from policy_versions v join policies p on p.id = v.policy_id and p.school_id = v.school_id
           where v.school_id = $1 and v.status = 'published' and $2 = any(p.audience) and $3
             and not exists (select 1 from agreements a where a.membership_id = $4 and a.version_id = v.id)
           order by p.name"#,
        viewer.school.id,
        person.grp,
        person.status == "active" && person.roles.iter().any(|r| r == "signer"),
        membership_id
    )
    .fetch_all(&state.pool)
    .await?;
    let notice = if query.added.is_some() {
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
    let activation = email_change::activation_note(&mut conn, person.user_id).await?;
    let can_manage = PeopleManagers::allows(&viewer);
    Ok(PersonPage {
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

#[derive(Deserialize)]
struct LeaveForm {
    #[serde(default)]
    left_on: String,
}

async fn leave(
    State(state): State<AppState>,
    manager: RequireRole<PeopleManagers>,
    Path((_slug, membership_id)): Path<(String, Uuid)>,
    Form(form): Form<LeaveForm>,
) -> Result<Response> {
    let person = load_person(&state.pool, &manager, membership_id).await?;
    if outranks(&manager, &person.roles) {
        return Err(AppError::Forbidden);
    }
    let left_on = if form.left_on.trim().is_empty() {
        clock::today_uk()
    } else {
        match crate::domain::dates::parse_review_date(&form.left_on) {
            Some(date) => date,
            None => {
                return Ok(crate::error::page(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Enter a real leaving date",
                    "The leaving date must be a real date between 1900 and 2200, like 31 August 2026. Nothing has been changed.",
                ));
            }
        }
    };
    let mut tx = state.pool.begin().await?;
    let marked = sqlx::query!(
        "update memberships set status = 'left', left_on = $3
         where id = $1 and school_id = $2 and status = 'active'",
        person.membership_id,
        manager.school.id,
        left_on
    )
    .execute(&mut *tx)
    .await?;
    if marked.rows_affected() != 1 {
        return Err(AppError::NotFound);
    }
    // A leaver's sessions end, unless they still belong to another school; this school's
    // pages are closed to them at once by the membership check.
    sqlx::query!(
        "update users set auth_epoch = auth_epoch + 1 where id = $1
         and not exists (select 1 from memberships where user_id = $1 and status = 'active')",
        person.user_id
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        Some(manager.school.id),
        Some(manager.user.id),
        "person_left",
        &membership_id.to_string(),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "/s/{}/people/{membership_id}?left=1",
        manager.school.slug
    ))
    .into_response())
}

async fn reactivate(
    State(state): State<AppState>,
    manager: RequireRole<PeopleManagers>,
    Path((_slug, membership_id)): Path<(String, Uuid)>,
) -> Result<Redirect> {
    let person = load_person(&state.pool, &manager, membership_id).await?;
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
        "person_reactivated",
        &membership_id.to_string(),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "/s/{}/people/{membership_id}?reactivated=1",
        manager.school.slug
    )))
}

async fn invite(
    State(state): State<AppState>,
    manager: RequireRole<PeopleManagers>,
    Path((_slug, membership_id)): Path<(String, Uuid)>,
) -> Result<Redirect> {
    let person = load_person(&state.pool, &manager, membership_id).await?;
    // Only for a person who has never set a password: otherwise the email would hand their
    // account to whoever reads it.
    if person.status != "active" || person.has_password {
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
        "person_invited",
        &membership_id.to_string(),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "/s/{}/people/{membership_id}?invited=1",
        manager.school.slug
    )))
}
