//! Leaderboards: ranked scores with a tie-break, in-process or in Redis sorted sets.
//!
//! A board holds derived state only; the records can always rebuild it. Scores are
//! encoded by `domain::scoring::encode` (points first, then less total time), so both
//! implementations order players identically. Ranks are competition ranks: players with
//! equal points and equal time share a rank, and the next rank skips ("1, 2, 2, 4").

mod memory;
mod redis_board;

pub use memory::MemoryBoard;
pub use redis_board::RedisBoard;

use std::future::Future;

/// One player's place on a board.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Standing {
    pub member: String,
    /// 1-based competition rank.
    pub rank: u64,
    pub points: i64,
    pub total_ms: i64,
}

pub trait Leaderboard: Send + Sync {
    /// Adds `points` and `ms` of answer time to a player (creating the entry at zero).
    fn add(
        &self,
        board: &str,
        member: &str,
        points: i64,
        ms: i64,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
    /// Sets a player's totals outright (rebuilds, rulings).
    fn set(
        &self,
        board: &str,
        member: &str,
        points: i64,
        total_ms: i64,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
    /// Sets many players' totals at once (a reveal): one round trip.
    fn set_many(
        &self,
        board: &str,
        entries: &[(String, i64, i64)],
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
    /// The best `n`, best first.
    fn top(
        &self,
        board: &str,
        n: usize,
    ) -> impl Future<Output = anyhow::Result<Vec<Standing>>> + Send;
    /// Every player, best first: one pass for everyone's rank at a reveal.
    fn all(&self, board: &str) -> impl Future<Output = anyhow::Result<Vec<Standing>>> + Send;
    fn standing(
        &self,
        board: &str,
        member: &str,
    ) -> impl Future<Output = anyhow::Result<Option<Standing>>> + Send;
    fn len(&self, board: &str) -> impl Future<Output = anyhow::Result<u64>> + Send;
    fn remove(&self, board: &str, member: &str) -> impl Future<Output = anyhow::Result<()>> + Send;
    fn clear(&self, board: &str) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// The board a process uses, chosen by `--redis-url`.
#[derive(Clone)]
pub enum Board {
    Memory(MemoryBoard),
    Redis(RedisBoard),
}

impl Board {
    pub fn name(&self) -> &'static str {
        match self {
            Board::Memory(_) => "memory",
            Board::Redis(_) => "redis",
        }
    }

    /// Why the board cannot be used now (Redis down), or `None`.
    pub fn unavailable(&self) -> Option<String> {
        match self {
            Board::Memory(_) => None,
            Board::Redis(b) => b.redis().down_reason(),
        }
    }

    /// Moves each time the board comes back after an outage (never, in process).
    pub fn recoveries(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        match self {
            Board::Memory(_) => None,
            Board::Redis(b) => Some(b.redis().recoveries()),
        }
    }
}

/// Turns `(member, encoded score)` pairs, best first, into standings with shared ranks.
pub(crate) fn rank_sorted(entries: impl IntoIterator<Item = (String, f64)>) -> Vec<Standing> {
    let mut out: Vec<Standing> = Vec::new();
    let mut last: Option<(f64, u64)> = None;
    for (i, (member, score)) in entries.into_iter().enumerate() {
        let rank = match last {
            Some((s, r)) if s == score => r,
            _ => i as u64 + 1,
        };
        last = Some((score, rank));
        let (points, total_ms) = crate::domain::scoring::decode(score);
        out.push(Standing {
            member,
            rank,
            points,
            total_ms,
        });
    }
    out
}

macro_rules! delegate {
    ($self:ident, $b:ident => $e:expr) => {
        match $self {
            Board::Memory($b) => $e.await,
            Board::Redis($b) => $e.await,
        }
    };
}

impl Leaderboard for Board {
    async fn add(&self, board: &str, member: &str, points: i64, ms: i64) -> anyhow::Result<()> {
        delegate!(self, b => b.add(board, member, points, ms))
    }
    async fn set(
        &self,
        board: &str,
        member: &str,
        points: i64,
        total_ms: i64,
    ) -> anyhow::Result<()> {
        delegate!(self, b => b.set(board, member, points, total_ms))
    }
    async fn set_many(&self, board: &str, entries: &[(String, i64, i64)]) -> anyhow::Result<()> {
        delegate!(self, b => b.set_many(board, entries))
    }
    async fn top(&self, board: &str, n: usize) -> anyhow::Result<Vec<Standing>> {
        delegate!(self, b => b.top(board, n))
    }
    async fn all(&self, board: &str) -> anyhow::Result<Vec<Standing>> {
        delegate!(self, b => b.all(board))
    }
    async fn standing(&self, board: &str, member: &str) -> anyhow::Result<Option<Standing>> {
        delegate!(self, b => b.standing(board, member))
    }
    async fn len(&self, board: &str) -> anyhow::Result<u64> {
        delegate!(self, b => b.len(board))
    }
    async fn remove(&self, board: &str, member: &str) -> anyhow::Result<()> {
        delegate!(self, b => b.remove(board, member))
    }
    async fn clear(&self, board: &str) -> anyhow::Result<()> {
        delegate!(self, b => b.clear(board))
    }
}
