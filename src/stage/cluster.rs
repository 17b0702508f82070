//! A stage final across instances, as a live room is (`live::cluster`): the instance holding
//! the final's lease (`stage:{id}`) conducts it; a socket of the final that arrives on another
//! instance — the host console, the projector, a team device, a judge, an audience phone —
//! joins that instance's *proxy*, which looks to the socket's task like the final itself (the
//! same command channels) and forwards over the bus to the owner's *bridge*:
//!
//! - `stage:{id}:in` — commands from every proxy, each message a batch from one instance, in
//!   the order its sockets sent them;
//! - `stage:{id}:to:{instance}` — the owner's frames for the sockets on that instance, and the
//!   answers to their joins.
//!
//! A buzz is stamped where the conductor's clock is: a buzz relayed from another instance is
//! stamped when the owner's bridge receives it, so it carries one more hop (a Redis round,
//! typically under a millisecond on one network) than a buzz sent to the owner directly. The
//! race stays decided by one clock and one receive order; docs/protocol.md says so.
//!
//! Everything that must last is in the records before the frame that shows it, as on one
//! instance; a command the dying owner never saw was never shown as done. The proxy watches
//! the lease: when the owner it relays for no longer holds it, the proxy ends and its sockets
//! close (1012), to come back through whichever instance conducts the final now.

use super::audience::{AudCmd, Joining};
use super::{Cmd, HostCmd, Seat};
use crate::bus::Bus;
use crate::domain::Response;
use crate::lease::Leases;
// The same timings as a live room's relay.
use crate::live::cluster::{
    Down, Envelope, IDLE, JOIN_WAIT, Link, TICK, WATCH, next_local, publisher, take_silent,
};
use crate::live::room::{Frame, Outbox};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

fn inbox(stage: &str) -> String {
    format!("stage:{stage}:in")
}

fn outbox_topic(stage: &str, instance: &str) -> String {
    format!("stage:{stage}:to:{instance}")
}

#[derive(Clone, Serialize, Deserialize)]
enum Up {
    Join {
        local: u64,
        seat: Seat,
    },
    JoinAudience {
        local: u64,
        member: Option<(String, String)>,
        name: Option<String>,
        token: Option<String>,
    },
    Leave {
        client: u64,
    },
    LeaveAudience {
        client: u64,
    },
    Host {
        client: u64,
        cmd: HostCmd,
    },
    Buzz {
        client: u64,
        team: usize,
    },
    Stake {
        client: u64,
        team: usize,
        stake: i64,
    },
    Marks {
        client: u64,
        judge_id: String,
        team: usize,
        marks: Vec<u32>,
        reason: Option<String>,
    },
    Answer {
        client: u64,
        team: usize,
        response: Response,
    },
    AudienceAnswer {
        client: u64,
        round: usize,
        index: usize,
        response: Response,
    },
    Alive,
}

/// What the owner knows of another instance's sockets.
struct Remote {
    link: Link,
    heard: Instant,
    /// The conductor's and the audience's ids of its sockets.
    seats: HashSet<u64>,
    audience: HashSet<u64>,
    /// Its sockets (the proxy's ids) whose join was taken, so a join sent again counts once.
    joined: HashSet<u64>,
}

/// A socket of another instance, seated by the conductor or the audience's task.
enum Seated {
    Seat(u64),
    Audience(u64),
}

/// The owner's side: takes the commands of other instances' sockets to the final's conductor
/// (and its audience's task), until the conductor ends. Buzzes are stamped here, on the
/// owner's clock and in the same receive order (`seq`) as its own sockets' buzzes.
pub async fn spawn_bridge(
    bus: Bus,
    stage_id: &str,
    conductor: mpsc::Sender<Cmd>,
    audience: Option<mpsc::Sender<AudCmd>>,
    seq: Arc<AtomicU64>,
    fence: u64,
) -> anyhow::Result<()> {
    let stage = stage_id.to_string();
    let mut sub = bus.subscribe(&inbox(&stage)).await?;
    tokio::spawn(async move {
        let mut remotes: HashMap<String, Remote> = HashMap::new();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let (seated_tx, mut seated_rx) = mpsc::unbounded_channel::<(String, Seated)>();
        loop {
            tokio::select! {
                msg = sub.recv() => {
                    let Some(msg) = msg else { break };
                    let at = Instant::now();
                    let env: Envelope<Up> = match serde_json::from_slice(&msg) {
                        Ok(e) => e,
                        Err(e) => {
                            tracing::warn!(%stage, error = %e, "stage relay: unreadable command batch");
                            continue;
                        }
                    };
                    if env.fence != fence {
                        continue;
                    }
                    let remote = remotes.entry(env.from.clone()).or_insert_with(|| Remote {
                        link: Link::on(&bus, outbox_topic(&stage, &env.from)),
                        heard: at,
                        seats: HashSet::new(),
                        audience: HashSet::new(),
                        joined: HashSet::new(),
                    });
                    remote.heard = at;
                    for up in env.items {
                        let to = Bridged { conductor: &conductor, audience: audience.as_ref(), seq: &seq, at };
                        if to.one(&env.from, remote, up, &seated_tx).await.is_err() {
                            return;
                        }
                    }
                }
                Some((from, seated)) = seated_rx.recv() => {
                    if let Some(r) = remotes.get_mut(&from) {
                        match seated {
                            Seated::Seat(id) => r.seats.insert(id),
                            Seated::Audience(id) => r.audience.insert(id),
                        };
                    }
                }
                _ = tick.tick() => {
                    if conductor.is_closed() {
                        break;
                    }
                    for (from, r) in take_silent(&mut remotes, |r| r.heard) {
                        tracing::info!(%stage, instance = %from, "stage relay: instance silent; its sockets leave");
                        for id in r.seats {
                            let _ = conductor.send(Cmd::Leave(id)).await;
                        }
                        if let Some(a) = &audience {
                            for id in r.audience {
                                let _ = a.send(AudCmd::Leave(id)).await;
                            }
                        }
                    }
                }
            }
        }
    });
    Ok(())
}

/// Where the bridge takes a command, and the stamp of the batch it came in.
struct Bridged<'a> {
    conductor: &'a mpsc::Sender<Cmd>,
    audience: Option<&'a mpsc::Sender<AudCmd>>,
    seq: &'a AtomicU64,
    at: Instant,
}

impl Bridged<'_> {
    /// One command of another instance's socket; `Err` once the conductor is gone.
    async fn one(
        &self,
        from: &str,
        remote: &mut Remote,
        up: Up,
        seated: &mpsc::UnboundedSender<(String, Seated)>,
    ) -> Result<(), ()> {
        let conduct = |cmd: Cmd| async move { self.conductor.send(cmd).await.map_err(|_| ()) };
        match up {
            Up::Alive => Ok(()),
            Up::Join { local, seat } => {
                if !remote.joined.insert(local) {
                    return Ok(());
                }
                let (reply, id) = oneshot::channel();
                let outbox = Outbox::remote(remote.link.clone(), local);
                conduct(Cmd::Join {
                    seat,
                    outbox,
                    reply,
                })
                .await?;
                let (link, from, seated) = (remote.link.clone(), from.to_string(), seated.clone());
                tokio::spawn(async move {
                    let result = match id.await {
                        Ok(id) => {
                            let _ = seated.send((from, Seated::Seat(id)));
                            Ok(id)
                        }
                        Err(_) => Err(("internal".into(), "服务器内部错误，请稍后重试".into())),
                    };
                    link.send(Down::Seated { local, result });
                });
                Ok(())
            }
            Up::JoinAudience {
                local,
                member,
                name,
                token,
            } => {
                if !remote.joined.insert(local) {
                    return Ok(());
                }
                let link = remote.link.clone();
                let Some(audience) = self.audience else {
                    let why = ("not_allowed".into(), "本场决赛没有开放观众互动".into());
                    link.send(Down::Seated {
                        local,
                        result: Err(why),
                    });
                    return Ok(());
                };
                let (reply, joined) = oneshot::channel();
                let who = Joining {
                    member,
                    name,
                    token,
                };
                let outbox = Outbox::remote(link.clone(), local);
                if audience
                    .send(AudCmd::Join { who, outbox, reply })
                    .await
                    .is_err()
                {
                    return Err(());
                }
                let (from, seated) = (from.to_string(), seated.clone());
                tokio::spawn(async move {
                    let result = joined.await.unwrap_or_else(|_| {
                        Err(("internal".into(), "服务器内部错误，请稍后重试".into()))
                    });
                    if let Ok(id) = result {
                        let _ = seated.send((from, Seated::Audience(id)));
                    }
                    link.send(Down::Seated { local, result });
                });
                Ok(())
            }
            Up::Leave { client } => {
                remote.seats.remove(&client);
                conduct(Cmd::Leave(client)).await
            }
            Up::LeaveAudience { client } => {
                remote.audience.remove(&client);
                if let Some(a) = self.audience {
                    let _ = a.send(AudCmd::Leave(client)).await;
                }
                Ok(())
            }
            Up::Host { client, cmd } => conduct(Cmd::Host { client, cmd }).await,
            Up::Buzz { client, team } => {
                // The owner's clock and receive order decide the race.
                let seq = self.seq.fetch_add(1, Ordering::SeqCst);
                conduct(Cmd::Buzz {
                    client,
                    team,
                    at: self.at,
                    seq,
                })
                .await
            }
            Up::Stake {
                client,
                team,
                stake,
            } => {
                conduct(Cmd::Stake {
                    client,
                    team,
                    stake,
                })
                .await
            }
            Up::Marks {
                client,
                judge_id,
                team,
                marks,
                reason,
            } => {
                conduct(Cmd::Marks {
                    client,
                    judge_id,
                    team,
                    marks,
                    reason,
                })
                .await
            }
            Up::Answer {
                client,
                team,
                response,
            } => {
                conduct(Cmd::Answer {
                    client,
                    team,
                    response,
                })
                .await
            }
            Up::AudienceAnswer {
                client,
                round,
                index,
                response,
            } => {
                if let Some(a) = self.audience {
                    let _ = a
                        .send(AudCmd::Answer {
                            client,
                            round,
                            index,
                            response,
                        })
                        .await;
                }
                Ok(())
            }
        }
    }
}

/// A join on this instance waiting for the owner's answer.
enum Waiting {
    Seat(oneshot::Sender<u64>),
    Audience(oneshot::Sender<Result<u64, (String, String)>>),
}

struct Pending {
    up: Up,
    reply: Waiting,
    since: Instant,
    sent: Instant,
}

/// A proxy's sockets: the proxy's id → its outbox, the owner's ids for them (the conductor's
/// and the audience's, two ranges), and the joins not answered yet.
#[derive(Default)]
struct Sockets {
    locals: HashMap<u64, Outbox>,
    by_seat: HashMap<u64, u64>,
    by_audience: HashMap<u64, u64>,
    pending: HashMap<u64, Pending>,
}

impl Sockets {
    fn join(
        &mut self,
        up: &mpsc::UnboundedSender<Up>,
        up_of: impl FnOnce(u64) -> Up,
        outbox: Outbox,
        reply: Waiting,
    ) {
        let local = next_local();
        self.locals.insert(local, outbox);
        let msg = up_of(local);
        let _ = up.send(msg.clone());
        let now = Instant::now();
        let p = Pending {
            up: msg,
            reply,
            since: now,
            sent: now,
        };
        self.pending.insert(local, p);
    }

    /// One message from the owner.
    fn down(&mut self, up: &mpsc::UnboundedSender<Up>, d: Down) {
        match d {
            Down::Frames(groups) => {
                for (to, text) in groups {
                    let f = Frame::from(text);
                    for local in to {
                        if let Some(out) = self.locals.get_mut(&local) {
                            out.push(f.clone());
                        }
                    }
                }
            }
            Down::Seated { local, result } => {
                let Some(p) = self.pending.remove(&local) else {
                    return;
                };
                let gone = match (p.reply, result) {
                    (Waiting::Seat(reply), Ok(id)) => match reply.send(id) {
                        Ok(()) => {
                            self.by_seat.insert(id, local);
                            None
                        }
                        Err(_) => Some(Up::Leave { client: id }),
                    },
                    (Waiting::Audience(reply), Ok(id)) => match reply.send(Ok(id)) {
                        Ok(()) => {
                            self.by_audience.insert(id, local);
                            None
                        }
                        Err(_) => Some(Up::LeaveAudience { client: id }),
                    },
                    (Waiting::Audience(reply), Err(why)) => {
                        self.locals.remove(&local);
                        let _ = reply.send(Err(why));
                        None
                    }
                    (Waiting::Seat(_), Err(_)) => {
                        self.locals.remove(&local);
                        None
                    }
                };
                if let Some(leave) = gone {
                    // The socket went while it waited.
                    self.locals.remove(&local);
                    let _ = up.send(leave);
                }
            }
            Down::Close { .. } | Down::Joined { .. } | Down::Hosted { .. } => {}
        }
    }

    /// Joins sent before the owner listened (it was loading the final) go again; the owner
    /// takes each once. One unanswered too long gives up (its socket closes and reconnects).
    fn again(&mut self, up: &mpsc::UnboundedSender<Up>, now: Instant) {
        let locals = &mut self.locals;
        self.pending.retain(|local, p| {
            let keep = now - p.since <= JOIN_WAIT;
            if !keep {
                locals.remove(local);
            }
            keep
        });
        for p in self.pending.values_mut() {
            if now - p.sent > Duration::from_millis(500) {
                p.sent = now;
                let _ = up.send(p.up.clone());
            }
        }
    }
}

/// The channels a final's sockets on this instance use while another instance conducts it.
pub struct Proxy {
    pub conductor: mpsc::Sender<Cmd>,
    pub audience: Option<mpsc::Sender<AudCmd>>,
}

/// Starts a proxy for final `stage_id` conducted by `owner` (`audience`: its audience plays
/// along); it stands for the final on this instance until the owner no longer holds `lease`.
pub async fn spawn_proxy(
    bus: Bus,
    leases: Leases,
    lease: String,
    (owner, fence): (String, u64),
    stage_id: &str,
    audience: bool,
) -> anyhow::Result<Proxy> {
    let me = leases.instance().to_string();
    let mut sub = bus.subscribe(&outbox_topic(stage_id, &me)).await?;
    let (tx, mut rx) = mpsc::channel::<Cmd>(1024);
    let (atx, mut arx) = mpsc::channel::<AudCmd>(4096);
    let from = me.clone();
    let up = publisher(bus, inbox(stage_id), move |items| {
        serde_json::to_vec(&Envelope {
            from: from.clone(),
            fence,
            items,
        })
        .expect("stage relay commands serialise")
    });
    let stage = stage_id.to_string();
    tokio::spawn(async move {
        let mut socks = Sockets::default();
        let mut tick = tokio::time::interval(TICK);
        let owner_gone = leases.until_not_held_by(&lease, &owner, fence, WATCH);
        tokio::pin!(owner_gone);
        let (mut last_alive, mut last_used) = (Instant::now(), Instant::now());
        loop {
            tokio::select! {
                cmd = rx.recv() => {
                    let Some(cmd) = cmd else { break };
                    let msg = match cmd {
                        Cmd::Join { seat, outbox, reply } => {
                            socks.join(&up, |local| Up::Join { local, seat }, outbox, Waiting::Seat(reply));
                            continue;
                        }
                        Cmd::Leave(client) => {
                            if let Some(local) = socks.by_seat.remove(&client) {
                                socks.locals.remove(&local);
                            }
                            Up::Leave { client }
                        }
                        Cmd::Host { client, cmd } => Up::Host { client, cmd },
                        // Stamped again by the owner: its clock decides.
                        Cmd::Buzz { client, team, .. } => Up::Buzz { client, team },
                        Cmd::Stake { client, team, stake } => Up::Stake { client, team, stake },
                        Cmd::Marks { client, judge_id, team, marks, reason } => {
                            Up::Marks { client, judge_id, team, marks, reason }
                        }
                        Cmd::Answer { client, team, response } => Up::Answer { client, team, response },
                        Cmd::Audience(_) => continue,
                    };
                    let _ = up.send(msg);
                }
                cmd = arx.recv(), if audience => {
                    let Some(cmd) = cmd else { break };
                    let msg = match cmd {
                        AudCmd::Join { who, outbox, reply } => {
                            let Joining { member, name, token } = who;
                            let of = |local| Up::JoinAudience { local, member, name, token };
                            socks.join(&up, of, outbox, Waiting::Audience(reply));
                            continue;
                        }
                        AudCmd::Leave(client) => {
                            if let Some(local) = socks.by_audience.remove(&client) {
                                socks.locals.remove(&local);
                            }
                            Up::LeaveAudience { client }
                        }
                        AudCmd::Answer { client, round, index, response } => {
                            Up::AudienceAnswer { client, round, index, response }
                        }
                    };
                    let _ = up.send(msg);
                }
                msg = sub.recv() => {
                    let Some(msg) = msg else { break };
                    match serde_json::from_slice::<Vec<Down>>(&msg) {
                        Ok(downs) => {
                            for d in downs {
                                socks.down(&up, d);
                            }
                        }
                        Err(e) => tracing::warn!(%stage, error = %e, "stage relay: unreadable frames"),
                    }
                }
                _ = &mut owner_gone => break,
                _ = tick.tick() => {
                    let now = Instant::now();
                    if !socks.locals.is_empty() {
                        last_used = now;
                    } else if now - last_used > IDLE {
                        break;
                    }
                    if now - last_alive >= Duration::from_secs(1) {
                        last_alive = now;
                        let _ = up.send(Up::Alive);
                    }
                    socks.again(&up, now);
                }
            }
        }
        tracing::info!(%stage, %owner, "stage relay: proxy ends");
        // Dropping the channels closes this instance's sockets of the final: they reconnect.
    });
    Ok(Proxy {
        conductor: tx,
        audience: audience.then_some(atx),
    })
}
