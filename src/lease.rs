//! Ownership by lease, the first part of running a room on several instances: whoever holds
//! a room's lease in Redis conducts it; the lease expires unless its holder renews it, so
//! another instance can take over after the holder dies.
//!
//! - Taking a lease is one `SET key token NX PX ttl` (in a script with the fence below): it
//!   succeeds for one instance only, and only while nobody holds it.
//! - Every lease taken gets a **fence**: a number from a counter that only grows (`INCR`),
//!   part of the token. A holder's writes carry it, so records can refuse a write from an
//!   older holder (one that lost its lease without knowing it yet).
//! - Renewing and releasing check the token first (in a script), so a holder can never renew
//!   or delete a lease that expired and was taken by someone else.
//! - [`Held`] renews a lease in the background at a third of its time to live, and counts it
//!   **lost** the moment it cannot be sure it still holds it: a renewal refused, or no
//!   successful renewal for the time to live less a safety margin (Redis unreachable from
//!   this instance: the lease may already be someone else's). The holder must stop writing
//!   as soon as [`Held::lost`] says so.

use crate::redis_conn::Redis;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// Takes the lease and its fence at once: `nil` when it is held.
const ACQUIRE: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 1 then return nil end
local fence = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. fence, 'PX', ARGV[2])
return fence
"#;

/// Renews the lease if the caller still holds it: 1, else 0.
const RENEW: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"#;

/// Releases the lease if the caller still holds it: 1, else 0.
const RELEASE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"#;

/// The leases of one instance.
#[derive(Clone)]
pub struct Leases {
    redis: Redis,
    /// This instance's id, part of every token it holds.
    instance: String,
    /// Where keepers run: the runtime `Leases` was made on (the server's multi-threaded one),
    /// not the HTTP worker that happened to take a lease. A worker busy with thousands of
    /// sockets (every phone rejoining after a takeover) delayed renewals past the lease's
    /// safe window, and rooms were lost as soon as they were taken.
    runtime: tokio::runtime::Handle,
}

/// A lease taken: what names it in Redis and the fence its writes carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub name: String,
    pub fence: u64,
    pub ttl: Duration,
    token: String,
}

impl Leases {
    pub fn new(redis: Redis, instance: &str) -> Leases {
        Leases {
            redis,
            instance: instance.to_string(),
            runtime: tokio::runtime::Handle::current(),
        }
    }

    pub fn instance(&self) -> &str {
        &self.instance
    }

    fn key(&self, name: &str) -> String {
        self.redis.key(&["lease", name])
    }

    fn fence_key(&self, name: &str) -> String {
        self.redis.key(&["fence", name])
    }

    /// Takes lease `name` for `ttl` if nobody holds it.
    pub async fn acquire(&self, name: &str, ttl: Duration) -> anyhow::Result<Option<Lease>> {
        let mut con = self.redis.manager.clone();
        let script = redis::Script::new(ACQUIRE);
        let mut invocation = script.key(self.key(name));
        invocation
            .key(self.fence_key(name))
            .arg(&self.instance)
            .arg(ttl.as_millis() as u64);
        let fence: Option<u64> = self.redis.run(invocation.invoke_async(&mut con)).await?;
        Ok(fence.map(|fence| Lease {
            name: name.to_string(),
            fence,
            ttl,
            token: format!("{}:{fence}", self.instance),
        }))
    }

    /// Renews a lease still held for another `ttl`; `false` when it is no longer ours.
    pub async fn renew(&self, lease: &Lease) -> anyhow::Result<bool> {
        let mut con = self.redis.manager.clone();
        let script = redis::Script::new(RENEW);
        let mut invocation = script.key(self.key(&lease.name));
        invocation
            .arg(&lease.token)
            .arg(lease.ttl.as_millis() as u64);
        let renewed: i64 = self.redis.run(invocation.invoke_async(&mut con)).await?;
        Ok(renewed == 1)
    }

    /// Gives a lease back (a room closed, the instance shutting down); `false` when it was
    /// no longer ours.
    pub async fn release(&self, lease: &Lease) -> anyhow::Result<bool> {
        let mut con = self.redis.manager.clone();
        let script = redis::Script::new(RELEASE);
        let mut invocation = script.key(self.key(&lease.name));
        invocation.arg(&lease.token);
        let released: i64 = self.redis.run(invocation.invoke_async(&mut con)).await?;
        Ok(released == 1)
    }

    /// Who holds lease `name`: the instance and its fence.
    pub async fn holder(&self, name: &str) -> anyhow::Result<Option<(String, u64)>> {
        let mut con = self.redis.manager.clone();
        let token: Option<String> = self
            .redis
            .run(redis::cmd("GET").arg(self.key(name)).query_async(&mut con))
            .await?;
        Ok(token.and_then(|t| {
            let (instance, fence) = t.rsplit_once(':')?;
            Some((instance.to_string(), fence.parse().ok()?))
        }))
    }

    /// Takes lease `name` and keeps it renewed until it is lost or the [`Held`] dropped.
    pub async fn hold(&self, name: &str, ttl: Duration) -> anyhow::Result<Option<Held>> {
        let Some(lease) = self.acquire(name, ttl).await? else {
            return Ok(None);
        };
        let lost = Arc::new(AtomicBool::new(false));
        let (stop, mut stopped) = watch::channel(false);
        let (tx, rx) = watch::channel(false);
        let keeper = {
            let leases = self.clone();
            let lease = lease.clone();
            let lost = lost.clone();
            async move {
                // Safe until this instant: the last renewal that Redis confirmed, plus the time
                // to live, less a margin for clocks and the way back.
                let margin = ttl / 5;
                let mut safe_until = Instant::now() + ttl - margin;
                let every = ttl / 3;
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(every) => {}
                        _ = tokio::time::sleep_until(safe_until) => {
                            break;
                        }
                        _ = stopped.changed() => {
                            let _ = leases.release(&lease).await;
                            return;
                        }
                    }
                    let asked = Instant::now();
                    match leases.renew(&lease).await {
                        Ok(true) => safe_until = asked + ttl - margin,
                        Ok(false) => break,
                        Err(e) => {
                            tracing::warn!(lease = %lease.name, error = %e, "lease not renewed");
                        }
                    }
                    if Instant::now() >= safe_until {
                        break;
                    }
                }
                lost.store(true, Ordering::Release);
                let _ = tx.send(true);
                tracing::warn!(lease = %lease.name, fence = lease.fence, "lease lost");
            }
        };
        self.runtime.spawn(keeper);
        Ok(Some(Held {
            lease,
            lost,
            lost_rx: rx,
            _stop: stop,
        }))
    }
}

/// A lease kept renewed in the background. Dropping it releases the lease.
pub struct Held {
    pub lease: Lease,
    lost: Arc<AtomicBool>,
    lost_rx: watch::Receiver<bool>,
    /// Dropped with the `Held`: the keeper releases the lease and ends.
    _stop: watch::Sender<bool>,
}

impl Held {
    /// Whether the lease may be someone else's by now: stop writing.
    pub fn lost(&self) -> bool {
        self.lost.load(Ordering::Acquire)
    }

    /// Resolves once the lease is lost.
    pub async fn until_lost(&self) {
        let mut rx = self.lost_rx.clone();
        let _ = rx.wait_for(|lost| *lost).await;
    }

    pub fn fence(&self) -> u64 {
        self.lease.fence
    }

    /// A receiver that turns `true` once the lease is lost (for a `select!` beside other work).
    pub fn watch(&self) -> watch::Receiver<bool> {
        self.lost_rx.clone()
    }
}
