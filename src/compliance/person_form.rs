//! Adding a person, and editing one (their roles only with the manager's password when
//! they give or take away a guarded role).

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::Form;
use serde::Deserialize;
use uuid::Uuid;

use super::{
    person_records::{Added, NewPerson, Person, add_person, load_person},
    roles::{grantable, guarded_change, outranks, resulting_roles},
};
use crate::audit::{Doing, Event};
use crate::paths;
use crate::store::email_changes;
use crate::{
    audit,
    auth::session::{Member, PeopleManagers, RequireRole},
    domain::groups::Group,
    domain::names::{Name, PART_MAX},
    domain::roles::Role,
    domain::statuses::MembershipStatus,
    error::{AppError, Result},
    input,
    page::{FieldErrors, Nav},
    state::AppState,
};

#[derive(Deserialize, Default, Clone)]
pub(super) struct PersonForm {
    #[serde(default)]
    legal_forename: String,
    #[serde(default)]
    preferred_forename: String,
    #[serde(default)]
    surname: String,
    /// Empty for the legal forename and surname.
    #[serde(default)]
    signing_name: String,
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

/// Asks for the manager's password if the roles change as `guarded_change` says.
async fn reauth_for_roles(
    state: &AppState,
    manager: &Member,
    (before, after): (&[Role], &[Role]),
    password: &str,
    errors: &mut FieldErrors,
) -> Result<()> {
    if errors.is_empty()
        && guarded_change(before, after)
        && let Some(message) =
            crate::auth::reauth::check(&state.pool, manager.user.id, password, Doing::Roles)
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
pub(super) struct PersonFormPage {
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
    /// The roles the manager may give; none on their own record, whose roles they cannot
    /// change.
    offered: &'static [Role],
}

impl PersonFormPage {
    /// The roles the form holds, in words, for a manager's own record.
    fn roles_held(&self) -> String {
        let held: Vec<String> = Role::ALL
            .into_iter()
            .filter(|role| self.form.roles.iter().any(|r| r == role.as_str()))
            .map(|role| role.to_string())
            .collect();
        held.join(", ")
    }

    /// Why a role is not offered, when one is not.
    fn roles_missing(&self) -> Option<String> {
        let missing: Vec<String> = Role::ALL
            .into_iter()
            .filter(|role| !self.offered.contains(role))
            .map(|role| role.to_string().to_lowercase())
            .collect();
        match missing.as_slice() {
            [] => None,
            [one] => Some(format!("Only an administrator can give the {one} role.")),
            [first @ .., last] => Some(format!(
                "Only an administrator can give the {} and {last} roles.",
                first.join(", ")
            )),
        }
    }

    /// The name as the form holds it, for the heading.
    fn shown_name(&self) -> String {
        Name::from_parts(
            &input::normalise(&self.form.legal_forename),
            &input::normalise(&self.form.preferred_forename),
            &input::normalise(&self.form.surname),
            "",
        )
        .shown()
    }

    fn groups(&self) -> Vec<(&'static str, String)> {
        Group::ALL
            .into_iter()
            .map(|group| (group.as_str(), group.to_string()))
            .collect()
    }

    fn roles(&self) -> Vec<(&'static str, &'static str, bool)> {
        self.offered
            .iter()
            .map(|role| {
                let key = role.as_str();
                (
                    key,
                    role.description(),
                    self.form.roles.iter().any(|r| r == key),
                )
            })
            .collect()
    }
}

struct CleanPerson {
    name: Name,
    email: String,
    grp: Group,
    job_title: String,
    roles: Vec<Role>,
}

/// The name's parts, each checked next to its field.
fn check_name(form: &PersonForm, errors: &mut FieldErrors) -> Name {
    let mut part = |field: &'static str, label: &str, value: &str, most: usize| {
        let value = input::normalise(value);
        if let Some(message) = input::check(label, &value, false) {
            errors.add(field, message);
        } else if value.chars().count() > most {
            errors.add(field, format!("{label} must be {most} characters or fewer"));
        }
        value
    };
    let legal = part(
        "legal_forename",
        "The first name",
        &form.legal_forename,
        PART_MAX,
    );
    let preferred = part(
        "preferred_forename",
        "The preferred first name",
        &form.preferred_forename,
        PART_MAX,
    );
    let surname = part("surname", "The surname", &form.surname, PART_MAX);
    let signing = part(
        "signing_name",
        "The name they type to sign",
        &form.signing_name,
        200,
    );
    if legal.is_empty() && surname.is_empty() {
        errors.add(
            "legal_forename",
            "Enter the person's first name and surname",
        );
    }
    Name::from_parts(&legal, &preferred, &surname, &signing)
}

fn check_person(form: &PersonForm) -> (CleanPerson, FieldErrors) {
    let mut errors = FieldErrors::default();
    let name = check_name(form, &mut errors);
    let email = input::normalise(&form.email);
    if email.is_empty() {
        errors.add("email", "Enter the person's email address");
    } else if let Err(message) = crate::mail::address::check(&email) {
        errors.add("email", message);
    }
    let grp = form.grp.parse::<Group>();
    if grp.is_err() {
        errors.add("grp-staff", "Select the person's group");
    }
    let job_title = input::normalise(&form.job_title);
    if let Some(message) = input::check("The job title", &job_title, false) {
        errors.add("job_title", message);
    } else if job_title.chars().count() > 200 {
        errors.add("job_title", "The job title must be 200 characters or fewer");
    }
    // Only known roles; a forged one is ignored.
    let roles: Vec<Role> = Role::ALL
        .into_iter()
        .filter(|role| form.roles.iter().any(|r| r == role.as_str()))
        .collect();
    (
        CleanPerson {
            name,
            email,
            grp: grp.unwrap_or(Group::Staff),
            job_title,
            roles,
        },
        errors,
    )
}

pub(super) async fn new_form(manager: RequireRole<PeopleManagers>) -> PersonFormPage {
    PersonFormPage {
        nav: manager.nav(),
        slug: manager.school.slug.clone(),
        membership_id: None,
        email_locked: None,
        current_email: String::new(),
        admin_changes_email: false,
        form: PersonForm {
            grp: Group::Staff.as_str().to_owned(),
            roles: vec![Role::Signer.as_str().to_owned()],
            ..PersonForm::default()
        },
        errors: FieldErrors::default(),
        offered: grantable(&manager),
    }
}

pub(super) async fn create(
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
                name: &person.name,
                email: &person.email,
                grp: person.grp,
                job_title: &person.job_title,
                roles: &person.roles,
            },
            &state.settings.base_url,
        )
        .await?
        {
            Added::Member(membership_id) => {
                tx.commit().await?;
                return Ok(Redirect::to(&format!(
                    "{}?added=1",
                    paths::Person::new(&manager.school.slug, membership_id)
                ))
                .into_response());
            }
            Added::AlreadyListed => {
                errors.add("email", "This person is already on the school's list");
            }
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
            offered: grantable(&manager),
        },
    )
        .into_response())
}

/// Why this form may not change the person's address, if it may not. Only the address of a
/// signer who has never activated can be corrected here: anyone else's address is the key to
/// an account that someone uses, and changing it would hand that account to whoever reads
/// the new address.
pub(super) fn email_lock(account: &email_changes::Account) -> Option<String> {
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
    account: &email_changes::Account,
    form: PersonForm,
    errors: FieldErrors,
) -> PersonFormPage {
    let email_locked = email_lock(account);
    PersonFormPage {
        nav: manager.nav(),
        slug: manager.school.slug.clone(),
        membership_id: Some(person.membership_id),
        admin_changes_email: email_locked.is_some()
            && manager.has_role(Role::Admin)
            && account.schools <= 1
            && person.membership_id != manager.membership_id,
        email_locked,
        current_email: person.email.clone(),
        form,
        errors,
        offered: if person.membership_id == manager.membership_id {
            &[]
        } else {
            grantable(manager)
        },
    }
}

pub(super) async fn edit_form(
    State(state): State<AppState>,
    manager: RequireRole<PeopleManagers>,
    Path((_slug, membership_id)): Path<(String, Uuid)>,
) -> Result<PersonFormPage> {
    let person = load_person(&state.pool, &manager, membership_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if outranks(&manager, &person.roles) {
        return Err(AppError::Forbidden);
    }
    let mut conn = state.pool.acquire().await?;
    let account = email_changes::account(&mut conn, person.user_id).await?;
    let form = PersonForm {
        legal_forename: person.name.legal_forename.clone(),
        preferred_forename: person.name.preferred_forename.clone(),
        surname: person.name.surname.clone(),
        signing_name: person.name.signing_name.clone(),
        email: person.email.clone(),
        grp: person.grp.as_str().to_owned(),
        job_title: person.job_title.clone(),
        roles: person.roles.iter().map(|r| r.as_str().to_owned()).collect(),
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

pub(super) async fn save(
    State(state): State<AppState>,
    manager: RequireRole<PeopleManagers>,
    Path((_slug, membership_id)): Path<(String, Uuid)>,
    Form(mut form): Form<PersonForm>,
) -> Result<Response> {
    let before = load_person(&state.pool, &manager, membership_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if outranks(&manager, &before.roles) {
        return Err(AppError::Forbidden);
    }
    let mut tx = state.pool.begin().await?;
    let account = email_changes::account(&mut tx, before.user_id).await?;
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
    if account.schools > 1 && person.name != before.name {
        errors.add(
            "legal_forename",
            "This person also belongs to another school, so only they can change their name",
        );
    }
    if errors.is_empty() {
        // While an offer waits, the name is the school's own, kept on the membership.
        if before.status == MembershipStatus::Pending {
            sqlx::query!(
                "update memberships set pending_name = $2 where id = $1",
                membership_id,
                person.name.shown()
            )
            .execute(&mut *tx)
            .await?;
        } else {
            crate::store::people::rename(&mut tx, before.user_id, &person.name).await?;
        }
        // The address is corrected first: if another account has it, nothing else changes.
        let taken = email_changed
            && email_changes::change_by_manager(
                &mut tx,
                &email_changes::ManagerChange {
                    user_id: before.user_id,
                    new_email: &person.email,
                    how: crate::domain::statuses::EmailChangeHow::Correction,
                    actor: manager.user.id,
                    actor_name: &manager.user.full_name,
                    school_id: manager.school.id,
                    school_name: &manager.school.name,
                    membership_id,
                },
                &state.settings.base_url,
            )
            .await?
                == email_changes::Switched::Taken;
        if taken {
            errors.add("email", "Another person already uses this email address");
        } else {
            sqlx::query!(
                "update memberships set grp = $3, job_title = $4, roles = $5 where id = $1 and school_id = $2",
                membership_id,
                manager.school.id,
                person.grp as Group,
                person.job_title,
                &person.roles as &[Role]
            )
            .execute(&mut *tx)
            .await?;
            audit::record(
                &mut *tx,
                Some(manager.school.id),
                Some(manager.user.id),
                &Event::PersonEdited { membership_id },
            )
            .await?;
            if before.roles != person.roles {
                audit::record(
                    &mut *tx,
                    Some(manager.school.id),
                    Some(manager.user.id),
                    &Event::RolesChanged {
                        membership_id,
                        from: before.roles.clone(),
                        to: person.roles.clone(),
                    },
                )
                .await?;
            }
            tx.commit().await?;
            return Ok(Redirect::to(&format!(
                "{}?saved=1",
                paths::Person::new(&manager.school.slug, membership_id)
            ))
            .into_response());
        }
    }
    Ok((
        StatusCode::UNPROCESSABLE_ENTITY,
        edit_page(&manager, &before, &account, form, errors),
    )
        .into_response())
}
