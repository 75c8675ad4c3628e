//! A private PostgreSQL cluster for development and tests, started from the locally installed
//! server binaries when no `DATABASE_URL` is given.
//!
//! Why our own launcher: the crates that do this (`postgresql_embedded`, `pgtemp`) do not work
//! on a typical dev box or CI container running as root. `initdb` and `pg_ctl` refuse to run as
//! root, `postgresql_embedded` cannot drop privileges (and downloads its binaries from GitHub by
//! default), and `pgtemp` shells out to `sudo`, which is often not installed. Here, as root, we
//! run the binaries as the `postgres` OS user ourselves (`setgid`/`setuid` in the child).
//!
//! The cluster:
//! - is created once by `initdb` (superuser `medopt`, trust authentication, UTF-8) and kept in a
//!   data directory, so data survives restarts;
//! - listens on 127.0.0.1 only, on a non-default port, with its Unix socket inside the data
//!   directory (never the system's `/var/run/postgresql`);
//! - is reused if it is already running (another `cargo run`, a test binary, or left running
//!   on purpose); [`LocalPostgres::started_by_us`] then says false, so the caller leaves it be.
//!
//! We never touch a system cluster (e.g. Debian's on port 5432): its credentials are not ours.
//!
//! Trust authentication means any local user can connect to it as superuser: this is a
//! development database, not a place for real data.
//!
//! Everything here blocks; from async code call it inside `tokio::task::spawn_blocking`.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions, Permissions};
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{PermissionsExt, chown};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::kill;
use nix::unistd::{Pid, Uid, User};

/// The superuser `initdb` creates, and the user in [`LocalPostgres::url`].
const SUPERUSER: &str = "medopt";
/// Log file of the server, inside the data directory.
const LOG_FILE: &str = "server.log";
/// How many lines of command output and server log go into an error message.
const TAIL_LINES: usize = 20;
/// Longest Unix socket path we try to use: macOS allows 103 bytes, Linux 107.
const MAX_SOCKET_PATH: usize = 103;

/// Why the private cluster could not be found, started or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No `initdb`/`pg_ctl` anywhere we looked.
    #[error(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found. Install them \
         (Debian/Ubuntu: `apt-get install postgresql`; macOS: `brew install postgresql@16`), \
         or set MEDOPT_PG_BIN_DIR to the folder that holds initdb and pg_ctl, \
         or set DATABASE_URL to use an existing database."
    )]
    BinariesNotFound,

    /// The configured binary folder lacks `initdb` or `pg_ctl`.
    #[error(
        "{dir} does not contain initdb and pg_ctl. Set MEDOPT_PG_BIN_DIR to the folder that \
         holds them (e.g. /usr/lib/postgresql/16/bin), or unset it to search the usual places."
    )]
    BadBinDir {
        /// The folder that was given.
        dir: PathBuf,
    },

    /// Running as root, and there is no `postgres` user to run the server as.
    #[error(
        "running as root, so PostgreSQL has to run as the `postgres` OS user, but there is no \
         such user. Create it (installing the `postgresql` package does), run as an ordinary \
         user, or set DATABASE_URL to use an existing database."
    )]
    NoPostgresUser,

    /// An environment variable holds something that is not a port number.
    #[error("{name}={value:?} is not a valid port number (1-65535)")]
    BadPort {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
    },

    /// A file-system or process operation failed.
    #[error("{action}: {error}")]
    Io {
        /// What we were doing.
        action: String,
        /// What went wrong.
        error: io::Error,
    },

    /// `initdb` or `pg_ctl` ran and failed; `details` holds the end of its output and of the
    /// server log.
    #[error("`{command}` failed ({status}){details}")]
    Command {
        /// The command line.
        command: String,
        /// How it exited.
        status: String,
        /// The last lines of its output and of `server.log`, and hints.
        details: String,
    },

    /// `pg_ctl status` says a server is running on the data directory, but it does not answer.
    #[error(
        "a PostgreSQL server is running on {data_dir} (pid {pid}) but nothing answers on \
         127.0.0.1:{port}. If no PostgreSQL is running there (after a crash the pid in \
         postmaster.pid can be reused by another process), delete {data_dir}/postmaster.pid \
         and try again."
    )]
    NotAnswering {
        /// The data directory.
        data_dir: PathBuf,
        /// The pid in `postmaster.pid`.
        pid: i32,
        /// The port we tried.
        port: u16,
    },
}

/// Where the cluster lives and how it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Folder holding `initdb` and `pg_ctl`; `None` searches the usual places.
    pub bin_dir: Option<PathBuf>,
    /// The cluster's data directory (created if missing).
    pub data_dir: PathBuf,
    /// TCP port on 127.0.0.1.
    pub port: u16,
    /// Turn off `fsync`, `synchronous_commit` and `full_page_writes`: much faster, but a
    /// machine crash can corrupt the cluster. Only for throw-away test clusters.
    pub fast_unsafe: bool,
}

impl Options {
    /// The application's cluster: data in `MEDOPT_PG_DATA`, else `/var/tmp/medopt-pg` as root
    /// (root's home is usually unreachable for `postgres`) or `./.data/pg`; port
    /// `MEDOPT_PG_PORT`, else 54329; binaries from `MEDOPT_PG_BIN_DIR` or searched.
    pub fn from_env() -> Result<Self, Error> {
        Self::build(
            "MEDOPT_PG_DATA",
            "medopt-pg",
            "pg",
            "MEDOPT_PG_PORT",
            54329,
            false,
        )
    }

    /// The test suite's cluster, separate from the application's: data in
    /// `MEDOPT_TEST_PG_DATA`, else `/var/tmp/medopt-pg-test` as root or `./.data/pg-test`; port
    /// `MEDOPT_TEST_PG_PORT`, else 54330; `fsync` off.
    pub fn for_tests() -> Result<Self, Error> {
        Self::build(
            "MEDOPT_TEST_PG_DATA",
            "medopt-pg-test",
            "pg-test",
            "MEDOPT_TEST_PG_PORT",
            54330,
            true,
        )
    }

    fn build(
        data_var: &'static str,
        root_dir_name: &str,
        user_dir_name: &str,
        port_var: &'static str,
        default_port: u16,
        fast_unsafe: bool,
    ) -> Result<Self, Error> {
        let data_dir = match env_path(data_var) {
            Some(dir) => dir,
            None if is_root() => Path::new("/var/tmp").join(root_dir_name),
            None => Path::new(".data").join(user_dir_name),
        };
        Ok(Self {
            bin_dir: env_path("MEDOPT_PG_BIN_DIR"),
            data_dir: absolute(&data_dir)?,
            port: env_port(port_var)?.unwrap_or(default_port),
            fast_unsafe,
        })
    }
}

/// A handle on a private cluster. Dropping it does not stop the server.
#[derive(Debug, Clone)]
pub struct LocalPostgres {
    bin_dir: PathBuf,
    data_dir: PathBuf,
    port: u16,
    run_as: Option<RunAs>,
    initialised_now: bool,
    started_by_us: bool,
}

/// The OS user the server runs as when we are root.
#[derive(Debug, Clone)]
struct RunAs {
    uid: u32,
    gid: u32,
    home: PathBuf,
}

impl LocalPostgres {
    /// Runs `initdb` if the data directory is not a cluster yet, and starts the server unless one
    /// is already running on it (then that one is reused, on whatever port it listens).
    /// Concurrent callers on the same data directory are serialised with a lock file,
    /// `<data_dir>.lock`. Blocking (call from `spawn_blocking` in async code).
    pub fn start(opts: &Options) -> Result<LocalPostgres, Error> {
        let mut pg = Self::new(opts)?;
        pg.create_parent_dir()?;
        let _lock = pg.lock()?;
        if pg.is_running() && pg.adopt_running_server()? {
            return Ok(pg);
        }
        if !pg.data_dir.join("PG_VERSION").is_file() {
            pg.create_data_dir()?;
            pg.initdb()?;
            pg.initialised_now = true;
        }
        pg.pg_ctl_start(opts.fast_unsafe)?;
        pg.started_by_us = true;
        Ok(pg)
    }

    /// True if this [`start`](Self::start) ran `initdb`, i.e. the cluster is brand new.
    pub fn initialised_now(&self) -> bool {
        self.initialised_now
    }

    /// True if this [`start`](Self::start) started the server; false if it was already running.
    pub fn started_by_us(&self) -> bool {
        self.started_by_us
    }

    /// The TCP port the server listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The cluster's data directory (absolute).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// URL for `database` on this cluster as the superuser, e.g.
    /// `postgres://medopt@127.0.0.1:54329/medopt`. The database is not created.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://{SUPERUSER}@127.0.0.1:{}/{}",
            self.port,
            percent_encode(database)
        )
    }

    /// Stops the server (`pg_ctl stop -m fast -w`: running sessions are disconnected) and waits
    /// until its process has gone. Does nothing if it is not running. Stops it even if we did
    /// not start it; check [`started_by_us`](Self::started_by_us) first if that matters.
    /// Blocking.
    pub fn stop(&self) -> Result<(), Error> {
        if !self.data_dir.is_dir() {
            return Ok(());
        }
        let _lock = self.lock()?;
        if !self.is_running() {
            return Ok(());
        }
        let pid = self.read_pid_file().map(|pid_file| pid_file.pid);
        let mut cmd = self.command("pg_ctl");
        cmd.arg("stop").arg("-D").arg(&self.data_dir);
        cmd.args(["-m", "fast", "-w", "-t", "60"]);
        self.run(&mut cmd, None)?;
        // pg_ctl returns once postmaster.pid is gone, a moment before the process exits.
        if let Some(pid) = pid {
            wait_until(Duration::from_secs(5), || !process_alive(pid));
        }
        Ok(())
    }

    /// True if a server is running on the data directory (`pg_ctl status`).
    pub fn is_running(&self) -> bool {
        let mut cmd = self.command("pg_ctl");
        cmd.arg("status").arg("-D").arg(&self.data_dir);
        cmd.output().is_ok_and(|output| output.status.success())
    }

    /// A handle without starting anything: binaries found, privileges decided.
    fn new(opts: &Options) -> Result<Self, Error> {
        Ok(Self {
            bin_dir: find_bin_dir(opts.bin_dir.as_deref())?,
            data_dir: absolute(&opts.data_dir)?,
            port: opts.port,
            run_as: run_as()?,
            initialised_now: false,
            started_by_us: false,
        })
    }

    fn create_parent_dir(&self) -> Result<(), Error> {
        let Some(parent) = self.data_dir.parent() else {
            return Ok(());
        };
        if parent.is_dir() {
            return Ok(());
        }
        fs::create_dir_all(parent)
            .map_err(io_error(format!("could not create {}", parent.display())))?;
        self.give_to_server_user(parent)
    }

    /// An empty data directory that only the server's user can enter, as PostgreSQL demands.
    fn create_data_dir(&self) -> Result<(), Error> {
        let dir = &self.data_dir;
        fs::create_dir_all(dir).map_err(io_error(format!("could not create {}", dir.display())))?;
        fs::set_permissions(dir, Permissions::from_mode(0o700)).map_err(io_error(format!(
            "could not set permissions of {}",
            dir.display()
        )))?;
        self.give_to_server_user(dir)
    }

    fn give_to_server_user(&self, path: &Path) -> Result<(), Error> {
        let Some(user) = &self.run_as else {
            return Ok(());
        };
        chown(path, Some(user.uid), Some(user.gid)).map_err(io_error(format!(
            "could not give {} to the `postgres` user",
            path.display()
        )))
    }

    /// Takes the lock that serialises starters (several test binaries start at once). It is an
    /// `flock`, released when the returned file is closed, including when we crash; std opens
    /// files close-on-exec, so the server does not inherit it.
    fn lock(&self) -> Result<File, Error> {
        let mut path = self.data_dir.clone().into_os_string();
        path.push(".lock");
        let path = PathBuf::from(path);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_error(format!("could not open {}", path.display())))?;
        file.lock()
            .map_err(io_error(format!("could not lock {}", path.display())))?;
        Ok(file)
    }

    fn initdb(&self) -> Result<(), Error> {
        // C.UTF-8 gives Unicode-aware upper()/lower() with byte-order sorting, but not every
        // system has it (older macOS); plain C still stores UTF-8 fine.
        match self.run(&mut self.initdb_command("--locale=C.UTF-8"), None) {
            Err(Error::Command { details, .. }) if details.contains("invalid locale") => {
                self.run(&mut self.initdb_command("--no-locale"), None)
            }
            result => result,
        }
    }

    fn initdb_command(&self, locale: &str) -> Command {
        let mut cmd = self.command("initdb");
        cmd.arg("-D").arg(&self.data_dir);
        cmd.args(["-U", SUPERUSER, "--auth=trust", "-E", "UTF8", locale, "-N"]);
        cmd
    }

    fn pg_ctl_start(&self, fast_unsafe: bool) -> Result<(), Error> {
        let log = self.data_dir.join(LOG_FILE);
        let log_start = fs::metadata(&log).map_or(0, |meta| meta.len());
        let mut cmd = self.command("pg_ctl");
        cmd.arg("start")
            .arg("-D")
            .arg(&self.data_dir)
            .arg("-l")
            .arg(&log);
        cmd.args(["-w", "-t", "60", "-o"])
            .arg(self.server_options(fast_unsafe));
        self.run(&mut cmd, Some(log_start))
    }

    /// The `postgres` options for `pg_ctl -o`, which pg_ctl passes through `/bin/sh`, hence
    /// the quoting.
    fn server_options(&self, fast_unsafe: bool) -> OsString {
        let mut options = format!("-p {} -c listen_addresses=127.0.0.1", self.port).into_bytes();
        options.extend_from_slice(b" -k ");
        if socket_dir_usable(&self.data_dir, self.port) {
            options.extend(shell_quote(self.data_dir.as_os_str()));
        } else {
            // No Unix socket at all rather than the system's socket directory, which we may not
            // write to; clients use TCP anyway.
            options.extend_from_slice(b"''");
        }
        if fast_unsafe {
            options.extend_from_slice(
                b" -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            );
        }
        OsString::from_vec(options)
    }

    /// Someone else's server on our data directory: use its port, and make sure it is really
    /// PostgreSQL, since `pg_ctl status` only checks that the pid in postmaster.pid exists.
    /// Returns false if the server went away meanwhile: typically a killed postmaster that was
    /// still a zombie (PostgreSQL will not start until it has been reaped).
    fn adopt_running_server(&mut self) -> Result<bool, Error> {
        let pid_file = self.read_pid_file();
        if let Some(port) = pid_file.as_ref().and_then(|pid_file| pid_file.port) {
            self.port = port;
        }
        let port = self.port;
        let mut gone = false;
        let answered = wait_until(Duration::from_secs(10), || {
            gone = !self.is_running();
            gone || accepts_tcp(port)
        });
        if gone {
            return Ok(false);
        }
        if answered {
            return Ok(true);
        }
        Err(Error::NotAnswering {
            data_dir: self.data_dir.clone(),
            pid: pid_file.map_or(0, |pid_file| pid_file.pid),
            port,
        })
    }

    fn read_pid_file(&self) -> Option<PidFile> {
        let text = fs::read_to_string(self.data_dir.join("postmaster.pid")).ok()?;
        let mut lines = text.lines();
        let pid = lines.next()?.trim().parse().ok()?;
        // Lines: pid, data directory, start time, port, ...
        let port = lines.nth(2).and_then(|line| line.trim().parse().ok());
        Some(PidFile { pid, port })
    }

    /// A command for one of the server binaries, run as `postgres` when we are root.
    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bin_dir.join(program));
        if let Some(user) = &self.run_as {
            // With uid set and no explicit groups, std calls setgroups(0) before setuid, so
            // root's supplementary groups are dropped too. The child also cannot use root's
            // working directory (often mode 700), and initdb calls getcwd.
            cmd.uid(user.uid).gid(user.gid);
            cmd.env("HOME", &user.home).current_dir("/");
        }
        cmd
    }

    /// Runs `cmd` to completion; on failure the error carries the end of its output and, with
    /// `log_from`, the server log written since that offset.
    fn run(&self, cmd: &mut Command, log_from: Option<u64>) -> Result<(), Error> {
        let command = describe(cmd);
        let output = cmd
            .output()
            .map_err(io_error(format!("could not run `{command}`")))?;
        if output.status.success() {
            return Ok(());
        }
        let mut details = String::new();
        let said =
            String::from_utf8_lossy(&output.stdout) + String::from_utf8_lossy(&output.stderr);
        append_tail(&mut details, "output", &said);
        if let Some(offset) = log_from {
            let log = read_from(&self.data_dir.join(LOG_FILE), offset);
            append_tail(&mut details, LOG_FILE, &log);
        }
        if self.run_as.is_some() && details.contains("Permission denied") {
            details.push_str(&format!(
                "\nhint: as root, PostgreSQL runs as the `postgres` user, which must be able to \
                 reach {} (every parent directory needs to be searchable by it); set \
                 MEDOPT_PG_DATA to a place like /var/tmp/medopt-pg",
                self.data_dir.display()
            ));
        }
        Err(Error::Command {
            command,
            status: output.status.to_string(),
            details,
        })
    }
}

/// For test binaries, before any test runs: unless `DATABASE_URL` is set, starts (or reuses)
/// the private test cluster and returns the URL `#[sqlx::test]` should use. The cluster stays
/// running for the next run, like a service would.
pub fn test_database_url() -> Result<Option<String>, Error> {
    if std::env::var_os("DATABASE_URL").is_some() {
        return Ok(None);
    }
    let cluster = LocalPostgres::start(&Options::for_tests()?)?;
    Ok(Some(cluster.url("postgres")))
}

/// Stops the cluster described by `opts` if it is running, whoever started it. Blocking.
pub fn stop(opts: &Options) -> Result<(), Error> {
    LocalPostgres::new(opts)?.stop()
}

/// What we use from `postmaster.pid`.
struct PidFile {
    pid: i32,
    port: Option<u16>,
}

/// `Some(postgres user)` when we are root, since initdb and pg_ctl refuse to run as root.
fn run_as() -> Result<Option<RunAs>, Error> {
    if !is_root() {
        return Ok(None);
    }
    lookup_user("postgres")?
        .map(Some)
        .ok_or(Error::NoPostgresUser)
}

fn is_root() -> bool {
    Uid::effective().is_root()
}

/// The OS user `name`, if there is one (`getpwnam_r`, safe with several test threads starting
/// clusters at once).
fn lookup_user(name: &str) -> Result<Option<RunAs>, Error> {
    let user = User::from_name(name).map_err(|errno| Error::Io {
        action: format!("could not look up the {name:?} OS user"),
        error: io::Error::from(errno),
    })?;
    Ok(user.map(|u| RunAs {
        uid: u.uid.as_raw(),
        gid: u.gid.as_raw(),
        home: u.dir,
    }))
}

/// The folder with `initdb` and `pg_ctl`: the one given, else `pg_config --bindir`, the newest
/// `/usr/lib/postgresql/*/bin` (Debian, Ubuntu), `initdb` on `PATH`, then Homebrew's keg-only
/// `postgresql@*`, which is not on `PATH`.
fn find_bin_dir(given: Option<&Path>) -> Result<PathBuf, Error> {
    if let Some(dir) = given {
        let dir = absolute(dir)?;
        return if has_server_binaries(&dir) {
            Ok(dir)
        } else {
            Err(Error::BadBinDir { dir })
        };
    }
    pg_config_bin_dir()
        .or_else(|| newest_versioned(Path::new("/usr/lib/postgresql"), ""))
        .or_else(initdb_on_path)
        .or_else(|| newest_versioned(Path::new("/opt/homebrew/opt"), "postgresql@"))
        .or_else(|| newest_versioned(Path::new("/usr/local/opt"), "postgresql@"))
        .ok_or(Error::BinariesNotFound)
}

fn has_server_binaries(dir: &Path) -> bool {
    dir.join("initdb").is_file() && dir.join("pg_ctl").is_file()
}

fn pg_config_bin_dir() -> Option<PathBuf> {
    let output = Command::new("pg_config").arg("--bindir").output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    let dir = PathBuf::from(text.trim());
    has_server_binaries(&dir).then_some(dir)
}

/// The `bin` folder of the highest-numbered `<root>/<prefix><version>` that has the binaries.
fn newest_versioned(root: &Path, prefix: &str) -> Option<PathBuf> {
    fs::read_dir(root)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name();
            let version = parse_version(name.to_str()?.strip_prefix(prefix)?)?;
            let bin = entry.path().join("bin");
            has_server_binaries(&bin).then_some((version, bin))
        })
        .max_by(|(a, _), (b, _)| a.cmp(b))
        .map(|(_, bin)| bin)
}

fn parse_version(text: &str) -> Option<Vec<u32>> {
    text.split('.').map(|part| part.parse().ok()).collect()
}

/// The folder of the first `initdb` on `PATH`, following symlinks (Homebrew, `/usr/local/bin`
/// links) to the real folder when that also has `pg_ctl`.
fn initdb_on_path() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let dir = std::env::split_paths(&path).find(|dir| dir.join("initdb").is_file())?;
    let real = fs::canonicalize(dir.join("initdb"))
        .ok()
        .and_then(|initdb| initdb.parent().map(Path::to_path_buf));
    real.into_iter()
        .chain([dir])
        .find(|dir| has_server_binaries(dir))
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|value| !value.is_empty())
        .map(PathBuf::from)
}

fn env_port(name: &'static str) -> Result<Option<u16>, Error> {
    let Some(value) = std::env::var_os(name).filter(|value| !value.is_empty()) else {
        return Ok(None);
    };
    let value = value.to_string_lossy().into_owned();
    match value.trim().parse::<u16>() {
        Ok(port) if port != 0 => Ok(Some(port)),
        _ => Err(Error::BadPort { name, value }),
    }
}

/// Absolute, because the server's working directory is not ours (and as root it is `/`).
fn absolute(path: &Path) -> Result<PathBuf, Error> {
    std::path::absolute(path).map_err(io_error(format!(
        "could not make {} absolute",
        path.display()
    )))
}

fn io_error(action: String) -> impl FnOnce(io::Error) -> Error {
    move |error| Error::Io { action, error }
}

/// Whether the socket can live in `dir`: its path must fit in `sockaddr_un`, and
/// `unix_socket_directories` is a comma-separated, double-quoted list.
fn socket_dir_usable(dir: &Path, port: u16) -> bool {
    let bytes = dir.as_os_str().as_bytes();
    let socket_path_len = bytes.len() + format!("/.s.PGSQL.{port}").len();
    socket_path_len <= MAX_SOCKET_PATH && !bytes.iter().any(|b| matches!(b, b',' | b'"'))
}

/// `text` in single quotes for `/bin/sh`.
fn shell_quote(text: &OsStr) -> Vec<u8> {
    let mut quoted = vec![b'\''];
    for &byte in text.as_bytes() {
        if byte == b'\'' {
            quoted.extend_from_slice(b"'\\''");
        } else {
            quoted.push(byte);
        }
    }
    quoted.push(b'\'');
    quoted
}

/// A database name as a URL path segment.
fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// The command line, for error messages.
fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|part| {
            let part = part.to_string_lossy();
            if part.contains(' ') || part.is_empty() {
                format!("{part:?}")
            } else {
                part.into_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Adds the last lines of `text` under a heading, if there are any.
fn append_tail(details: &mut String, heading: &str, text: &str) {
    let lines: Vec<&str> = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    if lines.is_empty() {
        return;
    }
    details.push_str(&format!("\n{heading}:"));
    for line in &lines[lines.len().saturating_sub(TAIL_LINES)..] {
        details.push_str("\n    ");
        details.push_str(line);
    }
}

/// The file from `offset` on, or nothing if it cannot be read.
fn read_from(path: &Path, offset: u64) -> String {
    let bytes = fs::read(path).unwrap_or_default();
    let start = usize::try_from(offset).unwrap_or(0).min(bytes.len());
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

fn accepts_tcp(port: u16) -> bool {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&address, Duration::from_millis(500)).is_ok()
}

fn process_exists(pid: i32) -> bool {
    // Signal 0 only checks that the process exists and may be signalled; EPERM: it exists
    // but belongs to someone else.
    matches!(kill(Pid::from_raw(pid), None), Ok(()) | Err(Errno::EPERM))
}

/// Exists and is not a zombie. The stopped postmaster is not our child but pg_ctl's, so init
/// reaps it, and some inits (containers, VMs) take seconds to; a zombie holds no port or files.
fn process_alive(pid: i32) -> bool {
    process_exists(pid) && !is_zombie(pid)
}

fn is_zombie(pid: i32) -> bool {
    // Linux only; elsewhere we wait for the reaping, a little slower.
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // "pid (command) state ...": the command may itself contain ") ".
    stat.rsplit_once(") ")
        .is_some_and(|(_, rest)| rest.starts_with('Z'))
}

/// Polls `done` until it is true or `timeout` passes; returns its last answer.
fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::signal::Signal;
    use std::net::TcpListener;

    /// A cluster in a fresh directory on a free port, stopped and deleted on drop.
    struct Sandbox {
        opts: Options,
        _dir: tempfile::TempDir,
    }

    impl Sandbox {
        fn new() -> Self {
            // As root the server runs as `postgres`, which cannot enter /tmp/<root's 700 dir>.
            let base = if is_root() {
                PathBuf::from("/var/tmp")
            } else {
                std::env::temp_dir()
            };
            let dir = tempfile::Builder::new()
                .prefix("devdb-test-")
                .tempdir_in(base)
                .unwrap();
            fs::set_permissions(dir.path(), Permissions::from_mode(0o755)).unwrap();
            let opts = Options {
                bin_dir: None,
                data_dir: dir.path().join("pg"),
                port: free_port(),
                fast_unsafe: true,
            };
            Self { opts, _dir: dir }
        }

        fn start(&self) -> LocalPostgres {
            LocalPostgres::start(&self.opts).unwrap_or_else(|e| panic!("start failed: {e}"))
        }
    }

    impl Drop for Sandbox {
        fn drop(&mut self) {
            if let Err(e) = stop(&self.opts) {
                eprintln!("could not stop test cluster: {e}");
            }
        }
    }

    fn free_port() -> u16 {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        listener.local_addr().unwrap().port()
    }

    fn postmaster_pid(pg: &LocalPostgres) -> i32 {
        pg.read_pid_file().expect("postmaster.pid").pid
    }

    #[test]
    fn first_start_initialises_and_accepts_connections() {
        let sandbox = Sandbox::new();
        let started = Instant::now();
        let pg = sandbox.start();
        eprintln!("cold start (initdb + start): {:?}", started.elapsed());

        assert!(pg.initialised_now());
        assert!(pg.started_by_us());
        assert!(pg.is_running());
        assert_eq!(pg.port(), sandbox.opts.port);
        assert!(accepts_tcp(pg.port()));
        assert_eq!(
            pg.url("medopt"),
            format!("postgres://medopt@127.0.0.1:{}/medopt", pg.port())
        );
        if socket_dir_usable(pg.data_dir(), pg.port()) {
            assert!(
                pg.data_dir()
                    .join(format!(".s.PGSQL.{}", pg.port()))
                    .exists()
            );
        }
        #[cfg(target_os = "linux")]
        if is_root() {
            let status = fs::read_to_string(format!("/proc/{}/status", postmaster_pid(&pg)));
            let status = status.unwrap();
            let line = |key: &str| {
                status
                    .lines()
                    .find(|l| l.starts_with(key))
                    .unwrap()
                    .to_owned()
            };
            assert_eq!(
                line("Groups:").trim(),
                "Groups:",
                "supplementary groups dropped"
            );
            assert!(
                !line("Uid:").split_whitespace().any(|id| id == "0"),
                "not root"
            );
        }
        pg.stop().unwrap();
        assert!(!pg.is_running());
    }

    #[test]
    fn second_start_reuses_the_data() {
        let sandbox = Sandbox::new();
        let first = sandbox.start();
        let version_file = first.data_dir().join("PG_VERSION");
        let created = fs::metadata(&version_file).unwrap().modified().unwrap();
        first.stop().unwrap();
        let marker = first.data_dir().join("marker-from-test");
        fs::write(&marker, "still here").unwrap();

        let started = Instant::now();
        let second = sandbox.start();
        eprintln!("warm start (existing cluster): {:?}", started.elapsed());

        assert!(!second.initialised_now());
        assert!(second.started_by_us());
        assert!(marker.exists());
        let now = fs::metadata(&version_file).unwrap().modified().unwrap();
        assert_eq!(created, now);
        assert!(accepts_tcp(second.port()));
    }

    #[test]
    fn stop_leaves_no_process_behind() {
        let sandbox = Sandbox::new();
        let pg = sandbox.start();
        let pid = postmaster_pid(&pg);
        assert!(process_exists(pid));

        pg.stop().unwrap();

        assert!(!pg.is_running());
        // Gone for good once init has reaped the zombie, which can take a few seconds here.
        assert!(
            wait_until(Duration::from_secs(10), || !process_exists(pid)),
            "postmaster {pid} still exists"
        );
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, pg.port()));
        let refused = TcpStream::connect_timeout(&address, Duration::from_secs(1)).unwrap_err();
        assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused);
        // A second stop is a no-op.
        pg.stop().unwrap();
    }

    #[test]
    fn a_running_server_is_reused_on_its_own_port() {
        let sandbox = Sandbox::new();
        let first = sandbox.start();
        let other_port = Options {
            port: free_port(),
            ..sandbox.opts.clone()
        };

        let started = Instant::now();
        let second = LocalPostgres::start(&other_port).unwrap();
        eprintln!("start when already running: {:?}", started.elapsed());

        assert!(!second.started_by_us());
        assert!(!second.initialised_now());
        assert_eq!(second.port(), first.port());
        assert_eq!(postmaster_pid(&second), postmaster_pid(&first));
    }

    #[test]
    fn starts_again_after_the_server_was_killed() {
        let sandbox = Sandbox::new();
        let pg = sandbox.start();
        let pid = postmaster_pid(&pg);
        kill(Pid::from_raw(pid), Signal::SIGKILL).unwrap();
        assert!(wait_until(Duration::from_secs(5), || !process_alive(pid)));
        // Straight away: the old postmaster may still be a zombie and its children alive.
        assert!(
            pg.data_dir().join("postmaster.pid").exists(),
            "stale pid file"
        );

        let again = sandbox.start();

        assert!(again.started_by_us());
        assert!(!again.initialised_now());
        assert_ne!(postmaster_pid(&again), pid);
        assert!(accepts_tcp(again.port()));
    }

    #[test]
    fn concurrent_starters_are_serialised() {
        let sandbox = Sandbox::new();
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let opts = sandbox.opts.clone();
                std::thread::spawn(move || LocalPostgres::start(&opts))
            })
            .collect();
        let results: Vec<LocalPostgres> = handles
            .into_iter()
            .map(|handle| handle.join().unwrap().unwrap())
            .collect();

        let initialised = results.iter().filter(|pg| pg.initialised_now()).count();
        let started = results.iter().filter(|pg| pg.started_by_us()).count();
        assert_eq!((initialised, started), (1, 1));
    }

    #[test]
    fn a_busy_port_is_reported_with_the_server_log() {
        let sandbox = Sandbox::new();
        let _busy = TcpListener::bind((Ipv4Addr::LOCALHOST, sandbox.opts.port)).unwrap();

        let error = LocalPostgres::start(&sandbox.opts).unwrap_err().to_string();

        assert!(error.contains("pg_ctl"), "{error}");
        assert!(error.contains(LOG_FILE), "{error}");
        assert!(error.contains("could not bind"), "{error}");
    }

    #[test]
    fn a_bin_dir_without_binaries_is_rejected() {
        let empty = tempfile::tempdir().unwrap();
        let opts = Options {
            bin_dir: Some(empty.path().to_path_buf()),
            ..Sandbox::new().opts.clone()
        };
        let error = LocalPostgres::start(&opts).unwrap_err();
        assert!(matches!(error, Error::BadBinDir { .. }), "{error}");
        assert!(error.to_string().contains("MEDOPT_PG_BIN_DIR"));
    }

    #[test]
    fn falls_back_to_no_locale_when_c_utf8_is_missing() {
        let sandbox = Sandbox::new();
        let real = find_bin_dir(None).unwrap();
        // A bin folder whose initdb rejects C.UTF-8, as on systems without that locale.
        let bin = sandbox._dir.path().join("bin");
        fs::create_dir(&bin).unwrap();
        let script = format!(
            "#!/bin/sh\ncase \"$*\" in *C.UTF-8*) \
             echo 'initdb: error: invalid locale name \"C.UTF-8\"' >&2; exit 1;; esac\n\
             exec '{}/initdb' \"$@\"\n",
            real.display()
        );
        fs::write(bin.join("initdb"), script).unwrap();
        fs::set_permissions(bin.join("initdb"), Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink(real.join("pg_ctl"), bin.join("pg_ctl")).unwrap();
        let opts = Options {
            bin_dir: Some(bin),
            ..sandbox.opts.clone()
        };

        let pg = LocalPostgres::start(&opts).unwrap();

        assert!(pg.initialised_now());
        let conf = fs::read_to_string(pg.data_dir().join("postgresql.conf")).unwrap();
        assert!(conf.contains("lc_messages = 'C'"), "C locale");
    }

    #[test]
    fn the_missing_binaries_message_says_what_to_do() {
        let message = Error::BinariesNotFound.to_string();
        for needle in [
            "apt-get install postgresql",
            "MEDOPT_PG_BIN_DIR",
            "DATABASE_URL",
        ] {
            assert!(message.contains(needle), "{message}");
        }
    }

    #[test]
    fn long_data_dirs_get_no_socket() {
        assert!(socket_dir_usable(Path::new("/var/tmp/medopt-pg"), 54329));
        assert!(!socket_dir_usable(
            &Path::new("/var/tmp").join("x".repeat(100)),
            54329
        ));
        assert!(!socket_dir_usable(Path::new("/tmp/a,b"), 54329));
    }

    #[test]
    fn shell_quoting_and_url_encoding() {
        assert_eq!(shell_quote(OsStr::new("/a b/it's")), b"'/a b/it'\\''s'");
        assert_eq!(percent_encode("medopt_test-1"), "medopt_test-1");
        assert_eq!(percent_encode("a b/c"), "a%20b%2Fc");
    }

    #[test]
    fn versions_compare_numerically() {
        assert!(parse_version("16") > parse_version("9.6"));
        assert_eq!(parse_version("15beta"), None);
    }
}
