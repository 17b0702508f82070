//! The conductor: one task per live room owns its timeline and state, driven by
//! [`Command`]s through a cloneable [`RoomHandle`]. WebSocket sessions only translate frames
//! to commands and forward the frames the conductor queues for them; they decide nothing.
//!
//! Time is the server's: a question's clock starts when its frame is queued, elapsed times
//! are measured here, and clients only ever get remaining milliseconds. Frames for many
//! clients are serialised once ([`Frame`] is a cheap-to-clone shared string); each player
//! gets a frame of their own only at the reveal. A client whose queue is full is dropped
//! rather than allowed to slow the room.

use super::protocol::{
    ClientRole, ErrorCode, Line, PhaseName, PlayerInfo, QuestionView, ServerMsg, TeamLine, You,
};
use super::relay::{Batch, Relay};
use super::writer::{Job, Writer};
use crate::board::{Board, Leaderboard};
use crate::domain::Response;
use crate::domain::competition::{self, Asked as AskedRule, Final, Given, Settings, Tally};
use crate::domain::teams::{self, Team, TeamStanding};
use crate::records::competitions::{self as rec, AnswerRow, Asked};
use crate::records::{Db, audit, new_id, now_ms};
use actix_ws::{CloseCode, CloseReason, Session};
use bytestring::ByteString;
use futures_util::FutureExt;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// A serialised server frame, shared by every client that receives it.
pub type Frame = ByteString;

/// Answers are accepted this long after the time is up, for network latency.
pub const GRACE: Duration = Duration::from_millis(500);
/// Live counts and lobby lists go to host and screen at most this often.
const THROTTLE: Duration = Duration::from_millis(250);

/// An internal failure as a client sees it: logged here in full, a plain message there (the
/// error's text may name tables, addresses or files).
pub fn internal(e: anyhow::Error) -> (ErrorCode, String) {
    if e.downcast_ref::<rec::Fenced>().is_some() {
        return (
            ErrorCode::Elsewhere,
            "本场比武已转由另一台服务器主持，请重新连接".to_string(),
        );
    }
    tracing::error!(error = format!("{e:#}"), "live room: internal error");
    (
        ErrorCode::Internal,
        "服务器内部错误，请稍后重试".to_string(),
    )
}

pub fn frame(msg: &ServerMsg) -> Frame {
    // ServerMsg holds only strings, numbers and lists: serialising it cannot fail.
    ByteString::from(serde_json::to_string(msg).expect("ServerMsg serialises"))
}

pub type Refusal = (ErrorCode, String);

/// Where the room, the writer and the workers' relays put a socket's frames: straight into
/// the socket's actix-ws session, whose bounded channel the HTTP worker drains onto the wire.
/// A full channel (32 frames) means a client that stopped reading: it is dropped, not waited
/// for. A socket on another instance is reached through the owner's link to it.
#[derive(Clone)]
pub struct Outbox {
    sink: Sink,
    /// Error frames sent to this socket, by the room, the writer or the socket's own task;
    /// the socket's task closes it when there are too many.
    errors: Arc<AtomicU32>,
}

#[derive(Clone)]
enum Sink {
    Local(Session),
    /// A socket of another instance (its proxy's id for it).
    Remote {
        link: super::cluster::Link,
        to: u64,
    },
}

impl Outbox {
    pub fn new(session: Session) -> Outbox {
        Outbox {
            sink: Sink::Local(session),
            errors: Arc::default(),
        }
    }

    /// The outbox of a socket on another instance.
    pub fn remote(link: super::cluster::Link, to: u64) -> Outbox {
        Outbox {
            sink: Sink::Remote { link, to },
            errors: Arc::default(),
        }
    }

    /// The proxy's id of a socket on another instance.
    pub fn remote_to(&self) -> Option<u64> {
        match &self.sink {
            Sink::Local(_) => None,
            Sink::Remote { to, .. } => Some(*to),
        }
    }

    /// Queues a frame without waiting; `false` when the socket is closed or stalled.
    pub fn push(&mut self, f: Frame) -> bool {
        match &mut self.sink {
            Sink::Local(session) => {
                // Unconstrained: a broadcast queues thousands of frames in one go, and tokio's
                // cooperative budget would otherwise report a channel with room as not ready.
                let send = tokio::task::unconstrained(session.text(f));
                matches!(send.now_or_never(), Some(Ok(())))
            }
            Sink::Remote { link, to } => link.frame(*to, f),
        }
    }

    /// Queues an error frame and counts it against the socket.
    pub fn push_error(&mut self, code: ErrorCode, message: String) -> bool {
        self.errors.fetch_add(1, Ordering::Relaxed);
        self.push(frame(&ServerMsg::Error { code, message }))
    }

    pub fn errors(&self) -> &AtomicU32 {
        &self.errors
    }
}

/// Tells a socket's task to close it, and why.
pub type Kick = oneshot::Sender<CloseReason>;

/// Who a joining player is, as the session established it.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub enum PlayerAuth {
    Token(String),
    Member { id: String, name: String },
    Guest { name: String },
}

pub enum Command {
    Join {
        role: ClientRole,
        player: Option<PlayerAuth>,
        /// Where phones join, as the host's browser reaches this server.
        join_url: Option<String>,
        out: Outbox,
        /// The relay of the worker the socket runs on.
        relay: Relay,
        kick: Kick,
        reply: oneshot::Sender<Result<u64, Refusal>>,
    },
    Leave {
        client: u64,
    },
    /// A player's answer. The reply goes to the socket's queue: an `ack` from the writer
    /// once the answer is durable, or an `error` from the room.
    Answer {
        client: u64,
        position: u32,
        response: Response,
    },
    /// From a worker's relay: these clients' queues were full (or closed).
    Stalled {
        clients: Vec<u64>,
    },
    /// From the writer: this many of the room's answers are settled; `lost` (participant,
    /// position) were not stored and are forgotten, so those players can send them again.
    Settled {
        answers: u32,
        lost: Vec<(String, u32)>,
    },
    Host {
        actor: String,
        cmd: HostCmd,
        reply: oneshot::Sender<Result<(), Refusal>>,
    },
    /// The board came back (Redis answers again): write the room's standings to it.
    MirrorBoard,
}

#[derive(serde::Serialize, serde::Deserialize)]
pub enum HostCmd {
    Start,
    Next,
    Pause,
    Resume,
    Extend(u32),
    Skip,
    End,
    Remove(String),
    Void {
        position: u32,
        reason: String,
    },
    Accept {
        position: u32,
        answer: Response,
        reason: String,
    },
    ConfirmAwards,
}

#[derive(Clone)]
pub struct RoomHandle {
    tx: mpsc::Sender<Command>,
    /// The staff's lane: the host's and the screens' joins and the host's commands, taken
    /// before the players' (after a takeover the console is back while thousands of phones
    /// still queue to rejoin).
    staff: mpsc::Sender<Command>,
    pub competition_id: String,
    pub creator: String,
    /// A proxy of a room conducted by another instance (see `live::cluster`).
    pub relayed: bool,
}

impl RoomHandle {
    pub(super) fn relayed(
        tx: mpsc::Sender<Command>,
        competition_id: String,
        creator: String,
    ) -> Self {
        RoomHandle {
            staff: tx.clone(),
            tx,
            competition_id,
            creator,
            relayed: true,
        }
    }

    pub async fn send(&self, cmd: Command) -> Result<(), Refusal> {
        let lane = match &cmd {
            Command::Join { role, .. } if *role != ClientRole::Player => &self.staff,
            Command::Host { .. } => &self.staff,
            _ => &self.tx,
        };
        lane.send(cmd)
            .await
            .map_err(|_| (ErrorCode::Internal, "比赛房间已关闭".to_string()))
    }

    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

struct Client {
    role: ClientRole,
    participant: Option<String>,
    out: Outbox,
    /// Frames for many go through the relay of the socket's worker (see [`Room::post`]).
    relay: Relay,
    kick: Kick,
}

struct Answer {
    response: Response,
    elapsed_ms: u64,
}

struct Player {
    id: String,
    name: String,
    member_id: Option<String>,
    token_hash: String,
    removed: bool,
    answers: HashMap<u32, Answer>,
    tally: Tally,
    rank: u64,
    /// The player's frame at the last reveal or ruling, replayed on rejoin.
    last_result: Option<Frame>,
}

struct Live {
    position: u32,
    /// When the question frame was queued (server time).
    shown_at: Instant,
    extra: Duration,
    paused_at: Option<Instant>,
    paused_total: Duration,
    answered: u32,
}

enum Phase {
    Lobby,
    Question(Live),
    Reveal(u32),
    Leaderboard(u32),
    Podium,
}

impl Phase {
    fn name(&self) -> PhaseName {
        match self {
            Phase::Lobby => PhaseName::Lobby,
            Phase::Question(_) => PhaseName::Question,
            Phase::Reveal(_) => PhaseName::Reveal,
            Phase::Leaderboard(_) => PhaseName::Leaderboard,
            Phase::Podium => PhaseName::Podium,
        }
    }
}

pub struct Room {
    id: String,
    title: String,
    pin: String,
    settings: Settings,
    /// The teams under the competition's team rule (empty without one), with their members;
    /// read when the room loads and again at `start`, after the host named the teams.
    teams: Vec<Team>,
    awards_confirmed: bool,
    questions: Vec<Asked>,
    phase: Phase,
    /// Questions revealed so far (0..revealed count in the tallies).
    revealed: u32,
    players: Vec<Player>,
    by_id: HashMap<String, usize>,
    /// Players by their rejoin token's hash: a rejoin is a lookup (after a takeover every
    /// phone rejoins at once; a scan per rejoin made that N²).
    by_token: HashMap<String, usize>,
    clients: HashMap<u64, Client>,
    /// Open sockets per participant, so "is this player connected" is a lookup, not a scan
    /// of every client (which made the host's player list O(players × clients)).
    sockets: HashMap<String, u32>,
    /// Players not removed (see `active_players`).
    active: u32,
    next_client: u64,
    db: Db,
    board: Board,
    writer: Writer,
    /// This room's own command channel, for the writer's `Settled` (weak: the room still
    /// stops when every handle is gone).
    me: mpsc::WeakSender<Command>,
    /// Answers accepted but not yet settled by the writer. A question is revealed only when
    /// this is zero, so every `ack` is queued before the `result`.
    unsettled: u32,
    join_url: Option<String>,
    /// Host/screen need a fresh count or player list; sent at most every THROTTLE.
    dirty: bool,
    last_flush: Instant,
    /// Ranks at the previous leaderboard, for the `change` arrows.
    previous_ranks: HashMap<String, u64>,
    last_reveal: Option<Frame>,
    last_leaderboard: Option<Frame>,
    last_podium: Option<Frame>,
    /// With several instances: this instance conducts the room while it holds the lease;
    /// once it is lost the room stops at once (another instance may be taking it over).
    lease: Option<crate::lease::Held>,
    /// A write was refused: a newer conductor claimed the competition (see `persist`).
    fenced: std::sync::atomic::AtomicBool,
}

/// The teams of a competition under its rule, from the roster or the host's named teams.
async fn load_teams(
    db: &Db,
    settings: &Settings,
    competition_id: &str,
) -> anyhow::Result<Vec<Team>> {
    use crate::records::teams::{Event, of};
    of(db, &settings.teams, Event::Competition, competition_id).await
}

fn limit(q: &Asked) -> Duration {
    Duration::from_millis(q.time_limit_ms)
}

impl Live {
    fn elapsed(&self, now: Instant) -> Duration {
        let paused_now = self.paused_at.map(|p| now - p).unwrap_or_default();
        now.saturating_duration_since(self.shown_at)
            .saturating_sub(self.paused_total + paused_now)
    }
}

impl Room {
    /// Loads a competition from the records and starts its conductor.
    pub async fn spawn(
        db: Db,
        board: Board,
        writer: Writer,
        runtime: &tokio::runtime::Handle,
        competition_id: &str,
        idle: Duration,
        lease: Option<crate::lease::Held>,
    ) -> anyhow::Result<RoomHandle> {
        let loading = Instant::now();
        // Under a lease: claim the competition with its fence before reading it, so that
        // everything an older conductor wrote is read, and nothing it writes later is taken.
        if let Some(held) = &lease
            && !rec::claim(&db, competition_id, held.fence() as i64).await?
        {
            return Err(super::Elsewhere {
                instance: "（更新的主持实例）".into(),
            }
            .into());
        }
        let c = rec::by_id(&db, competition_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no competition {competition_id}"))?;
        let settings: Settings = serde_json::from_str(&c.settings)?;
        // Side by side, on connections of their own: a takeover waits for the slowest read,
        // not for their sum.
        let (teams, questions, participants, answers) = tokio::try_join!(
            load_teams(&db, &settings, &c.id),
            rec::questions(&db, &c.id),
            rec::participants(&db, &c.id),
            rec::answers(&db, &c.id),
        )?;
        let mut players = Vec::new();
        let mut by_id = HashMap::new();
        for p in participants {
            by_id.insert(p.id.clone(), players.len());
            players.push(Player {
                id: p.id,
                name: p.nickname,
                member_id: p.member_id,
                token_hash: p.rejoin_token_hash,
                removed: p.removed_at.is_some(),
                answers: HashMap::new(),
                tally: Tally::default(),
                rank: 0,
                last_result: None,
            });
        }
        for a in answers {
            if let Some(&i) = by_id.get(&a.participant_id) {
                players[i].answers.insert(
                    a.position as u32,
                    Answer {
                        response: serde_json::from_str(&a.response)?,
                        elapsed_ms: a.elapsed_ms as u64,
                    },
                );
            }
        }
        let now = Instant::now();
        let position = c.position as u32;
        let mut resume_reveal = false;
        let phase = match c.phase.as_str() {
            "question" if (position as usize) < questions.len() => {
                let total =
                    limit(&questions[position as usize]) + Duration::from_millis(c.extra_ms as u64);
                let (elapsed, paused_at) = match c.paused_remaining_ms {
                    Some(rem) => (
                        total.saturating_sub(Duration::from_millis(rem as u64)),
                        Some(now),
                    ),
                    None => (
                        Duration::from_millis(
                            (now_ms() - c.phase_started_at.unwrap_or_else(now_ms)).max(0) as u64,
                        ),
                        None,
                    ),
                };
                if paused_at.is_none() && elapsed >= total {
                    resume_reveal = true;
                }
                let answered = players
                    .iter()
                    .filter(|p| p.answers.contains_key(&position))
                    .count() as u32;
                Phase::Question(Live {
                    position,
                    shown_at: now.checked_sub(elapsed).unwrap_or(now),
                    extra: Duration::from_millis(c.extra_ms as u64),
                    paused_at,
                    paused_total: Duration::ZERO,
                    answered,
                })
            }
            "reveal" => Phase::Reveal(position),
            "leaderboard" => Phase::Leaderboard(position),
            "podium" => Phase::Podium,
            _ => Phase::Lobby,
        };
        let revealed = match &phase {
            Phase::Lobby => 0,
            Phase::Question(l) => l.position,
            Phase::Reveal(p) | Phase::Leaderboard(p) => p + 1,
            Phase::Podium => {
                let answered_max = players
                    .iter()
                    .flat_map(|p| p.answers.keys().copied())
                    .max()
                    .map(|m| m + 1)
                    .unwrap_or(0);
                answered_max.max(position + 1).min(questions.len() as u32)
            }
        };
        let (tx, rx) = mpsc::channel(4096);
        let (staff, staff_rx) = mpsc::channel(256);
        let me = tx.downgrade();
        let handle = RoomHandle {
            tx,
            staff,
            competition_id: c.id.clone(),
            creator: c.created_by.clone(),
            relayed: false,
        };
        let by_token = players
            .iter()
            .enumerate()
            .map(|(i, p)| (p.token_hash.clone(), i))
            .collect();
        let mut room = Room {
            id: c.id,
            title: c.title,
            pin: c.pin,
            settings,
            teams,
            awards_confirmed: c.awards_confirmed == 1,
            questions,
            phase,
            revealed,
            players,
            by_token,
            by_id,
            clients: HashMap::new(),
            sockets: HashMap::new(),
            active: 0,
            next_client: 1,
            db,
            board,
            writer,
            me,
            unsettled: 0,
            join_url: None,
            dirty: false,
            last_flush: now,
            previous_ranks: HashMap::new(),
            last_reveal: None,
            last_leaderboard: None,
            last_podium: None,
            lease,
            fenced: std::sync::atomic::AtomicBool::new(false),
        };
        room.active = room.players.iter().filter(|p| !p.removed).count() as u32;
        // Rebuild the tallies and every player's frames from the records. The board's mirror
        // in Redis is written by the room once it runs (its first command, below), not here:
        // a takeover serves its sockets without waiting for 20,000 board entries.
        room.tally_all();
        match room.phase {
            Phase::Reveal(p) | Phase::Leaderboard(p) => room.rebuild_reveal(p).await?,
            Phase::Podium => room.rebuild_podium().await?,
            _ => {}
        }
        if resume_reveal {
            room.reveal().await?;
        }
        tracing::info!(
            room = %room.id,
            players = room.players.len(),
            phase = ?room.phase.name(),
            ms = loading.elapsed().as_millis() as u64,
            "room loaded from the records"
        );
        runtime.spawn(room.run(rx, staff_rx, idle));
        let _ = handle.tx.try_send(Command::MirrorBoard);
        Ok(handle)
    }

    /// Runs the room until it has had no screen connected and nothing to time for `idle`:
    /// then it leaves memory (its state is in the records; the next socket loads it again).
    async fn run(
        mut self,
        mut rx: mpsc::Receiver<Command>,
        mut staff: mpsc::Receiver<Command>,
        idle: Duration,
    ) {
        let mut last_activity = Instant::now();
        let mut lost = self.lease.as_ref().map(|h| h.watch());
        loop {
            if self.fenced.load(Ordering::Relaxed) {
                // The lease is lost, or a newer conductor claimed the competition: stop
                // writing, send every socket away to reconnect (and find the new conductor).
                self.stand_down();
                rx.close();
                staff.close();
                while rx.recv().await.is_some() {}
                while staff.recv().await.is_some() {}
                break;
            }
            let wake = self.next_wake();
            let unload_at = (self.clients.is_empty() && wake.is_none() && self.unsettled == 0)
                .then_some(last_activity + idle);
            // The staff's commands have a queue of their own: under a storm of rejoining phones
            // the host's join is taken within a few turns, not behind thousands of players'.
            tokio::select! {
                _ = async {
                    match lost.as_mut() {
                        Some(rx) => {
                            let _ = rx.wait_for(|lost| *lost).await;
                        }
                        None => std::future::pending::<()>().await,
                    }
                } => {
                    tracing::warn!(room = %self.id, "room lease lost: stopping");
                    self.fenced.store(true, Ordering::Relaxed);
                }
                Some(cmd) = staff.recv() => {
                    last_activity = Instant::now();
                    if let Err(e) = self.handle(cmd).await {
                        tracing::error!(room = %self.id, error = ?e, "room command failed");
                    }
                }
                _ = tokio::time::sleep_until(wake.unwrap_or_else(Instant::now)), if wake.is_some() => {
                    last_activity = Instant::now();
                    if let Err(e) = self.on_timer().await {
                        tracing::error!(room = %self.id, error = ?e, "room timer failed");
                    }
                }
                cmd = rx.recv() => match cmd {
                    Some(cmd) => {
                        last_activity = Instant::now();
                        if let Err(e) = self.handle(cmd).await {
                            tracing::error!(room = %self.id, error = ?e, "room command failed");
                        }
                    }
                    None => break,
                },
                _ = tokio::time::sleep_until(unload_at.unwrap_or_else(Instant::now)), if unload_at.is_some() => {
                    tracing::info!(room = %self.id, "room idle: leaving memory");
                    // Commands already queued (a socket joining this instant) are dropped
                    // unanswered: their senders see the room closed and load it afresh.
                    rx.close();
                    staff.close();
                    while rx.recv().await.is_some() {}
                    while staff.recv().await.is_some() {}
                    break;
                }
            }
        }
    }

    /// Closes every socket with 1012 (restart): they reconnect and find the room's conductor.
    fn stand_down(&mut self) {
        tracing::warn!(room = %self.id, "room stands down: another instance conducts it");
        let ids: Vec<u64> = self.clients.keys().copied().collect();
        for id in ids {
            self.kick(
                id,
                CloseReason {
                    code: CloseCode::Restart,
                    description: Some("主持服务器已变更，请重新连接".into()),
                },
            );
        }
    }

    /// The lease fence the room is conducted under (0: a single instance).
    fn fence(&self) -> i64 {
        self.lease.as_ref().map_or(0, |h| h.fence() as i64)
    }

    /// A write of the conductor: refused by the records once a newer conductor claimed the
    /// competition (`Fenced`), which makes the room stand down before its next command.
    async fn guarded<T>(
        &self,
        write: impl std::future::Future<Output = anyhow::Result<T>>,
    ) -> anyhow::Result<T> {
        write.await.inspect_err(|e| {
            if e.downcast_ref::<rec::Fenced>().is_some() {
                self.fenced.store(true, Ordering::Relaxed);
            }
        })
    }

    fn deadline(&self) -> Option<Instant> {
        match &self.phase {
            // While answers are in flight the reveal waits for them (see `unsettled`).
            Phase::Question(l) if l.paused_at.is_none() && self.unsettled == 0 => {
                let q = &self.questions[l.position as usize];
                Some(l.shown_at + l.paused_total + limit(q) + l.extra + GRACE)
            }
            _ => None,
        }
    }

    fn next_wake(&self) -> Option<Instant> {
        let flush = self.dirty.then_some(self.last_flush + THROTTLE);
        match (self.deadline(), flush) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    async fn on_timer(&mut self) -> anyhow::Result<()> {
        let now = Instant::now();
        if self.deadline().is_some_and(|d| now >= d) {
            self.reveal().await?;
        }
        if self.dirty && now >= self.last_flush + THROTTLE {
            self.flush_counts();
        }
        Ok(())
    }

    // ---- sending ----

    fn send(&mut self, client: u64, f: Frame) {
        self.deliver(client, |out| out.push(f));
    }

    fn send_error(&mut self, client: u64, (code, message): Refusal) {
        self.deliver(client, |out| out.push_error(code, message));
    }

    /// Pushes to one client's outbox; a client that cannot take it is dropped.
    fn deliver(&mut self, client: u64, push: impl FnOnce(&mut Outbox) -> bool) {
        let dead = match self.clients.get_mut(&client) {
            Some(c) => !push(&mut c.out),
            None => false,
        };
        if dead {
            self.drop_client(client);
        }
    }

    /// Queues one frame for every client that `to` selects; stalled clients are dropped.
    fn broadcast(&mut self, f: &Frame, to: impl Fn(ClientRole) -> bool) {
        let items = self
            .clients
            .iter()
            .filter(|(_, c)| to(c.role))
            .map(|(id, _)| (*id, f.clone()))
            .collect();
        self.post(items);
    }

    /// Frames for many clients: one batch per HTTP worker, pushed by that worker's relay
    /// (see `live::relay`), which reports stalled clients back as `Command::Stalled`. Batches
    /// for one worker are pushed in the order they were posted. A frame for one client
    /// (`send`: welcome, an error, a rejoin's state) is pushed directly and may overtake a
    /// batch still with the relay; the protocol orders no such pair. (An `ack` always precedes
    /// its `result`: the writer pushes it before telling the room the answer is settled.)
    fn post(&mut self, items: Vec<(u64, Frame)>) {
        let mut batches: HashMap<super::relay::RelayKey, (Relay, Batch)> = HashMap::new();
        for (id, f) in items {
            let Some(c) = self.clients.get(&id) else {
                continue;
            };
            batches
                .entry(c.relay.key())
                .or_insert_with(|| (c.relay.clone(), Vec::new()))
                .1
                .push((id, c.out.clone(), f));
        }
        let mut dead = Vec::new();
        for (relay, batch) in batches.into_values() {
            if let Err(batch) = relay.send(batch, self.me.clone()) {
                // The worker is shutting down: push from here.
                for (id, mut out, f) in batch {
                    if !out.push(f) {
                        dead.push(id);
                    }
                }
            }
        }
        for id in dead {
            self.drop_client(id);
        }
    }

    /// Drops a client that stopped reading (or is gone); it may rejoin with its token.
    fn drop_client(&mut self, id: u64) {
        let reason = CloseReason {
            code: CloseCode::Again,
            description: Some("客户端处理过慢，请重新连接".into()),
        };
        if self.kick(id, reason) {
            tracing::debug!(room = %self.id, client = id, "client dropped (queue full or closed)");
            self.dirty = true;
        }
    }

    /// Forgets a client and tells its socket's task to close the socket.
    fn kick(&mut self, id: u64, reason: CloseReason) -> bool {
        match self.forget(id) {
            Some(c) => {
                let _ = c.kick.send(reason);
                true
            }
            None => false,
        }
    }

    fn staff(role: ClientRole) -> bool {
        role != ClientRole::Player
    }

    /// Players not removed. Kept as a count: it is read on every answer.
    fn active_players(&self) -> u32 {
        self.active
    }

    fn connected(&self, pid: &str) -> bool {
        self.sockets.get(pid).is_some_and(|n| *n > 0)
    }

    /// Forgets a client; keeps the per-participant socket count right.
    fn forget(&mut self, id: u64) -> Option<Client> {
        let c = self.clients.remove(&id)?;
        if let Some(pid) = &c.participant
            && let Some(n) = self.sockets.get_mut(pid)
        {
            *n = n.saturating_sub(1);
        }
        Some(c)
    }

    fn flush_counts(&mut self) {
        self.dirty = false;
        self.last_flush = Instant::now();
        let players = self.active_players();
        if let Phase::Question(l) = &self.phase {
            let f = frame(&ServerMsg::AnswerCount {
                position: l.position,
                answered: l.answered,
                players,
            });
            self.broadcast(&f, Self::staff);
        }
        let lobby = self.lobby_frame(true);
        self.broadcast(&lobby, Self::staff);
        if !self.clients.values().any(|c| c.role == ClientRole::Host) {
            return;
        }
        let list = frame(&ServerMsg::Players {
            players: self
                .players
                .iter()
                .filter(|p| !p.removed)
                .map(|p| PlayerInfo {
                    participant: p.id.clone(),
                    name: p.name.clone(),
                    points: p.tally.total,
                    connected: self.connected(&p.id),
                })
                .collect(),
        });
        self.broadcast(&list, |r| r == ClientRole::Host);
    }

    fn lobby_frame(&self, staff: bool) -> Frame {
        let names = if staff {
            self.players
                .iter()
                .filter(|p| !p.removed)
                .rev()
                .take(60)
                .map(|p| p.name.clone())
                .collect()
        } else {
            vec![]
        };
        frame(&ServerMsg::Lobby {
            players: self.active_players(),
            names,
            pin: staff.then(|| self.pin.clone()),
            join_url: if staff { self.join_url.clone() } else { None },
        })
    }

    fn question_view(&self, l: &Live, now: Instant) -> QuestionView {
        let a = &self.questions[l.position as usize];
        let total = limit(a) + l.extra;
        QuestionView {
            position: l.position,
            total: self.questions.len() as u32,
            kind: a.question.kind,
            topic: a.question.topic,
            stem: a.question.stem.clone(),
            options: a.question.options.clone(),
            unit: a.question.unit.clone(),
            time_limit_ms: total.as_millis() as u64,
            remaining_ms: total.saturating_sub(l.elapsed(now)).as_millis() as u64,
            paused: l.paused_at.is_some(),
            case: a.question.case_view(),
        }
    }

    fn remaining_ms(&self) -> u64 {
        match &self.phase {
            Phase::Question(l) => {
                let q = &self.questions[l.position as usize];
                (limit(q) + l.extra)
                    .saturating_sub(l.elapsed(Instant::now()))
                    .as_millis() as u64
            }
            _ => 0,
        }
    }

    // ---- commands ----

    async fn handle(&mut self, cmd: Command) -> anyhow::Result<()> {
        match cmd {
            Command::MirrorBoard => self.retally().await?,
            Command::Join {
                role,
                player,
                join_url,
                out,
                relay,
                kick,
                reply,
            } => {
                if join_url.is_some() {
                    self.join_url = join_url;
                }
                let result = self.join(role, player, out, relay, kick).await;
                if let Err(refusal) = &result
                    && refusal.0 == ErrorCode::Internal
                {
                    tracing::error!(room = %self.id, msg = %refusal.1, "join failed");
                }
                let _ = reply.send(result);
            }
            Command::Leave { client } => {
                if self.forget(client).is_some() {
                    self.dirty = true;
                }
            }
            Command::Answer {
                client,
                position,
                response,
            } => {
                if let Err(refusal) = self.answer(client, position, response) {
                    self.send_error(client, refusal);
                }
            }
            Command::Stalled { clients } => {
                for id in clients {
                    self.drop_client(id);
                }
            }
            Command::Settled { answers, lost } => {
                self.unsettled = self.unsettled.saturating_sub(answers);
                for (participant, position) in lost {
                    self.unanswer(&participant, position);
                }
                if self.unsettled == 0 && self.everyone_answered() {
                    self.reveal().await?;
                }
            }
            Command::Host { actor, cmd, reply } => {
                let result = self.host(&actor, cmd).await;
                let _ = reply.send(result);
            }
        }
        Ok(())
    }

    async fn join(
        &mut self,
        role: ClientRole,
        player: Option<PlayerAuth>,
        out: Outbox,
        relay: Relay,
        kick: Kick,
    ) -> Result<u64, Refusal> {
        let mut you = None;
        let mut participant = None;
        if role == ClientRole::Player {
            let auth = player.ok_or((ErrorCode::BadFrame, "缺少玩家身份".to_string()))?;
            if matches!(self.phase, Phase::Podium) && !matches!(auth, PlayerAuth::Token(_)) {
                return Err((ErrorCode::WrongPhase, "比赛已经结束".into()));
            }
            let (idx, token) = match auth {
                PlayerAuth::Token(token) => {
                    let hash = crate::auth::hash_token(&token);
                    let idx = *self
                        .by_token
                        .get(&hash)
                        .ok_or((ErrorCode::NotFound, "重新加入的凭证无效".to_string()))?;
                    (idx, token)
                }
                PlayerAuth::Member { id, name } => {
                    self.admits_entrant(Some(&id))?;
                    let token = crate::auth::random_token(24);
                    let hash = crate::auth::hash_token(&token);
                    match self
                        .players
                        .iter()
                        .position(|p| p.member_id.as_deref() == Some(&id))
                    {
                        Some(idx) => {
                            self.guarded(rec::set_token(
                                &self.db,
                                &self.id,
                                &self.players[idx].id,
                                &hash,
                                self.fence(),
                            ))
                            .await
                            .map_err(internal)?;
                            let old = std::mem::replace(&mut self.players[idx].token_hash, hash);
                            self.by_token.remove(&old);
                            self.by_token
                                .insert(self.players[idx].token_hash.clone(), idx);
                            (idx, token)
                        }
                        None => {
                            let pid = self
                                .guarded(rec::add_participant(
                                    &self.db,
                                    &self.id,
                                    Some(&id),
                                    &name,
                                    &hash,
                                    self.fence(),
                                ))
                                .await
                                .map_err(internal)?;
                            (self.add_player(pid, name, Some(id), hash), token)
                        }
                    }
                }
                PlayerAuth::Guest { name } => {
                    self.admits_entrant(None)?;
                    if !self.settings.guests_allowed {
                        return Err((
                            ErrorCode::NotAllowed,
                            "本场比武只允许名册内人员参加，请先登录".into(),
                        ));
                    }
                    let name = crate::domain::competition::display_name(&name)
                        .map_err(|m| (ErrorCode::BadFrame, m))?;
                    let guests = self
                        .players
                        .iter()
                        .filter(|p| p.member_id.is_none())
                        .count();
                    if guests >= self.settings.max_guests as usize {
                        return Err((
                            ErrorCode::NotAllowed,
                            format!(
                                "本场访客已满（{} 人），请以名册内人员身份登录参加",
                                self.settings.max_guests
                            ),
                        ));
                    }
                    // (That the name is no roster member's was checked at the handshake, off
                    // the conductor: see `session::admit`.)
                    let token = crate::auth::random_token(24);
                    let hash = crate::auth::hash_token(&token);
                    let pid = self
                        .guarded(rec::add_participant(
                            &self.db,
                            &self.id,
                            None,
                            &name,
                            &hash,
                            self.fence(),
                        ))
                        .await
                        .map_err(internal)?;
                    (self.add_player(pid, name, None, hash), token)
                }
            };
            let p = &self.players[idx];
            if p.removed {
                return Err((ErrorCode::NotAllowed, "您已被主持人移出本场比武".into()));
            }
            participant = Some(p.id.clone());
            you = Some(You {
                participant: p.id.clone(),
                name: p.name.clone(),
                token,
                points: p.tally.total,
                streak: p.tally.streak,
            });
        }
        let id = self.next_client;
        self.next_client += 1;
        if let Some(pid) = &participant {
            *self.sockets.entry(pid.clone()).or_default() += 1;
        }
        self.clients.insert(
            id,
            Client {
                role,
                participant: participant.clone(),
                out,
                relay,
                kick,
            },
        );
        self.dirty = true;
        let welcome = frame(&ServerMsg::Welcome {
            protocol: super::protocol::PROTOCOL_VERSION,
            role,
            competition: self.id.clone(),
            title: self.title.clone(),
            total_questions: self.questions.len() as u32,
            phase: self.phase.name(),
            you,
        });
        self.send(id, welcome);
        // Then where the room is now.
        let staff = Self::staff(role);
        let now_frame = match &self.phase {
            Phase::Lobby => Some(self.lobby_frame(staff)),
            Phase::Question(l) => {
                let mine = participant
                    .as_ref()
                    .and_then(|pid| self.by_id.get(pid))
                    .map(|&i| self.players[i].answers.get(&l.position));
                Some(frame(&ServerMsg::Question {
                    question: self.question_view(l, Instant::now()),
                    answered: mine.map(|a| a.is_some()),
                    your_answer: mine.flatten().map(|a| a.response.clone()),
                }))
            }
            Phase::Reveal(_) | Phase::Leaderboard(_) => {
                if staff {
                    if matches!(self.phase, Phase::Leaderboard(_)) {
                        self.last_leaderboard.clone()
                    } else {
                        self.last_reveal.clone()
                    }
                } else {
                    participant
                        .as_ref()
                        .and_then(|pid| self.by_id.get(pid))
                        .and_then(|&i| self.players[i].last_result.clone())
                }
            }
            Phase::Podium => self.last_podium.clone(),
        };
        if let Some(f) = now_frame {
            self.send(id, f);
        }
        if staff
            && matches!(self.phase, Phase::Reveal(_) | Phase::Leaderboard(_))
            && let Some(f) = self.last_leaderboard.clone()
            && matches!(self.phase, Phase::Reveal(_))
        {
            self.send(id, f);
        }
        Ok(id)
    }

    /// Refuses a player the competition's entrant list leaves out (a guest included).
    fn admits_entrant(&self, member: Option<&str>) -> Result<(), Refusal> {
        if self.settings.admits_entrant(member) {
            Ok(())
        } else {
            Err((ErrorCode::NotEntrant, competition::NOT_ENTRANT.into()))
        }
    }

    fn add_player(
        &mut self,
        id: String,
        name: String,
        member_id: Option<String>,
        token_hash: String,
    ) -> usize {
        let idx = self.players.len();
        self.by_id.insert(id.clone(), idx);
        self.by_token.insert(token_hash.clone(), idx);
        // A late joiner has missed the revealed questions: tally them as missed.
        let mut p = Player {
            id,
            name,
            member_id,
            token_hash,
            removed: false,
            answers: HashMap::new(),
            tally: Tally::default(),
            rank: 0,
            last_result: None,
        };
        p.tally = competition::tally(&self.settings, &self.asked_rules(), &self.given(&p));
        self.players.push(p);
        self.active += 1;
        idx
    }

    /// Grades an answer and hands it to the writer, which acks it once it is durable.
    fn answer(&mut self, client: u64, position: u32, response: Response) -> Result<(), Refusal> {
        let (pid, tx) = self
            .clients
            .get(&client)
            .and_then(|c| Some((c.participant.clone()?, c.out.clone())))
            .ok_or((ErrorCode::NotAllowed, "只有选手可以答题".to_string()))?;
        let Phase::Question(l) = &self.phase else {
            return Err(match self.phase {
                Phase::Reveal(p) | Phase::Leaderboard(p) if p == position => {
                    (ErrorCode::LateAnswer, "本题作答时间已过".into())
                }
                _ => (ErrorCode::WrongPhase, "现在不是答题时间".into()),
            });
        };
        if l.position != position {
            return Err((
                ErrorCode::WrongPhase,
                format!(
                    "当前是第 {} 题，不能回答第 {} 题",
                    l.position + 1,
                    position + 1
                ),
            ));
        }
        let idx = self.by_id[&pid];
        if self.players[idx].removed {
            return Err((ErrorCode::NotAllowed, "您已被移出本场比武".into()));
        }
        if self.players[idx].answers.contains_key(&position) {
            return Err((ErrorCode::DuplicateAnswer, "本题已经作答，不能更改".into()));
        }
        let asked = &self.questions[position as usize];
        let elapsed = l.elapsed(Instant::now());
        if elapsed > limit(asked) + l.extra + GRACE {
            return Err((ErrorCode::LateAnswer, "本题作答时间已过".into()));
        }
        let correct = competition::grade_with(&asked.question, &asked.also_accepted, &response)
            .map_err(|e| (ErrorCode::BadAnswer, e))?;
        // Timed as at most the set limit: an answer in the grace or in extended time counts
        // as given at the limit (docs/protocol.md, Timing), in the records as in the tally.
        let elapsed_ms = (elapsed.as_millis() as u64).min(asked.time_limit_ms);
        // Provisional points (the tally at the reveal is what counts).
        let prior = &self.players[idx].tally;
        let mut points = 0;
        if correct && !asked.voided {
            points = crate::domain::scoring::standard_points(
                self.settings.base_points,
                elapsed_ms,
                asked.time_limit_ms,
                self.settings.speed_bonus,
            );
            if self.settings.streak_bonus {
                points += competition::streak_bonus(prior.streak + 1);
            }
        }
        let me = self
            .me
            .upgrade()
            .ok_or((ErrorCode::Internal, "比赛房间已关闭".to_string()))?;
        let row = AnswerRow {
            id: new_id(),
            competition_id: self.id.clone(),
            position: i64::from(position),
            participant_id: pid.clone(),
            question_version: asked.version.clone(),
            response: serde_json::to_string(&response).unwrap_or_default(),
            correct: correct as i64,
            elapsed_ms: elapsed_ms as i64,
            points,
            answered_at: now_ms(),
        };
        self.players[idx].answers.insert(
            position,
            Answer {
                response,
                elapsed_ms,
            },
        );
        if let Phase::Question(l) = &mut self.phase {
            l.answered += 1;
        }
        self.dirty = true;
        let job = Job {
            row,
            client: tx,
            room: me,
            fence: self.fence(),
        };
        if self.writer.submit(job).is_err() {
            self.unanswer(&pid, position);
            return Err((
                ErrorCode::Internal,
                "服务器繁忙，答案未能保存，请重新提交".into(),
            ));
        }
        self.unsettled += 1;
        Ok(())
    }

    /// Forgets an answer that was not stored, so the player can send it again.
    fn unanswer(&mut self, participant: &str, position: u32) {
        if let Some(&i) = self.by_id.get(participant)
            && self.players[i].answers.remove(&position).is_some()
            && let Phase::Question(l) = &mut self.phase
            && l.position == position
        {
            l.answered = l.answered.saturating_sub(1);
        }
    }

    fn everyone_answered(&self) -> bool {
        match &self.phase {
            Phase::Question(l) => {
                let active = self.active_players();
                active > 0 && l.answered >= active
            }
            _ => false,
        }
    }

    async fn host(&mut self, actor: &str, cmd: HostCmd) -> Result<(), Refusal> {
        let wrong = |what: &str| Err((ErrorCode::WrongPhase, format!("当前阶段不能{what}")));
        match cmd {
            HostCmd::Start => {
                if !matches!(self.phase, Phase::Lobby) {
                    return wrong("开始");
                }
                // The host may have swapped drawn questions in the lobby: lock the draw in
                // the records, then ask what they hold.
                self.guarded(rec::lock_draw(&self.db, &self.id, self.fence()))
                    .await
                    .map_err(internal)?;
                self.questions = rec::questions(&self.db, &self.id).await.map_err(internal)?;
                // Named teams and entrants may have been set in the lobby: read them now,
                // once the competition left the lobby and neither can change any more.
                self.reload_rules().await.map_err(internal)?;
                if self.questions.is_empty() {
                    return Err((ErrorCode::WrongPhase, "本场比武没有题目".into()));
                }
                self.remove_non_entrants(actor).await.map_err(internal)?;
                self.show_question(0).await.map_err(internal)?;
            }
            HostCmd::Next => match self.phase {
                Phase::Reveal(p) => self.show_leaderboard(p).await.map_err(internal)?,
                Phase::Leaderboard(p) if (p as usize + 1) < self.questions.len() => {
                    self.show_question(p + 1).await.map_err(internal)?
                }
                Phase::Leaderboard(_) => self.podium().await.map_err(internal)?,
                _ => return wrong("进入下一步"),
            },
            HostCmd::Pause => match &mut self.phase {
                Phase::Question(l) if l.paused_at.is_none() => {
                    l.paused_at = Some(Instant::now());
                    let remaining_ms = self.remaining_ms();
                    self.persist().await.map_err(internal)?;
                    self.broadcast(&frame(&ServerMsg::Paused { remaining_ms }), |_| true);
                }
                _ => return wrong("暂停"),
            },
            HostCmd::Resume => match &mut self.phase {
                Phase::Question(l) if l.paused_at.is_some() => {
                    let at = l.paused_at.take().expect("checked");
                    l.paused_total += at.elapsed();
                    let remaining_ms = self.remaining_ms();
                    self.persist().await.map_err(internal)?;
                    self.broadcast(&frame(&ServerMsg::Resumed { remaining_ms }), |_| true);
                }
                _ => return wrong("继续"),
            },
            HostCmd::Extend(secs) => match &mut self.phase {
                Phase::Question(l) => {
                    if !(1..=120).contains(&secs) {
                        return Err((ErrorCode::BadFrame, "延长时间应为 1–120 秒".into()));
                    }
                    l.extra += Duration::from_secs(u64::from(secs));
                    let remaining_ms = self.remaining_ms();
                    self.persist().await.map_err(internal)?;
                    self.broadcast(&frame(&ServerMsg::Time { remaining_ms }), |_| true);
                }
                _ => return wrong("延长时间"),
            },
            HostCmd::Skip => match self.phase {
                Phase::Question(_) => self.reveal().await.map_err(internal)?,
                _ => return wrong("跳过"),
            },
            HostCmd::End => {
                if matches!(self.phase, Phase::Podium) {
                    return wrong("结束");
                }
                if matches!(self.phase, Phase::Question(_)) {
                    self.reveal().await.map_err(internal)?;
                }
                self.podium().await.map_err(internal)?;
            }
            HostCmd::Remove(pid) => {
                let idx = *self
                    .by_id
                    .get(&pid)
                    .ok_or((ErrorCode::NotFound, "没有这名选手".to_string()))?;
                self.remove_player(
                    actor,
                    idx,
                    "competition.remove_player",
                    frame(&ServerMsg::Removed),
                )
                .await
                .map_err(internal)?;
                if self.everyone_answered() {
                    self.reveal().await.map_err(internal)?;
                }
            }
            HostCmd::Void { position, reason } => {
                self.rule(actor, position, &reason, None).await?;
            }
            HostCmd::Accept {
                position,
                answer,
                reason,
            } => {
                self.rule(actor, position, &reason, Some(answer)).await?;
            }
            HostCmd::ConfirmAwards => {
                if !matches!(self.phase, Phase::Podium) {
                    return wrong("确认表彰");
                }
                if self.awards_confirmed {
                    return Err((ErrorCode::WrongPhase, "表彰已经确认".into()));
                }
                self.confirm_awards(actor).await.map_err(internal)?;
            }
        }
        Ok(())
    }

    // ---- phases ----

    fn board_key(&self) -> String {
        format!("competition:{}", self.id)
    }

    async fn persist(&self) -> anyhow::Result<()> {
        let (status, phase, position) = match &self.phase {
            Phase::Lobby => ("lobby", "lobby", 0),
            Phase::Question(l) => ("running", "question", l.position),
            Phase::Reveal(p) => ("running", "reveal", *p),
            Phase::Leaderboard(p) => ("running", "leaderboard", *p),
            Phase::Podium => ("ended", "podium", self.revealed.saturating_sub(1)),
        };
        let (started, paused, extra) = match &self.phase {
            Phase::Question(l) => {
                let elapsed = l.elapsed(Instant::now()).as_millis() as i64;
                let q = &self.questions[l.position as usize];
                let remaining = (limit(q) + l.extra).as_millis() as i64 - elapsed;
                (
                    Some(now_ms() - elapsed),
                    l.paused_at.map(|_| remaining.max(0)),
                    l.extra.as_millis() as i64,
                )
            }
            _ => (None, None, 0),
        };
        rec::save_phase(
            &self.db,
            &self.id,
            rec::PhaseRecord {
                status,
                phase,
                position,
                phase_started_at: started,
                paused_remaining_ms: paused,
                extra_ms: extra,
                fence: self.fence(),
            },
        )
        .await
        .inspect_err(|e| {
            if e.downcast_ref::<rec::Fenced>().is_some() {
                self.fenced.store(true, Ordering::Relaxed);
            }
        })
    }

    async fn show_question(&mut self, position: u32) -> anyhow::Result<()> {
        let answered = self
            .players
            .iter()
            .filter(|p| p.answers.contains_key(&position))
            .count() as u32;
        let live = Live {
            position,
            shown_at: Instant::now(),
            extra: Duration::ZERO,
            paused_at: None,
            paused_total: Duration::ZERO,
            answered,
        };
        let f = frame(&ServerMsg::Question {
            question: self.question_view(&live, live.shown_at),
            answered: None,
            your_answer: None,
        });
        self.phase = Phase::Question(live);
        self.persist().await?;
        self.broadcast(&f, |_| true);
        self.dirty = true;
        Ok(())
    }

    fn asked_rules(&self) -> Vec<AskedRule> {
        self.questions[..self.revealed as usize]
            .iter()
            .map(|a| AskedRule {
                limit_ms: a.time_limit_ms,
                voided: a.voided,
            })
            .collect()
    }

    fn given(&self, p: &Player) -> Vec<Option<Given>> {
        self.questions[..self.revealed as usize]
            .iter()
            .map(|a| {
                p.answers.get(&a.position).map(|ans| Given {
                    correct: competition::grade_with(&a.question, &a.also_accepted, &ans.response)
                        .unwrap_or(false),
                    elapsed_ms: ans.elapsed_ms,
                })
            })
            .collect()
    }

    /// Re-tallies every player over the revealed questions and pushes the totals to the board.
    async fn retally(&mut self) -> anyhow::Result<()> {
        self.tally_all();
        self.mirror_board().await;
        Ok(())
    }

    /// Every player's tally and rank from their answers to the questions asked so far.
    fn tally_all(&mut self) {
        let rules = self.asked_rules();
        let tallies: Vec<Tally> = self
            .players
            .iter()
            .map(|p| competition::tally(&self.settings, &rules, &self.given(p)))
            .collect();
        for (p, t) in self.players.iter_mut().zip(tallies) {
            p.tally = t;
        }
        for s in self.standings() {
            if let Some(&i) = self.by_id.get(&s.member) {
                self.players[i].rank = s.rank;
            }
        }
    }

    /// Writes the board's mirror in Redis whole from the tallies.
    async fn mirror_board(&self) {
        let entries: Vec<(String, i64, i64)> = self
            .players
            .iter()
            .filter(|p| !p.removed)
            .map(|p| (p.id.clone(), p.tally.total, p.tally.total_ms))
            .collect();
        let key = self.board_key();
        // Best effort: the room ranks from its own tallies, so a board that is away (Redis
        // down) costs no reveal; the next reveal after it returns writes it whole again.
        let mirrored = async {
            self.board.clear(&key).await?;
            self.board.set_many(&key, &entries).await
        };
        if let Err(e) = mirrored.await {
            tracing::warn!(room = %self.id, error = %e, "board not updated");
        }
    }

    /// Everyone's standing, best first, from the room's own tallies — the same order and
    /// shared ranks the board gives (ties in Redis order: the greater participant id first).
    fn standings(&self) -> Vec<crate::board::Standing> {
        let mut entries: Vec<(String, f64)> = self
            .players
            .iter()
            .filter(|p| !p.removed)
            .map(|p| {
                let score = crate::domain::scoring::encode(p.tally.total, p.tally.total_ms);
                (p.id.clone(), score)
            })
            .collect();
        entries.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| b.0.cmp(&a.0)));
        crate::board::rank_sorted(entries)
    }

    fn lines(
        &mut self,
        standings: &[crate::board::Standing],
        n: usize,
        update_previous: bool,
    ) -> Vec<Line> {
        let lines: Vec<Line> = standings
            .iter()
            .take(n)
            .map(|s| {
                let name = self
                    .by_id
                    .get(&s.member)
                    .map(|&i| self.players[i].name.clone())
                    .unwrap_or_default();
                let change = self
                    .previous_ranks
                    .get(&s.member)
                    .map(|&old| old as i64 - s.rank as i64)
                    .unwrap_or(0);
                Line {
                    rank: s.rank,
                    participant: s.member.clone(),
                    name,
                    points: s.points,
                    total_ms: s.total_ms,
                    change,
                }
            })
            .collect();
        if update_previous {
            self.previous_ranks = standings
                .iter()
                .map(|s| (s.member.clone(), s.rank))
                .collect();
        }
        lines
    }

    /// Re-reads the settings and the teams from the records (at `start`).
    /// Takes a player out of the game: in the records, the audit, the board and the room;
    /// their sockets get `notice` and are closed. Nothing happens to one removed already.
    async fn remove_player(
        &mut self,
        actor: &str,
        idx: usize,
        action: &str,
        notice: Frame,
    ) -> anyhow::Result<()> {
        if self.players[idx].removed {
            return Ok(());
        }
        let pid = self.players[idx].id.clone();
        self.guarded(rec::remove_participant(
            &self.db,
            &self.id,
            &pid,
            self.fence(),
        ))
        .await?;
        audit::record(
            &self.db,
            Some(actor),
            action,
            &self.id,
            serde_json::json!({ "participant": pid, "name": self.players[idx].name }),
        )
        .await?;
        self.players[idx].removed = true;
        self.active = self.active.saturating_sub(1);
        if let Err(e) = self.board.remove(&self.board_key(), &pid).await {
            // The board mirrors the room: the next reveal writes it whole again.
            tracing::warn!(room = %self.id, error = %e, "board not updated");
        }
        let theirs: Vec<u64> = self
            .clients
            .iter()
            .filter(|(_, c)| c.participant.as_deref() == Some(&pid))
            .map(|(id, _)| *id)
            .collect();
        for id in theirs {
            self.send(id, notice.clone());
            let reason = CloseReason {
                code: CloseCode::Normal,
                description: Some("removed".into()),
            };
            self.kick(id, reason);
        }
        self.dirty = true;
        Ok(())
    }

    /// At the start, players who joined the lobby before the entrant list was set and are not
    /// on it leave the game (guests included), told why.
    async fn remove_non_entrants(&mut self, actor: &str) -> anyhow::Result<()> {
        let out: Vec<usize> = (0..self.players.len())
            .filter(|&i| {
                let p = &self.players[i];
                !p.removed && !self.settings.admits_entrant(p.member_id.as_deref())
            })
            .collect();
        let notice = frame(&ServerMsg::Error {
            code: ErrorCode::NotEntrant,
            message: competition::NOT_ENTRANT.into(),
        });
        for idx in out {
            self.remove_player(actor, idx, "competition.remove_non_entrant", notice.clone())
                .await?;
        }
        Ok(())
    }

    async fn reload_rules(&mut self) -> anyhow::Result<()> {
        let c = rec::by_id(&self.db, &self.id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("competition {} vanished", self.id))?;
        self.settings = serde_json::from_str(&c.settings)?;
        self.teams = load_teams(&self.db, &self.settings, &self.id).await?;
        Ok(())
    }

    /// Team standings from the room's own tallies: each member playing (not removed) counts
    /// with their points; guests are on no team.
    fn team_standings(&self) -> Vec<TeamStanding> {
        if !self.settings.teams.enabled() {
            return Vec::new();
        }
        let scores: HashMap<String, i64> = self
            .players
            .iter()
            .filter(|p| !p.removed)
            .filter_map(|p| Some((p.member_id.clone()?, p.tally.total)))
            .collect();
        teams::standings(&self.settings.teams, &self.teams, &scores)
    }

    fn team_lines(&self) -> Vec<TeamLine> {
        self.team_standings().iter().map(TeamLine::from).collect()
    }

    fn reveal_msg(&self, position: u32) -> ServerMsg {
        let a = &self.questions[position as usize];
        let q = &a.question;
        let distribution = competition::distribution(
            q,
            &a.also_accepted,
            self.players
                .iter()
                .filter(|p| !p.removed)
                .filter_map(|p| p.answers.get(&position).map(|ans| &ans.response)),
        );
        ServerMsg::Reveal {
            position,
            kind: q.kind,
            stem: q.stem.clone(),
            options: q.options.clone(),
            answer: q.answer.display(),
            distribution,
            explanation: q.explanation.clone(),
            source: q.source.clone(),
            voided: a.voided,
            also_accepted: a.also_accepted.iter().map(Response::display).collect(),
        }
    }

    /// A player's one frame at the reveal: their result with the shared reveal spliced in
    /// (`reveal_json` is serialised once for everyone), so a question costs 3 frames a player.
    fn result_frame(&self, p: &Player, position: u32, players: u32, reveal_json: &str) -> Frame {
        let asked = &self.questions[position as usize];
        let answer = p.answers.get(&position);
        let correct = answer.is_some_and(|a| {
            competition::grade_with(&asked.question, &asked.also_accepted, &a.response)
                .unwrap_or(false)
        });
        let result = ServerMsg::Result {
            position,
            answered: answer.is_some(),
            correct,
            points: p.tally.points.get(position as usize).copied().unwrap_or(0),
            total: p.tally.total,
            rank: p.rank,
            players,
            streak: p.tally.streak,
            your_answer: answer.map(|a| a.response.clone()),
        };
        let mut json = serde_json::to_string(&result).expect("ServerMsg serialises");
        // `{…}` → `{…,"reveal":{…}}`
        json.pop();
        json.push_str(",\"reveal\":");
        json.push_str(reveal_json);
        json.push('}');
        ByteString::from(json)
    }

    async fn reveal(&mut self) -> anyhow::Result<()> {
        let Phase::Question(l) = &self.phase else {
            return Ok(());
        };
        let position = l.position;
        // The last count goes out first, so screens never show fewer answers than the reveal.
        self.flush_counts();
        self.phase = Phase::Reveal(position);
        self.revealed = self.revealed.max(position + 1);
        self.persist().await?;
        self.retally().await?;
        self.to_notebooks(position);
        self.rebuild_reveal(position).await?;
        let f = self.last_reveal.clone().expect("just built");
        self.broadcast(&f, Self::staff);
        let results = self
            .clients
            .iter()
            .filter_map(|(id, c)| {
                let i = *self.by_id.get(c.participant.as_ref()?)?;
                Some((*id, self.players[i].last_result.clone()?))
            })
            .collect();
        self.post(results);
        Ok(())
    }

    /// Members' wrong or missed answers go into their notebooks (right ones count as reviews
    /// of entries already there). Written by a background task: the room does not wait.
    fn to_notebooks(&self, position: u32) {
        let asked = &self.questions[position as usize];
        if asked.voided {
            return;
        }
        let outcomes: Vec<(String, bool)> = self
            .players
            .iter()
            .filter(|p| !p.removed)
            .filter_map(|p| {
                let member = p.member_id.clone()?;
                let right = p.answers.get(&position).is_some_and(|a| {
                    competition::grade_with(&asked.question, &asked.also_accepted, &a.response)
                        .unwrap_or(false)
                });
                Some((member, right))
            })
            .collect();
        let db = self.db.clone();
        let question_id = asked.question.id.clone();
        tokio::spawn(async move {
            let now = now_ms();
            for (member, right) in outcomes {
                let done = async {
                    let mut conn = db.pool.acquire().await?;
                    crate::records::drills::notebook_review(
                        &mut conn,
                        &member,
                        &question_id,
                        right,
                        "competition",
                        now,
                    )
                    .await
                };
                if let Err(e) = done.await {
                    tracing::warn!(error = ?e, "notebook entry from a competition failed");
                }
            }
        });
    }

    /// Builds the reveal frame and every player's result frame for `position`.
    async fn rebuild_reveal(&mut self, position: u32) -> anyhow::Result<()> {
        let reveal = frame(&self.reveal_msg(position));
        let reveal_json: &str = &reveal;
        let players = self.active_players();
        let results: Vec<Option<Frame>> = self
            .players
            .iter()
            .map(|p| (!p.removed).then(|| self.result_frame(p, position, players, reveal_json)))
            .collect();
        for (p, r) in self.players.iter_mut().zip(results) {
            p.last_result = r;
        }
        self.last_reveal = Some(reveal);
        let standings = self.standings();
        let top = self.lines(&standings, 10, false);
        self.last_leaderboard = Some(frame(&ServerMsg::Leaderboard {
            top,
            players,
            teams: self.team_lines(),
        }));
        Ok(())
    }

    async fn show_leaderboard(&mut self, position: u32) -> anyhow::Result<()> {
        self.phase = Phase::Leaderboard(position);
        self.persist().await?;
        let standings = self.standings();
        let top = self.lines(&standings, 10, true);
        let f = frame(&ServerMsg::Leaderboard {
            top,
            players: self.active_players(),
            teams: self.team_lines(),
        });
        self.last_leaderboard = Some(f.clone());
        self.broadcast(&f, Self::staff);
        Ok(())
    }

    async fn podium(&mut self) -> anyhow::Result<()> {
        self.phase = Phase::Podium;
        self.persist().await?;
        let standings: Vec<(String, u64, i64, i64)> = self
            .standings()
            .into_iter()
            .map(|s| (s.member, s.rank, s.points, s.total_ms))
            .collect();
        self.guarded(rec::save_standings(
            &self.db,
            &self.id,
            &standings,
            self.fence(),
        ))
        .await?;
        self.rebuild_podium().await?;
        let f = self.last_podium.clone().expect("just built");
        self.broadcast(&f, |_| true);
        Ok(())
    }

    fn finals(&self, standings: &[crate::board::Standing]) -> Vec<Final> {
        standings
            .iter()
            .map(|s| Final {
                participant: s.member.clone(),
                rank: s.rank,
                points: s.points,
                member: self
                    .by_id
                    .get(&s.member)
                    .is_some_and(|&i| self.players[i].member_id.is_some()),
            })
            .collect()
    }

    async fn rebuild_podium(&mut self) -> anyhow::Result<()> {
        let standings = self.standings();
        let finals = self.finals(&standings);
        let proposed_ids: Vec<String> = competition::propose(self.settings.award_rule, &finals)
            .iter()
            .map(|f| f.participant.clone())
            .collect();
        let all = self.lines(&standings, usize::MAX, false);
        let proposed = all
            .iter()
            .filter(|l| proposed_ids.contains(&l.participant))
            .cloned()
            .collect();
        let top = all.into_iter().take(10).collect();
        self.last_podium = Some(frame(&ServerMsg::Podium {
            top,
            proposed,
            awards_confirmed: self.awards_confirmed,
            teams: self.team_lines(),
        }));
        Ok(())
    }

    async fn confirm_awards(&mut self, actor: &str) -> anyhow::Result<()> {
        let standings = self.standings();
        let finals = self.finals(&standings);
        let proposed = competition::propose(self.settings.award_rule, &finals);
        let awards: Vec<(String, String, u64, i64)> = proposed
            .iter()
            .filter_map(|f| {
                let p = &self.players[*self.by_id.get(&f.participant)?];
                Some((
                    p.member_id.clone()?,
                    "业务标兵".to_string(),
                    f.rank,
                    f.points,
                ))
            })
            .collect();
        let table: Vec<(String, u64, i64, i64)> = standings
            .iter()
            .map(|s| (s.member.clone(), s.rank, s.points, s.total_ms))
            .collect();
        let team_standings = self.team_standings();
        let winners = teams::winners(&self.settings.teams, &team_standings);
        let team_rule = self.settings.teams;
        let with_teams = team_rule
            .enabled()
            .then_some((&team_rule, winners.as_slice()));
        let (ids, team_ids) = self
            .guarded(rec::confirm_awards(
                &self.db,
                &self.id,
                actor,
                &table,
                &awards,
                with_teams,
                self.fence(),
            ))
            .await?;
        audit::record(
            &self.db,
            Some(actor),
            "competition.confirm_awards",
            &self.id,
            serde_json::json!({
                "awards": ids,
                "members": awards.iter().map(|a| &a.0).collect::<Vec<_>>(),
                "team_awards": team_ids,
                "teams": winners.iter().map(|w| &w.id).collect::<Vec<_>>(),
            }),
        )
        .await?;
        self.awards_confirmed = true;
        self.rebuild_podium().await?;
        let f = self.last_podium.clone().expect("just built");
        self.broadcast(&f, |_| true);
        Ok(())
    }

    async fn rule(
        &mut self,
        actor: &str,
        position: u32,
        reason: &str,
        accept: Option<Response>,
    ) -> Result<(), Refusal> {
        if reason.trim().is_empty() {
            return Err((ErrorCode::BadFrame, "裁定须写明理由".into()));
        }
        if position >= self.revealed {
            return Err((ErrorCode::WrongPhase, "只能对已揭晓的题目作出裁定".into()));
        }
        let a = &mut self.questions[position as usize];
        let ruling = match &accept {
            None => {
                a.voided = true;
                "void"
            }
            Some(r) => {
                a.question.grade(r).map_err(|e| (ErrorCode::BadAnswer, e))?;
                if !a.also_accepted.contains(r) {
                    a.also_accepted.push(r.clone());
                }
                "accept"
            }
        };
        let (voided, also) = (a.voided, a.also_accepted.clone());
        self.guarded(rec::set_ruling(
            &self.db,
            &self.id,
            position,
            voided,
            &also,
            self.fence(),
        ))
        .await
        .map_err(internal)?;
        audit::record(
            &self.db,
            Some(actor),
            &format!("competition.ruling.{ruling}"),
            &self.id,
            serde_json::json!({ "position": position, "reason": reason, "answer": accept }),
        )
        .await
        .map_err(internal)?;
        self.retally().await.map_err(internal)?;
        // Rewrite the graded answers in the records to match.
        let mut changes = Vec::new();
        let recorded = rec::answers(&self.db, &self.id).await.map_err(internal)?;
        for row in recorded {
            let Some(&i) = self.by_id.get(&row.participant_id) else {
                continue;
            };
            let p = &self.players[i];
            let pos = row.position as usize;
            let Some(asked) = self.questions.get(pos) else {
                continue;
            };
            let Some(ans) = p.answers.get(&(pos as u32)) else {
                continue;
            };
            let correct =
                competition::grade_with(&asked.question, &asked.also_accepted, &ans.response)
                    .unwrap_or(false) as i64;
            let points = p.tally.points.get(pos).copied().unwrap_or(row.points);
            if correct != row.correct || points != row.points {
                changes.push((row.id, correct, points));
            }
        }
        self.guarded(rec::regrade(&self.db, &self.id, &changes, self.fence()))
            .await
            .map_err(internal)?;
        let players = self.active_players();
        self.broadcast(
            &frame(&ServerMsg::Ruling {
                position,
                ruling: ruling.into(),
                reason: reason.to_string(),
            }),
            |_| true,
        );
        match self.phase {
            Phase::Reveal(p) | Phase::Leaderboard(p) => {
                self.rebuild_reveal(p).await.map_err(internal)?
            }
            Phase::Podium => self.rebuild_podium().await.map_err(internal)?,
            _ => {}
        }
        let standings = self.standings();
        let top = self.lines(&standings, 10, false);
        let lb = frame(&ServerMsg::Leaderboard {
            top,
            players,
            teams: self.team_lines(),
        });
        self.broadcast(&lb, Self::staff);
        if let Some(f) = self
            .last_podium
            .clone()
            .filter(|_| matches!(self.phase, Phase::Podium))
        {
            self.broadcast(&f, |_| true);
        }
        let standings = self
            .clients
            .iter()
            .filter_map(|(id, c)| {
                let p = &self.players[*self.by_id.get(c.participant.as_ref()?)?];
                let f = frame(&ServerMsg::Standing {
                    total: p.tally.total,
                    rank: p.rank,
                    players,
                });
                Some((*id, f))
            })
            .collect();
        self.post(standings);
        Ok(())
    }
}
