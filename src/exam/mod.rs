//! The exam round (初赛): taking an exam on a phone, the server's clock, and the host's view.
//!
//! The records are the truth: an attempt, its deadline and every saved answer are rows, so a
//! dropped connection, a closed browser or a restarted server loses nothing, and any instance
//! can serve any request. In memory, per instance, are only what every request would
//! otherwise read again: each exam's paper (parsed once) and each attempt in progress (its
//! owner, deadline and arrangement). Saves go through one writer task that commits whatever is
//! waiting in one transaction (as drill answers do) before any of them is acknowledged.
//!
//! The clock: an attempt's deadline is fixed when it starts (start + duration, never after the
//! window closes). A save is accepted until the deadline plus [`SAVE_GRACE_MS`] (network
//! delay); the closer task submits every attempt whose deadline plus [`SUBMIT_GRACE_MS`] has
//! passed, once a second, whether or not its taker ever comes back.

pub mod report;
mod results;

pub use results::{Results, Row};

use crate::domain::exam::{Arrangement, ExamSettings, Reveal, grade};
use crate::domain::{Question, Response};
use crate::error::AppError;
use crate::records::exams::{self as rec, Saved, Scored, Which};
use crate::records::{Db, members, now_ms};
use rand::RngExt;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// A save is accepted until this long after the deadline (the request was on its way).
pub const SAVE_GRACE_MS: i64 = 1_000;
/// The closer submits an attempt this long after its deadline (after the last save).
pub const SUBMIT_GRACE_MS: i64 = 2_000;
/// An exam's row is read again after this long (a cancellation on another instance).
const EXAM_FRESH: Duration = Duration::from_secs(5);
/// Most saves in one transaction.
const MAX_BATCH: usize = 500;

/// One question of a paper.
#[derive(Debug, Clone)]
pub struct Item {
    pub position: i64,
    pub question_id: String,
    pub version: String,
    pub question: Question,
    pub points: i64,
}

/// An exam with its paper, parsed.
#[derive(Debug)]
pub struct Paper {
    pub exam: rec::Exam,
    pub settings: ExamSettings,
    pub items: Vec<Item>,
    pub max_score: i64,
    questions: Vec<Question>,
    loaded: Instant,
}

impl Paper {
    pub fn arrangement(&self, seed: i64) -> Arrangement {
        Arrangement::new(&self.questions, seed as u64)
    }

    /// Grades an attempt's saved answers: (score, right answers), and per paper position
    /// whether it was right.
    pub fn grade(&self, saved: &[Saved]) -> (Scored, Vec<bool>) {
        let mut right = vec![false; self.items.len()];
        let mut scored = Scored {
            score: 0,
            correct: 0,
        };
        for s in saved {
            let Some(item) = self.items.get(s.position as usize) else {
                continue;
            };
            let response = s
                .response
                .as_deref()
                .and_then(|r| serde_json::from_str::<Response>(r).ok());
            let g = grade(&item.question, item.points, response.as_ref());
            if g.correct {
                right[s.position as usize] = true;
                scored.score += g.points;
                scored.correct += 1;
            }
        }
        (scored, right)
    }

    /// Where the window stands at `now`.
    pub fn status(&self, now: i64) -> &'static str {
        let e = &self.exam;
        if e.cancelled_at.is_some() {
            "cancelled"
        } else if now < e.opens_at {
            "scheduled"
        } else if now < e.closes_at {
            "open"
        } else if e.closed_at.is_none() {
            "closing"
        } else {
            "closed"
        }
    }

    /// Whether a taker may see scores and answers now.
    pub fn revealed(&self, now: i64) -> bool {
        self.settings.reveal == Reveal::AtSubmit || now >= self.exam.closes_at
    }
}

/// An attempt in progress, as saves need it.
struct Open {
    attempt: rec::Attempt,
    paper: Arc<Paper>,
    arrangement: Arrangement,
}

type Job = (rec::Save, oneshot::Sender<Result<bool, String>>);

/// The exams of this instance: papers, attempts in progress, the save writer and the closer.
#[derive(Clone)]
pub struct Exams {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    papers: Mutex<HashMap<String, Arc<Paper>>>,
    /// Attempts in progress by (exam, member): a member has at most one per exam.
    open: Mutex<HashMap<(String, String), Arc<Open>>>,
    /// Results computed lately: kept while fresh (a closed exam's never change).
    results: Mutex<HashMap<String, (Instant, Arc<Results>)>>,
    writer: mpsc::Sender<Job>,
}

/// Results of an exam still open are computed again after this long.
const RESULTS_FRESH: Duration = Duration::from_secs(3);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Exams {
    /// Starts the save writer and the closer (on the current tokio runtime).
    pub fn new(db: Db) -> Exams {
        let (tx, rx) = mpsc::channel(20_000);
        tokio::spawn(run_writer(db.clone(), rx));
        let exams = Exams {
            inner: Arc::new(Inner {
                db,
                papers: Mutex::new(HashMap::new()),
                open: Mutex::new(HashMap::new()),
                results: Mutex::new(HashMap::new()),
                writer: tx,
            }),
        };
        tokio::spawn(run_closer(Arc::downgrade(&exams.inner)));
        exams
    }

    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    /// The exam and its paper: 404 when unknown.
    pub async fn paper(&self, exam_id: &str) -> Result<Arc<Paper>, AppError> {
        if let Some(p) = lock(&self.inner.papers).get(exam_id)
            && p.loaded.elapsed() < EXAM_FRESH
        {
            return Ok(p.clone());
        }
        let db = &self.inner.db;
        let exam = rec::by_id(db, exam_id)
            .await?
            .ok_or_else(|| AppError::NotFound("没有这场考试".into()))?;
        let cached = lock(&self.inner.papers).get(exam_id).cloned();
        let paper = match cached {
            // The paper never changes: only the exam's row is read again.
            Some(p) => Paper {
                exam,
                settings: p.settings.clone(),
                items: p.items.clone(),
                max_score: p.max_score,
                questions: p.questions.clone(),
                loaded: Instant::now(),
            },
            None => {
                let settings: ExamSettings =
                    serde_json::from_str(&exam.settings).map_err(anyhow::Error::from)?;
                let mut items = Vec::new();
                for r in rec::paper(db, exam_id).await? {
                    let question: Question =
                        serde_json::from_str(&r.body).map_err(anyhow::Error::from)?;
                    items.push(Item {
                        position: r.position,
                        question_id: r.question_id,
                        version: r.question_version,
                        question,
                        points: r.points,
                    });
                }
                let max_score = items.iter().map(|i| i.points).sum();
                let questions = items.iter().map(|i| i.question.clone()).collect();
                Paper {
                    exam,
                    settings,
                    items,
                    max_score,
                    questions,
                    loaded: Instant::now(),
                }
            }
        };
        let paper = Arc::new(paper);
        lock(&self.inner.papers).insert(exam_id.to_string(), paper.clone());
        Ok(paper)
    }

    /// Forgets what this instance holds of an exam (after a cancellation).
    pub fn forget(&self, exam_id: &str) {
        lock(&self.inner.papers).remove(exam_id);
        lock(&self.inner.results).remove(exam_id);
        lock(&self.inner.open).retain(|_, o| o.attempt.exam_id != exam_id);
    }

    /// 403 unless the member may take the exam.
    async fn check_scope(&self, paper: &Paper, member: &members::Member) -> Result<(), AppError> {
        let scope = &paper.settings.scope;
        if scope.everyone() {
            return Ok(());
        }
        let department = match &member.section_id {
            Some(s) => members::section(&self.inner.db, s)
                .await?
                .map(|s| s.department_id),
            None => None,
        };
        if scope.allows(
            &member.id,
            member.section_id.as_deref(),
            department.as_deref(),
        ) {
            Ok(())
        } else {
            Err(AppError::Forbidden("这场考试不在您的参考范围内".into()))
        }
    }

    /// Whether the member may take the exam (for lists).
    pub async fn in_scope(
        &self,
        paper: &Paper,
        member: &members::Member,
    ) -> Result<bool, AppError> {
        match self.check_scope(paper, member).await {
            Ok(()) => Ok(true),
            Err(AppError::Forbidden(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Starts an attempt, or returns the one in progress.
    pub async fn start(&self, member: &members::Member, exam_id: &str) -> Result<Value, AppError> {
        let paper = self.paper(exam_id).await?;
        self.check_scope(&paper, member).await?;
        let db = &self.inner.db;
        for _ in 0..3 {
            let now = now_ms();
            let attempts = rec::attempts_of(db, exam_id, &member.id).await?;
            if let Some(a) = attempts.iter().find(|a| a.submitted_at.is_none()) {
                if now <= a.deadline_at + SAVE_GRACE_MS {
                    return self.state_of(&paper, a.clone(), now, false).await;
                }
                // Time ran out while the taker was away: submit it before anything else.
                self.submit_attempt(&paper, &a.id, "clock", now).await?;
                continue;
            }
            match paper.status(now) {
                "scheduled" => {
                    return Err(AppError::Refused("not_open", "考试尚未开始".into()));
                }
                "open" => {}
                _ => return Err(AppError::Refused("closed", "考试已经截止".into())),
            }
            if attempts.len() as i64 >= paper.exam.max_attempts {
                return Err(AppError::Refused(
                    "no_attempts_left",
                    format!("您已作答 {} 次，没有剩余的作答机会", attempts.len()),
                ));
            }
            let seed = rand::rng().random::<i64>() & i64::MAX;
            let deadline = (now + paper.exam.duration_ms).min(paper.exam.closes_at);
            let number = attempts.len() as i64 + 1;
            if let Some(a) =
                rec::start(db, exam_id, &member.id, number, seed, now, deadline).await?
            {
                tracing::info!(exam = exam_id, attempt = %a.id, member = %member.id, "exam attempt started");
                // Just written, with nothing saved yet: no need to read either back.
                return self.state_of(&paper, a, now, true).await;
            }
            // Started by a request of the same taker a moment before: read it back.
        }
        let a = rec::attempts_of(db, exam_id, &member.id)
            .await?
            .into_iter()
            .find(|a| a.submitted_at.is_none())
            .ok_or_else(|| AppError::Conflict("请重试".into()))?;
        self.state_of(&paper, a, now_ms(), false).await
    }

    /// The attempt in progress of a member, if any.
    async fn in_progress(
        &self,
        member: &members::Member,
        exam_id: &str,
    ) -> Result<(Arc<Paper>, rec::Attempt), AppError> {
        let paper = self.paper(exam_id).await?;
        let attempts = rec::attempts_of(&self.inner.db, exam_id, &member.id).await?;
        match attempts.iter().find(|a| a.submitted_at.is_none()) {
            Some(a) => Ok((paper, a.clone())),
            None if attempts.is_empty() => Err(AppError::NotFound("没有进行中的作答".into())),
            None => Err(AppError::Refused("submitted", "本次作答已交卷".into())),
        }
    }

    /// The attempt in progress, as `GET /api/exams/{id}/attempt` answers.
    pub async fn state(&self, member: &members::Member, exam_id: &str) -> Result<Value, AppError> {
        let (paper, a) = self.in_progress(member, exam_id).await?;
        let now = now_ms();
        if now > a.deadline_at + SAVE_GRACE_MS {
            self.submit_attempt(&paper, &a.id, "clock", now).await?;
            return Err(AppError::Refused("time_up", "时间到，已自动交卷".into()));
        }
        self.state_of(&paper, a, now, false).await
    }

    /// The attempt state; `fresh` for an attempt inserted by this request (nothing saved).
    async fn state_of(
        &self,
        paper: &Arc<Paper>,
        a: rec::Attempt,
        now: i64,
        fresh: bool,
    ) -> Result<Value, AppError> {
        let open = self.remember(paper, a);
        let saved = if fresh {
            Vec::new()
        } else {
            rec::answers(&self.inner.db, &open.attempt.id).await?
        };
        let by_position: HashMap<i64, &Saved> = saved.iter().map(|s| (s.position, s)).collect();
        let arr = &open.arrangement;
        let questions: Vec<Value> = arr
            .order
            .iter()
            .enumerate()
            .map(|(n, &p)| {
                let item = &paper.items[p];
                let q = &item.question;
                let s = by_position.get(&(p as i64));
                let response = s
                    .and_then(|s| s.response.as_deref())
                    .and_then(|r| serde_json::from_str::<Response>(r).ok())
                    .map(|r| arr.to_shown(p, &r));
                json!({
                    "n": n, "kind": q.kind, "kind_name": q.kind.name_zh(), "topic": q.topic,
                    "topic_name": q.topic.name_zh(), "stem": q.stem, "case": q.case_view(),
                    "options": arr.shown_options(p, q), "unit": q.unit, "points": item.points,
                    "response": response, "marked": s.is_some_and(|s| s.marked == 1),
                })
            })
            .collect();
        let a = &open.attempt;
        Ok(json!({
            "attempt_id": a.id, "exam_id": a.exam_id, "title": paper.exam.title, "number": a.number,
            "started_at": a.started_at, "deadline_at": a.deadline_at,
            "remaining_ms": (a.deadline_at - now).max(0),
            "answered": saved.iter().filter(|s| s.response.is_some()).count(),
            "total": paper.items.len(), "leaves": a.leaves, "questions": questions,
        }))
    }

    fn remember(&self, paper: &Arc<Paper>, attempt: rec::Attempt) -> Arc<Open> {
        let key = (attempt.exam_id.clone(), attempt.member_id.clone());
        let mut open = lock(&self.inner.open);
        if let Some(o) = open.get(&key)
            && o.attempt.id == attempt.id
        {
            return o.clone();
        }
        let o = Arc::new(Open {
            arrangement: paper.arrangement(attempt.seed),
            paper: paper.clone(),
            attempt,
        });
        open.insert(key, o.clone());
        o
    }

    /// Forgets an attempt that is no longer in progress.
    fn drop_open(&self, a: &rec::Attempt) {
        let key = (a.exam_id.clone(), a.member_id.clone());
        let mut open = lock(&self.inner.open);
        if open.get(&key).is_some_and(|o| o.attempt.id == a.id) {
            open.remove(&key);
        }
    }

    /// The attempt in progress from memory (loaded from the records when not there).
    async fn open_of(
        &self,
        member: &members::Member,
        exam_id: &str,
    ) -> Result<Arc<Open>, AppError> {
        let found = lock(&self.inner.open)
            .get(&(exam_id.to_string(), member.id.clone()))
            .cloned();
        if let Some(o) = found {
            return Ok(o);
        }
        let (paper, a) = self.in_progress(member, exam_id).await?;
        Ok(self.remember(&paper, a))
    }

    /// Saves the answer to question `n` (in the taker's order).
    pub async fn save(
        &self,
        member: &members::Member,
        exam_id: &str,
        n: usize,
        response: Option<Response>,
        marked: bool,
    ) -> Result<Value, AppError> {
        let open = self.open_of(member, exam_id).await?;
        let arr = &open.arrangement;
        let p = *arr
            .order
            .get(n)
            .ok_or_else(|| AppError::NotFound(format!("没有第 {} 题", n + 1)))?;
        let q = &open.paper.items[p].question;
        let response = match response {
            None => None,
            Some(r) => {
                let bank = arr.to_bank(p, r).map_err(AppError::Unprocessable)?;
                // The shape is checked now, so a mistyped date is refused while it can be mended.
                q.grade(&bank).map_err(AppError::Unprocessable)?;
                Some(serde_json::to_string(&bank).map_err(anyhow::Error::from)?)
            }
        };
        let now = now_ms();
        let deadline = open.attempt.deadline_at;
        if now > deadline + SAVE_GRACE_MS {
            self.submit_attempt(&open.paper, &open.attempt.id, "clock", now)
                .await?;
            return Err(AppError::Refused("time_up", "时间到，已自动交卷".into()));
        }
        let (reply, done) = oneshot::channel();
        let stopped = || AppError::Unexpected(anyhow::anyhow!("exam writer stopped"));
        self.inner
            .writer
            .send((
                rec::Save {
                    attempt_id: open.attempt.id.clone(),
                    position: p as i64,
                    response,
                    marked,
                    at: now,
                    grace_ms: SAVE_GRACE_MS,
                },
                reply,
            ))
            .await
            .map_err(|_| stopped())?;
        let stored = done
            .await
            .map_err(|_| stopped())?
            .map_err(|e| AppError::Unexpected(anyhow::anyhow!(e)))?;
        if !stored {
            // Submitted meanwhile (by the taker elsewhere, or the clock).
            self.drop_open(&open.attempt);
            return Err(AppError::Refused("time_up", "本次作答已交卷".into()));
        }
        Ok(json!({ "n": n, "saved_at": now, "remaining_ms": (deadline - now).max(0) }))
    }

    /// Counts one leaving of the page.
    pub async fn leave(&self, member: &members::Member, exam_id: &str) -> Result<(), AppError> {
        let open = self.open_of(member, exam_id).await?;
        rec::left_page(&self.inner.db, &open.attempt.id).await?;
        Ok(())
    }

    /// The taker submits; returns the result.
    pub async fn submit(&self, member: &members::Member, exam_id: &str) -> Result<Value, AppError> {
        let (paper, a) = self.in_progress(member, exam_id).await?;
        let now = now_ms();
        let by = if now > a.deadline_at + SAVE_GRACE_MS {
            "clock"
        } else {
            "taker"
        };
        self.submit_attempt(&paper, &a.id, by, now).await?;
        self.result(member, exam_id).await
    }

    /// Submits one attempt (by its taker, or late by the clock) and files the notebook.
    async fn submit_attempt(
        &self,
        paper: &Arc<Paper>,
        attempt_id: &str,
        by: &'static str,
        now: i64,
    ) -> Result<(), AppError> {
        let which = Which::One { id: attempt_id, by };
        let done = rec::submit(&self.inner.db, which, now, |_, saved| paper.grade(saved).0).await?;
        for d in &done {
            self.drop_open(&d.attempt);
        }
        self.to_notebooks(&done);
        Ok(())
    }

    /// Wrong and unanswered questions go into the takers' notebooks (right ones count as
    /// reviews of entries already there). In the background: nobody waits for it.
    /// One transaction per taker, whatever the length of the paper.
    fn to_notebooks(&self, submitted: &[rec::Submitted]) {
        let mut work: Vec<(String, Vec<(String, bool)>)> = Vec::new();
        for s in submitted {
            let Some(paper) = lock(&self.inner.papers).get(&s.attempt.exam_id).cloned() else {
                continue;
            };
            let (_, right) = paper.grade(&s.answers);
            let answers = paper
                .items
                .iter()
                .zip(right)
                .map(|(item, right)| (item.question_id.clone(), right))
                .collect();
            work.push((s.attempt.member_id.clone(), answers));
        }
        if work.is_empty() {
            return;
        }
        let db = self.inner.db.clone();
        tokio::spawn(async move {
            let now = now_ms();
            for (member, answers) in work {
                // Read then write in one transaction: on SQLite another writer's commit in
                // between makes the write fail at once (the snapshot is stale), and the
                // transaction is simply run again.
                let mut tries = 0;
                loop {
                    let done = crate::records::drills::notebook_reviews(
                        &db, &member, &answers, "exam", now,
                    )
                    .await;
                    match done {
                        Ok(_) => break,
                        Err(e) if tries < 5 => {
                            tries += 1;
                            tracing::debug!(error = ?e, member, tries, "notebook entries retried");
                            tokio::time::sleep(std::time::Duration::from_millis(20 * tries)).await;
                        }
                        Err(e) => {
                            tracing::warn!(error = ?e, member, "notebook entries from an exam failed");
                            break;
                        }
                    }
                }
            }
        });
    }

    /// Submits every attempt whose time is up, exam by exam; returns how many.
    pub async fn close_due(&self) -> anyhow::Result<usize> {
        let db = &self.inner.db;
        let now = now_ms();
        let mut n = 0;
        for exam_id in rec::exams_due(db, now, SUBMIT_GRACE_MS).await? {
            let paper = self
                .paper(&exam_id)
                .await
                .map_err(|e| anyhow::anyhow!("exam {exam_id}: {e:?}"))?;
            let which = Which::Due {
                exam_id: &exam_id,
                grace_ms: SUBMIT_GRACE_MS,
            };
            let done = rec::submit(db, which, now, |_, saved| paper.grade(saved).0).await?;
            for s in &done {
                self.drop_open(&s.attempt);
            }
            self.to_notebooks(&done);
            n += done.len();
        }
        rec::mark_closed(db, now).await?;
        Ok(n)
    }

    /// The taker's result: their best submitted attempt.
    pub async fn result(&self, member: &members::Member, exam_id: &str) -> Result<Value, AppError> {
        let paper = self.paper(exam_id).await?;
        let db = &self.inner.db;
        let attempts = rec::attempts_of(db, exam_id, &member.id).await?;
        let best = attempts
            .iter()
            .filter(|a| a.submitted_at.is_some())
            .max_by(|a, b| {
                a.score
                    .cmp(&b.score)
                    .then(b.time_used_ms.cmp(&a.time_used_ms))
            })
            .ok_or_else(|| AppError::NotFound("还没有交卷的作答".into()))?;
        let now = now_ms();
        let revealed = paper.revealed(now);
        let mut out = json!({
            "attempt_id": best.id, "number": best.number, "submitted_at": best.submitted_at,
            "submitted_by": best.submitted_by, "revealed": revealed,
            "opens_results_at": paper.exam.closes_at, "attempts": attempts.len(),
            "attempts_left": (paper.exam.max_attempts - attempts.len() as i64).max(0),
        });
        if !revealed {
            return Ok(out);
        }
        let saved = rec::answers(db, &best.id).await?;
        let (scored, right) = paper.grade(&saved);
        let by_position: HashMap<i64, &Saved> = saved.iter().map(|s| (s.position, s)).collect();
        let arr = paper.arrangement(best.seed);
        let mut topics: Vec<Value> = Vec::new();
        let mut per_topic: Vec<(crate::domain::Topic, i64, i64, i64, i64)> = Vec::new();
        for (item, r) in paper.items.iter().zip(&right) {
            let t = item.question.topic;
            let slot = match per_topic.iter().position(|x| x.0 == t) {
                Some(i) => i,
                None => {
                    per_topic.push((t, 0, 0, 0, 0));
                    per_topic.len() - 1
                }
            };
            let e = &mut per_topic[slot];
            e.1 += 1;
            e.4 += item.points;
            if *r {
                e.2 += 1;
                e.3 += item.points;
            }
        }
        for (t, total, correct, score, max) in per_topic {
            topics.push(json!({
                "topic": t, "topic_name": t.name_zh(), "total": total, "correct": correct,
                "score": score, "max": max,
            }));
        }
        let review: Vec<Value> = arr
            .order
            .iter()
            .enumerate()
            .map(|(n, &p)| {
                let item = &paper.items[p];
                let q = &item.question;
                let response = by_position
                    .get(&(p as i64))
                    .and_then(|s| s.response.as_deref())
                    .and_then(|r| serde_json::from_str::<Response>(r).ok());
                json!({
                    "n": n, "kind": q.kind, "kind_name": q.kind.name_zh(), "stem": q.stem,
                    "case": q.case_view(), "options": q.options, "unit": q.unit,
                    "response": response.as_ref().map(Response::display),
                    "answer": q.answer.display(), "correct": right[p],
                    "points": if right[p] { item.points } else { 0 }, "max_points": item.points,
                    "explanation": q.explanation, "source": q.source,
                })
            })
            .collect();
        let rank = if now >= paper.exam.closes_at {
            self.results(exam_id)
                .await?
                .ranking
                .iter()
                .find(|r| r.member_id == member.id)
                .map(|r| r.rank)
        } else {
            None
        };
        let o = out.as_object_mut().expect("an object");
        o.insert("score".into(), json!(scored.score));
        o.insert("max_score".into(), json!(paper.max_score));
        o.insert("correct".into(), json!(scored.correct));
        o.insert("total".into(), json!(paper.items.len()));
        o.insert("time_used_ms".into(), json!(best.time_used_ms));
        o.insert("rank".into(), json!(rank));
        o.insert("by_topic".into(), json!(topics));
        o.insert("review".into(), json!(review));
        Ok(out)
    }
}

impl Exams {
    /// The exam's results (ranking, distribution, statistics, teams, finalists). Once the
    /// window has closed and every attempt is in, they are final and kept; before, they are
    /// computed again after a few seconds.
    pub async fn results(&self, exam_id: &str) -> Result<Arc<Results>, AppError> {
        if let Some((at, r)) = lock(&self.inner.results).get(exam_id)
            && at.elapsed() < RESULTS_FRESH
        {
            return Ok(r.clone());
        }
        let paper = self.paper(exam_id).await?;
        let r = Arc::new(results::results(&self.inner.db, &paper, now_ms()).await?);
        let at = if paper.exam.closed_at.is_some() {
            // Final: keep it (a far future would overflow; a day is plenty).
            Instant::now() + Duration::from_secs(86_400)
        } else {
            Instant::now()
        };
        lock(&self.inner.results).insert(exam_id.to_string(), (at, r.clone()));
        Ok(r)
    }
}

/// Commits waiting saves in one transaction, then answers each.
async fn run_writer(db: Db, mut rx: mpsc::Receiver<Job>) {
    let mut conn: Option<sqlx::pool::PoolConnection<sqlx::Any>> = None;
    while let Some(first) = rx.recv().await {
        let mut saves = vec![first.0];
        let mut replies = vec![first.1];
        while saves.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok((s, r)) => {
                    saves.push(s);
                    replies.push(r);
                }
                Err(_) => break,
            }
        }
        let result = match &mut conn {
            Some(c) => rec::apply_saves(c, &saves).await,
            None => match db.pool.acquire().await {
                Ok(c) => rec::apply_saves(conn.insert(c), &saves).await,
                Err(e) => Err(e.into()),
            },
        };
        match result {
            Ok(stored) => {
                for (reply, s) in replies.into_iter().zip(stored) {
                    let _ = reply.send(Ok(s));
                }
            }
            Err(e) => {
                conn = None;
                tracing::error!(error = ?e, n = saves.len(), "exam save batch failed");
                for reply in replies {
                    let _ = reply.send(Err("答案未能保存，请重试".into()));
                }
            }
        }
    }
}

/// Once a second, submits the attempts whose time is up; ends with the exams.
async fn run_closer(inner: std::sync::Weak<Inner>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let exams = Exams { inner };
        match exams.close_due().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(attempts = n, "exam attempts submitted by the clock"),
            Err(e) => tracing::warn!(error = ?e, "exam closer failed"),
        }
    }
}
