//! The signer's side: what is waiting, the sign form, agreements and receipts.
//! An agreement is evidence: written once, by the signature writer (`store::agreements`), and
//! is its own audit record.

use std::{
    collections::BTreeMap,
    sync::{Arc, LazyLock},
};

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Router,
    extract::{Extension, FromRequestParts, Path, State},
    http::{HeaderMap, Method, StatusCode, header, request::Parts},
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use axum_extra::extract::Form;
use quick_cache::sync::Cache;
use serde::Deserialize;
use sqlx::types::{Json, ipnetwork::IpNetwork};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    auth::session::{Member, MemberColumns, MemberKey, path_param, refuse},
    clock,
    domain::{
        content::{Acknowledgement, SIGNATURE_FIELDS},
        diff::{self, Change, WordChange},
        render,
        version_view::VersionView,
    },
    error::{AppError, Result},
    mail,
    page::{FieldErrors, Nav},
    state::AppState,
    store::versions::{self, Published},
    web::ClientIp,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/s/{slug}/", get(home))
        .route(
            "/s/{slug}/versions/{version_id}/sign",
            get(sign_form).post(sign),
        )
        .route("/s/{slug}/agreements/{agreement_id}", get(receipt))
}

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
struct HomePage {
    nav: Nav,
    slug: String,
    first_name: String,
    waiting: Vec<Waiting>,
    signed: Vec<Signed>,
}

async fn home(State(state): State<AppState>, member: Member) -> Result<HomePage> {
    let signer = member.has_role("signer");
    let waiting = sqlx::query_as!(
        Waiting,
        r#"select v.id as version_id, p.name as policy_name, v.label
           from policy_versions v join policies p on p.id = v.policy_id and p.school_id = v.school_id
           where v.school_id = $1 and v.status = 'published' and $2 = any(p.audience)
             and not exists (select 1 from agreements a where a.version_id = v.id and a.membership_id = $3)
             and $4
           order by p.name"#,
        member.school.id,
        member.grp,
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
        first_name: member
            .user
            .full_name
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned(),
        waiting,
        signed,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "signing/sign.html")]
pub struct SignPage {
    nav: Nav,
    slug: String,
    /// A DPO's preview: the same page, with nothing to submit.
    preview: bool,
    changes_since: Option<ChangesSince>,
    version: VersionView,
    today: String,
    full_name: String,
    role: String,
    ticked: Vec<String>,
    errors: FieldErrors,
}

pub struct ChangesSince {
    pub label: String,
    pub changes: Vec<Change>,
}

impl SignPage {
    /// The page exactly as a signer will see it, for a DPO checking a draft.
    pub fn preview(
        nav: Nav,
        slug: String,
        job_title: String,
        version: VersionView,
        changes_since: Option<ChangesSince>,
    ) -> Self {
        SignPage {
            nav,
            slug,
            preview: true,
            changes_since,
            version,
            today: render::long_date(clock::today_uk()),
            full_name: String::new(),
            role: job_title,
            ticked: vec![],
            errors: FieldErrors::default(),
        }
    }

    fn is_ticked(&self, id: &str) -> bool {
        self.ticked.iter().any(|t| t == id)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "signing/already_signed.html")]
struct AlreadySignedPage {
    nav: Nav,
    slug: String,
    policy_name: String,
    label: String,
    agreement_id: Uuid,
    signed_at: String,
}

/// A published version that this member may sign, with what the sign page needs to know about
/// them and it (its text comes from memory).
struct Signable {
    version: VersionView,
    content: Arc<Published>,
    /// Their agreement to this version, if they have signed it: (id, when). A signature's
    /// request does not read it: the writer stores no second agreement, and the answer then
    /// says "already signed".
    signed: Option<(Uuid, OffsetDateTime)>,
    /// The last other version of this policy that they signed; `None` if it was not read
    /// (a signature needs it only when the form is shown again).
    last_signed: Option<Option<Uuid>>,
}

/// What the database says about a version for the member asking, if it is published and
/// meant for their group.
struct VersionFacts {
    policy_name: String,
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
    let Some(facts) = facts.filter(|_| member.has_role("signer")) else {
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
        last_signed: last_signed_read.then_some(facts.last_signed),
    }))
}

/// The version `version_id` as this member may sign it now, if they may.
async fn load_signable(
    state: &AppState,
    member: &Member,
    version_id: Uuid,
) -> Result<Option<Signable>> {
    let facts = sqlx::query_as!(
        VersionFacts,
        r#"select p.name as policy_name,
                  mine.id as "agreement_id?", mine.signed_at as "signed_at?",
                  -- From the person's few agreements, not from the school's versions.
                  (select a.version_id from agreements a
                   where a.membership_id = $3 and a.version_id <> v.id
                     and exists (select 1 from policy_versions o
                                 where o.id = a.version_id and o.policy_id = v.policy_id)
                   order by a.signed_at desc limit 1) as last_signed
           from policy_versions v
           join policies p on p.id = v.policy_id and p.school_id = v.school_id
           left join agreements mine on mine.membership_id = $3 and mine.version_id = v.id
           where v.id = $1 and v.school_id = $2
             -- Not "v.status = 'published'" here: the planner would then walk the index of
             -- every school's published versions instead of looking up this one.
             and v.status || '' = 'published' and $4 = any(p.audience)"#,
        version_id,
        member.school.id,
        member.membership_id,
        member.grp
    )
    .fetch_optional(&state.pool)
    .await?;
    signable(state, member, version_id, facts, true).await
}

/// A request for a sign page, or a signature: the member asking and the version named in
/// the path as they may sign it (None if they may not), read in the page's one query.
struct SignRequest {
    member: Member,
    version_id: Uuid,
    signable: Option<Signable>,
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
    grp: Option<String>,
    job_title: Option<String>,
    roles: Option<Vec<String>>,
    policy_name: Option<String>,
    agreement_id: Option<Uuid>,
    signed_at: Option<OffsetDateTime>,
    last_signed: Option<Uuid>,
    policies_changed: Option<i64>,
}

impl SignRequestRow {
    /// Whether `kept` still holds for this row's school, judged by its `policies_changed`
    /// counter; if so, the policy's name is filled in from it when this member's group may sign.
    fn kept_facts_hold(&mut self, kept: &KeptFacts) -> bool {
        if self.policies_changed != Some(kept.policies_changed) {
            return false;
        }
        self.policy_name = self
            .grp
            .as_ref()
            .filter(|grp| kept.audience.contains(grp))
            .map(|_| kept.policy_name.clone());
        true
    }
}

/// What the sign page needs of a published version's policy, kept in memory by version id:
/// it holds for as long as the school's `policies_changed` counter, which the page's query
/// reads, has not moved on (any change to the school's policies or versions moves it).
struct KeptFacts {
    school_id: Uuid,
    policies_changed: i64,
    policy_name: String,
    audience: Vec<String>,
    /// The policy's other versions, among which is the one the person signed last.
    others: Vec<Uuid>,
}

static KEPT: LazyLock<Cache<Uuid, Arc<KeptFacts>>> = LazyLock::new(|| Cache::new(4096));

/// The sign page's one query, reading the version's facts: the session, the account, the
/// membership, and (by a lateral join on the membership found) the policy's name if the
/// version is published and meant for their group, their agreement to it and the version of
/// the policy they signed last. A version found is kept for the next request.
async fn whole(
    state: &AppState,
    key: &MemberKey,
    version_id: Uuid,
    page: bool,
) -> Result<Option<SignRequestRow>> {
    let row = sqlx::query_as!(
        SignRequestRow,
        r#"select ss.data->'auth' as auth,
                  u.id as "id?", u.email as "email?", u.full_name as "full_name?",
                  u.auth_epoch as "auth_epoch?",
                  s.id as "school_id?", s.slug as "slug?", s.name as "school_name?",
                  m.id as "membership_id?", m.grp as "grp?", m.job_title as "job_title?",
                  m.roles as "roles?",
                  f.policy_name as "policy_name?", f.agreement_id as "agreement_id?",
                  f.signed_at as "signed_at?", f.last_signed as "last_signed?",
                  s.policies_changed as "policies_changed?"
           from sessions ss
           left join users u on u.id = (ss.data->'auth'->>'user_id')::uuid
           left join schools s on s.slug = $1
           left join memberships m on m.user_id = u.id and m.school_id = s.id
                                      and m.status = 'active'
           left join lateral (
             select p.name as policy_name, mine.id as agreement_id, mine.signed_at,
                    -- Only for the page: a signature does without it.
                    case when $4 then
                      (select a.version_id from agreements a
                       where a.membership_id = m.id and a.version_id <> v.id
                         and exists (select 1 from policy_versions o
                                     where o.id = a.version_id and o.policy_id = v.policy_id)
                       order by a.signed_at desc limit 1)
                    end as last_signed
             from policy_versions v
             join policies p on p.id = v.policy_id and p.school_id = v.school_id
             -- A signature does without it too: the writer refuses a second agreement.
             left join agreements mine on $4 and mine.membership_id = m.id
                                          and mine.version_id = v.id
             where v.id = $3 and v.school_id = s.id
               and v.status || '' = 'published' and m.grp = any(p.audience)
           ) f on true
           where ss.id = $2 and ss.expiry_date > now()"#,
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
        r#"select s.policies_changed, p.name, p.audience,
                  array(select o.id from policy_versions o
                        where o.policy_id = v.policy_id and o.id <> v.id) as "others!"
           from policy_versions v
           join policies p on p.id = v.policy_id and p.school_id = v.school_id
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
                policy_name: facts.name,
                audience: facts.audience,
                others: facts.others,
            }),
        );
    }
    Ok(())
}

/// `whole`, with the policy's facts taken from `kept`: the query reads only the person's
/// side, and the school's `policies_changed` counter to check `kept` by.
async fn with_kept_facts(
    state: &AppState,
    key: &MemberKey,
    version_id: Uuid,
    page: bool,
    kept: &KeptFacts,
) -> Result<Option<SignRequestRow>> {
    Ok(sqlx::query_as!(
        SignRequestRow,
        r#"select ss.data->'auth' as auth,
                  u.id as "id?", u.email as "email?", u.full_name as "full_name?",
                  u.auth_epoch as "auth_epoch?",
                  s.id as "school_id?", s.slug as "slug?", s.name as "school_name?",
                  m.id as "membership_id?", m.grp as "grp?", m.job_title as "job_title?",
                  m.roles as "roles?",
                  null::text as "policy_name?", mine.id as "agreement_id?",
                  mine.signed_at as "signed_at?",
                  -- Only for the page, as in `whole`.
                  case when $4 then
                    (select a.version_id from agreements a
                     where a.membership_id = m.id and a.version_id = any($5)
                     order by a.signed_at desc limit 1)
                  end as "last_signed?",
                  s.policies_changed as "policies_changed?"
           from sessions ss
           left join users u on u.id = (ss.data->'auth'->>'user_id')::uuid
           left join schools s on s.slug = $1
           left join memberships m on m.user_id = u.id and m.school_id = s.id
                                      and m.status = 'active'
           left join agreements mine on $4 and mine.membership_id = m.id
                                        and mine.version_id = $3
           where ss.id = $2 and ss.expiry_date > now()"#,
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
                let mut row = with_kept_facts(state, &key, version_id, page, &kept).await?;
                let holds = row.as_mut().is_none_or(|row| {
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
                }),
                row.policy_name.map(|policy_name| VersionFacts {
                    policy_name,
                    agreement_id: row.agreement_id,
                    signed_at: row.signed_at,
                    last_signed: row.last_signed,
                }),
            ),
        };
        let member = key.member(parts, state, columns).await?;
        if !member.has_role("signer") {
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
async fn replacement(state: &AppState, member: &Member, version_id: Uuid) -> Result<Signable> {
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
async fn changes_since_last_signed(
    state: &AppState,
    member: &Member,
    signable: &Signable,
) -> Result<Option<ChangesSince>> {
    let Some(last) = signable.last_signed.flatten() else {
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

fn already_signed_page(
    member: &Member,
    version: &VersionView,
    (agreement_id, signed_at): (Uuid, OffsetDateTime),
) -> AlreadySignedPage {
    AlreadySignedPage {
        nav: member.nav(),
        slug: member.school.slug.clone(),
        policy_name: version.policy_name.clone(),
        label: version.label.clone(),
        agreement_id,
        signed_at: clock::date_time(signed_at),
    }
}

async fn sign_form(
    State(state): State<AppState>,
    SignRequest {
        member, signable, ..
    }: SignRequest,
) -> Result<Response> {
    let signable = signable.ok_or(AppError::NotFound)?;
    if let Some(signed) = signable.signed {
        return Ok(already_signed_page(&member, &signable.version, signed).into_response());
    }
    Ok(SignPage {
        nav: member.nav(),
        slug: member.school.slug.clone(),
        preview: false,
        changes_since: changes_since_last_signed(&state, &member, &signable).await?,
        today: render::long_date(clock::today_uk()),
        full_name: String::new(),
        role: member.job_title.clone(),
        ticked: vec![],
        errors: FieldErrors::default(),
        version: signable.version,
    }
    .into_response())
}

#[derive(Deserialize)]
struct SignForm {
    #[serde(default)]
    ack: Vec<String>,
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    content_sha256: String,
}

/// Names match when they differ only in case and spacing.
fn same_name(typed: &str, account: &str) -> bool {
    let squash = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect()
    };
    squash(typed) == squash(account)
}

const MAX_TEXT: usize = 200;

fn check(form: &SignForm, version: &VersionView, account_name: &str) -> FieldErrors {
    let mut errors = FieldErrors::default();
    if form.content_sha256 != version.content_sha256 {
        errors.add(
            "policy-title",
            "This policy was updated while you were reading it. Read the new version, then sign",
        );
    }
    for ack in version.acknowledgements.iter().filter(|a| a.required) {
        if !form.ack.contains(&ack.id) {
            errors.add(
                format!("ack-{}", ack.id),
                format!("Tick “{}” to sign the policy", ack.text),
            );
        }
    }
    let name = form.full_name.trim();
    if name.is_empty() {
        errors.add("full_name", "Enter your full name");
    } else if name.chars().count() > MAX_TEXT
        || crate::input::unusable(name, false).is_some()
        || !same_name(name, account_name)
    {
        errors.add(
            "full_name",
            format!("Enter your full name as your school has it: {account_name}"),
        );
    }
    if version.asks_role() {
        let role = form.role.trim();
        if role.is_empty() {
            errors.add("role", "Enter your role within the school");
        } else if role.chars().count() > MAX_TEXT {
            errors.add(
                "role",
                format!("Role within the school must be {MAX_TEXT} characters or fewer"),
            );
        } else if crate::input::unusable(role, false).is_some() {
            errors.add(
                "role",
                "Role within the school must only include letters, numbers and punctuation",
            );
        }
    }
    errors
}

/// The version a submitted form signs, as it stands now (the one published in its place if
/// it was replaced while the form was open), with the form if it can be signed as filled in.
/// Otherwise the answer to give instead: "already signed", or the form again with what to
/// put right.
async fn signable_now(
    state: &AppState,
    member: &Member,
    (version_id, loaded): (Uuid, Option<Signable>),
    form: SignForm,
) -> Result<Result<(Signable, SignForm), Response>> {
    let mut signable = match loaded {
        Some(signable) => signable,
        None => replacement(state, member, version_id).await?,
    };
    let errors = check(&form, &signable.version, &member.user.full_name);
    if !errors.is_empty() && signable.last_signed.is_none() {
        // A signature's request read neither whether they have signed nor what they signed
        // last; the form shown again needs both.
        if let Some(now) = load_signable(state, member, signable.version.id).await? {
            signable = now;
        }
    }
    if let Some(signed) = signable.signed {
        let page = already_signed_page(member, &signable.version, signed);
        return Ok(Err((StatusCode::CONFLICT, page).into_response()));
    }
    if !errors.is_empty() {
        return form_again(state, member, signable, form, errors)
            .await
            .map(Err);
    }
    Ok(Ok((signable, form)))
}

async fn sign(
    State(state): State<AppState>,
    SignRequest {
        member,
        version_id,
        signable,
    }: SignRequest,
    Extension(ClientIp(client)): Extension<ClientIp>,
    headers: HeaderMap,
    Form(form): Form<SignForm>,
) -> Result<Response> {
    let (signable, form) = match signable_now(&state, &member, (version_id, signable), form).await?
    {
        Ok(ready) => ready,
        Err(answer) => return Ok(answer),
    };
    let version = &signable.version;
    let ticks: BTreeMap<&str, bool> = version
        .acknowledgements
        .iter()
        .map(|a: &Acknowledgement| (a.id.as_str(), form.ack.contains(&a.id)))
        .collect();
    let role = version
        .asks_role()
        .then(|| crate::input::composed(&form.role));
    let user_agent: Option<String> = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(1000).collect());

    // The id is chosen here so that the receipt email, which links to it, can be written in
    // the same statement as the agreement.
    // Time-ordered (UUIDv7): the agreement, its receipt and its seal entry are keyed by it, and
    // keys that follow each other go to the same index pages instead of anywhere.
    let agreement_id = Uuid::now_v7();
    let signed_at = clock::date_time(OffsetDateTime::now_utc());
    let receipt_url = format!(
        "{}/s/{}/agreements/{agreement_id}",
        state.settings.base_url, member.school.slug
    );
    let receipt = mail::Receipt {
        first_name: member
            .user
            .full_name
            .split_whitespace()
            .next()
            .unwrap_or_default(),
        school_name: &member.school.name,
        policy_name: &version.policy_name,
        label: &version.label,
        signed_at: &signed_at,
        content_sha256: &version.content_sha256,
        receipt_url: &receipt_url,
    }
    .render(
        &member.user.email,
        format!(
            "{}: your receipt for the {} ({})",
            member.school.name, version.policy_name, version.label
        ),
    )?;
    let stored = state
        .signatures
        .write(crate::store::agreements::NewAgreement {
            id: agreement_id,
            school_id: member.school.id,
            membership_id: member.membership_id,
            version_id: version.id,
            full_name: crate::input::composed(&form.full_name),
            role_stated: role,
            acknowledgements: serde_json::to_value(&ticks).map_err(anyhow::Error::from)?,
            content_sha256: version.content_sha256.clone(),
            ip: IpNetwork::from(client),
            user_agent,
            receipt,
        })
        .await?;
    if !stored {
        // Signed in another tab a moment ago, or the version was replaced since it was read.
        let now = load_signable(&state, &member, version.id).await?;
        return match signable_now(&state, &member, (version.id, now), form).await? {
            Err(answer) => Ok(answer),
            // The new version's form, filled in as it was, with the reason it is shown.
            Ok((now, form)) => form_again(&state, &member, now, form, FieldErrors::default()).await,
        };
    }
    Ok(Redirect::to(&format!(
        "/s/{}/agreements/{agreement_id}",
        member.school.slug
    ))
    .into_response())
}

/// The form again, as it was filled in, with what to put right.
async fn form_again(
    state: &AppState,
    member: &Member,
    signable: Signable,
    form: SignForm,
    errors: FieldErrors,
) -> Result<Response> {
    let ticked = form
        .ack
        .iter()
        .filter(|id| {
            signable
                .version
                .acknowledgements
                .iter()
                .any(|a| &&a.id == id)
        })
        .cloned()
        .collect();
    Ok((
        StatusCode::UNPROCESSABLE_ENTITY,
        SignPage {
            nav: member.nav(),
            slug: member.school.slug.clone(),
            preview: false,
            changes_since: changes_since_last_signed(state, member, &signable).await?,
            today: render::long_date(clock::today_uk()),
            full_name: form.full_name,
            role: form.role,
            ticked,
            errors,
            version: signable.version,
        },
    )
        .into_response())
}

struct TickedAcknowledgement {
    text: String,
    required: bool,
    ticked: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "signing/receipt.html")]
struct ReceiptPage {
    nav: Nav,
    school_name: String,
    policy_name: String,
    label: String,
    title: String,
    agreement_id: Uuid,
    signed_at: String,
    acknowledgements: Vec<TickedAcknowledgement>,
    signature_block: Vec<(&'static str, String)>,
    content_sha256: String,
    /// The seal covering the agreement: (number, when, fingerprint), once sealed.
    seal: Option<(i64, String, String)>,
    ip: Option<String>,
    user_agent: Option<String>,
    method: String,
}

/// A person's own agreement only: anyone else's id is "not found".
async fn receipt(
    State(state): State<AppState>,
    member: Member,
    Path((_slug, agreement_id)): Path<(String, Uuid)>,
) -> Result<ReceiptPage> {
    let row = sqlx::query!(
        r#"select a.id, a.signed_at, a.full_name, a.role_stated, a.content_sha256, host(a.ip) as ip,
                  a.user_agent, a.method,
                  a.acknowledgements as "ticks: Json<BTreeMap<String, bool>>",
                  v.label, v.title, v.acknowledgements as "acknowledgements: Json<Vec<Acknowledgement>>",
                  v.signature_fields,
                  p.name as policy_name
           from agreements a
           join policy_versions v on v.id = a.version_id and v.school_id = a.school_id
           join policies p on p.id = v.policy_id and p.school_id = v.school_id
           where a.id = $1 and a.membership_id = $2 and a.school_id = $3"#,
        agreement_id,
        member.membership_id,
        member.school.id
    )
    .fetch_optional(&state.pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let ticks = row.ticks.0;
    let seal = sqlx::query!(
        "select s.seq, s.sealed_at, s.sha256 from seal_entries e
         join seals s on s.school_id = e.school_id and s.seq = e.seq
         where e.kind = 'agreement' and e.row_id = $1",
        row.id.to_string()
    )
    .fetch_optional(&state.pool)
    .await?
    .map(|s| (s.seq, clock::date_time(s.sealed_at), s.sha256));
    // The paper form's signature block, filled in as the person signed it.
    let signature_block = SIGNATURE_FIELDS
        .iter()
        .filter(|(key, _)| row.signature_fields.iter().any(|f| f == key))
        .map(|&(key, label)| {
            let value = match key {
                "date" => render::long_date(clock::uk(row.signed_at).date()),
                "role" => row.role_stated.clone().unwrap_or_default(),
                _ => row.full_name.clone(),
            };
            (label, value)
        })
        .collect();
    Ok(ReceiptPage {
        seal,
        signature_block,
        nav: member.nav(),
        school_name: member.school.name.clone(),
        policy_name: row.policy_name,
        label: row.label,
        title: row.title,
        agreement_id: row.id,
        signed_at: clock::date_time(row.signed_at),
        acknowledgements: row
            .acknowledgements
            .0
            .into_iter()
            .map(|a| TickedAcknowledgement {
                ticked: ticks.get(&a.id).copied().unwrap_or(false),
                text: a.text,
                required: a.required,
            })
            .collect(),
        content_sha256: row.content_sha256,
        ip: row.ip,
        user_agent: row.user_agent,
        method: match row.method.as_str() {
            "paper" => "Paper form, recorded by the school".to_owned(),
            _ => "Signed online".to_owned(),
        },
    })
}
