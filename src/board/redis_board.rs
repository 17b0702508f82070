//! Boards as Redis sorted sets, shared by every instance. Key: `{prefix}board:{name}`.

use super::{Leaderboard, Standing, rank_sorted};
use crate::domain::scoring::{decode, encode, encode_delta};
use crate::redis_conn::Redis;

#[derive(Clone)]
pub struct RedisBoard {
    redis: Redis,
}

impl RedisBoard {
    pub fn new(redis: Redis) -> Self {
        RedisBoard { redis }
    }

    pub fn redis(&self) -> &Redis {
        &self.redis
    }

    fn key(&self, board: &str) -> String {
        self.redis.key(&["board", board])
    }
}

impl Leaderboard for RedisBoard {
    async fn add(&self, board: &str, member: &str, points: i64, ms: i64) -> anyhow::Result<()> {
        let key = self.key(board);
        let mut con = self.redis.manager.clone();
        // A new member must start from encode(0, 0), not 0: seed it only if absent (NX),
        // then increment, atomically in one transaction.
        self.redis
            .run(
                redis::pipe()
                    .atomic()
                    .cmd("ZADD")
                    .arg(&key)
                    .arg("NX")
                    .arg(encode(0, 0))
                    .arg(member)
                    .ignore()
                    .cmd("ZINCRBY")
                    .arg(&key)
                    .arg(encode_delta(points, ms))
                    .arg(member)
                    .ignore()
                    .query_async::<()>(&mut con),
            )
            .await?;
        Ok(())
    }

    async fn set(
        &self,
        board: &str,
        member: &str,
        points: i64,
        total_ms: i64,
    ) -> anyhow::Result<()> {
        let mut con = self.redis.manager.clone();
        self.redis
            .run(
                redis::cmd("ZADD")
                    .arg(self.key(board))
                    .arg(encode(points, total_ms))
                    .arg(member)
                    .query_async::<()>(&mut con),
            )
            .await?;
        Ok(())
    }

    async fn set_many(&self, board: &str, entries: &[(String, i64, i64)]) -> anyhow::Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut con = self.redis.manager.clone();
        let mut pipe = redis::pipe();
        // ZADD takes many pairs; chunks keep each command a reasonable size.
        for chunk in entries.chunks(1000) {
            let cmd = pipe.cmd("ZADD").arg(self.key(board));
            for (member, points, ms) in chunk {
                cmd.arg(encode(*points, *ms)).arg(member);
            }
            cmd.ignore();
        }
        self.redis.run(pipe.query_async::<()>(&mut con)).await?;
        Ok(())
    }

    async fn top(&self, board: &str, n: usize) -> anyhow::Result<Vec<Standing>> {
        if n == 0 {
            return Ok(vec![]);
        }
        let stop: i64 = if n == usize::MAX { -1 } else { n as i64 - 1 };
        let mut con = self.redis.manager.clone();
        let entries: Vec<(String, f64)> = self
            .redis
            .run(
                redis::cmd("ZRANGE")
                    .arg(self.key(board))
                    .arg(0)
                    .arg(stop)
                    .arg("REV")
                    .arg("WITHSCORES")
                    .query_async(&mut con),
            )
            .await?;
        Ok(rank_sorted(entries))
    }

    async fn all(&self, board: &str) -> anyhow::Result<Vec<Standing>> {
        self.top(board, usize::MAX).await
    }

    async fn standing(&self, board: &str, member: &str) -> anyhow::Result<Option<Standing>> {
        let key = self.key(board);
        let mut con = self.redis.manager.clone();
        let score: Option<f64> = self
            .redis
            .run(
                redis::cmd("ZSCORE")
                    .arg(&key)
                    .arg(member)
                    .query_async(&mut con),
            )
            .await?;
        let Some(score) = score else {
            return Ok(None);
        };
        let better: u64 = self
            .redis
            .run(
                redis::cmd("ZCOUNT")
                    .arg(&key)
                    .arg(format!("({score}"))
                    .arg("+inf")
                    .query_async(&mut con),
            )
            .await?;
        let (points, total_ms) = decode(score);
        Ok(Some(Standing {
            member: member.to_string(),
            rank: better + 1,
            points,
            total_ms,
        }))
    }

    async fn len(&self, board: &str) -> anyhow::Result<u64> {
        let mut con = self.redis.manager.clone();
        self.redis
            .run(
                redis::cmd("ZCARD")
                    .arg(self.key(board))
                    .query_async(&mut con),
            )
            .await
    }

    async fn remove(&self, board: &str, member: &str) -> anyhow::Result<()> {
        let mut con = self.redis.manager.clone();
        self.redis
            .run(
                redis::cmd("ZREM")
                    .arg(self.key(board))
                    .arg(member)
                    .query_async::<()>(&mut con),
            )
            .await?;
        Ok(())
    }

    async fn clear(&self, board: &str) -> anyhow::Result<()> {
        let mut con = self.redis.manager.clone();
        self.redis
            .run(
                redis::cmd("DEL")
                    .arg(self.key(board))
                    .query_async::<()>(&mut con),
            )
            .await?;
        Ok(())
    }
}
