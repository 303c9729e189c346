//! `aup-portal import-staff`: the import's steps on the command line, for scripted
//! installs and nightly MIS exports. Proposed leavers are marked only with
//! `--mark-leavers`; an MIS-reported change of address is listed, and made only from the
//! import page, where the SBM who makes it is recorded.

use anyhow::Context;
use sqlx::PgPool;

use super::import::{self, NewEmail, Outcome, Source};
use super::staff_file;
use super::staff_mapping::{self, Field, Mapping};
use crate::domain::groups::Group;

pub struct ImportStaff {
    pub file: std::path::PathBuf,
    pub school: String,
    pub mapping: Option<std::path::PathBuf>,
    pub group: String,
    pub roles: Option<std::path::PathBuf>,
    pub mark_leavers: bool,
    pub dry_run: bool,
}

fn read(path: &std::path::Path) -> anyhow::Result<staff_file::Decoded> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    staff_file::read(&bytes).map_err(|message| anyhow::anyhow!("{}: {message}", path.display()))
}

/// Runs the import; what it did, a line each, for the terminal.
pub async fn run(pool: &PgPool, args: ImportStaff, base_url: &str) -> anyhow::Result<Vec<String>> {
    let mut out = vec![];
    let file = read(&args.file)?;
    out.extend(file.note);
    let source = Source {
        csv: file.csv,
        roles: args.roles.as_deref().map(read).transpose()?.map(|r| r.csv),
    };
    let (table, note) = import::table(&source).map_err(anyhow::Error::msg)?;
    out.extend(note);
    let group: Group = args
        .group
        .parse()
        .map_err(|()| anyhow::anyhow!("--group must be staff, governor, volunteer or external"))?;
    let mapping = match &args.mapping {
        None => Mapping::guess(&table.headers),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let mapping: Mapping = serde_json::from_str(&format!("{{\"columns\":{text}}}"))
                .with_context(|| {
                    format!(
                        "{} must be JSON naming each field's column, like {{\"surname\": \"Legal Surname\", \"email\": \"Email\"}}",
                        path.display()
                    )
                })?;
            if let Some(header) = mapping
                .columns
                .values()
                .find(|h| !table.headers.contains(h))
            {
                anyhow::bail!("{}: the file has no column '{header}'", path.display());
            }
            mapping
        }
    };
    if let Some((_, message)) = mapping.missing(&table.headers).first() {
        anyhow::bail!(
            "{message}: give the columns with --mapping. The file's columns are: {}",
            table.headers.join(", ")
        );
    }
    let (rows, bad) = staff_mapping::rows(&table, &mapping, group);
    let mut tx = pool.begin().await?;
    let school_id = sqlx::query_scalar!("select id from schools where slug = $1", args.school)
        .fetch_optional(&mut *tx)
        .await?
        .with_context(|| format!("no school has the web address '{}'", args.school))?;
    let plan = import::plan(
        &mut tx,
        school_id,
        rows,
        bad,
        mapping.columns.contains_key(&Field::MisId),
        crate::clock::today_uk(),
    )
    .await?;
    for row in &plan.bad {
        out.push(format!("line {}: not imported: {}", row.line, row.reason));
    }
    for item in &plan.planned {
        let what = match &item.outcome {
            Outcome::Add => "add".to_owned(),
            Outcome::Change { what, email, .. } => {
                let mut what = what.clone();
                match email {
                    Some(NewEmail::Correct(new)) => what.push(format!(
                        "the MIS now has {new}: correct the address from the import page"
                    )),
                    Some(NewEmail::Refused(why)) => what.push(why.clone()),
                    None => {}
                }
                format!("change {}", what.join("; "))
            }
            Outcome::LeftBefore => "not added, as their employment has ended".to_owned(),
            Outcome::Unchanged => continue,
        };
        out.push(format!(
            "line {}: {what}: {} <{}>",
            item.row.line,
            item.row.name.shown(),
            item.row.email
        ));
    }
    for leaver in &plan.leavers {
        out.push(format!(
            "may have left on {}: {} <{}>{}",
            leaver.on,
            leaver.name,
            leaver.email,
            if args.mark_leavers {
                ""
            } else {
                " (not marked: add --mark-leavers)"
            }
        ));
    }
    if args.dry_run {
        out.push("Dry run: nothing was changed.".to_owned());
        return Ok(out);
    }
    let leaving: Vec<uuid::Uuid> = if args.mark_leavers {
        plan.leavers.iter().map(|l| l.membership_id).collect()
    } else {
        vec![]
    };
    let applied = import::apply(&mut tx, school_id, None, &plan, &leaving, base_url).await?;
    tx.commit().await?;
    out.push(format!(
        "Added {}, changed {}, already up to date {}, marked as left {}, not imported {}.",
        applied.added,
        applied.changed,
        applied.unchanged,
        applied.left,
        plan.bad.len()
    ));
    Ok(out)
}
