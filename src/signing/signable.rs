//! What a member may sign: the version named in the path as they may sign it, read in the
//! sign page's one query (with a published version's facts kept in memory), what changed
//! since they last signed, and the version published in place of one replaced.

use std::sync::{Arc, LazyLock};

use axum::{
    extract::FromRequestParts,
    http::{Method, request::Parts},
};
use quick_cache::sync::Cache;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    auth::session::{Member, MemberColumns, MemberKey, path_param, refuse},
    domain::groups::Group,
    domain::roles::Role,
    domain::{
        diff::{self, Change},
        render,
        version_view::VersionView,
    },
    error::{AppError, Result},
    sign_page::ChangesSince,
    state::AppState,
    store::versions::{self, Published},
};

/// A published version that this member may sign, with what the sign page needs to know about
/// them and it (its text comes from memory).
pub(super) struct Signable {
    pub(super) version: VersionView,
    pub(super) content: Arc<Published>,
    /// Their agreement to this version, if they have signed it: (id, when). A signature's
    /// request does not read it: the writer stores no second agreement, and the answer then
    /// says "already signed".
    pub(super) signed: Option<(Uuid, OffsetDateTime)>,
    /// The last other version of this policy that they signed, if it was read (a signature
    /// needs it only when the form is shown again).
    pub(super) last_signed: LastSigned,
    /// The name they must type to sign, as their school has it.
    pub(super) signing_name: String,
}

/// The last other version of a policy that a person signed, as a sign page's query read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum LastSigned {
    /// Not read: a signature's request does not need it.
    NotRead,
    /// They have signed no other version of this policy.
    Never,
    Version(Uuid),
}

/// What the database says about a version for the member asking, if it is published and
/// meant for their group.
struct VersionFacts {
    policy_name: String,
    signing_name: String,
    agreement_id: Option<Uuid>,
    signed_at: Option<OffsetDateTime>,
    last_signed: Option<Uuid>,
}

/// The version as this member may sign it, from its facts; None if they may not.
async fn signable(
    state: &AppState,
    member: &Member,
    version_id: Uuid,
    facts: Option<VersionFacts>,
    last_signed_read: bool,
) -> Result<Option<Signable>> {
    let Some(facts) = facts else {
        return Ok(None);
    };
    let Some(content) =
        versions::published_content(&state.pool, member.school.id, version_id).await?
    else {
        return Ok(None);
    };
    Ok(Some(Signable {
        version: content.view(version_id, facts.policy_name, member.school.name.clone()),
        content,
        signed: facts.agreement_id.zip(facts.signed_at),
        signing_name: facts.signing_name,
        last_signed: match (last_signed_read, facts.last_signed) {
            (false, _) => LastSigned::NotRead,
            (true, None) => LastSigned::Never,
            (true, Some(version)) => LastSigned::Version(version),
        },
    }))
}

/// The version `version_id` as this member may sign it now, if they may.
pub(super) async fn load_signable(
    state: &AppState,
    member: &Member,
    version_id: Uuid,
) -> Result<Option<Signable>> {
    let facts = sqlx::query_as!(
        VersionFacts,
        r#"select w.policy_name as "policy_name!",
                  (select u.signing_name from users u where u.id = w.user_id) as "signing_name!",
                  mine.id as "agreement_id?", mine.signed_at as "signed_at?",
                  -- From the person's few agreements, not from the school's versions.
                  (select a.version_id from agreements a
                   where a.membership_id = w.membership_id and a.version_id <> w.version_id
                     and exists (select 1 from policy_versions o
                                 where o.id = a.version_id and o.policy_id = w.policy_id)
                   order by a.signed_at desc limit 1) as last_signed
           from must_sign w
           left join agreements mine on mine.membership_id = w.membership_id
                                     and mine.version_id = w.version_id
           where w.version_id = $1 and w.school_id = $2 and w.membership_id = $3
             -- Not "w.status = 'published'" here: the planner would then walk the index of
             -- every school's published versions instead of looking up this one.
             and w.status || '' = 'published'"#,
        version_id,
        member.school.id,
        member.membership_id
    )
    .fetch_optional(&state.pool)
    .await?;
    signable(state, member, version_id, facts, true).await
}

/// A request for a sign page, or a signature: the member asking and the version named in
/// the path as they may sign it (None if they may not), read in the page's one query.
pub(super) struct SignRequest {
    pub(super) member: Member,
    pub(super) version_id: Uuid,
    pub(super) signable: Option<Signable>,
}

/// `MemberColumns` and `VersionFacts` side by side, as the sign page's query reads them.
struct SignRequestRow {
    auth: Option<serde_json::Value>,
    id: Option<Uuid>,
    email: Option<String>,
    full_name: Option<String>,
    auth_epoch: Option<i32>,
    school_id: Option<Uuid>,
    slug: Option<String>,
    school_name: Option<String>,
    membership_id: Option<Uuid>,
    grp: Option<Group>,
    job_title: Option<String>,
    roles: Option<Vec<Role>>,
    signing_name: Option<String>,
    policy_name: Option<String>,
    agreement_id: Option<Uuid>,
    signed_at: Option<OffsetDateTime>,
    last_signed: Option<Uuid>,
    policies_changed: Option<i64>,
    passwords_off: Option<bool>,
}

impl SignRequestRow {
    /// Whether `kept` still holds for this row's school, judged by its `policies_changed`
    /// counter.
    fn kept_facts_hold(&self, kept: &KeptFacts) -> bool {
        self.policies_changed == Some(kept.policies_changed)
    }
}

/// What the sign page needs of a published version's policy, kept in memory by version id:
/// it holds for as long as the school's `policies_changed` counter, which the page's query
/// reads, has not moved on (any change to the school's policies or versions moves it).
struct KeptFacts {
    school_id: Uuid,
    policies_changed: i64,
    /// The policy's other versions, among which is the one the person signed last.
    others: Vec<Uuid>,
}

static KEPT: LazyLock<Cache<Uuid, Arc<KeptFacts>>> = LazyLock::new(|| Cache::new(4096));

/// The sign page's one query, reading the version's facts: the session, the account, the
/// membership (`session_member`), and (by a lateral join on the membership found) the
/// policy's name if the version is published and they must sign it (`must_sign`), their
/// agreement to it and the version of the policy they signed last. A version found is kept
/// for the next request.
async fn whole(
    state: &AppState,
    key: &MemberKey,
    version_id: Uuid,
    page: bool,
) -> Result<Option<SignRequestRow>> {
    // In files of their own, as the dashboard's, so that its benchmark explains these very
    // queries.
    let row = sqlx::query_file_as!(
        SignRequestRow,
        "src/signing/sign_request.sql",
        key.slug,
        key.session_id,
        version_id,
        page
    )
    .fetch_optional(&state.pool)
    .await?;
    if let Some(school_id) = row
        .as_ref()
        .filter(|row| row.policy_name.is_some())
        .and_then(|row| row.school_id)
    {
        keep(state, school_id, version_id).await?;
    }
    Ok(row)
}

/// Reads a published version's policy facts into `KEPT`, with the counter they hold for.
async fn keep(state: &AppState, school_id: Uuid, version_id: Uuid) -> Result<()> {
    let facts = sqlx::query!(
        r#"select s.policies_changed,
                  array(select o.id from policy_versions o
                        where o.policy_id = v.policy_id and o.id <> v.id) as "others!"
           from policy_versions v
           join schools s on s.id = v.school_id
           where v.id = $1 and v.school_id = $2 and v.status = 'published'"#,
        version_id,
        school_id
    )
    .fetch_optional(&state.pool)
    .await?;
    if let Some(facts) = facts {
        KEPT.insert(
            version_id,
            Arc::new(KeptFacts {
                school_id,
                policies_changed: facts.policies_changed,
                others: facts.others,
            }),
        );
    }
    Ok(())
}

/// `whole`, with the policy's other versions taken from `kept`, so that the version the person
/// signed last is found among their agreements alone; the query reads the school's
/// `policies_changed` counter to check `kept` by.
async fn with_kept_facts(
    state: &AppState,
    key: &MemberKey,
    version_id: Uuid,
    page: bool,
    kept: &KeptFacts,
) -> Result<Option<SignRequestRow>> {
    Ok(sqlx::query_file_as!(
        SignRequestRow,
        "src/signing/sign_request_kept.sql",
        key.slug,
        key.session_id,
        version_id,
        page,
        &kept.others
    )
    .fetch_optional(&state.pool)
    .await?)
}

impl FromRequestParts<AppState> for SignRequest {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let key = MemberKey::from_parts(parts, state).await?;
        // A path that names no version is "not found", once the person is known.
        let named: Option<Uuid> = path_param(parts, state, "version_id").await?.parse().ok();
        // A signature reads less than the page: see the query.
        let page = parts.method == Method::GET;
        let version_id = named.unwrap_or_default();
        let kept = named.and_then(|id| KEPT.get(&id));
        let row = match kept {
            Some(kept) => {
                let row = with_kept_facts(state, &key, version_id, page, &kept).await?;
                let holds = row.as_ref().is_none_or(|row| {
                    row.school_id == Some(kept.school_id) && row.kept_facts_hold(&kept)
                });
                if holds {
                    row
                } else {
                    KEPT.remove(&version_id);
                    whole(state, &key, version_id, page).await?
                }
            }
            None => whole(state, &key, version_id, page).await?,
        };
        let (columns, facts) = match row {
            None => (None, None),
            Some(row) => (
                Some(MemberColumns {
                    auth: row.auth,
                    id: row.id,
                    email: row.email,
                    full_name: row.full_name,
                    auth_epoch: row.auth_epoch,
                    school_id: row.school_id,
                    slug: row.slug,
                    school_name: row.school_name,
                    membership_id: row.membership_id,
                    grp: row.grp,
                    job_title: row.job_title,
                    roles: row.roles,
                    passwords_off: row.passwords_off,
                }),
                row.policy_name.map(|policy_name| VersionFacts {
                    policy_name,
                    signing_name: row.signing_name.unwrap_or_default(),
                    agreement_id: row.agreement_id,
                    signed_at: row.signed_at,
                    last_signed: row.last_signed,
                }),
            ),
        };
        let member = key.member(parts, state, columns).await?;
        if !member.has_role(Role::Signer) {
            return Err(refuse(&state.pool, &member, parts.uri.path()).await);
        }
        let version_id = named.ok_or(AppError::NotFound)?;
        let signable = signable(state, &member, version_id, facts, page).await?;
        Ok(SignRequest {
            member,
            version_id,
            signable,
        })
    }
}

/// The version now published of the policy whose version `version_id` was replaced while a
/// person had its form open.
pub(super) async fn replacement(
    state: &AppState,
    member: &Member,
    version_id: Uuid,
) -> Result<Signable> {
    let current = sqlx::query_scalar!(
        "select cur.id from policy_versions old
         join policy_versions cur on cur.policy_id = old.policy_id and cur.status = 'published'
         where old.id = $1 and old.school_id = $2 and old.status = 'superseded'",
        version_id,
        member.school.id
    )
    .fetch_optional(&state.pool)
    .await?
    .ok_or(AppError::NotFound)?;
    load_signable(state, member, current)
        .await?
        .ok_or(AppError::NotFound)
}

/// Two versions of a policy: (the one signed before, the one being signed).
type FromTo = (Uuid, Uuid);

/// What changed between two published versions, kept in memory: everyone who signed last
/// year's version sees the same list in September.
static CHANGES: LazyLock<Cache<FromTo, Arc<Vec<Change>>>> = LazyLock::new(|| Cache::new(1024));

/// What changed since the last version of this policy that the person signed, if any.
pub(super) async fn changes_since_last_signed(
    state: &AppState,
    member: &Member,
    signable: &Signable,
) -> Result<Option<ChangesSince>> {
    let LastSigned::Version(last) = signable.last_signed else {
        return Ok(None);
    };
    let Some(signed) = versions::published_content(&state.pool, member.school.id, last).await?
    else {
        return Ok(None);
    };
    let key = (last, signable.version.id);
    let changes = match CHANGES.get(&key) {
        Some(changes) => changes,
        None => {
            let (old, new) = (signed.clone(), signable.content.clone());
            // Comparing two long texts takes a while: not on a request thread.
            let compared =
                render::off_request_threads(move || diff::compare(&old.content, &new.content))
                    .await
                    .unwrap_or_default();
            let changes = Arc::new(compared);
            CHANGES.insert(key, changes.clone());
            changes
        }
    };
    Ok(Some(ChangesSince {
        label: signed.content.label.clone(),
        changes: changes.to_vec(),
    }))
}
