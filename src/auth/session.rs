//! Who is asking: the signed-in person from the session, and their membership of the school
//! named in the path. Timeouts are enforced here, on the server, whatever the cookie says.

use std::sync::Arc;

use axum::{
    extract::{FromRequestParts, RawPathParams},
    http::request::Parts,
};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;
use uuid::Uuid;

use crate::audit::SignInWith;
use crate::paths;
use crate::{
    domain::{groups::Group, roles::Role},
    error::AppError,
    page::{Nav, NavLink},
    state::AppState,
    store::look::{self, Look},
};

pub(super) const AUTH_KEY: &str = "auth";
/// A page view refreshes the idle timer at most this often, so reading pages rarely writes.
/// Short idle timeouts get a finer grain, so activity is never missed by more than a tenth.
fn touch_every(idle_seconds: i64) -> i64 {
    (idle_seconds / 10).clamp(0, 60)
}

/// What the session remembers about a signed-in person.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct SignedIn {
    pub user_id: Uuid,
    pub auth_epoch: i32,
    pub signed_in_at: i64,
    pub last_seen: i64,
    /// Signed in through this school's provider: the session opens this school only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub school: Option<Uuid>,
    /// How: a school whose passwords are off refuses a password session (but an admin's
    /// with a code). None in sessions made before this was kept: as a password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with: Option<SignInWith>,
}

impl SignedIn {
    /// Signed in at `now` (seconds since 1970, from the settings' clock).
    pub fn new(user_id: Uuid, auth_epoch: i32, now: i64) -> Self {
        SignedIn {
            user_id,
            auth_epoch,
            signed_in_at: now,
            last_seen: now,
            school: None,
            with: None,
        }
    }
}

/// Starts a fresh session for a person who has just proved who they are.
pub async fn sign_in(session: &Session, signed_in: SignedIn) -> Result<(), AppError> {
    // Nothing of an earlier visitor's session carries over (on a shared classroom PC, their
    // half-finished authenticator set-up). A new id at sign-in, so a session id planted
    // before sign-in is worthless. Without a session cookie there is nothing to replace: the
    // session is created with a new id.
    session.clear().await;
    if session.id().is_some() {
        session.cycle_id().await?;
    }
    session.insert(AUTH_KEY, signed_in).await?;
    Ok(())
}

#[derive(Clone, Debug)]
pub struct CurrentUser {
    pub id: Uuid,
    pub email: String,
    pub full_name: String,
    /// The one school this session may open, when it was made through that school's
    /// provider; None for a password session.
    pub only_school: Option<Uuid>,
    pub signed_in_with: Option<SignInWith>,
}

impl CurrentUser {
    pub fn nav(&self) -> Nav {
        Nav {
            user_name: Some(self.full_name.clone()),
            ..Nav::default()
        }
    }
}

/// The session named by the request's cookie, without loading it: the page's first query
/// reads it, together with the account (and membership) it belongs to.
async fn session_id(parts: &mut Parts, state: &AppState) -> Result<(Session, String), AppError> {
    let session = Session::from_request_parts(parts, state)
        .await
        .map_err(|(_, msg)| AppError::Other(anyhow::anyhow!("session layer: {msg}")))?;
    let id = session.id().ok_or(AppError::SignInRequired)?;
    Ok((session, super::store::stored_id(&id)))
}

/// The session's sign-in, as that query read it, if it is within its timeouts.
async fn signed_in(
    session: &Session,
    auth: Option<serde_json::Value>,
    state: &AppState,
) -> Result<SignedIn, AppError> {
    // No sign-in in this session, or one that cannot be read (say, from an older release).
    let Some(signed_in) = auth.and_then(|auth| serde_json::from_value::<SignedIn>(auth).ok())
    else {
        return Err(AppError::SignInRequired);
    };
    let settings = &state.settings;
    let now = settings.clock.unix_now();
    if now - signed_in.last_seen > settings.idle_timeout.whole_seconds()
        || now - signed_in.signed_in_at > settings.session_lifetime.whole_seconds()
    {
        session.flush().await?;
        return Err(AppError::SessionExpired);
    }
    Ok(signed_in)
}

/// Ends a session whose account was signed out everywhere (or is gone) since it began;
/// otherwise refreshes its idle timer when that is due.
async fn confirm(
    session: Session,
    mut signed_in: SignedIn,
    account_epoch: Option<i32>,
    state: &AppState,
) -> Result<(), AppError> {
    if account_epoch != Some(signed_in.auth_epoch) {
        session.flush().await?;
        return Err(AppError::SignInRequired);
    }
    let now = state.settings.clock.unix_now();
    if now - signed_in.last_seen >= touch_every(state.settings.idle_timeout.whole_seconds()) {
        signed_in.last_seen = now;
        session.insert(AUTH_KEY, signed_in).await?;
    }
    Ok(())
}

/// The signed-in person, from what a page's first query read: the session's sign-in and the
/// account it names, as (id, email, full name, sign-out-everywhere counter), all None if
/// the account is gone. Checks the timeouts and the counter, refreshes the idle timer when
/// due, and keeps the person for the rest of the request.
async fn person(
    parts: &mut Parts,
    session: Session,
    state: &AppState,
    auth: Option<serde_json::Value>,
    (id, email, full_name, auth_epoch): (Option<Uuid>, Option<String>, Option<String>, Option<i32>),
) -> Result<CurrentUser, AppError> {
    let signed_in = signed_in(&session, auth, state).await?;
    let only_school = signed_in.school;
    let signed_in_with = signed_in.with;
    confirm(session, signed_in, auth_epoch, state).await?;
    let (Some(id), Some(email), Some(full_name)) = (id, email, full_name) else {
        return Err(AppError::SignInRequired);
    };
    let current = CurrentUser {
        id,
        email,
        full_name,
        only_school,
        signed_in_with,
    };
    parts.extensions.insert(current.clone());
    Ok(current)
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        if let Some(user) = parts.extensions.get::<CurrentUser>() {
            return Ok(user.clone());
        }
        let (session, id) = session_id(parts, state).await?;
        // The session and its account in one query. `auth` is `AUTH_KEY`.
        let row = sqlx::query!(
            r#"select sm.auth, sm.user_id as "id?", sm.email as "email?",
                      sm.full_name as "full_name?", sm.auth_epoch as "auth_epoch?"
               from session_member($1, null) sm"#,
            id
        )
        .fetch_optional(&state.pool)
        .await?
        .ok_or(AppError::SignInRequired)?;
        let account = (row.id, row.email, row.full_name, row.auth_epoch);
        person(parts, session, state, row.auth, account).await
    }
}

#[derive(Clone, Debug)]
pub struct School {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
}

/// An active member of the school named by `{slug}` in the path. Anyone else gets 404:
/// the portal does not confirm which schools exist to people outside them.
#[derive(Clone, Debug)]
pub struct Member {
    pub user: CurrentUser,
    pub school: School,
    pub membership_id: Uuid,
    pub grp: Group,
    pub job_title: String,
    pub roles: Vec<Role>,
    /// No mail server is set: emails wait in the outbox.
    pub mail_waits: bool,
    /// The path of the page asked for, to mark its section in the top bar.
    pub path: String,
    /// The school's colour and crest, for the top bar.
    pub look: Arc<Look>,
}

impl Member {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn nav(&self) -> Nav {
        let slug = &self.school.slug;
        let mut links = vec![(paths::SchoolHome::new(slug).to_string(), "Your policies")];
        if self.has_role(Role::Signer) {
            links.push((paths::Library::new(slug).to_string(), "Policy library"));
        }
        if ComplianceViewers::allows(self) {
            links.push((paths::Compliance::new(slug).to_string(), "Who has signed"));
        }
        if PeopleManagers::allows(self) {
            links.push((paths::People::new(slug).to_string(), "People"));
        }
        if PolicyEditors::allows(self) {
            links.push((paths::Policies::new(slug).to_string(), "Manage policies"));
        }
        if self.has_role(Role::Admin) {
            links.push((paths::Mail::new(slug).to_string(), "Email"));
            links.push((paths::AuditLog::new(slug).to_string(), "Audit log"));
            links.push((paths::Settings::new(slug).to_string(), "Settings"));
        }
        Nav {
            user_name: Some(self.user.full_name.clone()),
            school_slug: Some(slug.clone()),
            school_name: Some(self.school.name.clone()),
            links: NavLink::sections(links, &self.path),
            mail_waits: self.mail_waits
                && [Role::Sbm, Role::Dpo, Role::Admin]
                    .iter()
                    .any(|r| self.has_role(*r)),
            crest: self
                .look
                .crest_sha256
                .as_ref()
                .map(|sha256| paths::Crest::new(self.school.id, sha256).to_string()),
            colour_css: self
                .look
                .colour
                .as_ref()
                .map(|colour| paths::ColourCss::new(colour.trim_start_matches('#')).to_string()),
        }
    }
}

/// What a school page's first query reads about the person asking: the session's sign-in,
/// the account it names, and that account's active membership of the school named in the
/// path; None where there is none. Pages that need more read these columns in their own
/// first query, so that the page still starts with one round trip.
pub struct MemberColumns {
    pub auth: Option<serde_json::Value>,
    pub id: Option<Uuid>,
    pub email: Option<String>,
    pub full_name: Option<String>,
    pub auth_epoch: Option<i32>,
    pub school_id: Option<Uuid>,
    pub slug: Option<String>,
    pub school_name: Option<String>,
    pub membership_id: Option<Uuid>,
    pub grp: Option<Group>,
    pub job_title: Option<String>,
    pub roles: Option<Vec<Role>>,
    pub passwords_off: Option<bool>,
}

/// What that query looks up: the session named by the cookie and the school named by
/// `{slug}` in the path.
pub struct MemberKey {
    session: Session,
    pub session_id: String,
    pub slug: String,
}

impl MemberKey {
    pub async fn from_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let slug = path_param(parts, state, "slug").await?;
        let (session, session_id) = session_id(parts, state).await?;
        Ok(MemberKey {
            session,
            session_id,
            slug,
        })
    }

    /// The member, from what the query read (`None` if it found no session): checks the
    /// timeouts and the sign-out-everywhere counter, refreshes the idle timer when due.
    pub async fn member(
        self,
        parts: &mut Parts,
        state: &AppState,
        row: Option<MemberColumns>,
    ) -> Result<Member, AppError> {
        let row = row.ok_or(AppError::SignInRequired)?;
        let account = (row.id, row.email, row.full_name, row.auth_epoch);
        let user = person(parts, self.session, state, row.auth, account).await?;
        let (
            Some(school_id),
            Some(slug),
            Some(name),
            Some(membership_id),
            Some(grp),
            Some(job_title),
            Some(roles),
        ) = (
            row.school_id,
            row.slug,
            row.school_name,
            row.membership_id,
            row.grp,
            row.job_title,
            row.roles,
        )
        else {
            return Err(AppError::NotFound);
        };
        // A session made through one school's provider opens that school only.
        if user.only_school.is_some_and(|only| only != school_id) {
            return Err(AppError::NotFound);
        }
        if row.passwords_off == Some(true) && !opens_without_passwords(user.signed_in_with, &roles)
        {
            return Err(AppError::PasswordsOff(slug));
        }
        let look = look::of(&state.pool, school_id).await?;
        Ok(Member {
            look,
            user,
            school: School {
                id: school_id,
                slug,
                name,
            },
            membership_id,
            grp,
            job_title,
            roles,
            mail_waits: !state.settings.mail_configured,
            path: parts.uri.path().to_owned(),
        })
    }
}

/// Whether a session made `with` opens a school whose passwords are off: one made through
/// the school's provider or an emailed link does; a password does only for an admin who also
/// gave a code (their way in when the provider is down).
pub fn opens_without_passwords(with: Option<SignInWith>, roles: &[Role]) -> bool {
    match with {
        None | Some(SignInWith::Password) => false,
        // Not a code from an authenticator set up on the way in: that proves only the password.
        Some(SignInWith::PasswordAndNewCode) => false,
        Some(SignInWith::PasswordAndCode | SignInWith::PasswordAndRecoveryCode) => {
            roles.contains(&Role::Admin)
        }
        Some(_) => true,
    }
}

/// Whether this session, made with a password alone, must not change the account's email
/// address or password: the account belongs to a school whose passwords are off, and a new
/// address would let whoever holds the password in by an emailed link.
pub async fn password_session_locked_out(
    pool: &sqlx::PgPool,
    user: &CurrentUser,
) -> Result<bool, AppError> {
    let password_only = matches!(
        user.signed_in_with,
        None | Some(SignInWith::Password | SignInWith::PasswordAndNewCode)
    );
    if !password_only {
        return Ok(false);
    }
    Ok(sqlx::query_scalar!(
        r#"select exists (select 1 from memberships m join schools s on s.id = m.school_id
                          where m.user_id = $1 and m.status = 'active' and s.passwords_off) as "off!""#,
        user.id
    )
    .fetch_one(pool)
    .await?)
}

/// The value of `{name}` in the request's path; a path without it is not found.
pub async fn path_param(
    parts: &mut Parts,
    state: &AppState,
    name: &str,
) -> Result<String, AppError> {
    let params = RawPathParams::from_request_parts(parts, state)
        .await
        .map_err(|_| AppError::NotFound)?;
    params
        .iter()
        .find(|(param, _)| *param == name)
        .map(|(_, value)| value.to_owned())
        .ok_or(AppError::NotFound)
}

impl FromRequestParts<AppState> for Member {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let key = MemberKey::from_parts(parts, state).await?;
        // The session, its account and the account's membership of this school in one query:
        // every school page starts here. `auth` is `AUTH_KEY`.
        let row = sqlx::query_as!(
            MemberColumns,
            r#"select sm.auth,
                      sm.user_id as "id?", sm.email as "email?", sm.full_name as "full_name?",
                      sm.auth_epoch as "auth_epoch?",
                      sm.school_id as "school_id?", sm.slug as "slug?",
                      sm.school_name as "school_name?", sm.membership_id as "membership_id?",
                      sm.grp as "grp?: Group", sm.job_title as "job_title?",
                      sm.roles as "roles?: Vec<Role>", sm.passwords_off as "passwords_off?"
               from session_member($2, $1) sm"#,
            key.slug,
            key.session_id
        )
        .fetch_optional(&state.pool)
        .await?;
        key.member(parts, state, row).await
    }
}

/// A set of portal roles that may use a page.
pub trait Roles: Send + Sync {
    const ROLES: &'static [Role];

    fn allows(member: &Member) -> bool {
        Self::ROLES.iter().any(|r| member.has_role(*r))
    }
}

/// The DPO, who owns the policy text, and the school's admin.
pub struct PolicyEditors;
impl Roles for PolicyEditors {
    const ROLES: &'static [Role] = &[Role::Dpo, Role::Admin];
}

/// Who keeps the list of people and chases signatures: the SBM, and the admin.
pub struct PeopleManagers;
impl Roles for PeopleManagers {
    const ROLES: &'static [Role] = &[Role::Sbm, Role::Admin];
}

/// Who sees the compliance dashboard: the SBM, the head and SLT (read-only), the admin.
pub struct ComplianceViewers;
impl Roles for ComplianceViewers {
    const ROLES: &'static [Role] = &[Role::Sbm, Role::Head, Role::Admin];
}

/// The school's administrators.
pub struct Admins;
impl Roles for Admins {
    const ROLES: &'static [Role] = &[Role::Admin];
}

/// A member of the school holding one of `R`'s roles. Other members get 403 (and the refusal
/// is audited); people outside the school get 404, as for every school page.
pub struct RequireRole<R: Roles> {
    pub member: Member,
    _roles: std::marker::PhantomData<R>,
}

impl<R: Roles> std::ops::Deref for RequireRole<R> {
    type Target = Member;
    fn deref(&self) -> &Member {
        &self.member
    }
}

impl<R: Roles> FromRequestParts<AppState> for RequireRole<R> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let member = Member::from_request_parts(parts, state).await?;
        if R::allows(&member) {
            return Ok(RequireRole {
                member,
                _roles: std::marker::PhantomData,
            });
        }
        Err(refuse(&state.pool, &member, parts.uri.path()).await)
    }
}

/// The 403 for a member of the school without the role `path` needs, audited.
pub async fn refuse(pool: &sqlx::PgPool, member: &Member, path: &str) -> AppError {
    match crate::audit::record(
        pool,
        Some(member.school.id),
        Some(member.user.id),
        &crate::audit::Event::AccessDenied {
            path: path.to_owned(),
        },
    )
    .await
    {
        Ok(()) => AppError::Forbidden,
        Err(error) => error.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_passwords_off_only_an_admins_password_and_code_still_open_the_school() {
        let admin = [Role::Signer, Role::Admin];
        let sbm = [Role::Signer, Role::Sbm];
        assert!(!opens_without_passwords(Some(SignInWith::Password), &admin));
        assert!(
            !opens_without_passwords(None, &admin),
            "an older session counts as a password"
        );
        assert!(opens_without_passwords(
            Some(SignInWith::PasswordAndCode),
            &admin
        ));
        assert!(!opens_without_passwords(
            Some(SignInWith::PasswordAndCode),
            &sbm
        ));
        assert!(opens_without_passwords(
            Some(SignInWith::SchoolAccountAndCode),
            &sbm
        ));
        assert!(opens_without_passwords(Some(SignInWith::EmailLink), &sbm));
        assert!(
            !opens_without_passwords(Some(SignInWith::PasswordAndNewCode), &admin),
            "an authenticator set up on the way in proves only the password"
        );
    }
}
