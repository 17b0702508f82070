//! Group commit of answers: one task batches the answers that arrive within a few
//! milliseconds into one transaction. Once a batch is durable it queues each player's `ack`
//! on that player's socket itself, then tells each room how many of its answers are settled
//! (and which were lost, if the commit failed). A room reveals a question only when none of
//! its answers is still in flight, so on every socket the `ack` comes before the `result`.

use super::protocol::{ErrorCode, ServerMsg};
use super::room::{Command, Frame, Outbox, frame};
use crate::records::Db;
use crate::records::competitions::{self, AnswerRow};
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::mpsc;

/// How long the writer waits for more answers before committing a batch.
const WINDOW: Duration = Duration::from_millis(2);
/// Most answers in one commit.
const MAX_BATCH: usize = 2000;
/// Answers waiting for the writer; beyond this a player is told to send again.
const QUEUE: usize = 20_000;

/// An accepted answer on its way to the records.
pub struct Job {
    pub row: AnswerRow,
    /// The answering socket, for its `ack` (or the error).
    pub client: Outbox,
    /// The room, told when the answer is settled.
    pub room: mpsc::Sender<Command>,
    /// The room's lease fence (0: a single instance): the answer is stored only while the
    /// competition is still claimed under it.
    pub fence: i64,
}

#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Job>,
}

impl Writer {
    pub fn spawn(db: Db) -> Writer {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(db, rx));
        Writer { tx }
    }

    /// Queues an accepted answer without waiting; gives it back when the writer is saturated
    /// or stopped (the room then refuses the answer and the player sends it again).
    pub fn submit(&self, job: Job) -> Result<(), Box<Job>> {
        self.tx.try_send(job).map_err(|e| Box::new(e.into_inner()))
    }
}

async fn run(db: Db, mut rx: mpsc::Receiver<Job>) {
    // One connection kept for the writer's life (replaced after an error): its prepared
    // statements are reused batch after batch.
    let mut conn: Option<sqlx::pool::PoolConnection<sqlx::Any>> = None;
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        let until = tokio::time::Instant::now() + WINDOW;
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(mpsc::error::TryRecvError::Empty) => {
                    match tokio::time::timeout_at(until, rx.recv()).await {
                        Ok(Some(job)) => batch.push(job),
                        _ => break,
                    }
                }
                Err(mpsc::error::TryRecvError::Disconnected) => break,
            }
        }
        let rows: Vec<AnswerRow> = batch.iter().map(|j| j.row.clone()).collect();
        let mut fences: Vec<(String, i64)> = Vec::new();
        for j in batch.iter().filter(|j| j.fence > 0) {
            if !fences.iter().any(|f| f.0 == j.row.competition_id) {
                fences.push((j.row.competition_id.clone(), j.fence));
            }
        }
        let result = match &mut conn {
            Some(c) => competitions::insert_answers(c, &rows, &fences).await,
            None => match db.pool.acquire().await {
                Ok(c) => competitions::insert_answers(conn.insert(c), &rows, &fences).await,
                Err(e) => Err(e.into()),
            },
        };
        let refused = match result {
            Ok(refused) => Some(refused),
            Err(e) => {
                tracing::error!(error = ?e, n = rows.len(), "answer batch failed");
                conn = None;
                None
            }
        };
        settle(batch, refused.as_deref()).await;
    }
}

/// Tells each player and each room how the batch went: `refused` names the competitions whose
/// answers a newer conductor's fence kept out (`None`: the batch failed).
async fn settle(batch: Vec<Job>, refused: Option<&[String]>) {
    let mut acks: HashMap<i64, Frame> = HashMap::new();
    // Per room (by competition): the room's sender, answers settled, answers lost.
    type Settled = (mpsc::Sender<Command>, u32, Vec<(String, u32)>);
    let mut rooms: HashMap<String, Settled> = HashMap::new();
    for mut job in batch {
        let fenced = refused.is_some_and(|r| r.contains(&job.row.competition_id));
        let stored = refused.is_some() && !fenced;
        // A stalled socket is dropped by its room at the next frame it misses.
        if fenced {
            job.client.push_error(
                ErrorCode::Elsewhere,
                "本场比武已由另一台服务器接管，请重新连接后再提交".into(),
            );
        } else if stored {
            let ack = acks.entry(job.row.position).or_insert_with(|| {
                frame(&ServerMsg::Ack {
                    position: job.row.position as u32,
                })
            });
            job.client.push(ack.clone());
        } else {
            job.client
                .push_error(ErrorCode::Internal, "答案未能保存，请重新提交".into());
        }
        let entry = rooms
            .entry(job.row.competition_id)
            .or_insert_with(|| (job.room, 0, Vec::new()));
        entry.1 += 1;
        if !stored {
            entry
                .2
                .push((job.row.participant_id, job.row.position as u32));
        }
    }
    for (_, (room, answers, lost)) in rooms {
        let _ = room.send(Command::Settled { answers, lost }).await;
    }
}
