//! Configuration, read from the environment (and overridable by flags).
//!
//! Every variable is listed in the README and in `.env.example`. Defaults are chosen so that
//! `cargo run --release` works on a fresh machine with nothing set.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use clap::{Args, ValueEnum};
use ipnet::IpNet;

/// Settings shared by every subcommand.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// PostgreSQL connection string. When unset, medopt starts a private PostgreSQL cluster
    /// from the locally installed binaries (see `MEDOPT_PG_*`).
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// Address the web server listens on.
    #[arg(
        long,
        env = "MEDOPT_BIND",
        default_value = "127.0.0.1:3000",
        global = true
    )]
    pub bind: SocketAddr,

    /// Log output: `pretty` for people, `json` for log collectors.
    #[arg(
        long,
        env = "MEDOPT_LOG_FORMAT",
        default_value = "pretty",
        global = true
    )]
    pub log_format: LogFormat,

    /// Log filter in `tracing` syntax, e.g. `info` or `medopt=debug,tower_http=info`.
    #[arg(long, env = "MEDOPT_LOG", default_value = "info", global = true)]
    pub log: String,

    /// Set when medopt is served over HTTPS: session cookies then get `Secure` and the
    /// `__Host-` name prefix.
    #[arg(
        long,
        env = "MEDOPT_SECURE_COOKIES",
        default_value_t = false,
        global = true
    )]
    pub secure_cookies: bool,

    /// Sign-in attempts allowed per minute from one client address, and per account.
    #[arg(
        long,
        env = "MEDOPT_LOGIN_ATTEMPTS_PER_MINUTE",
        default_value_t = 10,
        global = true
    )]
    pub login_attempts_per_minute: u32,

    /// Reverse proxies whose `X-Forwarded-For` header is believed: addresses or CIDR ranges,
    /// comma-separated (e.g. `10.0.0.0/8, 192.0.2.7`). None by default, so the header is ignored.
    #[arg(
        long,
        env = "MEDOPT_TRUSTED_PROXIES",
        default_value = "",
        value_parser = TrustedProxies::parse,
        global = true
    )]
    pub trusted_proxies: TrustedProxies,

    /// Require two-step verification of every user (administrators and regional reviewers
    /// always need it).
    #[arg(
        long,
        env = "MEDOPT_REQUIRE_TWO_STEP",
        default_value_t = false,
        global = true
    )]
    pub require_two_step: bool,

    /// E-mail address of the administrator created on first start with an empty database.
    #[arg(
        long,
        env = "MEDOPT_ADMIN_EMAIL",
        default_value = "admin@localhost",
        global = true
    )]
    pub admin_email: String,

    /// Largest connection pool the server keeps to PostgreSQL.
    #[arg(long, env = "MEDOPT_DB_POOL_SIZE", default_value_t = 10, global = true)]
    pub db_pool_size: u32,

    /// The SMTP server e-mail notifications are sent through: `smtp://host:port` (plain),
    /// `smtp://host:587?tls=required` (STARTTLS), `smtps://user:password@host:465` (implicit
    /// TLS). Unset: no e-mail is sent (messages wait in the outbox).
    #[arg(long, env = "MEDOPT_SMTP_URL", global = true, hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// The sender of e-mail notifications, e.g. `Medicines optimisation <medopt@example.nhs.uk>`.
    /// Required when `MEDOPT_SMTP_URL` is set.
    #[arg(long, env = "MEDOPT_MAIL_FROM", global = true)]
    pub mail_from: Option<String>,

    /// The address people reach medopt at, for links in e-mails (e.g.
    /// `https://medopt.example.nhs.uk`). Unset: `http://` and `MEDOPT_BIND`.
    #[arg(long, env = "MEDOPT_BASE_URL", global = true)]
    pub base_url: Option<String>,
}

/// The reverse proxies whose `X-Forwarded-For` is believed (see [`crate::auth::client_ip`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses `10.0.0.0/8, 192.0.2.7` (addresses or CIDR ranges, comma-separated; blank for none).
    pub fn parse(text: &str) -> Result<Self, String> {
        text.split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(|part| {
                part.parse::<IpNet>()
                    .or_else(|_| part.parse::<IpAddr>().map(IpNet::from))
                    .map(|net| net.trunc())
                    .map_err(|_| format!("{part:?} is not an IP address or CIDR range"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    /// Whether `address` is one of them.
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        self.0.iter().any(|net| net.contains(&address))
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable, coloured when the output is a terminal.
    Pretty,
    /// One JSON object per line.
    Json,
}

impl Config {
    /// Where people on this machine open the service: see [`local_url`].
    pub fn local_url(&self) -> String {
        local_url(self.bind)
    }

    /// A configuration for tests: no database URL (the test supplies its pool), port 0.
    pub fn for_tests() -> Self {
        Self {
            database_url: None,
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            log_format: LogFormat::Pretty,
            log: "warn".into(),
            db_pool_size: 5,
            secure_cookies: false,
            // Tests sign in many times from one address; the limit has its own test.
            login_attempts_per_minute: 10_000,
            trusted_proxies: TrustedProxies::default(),
            require_two_step: false,
            admin_email: "admin@localhost".into(),
            smtp_url: None,
            mail_from: None,
            base_url: None,
        }
    }

    /// Where links in e-mails point: `MEDOPT_BASE_URL` without a trailing `/`, or
    /// `http://` and the address served on (a wildcard address becomes `127.0.0.1`).
    pub fn public_base_url(&self) -> String {
        match self.base_url.as_deref().map(str::trim) {
            Some(url) if !url.is_empty() => url.trim_end_matches('/').to_owned(),
            _ => local_url(self.bind),
        }
    }
}

/// `http://127.0.0.1:3000` for the address the server listens on. An unspecified address
/// (`0.0.0.0`, `[::]`: every interface) is reached on this machine at loopback.
pub fn local_url(address: SocketAddr) -> String {
    let mut address = address;
    if address.ip().is_unspecified() {
        address.set_ip(match address.ip() {
            IpAddr::V4(_) => Ipv4Addr::LOCALHOST.into(),
            IpAddr::V6(_) => Ipv6Addr::LOCALHOST.into(),
        });
    }
    format!("http://{address}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_urls_name_the_bound_address_or_loopback() {
        let url = |a: &str| local_url(a.parse().unwrap());
        assert_eq!(url("127.0.0.1:3000"), "http://127.0.0.1:3000");
        assert_eq!(url("192.168.1.20:8080"), "http://192.168.1.20:8080");
        assert_eq!(url("0.0.0.0:8080"), "http://127.0.0.1:8080");
        assert_eq!(url("[::]:8080"), "http://[::1]:8080");
        assert_eq!(url("[2001:db8::1]:80"), "http://[2001:db8::1]:80");
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn trusted_proxies_are_addresses_or_ranges() {
        let proxies = TrustedProxies::parse(" 10.0.0.0/8, 192.0.2.7 ,::1").unwrap();
        assert!(proxies.contains(ip("10.1.2.3")));
        assert!(proxies.contains(ip("192.0.2.7")));
        assert!(proxies.contains(ip("::1")));
        // An IPv4 address seen through an IPv6 socket is the same address.
        assert!(proxies.contains(ip("::ffff:192.0.2.7")));
        assert!(!proxies.contains(ip("192.0.2.8")));
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("proxy.example").is_err());
    }

    #[test]
    fn links_in_emails_use_the_base_url_or_the_bound_address() {
        let mut config = Config::for_tests();
        config.bind = "127.0.0.1:3000".parse().expect("an address");
        assert_eq!(config.public_base_url(), "http://127.0.0.1:3000");
        config.bind = "0.0.0.0:8080".parse().expect("an address");
        assert_eq!(config.public_base_url(), "http://127.0.0.1:8080");
        config.base_url = Some("https://medopt.example.nhs.uk/".into());
        assert_eq!(config.public_base_url(), "https://medopt.example.nhs.uk");
    }
}
