//! The portal's own PostgreSQL cluster, used when `DATABASE_URL` is unset: the system's
//! server programs, a data folder inside `AUP_DATA_DIR`, a unix socket and no TCP port.

use std::{
    fs::{self, File},
    os::unix::{fs::PermissionsExt, process::CommandExt},
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, bail};
use sqlx::{Connection, PgConnection, postgres::PgConnectOptions};

/// The cluster's owner, who owns the tables and runs the migrations.
const SUPERUSER: &str = "aup";
/// The portal's own login, which serves: it may add evidence but never change it.
const RUNTIME: &str = "aup_portal";
const DATABASE: &str = "aup";
// The longest unix socket path Linux accepts, less the file name PostgreSQL adds.
const MAX_SOCKET_DIR_LEN: usize = 107 - ".s.PGSQL.5432".len() - 1;

/// A running cluster. Stop it with [`EmbeddedCluster::stop`]; the lock on the data folder
/// is held for as long as this value lives.
pub struct EmbeddedCluster {
    bin_dir: PathBuf,
    pg_data: PathBuf,
    socket_dir: PathBuf,
    run_as: Option<nix::unistd::User>,
    /// Both logins' passwords, from files beside the database (not inside it), readable by
    /// the portal's user only. Local connections need them: the server asks for SCRAM.
    owner_password: String,
    runtime_password: String,
    _lock: File,
}

impl EmbeddedCluster {
    /// Starts (creating on first use) the cluster in `data_dir/postgres`.
    pub fn start(data_dir: &Path) -> anyhow::Result<Self> {
        fs::create_dir_all(data_dir)
            .with_context(|| format!("cannot create the data folder {}", data_dir.display()))?;
        let data_dir = data_dir
            .canonicalize()
            .with_context(|| format!("cannot open the data folder {}", data_dir.display()))?;
        let lock = lock_data_dir(&data_dir)?;
        let bin_dir = find_server_programs()?;
        let run_as = server_user()?;

        let pg_data = data_dir.join("postgres");
        let socket_dir = data_dir.join("run");
        if socket_dir.as_os_str().len() > MAX_SOCKET_DIR_LEN {
            bail!(
                "the data folder's path {} is too long for PostgreSQL's socket: choose a shorter AUP_DATA_DIR",
                data_dir.display()
            );
        }
        let cluster = EmbeddedCluster {
            bin_dir,
            pg_data,
            socket_dir,
            run_as,
            owner_password: password_file(&data_dir.join("owner.password"))?,
            runtime_password: password_file(&data_dir.join("portal.password"))?,
            _lock: lock,
        };
        cluster.prepare_dirs()?;
        if !cluster.pg_data.join("PG_VERSION").exists() {
            cluster.init()?;
        }
        cluster.write_settings()?;
        if cluster.is_running() {
            // Left running by a portal that did not stop cleanly; we hold the lock now, so it is ours.
            tracing::info!("reusing the portal's PostgreSQL, still running from before");
        } else {
            cluster.run_tool(
                "pg_ctl",
                &[
                    "start".as_ref(),
                    "--wait".as_ref(),
                    "--silent".as_ref(),
                    "-D".as_ref(),
                    cluster.pg_data.as_os_str(),
                    "-l".as_ref(),
                    cluster.pg_data.join("server.log").as_os_str(),
                ],
            )?;
        }
        Ok(cluster)
    }

    /// How the portal serves: over the socket, to its own database, as its own login.
    pub fn connect_options(&self) -> PgConnectOptions {
        PgConnectOptions::new()
            .socket(&self.socket_dir)
            .username(RUNTIME)
            .password(&self.runtime_password)
            .database(DATABASE)
    }

    /// How the portal migrates: as the owner of the tables.
    pub fn owner_options(&self) -> PgConnectOptions {
        PgConnectOptions::new()
            .socket(&self.socket_dir)
            .username(SUPERUSER)
            .password(&self.owner_password)
            .database(DATABASE)
    }

    /// The owner's password, for PostgreSQL's own tools (PGPASSWORD).
    pub fn owner_password(&self) -> &str {
        &self.owner_password
    }

    /// The owner's login as a URL for another process (a second portal, a benchmark).
    pub fn database_url(&self) -> String {
        format!(
            "postgres://{SUPERUSER}:{}@localhost/{DATABASE}?host={}",
            self.owner_password,
            self.socket_dir.display()
        )
    }

    /// The folder of the server's socket, for PostgreSQL's own tools (`psql -h`).
    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    /// Creates the portal's database on first start, gives both logins their passwords, and
    /// from then on has the server ask for them (SCRAM), where a new cluster trusted anyone
    /// able to reach its private socket.
    pub async fn ensure_database(&self) -> anyhow::Result<()> {
        let mut conn = PgConnection::connect_with(&self.owner_options().database("postgres"))
            .await
            .context("cannot connect to the portal's PostgreSQL")?;
        sqlx::raw_sql(&format!(
            "alter role {SUPERUSER} password '{}';
             do $$ begin
               if not exists (select from pg_roles where rolname = '{RUNTIME}') then
                 create role {RUNTIME} login;
               end if;
             end $$;
             alter role {RUNTIME} login nosuperuser password '{}';",
            self.owner_password, self.runtime_password
        ))
        .execute(&mut conn)
        .await
        .context("setting the passwords of the portal's PostgreSQL")?;
        self.ask_for_passwords()?;
        let exists: bool =
            sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
                .bind(DATABASE)
                .fetch_one(&mut conn)
                .await?;
        if !exists {
            sqlx::query(&format!("create database {DATABASE}"))
                .execute(&mut conn)
                .await?;
        }
        Ok(())
    }

    pub fn stop(&self) -> anyhow::Result<()> {
        self.run_tool(
            "pg_ctl",
            &[
                "stop".as_ref(),
                "--wait".as_ref(),
                "--silent".as_ref(),
                "-m".as_ref(),
                "fast".as_ref(),
                "-D".as_ref(),
                self.pg_data.as_os_str(),
            ],
        )
    }

    fn is_running(&self) -> bool {
        self.command("pg_ctl")
            .arg("status")
            .arg("-D")
            .arg(&self.pg_data)
            .output()
            .map(|out| out.status.success())
            .unwrap_or(false)
    }

    fn prepare_dirs(&self) -> anyhow::Result<()> {
        for dir in [&self.pg_data, &self.socket_dir] {
            fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
            if let Some(user) = &self.run_as {
                std::os::unix::fs::chown(dir, Some(user.uid.as_raw()), Some(user.gid.as_raw()))?;
            }
        }
        if let Some(user) = &self.run_as {
            // The server's user must be able to walk down to its folder.
            let probe = Command::new("/bin/sh")
                .arg("-c")
                .arg("test -w \"$0\"")
                .arg(&self.pg_data)
                .uid(user.uid.as_raw())
                .gid(user.gid.as_raw())
                .status();
            if !matches!(probe, Ok(status) if status.success()) {
                bail!(
                    "PostgreSQL runs as the user '{}', which cannot reach {}: choose an AUP_DATA_DIR \
                     that user can reach (for example under /var/lib or /srv), or set DATABASE_URL",
                    user.name,
                    self.pg_data.display()
                );
            }
        }
        Ok(())
    }

    fn init(&self) -> anyhow::Result<()> {
        tracing::info!(dir = %self.pg_data.display(), "creating the portal's PostgreSQL cluster");
        self.run_tool(
            "initdb",
            &[
                "-D".as_ref(),
                self.pg_data.as_os_str(),
                "-U".as_ref(),
                SUPERUSER.as_ref(),
                // Only the portal reaches the socket: its folder is private to the server's user.
                "--auth-local=trust".as_ref(),
                "--auth-host=reject".as_ref(),
                "--encoding=UTF8".as_ref(),
                "--locale=C.UTF-8".as_ref(),
                "--no-instructions".as_ref(),
            ],
        )?;
        let conf = self.pg_data.join("postgresql.conf");
        let mut text = fs::read_to_string(&conf)?;
        text.push_str("\ninclude_if_exists = 'aup-portal.conf'\n");
        fs::write(&conf, text)?;
        Ok(())
    }

    /// Settings rewritten at every start, so a moved data folder still works.
    fn write_settings(&self) -> anyhow::Result<()> {
        let socket = self.socket_dir.display().to_string().replace('\'', "''");
        let path = self.pg_data.join("aup-portal.conf");
        fs::write(
            &path,
            format!(
                "# Written by aup-portal at each start.\nlisten_addresses = ''\n\
                 unix_socket_directories = '{socket}'\nunix_socket_permissions = 0700\n\
                 # The data folder is on local disk, most likely an SSD: index lookups are cheap.\n\
                 random_page_cost = 1.1\n"
            ),
        )?;
        if let Some(user) = &self.run_as {
            std::os::unix::fs::chown(&path, Some(user.uid.as_raw()), Some(user.gid.as_raw()))?;
        }
        Ok(())
    }

    /// Local connections need a password from now on (SCRAM), not trust.
    fn ask_for_passwords(&self) -> anyhow::Result<()> {
        let hba = self.pg_data.join("pg_hba.conf");
        let wanted = "# Written by aup-portal: every login needs its password (SCRAM).\n\
                      local all all scram-sha-256\n";
        if fs::read_to_string(&hba).ok().as_deref() == Some(wanted) {
            return Ok(());
        }
        fs::write(&hba, wanted)?;
        if let Some(user) = &self.run_as {
            std::os::unix::fs::chown(&hba, Some(user.uid.as_raw()), Some(user.gid.as_raw()))?;
        }
        self.run_tool(
            "pg_ctl",
            &[
                "reload".as_ref(),
                "--silent".as_ref(),
                "-D".as_ref(),
                self.pg_data.as_os_str(),
            ],
        )
    }

    fn command(&self, tool: &str) -> Command {
        let mut cmd = Command::new(self.bin_dir.join(tool));
        // Its own process group: Ctrl+C in the terminal stops the portal, which then stops the server.
        cmd.current_dir(&self.pg_data).process_group(0);
        if let Some(user) = &self.run_as {
            cmd.uid(user.uid.as_raw()).gid(user.gid.as_raw());
            cmd.env("HOME", &user.dir).env("USER", &user.name);
        }
        cmd
    }

    fn run_tool(&self, tool: &str, args: &[&std::ffi::OsStr]) -> anyhow::Result<()> {
        let out = self
            .command(tool)
            .args(args)
            .output()
            .with_context(|| format!("cannot run {tool}"))?;
        if !out.status.success() {
            bail!(
                "{tool} failed: {}{}\n(the server's log is {})",
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&out.stdout),
                self.pg_data.join("server.log").display()
            );
        }
        Ok(())
    }
}

/// A password kept in `path`, readable by the portal's user only; made on first use.
fn password_file(path: &Path) -> anyhow::Result<String> {
    if let Ok(text) = fs::read_to_string(path) {
        let password = text.trim().to_owned();
        if password.len() >= 32 && password.chars().all(|c| c.is_ascii_hexdigit()) {
            return Ok(password);
        }
        bail!(
            "{} does not hold a password the portal made",
            path.display()
        );
    }
    let password = hex::encode(rand::random::<[u8; 24]>());
    use std::{io::Write as _, os::unix::fs::OpenOptionsExt as _};
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(password.as_bytes())?;
    Ok(password)
}

fn lock_data_dir(data_dir: &Path) -> anyhow::Result<File> {
    let path = data_dir.join("aup-portal.lock");
    let file = File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => bail!(
            "another aup-portal is already using the data folder {}: stop it first, \
             or give this one its own AUP_DATA_DIR",
            data_dir.display()
        ),
        Err(fs::TryLockError::Error(err)) => {
            Err(err).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
}

/// PostgreSQL refuses to run as root: then the server runs as the `postgres` user.
fn server_user() -> anyhow::Result<Option<nix::unistd::User>> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(None);
    }
    match nix::unistd::User::from_name("postgres")? {
        Some(user) => Ok(Some(user)),
        None => bail!(
            "the portal was started as root, and PostgreSQL will not run as root: create a 'postgres' \
             user (installing the Debian package postgresql does), run the portal as another user, \
             or set DATABASE_URL"
        ),
    }
}

/// The folder holding `initdb`, `pg_ctl` and `postgres`: from pg_config, Debian's usual place, or PATH.
fn find_server_programs() -> anyhow::Result<PathBuf> {
    find_server_programs_in(
        "pg_config",
        Path::new("/usr/lib/postgresql"),
        std::env::var_os("PATH"),
    )
}

pub fn find_server_programs_in(
    pg_config: &str,
    debian_root: &Path,
    path: Option<std::ffi::OsString>,
) -> anyhow::Result<PathBuf> {
    let has_server = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Ok(out) = Command::new(pg_config).arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if has_server(&dir) {
            return Ok(dir);
        }
    }
    let mut debian: Vec<(u32, PathBuf)> = fs::read_dir(debian_root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let major = entry.file_name().to_str()?.parse::<u32>().ok()?;
            Some((major, entry.path().join("bin")))
        })
        .filter(|(_, dir)| has_server(dir))
        .collect();
    debian.sort();
    if let Some((_, dir)) = debian.pop() {
        return Ok(dir);
    }
    if let Some(dir) = path
        .iter()
        .flat_map(std::env::split_paths)
        .find(|dir| has_server(dir))
    {
        return Ok(dir);
    }
    bail!(
        "PostgreSQL's server programs (initdb, pg_ctl) are not installed. Install them with \
         `apt-get install postgresql` (Debian and Ubuntu), or set DATABASE_URL to use an existing PostgreSQL."
    )
}
