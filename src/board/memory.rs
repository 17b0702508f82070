//! The in-process board: the embedded default for one instance.

use super::{Leaderboard, Standing, rank_sorted};
use crate::domain::scoring::{encode, encode_delta};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

/// Encoded scores are whole numbers below 2^53, so `i64` orders them exactly.
#[derive(Default)]
struct Ranked {
    scores: HashMap<String, i64>,
    /// (-score, member): iterating gives best first, ties by member id for stable output.
    order: BTreeSet<(i64, String)>,
}

impl Ranked {
    fn put(&mut self, member: &str, score: i64) {
        if let Some(old) = self.scores.insert(member.to_string(), score) {
            self.order.remove(&(-old, member.to_string()));
        }
        self.order.insert((-score, member.to_string()));
    }
}

/// A `std::sync::Mutex`, not tokio's: it is never held across an `.await`, and each
/// operation is a few map updates.
#[derive(Clone, Default)]
pub struct MemoryBoard {
    boards: Arc<Mutex<HashMap<String, Ranked>>>,
}

impl MemoryBoard {
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, board: &str, f: impl FnOnce(&mut Ranked) -> T) -> T {
        let mut boards = self.boards.lock().unwrap_or_else(|p| p.into_inner());
        f(boards.entry(board.to_string()).or_default())
    }
}

impl Leaderboard for MemoryBoard {
    async fn add(&self, board: &str, member: &str, points: i64, ms: i64) -> anyhow::Result<()> {
        self.with(board, |r| {
            let current = r.scores.get(member).copied().unwrap_or(encode(0, 0) as i64);
            r.put(member, current + encode_delta(points, ms) as i64);
        });
        Ok(())
    }

    async fn set(
        &self,
        board: &str,
        member: &str,
        points: i64,
        total_ms: i64,
    ) -> anyhow::Result<()> {
        self.with(board, |r| r.put(member, encode(points, total_ms) as i64));
        Ok(())
    }

    async fn set_many(&self, board: &str, entries: &[(String, i64, i64)]) -> anyhow::Result<()> {
        self.with(board, |r| {
            for (member, points, ms) in entries {
                r.put(member, encode(*points, *ms) as i64);
            }
        });
        Ok(())
    }

    async fn top(&self, board: &str, n: usize) -> anyhow::Result<Vec<Standing>> {
        Ok(self.with(board, |r| {
            rank_sorted(r.order.iter().take(n).map(|(s, m)| (m.clone(), -*s as f64)))
        }))
    }

    async fn all(&self, board: &str) -> anyhow::Result<Vec<Standing>> {
        self.top(board, usize::MAX).await
    }

    async fn standing(&self, board: &str, member: &str) -> anyhow::Result<Option<Standing>> {
        Ok(self.with(board, |r| {
            let score = *r.scores.get(member)?;
            let better = r.order.range(..(-score, String::new())).count() as u64;
            let (points, total_ms) = crate::domain::scoring::decode(score as f64);
            Some(Standing {
                member: member.to_string(),
                rank: better + 1,
                points,
                total_ms,
            })
        }))
    }

    async fn len(&self, board: &str) -> anyhow::Result<u64> {
        Ok(self.with(board, |r| r.scores.len() as u64))
    }

    async fn remove(&self, board: &str, member: &str) -> anyhow::Result<()> {
        self.with(board, |r| {
            if let Some(old) = r.scores.remove(member) {
                r.order.remove(&(-old, member.to_string()));
            }
        });
        Ok(())
    }

    async fn clear(&self, board: &str) -> anyhow::Result<()> {
        let mut boards = self.boards.lock().unwrap_or_else(|p| p.into_inner());
        boards.remove(board);
        Ok(())
    }
}
