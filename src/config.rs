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

    /// The question bank folder, synced into the records on start.
    #[arg(long, env = "BIWU_BANK_DIR", default_value = "question-bank")]
    pub bank_dir: PathBuf,

    /// Seed a fictitious organisation to try biwu with (idempotent).
    #[arg(long, env = "BIWU_DEMO", default_value_t = false)]
    pub demo: bool,

    /// Mark the session cookie Secure (serve behind HTTPS).
    #[arg(long, env = "BIWU_SECURE_COOKIES", default_value_t = false)]
    pub secure_cookies: bool,
}

impl Settings {
    /// Defaults, as a fresh `biwu serve` would have them without flags or environment.
    pub fn defaults() -> Settings {
        Settings {
            bind: "127.0.0.1:8080".into(),
            database_url: "sqlite://data/biwu.db".into(),
            redis_url: None,
            redis_prefix: "biwu:".into(),
            bank_dir: PathBuf::from("question-bank"),
            demo: false,
            secure_cookies: false,
        }
    }
}
