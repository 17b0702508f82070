//! The one Redis connection of a process: a `ConnectionManager` (cheap to clone, reconnects
//! by itself) for commands, the client for pub/sub, and the key prefix that keeps this
//! deployment's keys (or one test's) apart from everything else in the same Redis.
//!
//! Redis holds only what the records can rebuild, so its outage must not stop anything.
//! Every command goes through [`Redis::run`]: it gets a short timeout, and after a failure
//! Redis counts as *down* — further commands fail at once, without waiting — while one probe
//! pings it every second. When the probe gets an answer Redis is *up* again and the
//! recovery counter ([`Redis::recoveries`]) moves, so owners of boards can rebuild them.

use anyhow::Context;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// The longest a command may take before Redis counts as down.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(1);
/// How often a down Redis is probed.
const PROBE_EVERY: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct Redis {
    pub client: redis::Client,
    pub manager: ConnectionManager,
    /// Prepended to every key and channel, e.g. `biwu:`.
    pub prefix: String,
    health: Arc<Health>,
}

struct Health {
    down: AtomicBool,
    probing: AtomicBool,
    reason: Mutex<Option<String>>,
    /// Counts recoveries (down → up).
    recoveries: watch::Sender<u64>,
}

impl Redis {
    /// Prepares the connection without waiting for Redis: the server starts while Redis is
    /// away and uses it once it answers. Only an invalid address is an error.
    pub async fn connect(url: &str, prefix: &str) -> anyhow::Result<Redis> {
        let client =
            redis::Client::open(url).with_context(|| format!("无效的 Redis 地址 {url}"))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(COMMAND_TIMEOUT))
            .set_response_timeout(Some(COMMAND_TIMEOUT))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(200));
        let manager = ConnectionManager::new_lazy_with_config(client.clone(), config)
            .with_context(|| format!("无法准备 Redis 连接 {url}"))?;
        let redis = Redis {
            client,
            manager,
            prefix: prefix.to_string(),
            health: Arc::new(Health {
                down: AtomicBool::new(false),
                probing: AtomicBool::new(false),
                reason: Mutex::new(None),
                recoveries: watch::Sender::new(0),
            }),
        };
        // Know at once whether it answers (for the start-up message and /healthz).
        let _ = redis.ping().await;
        Ok(redis)
    }

    pub fn key(&self, parts: &[&str]) -> String {
        let mut k = self.prefix.clone();
        k.push_str(&parts.join(":"));
        k
    }

    /// Runs one command (or pipeline) with the timeout; fails at once while Redis is down.
    pub async fn run<T>(
        &self,
        command: impl Future<Output = redis::RedisResult<T>>,
    ) -> anyhow::Result<T> {
        if let Some(reason) = self.down_reason() {
            anyhow::bail!("Redis 暂不可用：{reason}");
        }
        match tokio::time::timeout(COMMAND_TIMEOUT, command).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                self.fell(format!("{e}"));
                Err(e.into())
            }
            Err(_) => {
                self.fell(format!("命令超过 {} ms 未答", COMMAND_TIMEOUT.as_millis()));
                anyhow::bail!("Redis 命令超时")
            }
        }
    }

    /// `PING`, through [`Redis::run`].
    pub async fn ping(&self) -> anyhow::Result<()> {
        let mut con = self.manager.clone();
        self.run(redis::cmd("PING").query_async::<()>(&mut con))
            .await
    }

    /// Why Redis counts as down, or `None` when it is up.
    pub fn down_reason(&self) -> Option<String> {
        if !self.health.down.load(Ordering::Acquire) {
            return None;
        }
        let reason = self.health.reason.lock().unwrap_or_else(|p| p.into_inner());
        Some(reason.clone().unwrap_or_else(|| "连接中断".into()))
    }

    /// Moves by one each time Redis comes back after being down.
    pub fn recoveries(&self) -> watch::Receiver<u64> {
        self.health.recoveries.subscribe()
    }

    /// Marks Redis down and starts the probe (once).
    fn fell(&self, reason: String) {
        tracing::warn!(%reason, "Redis unavailable: boards fall back to the records");
        *self.health.reason.lock().unwrap_or_else(|p| p.into_inner()) = Some(reason);
        self.health.down.store(true, Ordering::Release);
        if self.health.probing.swap(true, Ordering::AcqRel) {
            return;
        }
        let redis = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(PROBE_EVERY).await;
                let mut con = redis.manager.clone();
                let answer = tokio::time::timeout(
                    COMMAND_TIMEOUT,
                    redis::cmd("PING").query_async::<()>(&mut con),
                )
                .await;
                if let Ok(Ok(())) = answer {
                    break;
                }
            }
            // Probing ends before "up": a failure in between starts a new probe, never none.
            redis.health.probing.store(false, Ordering::Release);
            redis.health.down.store(false, Ordering::Release);
            *redis
                .health
                .reason
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = None;
            redis.health.recoveries.send_modify(|n| *n += 1);
            tracing::info!("Redis answers again: boards are rebuilt from the records");
        });
    }
}
