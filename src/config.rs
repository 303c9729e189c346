//! Command line and environment: the one place settings are read.
//! Every setting has a flag and an environment variable; `--help` explains each.

use std::{fmt, net::SocketAddr, path::PathBuf};

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "aup-portal",
    version,
    about = "Staff and governors read and sign the school's Acceptable Use Policy."
)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the portal. Creates no accounts: use `create-admin` for the first one.
    Serve,
    /// Run the portal with the demo school, Cranbrook Primary School, its two policies and four demo accounts.
    Demo {
        /// Password for the demo accounts. Unset: a new one is generated and printed at start.
        #[arg(long, env = "AUP_DEMO_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// Run the demo on a database that holds other schools too: it resets the demo
        /// accounts' passwords there. Without it, such a database is refused.
        #[arg(long)]
        force: bool,
    },
    /// Apply the database migrations, then exit.
    Migrate,
    /// Rotate the secret key: add a new key to the key file, seal every authenticator secret
    /// again with it, and keep the old keys only to check what they made. Restart every
    /// portal that shares the database afterwards.
    RotateKey,
    /// Import policies from the plain text of their documents, each into a new draft version.
    ImportPolicy {
        /// Text files, one policy each, as copied from the Word document.
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
        /// The school's short name in web addresses, for example "cranbrook".
        #[arg(long)]
        school: String,
        /// The policy to add the version to. Unset: the title found in the text. Created if new.
        #[arg(long)]
        policy: Option<String>,
        /// Who must sign a newly created policy, comma-separated: staff, governor, volunteer, external.
        #[arg(long, value_delimiter = ',', default_value = "staff")]
        audience: Vec<String>,
        /// Publish each imported version at once, and ask its audience to sign it.
        #[arg(long)]
        publish: bool,
    },
    /// Import a school's staff list as the MIS exports it (SIMS, Arbor, Bromcom, School Data
    /// Sync, or a spreadsheet with name, email, group and job title), inviting new people.
    ImportStaff {
        /// The staff list: an Excel workbook (.xlsx) or a CSV file (UTF-8 or Windows-1252).
        file: std::path::PathBuf,
        /// The school's short name in web addresses, for example "cranbrook".
        #[arg(long)]
        school: String,
        /// Which column holds what, as JSON: {"surname": "Legal Surname", "email": "Work
        /// Email", ...}. Without it the columns are guessed from the headers.
        #[arg(long)]
        mapping: Option<std::path::PathBuf>,
        /// The group of everyone in a file with no group column.
        #[arg(long, default_value = "staff")]
        group: String,
        /// School Data Sync's roles.csv, beside its users.csv as FILE.
        #[arg(long)]
        roles: Option<std::path::PathBuf>,
        /// Mark as left everyone the file proposes as a leaver.
        #[arg(long)]
        mark_leavers: bool,
        /// Say what would change, and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Set up a school's single sign-on, as on its settings page. Takes effect at once, also
    /// in portals already running.
    Sso {
        /// The school's short name in web addresses, for example "cranbrook".
        #[arg(long)]
        school: String,
        /// Whose accounts: microsoft (Entra ID), google (Workspace) or oidc (any other).
        #[arg(long)]
        provider: String,
        /// Microsoft: the tenant's GUID, or one of its domain names (resolved once).
        #[arg(long)]
        tenant: Option<String>,
        /// Google: the Workspace domain.
        #[arg(long)]
        domain: Option<String>,
        /// Any other provider: its issuer, https (or http to this machine, for trials).
        #[arg(long)]
        issuer: Option<String>,
        #[arg(long)]
        client_id: String,
        /// A file holding the client secret (kept out of the command line and its history).
        #[arg(long)]
        client_secret_file: std::path::PathBuf,
        /// When the secret expires, YYYY-MM-DD: admins are reminded before.
        #[arg(long)]
        secret_expires: Option<String>,
        /// One of the school's email domains; give it once for each.
        #[arg(long = "email-domain")]
        email_domains: Vec<String>,
        /// Any other provider: accept its multi-factor sign-in (amr "mfa") in place of the
        /// portal's authenticator code.
        #[arg(long)]
        trust_provider_mfa: bool,
    },
    /// Check the evidence: walk every school's hash chain over its agreements and audit events,
    /// report the first break, and list every row no seal covers. Exits with status 1 if
    /// there is either.
    Verify {
        /// Minutes a new row may wait for the sealer before it counts as never sealed.
        #[arg(long, default_value_t = 5)]
        grace_minutes: u32,
        /// A file of head lines kept outside the portal ("aup-head v1 <school> <seq> <sha256>",
        /// from the daily email or an earlier verify): each chain must still hold each seal.
        #[arg(long)]
        expect: Option<std::path::PathBuf>,
    },
    /// Run a scheduled job now: reviews, reminders or outbox.
    Jobs {
        #[command(subcommand)]
        job: JobsCommand,
    },
    /// Create the first administrator of a school (and the school, if it is new).
    CreateAdmin {
        /// The administrator's email address; they sign in with it.
        #[arg(long)]
        email: String,
        /// The administrator's full name, as it will appear on the pages.
        #[arg(long)]
        name: String,
        /// The school's name, for example "Cranbrook Primary School".
        #[arg(long)]
        school: String,
        /// The school's short name in web addresses, for example "cranbrook". Made from the name if unset.
        #[arg(long)]
        school_slug: Option<String>,
        /// The administrator's password. Unset: a new one is generated and printed once.
        #[arg(long, env = "AUP_ADMIN_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
}

/// The scheduled jobs, as `jobs run` names them.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Job {
    /// Review reminders to DPOs and SBMs.
    Reviews,
    /// Reminders to people who owe a signature.
    Reminders,
    /// The evidence chain heads to DPOs and admins.
    Heads,
    /// Reminders to admins that single sign-on's client secret runs out.
    SsoSecrets,
    /// Send the email waiting in the outbox.
    Outbox,
}

impl std::fmt::Display for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use clap::ValueEnum as _;
        match self.to_possible_value() {
            Some(value) => f.write_str(value.get_name()),
            None => Ok(()),
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum JobsCommand {
    /// Run one job and print what it sent (or, with --dry-run, would send).
    Run {
        /// The job to run.
        #[arg(value_enum)]
        job: Job,
        /// The day to run it for, YYYY-MM-DD. Unset: today in the UK.
        #[arg(long, value_parser = parse_date)]
        as_of: Option<time::Date>,
        /// Say what would be sent, and send nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// The most attempts a minute a setting may allow: more is no limit at all, which must be
/// said ("off"), not reached by a large number.
pub const MOST_ATTEMPTS_PER_MINUTE: u32 = 10_000;

/// "off" is 0, which the portal reads as no per-address limit.
fn parse_attempts(text: &str) -> Result<u32, String> {
    if text.trim().eq_ignore_ascii_case("off") {
        return Ok(0);
    }
    match text.trim().parse::<u32>() {
        Ok(n) if (1..=MOST_ATTEMPTS_PER_MINUTE).contains(&n) => Ok(n),
        _ => Err(format!(
            "'{text}' is not a limit: give a number of attempts a minute from 1 to {MOST_ATTEMPTS_PER_MINUTE}, or off to switch the limit off for a load test"
        )),
    }
}

fn parse_date(text: &str) -> Result<time::Date, String> {
    time::Date::parse(text, &time::format_description::well_known::Iso8601::DATE)
        .map_err(|_| format!("'{text}' is not a date like 2026-09-01"))
}

#[derive(Args, Clone)]
pub struct Config {
    /// PostgreSQL to use, for example postgres://aup@db.example/aup. Unset: the portal runs its own
    /// PostgreSQL inside the data folder, with the system's PostgreSQL server programs.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// The tables' owner, for migrations only, for example postgres://aup_owner@db.example/aup.
    /// Set, the portal migrates with it and serves with DATABASE_URL, a login of its own that
    /// may add evidence but never change it (the portal refuses to serve if it could). Unset,
    /// DATABASE_URL does both, and the evidence is only as safe as that login.
    #[arg(
        long,
        env = "AUP_MIGRATE_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    pub migrate_database_url: Option<String>,

    /// Address and port to listen on.
    #[arg(
        long,
        env = "AUP_BIND",
        default_value = "127.0.0.1:3000",
        global = true
    )]
    pub bind: SocketAddr,

    /// The address people use to reach the portal, for links in emails, for example
    /// https://aup.example.sch.uk. Unset: http:// and the address the portal listens on.
    #[arg(long, env = "AUP_BASE_URL", global = true)]
    pub base_url: Option<String>,

    /// Mail server for outgoing email: smtp://user:password@host:587 (STARTTLS), smtps://…:465,
    /// or smtp://localhost:25?tls=none for a local relay. Unset: email waits in the outbox.
    #[arg(long, env = "SMTP_URL", global = true, hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// The sender of the portal's email, for example "Cranbrook AUP <aup@cranbrook.sch.uk>".
    #[arg(
        long,
        env = "AUP_MAIL_FROM",
        default_value = "AUP Portal <aup-portal@localhost>",
        global = true
    )]
    pub mail_from: String,

    /// Days after a version is published before the first reminder to people who have not signed.
    #[arg(
        long,
        env = "AUP_REMINDER_DELAY_DAYS",
        default_value_t = 7,
        global = true
    )]
    pub reminder_delay_days: u16,

    /// Reminders each person gets for one version, at most (a week apart).
    #[arg(long, env = "AUP_REMINDER_CAP", default_value_t = 4, global = true)]
    pub reminder_cap: u16,

    /// Where the daily head of the chain of events outside any school (sign-ins, password
    /// changes) is emailed: the operator's address. Unset: nobody gets it.
    #[arg(long, env = "AUP_OPERATOR_EMAIL", global = true)]
    pub operator_email: Option<String>,

    /// Days a sent email's text is kept (for the admin's Email page) before only its recipient,
    /// subject and sent time remain. Links that work once are removed as soon as it is sent.
    #[arg(long, env = "AUP_OUTBOX_KEEP_DAYS", default_value_t = 30, global = true,
          value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub outbox_keep_days: u32,

    /// Addresses of reverse proxies whose X-Forwarded-For header is believed, comma-separated.
    /// Unset: the header is ignored and the connecting address is the person's.
    #[arg(
        long,
        env = "AUP_TRUSTED_PROXIES",
        value_delimiter = ',',
        global = true
    )]
    pub trusted_proxies: Vec<std::net::IpAddr>,

    /// Attempts a minute from one address (an IPv6 /64) at the forms that check a password or a
    /// code, or send an email: 1 to 10,000, or "off" (for load tests only).
    #[arg(
        long,
        env = "AUP_ATTEMPTS_PER_MINUTE",
        default_value = "30",
        global = true,
        value_parser = parse_attempts
    )]
    pub attempts_per_minute: u32,

    /// Where Microsoft's sign-in service is. Only tests change it, to reach a provider of
    /// their own that serves `<authority>/<tenant>/v2.0`.
    #[arg(long, env = "AUP_ENTRA_AUTHORITY", global = true, hide = true,
          default_value = crate::oidc::rules::ENTRA_AUTHORITY)]
    pub entra_authority: String,

    /// Let single sign-on reach providers on private network addresses (this machine, 10/8,
    /// 192.168/16 and the like): for a provider on the school's own network. Off, a
    /// school's admin cannot point the portal at the host's network.
    #[arg(long, env = "AUP_SSO_PRIVATE_ADDRESSES", global = true, default_value_t = false,
          action = clap::ArgAction::Set)]
    pub sso_private_addresses: bool,

    /// Google's issuer. Only tests change it.
    #[arg(long, env = "AUP_GOOGLE_ISSUER", global = true, hide = true,
          default_value = crate::oidc::rules::GOOGLE_ISSUER)]
    pub google_issuer: String,

    /// The file holding the portal's secret key (created, readable by this user only, if it does
    /// not exist). Needed with DATABASE_URL: every portal sharing the database uses the same
    /// file. Unset with the portal's own PostgreSQL: `secret.key` in the data folder, beside
    /// (not inside) the database. Keep it out of database backups, and back it up apart.
    #[arg(long, env = "AUP_SECRET_KEY_FILE", global = true)]
    pub secret_key_file: Option<PathBuf>,

    /// Folder for the portal's own PostgreSQL and other files it keeps.
    #[arg(long, env = "AUP_DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,

    /// Minutes without activity after which a person is signed out.
    #[arg(long, env = "AUP_IDLE_TIMEOUT_MINUTES", default_value_t = 30, global = true,
          value_parser = clap::value_parser!(u32).range(5..=1440))]
    pub idle_timeout_minutes: u32,

    /// Hours after signing in at which a person is signed out, however active.
    #[arg(long, env = "AUP_SESSION_LIFETIME_HOURS", default_value_t = 12, global = true,
          value_parser = clap::value_parser!(u32).range(1..=720))]
    pub session_lifetime_hours: u32,
}

impl Config {
    pub fn reminder_policy(&self) -> crate::jobs::ReminderPolicy {
        crate::jobs::ReminderPolicy {
            first_after_days: self.reminder_delay_days.into(),
            cap: self.reminder_cap.into(),
        }
    }

    pub fn mailer(&self, base_url: &str) -> anyhow::Result<Option<crate::mail::smtp::Mailer>> {
        self.smtp_url
            .as_deref()
            .map(|url| crate::mail::smtp::Mailer::new(url, &self.mail_from, base_url))
            .transpose()
    }

    pub fn base_url(&self) -> String {
        match &self.base_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.bind),
        }
    }
}

// The database and mail URLs may carry passwords: keep them out of logs.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("bind", &self.bind)
            .field("base_url", &self.base_url)
            .field("data_dir", &self.data_dir)
            .field("mail_from", &self.mail_from)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::Cli;

    #[test]
    fn the_defaults_are_the_ones_security_md_names() {
        let cli = Cli::try_parse_from(["aup-portal", "serve"]).expect("serve with defaults");
        let config = &cli.config;
        assert_eq!(config.idle_timeout_minutes, 30, "idle timeout");
        assert_eq!(config.session_lifetime_hours, 12, "absolute lifetime");
        assert_eq!(
            config.outbox_keep_days, 30,
            "days a sent email's text is kept"
        );
        assert_eq!(
            config.attempts_per_minute, 30,
            "attempts a minute per address"
        );
    }
}
