//! AUP Portal: staff and governors sign the school's Acceptable Use Policy; the SBM sees
//! who has signed; the DPO publishes each year's version.

pub mod admin;
pub mod audit;
pub mod auth;
pub mod clock;
pub mod compliance;
pub mod config;
pub mod create_admin;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod input;
pub mod jobs;
pub mod mail;
pub mod oidc;
pub mod page;
pub mod pagination;
pub mod paths;
pub mod policies;
pub mod seal;
pub mod secret_key;
pub mod sign_page;
pub mod signing;
pub mod spreadsheet;
pub mod startup;
pub mod state;
pub mod store;
pub mod web;

use std::str::FromStr;

use anyhow::Context;
use sqlx::postgres::PgConnectOptions;
use tokio::net::TcpListener;

use config::{Cli, Command, Config};
use db::cluster::EmbeddedCluster;
use startup::Application;
use state::Settings;

/// Runs one subcommand to completion.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = cli.config;
    let (options, cluster) = match &config.database_url {
        Some(url) => (
            PgConnectOptions::from_str(url).context("DATABASE_URL is not a PostgreSQL URL")?,
            None,
        ),
        None => {
            let data_dir = config.data_dir.clone();
            let cluster = tokio::task::spawn_blocking(move || EmbeddedCluster::start(&data_dir))
                .await
                .context("starting PostgreSQL")??;
            if let Err(err) = cluster.ensure_database().await {
                stop_cluster(&cluster);
                return Err(err);
            }
            (cluster.connect_options(), Some(cluster))
        }
    };
    let owner = match (&config.migrate_database_url, &cluster) {
        // The portal's own PostgreSQL has both logins.
        (None, Some(cluster)) => Some(cluster.owner_options()),
        (Some(url), None) => Some(
            PgConnectOptions::from_str(url)
                .context("AUP_MIGRATE_DATABASE_URL is not a PostgreSQL URL")?,
        ),
        (Some(_), Some(running)) => {
            stop_cluster(running);
            anyhow::bail!("AUP_MIGRATE_DATABASE_URL goes with DATABASE_URL: set both, or neither")
        }
        (None, None) => None,
    };
    let outcome = run_command(&config, cli.command, (options, owner), cluster.is_some()).await;
    if let Some(cluster) = &cluster {
        stop_cluster(cluster);
    }
    outcome
}

fn stop_cluster(cluster: &EmbeddedCluster) {
    if let Err(err) = cluster.stop() {
        tracing::warn!(error = %err, "stopping the portal's PostgreSQL");
    }
}

async fn run_command(
    config: &Config,
    command: Command,
    (options, owner): (PgConnectOptions, Option<PgConnectOptions>),
    embedded: bool,
) -> anyhow::Result<()> {
    let runtime = options.get_username().to_owned();
    let pool = db::connect(options).await?;
    // With the owner's login the migrations run as the owner, and the portal's own login gets
    // only what it needs; without, one login does both.
    let own_login = match owner {
        Some(owner) => {
            let owner = db::connect(owner).await?;
            db::migrate(&owner).await?;
            db::grant_runtime(&owner, &runtime).await?;
            owner.close().await;
            true
        }
        None => {
            db::migrate(&pool).await?;
            false
        }
    };
    if matches!(command, Command::Serve | Command::Demo { .. }) {
        if own_login {
            db::check_runtime_role(&pool).await?;
        } else {
            tracing::warn!(
                "the portal migrates and serves with one database login: the evidence is only as safe as that login. Set AUP_MIGRATE_DATABASE_URL to the tables' owner and DATABASE_URL to a login of the portal's own (see SECURITY.md)"
            );
        }
    }
    match command {
        Command::Migrate => {
            println!("The database is up to date.");
            Ok(())
        }
        Command::CreateAdmin {
            email,
            name,
            school,
            school_slug,
            password,
        } => {
            let generated = password.is_none();
            let password = password.unwrap_or_else(demo::generate_password);
            let slug = create_admin::create_admin(
                &pool,
                create_admin::NewAdmin {
                    email: &email,
                    name: &name,
                    school: &school,
                    school_slug: school_slug.as_deref(),
                    password: &password,
                },
            )
            .await?;
            println!(
                "Created the administrator {email} for {school}: they sign in at {}/sign-in and find the school at /s/{slug}/.",
                config.base_url()
            );
            if generated {
                println!("Their password, shown only now: {password}");
            }
            Ok(())
        }
        Command::ImportPolicy {
            files,
            school,
            policy,
            audience,
            publish,
        } => {
            if policy.is_some() && files.len() > 1 {
                anyhow::bail!("--policy names one policy: import one file at a time with it");
            }
            for file in &files {
                let text = std::fs::read_to_string(file)
                    .with_context(|| format!("cannot read {}", file.display()))?;
                let report = policies::import::import_into_school(
                    &pool,
                    &policies::import::ImportRequest {
                        school_slug: &school,
                        policy_name: policy.as_deref(),
                        audience: &audience,
                        text: &text,
                        publish,
                        base_url: &config.base_url(),
                        today: clock::today_uk(),
                    },
                )
                .await
                .with_context(|| format!("importing {}", file.display()))?;
                println!("{}: {report}", file.display());
            }
            Ok(())
        }
        Command::Jobs {
            job:
                config::JobsCommand::Run {
                    job,
                    as_of,
                    dry_run,
                },
        } => {
            let as_of = as_of.unwrap_or_else(clock::today_uk);
            let base_url = config.base_url();
            let report = match job {
                config::Job::Reviews => jobs::reviews(&pool, as_of, &base_url, dry_run).await?,
                config::Job::SsoSecrets => {
                    jobs::sso_secrets::sso_secrets(&pool, as_of, &base_url, dry_run).await?
                }
                config::Job::Heads => jobs::JobReport {
                    lines: jobs::heads::heads(
                        &pool,
                        as_of,
                        time::OffsetDateTime::now_utc(),
                        config.operator_email.as_deref(),
                        dry_run,
                    )
                    .await?,
                },
                config::Job::Reminders => {
                    jobs::reminders(&pool, as_of, &base_url, config.reminder_policy(), dry_run)
                        .await?
                }
                config::Job::Outbox => {
                    let mailer = config.mailer(&base_url)?;
                    let now = as_of
                        .midnight()
                        .assume_utc()
                        .max(time::OffsetDateTime::now_utc());
                    jobs::outbox(&pool, mailer.as_ref(), now, dry_run).await?
                }
            };
            if report.lines.is_empty() {
                println!("{job} for {as_of}: nothing to send");
            }
            for line in report.lines {
                println!("{line}");
            }
            Ok(())
        }
        Command::ImportStaff {
            file,
            school,
            mapping,
            group,
            roles,
            mark_leavers,
            dry_run,
        } => {
            let args = compliance::import_cli::ImportStaff {
                file,
                school,
                mapping,
                group,
                roles,
                mark_leavers,
                dry_run,
            };
            for line in compliance::import_cli::run(&pool, args, &config.base_url()).await? {
                println!("{line}");
            }
            Ok(())
        }
        Command::Verify {
            grace_minutes,
            expect,
        } => match seal::verify(&pool, time::Duration::minutes(grace_minutes.into())).await? {
            seal::Verdict::Intact(v) => {
                println!(
                    "The evidence is intact: {} chains, {} seals covering {} rows; {} rows wait to be sealed.",
                    v.chains, v.seals, v.rows, v.unsealed
                );
                if let Some(file) = expect {
                    let text = std::fs::read_to_string(&file)
                        .with_context(|| format!("cannot read {}", file.display()))?;
                    let expected = seal::parse_heads(&text).map_err(anyhow::Error::msg)?;
                    if let seal::Verdict::Tampered(problem) =
                        seal::check_heads(&pool, &expected).await?
                    {
                        anyhow::bail!(
                            "the evidence has been rebuilt since the heads in {} were recorded:\n{problem}",
                            file.display()
                        );
                    }
                    println!(
                        "Every chain still holds the {} seals recorded in {}.",
                        expected.len(),
                        file.display()
                    );
                }
                println!("The last seal of each chain (keep a copy outside the portal):");
                for (school, seq, sha) in v.heads {
                    println!("{}", seal::head_line(school, seq, &sha));
                }
                Ok(())
            }
            seal::Verdict::Tampered(problem) => {
                anyhow::bail!("the evidence has been tampered with: {problem}")
            }
        },
        Command::Sso {
            school,
            provider,
            tenant,
            domain,
            issuer,
            client_id,
            client_secret_file,
            secret_expires,
            email_domains,
            trust_provider_mfa,
        } => {
            let secret = std::fs::read_to_string(&client_secret_file)
                .with_context(|| format!("cannot read {}", client_secret_file.display()))?;
            let school_id = sqlx::query_scalar!("select id from schools where slug = $1", school)
                .fetch_optional(&pool)
                .await?
                .with_context(|| format!("no school has the web address '{school}'"))?;
            let key = secret_key(config, embedded, &pool).await?;
            let settings = Settings::new(config, String::new(), key);
            let providers =
                oidc::Providers::new(settings.keys_refetch_after, settings.sso_private_addresses);
            let input = admin::sso::SsoInput {
                provider,
                tenant: tenant.unwrap_or_default(),
                google_domain: domain.unwrap_or_default(),
                issuer: issuer.unwrap_or_default(),
                client_id,
                client_secret: secret.trim().to_owned(),
                secret_expires: secret_expires.unwrap_or_default(),
                secret_expires_day: String::new(),
                secret_expires_month: String::new(),
                secret_expires_year: String::new(),
                email_domains: email_domains.join(" "),
                trust_provider_mfa: trust_provider_mfa.then(|| "on".to_owned()),
            };
            let stored = store::sso::for_school(&pool, school_id).await?;
            let checked =
                admin::sso::check(&providers, &settings, school_id, &input, stored.as_ref())
                    .await
                    .map_err(|errors| {
                        let lines: Vec<String> = errors
                            .iter()
                            .map(|(field, message)| {
                                let flag = match field.as_str() {
                                    "google_domain" => "domain",
                                    "client_secret" => "client-secret-file",
                                    "email_domains" => "email-domain",
                                    other => other,
                                };
                                format!("--{}: {message}", flag.replace('_', "-"))
                            })
                            .collect();
                        anyhow::anyhow!("single sign-on not saved:\n{}", lines.join("\n"))
                    })?;
            admin::sso::save(&pool, school_id, None, &checked).await?;
            println!(
                "Single sign-on is set up for {school} with {} (issuer {}).",
                checked.sso.provider, checked.sso.issuer
            );
            Ok(())
        }
        Command::RotateKey => {
            let path = key_path(config, embedded)?;
            let key = secret_key(config, embedded, &pool).await?;
            let next = key.rotated();
            let staged = staged_path(&path);
            let _ = std::fs::remove_file(&staged);
            next.write_new(&staged)?;
            let sealed = auth::factor_secrets::seal_again(&pool, &next).await?;
            std::fs::rename(&staged, &path)
                .with_context(|| format!("cannot replace {}", path.display()))?;
            println!(
                "The secret key is now version {} ({}): {sealed} authenticator secrets sealed again. Restart every portal that shares this database, and back up {} again.",
                next.version,
                next.id(),
                path.display()
            );
            Ok(())
        }
        Command::Serve => {
            let key = secret_key(config, embedded, &pool).await?;
            serve(config, pool, key, None).await
        }
        Command::Demo { password, force } => {
            // The demo sets its accounts' passwords: never by accident on a real portal's data.
            let others: i64 = sqlx::query_scalar("select count(*) from schools where slug <> $1")
                .bind(demo::SCHOOL_SLUG)
                .fetch_one(&pool)
                .await?;
            if others > 0 && !force {
                anyhow::bail!(
                    "this database holds {others} school(s) besides the demo school, so it looks like a real portal's: the demo would reset its demo accounts' passwords there. Use another database (or data folder) for the demo, or add --force if you mean it"
                );
            }
            let key = secret_key(config, embedded, &pool).await?;
            let password = password.unwrap_or_else(demo::generate_password);
            demo::seed(&pool, &password).await?;
            serve(config, pool, key, Some(password)).await
        }
    }
}

fn print_demo_banner(base_url: &str, password: &str) {
    use std::{fmt::Write as _, io::Write as _};
    let mut banner = format!(
        "\nAUP Portal demo: {} at {base_url}/sign-in\nDemo accounts (password for all: {password}):\n",
        demo::SCHOOL_NAME
    );
    for person in &demo::PEOPLE {
        let _ = writeln!(
            banner,
            "  {:<28} {} ({})",
            person.email, person.name, person.job_title
        );
    }
    // Not println!: a closed standard output must not stop the portal.
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{banner}");
    let _ = stdout.flush();
}

/// Where the secret key file is: AUP_SECRET_KEY_FILE, or beside the portal's own database.
fn key_path(config: &Config, embedded: bool) -> anyhow::Result<std::path::PathBuf> {
    match (&config.secret_key_file, embedded) {
        (Some(path), _) => Ok(path.clone()),
        (None, true) => Ok(config.data_dir.join("secret.key")),
        (None, false) => anyhow::bail!(
            "DATABASE_URL is set, so the portal needs AUP_SECRET_KEY_FILE: the file holding its secret key, the same file for every portal that shares this database. Name a file that does not exist yet and the portal creates it; keep it out of the database's backups."
        ),
    }
}

/// Where a rotation writes the new keys before the database has moved to them.
fn staged_path(path: &std::path::Path) -> std::path::PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".next");
    path.with_file_name(name)
}

/// The portal's secret key, from its file, checked against the id the database keeps; any
/// authenticator secret still in clear is sealed with it.
async fn secret_key(
    config: &Config,
    embedded: bool,
    pool: &sqlx::PgPool,
) -> anyhow::Result<secret_key::SecretKey> {
    let path = key_path(config, embedded)?;
    let read = path.clone();
    let key = tokio::task::spawn_blocking(move || secret_key::SecretKey::load_or_create(&read))
        .await
        .context("reading the secret key")??;
    let key = match db::check_key(pool, &key).await {
        Ok(()) => key,
        // A rotation that stopped after the database moved on, before the file did: finish it.
        Err(err) => match secret_key::SecretKey::load(&staged_path(&path))? {
            Some(staged) if db::check_key(pool, &staged).await.is_ok() => {
                std::fs::rename(staged_path(&path), &path)
                    .with_context(|| format!("cannot replace {}", path.display()))?;
                tracing::warn!("finished a key rotation that had stopped half-way");
                staged
            }
            _ => return Err(err),
        },
    };
    let sealed = auth::factor_secrets::seal_clear_secrets(pool, &key).await?;
    if sealed > 0 {
        tracing::info!(sealed, "sealed authenticator secrets kept in clear");
    }
    Ok(key)
}

async fn serve(
    config: &Config,
    pool: sqlx::PgPool,
    key: secret_key::SecretKey,
    demo_password: Option<String>,
) -> anyhow::Result<()> {
    let listener = TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("cannot listen on {}", config.bind))?;
    let address = listener.local_addr()?;
    let base_url = config.base_url.as_ref().map_or_else(
        || format!("http://{address}"),
        |url| url.trim_end_matches('/').to_owned(),
    );
    if let Some(password) = demo_password {
        print_demo_banner(&base_url, &password);
    }
    let mailer = config.mailer(&base_url)?;
    if mailer.is_none() {
        tracing::warn!("SMTP_URL is not set: email waits in the outbox until it is");
    }
    let app = Application::build(Settings::new(config, base_url, key), pool, listener);
    tracing::info!(%address, "serving");
    app.run_until_stopped(shutdown_signal(), startup::Background::Jobs { mailer })
        .await
}

/// Ctrl+C or SIGTERM: stop taking requests, let those in flight finish.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
