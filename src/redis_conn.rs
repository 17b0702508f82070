//! The one Redis connection of a process: a `ConnectionManager` (cheap to clone, reconnects
//! by itself) for commands, the client for pub/sub, and the key prefix that keeps this
//! deployment's keys (or one test's) apart from everything else in the same Redis.

use anyhow::Context;
use redis::aio::ConnectionManager;

#[derive(Clone)]
pub struct Redis {
    pub client: redis::Client,
    pub manager: ConnectionManager,
    /// Prepended to every key and channel, e.g. `biwu:`.
    pub prefix: String,
}

impl Redis {
    pub async fn connect(url: &str, prefix: &str) -> anyhow::Result<Redis> {
        let client =
            redis::Client::open(url).with_context(|| format!("无效的 Redis 地址 {url}"))?;
        let manager = ConnectionManager::new(client.clone())
            .await
            .with_context(|| format!("无法连接 Redis {url}"))?;
        Ok(Redis {
            client,
            manager,
            prefix: prefix.to_string(),
        })
    }

    pub fn key(&self, parts: &[&str]) -> String {
        let mut k = self.prefix.clone();
        k.push_str(&parts.join(":"));
        k
    }
}
