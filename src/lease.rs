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
//!   **lost** the moment it cannot be sure it still holds it: a renewal refused, no
//!   successful renewal for the time to live less a safety margin (Redis unreachable from
//!   this instance: the lease may already be someone else's), or its presence gone (below).
//!   The holder must stop writing as soon as [`Held::lost`] says so.
//! - **Presence.** Every instance keeps one pub/sub connection subscribed to a channel of its
//!   own (`alive:{instance}`), on which nobody publishes. Redis drops that subscription the
//!   moment the connection closes, and a process that dies (kill -9, a crash) has its
//!   connections closed by its kernel at once. So a lease whose holder has no subscriber on
//!   its channel belongs to a dead instance: [`Leases::holder`] does not name it, and
//!   [`Leases::acquire`] takes it over without waiting for it to expire. Expiry stays the
//!   fallback for what Redis cannot see (a holder cut off by the network keeps its
//!   connection open on Redis's side until it expires). The holder's side is the mirror of
//!   it: an instance whose presence connection ends counts every lease it holds lost at once,
//!   since another instance may take them from that moment; and it takes no lease while it
//!   is not present. A takeover too early is harmless to the records, whose every write is
//!   fenced.

use crate::redis_conn::Redis;
use futures_util::StreamExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// Takes the lease and its fence at once: `nil` when it is held by an instance still present
/// (ARGV[3]: the presence channels' prefix).
const ACQUIRE: &str = r#"
local t = redis.call('GET', KEYS[1])
if t then
  local holder = string.match(t, '^(.*):%d+$')
  if holder and redis.call('PUBSUB', 'NUMSUB', ARGV[3] .. holder)[2] > 0 then return nil end
end
local fence = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. fence, 'PX', ARGV[2])
return fence
"#;

/// The lease's token if its holder is still present (ARGV[1]: the presence channels' prefix).
const HOLDER: &str = r#"
local t = redis.call('GET', KEYS[1])
if not t then return nil end
local holder = string.match(t, '^(.*):%d+$')
if holder and redis.call('PUBSUB', 'NUMSUB', ARGV[1] .. holder)[2] > 0 then return t end
return nil
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
    /// Whether this instance's presence subscription is up (see the module's notes).
    present: watch::Receiver<bool>,
}

/// How long [`Leases::acquire`] waits for this instance's presence before it gives up.
const PRESENCE_WAIT: Duration = Duration::from_secs(1);
/// The pause before a presence connection that ended is opened again.
const PRESENCE_RETRY: Duration = Duration::from_millis(100);

/// A lease taken: what names it in Redis and the fence its writes carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub name: String,
    pub fence: u64,
    pub ttl: Duration,
    token: String,
    /// When it was asked for: it lasts `ttl` from a moment after this, never before.
    asked: Instant,
}

impl Leases {
    /// The leases of `instance`; its presence connection opens in the background (no lease is
    /// taken before it is up) and is kept open while any clone of these leases lives.
    pub fn new(redis: Redis, instance: &str) -> Leases {
        let (tx, present) = watch::channel(false);
        let channel = presence_channel(&redis, instance);
        tokio::spawn(keep_present(redis.client.clone(), channel, tx));
        Leases {
            redis,
            instance: instance.to_string(),
            runtime: tokio::runtime::Handle::current(),
            present,
        }
    }

    /// Whether this instance's presence connection is up.
    pub fn present(&self) -> bool {
        *self.present.borrow()
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

    /// Takes lease `name` for `ttl` if nobody holds it, or if its holder is gone (no longer
    /// present). Fails while this instance itself is not present.
    pub async fn acquire(&self, name: &str, ttl: Duration) -> anyhow::Result<Option<Lease>> {
        let mut present = self.present.clone();
        let up = async { present.wait_for(|p| *p).await.is_ok() };
        if !tokio::time::timeout(PRESENCE_WAIT, up)
            .await
            .unwrap_or(false)
        {
            anyhow::bail!("instance {} is not present on Redis", self.instance);
        }
        let mut con = self.redis.manager.clone();
        let asked = Instant::now();
        let script = redis::Script::new(ACQUIRE);
        let mut invocation = script.key(self.key(name));
        invocation
            .key(self.fence_key(name))
            .arg(&self.instance)
            .arg(ttl.as_millis() as u64)
            .arg(presence_channel(&self.redis, ""));
        let fence: Option<u64> = self.redis.run(invocation.invoke_async(&mut con)).await?;
        Ok(fence.map(|fence| Lease {
            name: name.to_string(),
            fence,
            ttl,
            token: format!("{}:{fence}", self.instance),
            asked,
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

    /// Who holds lease `name`: the instance and its fence. A holder no longer present (a
    /// dead instance) holds nothing: its lease is for the taking.
    pub async fn holder(&self, name: &str) -> anyhow::Result<Option<(String, u64)>> {
        let mut con = self.redis.manager.clone();
        let script = redis::Script::new(HOLDER);
        let mut invocation = script.key(self.key(name));
        invocation.arg(presence_channel(&self.redis, ""));
        let token: Option<String> = self.redis.run(invocation.invoke_async(&mut con)).await?;
        Ok(token.and_then(|t| {
            let (instance, fence) = t.rsplit_once(':')?;
            Some((instance.to_string(), fence.parse().ok()?))
        }))
    }

    /// Resolves once `owner` no longer holds lease `name` under `fence` (another holder or
    /// fence, none, `owner` gone from Redis, or the lease unreadable), checked every `every`. The checks run on the
    /// leases' runtime, not on the caller's: a relay on an HTTP worker busy with a storm of
    /// reconnecting sockets still learns at once that the room's owner died.
    pub fn until_not_held_by(
        &self,
        name: &str,
        owner: &str,
        fence: u64,
        every: Duration,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        let (mut tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (leases, name, owner) = (self.clone(), name.to_string(), owner.to_string());
        self.runtime.spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    // Nobody waits any more.
                    _ = tx.closed() => return,
                }
                match leases.holder(&name).await {
                    Ok(Some((holder, f))) if holder == owner && f == fence => {}
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(lease = %name, error = %e, "lease unreadable");
                        break;
                    }
                }
            }
            let _ = tx.send(());
        });
        async move {
            let _ = rx.await;
        }
    }

    /// Takes lease `name` and keeps it renewed until it is lost or the [`Held`] dropped.
    pub async fn hold(&self, name: &str, ttl: Duration) -> anyhow::Result<Option<Held>> {
        let Some(lease) = self.acquire(name, ttl).await? else {
            return Ok(None);
        };
        let lost = Arc::new(AtomicBool::new(false));
        let (stop, mut stopped) = watch::channel(false);
        let (tx, rx) = watch::channel(false);
        let mut present = self.present.clone();
        let keeper = {
            let leases = self.clone();
            let lease = lease.clone();
            let lost = lost.clone();
            async move {
                // Safe until this instant: the last renewal that Redis confirmed (at first, the
                // acquisition: counted from when it was asked for, however late this keeper
                // starts), plus the time to live, less a margin for clocks and the way back.
                let margin = ttl / 5;
                let mut safe_until = lease.asked + ttl - margin;
                let every = ttl / 3;
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(every) => {}
                        _ = tokio::time::sleep_until(safe_until) => {
                            break;
                        }
                        // Others may take the lease from now on.
                        _ = async { drop(present.wait_for(|p| !*p).await) } => {
                            tracing::warn!(lease = %lease.name, "presence lost");
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

fn presence_channel(redis: &Redis, instance: &str) -> String {
    redis.key(&["alive", instance])
}

/// Keeps this instance's presence subscription open (reopening it when it ends) and says
/// whether it is up, until every receiver is gone.
async fn keep_present(client: redis::Client, channel: String, tx: watch::Sender<bool>) {
    loop {
        let opened = tokio::time::timeout(PRESENCE_WAIT, async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            Ok::<_, redis::RedisError>(pubsub)
        })
        .await;
        match opened {
            Ok(Ok(pubsub)) => {
                tx.send_replace(true);
                // Nobody publishes on it: the stream ends when the connection does.
                let mut messages = pubsub.into_on_message();
                tokio::select! {
                    _ = async { while messages.next().await.is_some() {} } => {
                        tracing::warn!(%channel, "presence connection ended");
                    }
                    _ = tx.closed() => return,
                }
                tx.send_replace(false);
            }
            Ok(Err(e)) => tracing::debug!(%channel, error = %e, "presence not opened"),
            Err(_) => tracing::debug!(%channel, "presence not opened in time"),
        }
        tokio::select! {
            _ = tokio::time::sleep(PRESENCE_RETRY) => {}
            _ = tx.closed() => return,
        }
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
