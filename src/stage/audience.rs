//! The audience of a final (观众互动): people in the hall play along on their phones, in the
//! live style — join by PIN with a nickname (or as the member they are logged in as), answer
//! each question the teams are asked, see the answer and their standing when the host rules,
//! and a board of their own at the podium. The teams' scores never depend on it.
//!
//! One task per final, beside the stage's conductor and apart from it: the conductor tells it
//! which question is on stage ([`AudCmd::Ask`]), when it is ruled ([`AudCmd::Reveal`]) and
//! when the podium is up, and never waits for it, so thousands of phones answering never
//! delay a buzz. Answers are written before they are acknowledged, in one transaction per
//! burst (group commit, as the live room's writer does), one per (player, question).
//!
//! Scoring: a right answer is worth one point; ties go to the smaller total time of the right
//! answers, timed on the server's wall clock from the moment the question was put to the teams.

use super::Cmd;
use crate::board::rank_sorted;
use crate::domain::{Question, Response, scoring};
use crate::live::room::{Frame, Outbox};
use crate::records::{Db, new_id, now_ms, stages as rec};
use bytestring::ByteString;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// Most players in one final's audience.
pub const MAX_AUDIENCE: usize = 5000;
/// The conductor hears the audience's size and leaders at most this often.
const SUMMARY_EVERY: Duration = Duration::from_millis(500);
/// How many leaders the projector shows.
const TOP: usize = 10;

/// Who joins: a logged-in member, or a guest by nickname, or a phone rejoining with its token.
pub struct Joining {
    pub member: Option<(String, String)>,
    pub name: Option<String>,
    pub token: Option<String>,
}

/// A question put to the teams, open to the audience until it is ruled.
#[derive(Clone)]
pub struct Asked {
    pub round: usize,
    pub index: usize,
    pub round_title: String,
    pub question: Question,
    /// When it was put to the teams (wall clock, ms): answers are timed from it.
    pub since_ms: i64,
}

/// What a phone's socket asks.
pub enum AudCmd {
    Join {
        who: Joining,
        outbox: Outbox,
        /// The audience's id for the phone, or why it is refused (code, message).
        reply: oneshot::Sender<Result<u64, (String, String)>>,
    },
    Leave(u64),
    Answer {
        client: u64,
        round: usize,
        index: usize,
        response: Response,
    },
}

/// What the conductor tells the audience, on a channel of its own that never makes it wait.
pub enum News {
    /// This question is on stage.
    Ask(Box<Asked>),
    /// The question on stage was ruled: show its answer.
    Reveal { round: usize, index: usize },
    /// No question on stage (a round's card, a judged item).
    Idle,
    /// The final's podium.
    Podium,
}

/// What the projector shows of the audience.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub players: usize,
    /// (rank, name, points), best first.
    pub top: Vec<(u64, String, i64)>,
}

struct Player {
    id: String,
    name: String,
    /// (round, index) → (response, elapsed ms).
    answers: HashMap<(usize, usize), (Response, i64)>,
    points: i64,
    total_ms: i64,
    rank: u64,
}

pub struct Audience {
    stage_id: String,
    /// The fence of the final's lease (0: a single instance); every write carries it, and
    /// once one is refused (`fenced`) the task stops.
    fence: i64,
    fenced: bool,
    /// The final's title, for the phones' heading.
    title: String,
    db: Db,
    /// Every question of the final, by round and position (to grade after a restart).
    questions: Vec<Vec<Question>>,
    players: Vec<Player>,
    by_token: HashMap<String, usize>,
    by_member: HashMap<String, usize>,
    clients: HashMap<u64, (usize, Outbox)>,
    next_client: u64,
    /// The question open for answers.
    current: Option<Asked>,
    /// Questions ruled so far, in order.
    revealed: Vec<(usize, usize)>,
    podium: bool,
    /// Answers accepted and not yet written: (client, player, round, index).
    pending: Vec<(u64, usize, usize, usize)>,
    conductor: mpsc::WeakSender<Cmd>,
    dirty: bool,
    last_summary: Option<Instant>,
}

fn frame(v: &Value) -> Frame {
    ByteString::from(v.to_string())
}

fn error(code: &str, message: &str) -> Frame {
    frame(&json!({"type": "error", "code": code, "message": message}))
}

impl Audience {
    /// The audience of a final as its records hold it: the players, and their answers to the
    /// questions already ruled (every answered question but the one on stage).
    pub async fn load(
        db: Db,
        stage_id: &str,
        title: &str,
        questions: Vec<Vec<Question>>,
        conductor: mpsc::WeakSender<Cmd>,
        fence: i64,
    ) -> anyhow::Result<Audience> {
        let mut a = Audience {
            stage_id: stage_id.to_string(),
            fence,
            fenced: false,
            title: title.to_string(),
            db: db.clone(),
            questions,
            players: Vec::new(),
            by_token: HashMap::new(),
            by_member: HashMap::new(),
            clients: HashMap::new(),
            next_client: 1,
            current: None,
            revealed: Vec::new(),
            podium: false,
            pending: Vec::new(),
            conductor,
            dirty: true,
            last_summary: None,
        };
        for row in rec::audience(&db, stage_id).await? {
            a.insert_player(row);
        }
        let by_id: HashMap<String, usize> = a
            .players
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.clone(), i))
            .collect();
        for ans in rec::audience_answers(&db, stage_id).await? {
            let Some(&i) = by_id.get(&ans.player_id) else {
                continue;
            };
            let response: Response = serde_json::from_str(&ans.response)?;
            let key = (ans.round as usize, ans.position as usize);
            a.players[i].answers.insert(key, (response, ans.elapsed_ms));
            if !a.revealed.contains(&key) {
                a.revealed.push(key);
            }
        }
        Ok(a)
    }

    fn insert_player(&mut self, row: rec::AudienceRow) -> usize {
        let i = self.players.len();
        self.by_token.insert(row.token_hash.clone(), i);
        if let Some(m) = &row.member_id {
            self.by_member.insert(m.clone(), i);
        }
        self.players.push(Player {
            id: row.id,
            name: row.name,
            answers: HashMap::new(),
            points: 0,
            total_ms: 0,
            rank: 0,
        });
        i
    }

    pub async fn run(
        mut self,
        mut rx: mpsc::Receiver<AudCmd>,
        mut news: mpsc::UnboundedReceiver<News>,
    ) {
        self.tally();
        while !self.fenced {
            let wait = self.last_summary.map_or(Duration::ZERO, |at| {
                SUMMARY_EVERY.saturating_sub(at.elapsed())
            });
            tokio::select! {
                biased;
                n = news.recv() => match n {
                    Some(n) => {
                        // Answers accepted before the news are written (and acknowledged)
                        // before what it shows.
                        self.flush().await;
                        self.news(n);
                    }
                    None => break,
                },
                cmd = rx.recv() => match cmd {
                    Some(cmd) => {
                        self.handle(cmd).await;
                        // A burst: everything already queued is handled, then written in
                        // one transaction.
                        for _ in 0..2000 {
                            match rx.try_recv() {
                                Ok(cmd) => self.handle(cmd).await,
                                Err(_) => break,
                            }
                        }
                        self.flush().await;
                    }
                    None => break,
                },
                _ = tokio::time::sleep(wait), if self.dirty => self.summarise(),
            }
        }
    }

    async fn handle(&mut self, cmd: AudCmd) {
        match cmd {
            AudCmd::Join { who, outbox, reply } => {
                let joined = self.join(who).await;
                match joined {
                    Ok((player, token)) => {
                        let id = self.next_client;
                        self.next_client += 1;
                        self.clients.insert(id, (player, outbox));
                        let _ = reply.send(Ok(id));
                        self.greet(id, player, token);
                    }
                    Err((code, message)) => {
                        let _ = reply.send(Err((code.to_string(), message)));
                    }
                }
            }
            AudCmd::Leave(id) => {
                self.clients.remove(&id);
            }
            AudCmd::Answer {
                client,
                round,
                index,
                response,
            } => {
                if let Err(msg) = self.answer(client, round, index, response) {
                    self.send(client, error("bad_answer", &msg));
                }
            }
        }
    }

    fn news(&mut self, n: News) {
        match n {
            News::Ask(asked) => {
                // One frame for everyone; a frame of their own only for those who answered
                // it already (a question put again after a restart).
                let f = self.ask_frame(&asked, None);
                let key = (asked.round, asked.index);
                let ids: Vec<u64> = self.clients.keys().copied().collect();
                for id in ids {
                    let p = self.clients[&id].0;
                    let mine = self.players[p].answers.get(&key).map(|a| &a.0);
                    let f = match mine {
                        Some(m) => self.ask_frame(&asked, Some(m)),
                        None => f.clone(),
                    };
                    self.send(id, f);
                }
                // A question on stage is not ruled yet, though answers to it may be in the
                // records (a restart while it was asked): it does not count until revealed.
                if self.revealed.contains(&key) {
                    self.revealed.retain(|k| *k != key);
                    self.tally();
                    self.dirty = true;
                }
                self.current = Some(*asked);
            }
            News::Reveal { round, index } => {
                if self.current.as_ref().map(|c| (c.round, c.index)) == Some((round, index)) {
                    self.current = None;
                }
                if !self.revealed.contains(&(round, index)) {
                    self.revealed.push((round, index));
                }
                self.tally();
                let ids: Vec<u64> = self.clients.keys().copied().collect();
                for id in ids {
                    let p = self.clients[&id].0;
                    let f = self.result_frame(p, round, index);
                    self.send(id, f);
                }
                self.summarise();
            }
            News::Idle => {
                self.current = None;
                let f = self.idle_frame();
                let ids: Vec<u64> = self.clients.keys().copied().collect();
                for id in ids {
                    self.send(id, f.clone());
                }
            }
            News::Podium => {
                self.current = None;
                self.podium = true;
                self.tally();
                let ids: Vec<u64> = self.clients.keys().copied().collect();
                for id in ids {
                    let p = self.clients[&id].0;
                    let f = self.podium_frame(p);
                    self.send(id, f);
                }
                self.summarise();
            }
        }
    }

    /// The player a socket is: a member by their id, a phone by its token, or a new guest.
    /// The token is given back only when new.
    async fn join(
        &mut self,
        who: Joining,
    ) -> Result<(usize, Option<String>), (&'static str, String)> {
        if let Some(token) = who.token.as_deref().filter(|t| !t.is_empty()) {
            let hash = crate::auth::hash_token(token);
            if let Some(&i) = self.by_token.get(&hash) {
                return Ok((i, None));
            }
            if who.member.is_none() && who.name.is_none() {
                return Err((
                    "not_found",
                    "找不到这台手机的观众身份，请重新输入昵称".into(),
                ));
            }
        }
        if let Some((member_id, _)) = &who.member
            && let Some(&i) = self.by_member.get(member_id)
        {
            return Ok((i, None));
        }
        let name = match (&who.member, who.name.as_deref().map(str::trim)) {
            (Some((_, name)), _) => name.clone(),
            (None, Some(n)) if !n.is_empty() && n.chars().count() <= 20 => n.to_string(),
            _ => return Err(("bad_frame", "请填写 1–20 字的昵称".into())),
        };
        if who.member.is_none() && self.players.iter().any(|p| p.name == name) {
            return Err(("name_taken", format!("昵称「{name}」已有人使用，请换一个")));
        }
        if self.players.len() >= MAX_AUDIENCE {
            return Err(("full", format!("观众人数已达上限（{MAX_AUDIENCE} 人）")));
        }
        let token = crate::auth::random_token(24);
        let row = rec::AudienceRow {
            id: new_id(),
            name,
            member_id: who.member.as_ref().map(|m| m.0.clone()),
            token_hash: crate::auth::hash_token(&token),
        };
        if let Err(e) = rec::add_audience(&self.db, &self.stage_id, self.fence, &row).await {
            if e.downcast_ref::<rec::Fenced>().is_some() {
                self.fenced = true;
            }
            tracing::error!(stage = %self.stage_id, error = format!("{e:#}"), "audience join");
            return Err(("internal", "服务器内部错误，请稍后重试".into()));
        }
        let i = self.insert_player(row);
        self.tally();
        self.dirty = true;
        Ok((i, Some(token)))
    }

    /// Where a (re)joining phone starts: the podium, the question on stage, the last answer
    /// shown, or the waiting card.
    fn greet(&mut self, client: u64, p: usize, token: Option<String>) {
        let seat = frame(&json!({
            "type": "seat", "role": "audience", "name": self.players[p].name, "token": token,
            "title": self.title,
        }));
        self.send(client, seat);
        let f = if self.podium {
            self.podium_frame(p)
        } else if let Some(c) = &self.current {
            let mine = self.players[p]
                .answers
                .get(&(c.round, c.index))
                .map(|a| &a.0);
            self.ask_frame(c, mine)
        } else if let Some(&(round, index)) = self.revealed.last() {
            self.result_frame(p, round, index)
        } else {
            self.idle_frame()
        };
        self.send(client, f);
    }

    fn answer(
        &mut self,
        client: u64,
        round: usize,
        index: usize,
        response: Response,
    ) -> Result<(), String> {
        let p = self.clients.get(&client).ok_or("未加入")?.0;
        let Some(c) = &self.current else {
            return Err("现在没有可以作答的题目".into());
        };
        if (c.round, c.index) != (round, index) {
            return Err("这道题已经结束".into());
        }
        if self.players[p].answers.contains_key(&(round, index)) {
            return Err("这道题已经作答".into());
        }
        c.question.grade(&response)?;
        let elapsed = (now_ms() - c.since_ms).max(0);
        self.players[p]
            .answers
            .insert((round, index), (response, elapsed));
        self.pending.push((client, p, round, index));
        Ok(())
    }

    /// Writes the accepted answers in one transaction, then acknowledges each; when the write
    /// fails they are forgotten and their phones told to send again.
    async fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.pending);
        let rows: Vec<rec::AudienceAnswer> = pending
            .iter()
            .map(|&(_, p, round, index)| {
                let (response, elapsed) = &self.players[p].answers[&(round, index)];
                rec::AudienceAnswer {
                    player_id: self.players[p].id.clone(),
                    round: round as i64,
                    position: index as i64,
                    response: serde_json::to_string(response).expect("a response serialises"),
                    elapsed_ms: *elapsed,
                }
            })
            .collect();
        match rec::add_audience_answers(&self.db, &self.stage_id, self.fence, &rows).await {
            Ok(()) => {
                for (client, _, round, index) in pending {
                    let f = frame(&json!({"type": "ack", "round": round, "index": index}));
                    self.send(client, f);
                }
            }
            Err(e) => {
                if e.downcast_ref::<rec::Fenced>().is_some() {
                    self.fenced = true;
                }
                tracing::error!(stage = %self.stage_id, error = format!("{e:#}"), "audience answers");
                for (client, p, round, index) in pending {
                    self.players[p].answers.remove(&(round, index));
                    self.send(client, error("internal", "答案未能保存，请再提交一次"));
                }
            }
        }
    }

    /// Every player's points over the questions ruled so far, and the ranks.
    fn tally(&mut self) {
        for p in self.players.iter_mut() {
            let (mut points, mut total_ms) = (0, 0);
            for &(round, index) in &self.revealed {
                let Some(q) = self.questions.get(round).and_then(|r| r.get(index)) else {
                    continue;
                };
                if let Some((response, elapsed)) = p.answers.get(&(round, index))
                    && q.grade(response).unwrap_or(false)
                {
                    points += 1;
                    total_ms += elapsed;
                }
            }
            p.points = points;
            p.total_ms = total_ms;
        }
        let mut entries: Vec<(String, f64)> = self
            .players
            .iter()
            .enumerate()
            .map(|(i, p)| (i.to_string(), scoring::encode(p.points, p.total_ms)))
            .collect();
        // Equal scores: the earlier joiner first (the order is shown, the rank is shared).
        entries.sort_by(|a, b| {
            b.1.total_cmp(&a.1).then_with(|| {
                a.0.parse::<usize>()
                    .unwrap_or(0)
                    .cmp(&b.0.parse::<usize>().unwrap_or(0))
            })
        });
        for s in rank_sorted(entries) {
            if let Ok(i) = s.member.parse::<usize>() {
                self.players[i].rank = s.rank;
            }
        }
    }

    /// The players, best first (rank, then joining order).
    fn ranked(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.players.len()).collect();
        order.sort_by_key(|&i| (self.players[i].rank, i));
        order
    }

    pub fn summary(&self) -> Summary {
        Summary {
            players: self.players.len(),
            top: self
                .ranked()
                .into_iter()
                .take(TOP)
                .map(|i| {
                    let p = &self.players[i];
                    (p.rank, p.name.clone(), p.points)
                })
                .collect(),
        }
    }

    fn summarise(&mut self) {
        self.dirty = false;
        self.last_summary = Some(Instant::now());
        if let Some(tx) = self.conductor.upgrade() {
            // Never waits: a busy conductor misses a count, the next one brings it.
            let _ = tx.try_send(Cmd::Audience(self.summary()));
        }
    }

    fn ask_frame(&self, c: &Asked, mine: Option<&Response>) -> Frame {
        let q = &c.question;
        frame(&json!({
            "type": "ask", "round": c.round, "index": c.index, "round_title": c.round_title,
            "kind": q.kind, "stem": q.stem, "options": q.options, "unit": q.unit,
            "answered": mine.is_some(), "your_answer": mine.map(Response::display),
        }))
    }

    fn idle_frame(&self) -> Frame {
        frame(&json!({"type": "idle", "message": "请看大屏幕，下一题开始时可以作答"}))
    }

    fn result_frame(&self, p: usize, round: usize, index: usize) -> Frame {
        let player = &self.players[p];
        let q = self.questions.get(round).and_then(|r| r.get(index));
        let mine = player.answers.get(&(round, index));
        frame(&json!({
            "type": "result", "round": round, "index": index,
            "answer": q.map(|q| q.answer.display()),
            "explanation": q.map(|q| q.explanation.as_str()),
            "source": q.map(|q| q.source.as_str()),
            "your_answer": mine.map(|m| m.0.display()),
            "correct": match (q, mine) {
                (Some(q), Some(m)) => Some(q.grade(&m.0).unwrap_or(false)),
                _ => None,
            },
            "points": player.points, "rank": player.rank, "players": self.players.len(),
        }))
    }

    fn podium_frame(&self, p: usize) -> Frame {
        let top: Vec<Value> = self
            .summary()
            .top
            .into_iter()
            .map(|(rank, name, points)| json!({"rank": rank, "name": name, "points": points}))
            .collect();
        let me = &self.players[p];
        frame(&json!({
            "type": "podium", "top": top, "players": self.players.len(),
            "you": {"rank": me.rank, "points": me.points, "name": me.name},
        }))
    }

    fn send(&mut self, client: u64, f: Frame) {
        let ok = match self.clients.get_mut(&client) {
            Some((_, out)) => out.push(f),
            None => return,
        };
        if !ok {
            self.clients.remove(&client);
        }
    }
}
