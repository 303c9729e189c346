//! The compliance dashboard of a published version: counts and percentages overall, by
//! group and by job title, signatures over time as an SVG chart, and the outstanding list
//! that chasing starts from.

use std::collections::BTreeMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Router,
    extract::{Path, Query, RawQuery, State},
    routing::get,
};
use serde::Deserialize;
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

use super::outstanding::Filter;
use super::signers::{Signer, signers};
use crate::paths;
use crate::{
    auth::session::{ComplianceViewers, Member, PeopleManagers, RequireRole, Roles},
    clock,
    domain::{groups::Group, render},
    error::{AppError, Result},
    page::{FieldErrors, Nav},
    pagination::{PER_PAGE, Pagination, Requested},
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::Compliance::PATH, get(index))
        .route(paths::Dashboard::PATH, get(dashboard))
}

/// A published version of this school, as the dashboard needs it.
pub struct Published {
    pub id: Uuid,
    pub policy_name: String,
    pub label: String,
    pub audience: Vec<Group>,
    pub published_at: OffsetDateTime,
    pub content_sha256: String,
    /// The date the DPO asked everyone to sign by, if any.
    pub sign_by: Option<Date>,
}

pub async fn published(db: &sqlx::PgPool, school_id: Uuid, version_id: Uuid) -> Result<Published> {
    sqlx::query_as!(
        Published,
        r#"select v.id, p.name as policy_name, v.label, p.audience as "audience: Vec<Group>",
                  v.published_at as "published_at!",
                  v.content_sha256 as "content_sha256!", d.sign_by as "sign_by?"
           from policy_versions v join policies p on p.id = v.policy_id and p.school_id = v.school_id
           left join sign_by_dates d on d.version_id = v.id
           where v.id = $1 and v.school_id = $2 and v.status = 'published'"#,
        version_id,
        school_id
    )
    .fetch_optional(db)
    .await?
    .ok_or(AppError::NotFound)
}

pub struct Tally {
    pub name: String,
    pub signed: usize,
    pub total: usize,
}

impl Tally {
    pub fn outstanding(&self) -> usize {
        self.total - self.signed
    }

    pub fn percent(&self) -> usize {
        (self.signed * 100).checked_div(self.total).unwrap_or(100)
    }
}

fn tally_by(signers: &[Signer], key: impl Fn(&Signer) -> String) -> Vec<Tally> {
    let mut groups: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for s in signers {
        let entry = groups.entry(key(s)).or_default();
        entry.1 += 1;
        if s.signed_at.is_some() {
            entry.0 += 1;
        }
    }
    groups
        .into_iter()
        .map(|(name, (signed, total))| Tally {
            name,
            signed,
            total,
        })
        .collect()
}

// ---- The index: every published version ----

/// A published version and how many of those who must sign it have.
pub struct VersionSummary {
    pub id: Uuid,
    pub policy_name: String,
    pub label: String,
    pub tally: Tally,
}

/// Every published version of the school, by policy name, with its count of signatures.
pub async fn summaries(db: &sqlx::PgPool, school_id: Uuid) -> Result<Vec<VersionSummary>> {
    let rows = sqlx::query!(
        r#"select v.id, p.name as policy_name, v.label,
                  count(w.membership_id) as "total!", count(a.id) as "signed!"
           from policy_versions v
           join policies p on p.id = v.policy_id and p.school_id = v.school_id
           left join must_sign w on w.version_id = v.id
           left join agreements a on a.membership_id = w.membership_id and a.version_id = v.id
           where v.school_id = $1 and v.status = 'published'
           group by v.id, p.name, v.label
           order by p.name"#,
        school_id
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| VersionSummary {
            id: r.id,
            tally: Tally {
                name: r.policy_name.clone(),
                signed: usize::try_from(r.signed).unwrap_or(0),
                total: usize::try_from(r.total).unwrap_or(0),
            },
            policy_name: r.policy_name,
            label: r.label,
        })
        .collect())
}

#[derive(Template, WebTemplate)]
#[template(path = "compliance/index.html")]
struct IndexPage {
    nav: Nav,
    slug: String,
    versions: Vec<VersionSummary>,
}

async fn index(
    State(state): State<AppState>,
    viewer: RequireRole<ComplianceViewers>,
) -> Result<IndexPage> {
    Ok(IndexPage {
        nav: viewer.nav(),
        slug: viewer.school.slug.clone(),
        versions: summaries(&state.pool, viewer.school.id).await?,
    })
}

// ---- One version's dashboard ----

struct OutstandingRow {
    membership_id: Uuid,
    full_name: String,
    grp: String,
    job_title: String,
    days: i64,
    last_reminded: Option<String>,
    /// Not signed, and the date to sign by has passed.
    overdue: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "compliance/dashboard.html")]
pub(super) struct DashboardPage {
    nav: Nav,
    slug: String,
    version: Published,
    published_on: String,
    /// The date to sign by, in words, and whether it has passed.
    sign_by: Option<(String, bool)>,
    overall: Tally,
    by_group: Vec<Tally>,
    by_job_title: Vec<Tally>,
    chart: Chart,
    /// This page of those who have not signed and match the filter, and how many match.
    outstanding: Vec<OutstandingRow>,
    pagination: Pagination,
    /// Everyone who has not signed, whatever the filter.
    outstanding_total: usize,
    filter: Filter,
    /// The groups and job titles among those outstanding, for the filter's choices.
    groups: Vec<(&'static str, String)>,
    job_titles: Vec<String>,
    /// The filters and page, as the forms' addresses carry them ("?group=staff&page=2").
    place: String,
    can_chase: bool,
    notice: Option<String>,
    /// A choice of people to remind that could not be taken (none ticked).
    errors: FieldErrors,
}

#[derive(Deserialize, Default)]
pub(super) struct DashboardQuery {
    reminded: Option<usize>,
    skipped: Option<usize>,
}

async fn dashboard(
    State(state): State<AppState>,
    viewer: RequireRole<ComplianceViewers>,
    Path((_slug, version_id)): Path<(String, Uuid)>,
    RawQuery(raw): RawQuery,
    Query(query): Query<DashboardQuery>,
) -> Result<DashboardPage> {
    let list = Requested::from_query(raw.as_deref());
    page(
        &state,
        &viewer,
        version_id,
        list,
        &Filter::from_query(raw.as_deref()),
        query,
        FieldErrors::default(),
    )
    .await
}

/// The dashboard of a version, with page `list` of the outstanding list as `filter` narrows
/// it, and the result of a reminder (`query`) or a choice that could not be taken (`errors`).
pub(super) async fn page(
    state: &AppState,
    viewer: &Member,
    version_id: Uuid,
    list: Requested,
    filter: &Filter,
    query: DashboardQuery,
    errors: FieldErrors,
) -> Result<DashboardPage> {
    let version = published(&state.pool, viewer.school.id, version_id).await?;
    let people = signers(&state.pool, viewer.school.id, version.id).await?;
    let today = clock::today_uk();
    let overall = Tally {
        name: "Everyone".to_owned(),
        signed: people.iter().filter(|s| s.signed_at.is_some()).count(),
        total: people.len(),
    };
    let owing: Vec<&Signer> = people.iter().filter(|s| s.signed_at.is_none()).collect();
    let groups = Group::ALL
        .into_iter()
        .filter(|g| owing.iter().any(|s| s.grp == *g))
        .map(|g| (g.as_str(), g.to_string()))
        .collect();
    let mut job_titles: Vec<String> = owing
        .iter()
        .filter(|s| !s.job_title.is_empty())
        .map(|s| s.job_title.clone())
        .collect();
    job_titles.sort_by_key(|t| t.to_lowercase());
    job_titles.dedup();
    let mut outstanding: Vec<OutstandingRow> = owing
        .iter()
        .filter(|s| filter.matches(s))
        .map(|s| OutstandingRow {
            membership_id: s.membership_id,
            full_name: s.full_name.clone(),
            grp: s.grp.to_string(),
            job_title: s.job_title.clone(),
            days: s.days_outstanding(version.published_at, today),
            last_reminded: s.last_reminded.map(clock::date_time),
            overdue: version.sign_by.is_some_and(|date| date < today),
        })
        .collect();
    // Longest outstanding first; a stable sort, so those of the same days stay in the
    // surname order they were read in.
    outstanding.sort_by_key(|row| std::cmp::Reverse(row.days));
    // A page beyond the end (everyone on it has signed since) is the first.
    let list = if list.slice(&outstanding).is_some() {
        list
    } else {
        Requested::first()
    };
    let filters = filter.query();
    let pagination = Pagination::new(
        &paths::Dashboard::new(&viewer.school.slug, version.id).to_string(),
        Some(&filters),
        &["group", "job_title"],
        list,
        outstanding.len(),
    )
    .landing_at("#outstanding");
    let mut place = filters;
    if list.number() > 1 {
        if !place.is_empty() {
            place.push('&');
        }
        place.push_str(&format!("page={}", list.number()));
    }
    if !place.is_empty() {
        place.insert(0, '?');
    }
    let outstanding: Vec<OutstandingRow> = outstanding
        .into_iter()
        .skip(list.offset())
        .take(PER_PAGE)
        .collect();
    let notice = query.reminded.map(|n| {
        let skipped = query.skipped.unwrap_or(0);
        let mut text = if n == 0 {
            "Nobody was reminded.".to_owned()
        } else if viewer.mail_waits {
            format!(
                "{n} {} queued: email is not set up, so {} sent once it is.",
                if n == 1 {
                    "reminder is"
                } else {
                    "reminders are"
                },
                if n == 1 { "it is" } else { "they are" }
            )
        } else {
            format!(
                "{n} {} reminded.",
                if n == 1 { "person was" } else { "people were" }
            )
        };
        if skipped > 0 {
            text.push_str(&format!(
                " {skipped} had already been reminded today, so {} not reminded again.",
                if skipped == 1 { "was" } else { "were" }
            ));
        }
        text
    });
    Ok(DashboardPage {
        nav: viewer.nav(),
        slug: viewer.school.slug.clone(),
        published_on: render::long_date(clock::uk(version.published_at).date()),
        sign_by: version
            .sign_by
            .map(|date| (render::long_date(date), date < today)),
        chart: Chart::build(&people, version.published_at, today, version.sign_by),
        by_group: tally_by(&people, |s| s.grp.to_string()),
        by_job_title: tally_by(&people, |s| {
            if s.job_title.is_empty() {
                "No job title".to_owned()
            } else {
                s.job_title.clone()
            }
        }),
        outstanding_total: owing.len(),
        overall,
        outstanding,
        pagination,
        filter: filter.clone(),
        groups,
        job_titles,
        place,
        can_chase: PeopleManagers::allows(viewer),
        notice,
        errors,
        version,
    })
}

/// Cumulative signatures by day since publishing, drawn as an SVG line with a text
/// alternative; a date to sign by is the target line.
pub struct Chart {
    pub svg: String,
    pub summary: String,
    pub days: Vec<(String, usize)>,
}

impl Chart {
    const WIDTH: f64 = 640.0;
    const HEIGHT: f64 = 240.0;
    const LEFT: f64 = 48.0;
    const BOTTOM: f64 = 32.0;
    const TOP: f64 = 16.0;

    fn build(
        people: &[Signer],
        published_at: OffsetDateTime,
        today: Date,
        sign_by: Option<Date>,
    ) -> Chart {
        let start = clock::uk(published_at).date();
        let end = today.max(start + Duration::days(1));
        let span = (end - start).whole_days();
        // The axis runs on to the date to sign by, if that is still to come.
        let axis_end = sign_by.map_or(end, |date| end.max(date));
        let axis_span = (axis_end - start).whole_days() as f64;
        let x_of =
            |offset: i64| Self::LEFT + (Self::WIDTH - Self::LEFT - 8.0) * offset as f64 / axis_span;
        let total = people.len().max(1);
        let mut signed_days: Vec<Date> = people
            .iter()
            .filter_map(|s| s.signed_at.map(|at| clock::uk(at).date().max(start)))
            .collect();
        signed_days.sort();
        let mut days = vec![];
        let mut points = vec![];
        let mut count = 0usize;
        let mut next = 0usize;
        for offset in 0..=span {
            let day = start + Duration::days(offset);
            while next < signed_days.len() && signed_days[next] <= day {
                count += 1;
                next += 1;
            }
            let x = x_of(offset);
            let y = Self::TOP
                + (Self::HEIGHT - Self::TOP - Self::BOTTOM) * (1.0 - count as f64 / total as f64);
            points.push(format!("{x:.1},{y:.1}"));
            let previous = days.last().map(|(_, n)| *n);
            if previous != Some(count) || offset == 0 || offset == span {
                days.push((render::long_date(day), count));
            }
        }
        if let [only] = points.as_slice() {
            let y = only.split(',').nth(1).unwrap_or("0").to_owned();
            points.push(format!("{:.1},{y}", x_of(span)));
        }
        let base = Self::HEIGHT - Self::BOTTOM;
        let mut desc = format!(
            "{count} of {} people signed between {} and {}.",
            people.len(),
            render::long_date(start),
            render::long_date(end)
        );
        // The target: a dashed red line on the date to sign by, which the text says too.
        let target = match sign_by.filter(|date| *date >= start) {
            Some(date) => {
                desc.push_str(&format!(
                    " Everyone was asked to sign by {}.",
                    render::long_date(date)
                ));
                let x = x_of((date - start).whole_days());
                let anchor = if x > Self::WIDTH - 150.0 {
                    "end"
                } else {
                    "start"
                };
                let label_x = if anchor == "end" { x - 4.0 } else { x + 4.0 };
                format!(
                    r##"<line class="chart-target" x1="{x:.1}" y1="{t}" x2="{x:.1}" y2="{base}" stroke="#d4351c" stroke-width="2" stroke-dasharray="6 4"/>
<text x="{label_x:.1}" y="{ty}" text-anchor="{anchor}" font-size="13" fill="#d4351c">Sign by {label}</text>
"##,
                    t = Self::TOP,
                    ty = Self::TOP + 16.0,
                    label = render::long_date(date),
                )
            }
            None => String::new(),
        };
        let svg = format!(
            r##"<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg">
<title id="chart-title">Signatures since publishing</title>
<desc id="chart-desc">{desc}</desc>
<line x1="{l}" y1="{t}" x2="{l}" y2="{base}" stroke="#505a5f" stroke-width="1"/>
<line x1="{l}" y1="{base}" x2="{r}" y2="{base}" stroke="#505a5f" stroke-width="1"/>
<line x1="{l}" y1="{t}" x2="{r}" y2="{t}" stroke="#b1b4b6" stroke-width="1" stroke-dasharray="4 4"/>
<text x="{lt}" y="{ty}" text-anchor="end" font-size="13" fill="#0b0c0c">{total}</text>
<text x="{lt}" y="{base}" text-anchor="end" font-size="13" fill="#0b0c0c">0</text>
<text x="{l}" y="{h1}" font-size="13" fill="#0b0c0c">{first}</text>
<text x="{r}" y="{h1}" text-anchor="end" font-size="13" fill="#0b0c0c">{last}</text>
{target}<polyline points="{points}" fill="none" stroke="#1d70b8" stroke-width="3"/>
</svg>"##,
            w = Self::WIDTH,
            h = Self::HEIGHT,
            l = Self::LEFT,
            t = Self::TOP,
            r = Self::WIDTH - 8.0,
            lt = Self::LEFT - 6.0,
            ty = Self::TOP + 4.0,
            h1 = Self::HEIGHT - 10.0,
            total = people.len(),
            first = render::long_date(start),
            last = render::long_date(axis_end),
            points = points.join(" "),
        );
        Chart {
            summary: format!(
                "{count} of {} people have signed since it was published on {}.",
                people.len(),
                render::long_date(start)
            ),
            svg,
            days,
        }
    }
}
