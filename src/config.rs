//! Settings: every option is a flag, an environment variable and a default, so
//! `biwu` with no configuration runs on embedded defaults (SQLite file, in-process board).

use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Address to listen on.
    #[arg(long, env = "BIWU_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,

    /// Records database: sqlite://PATH (file and folder created) or postgres://…
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://data/biwu.db")]
    pub database_url: String,

    /// Redis for leaderboards and the event bus; without it both run in-process.
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,

    /// Prefix of every Redis key and channel, to share one Redis between deployments.
    #[arg(long, env = "BIWU_REDIS_PREFIX", default_value = "biwu:")]
    pub redis_prefix: String,

    /// The question bank folder, synced into the records on start. Without it: the folder
    /// `question-bank` here when there is one, else the bank built into the binary.
    #[arg(long, env = "BIWU_BANK_DIR")]
    pub bank_dir: Option<PathBuf>,

    /// Seed a fictitious organisation to try biwu with (idempotent).
    #[arg(long, env = "BIWU_DEMO", default_value_t = false)]
    pub demo: bool,

    /// Mark the session cookie Secure (serve behind HTTPS).
    #[arg(long, env = "BIWU_SECURE_COOKIES", default_value_t = false)]
    pub secure_cookies: bool,

    /// The address phones use to reach biwu (e.g. https://biwu.example.gov.cn or
    /// http://192.168.1.20:8080): the base of every join link and QR code. Without it, links
    /// use the address the host's browser used.
    #[arg(long, env = "BIWU_PUBLIC_URL", value_parser = parse_public_url)]
    pub public_url: Option<String>,

    /// Addresses allowed to read /metrics (comma-separated); without it, anyone can.
    #[arg(long, env = "BIWU_METRICS_ALLOW", value_delimiter = ',')]
    pub metrics_allow: Option<Vec<std::net::IpAddr>>,

    /// Reverse proxies whose `X-Forwarded-For` names the client (comma-separated addresses).
    /// Without it the header is ignored and the client is the connecting address — behind an
    /// unlisted proxy every request then seems to come from the proxy.
    #[arg(long, env = "BIWU_TRUSTED_PROXY", value_delimiter = ',')]
    pub trusted_proxy: Vec<std::net::IpAddr>,

    /// Seconds a live room with no screen connected and no running clock stays in memory
    /// (it is loaded again from the records when someone connects).
    #[arg(long, env = "BIWU_ROOM_IDLE_SECS", default_value_t = 300)]
    pub room_idle_secs: u64,

    /// A listener of its own for the team devices of stage finals (e.g. 0.0.0.0:8081): one
    /// worker that does nothing but read buzzes, so a buzz is stamped the moment it arrives
    /// even while the audience's phones keep the main workers busy. Without it, team devices
    /// use the main address.
    #[arg(long, env = "BIWU_BUZZER_BIND")]
    pub buzzer_bind: Option<String>,

    /// Several instances share the records and Redis (needs --redis-url): each live room is
    /// conducted by the instance holding its lease in Redis, and taken over by another once
    /// that instance died. Redis is then needed to conduct rooms, not only a cache.
    #[arg(long, env = "BIWU_CLUSTER", default_value_t = false)]
    pub cluster: bool,

    /// With --cluster: how long (ms) a room's lease lasts without renewal (renewed at a third
    /// of this); a dead instance's rooms are taken over after it.
    #[arg(long, env = "BIWU_LEASE_MS", default_value_t = 2000)]
    pub lease_ms: u64,
}

/// `http(s)://host[:port][/path]`, without a trailing slash.
pub fn parse_public_url(s: &str) -> Result<String, String> {
    let t = s.trim().trim_end_matches('/');
    let rest = t
        .strip_prefix("http://")
        .or_else(|| t.strip_prefix("https://"))
        .ok_or_else(|| format!("公开地址「{s}」应以 http:// 或 https:// 开头"))?;
    if rest.is_empty() || rest.starts_with('/') || rest.contains(char::is_whitespace) {
        return Err(format!("公开地址「{s}」缺少主机名"));
    }
    Ok(t.to_string())
}

/// Whether a URL or `host[:port]` names this machine only (a phone cannot reach it).
pub fn is_loopback(url_or_host: &str) -> bool {
    let rest = url_or_host.split("://").nth(1).unwrap_or(url_or_host);
    let host = rest.split('/').next().unwrap_or(rest);
    let host = if let Some(h) = host.strip_prefix('[') {
        h.split(']').next().unwrap_or(h)
    } else {
        host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host)
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl Settings {
    /// Defaults, as a fresh `biwu serve` would have them without flags or environment.
    pub fn defaults() -> Settings {
        Settings {
            bind: "127.0.0.1:8080".into(),
            database_url: "sqlite://data/biwu.db".into(),
            redis_url: None,
            redis_prefix: "biwu:".into(),
            bank_dir: None,
            demo: false,
            secure_cookies: false,
            public_url: None,
            metrics_allow: None,
            trusted_proxy: Vec::new(),
            room_idle_secs: 300,
            buzzer_bind: None,
            cluster: false,
            lease_ms: 2000,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_urls_are_checked_and_loopback_is_recognised() {
        assert_eq!(
            parse_public_url("http://192.168.1.20:8080/").as_deref(),
            Ok("http://192.168.1.20:8080")
        );
        assert!(parse_public_url("192.168.1.20").is_err());
        assert!(parse_public_url("https://").is_err());
        assert!(is_loopback("http://127.0.0.1:8080"));
        assert!(is_loopback("localhost:8080"));
        assert!(is_loopback("http://[::1]:8080/x"));
        assert!(!is_loopback("http://192.168.1.20:8080"));
        assert!(!is_loopback("https://biwu.example.gov.cn"));
    }
}
