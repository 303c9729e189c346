//! Which column of a staff list holds what: guessed from the headers as SIMS, Arbor,
//! Bromcom and School Data Sync write them (and the portal's own name, email, group and job
//! title), corrected by the SBM, remembered for the school. Then the rows, each checked,
//! with its line and a reason when it cannot be imported.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::Date;

use super::staff_file::Table;
use crate::domain::{groups::Group, names::Name, statuses::StaffType};

/// What a column can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    LegalForename,
    PreferredForename,
    Surname,
    /// One column with the whole name, as older files have.
    FullName,
    Email,
    JobTitle,
    MisId,
    StartDate,
    EndDate,
    StaffType,
    Group,
}

impl Field {
    pub const ALL: [Field; 11] = [
        Field::LegalForename,
        Field::PreferredForename,
        Field::Surname,
        Field::FullName,
        Field::Email,
        Field::JobTitle,
        Field::MisId,
        Field::StartDate,
        Field::EndDate,
        Field::StaffType,
        Field::Group,
    ];

    /// The form's name for the field.
    pub fn key(self) -> &'static str {
        match self {
            Field::LegalForename => "legal_forename",
            Field::PreferredForename => "preferred_forename",
            Field::Surname => "surname",
            Field::FullName => "full_name",
            Field::Email => "email",
            Field::JobTitle => "job_title",
            Field::MisId => "mis_id",
            Field::StartDate => "start_date",
            Field::EndDate => "end_date",
            Field::StaffType => "staff_type",
            Field::Group => "group",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Field::LegalForename => "Legal first name",
            Field::PreferredForename => "Preferred first name",
            Field::Surname => "Surname",
            Field::FullName => "Full name (if the file has no separate first name and surname)",
            Field::Email => "Work email address",
            Field::JobTitle => "Job title or post",
            Field::MisId => "Staff code or MIS person ID",
            Field::StartDate => "Employment start date",
            Field::EndDate => "Employment end date",
            Field::StaffType => "Teaching or support",
            Field::Group => "Group (staff, governor, volunteer or external)",
        }
    }

    pub fn from_key(key: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|field| field.key() == key)
    }

    /// The headers this field goes by, best first, as `simplified` writes them: SIMS
    /// ("Legal Surname", "Preferred Forename", "Staff Code"), Arbor ("Legal First Name",
    /// "Work Email"), Bromcom ("Forename", "Work Email Address", "Contract Start Date"),
    /// School Data Sync v2.1 ("givenName", "familyName", "sourcedId", "roleEndDate").
    fn headers(self) -> &'static [&'static str] {
        match self {
            Field::LegalForename => &[
                "legal forename",
                "legal first name",
                "forename",
                "first name",
                "firstname",
                "givenname",
                "given name",
            ],
            Field::PreferredForename => &[
                "preferred forename",
                "preferred first name",
                "preferred name",
                "known as",
                "preferredgivenname",
            ],
            Field::Surname => &[
                "legal surname",
                "legal last name",
                "surname",
                "last name",
                "lastname",
                "familyname",
                "family name",
            ],
            Field::FullName => &["name", "full name", "person", "staff name", "staff member"],
            Field::Email => &[
                "work email",
                "work email address",
                "school email",
                "school email address",
                "email",
                "email address",
                "e mail",
                "primary email",
            ],
            Field::JobTitle => &[
                "job title",
                "post",
                "post title",
                "staff role",
                "role",
                "role within the school",
                "job",
                "position",
            ],
            Field::MisId => &[
                "person id",
                "staff id",
                "mis id",
                "sourcedid",
                "employee number",
                "payroll number",
                "staff code",
                "id",
            ],
            Field::StartDate => &[
                "employment start date",
                "contract start date",
                "start date",
                "rolestartdate",
                "date of arrival",
            ],
            Field::EndDate => &[
                "employment end date",
                "contract end date",
                "end date",
                "roleenddate",
                "leaving date",
                "date of leaving",
            ],
            Field::StaffType => &[
                "teaching or support",
                "teaching support",
                "staff type",
                "staff category",
                "teaching staff",
                "sds role",
            ],
            Field::Group => &["group"],
        }
    }
}

/// A header as the guess compares it: lower case, punctuation as spaces, spaced once.
fn simplified(header: &str) -> String {
    header
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether a cell reads like a column header the guess knows: how the header row is found
/// below a title.
pub fn known_header(cell: &str) -> bool {
    let cell = simplified(cell);
    Field::ALL
        .into_iter()
        .any(|field| field.headers().contains(&cell.as_str()))
}

/// Each field's column, by its header as the file writes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapping {
    pub columns: BTreeMap<Field, String>,
}

impl Mapping {
    /// The guess from the headers: for each field, the first of its names a header has
    /// that no earlier field took.
    pub fn guess(headers: &[String]) -> Mapping {
        let simple: Vec<String> = headers.iter().map(|h| simplified(h)).collect();
        let mut taken = vec![false; headers.len()];
        let mut columns = BTreeMap::new();
        for field in Field::ALL {
            let found = field.headers().iter().find_map(|name| {
                simple
                    .iter()
                    .enumerate()
                    .find(|(at, header)| !taken[*at] && header.as_str() == *name)
                    .map(|(at, _)| at)
            });
            if let Some(at) = found {
                taken[at] = true;
                columns.insert(field, headers[at].clone());
            }
        }
        let mut mapping = Mapping { columns };
        // Parts of the name make a whole-name column unneeded.
        if mapping.columns.contains_key(&Field::Surname) {
            mapping.columns.remove(&Field::FullName);
        }
        mapping
    }

    /// A school's remembered mapping, if the file has every column it names.
    pub fn fits(&self, headers: &[String]) -> bool {
        !self.columns.is_empty() && self.columns.values().all(|h| headers.contains(h))
    }

    fn column(&self, field: Field, headers: &[String]) -> Option<usize> {
        let header = self.columns.get(&field)?;
        headers.iter().position(|h| h == header)
    }

    /// What the SBM must still choose, as (field key, message): an email column, and a name.
    pub fn missing(&self, headers: &[String]) -> Vec<(&'static str, &'static str)> {
        let has = |field| self.column(field, headers).is_some();
        let mut missing = vec![];
        if !has(Field::Email) {
            missing.push((
                Field::Email.key(),
                "Choose the column with each person's email address",
            ));
        }
        if !has(Field::Surname) && !has(Field::LegalForename) && !has(Field::FullName) {
            missing.push((
                Field::Surname.key(),
                "Choose the columns with each person's name: a first name and surname, or a full name",
            ));
        }
        let mut seen = std::collections::HashSet::new();
        if let Some(field) = self
            .columns
            .iter()
            .find(|(_, header)| !seen.insert(header.as_str()))
            .map(|(field, _)| *field)
        {
            missing.push((field.key(), "Each column can be chosen for one thing only"));
        }
        missing
    }
}

/// A row that can be imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub line: usize,
    pub name: Name,
    /// Whether the name came in its parts; from one column, only the name shown is known.
    pub name_in_parts: bool,
    pub email: String,
    pub grp: Group,
    pub job_title: String,
    pub mis_id: Option<String>,
    pub ends: Option<Date>,
    pub staff_type: Option<StaffType>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    pub line: usize,
    pub reason: String,
    /// The row's MIS person ID, if it has one: its person is not proposed as a leaver.
    pub mis_id: Option<String>,
}

/// "Governors", " staff " and "Volunteer" are groups; anything else is not.
fn group_of(text: &str) -> Option<Group> {
    let text = text.trim().to_lowercase();
    Group::ALL.into_iter().find(|group| {
        let key = group.as_str();
        text == key || text.strip_suffix('s') == Some(key)
    })
}

/// A date as MIS exports write it: 2025-09-01, 01/09/2025, 20250901, or with a time after.
pub fn date_of(text: &str) -> Option<Date> {
    let text = text.trim();
    let text = text.split(['T', ' ']).next().unwrap_or(text);
    let text = match text.get(..4).zip(text.get(4..6)).zip(text.get(6..)) {
        Some(((y, m), d)) if text.len() == 8 && text.bytes().all(|b| b.is_ascii_digit()) => {
            format!("{y}-{m}-{d}")
        }
        _ => text.replace('.', "/"),
    };
    crate::domain::dates::parse_review_date(&text)
}

/// The table's rows as the mapping reads them. A row without a group column gets
/// `default_group`.
pub fn rows(table: &Table, mapping: &Mapping, default_group: Group) -> (Vec<Row>, Vec<BadRow>) {
    let at = |field| mapping.column(field, &table.headers);
    let mut rows: Vec<Row> = vec![];
    let mut bad: Vec<BadRow> = table
        .unreadable
        .iter()
        .map(|(line, reason)| BadRow {
            line: *line,
            reason: reason.clone(),
            mis_id: None,
        })
        .collect();
    let mut seen = Seen::default();
    for (line, cells) in &table.rows {
        let line = *line;
        let raw = |field| {
            at(field)
                .and_then(|i: usize| cells.get(i))
                .map_or("", String::as_str)
        };
        let cell = |field| crate::input::normalise(raw(field));
        match row(line, raw, cell, default_group, &seen) {
            Ok(row) => {
                seen.emails.entry(row.email.to_lowercase()).or_insert(line);
                if let Some(id) = &row.mis_id {
                    seen.mis_ids.entry(id.clone()).or_insert(line);
                }
                rows.push(row);
            }
            Err(reason) => bad.push(BadRow {
                line,
                reason,
                mis_id: Some(cell(Field::MisId)).filter(|id| !id.is_empty()),
            }),
        }
    }
    bad.sort_by_key(|b| b.line);
    (rows, bad)
}

/// The addresses (lower case) and MIS IDs of the rows read so far, with their lines.
#[derive(Default)]
struct Seen {
    emails: std::collections::HashMap<String, usize>,
    mis_ids: std::collections::HashMap<String, usize>,
}

fn row<'a>(
    line: usize,
    raw: impl Fn(Field) -> &'a str,
    cell: impl Fn(Field) -> String,
    default_group: Group,
    seen: &Seen,
) -> Result<Row, String> {
    for field in Field::ALL {
        if let Some(problem) = crate::input::unusable(raw(field), false) {
            return Err(format!("the {} {problem}", field.label().to_lowercase()));
        }
    }
    let email = cell(Field::Email);
    let (legal, preferred, surname, full) = (
        cell(Field::LegalForename),
        cell(Field::PreferredForename),
        cell(Field::Surname),
        cell(Field::FullName),
    );
    let name_in_parts = !(legal.is_empty() && surname.is_empty());
    let name = if name_in_parts {
        Name::from_parts(&legal, &preferred, &surname, "")
    } else {
        Name::from_full(&full)
    };
    let group_text = cell(Field::Group);
    let mis_id = Some(cell(Field::MisId)).filter(|id| !id.is_empty());
    let date = |field: Field| -> Result<Option<Date>, String> {
        let text = cell(field);
        if text.is_empty() {
            return Ok(None);
        }
        date_of(&text).map(Some).ok_or_else(|| {
            format!(
                "the {} '{text}' is not a date: write it as 31/08/2026",
                field.label().to_lowercase()
            )
        })
    };
    date(Field::StartDate)?;
    let ends = date(Field::EndDate)?;
    let staff_type_text = cell(Field::StaffType);
    let staff_type = StaffType::from_mis(&staff_type_text);
    if email.is_empty() {
        return Err("the email address is missing".to_owned());
    }
    if crate::mail::address::check(&email).is_err() {
        return Err(format!("'{email}' is not an email address"));
    }
    if name.shown().is_empty() {
        return Err("the name is missing".to_owned());
    }
    if [
        &name.legal_forename,
        &name.preferred_forename,
        &name.surname,
    ]
    .iter()
    .any(|part| part.chars().count() > crate::domain::names::PART_MAX)
        || name.signing_name.chars().count() > 200
    {
        return Err("the name is longer than 200 characters".to_owned());
    }
    let grp = if group_text.is_empty() {
        default_group
    } else {
        group_of(&group_text).ok_or_else(|| {
            format!("'{group_text}' is not a group: use staff, governor, volunteer or external")
        })?
    };
    if staff_type.is_none() && !staff_type_text.is_empty() {
        return Err(format!("'{staff_type_text}' is not teaching or support"));
    }
    if mis_id.as_ref().is_some_and(|id| id.chars().count() > 100) {
        return Err("the MIS person ID is longer than 100 characters".to_owned());
    }
    if let Some(first) = seen.emails.get(&email.to_lowercase()) {
        return Err(format!("{email} is also on line {first}"));
    }
    if let Some((id, first)) = mis_id
        .as_ref()
        .and_then(|id| seen.mis_ids.get(id).map(|first| (id, first)))
    {
        return Err(format!("the MIS person ID {id} is also on line {first}"));
    }
    Ok(Row {
        line,
        name,
        name_in_parts,
        email,
        grp,
        job_title: cell(Field::JobTitle).chars().take(200).collect(),
        mis_id,
        ends,
        staff_type,
    })
}

/// School Data Sync v2.1 keeps people in `users.csv` and what they do in `roles.csv`
/// (userSourcedId, role, roleStartDate, roleEndDate, isPrimary). The users table gains
/// "sds role", "roleStartDate" and "roleEndDate" columns from each person's primary role;
/// students and guardians are left out. Returns how many were left out.
pub fn join_sds_roles(users: &mut Table, roles: &Table) -> Result<usize, String> {
    let column = |table: &Table, name: &str| table.headers.iter().position(|h| h == name);
    let (Some(user_id_at), Some(role_at)) = (column(roles, "userSourcedId"), column(roles, "role"))
    else {
        return Err(
            "The roles file must be School Data Sync's roles.csv, with userSourcedId and role columns"
                .to_owned(),
        );
    };
    let Some(sourced_at) = column(users, "sourcedId") else {
        return Err(
            "The users file must be School Data Sync's users.csv, with a sourcedId column"
                .to_owned(),
        );
    };
    let cell = |cells: &[String], at: Option<usize>| {
        at.and_then(|at| cells.get(at)).cloned().unwrap_or_default()
    };
    let (start_at, end_at, primary_at) = (
        column(roles, "roleStartDate"),
        column(roles, "roleEndDate"),
        column(roles, "isPrimary"),
    );
    // Each person's primary role, or else their first.
    let mut role_of: BTreeMap<String, (bool, [String; 3])> = BTreeMap::new();
    for (_, cells) in &roles.rows {
        let user = cell(cells, Some(user_id_at));
        let primary = cell(cells, primary_at).eq_ignore_ascii_case("true");
        let role = [
            cell(cells, Some(role_at)),
            cell(cells, start_at),
            cell(cells, end_at),
        ];
        match role_of.get(&user) {
            Some((true, _)) => {}
            Some((false, _)) if !primary => {}
            _ => {
                role_of.insert(user, (primary, role));
            }
        }
    }
    let before = users.rows.len();
    users.rows.retain_mut(|(_, cells)| {
        let Some((_, role)) = role_of.get(&cell(cells, Some(sourced_at))) else {
            return false;
        };
        if matches!(
            role[0].to_lowercase().as_str(),
            "student" | "guardian" | "parent" | "relative"
        ) {
            return false;
        }
        cells.extend(role.iter().cloned());
        true
    });
    let width = users.headers.len();
    for (_, cells) in &mut users.rows {
        // Rows shorter than the header row: the role columns go where the headers say.
        if cells.len() < width + 3 {
            let role = cells.split_off(cells.len() - 3);
            cells.resize(width, String::new());
            cells.extend(role);
        }
    }
    users
        .headers
        .extend(["SDS role", "roleStartDate", "roleEndDate"].map(str::to_owned));
    Ok(before - users.rows.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compliance::staff_file::table;

    fn guess(headers: &str) -> BTreeMap<Field, String> {
        let headers: Vec<String> = headers.split(',').map(str::to_owned).collect();
        Mapping::guess(&headers).columns
    }

    #[test]
    fn the_guess_reads_each_mis_as_it_writes_its_headers() {
        let sims = guess(
            "Staff Code,Title,Legal Forename,Preferred Forename,Legal Surname,Preferred Surname,Email,Staff Role,Employment Start Date,Employment End Date,Teaching/Support",
        );
        assert_eq!(sims[&Field::Surname], "Legal Surname");
        assert_eq!(sims[&Field::PreferredForename], "Preferred Forename");
        assert_eq!(sims[&Field::MisId], "Staff Code");
        assert_eq!(sims[&Field::JobTitle], "Staff Role");
        assert_eq!(sims[&Field::StaffType], "Teaching/Support");
        assert!(!sims.contains_key(&Field::FullName));
        let sds = guess(
            "sourcedId,username,familyName,givenName,activeDirectoryMatchId,email,SDS role,roleStartDate,roleEndDate",
        );
        assert_eq!(sds[&Field::MisId], "sourcedId");
        assert_eq!(sds[&Field::Email], "email");
        assert_eq!(sds[&Field::EndDate], "roleEndDate");
        let old = guess("Name,Email,Group,Job title");
        assert_eq!(old[&Field::FullName], "Name");
        assert_eq!(old[&Field::Group], "Group");
    }

    #[test]
    fn dates_are_read_as_uk_exports_write_them() {
        let day = Date::from_calendar_date(2026, time::Month::August, 31).unwrap();
        for text in [
            "31/08/2026",
            "2026-08-31",
            "20260831",
            "2026-08-31T00:00:00",
            "31.08.2026",
        ] {
            assert_eq!(date_of(text), Some(day), "{text}");
        }
        assert_eq!(date_of("31/13/2026"), None);
        assert_eq!(date_of("next week"), None);
    }

    #[test]
    fn rows_are_checked_with_their_lines() {
        let text = "Legal Forename,Legal Surname,Email,Employment End Date\nSam,Taylor,sam@x.example,\n,,nobody@x.example,\nJo,Bloggs,jo@x.example,soon\n";
        let table = table(text, known_header).unwrap();
        let mapping = Mapping::guess(&table.headers);
        assert!(mapping.missing(&table.headers).is_empty());
        let (rows, bad) = rows(&table, &mapping, Group::Staff);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].name.signing_name, "Sam Taylor");
        let reasons: Vec<(usize, &str)> = bad.iter().map(|b| (b.line, b.reason.as_str())).collect();
        assert_eq!(
            reasons,
            [
                (3, "the name is missing"),
                (
                    4,
                    "the employment end date 'soon' is not a date: write it as 31/08/2026"
                )
            ]
        );
        let no_email = Mapping::guess(&["Forename".to_owned(), "Surname".to_owned()]);
        assert_eq!(
            no_email.missing(&["Forename".to_owned(), "Surname".to_owned()]),
            [(
                "email",
                "Choose the column with each person's email address"
            )]
        );
    }
}
