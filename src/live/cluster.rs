//! One room across instances: the owner's *bridge* and the other instances' *proxies*.
//!
//! The instance holding a room's lease conducts it (its owner). A socket of that room that
//! arrives on another instance joins a local proxy, which looks to the socket's task like the
//! room itself (a [`RoomHandle`]): the proxy forwards the socket's commands to the owner and
//! pushes the owner's frames into its sockets. Between them, the bus (Redis pub/sub):
//!
//! - `room:{id}:in` — commands from every proxy to the owner's bridge, each message a batch
//!   from one instance. One publisher per proxy, so a socket's commands arrive in the order
//!   it sent them.
//! - `room:{id}:to:{instance}` — what the owner has for the sockets on that instance: frames
//!   (a broadcast frame once per instance with the list of its recipients, so it is
//!   serialised once per instance, not per socket), closes, and the replies to joins and
//!   host commands.
//!
//! Pub/sub, not streams: a command is never acknowledged by the bus but by the room, and
//! every effect that must last is in the records before its acknowledgement (an answer's
//! `ack`, a host command's reply). What a dying owner never saw was never acknowledged, so
//! the client sends it again where it reconnects. The proxy watches the lease: when the owner
//! it relays for no longer holds it (or is gone from Redis), the proxy closes its sockets
//! (1012), and they come back through whichever instance now conducts the room.

use super::protocol::{ClientRole, ErrorCode};
use super::relay::{Batch, Relay, RelayKey};
use super::room::{Command, Frame, HostCmd, Kick, Outbox, PlayerAuth, Refusal, RoomHandle};
use crate::bus::{Bus, Subscription};
use crate::domain::Response;
use crate::lease::Leases;
use actix_ws::{CloseCode, CloseReason};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// How often a proxy says it is alive and re-sends joins not yet answered.
pub(crate) const TICK: Duration = Duration::from_millis(250);
/// How often a proxy's watcher checks that the owner it relays for still holds the lease.
pub(crate) const WATCH: Duration = Duration::from_millis(100);
/// A join the owner has not answered after this long is refused.
pub(crate) const JOIN_WAIT: Duration = Duration::from_secs(5);
/// A host command the owner has not answered after this long fails.
const HOST_WAIT: Duration = Duration::from_secs(10);
/// The owner forgets the sockets of an instance it has not heard from for this long.
const SILENT: Duration = Duration::from_secs(5);
/// A proxy with no socket left ends after this long.
pub(crate) const IDLE: Duration = Duration::from_secs(30);
/// Messages taken together into one publication.
const COALESCE: usize = 256;

fn inbox(competition: &str) -> String {
    format!("room:{competition}:in")
}

fn outbox_topic(competition: &str, instance: &str) -> String {
    format!("room:{competition}:to:{instance}")
}

/// From a proxy to the owner: a batch of one instance's commands, in the order sent,
/// addressed to the conductor holding the lease under `fence`. A bridge takes only what is
/// addressed to it: a proxy still relaying for an owner that died must not reach the next
/// one, whose ids for the sockets are not the dead one's.
#[derive(Serialize, Deserialize)]
pub(crate) struct Envelope<T> {
    pub from: String,
    pub fence: u64,
    pub items: Vec<T>,
}

/// Ids of this process's relayed sockets and requests: unique across its proxies, so a proxy
/// started after another one for the same owner never repeats an id the owner already took.
pub(crate) fn next_local() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// The owner's ear on a room's inbox, opened as soon as it took the lease: what proxies send
/// while the room loads waits there, and the joins among it are answered the moment the room
/// is ready, not at the proxies' next resend.
pub async fn listen(bus: &Bus, competition: &str) -> anyhow::Result<Subscription> {
    bus.subscribe(&inbox(competition)).await
}

#[derive(Serialize, Deserialize)]
enum Up {
    Join {
        local: u64,
        role: ClientRole,
        player: Option<PlayerAuth>,
        join_url: Option<String>,
    },
    Leave {
        client: u64,
    },
    Answer {
        client: u64,
        position: u32,
        response: Response,
    },
    Host {
        req: u64,
        actor: String,
        cmd: HostCmd,
    },
    Alive,
}

/// From the owner to the proxy of one instance (of a live room, or of a stage final).
#[derive(Serialize, Deserialize)]
pub(crate) enum Down {
    /// Each frame with the sockets (the proxy's ids) it is for.
    Frames(Vec<(Vec<u64>, String)>),
    Close {
        to: u64,
        code: u16,
        reason: Option<String>,
    },
    Joined {
        local: u64,
        result: Result<u64, Refusal>,
    },
    Hosted {
        req: u64,
        result: Result<(), Refusal>,
    },
    /// A stage final's socket is seated (its conductor's id for it), or refused (code, why).
    Seated {
        local: u64,
        result: Result<u64, (String, String)>,
    },
}

/// Publishes what one task queues, in order, many messages to a publication.
pub(crate) fn publisher<T: Serialize + Send + 'static>(
    bus: Bus,
    topic: String,
    wrap: impl Fn(Vec<T>) -> Vec<u8> + Send + 'static,
) -> mpsc::UnboundedSender<T> {
    let (tx, mut rx) = mpsc::unbounded_channel::<T>();
    tokio::spawn(async move {
        let mut items = Vec::new();
        while rx.recv_many(&mut items, COALESCE).await > 0 {
            let payload = Bytes::from(wrap(std::mem::take(&mut items)));
            if let Err(e) = bus.publish(&topic, payload).await {
                tracing::warn!(%topic, error = %e, "relay: publish failed");
            }
        }
    });
    tx
}

/// The owner's way to the sockets of one other instance. Frames pushed through it keep
/// their order (one queue, one publisher).
#[derive(Clone)]
pub struct Link {
    tx: mpsc::UnboundedSender<Down>,
    id: Arc<()>,
}

impl Link {
    fn new(bus: &Bus, competition: &str, instance: &str) -> Link {
        Link::on(bus, outbox_topic(competition, instance))
    }

    /// A link publishing on `topic`, which the other instance's proxy reads.
    pub(crate) fn on(bus: &Bus, topic: String) -> Link {
        let tx = publisher(bus.clone(), topic, |items| {
            serde_json::to_vec(&items).expect("relay frames serialise")
        });
        Link {
            tx,
            id: Arc::new(()),
        }
    }

    /// One frame for one socket there; `false` once the link is gone.
    pub fn frame(&self, to: u64, f: Frame) -> bool {
        self.tx
            .send(Down::Frames(vec![(vec![to], f.to_string())]))
            .is_ok()
    }

    /// A batch from the room: each distinct frame once, with its recipients.
    pub fn batch(&self, items: Batch) -> bool {
        let mut groups: Vec<(Vec<u64>, String)> = Vec::new();
        let mut index: HashMap<*const u8, usize> = HashMap::new();
        for (_, out, f) in items {
            let Some(to) = out.remote_to() else { continue };
            let i = *index.entry(f.as_ptr()).or_insert_with(|| {
                groups.push((Vec::new(), f.to_string()));
                groups.len() - 1
            });
            groups[i].0.push(to);
        }
        self.tx.send(Down::Frames(groups)).is_ok()
    }

    pub(crate) fn send(&self, d: Down) {
        let _ = self.tx.send(d);
    }

    pub fn key(&self) -> RelayKey {
        RelayKey::Remote(Arc::as_ptr(&self.id) as usize)
    }
}

/// Takes out of `remotes` the instances not heard from for [`SILENT`]: their sockets leave.
pub(crate) fn take_silent<R>(
    remotes: &mut HashMap<String, R>,
    heard: impl Fn(&R) -> Instant,
) -> Vec<(String, R)> {
    let silent: Vec<String> = remotes
        .iter()
        .filter(|(_, r)| heard(r).elapsed() > SILENT)
        .map(|(k, _)| k.clone())
        .collect();
    silent
        .into_iter()
        .filter_map(|k| remotes.remove_entry(&k))
        .collect()
}

/// What the owner knows of another instance's sockets.
struct Remote {
    link: Link,
    heard: Instant,
    /// The room's client ids of its sockets.
    clients: Vec<u64>,
    /// Its sockets (the proxy's ids) already joined, so a join sent again is taken once.
    joined: std::collections::HashSet<u64>,
}

/// The owner's side: takes the commands of other instances' sockets (from `sub`, see
/// [`listen`]) to the room conducted under `fence`, until the room ends.
pub fn spawn_bridge(bus: Bus, mut sub: Subscription, fence: u64, room: RoomHandle) {
    let competition = room.competition_id.clone();
    tokio::spawn(async move {
        let mut remotes: HashMap<String, Remote> = HashMap::new();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let (joined_tx, mut joined_rx) = mpsc::unbounded_channel::<(String, u64)>();
        loop {
            tokio::select! {
                msg = sub.recv() => {
                    let Some(msg) = msg else { break };
                    let env: Envelope<Up> = match serde_json::from_slice(&msg) {
                        Ok(e) => e,
                        Err(e) => {
                            tracing::warn!(room = %competition, error = %e, "relay: unreadable command batch");
                            continue;
                        }
                    };
                    if env.fence != fence {
                        continue;
                    }
                    let remote = remotes.entry(env.from.clone()).or_insert_with(|| Remote {
                        link: Link::new(&bus, &competition, &env.from),
                        heard: Instant::now(),
                        clients: Vec::new(),
                        joined: Default::default(),
                    });
                    remote.heard = Instant::now();
                    for up in env.items {
                        if bridge_one(&room, &env.from, remote, up, &joined_tx).await.is_err() {
                            return;
                        }
                    }
                }
                Some((from, client)) = joined_rx.recv() => {
                    if let Some(r) = remotes.get_mut(&from) {
                        r.clients.push(client);
                    }
                }
                _ = tick.tick() => {
                    if room.is_closed() {
                        break;
                    }
                    for (from, r) in take_silent(&mut remotes, |r| r.heard) {
                        tracing::info!(room = %competition, instance = %from, sockets = r.clients.len(), "relay: instance silent; its sockets leave");
                        for client in r.clients {
                            let _ = room.send(Command::Leave { client }).await;
                        }
                    }
                }
            }
        }
    });
}

/// One command of another instance's socket; `Err` once the room is gone.
async fn bridge_one(
    room: &RoomHandle,
    from: &str,
    remote: &mut Remote,
    up: Up,
    joined: &mpsc::UnboundedSender<(String, u64)>,
) -> Result<(), Refusal> {
    match up {
        Up::Alive => Ok(()),
        Up::Join {
            local,
            role,
            player,
            join_url,
        } => {
            if !remote.joined.insert(local) {
                return Ok(());
            }
            let link = remote.link.clone();
            let (kick, kicked): (Kick, _) = oneshot::channel();
            let (reply, answer) = oneshot::channel();
            room.send(Command::Join {
                role,
                player,
                join_url,
                out: Outbox::remote(link.clone(), local),
                relay: Relay::remote(link.clone()),
                kick,
                reply,
            })
            .await?;
            let (from, joined) = (from.to_string(), joined.clone());
            tokio::spawn(async move {
                let result = answer
                    .await
                    .unwrap_or_else(|_| Err((ErrorCode::Internal, "比赛房间不可用".into())));
                if let Ok(client) = &result {
                    let _ = joined.send((from, *client));
                }
                let ok = result.is_ok();
                link.send(Down::Joined { local, result });
                if !ok {
                    return;
                }
                // The room's word to close this socket (or the room's end).
                let reason = kicked.await.unwrap_or_else(|_| CloseReason {
                    code: CloseCode::Again,
                    description: Some("比赛房间已关闭，请重新连接".into()),
                });
                link.send(Down::Close {
                    to: local,
                    code: reason.code.into(),
                    reason: reason.description,
                });
            });
            Ok(())
        }
        Up::Leave { client } => {
            remote.clients.retain(|c| *c != client);
            room.send(Command::Leave { client }).await
        }
        Up::Answer {
            client,
            position,
            response,
        } => {
            room.send(Command::Answer {
                client,
                position,
                response,
            })
            .await
        }
        Up::Host { req, actor, cmd } => {
            let (reply, done) = oneshot::channel();
            room.send(Command::Host { actor, cmd, reply }).await?;
            let link = remote.link.clone();
            tokio::spawn(async move {
                let result = done
                    .await
                    .unwrap_or_else(|_| Err((ErrorCode::Internal, "比赛房间不可用".into())));
                link.send(Down::Hosted { req, result });
            });
            Ok(())
        }
    }
}

/// A socket on this instance, of a room conducted elsewhere.
struct Local {
    out: Outbox,
    relay: Relay,
    kick: Option<Kick>,
    /// The room's id for it, once joined.
    client: Option<u64>,
}

struct PendingJoin {
    up: (ClientRole, Option<PlayerAuth>, Option<String>),
    reply: oneshot::Sender<Result<u64, Refusal>>,
    since: Instant,
    sent: Instant,
}

/// Starts a proxy for a room conducted by `owner` under lease `fence`; its handle stands for
/// the room on this instance until the owner no longer holds the lease under that fence.
#[allow(clippy::too_many_arguments)]
pub async fn spawn_proxy(
    bus: Bus,
    leases: Leases,
    lease: String,
    (owner, fence): (String, u64),
    competition_id: &str,
    creator: String,
) -> anyhow::Result<RoomHandle> {
    let me = leases.instance().to_string();
    let mut sub = bus.subscribe(&outbox_topic(competition_id, &me)).await?;
    let (tx, mut rx) = mpsc::channel::<Command>(4096);
    let weak = tx.downgrade();
    let handle = RoomHandle::relayed(tx, competition_id.to_string(), creator);
    let from = me.clone();
    let up = publisher(bus, inbox(competition_id), move |items| {
        serde_json::to_vec(&Envelope {
            from: from.clone(),
            fence,
            items,
        })
        .expect("relay commands serialise")
    });
    let competition = competition_id.to_string();
    tokio::spawn(async move {
        let mut locals: HashMap<u64, Local> = HashMap::new();
        let mut by_client: HashMap<u64, u64> = HashMap::new();
        let mut joins: HashMap<u64, PendingJoin> = HashMap::new();
        let mut hosts: HashMap<u64, (oneshot::Sender<Result<(), Refusal>>, Instant)> =
            HashMap::new();
        let mut tick = tokio::time::interval(TICK);
        let owner_gone = leases.until_not_held_by(&lease, &owner, fence, WATCH);
        tokio::pin!(owner_gone);
        let mut last_alive = Instant::now();
        let mut last_used = Instant::now();
        let moved = || CloseReason {
            code: CloseCode::Restart,
            description: Some("比赛房间正在转移，请重新连接".into()),
        };
        loop {
            tokio::select! {
                cmd = rx.recv() => {
                    let Some(cmd) = cmd else { break };
                    match cmd {
                        Command::Join { role, player, join_url, out, relay, kick, reply } => {
                            let local = next_local();
                            locals.insert(local, Local { out, relay, kick: Some(kick), client: None });
                            let _ = up.send(Up::Join { local, role, player: player.clone(), join_url: join_url.clone() });
                            let now = Instant::now();
                            joins.insert(local, PendingJoin { up: (role, player, join_url), reply, since: now, sent: now });
                        }
                        Command::Leave { client } => {
                            if let Some(local) = by_client.remove(&client) {
                                locals.remove(&local);
                            }
                            let _ = up.send(Up::Leave { client });
                        }
                        Command::Answer { client, position, response } => {
                            let _ = up.send(Up::Answer { client, position, response });
                        }
                        Command::Host { actor, cmd, reply } => {
                            let req = next_local();
                            hosts.insert(req, (reply, Instant::now()));
                            let _ = up.send(Up::Host { req, actor, cmd });
                        }
                        // From this instance's relays: sockets that cannot keep up.
                        Command::Stalled { clients } => {
                            for local in clients {
                                if let Some(mut l) = locals.remove(&local) {
                                    if let Some(k) = l.kick.take() {
                                        let _ = k.send(CloseReason {
                                            code: CloseCode::Again,
                                            description: Some("客户端处理过慢，请重新连接".into()),
                                        });
                                    }
                                    if let Some(client) = l.client {
                                        by_client.remove(&client);
                                        let _ = up.send(Up::Leave { client });
                                    }
                                }
                            }
                        }
                        Command::Settled { .. } | Command::MirrorBoard => {}
                    }
                }
                msg = sub.recv() => {
                    let Some(msg) = msg else { break };
                    let downs: Vec<Down> = match serde_json::from_slice(&msg) {
                        Ok(d) => d,
                        Err(e) => {
                            tracing::warn!(room = %competition, error = %e, "relay: unreadable frames");
                            continue;
                        }
                    };
                    for d in downs {
                        match d {
                            Down::Frames(groups) => {
                                let mut batches: HashMap<RelayKey, (Relay, Batch)> = HashMap::new();
                                for (to, text) in groups {
                                    let f = Frame::from(text);
                                    for local in to {
                                        let Some(l) = locals.get(&local) else { continue };
                                        batches
                                            .entry(l.relay.key())
                                            .or_insert_with(|| (l.relay.clone(), Vec::new()))
                                            .1
                                            .push((local, l.out.clone(), f.clone()));
                                    }
                                }
                                for (relay, batch) in batches.into_values() {
                                    if let Err(batch) = relay.send(batch, weak.clone()) {
                                        for (_, mut out, f) in batch {
                                            out.push(f);
                                        }
                                    }
                                }
                            }
                            Down::Close { to, code, reason } => {
                                if let Some(mut l) = locals.remove(&to) {
                                    if let Some(client) = l.client {
                                        by_client.remove(&client);
                                    }
                                    if let Some(k) = l.kick.take() {
                                        let _ = k.send(CloseReason { code: CloseCode::from(code), description: reason });
                                    }
                                }
                            }
                            Down::Joined { local, result } => {
                                let Some(p) = joins.remove(&local) else { continue };
                                match &result {
                                    Ok(client) => {
                                        if let Some(l) = locals.get_mut(&local) {
                                            l.client = Some(*client);
                                            by_client.insert(*client, local);
                                        }
                                    }
                                    Err(_) => {
                                        locals.remove(&local);
                                    }
                                }
                                if p.reply.send(result).is_err()
                                    && let Some(l) = locals.remove(&local)
                                    && let Some(client) = l.client
                                {
                                    // The socket went while it waited.
                                    by_client.remove(&client);
                                    let _ = up.send(Up::Leave { client });
                                }
                            }
                            Down::Hosted { req, result } => {
                                if let Some((reply, _)) = hosts.remove(&req) {
                                    let _ = reply.send(result);
                                }
                            }
                            Down::Seated { .. } => {}
                        }
                    }
                }
                // The owner no longer conducts the room: its sockets go, to come back through
                // the new owner.
                _ = &mut owner_gone => break,
                _ = tick.tick() => {
                    let now = Instant::now();
                    if !locals.is_empty() {
                        last_used = now;
                    } else if now - last_used > IDLE {
                        break;
                    }
                    if now - last_alive >= Duration::from_secs(1) {
                        last_alive = now;
                        let _ = up.send(Up::Alive);
                    }
                    // Joins sent before the owner listened (it was loading the room) go again;
                    // the owner takes each once.
                    let expired: Vec<u64> = joins
                        .iter()
                        .filter(|(_, p)| now - p.since > JOIN_WAIT)
                        .map(|(k, _)| *k)
                        .collect();
                    for local in expired {
                        let p = joins.remove(&local).expect("listed above");
                        locals.remove(&local);
                        let _ = p.reply.send(Err((ErrorCode::Elsewhere, "主持本场比武的服务器没有回应，请稍后重新连接".into())));
                    }
                    for (local, p) in joins.iter_mut() {
                        if now - p.sent > Duration::from_millis(500) {
                            p.sent = now;
                            let (role, player, join_url) = p.up.clone();
                            let _ = up.send(Up::Join { local: *local, role, player, join_url });
                        }
                    }
                    hosts.retain(|_, (_, since)| now - *since < HOST_WAIT);
                }
            }
        }
        // The owner is gone or the instance shuts down: the sockets reconnect.
        for (_, mut l) in locals.drain() {
            if let Some(k) = l.kick.take() {
                let _ = k.send(moved());
            }
        }
        tracing::info!(room = %competition, %owner, "relay: proxy ends");
    });
    Ok(handle)
}
