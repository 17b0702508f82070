//! The stage final's conductor: one task per final owns its timeline (rounds, items, steps),
//! driven by [`Cmd`]s from the sockets of the host console, the projector, the team devices and
//! the judges' phones. It reuses the live room's parts: frames serialised once per audience and
//! queued without waiting ([`Outbox`]), the server's clock, and records before anything is
//! shown — every buzz, score change and judge's mark is written before the frames that show it.
//!
//! The rules are `domain::stage`; this module only sequences them. After a restart the
//! conductor rebuilds the final from its records: the set-up, the score changes, and the step
//! it was at (kept in `stages.state`), so a 抢答 question that was open stays open.

pub mod audience;
pub mod cluster;
pub mod report;
pub mod session;

use crate::domain::Question;
use crate::domain::stage::{self, Arbitration, Buzz, Change, RoundKind, RoundRules, Ruling, Why};
use crate::live::room::{Frame, Outbox};
use crate::records::{Db, audit, now_ms, questions, stages as rec};
use audience::{Asked, AudCmd, Audience, News};
use bytestring::ByteString;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio::time::Instant;

/// Who a socket is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Seat {
    Host { member_id: String },
    Screen,
    Team(usize),
    Judge { member_id: String, name: String },
}

/// What a host may do.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum HostCmd {
    /// Forward one step (the round's card, the next question, the next turn, the podium).
    Next,
    /// 抢答: open the buzzers.
    Open,
    /// Rule the answer being given (a spoken answer judged with one tap).
    Rule { ruling: Ruling },
    /// 风险: set the stake for the team (when its device is not used).
    Stake { stake: i64 },
}

/// Commands to the conductor.
pub enum Cmd {
    Join {
        seat: Seat,
        outbox: Outbox,
        reply: oneshot::Sender<u64>,
    },
    Leave(u64),
    Host {
        client: u64,
        cmd: HostCmd,
    },
    /// A team's buzz, stamped by its socket when received: the server's clock and the order
    /// of receipt across all sockets of the final.
    Buzz {
        client: u64,
        team: usize,
        at: Instant,
        seq: u64,
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
    /// A team's answer entered on its device (rounds that answer there).
    Answer {
        client: u64,
        team: usize,
        response: crate::domain::Response,
    },
    /// From the audience's task: its size and leaders, for the projector.
    Audience(audience::Summary),
}

/// The finals running on this instance.
pub struct Stages {
    db: Db,
    live: Mutex<HashMap<String, Handles>>,
    /// Receive order of buzzes, across every socket of this instance (and, on the instance
    /// conducting a final, the buzzes relayed from the others).
    pub seq: Arc<std::sync::atomic::AtomicU64>,
    /// The multi-threaded runtime the server was built on: conductors run there, not on the
    /// HTTP worker that received the first socket, so a final's work never delays the reading
    /// (and stamping) of the buzzes that arrive on that worker.
    runtime: tokio::runtime::Handle,
    /// With several instances (`--cluster`): a final is conducted only by the instance holding
    /// its lease (`stage:{id}`); the others relay its sockets there ([`cluster`]).
    cluster: Option<Cluster>,
}

/// What a final needs to be conducted under a lease and relayed between instances.
pub struct Cluster {
    pub leases: crate::lease::Leases,
    pub ttl: std::time::Duration,
    pub bus: crate::bus::Bus,
}

/// A running final: its conductor, and its audience's task when the audience plays along.
#[derive(Clone)]
struct Handles {
    conductor: mpsc::Sender<Cmd>,
    audience: Option<mpsc::Sender<AudCmd>>,
}

impl Stages {
    pub fn new(db: Db) -> Arc<Stages> {
        Arc::new(Stages {
            db,
            live: Mutex::new(HashMap::new()),
            seq: Default::default(),
            runtime: tokio::runtime::Handle::current(),
            cluster: None,
        })
    }

    /// Finals conducted under leases and relayed over the bus (several instances on one
    /// Redis).
    pub fn clustered(db: Db, cluster: Cluster) -> Arc<Stages> {
        Arc::new(Stages {
            db,
            live: Mutex::new(HashMap::new()),
            seq: Default::default(),
            runtime: tokio::runtime::Handle::current(),
            cluster: Some(cluster),
        })
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The conductor of a final, started from its records on first use.
    pub async fn get(&self, id: &str) -> anyhow::Result<mpsc::Sender<Cmd>> {
        Ok(self.handles(id).await?.conductor)
    }

    /// The audience's task of a final (`None`: its audience does not play along).
    pub async fn audience(&self, id: &str) -> anyhow::Result<Option<mpsc::Sender<AudCmd>>> {
        Ok(self.handles(id).await?.audience)
    }

    async fn handles(&self, id: &str) -> anyhow::Result<Handles> {
        let mut live = self.live.lock().await;
        if let Some(h) = live.get(id).filter(|h| !h.conductor.is_closed()) {
            return Ok(h.clone());
        }
        let held = match &self.cluster {
            Some(c) => {
                let name = format!("stage:{id}");
                match c.leases.hold(&name, c.ttl).await? {
                    Some(held) => Some(held),
                    None => {
                        // Conducted elsewhere: this instance relays its sockets there.
                        // (None: released in between; this instance: its conductor is still
                        // letting go. The socket's page tries again.)
                        let owner = match c.leases.holder(&name).await? {
                            Some((owner, fence)) if owner != c.leases.instance() => (owner, fence),
                            other => {
                                let instance = other.map(|h| h.0).unwrap_or_default();
                                return Err(crate::live::Elsewhere { instance }.into());
                            }
                        };
                        let s = rec::by_id(&self.db, id)
                            .await?
                            .ok_or_else(|| anyhow::anyhow!("no final {id}"))?;
                        let audience = s.audience_pin.is_some();
                        let p = cluster::spawn_proxy(
                            c.bus.clone(),
                            c.leases.clone(),
                            name,
                            owner,
                            id,
                            audience,
                        )
                        .await?;
                        let h = Handles {
                            conductor: p.conductor,
                            audience: p.audience,
                        };
                        live.insert(id.to_string(), h.clone());
                        return Ok(h);
                    }
                }
            }
            None => None,
        };
        // Under a lease, the final is claimed with its fence before it is read: the writes of
        // an older conductor that has not noticed its loss yet are refused from here on.
        let fence = held.as_ref().map_or(0, |h| h.fence() as i64);
        if fence > 0 && !rec::claim(&self.db, id, fence).await? {
            let instance = String::new();
            return Err(crate::live::Elsewhere { instance }.into());
        }
        // Both tasks stop at once when the lease is lost (another instance may take over).
        let lost = held.as_ref().map(|h| h.watch());
        let until_lost = move || {
            let lost = lost.clone();
            async move {
                match lost {
                    Some(mut rx) => {
                        let _ = rx.wait_for(|lost| *lost).await;
                    }
                    None => std::future::pending::<()>().await,
                }
            }
        };
        let mut conductor = Conductor::load(self.db.clone(), id, fence).await?;
        let (tx, rx) = mpsc::channel(1024);
        let audience = if conductor.audience_pin.is_some() {
            let questions = conductor
                .rounds
                .iter()
                .map(|r| r.questions.iter().map(|q| q.0.clone()).collect())
                .collect();
            let a = Audience::load(
                self.db.clone(),
                id,
                &conductor.title,
                questions,
                tx.downgrade(),
                fence,
            )
            .await?;
            let (atx, arx) = mpsc::channel(4096);
            let (news_tx, news_rx) = mpsc::unbounded_channel();
            conductor.news = Some(news_tx);
            let lost = until_lost();
            self.runtime.spawn(async move {
                tokio::select! {
                    _ = a.run(arx, news_rx) => {}
                    _ = lost => {}
                }
            });
            Some(atx)
        } else {
            None
        };
        let lost = until_lost();
        let stage = id.to_string();
        self.runtime.spawn(async move {
            let _held = held;
            tokio::select! {
                _ = conductor.run(rx) => {}
                _ = lost => tracing::warn!(%stage, "stage lease lost: the final stops here"),
            }
        });
        if let Some(c) = &self.cluster {
            let (bus, seq) = (c.bus.clone(), self.seq.clone());
            cluster::spawn_bridge(bus, id, tx.clone(), audience.clone(), seq, fence as u64).await?;
        }
        let h = Handles {
            conductor: tx,
            audience,
        };
        live.insert(id.to_string(), h.clone());
        Ok(h)
    }
}

/// Where the final stands; kept in `stages.state` at every step.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
struct Cursor {
    round: usize,
    /// The item of the round: the question (必答, 抢答), the turn (风险), the team (judged).
    item: usize,
    step: Step,
    /// 风险: questions of the round already asked (by index in the round).
    #[serde(default)]
    used: Vec<usize>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(tag = "step", rename_all = "snake_case")]
enum Step {
    /// Before the first round.
    #[default]
    Waiting,
    /// The round's title and rules card.
    Intro,
    /// A question being answered by `team` (必答, 风险 after the stake, 抢答 after the buzz),
    /// since `since_ms` on the wall clock.
    Answering {
        q: usize,
        team: usize,
        since_ms: i64,
        #[serde(default)]
        stake: Option<i64>,
        /// 抢答: the race, who has answered so far, and when the buzzers opened (later buzzes
        /// are timed from it).
        #[serde(default)]
        race: Option<Arbitration>,
        #[serde(default)]
        opened_ms: Option<i64>,
        #[serde(default)]
        answered: Vec<usize>,
    },
    /// 抢答: the question is shown, the buzzers are not open yet (a buzz now is a false start).
    Ready {
        q: usize,
    },
    /// 抢答: the buzzers are open since `opened_ms`.
    Open {
        q: usize,
        opened_ms: i64,
    },
    /// 风险: the team picks its stake.
    Choosing {
        team: usize,
    },
    /// The answer is shown.
    Ruled {
        q: Option<usize>,
        team: Option<usize>,
        ruling: Option<Ruling>,
    },
    /// Judged: the judges mark `team`.
    Judging {
        team: usize,
    },
    /// Judged: the panel's score for `team` is shown.
    Judged {
        team: usize,
        panel_milli: i64,
    },
    Podium,
}

struct Round {
    title: String,
    rules: RoundRules,
    /// (question, version, stake).
    questions: Vec<(Question, String, Option<i64>)>,
}

struct Team {
    name: String,
    colour: String,
    base: i64,
    /// Members' ids and names (the podium proposes them as 业务标兵 when their team wins).
    members: Vec<(String, String)>,
}

struct Client {
    seat: Seat,
    outbox: Outbox,
}

struct Conductor {
    id: String,
    db: Db,
    /// The fence of the lease it conducts under (0: a single instance); every write carries it.
    fence: i64,
    title: String,
    status: String,
    teams: Vec<Team>,
    rounds: Vec<Round>,
    judges: Vec<(String, String)>,
    /// The projector hides each judge's total until every judge has marked.
    hide_totals: bool,
    /// How many teams the podium proposes as 优胜团队.
    team_winners: u32,
    changes: Vec<Change>,
    next_seq: i64,
    cur: Cursor,
    /// 抢答: when the buzzers opened, on this process's clock, and the buzzes so far.
    opened: Option<Instant>,
    early: Vec<(usize, Instant, u64)>,
    buzzes: Vec<Buzz>,
    clients: HashMap<u64, Client>,
    next_client: u64,
    /// The audience's PIN, when it plays along; what the conductor last told its task, and
    /// the size and leaders the task last reported.
    audience_pin: Option<String>,
    news: Option<mpsc::UnboundedSender<News>>,
    told: Option<Told>,
    audience: Option<audience::Summary>,
}

/// What the audience's task was last told.
#[derive(Debug, Clone, PartialEq)]
enum Told {
    Ask(usize, usize),
    Reveal(usize, usize),
    Idle,
    Podium,
}

fn frame(v: &Value) -> Frame {
    ByteString::from(v.to_string())
}

impl Conductor {
    async fn load(db: Db, id: &str, fence: i64) -> anyhow::Result<Conductor> {
        let s = rec::by_id(&db, id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no final {id}"))?;
        let teams = rec::teams(&db, id)
            .await?
            .into_iter()
            .map(|t| Team {
                members: t
                    .members
                    .iter()
                    .map(|m| (m.0.clone(), m.2.clone()))
                    .collect(),
                name: t.name,
                colour: t.colour,
                base: t.base_score,
            })
            .collect();
        let mut rounds = Vec::new();
        for r in rec::rounds(&db, id).await? {
            let mut qs = Vec::new();
            for (qid, version, stake) in r.questions {
                let q = questions::at_version(&db, &version)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("question {qid} version {version} missing"))?;
                qs.push((q, version, stake));
            }
            rounds.push(Round {
                title: r.title,
                rules: serde_json::from_str(&r.rules)?,
                questions: qs,
            });
        }
        let judges = rec::judges(&db, id)
            .await?
            .into_iter()
            .map(|j| (j.0, j.2))
            .collect();
        let rows = rec::changes(&db, id).await?;
        let next_seq = rows.last().map_or(0, |r| r.seq + 1);
        let changes = rows
            .iter()
            .map(rec::ChangeRow::change)
            .collect::<anyhow::Result<Vec<_>>>()?;
        let cur: Cursor = match &s.state {
            Some(state) => serde_json::from_str(state)?,
            None => Cursor::default(),
        };
        // A question whose buzzers were open before a restart stays open for the time it had
        // left; its earlier buzzes are in the records.
        let opened_ms = match &cur.step {
            Step::Open { opened_ms, .. } => Some(*opened_ms),
            Step::Answering { opened_ms, .. } => *opened_ms,
            _ => None,
        };
        let opened = opened_ms.map(|at| {
            let ago = Duration::from_millis((now_ms() - at).max(0) as u64);
            Instant::now().checked_sub(ago).unwrap_or_else(Instant::now)
        });
        let buzzes = match &cur.step {
            Step::Open { q, .. } | Step::Answering { q, .. }
                if rounds
                    .get(cur.round)
                    .is_some_and(|r: &Round| r.rules.kind == RoundKind::Buzzer) =>
            {
                rec::buzzes(&db, id)
                    .await?
                    .into_iter()
                    .filter(|b| b.round == cur.round as i64 && b.position == *q as i64)
                    .map(|b| Buzz {
                        team: b.team as usize,
                        at_us: b.at_us,
                        seq: b.seq as u64,
                    })
                    .collect()
            }
            _ => Vec::new(),
        };
        let settings = serde_json::from_str::<Value>(&s.settings)?;
        let hide_totals = settings
            .get("hide_judge_totals")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        let team_winners = settings
            .get("team_winners")
            .and_then(Value::as_u64)
            .unwrap_or(1) as u32;
        Ok(Conductor {
            hide_totals,
            team_winners,
            id: id.to_string(),
            db,
            fence,
            title: s.title,
            status: s.status,
            teams,
            rounds,
            judges,
            changes,
            next_seq,
            cur,
            opened,
            early: Vec::new(),
            buzzes,
            clients: HashMap::new(),
            next_client: 1,
            audience_pin: s.audience_pin,
            news: None,
            told: None,
            audience: None,
        })
    }

    async fn run(mut self, mut rx: mpsc::Receiver<Cmd>) {
        self.tell_audience();
        while let Some(cmd) = rx.recv().await {
            if let Err(e) = self.handle(cmd).await {
                if e.downcast_ref::<rec::Fenced>().is_some() {
                    // Another instance took the final over: this one stands down, and its
                    // sockets close (to come back through the new owner).
                    tracing::warn!(stage = %self.id, "stage final claimed by a newer conductor: it stops here");
                    return;
                }
                tracing::error!(stage = %self.id, error = format!("{e:#}"), "stage conductor");
            }
        }
    }

    fn round(&self) -> Option<&Round> {
        self.rounds.get(self.cur.round)
    }

    fn error_to(&mut self, client: u64, code: &str, message: &str) {
        if let Some(c) = self.clients.get_mut(&client) {
            c.outbox.push(frame(
                &json!({"type": "error", "code": code, "message": message}),
            ));
        }
    }

    async fn handle(&mut self, cmd: Cmd) -> anyhow::Result<()> {
        match cmd {
            Cmd::Join {
                seat,
                outbox,
                reply,
            } => {
                let id = self.next_client;
                self.next_client += 1;
                // Who the socket is, once: a team device learns its team, a judge their name.
                let (role, team, name) = match &seat {
                    Seat::Host { .. } => ("host", None, None),
                    Seat::Screen => ("screen", None, None),
                    Seat::Team(t) => ("team", Some(*t), self.teams.get(*t).map(|t| t.name.clone())),
                    Seat::Judge { name, .. } => ("judge", None, Some(name.clone())),
                };
                let mut outbox = outbox;
                outbox.push(frame(
                    &json!({"type": "seat", "role": role, "team": team, "name": name}),
                ));
                self.clients.insert(id, Client { seat, outbox });
                let _ = reply.send(id);
                self.send_state_to(id).await?;
            }
            Cmd::Leave(id) => {
                self.clients.remove(&id);
            }
            Cmd::Answer {
                client,
                team,
                response,
            } => {
                if let Err(msg) = self.device_answer(team, response).await? {
                    self.error_to(client, "wrong_step", &msg);
                }
            }
            Cmd::Audience(summary) => {
                if self.audience.as_ref() != Some(&summary) {
                    self.audience = Some(summary);
                    self.broadcast_state_with_marks().await?;
                }
            }
            Cmd::Host { client, cmd } => {
                if let Err(msg) = self.host(cmd).await? {
                    self.error_to(client, "wrong_step", &msg);
                }
            }
            Cmd::Buzz {
                client,
                team,
                at,
                seq,
            } => {
                if let Err(msg) = self.buzz(team, at, seq).await? {
                    self.error_to(client, "wrong_step", &msg);
                }
            }
            Cmd::Stake {
                client,
                team,
                stake,
            } => {
                if let Err(msg) = self.stake(Some(team), stake).await? {
                    self.error_to(client, "wrong_step", &msg);
                }
            }
            Cmd::Marks {
                client,
                judge_id,
                team,
                marks,
                reason,
            } => {
                if let Err(msg) = self.marks(&judge_id, team, &marks, reason).await? {
                    self.error_to(client, "bad_marks", &msg);
                }
            }
        }
        Ok(())
    }

    /// Writes the cursor, then shows it.
    async fn commit(&mut self) -> anyhow::Result<()> {
        let status = match self.cur.step {
            Step::Waiting => "setup",
            Step::Podium => "ended",
            _ => "running",
        };
        self.status = status.to_string();
        rec::set_state(
            &self.db,
            &self.id,
            status,
            &serde_json::to_string(&self.cur)?,
            self.fence,
        )
        .await?;
        self.tell_audience();
        match self.cur.step {
            Step::Judging { .. } | Step::Judged { .. } => self.broadcast_state_with_marks().await,
            _ => {
                self.broadcast_state();
                Ok(())
            }
        }
    }

    /// Tells the audience's task what is on stage now, once per change; never waits.
    fn tell_audience(&mut self) {
        let Some(news) = &self.news else { return };
        let round = self.cur.round;
        let now = match &self.cur.step {
            Step::Answering { q, .. } | Step::Ready { q } | Step::Open { q, .. } => {
                Told::Ask(round, *q)
            }
            Step::Ruled { q: Some(q), .. } => Told::Reveal(round, *q),
            Step::Podium => Told::Podium,
            _ => Told::Idle,
        };
        if self.told.as_ref() == Some(&now) {
            return;
        }
        let msg = match &now {
            Told::Ask(r, q) => {
                let Some(round) = self.rounds.get(*r) else {
                    return;
                };
                News::Ask(Box::new(Asked {
                    round: *r,
                    index: *q,
                    round_title: round.title.clone(),
                    question: round.questions[*q].0.clone(),
                    since_ms: now_ms(),
                }))
            }
            Told::Reveal(r, q) => News::Reveal {
                round: *r,
                index: *q,
            },
            Told::Idle => News::Idle,
            Told::Podium => News::Podium,
        };
        if news.send(msg).is_ok() {
            self.told = Some(now);
        }
    }

    async fn add_changes(
        &mut self,
        changes: Vec<Change>,
        actor: Option<&str>,
    ) -> anyhow::Result<()> {
        let at = now_ms();
        let rows: Vec<rec::ChangeRow> = changes
            .iter()
            .enumerate()
            .map(|(i, c)| rec::ChangeRow {
                seq: self.next_seq + i as i64,
                round: self.cur.round as i64,
                position: self.cur.item as i64,
                team: c.team as i64,
                delta_milli: c.milli(),
                why: serde_json::to_string(&c.why).expect("a reason serialises"),
                actor: actor.map(String::from),
                at,
            })
            .collect();
        rec::add_changes(&self.db, &self.id, self.fence, &rows).await?;
        self.next_seq += rows.len() as i64;
        self.changes.extend(changes);
        Ok(())
    }

    fn host_id(&self) -> Option<String> {
        self.clients.values().find_map(|c| match &c.seat {
            Seat::Host { member_id } => Some(member_id.clone()),
            _ => None,
        })
    }

    /// The first step of round `r`, or the podium after the last.
    fn enter_round(&mut self, r: usize) {
        self.cur = Cursor {
            round: r,
            item: 0,
            step: if r < self.rounds.len() {
                Step::Intro
            } else {
                Step::Podium
            },
            used: Vec::new(),
        };
    }

    /// The step that starts item `item` of the current round (`None`: the round is over).
    fn item_step(&mut self, item: usize) -> Option<Step> {
        let round = self.round()?;
        let n = self.teams.len();
        let step = match round.rules.kind {
            RoundKind::Compulsory if item < round.questions.len() => Step::Answering {
                q: item,
                team: stage::compulsory_turn(item, n),
                since_ms: now_ms(),
                stake: None,
                race: None,
                opened_ms: None,
                answered: Vec::new(),
            },
            RoundKind::Buzzer if item < round.questions.len() => {
                self.opened = None;
                self.buzzes.clear();
                self.early.clear();
                Step::Ready { q: item }
            }
            RoundKind::Risk if item < round.questions.len() / round.rules.stakes.len().max(1) => {
                Step::Choosing { team: item % n }
            }
            RoundKind::Judged if item < n => Step::Judging { team: item },
            _ => return None,
        };
        self.cur.item = item;
        Some(step)
    }

    async fn host(&mut self, cmd: HostCmd) -> anyhow::Result<Result<(), String>> {
        let actor = self.host_id();
        match (cmd, self.cur.step.clone()) {
            (HostCmd::Next, Step::Waiting) => self.enter_round(0),
            (HostCmd::Next, Step::Intro) => match self.item_step(0) {
                Some(s) => self.cur.step = s,
                None => self.enter_round(self.cur.round + 1),
            },
            (HostCmd::Next, Step::Ruled { .. }) | (HostCmd::Next, Step::Judged { .. }) => {
                match self.item_step(self.cur.item + 1) {
                    Some(s) => self.cur.step = s,
                    None => self.enter_round(self.cur.round + 1),
                }
            }
            (HostCmd::Next, Step::Judging { team }) => {
                // The panel's score from the latest marks of each judge.
                let rules = self.round().expect("a judged round").rules.clone();
                let latest = self.latest_marks(team).await?;
                if latest.is_empty() {
                    return Ok(Err("还没有评委评分".into()));
                }
                let totals: Vec<i64> = latest.iter().map(|m| m.total).collect();
                let panel = stage::panel_score(&totals, rules.trim_from).expect("not empty");
                self.add_changes(vec![stage::judged(team, panel)], actor.as_deref())
                    .await?;
                self.cur.step = Step::Judged {
                    team,
                    panel_milli: panel,
                };
            }
            (HostCmd::Open, Step::Ready { q }) => {
                let opened = Instant::now();
                self.opened = Some(opened);
                // Buzzes before the opening are false starts, timed from it (negative).
                let early = std::mem::take(&mut self.early);
                let rows: Vec<Buzz> = early
                    .iter()
                    .map(|&(team, at, seq)| Buzz {
                        team,
                        at_us: -(opened.duration_since(at).as_micros() as i64),
                        seq,
                    })
                    .collect();
                self.record_buzzes(q, &rows).await?;
                self.buzzes = rows;
                let race = stage::arbitrate(0, &self.buzzes);
                let rules = self.round().expect("a buzzer round").rules.clone();
                self.add_changes(stage::false_starts(&rules, &race), actor.as_deref())
                    .await?;
                self.cur.step = Step::Open {
                    q,
                    opened_ms: now_ms(),
                };
            }
            (HostCmd::Rule { ruling }, Step::Answering { .. }) => {
                self.rule_answer(ruling, actor.as_deref(), None).await?;
            }
            // Nobody buzzed: the host closes the question.
            (
                HostCmd::Rule {
                    ruling: Ruling::Timeout,
                },
                Step::Open { q, .. },
            ) => {
                let round = self.cur.round;
                self.opened = None;
                self.cur.step = Step::Ruled {
                    q: Some(q),
                    team: None,
                    ruling: None,
                };
                // Audited once the step is written (under the fence).
                self.commit().await?;
                audit::record(
                    &self.db,
                    actor.as_deref(),
                    "stage.ruling",
                    &self.id,
                    json!({"round": round, "position": q, "team": null, "ruling": "none"}),
                )
                .await?;
                return Ok(Ok(()));
            }
            (HostCmd::Stake { stake }, Step::Choosing { team }) => {
                let done = self.stake(None, stake).await?;
                if done.is_ok() {
                    audit::record(
                        &self.db,
                        actor.as_deref(),
                        "stage.stake",
                        &self.id,
                        json!({"round": self.cur.round, "team": team, "stake": stake}),
                    )
                    .await?;
                }
                return Ok(done);
            }
            (HostCmd::Next, Step::Podium) => return Ok(Err("决赛已经结束".into())),
            _ => return Ok(Err("当前步骤不能这样操作".into())),
        }
        self.commit().await?;
        Ok(Ok(()))
    }

    /// Rules the answer being given: the host's tap (`actor`), or the key grading what the
    /// team entered on its device (`given`). The score changes; after a wrong 抢答 answer the
    /// question may pass to the next team that buzzed. The caller commits.
    async fn rule_answer(
        &mut self,
        ruling: Ruling,
        actor: Option<&str>,
        given: Option<String>,
    ) -> anyhow::Result<()> {
        let Step::Answering {
            q,
            team,
            stake,
            race,
            opened_ms,
            mut answered,
            ..
        } = self.cur.step.clone()
        else {
            anyhow::bail!("rule_answer outside an answer");
        };
        let rules = self.round().expect("a round").rules.clone();
        let mut change = match stake {
            Some(s) => stage::risk(&rules, team, s, ruling).map_err(anyhow::Error::msg)?,
            None => stage::answer(&rules, team, ruling),
        };
        if let Why::Answer { given: g, .. } | Why::Stake { given: g, .. } = &mut change.why {
            *g = given;
        }
        self.add_changes(vec![change], actor).await?;
        // The host's rulings are audited like the live room's.
        if actor.is_some() {
            let question = &self.round().expect("a round").questions[q].0.id;
            audit::record(
                &self.db,
                actor,
                "stage.ruling",
                &self.id,
                json!({
                    "round": self.cur.round, "position": q, "question": question,
                    "team": team, "ruling": ruling, "stake": stake,
                }),
            )
            .await?;
        }
        answered.push(team);
        let next = match (&race, ruling) {
            (Some(race), Ruling::Wrong | Ruling::Timeout) => {
                stage::next_in_race(&rules, race, &answered)
            }
            _ => None,
        };
        self.cur.step = match next {
            Some(t) => Step::Answering {
                q,
                team: t,
                since_ms: now_ms(),
                stake: None,
                race,
                opened_ms,
                answered,
            },
            None => {
                self.opened = None;
                Step::Ruled {
                    q: Some(q),
                    team: Some(team),
                    ruling: Some(ruling),
                }
            }
        };
        Ok(())
    }

    /// A team's answer entered on its device, in a round that answers there.
    async fn device_answer(
        &mut self,
        team: usize,
        response: crate::domain::Response,
    ) -> anyhow::Result<Result<(), String>> {
        let Step::Answering { q, team: turn, .. } = self.cur.step else {
            return Ok(Err("现在不是作答时间".into()));
        };
        if turn != team {
            return Ok(Err("还没有轮到你们作答".into()));
        }
        let round = self.round().expect("a round");
        if !round.rules.on_device {
            return Ok(Err("本轮口头作答，由主持人判定".into()));
        }
        let ruling = match round.questions[q].0.grade(&response) {
            Ok(true) => Ruling::Right,
            Ok(false) => Ruling::Wrong,
            Err(e) => return Ok(Err(e)),
        };
        self.rule_answer(ruling, None, Some(response.display()))
            .await?;
        self.commit().await?;
        Ok(Ok(()))
    }

    async fn record_buzzes(&self, q: usize, rows: &[Buzz]) -> anyhow::Result<()> {
        let now = now_ms();
        let rows: Vec<rec::BuzzRow> = rows
            .iter()
            .map(|b| rec::BuzzRow {
                round: self.cur.round as i64,
                position: q as i64,
                seq: b.seq as i64,
                team: b.team as i64,
                at_us: b.at_us,
                received_at: now,
            })
            .collect();
        rec::add_buzzes(&self.db, &self.id, self.fence, &rows).await
    }

    async fn buzz(
        &mut self,
        team: usize,
        at: Instant,
        seq: u64,
    ) -> anyhow::Result<Result<(), String>> {
        match self.cur.step.clone() {
            Step::Ready { .. } => {
                // Kept until the opening, which times it.
                if !self.early.iter().any(|e| e.0 == team) {
                    self.early.push((team, at, seq));
                }
                Ok(Ok(()))
            }
            Step::Open { q, .. } | Step::Answering { q, .. }
                if self
                    .round()
                    .is_some_and(|r| r.rules.kind == RoundKind::Buzzer) =>
            {
                let opened = self.opened.unwrap_or(at);
                let b = Buzz {
                    team,
                    at_us: at.saturating_duration_since(opened).as_micros() as i64,
                    seq,
                };
                // Every buzz is stored, the winner's first.
                self.record_buzzes(q, &[b]).await?;
                self.buzzes.push(b);
                if let Step::Open { .. } = self.cur.step {
                    let race = stage::arbitrate(0, &self.buzzes);
                    if let Some(winner) = race.winner() {
                        let opened_ms = match self.cur.step {
                            Step::Open { opened_ms, .. } => Some(opened_ms),
                            _ => None,
                        };
                        self.cur.step = Step::Answering {
                            q,
                            team: winner,
                            since_ms: now_ms(),
                            stake: None,
                            race: Some(race),
                            opened_ms,
                            answered: Vec::new(),
                        };
                        self.commit().await?;
                    }
                } else if let Step::Answering {
                    race: Some(race), ..
                } = &mut self.cur.step
                {
                    // A later buzz joins the race's order (for passing the question on).
                    *race = stage::arbitrate(0, &self.buzzes);
                }
                Ok(Ok(()))
            }
            _ => Ok(Err("现在不是抢答时间".into())),
        }
    }

    async fn stake(
        &mut self,
        team: Option<usize>,
        stake: i64,
    ) -> anyhow::Result<Result<(), String>> {
        let Step::Choosing { team: turn } = self.cur.step else {
            return Ok(Err("现在不是选择分值的时候".into()));
        };
        if team.is_some_and(|t| t != turn) {
            return Ok(Err("还没有轮到你们选择分值".into()));
        }
        let round = self.round().expect("a risk round");
        if !round.rules.stakes.contains(&stake) {
            return Ok(Err(format!("本轮没有 {stake} 分这一档")));
        }
        // The next question of that stake not asked yet.
        let Some(q) = (0..round.questions.len())
            .find(|&i| round.questions[i].2 == Some(stake) && !self.cur.used.contains(&i))
        else {
            return Ok(Err(format!("{stake} 分档的题目已经用完")));
        };
        self.cur.used.push(q);
        self.cur.step = Step::Answering {
            q,
            team: turn,
            since_ms: now_ms(),
            stake: Some(stake),
            race: None,
            opened_ms: None,
            answered: Vec::new(),
        };
        self.commit().await?;
        Ok(Ok(()))
    }

    /// Each judge's latest marks for `team` in the current round.
    async fn latest_marks(&self, team: usize) -> anyhow::Result<Vec<Marked>> {
        let mut out: Vec<Marked> = Vec::new();
        for m in rec::marks(&self.db, &self.id, self.cur.round as i64).await? {
            if m.team != team as i64 {
                continue;
            }
            let marked = Marked {
                marks: serde_json::from_str(&m.marks).unwrap_or_default(),
                judge: m.judge_id,
                total: m.total_milli,
            };
            match out.iter_mut().find(|x| x.judge == marked.judge) {
                Some(x) => *x = marked,
                None => out.push(marked),
            }
        }
        Ok(out)
    }

    async fn marks(
        &mut self,
        judge_id: &str,
        team: usize,
        marks: &[u32],
        reason: Option<String>,
    ) -> anyhow::Result<Result<(), String>> {
        let judging = match self.cur.step {
            Step::Judging { team } | Step::Judged { team, .. } => team,
            _ => return Ok(Err("现在不是评分时间".into())),
        };
        if team != judging {
            return Ok(Err("只能为正在评分的代表队打分".into()));
        }
        let criteria = &self.round().expect("a judged round").rules.criteria;
        let total = match stage::judge_total(criteria, marks) {
            Ok(t) => t,
            Err(e) => return Ok(Err(e)),
        };
        let previous = rec::marks(&self.db, &self.id, self.cur.round as i64)
            .await?
            .into_iter()
            .rev()
            .find(|m| m.team == team as i64 && m.judge_id == judge_id);
        let corrects = match (&previous, reason.as_deref().map(str::trim)) {
            (None, _) => None,
            (Some(p), Some(r)) if !r.is_empty() => Some((p.id.clone(), r.to_string())),
            (Some(_), _) => return Ok(Err("修改评分须写明理由".into())),
        };
        if matches!(self.cur.step, Step::Judged { .. }) && corrects.is_none() {
            return Ok(Err("评分已经公布".into()));
        }
        rec::add_marks(
            &self.db,
            &self.id,
            self.cur.round as i64,
            team as i64,
            judge_id,
            &serde_json::to_string(marks)?,
            total,
            corrects.as_ref().map(|(id, r)| (id.as_str(), r.as_str())),
            self.fence,
        )
        .await?;
        self.broadcast_state_with_marks().await?;
        Ok(Ok(()))
    }

    // ---------- frames ----------

    fn standings(&self) -> Vec<Value> {
        let base: Vec<i64> = self.teams.iter().map(|t| t.base).collect();
        stage::standings(&base, &self.changes)
            .into_iter()
            .map(|s| {
                let t = &self.teams[s.team];
                json!({
                    "team": s.team, "name": t.name, "colour": t.colour, "rank": s.rank,
                    "score": s.score_milli as f64 / 1000.0, "score_milli": s.score_milli,
                    "last_delta": s.last_delta_milli.map(|d| d as f64 / 1000.0),
                })
            })
            .collect()
    }

    /// The state as one audience sees it: the host also gets the answer while it is asked.
    fn state_frame(&self, host: bool, marked: &[Marked]) -> Value {
        let round = self.round();
        let question = |q: usize, reveal: bool| -> Value {
            let Some((question, _, stake)) = round.and_then(|r| r.questions.get(q)) else {
                return Value::Null;
            };
            let mut v = json!({
                "index": q, "kind": question.kind, "stem": question.stem,
                "options": question.options, "unit": question.unit, "stake": stake,
            });
            if reveal || host {
                v["answer"] = json!(question.answer.display());
                v["explanation"] = json!(question.explanation);
                v["source"] = json!(question.source);
            }
            v
        };
        let (step_q, reveal) = match &self.cur.step {
            Step::Answering { q, .. } | Step::Ready { q } | Step::Open { q, .. } => {
                (Some(*q), false)
            }
            Step::Ruled { q: Some(q), .. } => (Some(*q), true),
            _ => (None, false),
        };
        let hide = !host && self.hide_totals && self.judges.len() > marked.len();
        json!({
            "type": "state",
            "title": self.title,
            "status": self.status,
            "teams": self.teams.iter().map(|t| json!({"name": t.name, "colour": t.colour})).collect::<Vec<_>>(),
            "round": round.map(|r| json!({
                "index": self.cur.round, "title": r.title, "kind": r.rules.kind,
                "kind_name": r.rules.kind.name_zh(), "rules": r.rules, "total": self.rounds.len(),
            })),
            "item": self.cur.item,
            "step": self.cur.step,
            "question": step_q.map(|q| question(q, reveal)).unwrap_or(Value::Null),
            "buzzes": self.buzzes.iter().map(|b| json!({"team": b.team, "at_us": b.at_us, "seq": b.seq})).collect::<Vec<_>>(),
            "judges": self.judges.iter().map(|(id, name)| {
                let m = marked.iter().find(|m| &m.judge == id);
                let mut j = json!({
                    "name": name, "marked": m.is_some(),
                    "total": if hide { None } else { m.map(|m| m.total as f64 / 1000.0) },
                });
                // The console sees each judge's marks, criterion by criterion.
                if host {
                    j["marks"] = json!(m.map(|m| &m.marks));
                }
                j
            }).collect::<Vec<_>>(),
            "contestant": self.contestant(),
            "standings": self.standings(),
            "proposed": if self.cur.step == Step::Podium { self.proposed() } else { Value::Null },
            "audience": self.audience_pin.as_ref().map(|pin| {
                let s = self.audience.as_ref();
                json!({
                    "pin": pin,
                    "players": s.map_or(0, |s| s.players),
                    "top": s.map(|s| s.top.iter().map(|(rank, name, points)| json!({
                        "rank": rank, "name": name, "points": points,
                    })).collect::<Vec<_>>()).unwrap_or_default(),
                })
            }),
            "now": now_ms(),
        })
    }

    /// At the podium: the teams proposed as 优胜团队 (ranked within `team_winners`, ties
    /// included) and their members as 业务标兵, as the awards would confirm them.
    fn proposed(&self) -> Value {
        let base: Vec<i64> = self.teams.iter().map(|t| t.base).collect();
        let winners: Vec<&Team> = stage::standings(&base, &self.changes)
            .into_iter()
            .filter(|s| s.rank <= self.team_winners)
            .map(|s| &self.teams[s.team])
            .collect();
        json!({
            "teams": winners.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
            "pacesetters": winners.iter().flat_map(|t| t.members.iter().map(|m| m.1.as_str())).collect::<Vec<_>>(),
        })
    }

    async fn send_state_to(&mut self, id: u64) -> anyhow::Result<()> {
        let host = self
            .clients
            .get(&id)
            .is_some_and(|c| matches!(c.seat, Seat::Host { .. }));
        let marked = self.marked_now().await?;
        let f = frame(&self.state_frame(host, &marked));
        if let Some(c) = self.clients.get_mut(&id) {
            c.outbox.push(f);
        }
        Ok(())
    }

    /// Serialised once per audience (host; everyone else), queued to every socket.
    fn broadcast(&mut self, marked: &[Marked]) {
        let public = frame(&self.state_frame(false, marked));
        let host = frame(&self.state_frame(true, marked));
        let mut gone = Vec::new();
        for (id, c) in self.clients.iter_mut() {
            let f = if matches!(c.seat, Seat::Host { .. }) {
                host.clone()
            } else {
                public.clone()
            };
            if !c.outbox.push(f) {
                gone.push(*id);
            }
        }
        for id in gone {
            self.clients.remove(&id);
        }
    }

    fn broadcast_state(&mut self) {
        let marked = Vec::new();
        self.broadcast(&marked);
    }

    /// The marks of the team being judged (none at other steps).
    async fn marked_now(&self) -> anyhow::Result<Vec<Marked>> {
        match self.cur.step {
            Step::Judging { team } | Step::Judged { team, .. } => self.latest_marks(team).await,
            _ => Ok(Vec::new()),
        }
    }

    async fn broadcast_state_with_marks(&mut self) -> anyhow::Result<()> {
        let marked = self.marked_now().await?;
        self.broadcast(&marked);
        Ok(())
    }

    /// Judged: the contestant who speaks for the team being judged, when the round names one.
    fn contestant(&self) -> Option<&str> {
        let team = match self.cur.step {
            Step::Judging { team } | Step::Judged { team, .. } => team,
            _ => return None,
        };
        let id = self.round()?.rules.contestants.get(team)?;
        self.teams[team]
            .members
            .iter()
            .find(|m| &m.0 == id)
            .map(|m| m.1.as_str())
    }
}

/// A judge's latest marks for the team being judged.
struct Marked {
    judge: String,
    total: i64,
    marks: Vec<u32>,
}
