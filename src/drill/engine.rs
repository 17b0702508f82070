//! The drill engine: what a drill in progress needs on every request, kept in memory, and
//! one writer that commits everybody's answers together.
//!
//! A drill is loaded from the records the first time it is touched (its items, questions
//! parsed once, how far the member got) and stays while it is used; requests for one drill
//! take its lock in turn, so positions advance one at a time. Every write — an answer with its
//! notebook effect, a question's clock, a finish — goes to the writer task, which applies all
//! the writes that are waiting in one transaction ([`rec::apply`]) and only then lets each
//! request answer: an acknowledged answer is in the records. Nothing here is the truth: a
//! drill evicted or never loaded is rebuilt from the records, and an answer another instance
//! stored first comes back as a duplicate, which makes this instance reload the drill.
//!
//! Each member's right answers per day for the running periods are counted here too, so the
//! drill leaderboards are updated without reading the records on every answer.

use super::{GRACE_MS, Period, board_key};
use crate::board::{Board, Leaderboard};
use crate::domain::drill::{self, NotebookChange};
use crate::domain::{Question, Response};
use crate::error::AppError;
use crate::metrics::DrillMetrics;
use crate::records::drills::{self as rec, DAY_MS, DAY_OFFSET_MS, Outcome, Write};
use crate::records::{Db, now_ms};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard, mpsc, oneshot};

/// A drill untouched this long leaves memory (it is reloaded if the member comes back).
const IDLE: Duration = Duration::from_secs(15 * 60);
/// Most writes in one transaction.
const MAX_BATCH: usize = 1000;

type Job = (Write, oneshot::Sender<Result<Outcome, String>>);
type Slot = Arc<AsyncMutex<Option<Active>>>;

/// The drills in progress on this instance. Cloning shares them.
#[derive(Clone)]
pub struct Drills {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    board: Board,
    writer: mpsc::Sender<Job>,
    slots: Mutex<HashMap<String, Slot>>,
    tallies: Mutex<HashMap<String, Arc<AsyncMutex<Option<Tally>>>>>,
}

struct Active {
    drill: rec::Drill,
    items: Vec<ActiveItem>,
    answered: usize,
    correct: usize,
    touched: Instant,
    /// The records know better (another instance answered): reload before the next use.
    stale: bool,
}

struct ActiveItem {
    position: i64,
    question_id: String,
    version: String,
    question: Question,
    shown_at: Option<i64>,
}

/// A member's right answers per day (UTC+8 day numbers) from `from_day` on.
struct Tally {
    from_day: i64,
    days: BTreeMap<i64, i64>,
}

fn day_of(ms: i64) -> i64 {
    (ms + DAY_OFFSET_MS).div_euclid(DAY_MS)
}

/// The first day any running period (week, month, quarter) covers.
fn earliest_day(now: i64) -> i64 {
    [Period::Week, Period::Month, Period::Quarter]
        .iter()
        .map(|p| day_of(p.bounds(now).0))
        .min()
        .unwrap_or_else(|| day_of(now))
}

impl Drills {
    /// Starts the writer and the sweeper of idle drills (on the current tokio runtime).
    pub fn new(db: Db, board: Board, metrics: DrillMetrics) -> Drills {
        let (tx, rx) = mpsc::channel(20_000);
        tokio::spawn(run_writer(db.clone(), rx, metrics));
        let inner = Arc::new(Inner {
            db,
            board,
            writer: tx,
            slots: Mutex::new(HashMap::new()),
            tallies: Mutex::new(HashMap::new()),
        });
        tokio::spawn(sweep(Arc::downgrade(&inner)));
        Drills { inner }
    }

    /// How many drills this instance holds in memory.
    pub fn active(&self) -> usize {
        self.slots().len()
    }

    /// Drops a drill from memory; the next request reloads it from the records.
    pub fn forget(&self, drill_id: &str) {
        self.slots().remove(drill_id);
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot>> {
        self.inner.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The drill, locked for this request: 404 when unknown, 403 when someone else's.
    async fn lock(
        &self,
        member_id: &str,
        drill_id: &str,
    ) -> Result<OwnedMutexGuard<Option<Active>>, AppError> {
        let slot = self
            .slots()
            .entry(drill_id.to_string())
            .or_default()
            .clone();
        let mut guard = slot.lock_owned().await;
        if guard.as_ref().is_none_or(|a| a.stale) {
            match self.load(drill_id).await? {
                Some(a) => *guard = Some(a),
                None => {
                    self.forget(drill_id);
                    return Err(AppError::NotFound("没有这次练习".into()));
                }
            }
        }
        let a = guard.as_mut().expect("loaded above");
        if a.drill.member_id != member_id {
            return Err(AppError::Forbidden("这是其他人的练习".into()));
        }
        a.touched = Instant::now();
        Ok(guard)
    }

    async fn load(&self, drill_id: &str) -> Result<Option<Active>, AppError> {
        let db = &self.inner.db;
        let Some(drill) = rec::get(db, drill_id).await? else {
            return Ok(None);
        };
        let mut items = Vec::new();
        for i in rec::items(db, drill_id).await? {
            let question: Question = serde_json::from_str(&i.body).map_err(anyhow::Error::from)?;
            items.push(ActiveItem {
                position: i.position,
                question_id: i.question_id,
                version: i.question_version,
                question,
                shown_at: i.shown_at,
            });
        }
        let answers = rec::answers(db, drill_id).await?;
        Ok(Some(Active {
            drill,
            items,
            answered: answers.len(),
            correct: answers.iter().filter(|a| a.correct == 1).count(),
            touched: Instant::now(),
            stale: false,
        }))
    }

    /// Hands a write to the writer; returns once it is committed.
    async fn write(&self, w: Write) -> Result<Outcome, AppError> {
        let (reply, done) = oneshot::channel();
        let stopped = || AppError::Unexpected(anyhow::anyhow!("drill writer stopped"));
        self.inner
            .writer
            .send((w, reply))
            .await
            .map_err(|_| stopped())?;
        done.await
            .map_err(|_| stopped())?
            .map_err(|e| AppError::Unexpected(anyhow::anyhow!(e)))
    }

    /// The drill's state, as `GET /api/drills/{id}` answers. Serving the current question
    /// starts its clock; a timed question whose time ran out while nobody answered is recorded
    /// as timed out, and the drill moves on.
    pub async fn state(&self, member_id: &str, drill_id: &str) -> Result<Value, AppError> {
        let mut guard = self.lock(member_id, drill_id).await?;
        let a = guard.as_mut().expect("locked drills are loaded");
        let mut current = Value::Null;
        while a.drill.finished_at.is_none() {
            let now = now_ms();
            let Some(item) = a.items.get(a.answered) else {
                self.write(Write::Finish {
                    drill_id: a.drill.id.clone(),
                    at: now,
                })
                .await?;
                a.drill.finished_at = Some(now);
                break;
            };
            let shown = match item.shown_at {
                Some(at) => at,
                None => {
                    let at = match self
                        .write(Write::Shown {
                            drill_id: a.drill.id.clone(),
                            position: item.position,
                            question_id: item.question_id.clone(),
                            question_version: item.version.clone(),
                            at: now,
                        })
                        .await?
                    {
                        Outcome::Shown(at) => at,
                        _ => now,
                    };
                    a.items[a.answered].shown_at = Some(at);
                    at
                }
            };
            if let Some(limit) = a.drill.time_limit_ms
                && now - shown > limit + GRACE_MS
            {
                self.record(a, None, now - shown, now).await?;
                continue;
            }
            let q = &a.items[a.answered].question;
            current = json!({
                "position": a.items[a.answered].position, "total": a.items.len(), "kind": q.kind,
                "topic": q.topic, "topic_name": q.topic.name_zh(), "tags": q.tags, "stem": q.stem,
                "options": q.options, "unit": q.unit, "case": q.case_view(),
                "option_order": drill::option_order(
                    a.drill.seed as u64, a.items[a.answered].position, q.options.len(), q.kind.is_choice(),
                ),
                "remaining_ms": a.drill.time_limit_ms.map(|l| (l - (now - shown)).max(0)),
            });
            break;
        }
        let d = &a.drill;
        let out = json!({
            "id": d.id, "mode": d.mode, "count": d.question_count, "time_limit_ms": d.time_limit_ms,
            "answered": a.answered, "correct": a.correct,
            "finished": d.finished_at.is_some(), "started_at": d.started_at, "current": current,
        });
        if d.finished_at.is_some() {
            self.forget(drill_id);
        }
        Ok(out)
    }

    /// Records the member's answer to the current question and returns the feedback.
    pub async fn answer(
        &self,
        member_id: &str,
        drill_id: &str,
        position: i64,
        response: &Response,
    ) -> Result<Value, AppError> {
        let mut guard = self.lock(member_id, drill_id).await?;
        let a = guard.as_mut().expect("locked drills are loaded");
        let ended = || AppError::Conflict("这次练习已经结束".into());
        if a.drill.finished_at.is_some() {
            return Err(ended());
        }
        let item = a.items.get(a.answered).ok_or_else(ended)?;
        if position != item.position {
            return Err(AppError::Conflict(if position < item.position {
                format!("第 {} 题已经作答", position + 1)
            } else {
                format!("请先回答第 {} 题", item.position + 1)
            }));
        }
        let now = now_ms();
        // Answered without having been served (a client that knew the position): no wait.
        let shown = item.shown_at.unwrap_or(now);
        let (correct, timed_out, change, finished) =
            self.record(a, Some(response), now - shown, now).await?;
        let q = &a.items[a.answered - 1].question;
        let out = json!({
            "position": position, "correct": correct, "timed_out": timed_out,
            "answer": q.answer.display(), "explanation": q.explanation, "source": q.source,
            "notebook": change, "finished": finished,
            "next": (!finished).then_some(position + 1),
        });
        if finished {
            self.forget(drill_id);
        }
        Ok(out)
    }

    /// Ends the drill where it stands (the summary counts what was answered).
    pub async fn finish(&self, member_id: &str, drill_id: &str) -> Result<(), AppError> {
        let mut guard = self.lock(member_id, drill_id).await?;
        let a = guard.as_mut().expect("locked drills are loaded");
        if a.drill.finished_at.is_none() {
            let now = now_ms();
            self.write(Write::Finish {
                drill_id: a.drill.id.clone(),
                at: now,
            })
            .await?;
            a.drill.finished_at = Some(now);
        }
        self.forget(drill_id);
        Ok(())
    }

    /// Records one answer to the current item (`None`: timed out without one), moves the
    /// drill on and counts it on the leaderboards. Returns (correct, timed out, notebook
    /// change, finished).
    async fn record(
        &self,
        a: &mut Active,
        response: Option<&Response>,
        elapsed_ms: i64,
        now: i64,
    ) -> Result<(bool, bool, Option<NotebookChange>, bool), AppError> {
        let item = &a.items[a.answered];
        let timed_out = response.is_none()
            || a.drill
                .time_limit_ms
                .is_some_and(|l| elapsed_ms > l + GRACE_MS);
        let correct = match response {
            // The shape is checked even when late: a malformed answer is an error, not a timeout.
            Some(r) => item.question.grade(r).map_err(AppError::Unprocessable)? && !timed_out,
            None => false,
        };
        let finishes = a.answered + 1 >= a.items.len();
        let member = a.drill.member_id.clone();
        // Before the write: a tally loaded from the records after this commit would count it twice.
        self.ensure_tally(&member, now).await?;
        let outcome = self
            .write(Write::Answer(rec::NewAnswer {
                drill_id: a.drill.id.clone(),
                member_id: member.clone(),
                position: item.position,
                question_id: item.question_id.clone(),
                question_version: item.version.clone(),
                response: response
                    .map(|r| serde_json::to_string(r).unwrap_or_default())
                    .unwrap_or_else(|| "null".into()),
                correct,
                timed_out,
                elapsed_ms: elapsed_ms.max(0),
                answered_at: now,
                finishes,
            }))
            .await?;
        let change = match outcome {
            Outcome::Answered(change) => change,
            _ => {
                a.stale = true;
                return Err(AppError::Conflict("这道题已经作答".into()));
            }
        };
        a.answered += 1;
        a.correct += correct as usize;
        if finishes {
            a.drill.finished_at = Some(now);
        }
        if let Err(e) = self.count(&member, now, correct).await {
            // The answer is stored; the board is rebuilt from the records when it disagrees.
            tracing::warn!(error = ?e, member, "drill leaderboard not updated");
        }
        Ok((correct, timed_out, change, finishes))
    }

    fn tally_of(&self, member_id: &str) -> Arc<AsyncMutex<Option<Tally>>> {
        self.inner
            .tallies
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(member_id.to_string())
            .or_default()
            .clone()
    }

    async fn ensure_tally(&self, member_id: &str, now: i64) -> anyhow::Result<()> {
        let cell = self.tally_of(member_id);
        let mut t = cell.lock().await;
        let from_day = earliest_day(now);
        if t.as_ref().is_none_or(|t| t.from_day > from_day) {
            let from = from_day * DAY_MS - DAY_OFFSET_MS;
            let days = rec::right_per_day(&self.inner.db, from, i64::MAX, Some(member_id))
                .await?
                .into_iter()
                .map(|(_, day, right)| (day, right))
                .collect();
            *t = Some(Tally { from_day, days });
        }
        Ok(())
    }

    /// Counts a stored answer and puts the member's new points on the running periods' boards.
    async fn count(&self, member_id: &str, now: i64, correct: bool) -> anyhow::Result<()> {
        let cell = self.tally_of(member_id);
        let mut guard = cell.lock().await;
        let Some(t) = guard.as_mut() else {
            return Ok(());
        };
        *t.days.entry(day_of(now)).or_default() += correct as i64;
        let first = earliest_day(now);
        if first > t.from_day {
            t.days = t.days.split_off(&first);
            t.from_day = first;
        }
        for p in [Period::Week, Period::Month, Period::Quarter] {
            let (from, to) = p.bounds(now);
            let days: Vec<i64> = t
                .days
                .range(day_of(from)..day_of(to))
                .map(|(_, r)| *r)
                .collect();
            self.inner
                .board
                .set(
                    &board_key(p, from),
                    member_id,
                    drill::period_points(&days),
                    0,
                )
                .await?;
        }
        Ok(())
    }
}

/// Commits whatever writes are waiting, in one transaction, then answers each.
async fn run_writer(db: Db, mut rx: mpsc::Receiver<Job>, metrics: DrillMetrics) {
    // One connection kept for the writer's life (replaced after an error): its prepared
    // statements are reused batch after batch.
    let mut conn: Option<sqlx::pool::PoolConnection<sqlx::Any>> = None;
    while let Some(first) = rx.recv().await {
        let mut writes = vec![first.0];
        let mut replies = vec![first.1];
        while writes.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok((w, r)) => {
                    writes.push(w);
                    replies.push(r);
                }
                Err(_) => break,
            }
        }
        let started = Instant::now();
        let result = match &mut conn {
            Some(c) => rec::apply(c, &writes).await,
            None => match db.pool.acquire().await {
                Ok(c) => rec::apply(conn.insert(c), &writes).await,
                Err(e) => Err(e.into()),
            },
        };
        metrics
            .commit_seconds
            .observe(started.elapsed().as_secs_f64());
        metrics.commit_writes.observe(writes.len() as f64);
        match &result {
            Ok(outcomes) => metrics.answers.inc_by(
                outcomes
                    .iter()
                    .filter(|o| matches!(o, Outcome::Answered(_)))
                    .count() as u64,
            ),
            Err(_) => conn = None,
        }
        match result {
            Ok(outcomes) => {
                for (reply, o) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(Ok(o));
                }
            }
            Err(e) => {
                tracing::error!(error = ?e, n = writes.len(), "drill write batch failed");
                for reply in replies {
                    let _ = reply.send(Err("记录未能保存，请重试".into()));
                }
            }
        }
    }
}

/// Every minute, drops drills nobody touched for [`IDLE`]; ends with the engine.
async fn sweep(inner: Weak<Inner>) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    tick.tick().await;
    loop {
        tick.tick().await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        inner
            .slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, slot| match slot.try_lock() {
                Ok(a) => a.as_ref().is_some_and(|a| a.touched.elapsed() < IDLE),
                Err(_) => true,
            });
    }
}
