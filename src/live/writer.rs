//! Group commit of answers: one task batches the answers that arrive within a few
//! milliseconds into one transaction, then tells each sender its answer is durable. A
//! player's `ack` is sent only after that.

use crate::records::Db;
use crate::records::competitions::{self, AnswerRow};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// How long the writer waits for more answers before committing a batch.
const WINDOW: Duration = Duration::from_millis(2);
/// Most answers in one commit.
const MAX_BATCH: usize = 2000;

type Job = (AnswerRow, oneshot::Sender<Result<(), String>>);

#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Job>,
}

impl Writer {
    pub fn spawn(db: Db) -> Writer {
        let (tx, rx) = mpsc::channel(20_000);
        tokio::spawn(run(db, rx));
        Writer { tx }
    }

    /// Returns once the answer is committed.
    pub async fn commit(&self, row: AnswerRow) -> Result<(), String> {
        let (reply, done) = oneshot::channel();
        self.tx
            .send((row, reply))
            .await
            .map_err(|_| "记录写入任务已停止".to_string())?;
        done.await.map_err(|_| "记录写入任务已停止".to_string())?
    }
}

async fn run(db: Db, mut rx: mpsc::Receiver<Job>) {
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
        let rows: Vec<AnswerRow> = batch.iter().map(|(r, _)| r.clone()).collect();
        let result = competitions::insert_answers(&db, &rows).await.map_err(|e| {
            tracing::error!(error = ?e, n = rows.len(), "answer batch failed");
            "答案未能保存，请重新提交".to_string()
        });
        for (_, reply) in batch {
            let _ = reply.send(result.clone());
        }
    }
}
