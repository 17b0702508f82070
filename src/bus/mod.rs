//! The event bus between instances: topic-addressed messages, in-process or over Redis
//! pub/sub. A live room publishes its events on its topic; every instance holding sockets
//! of that room subscribes. Messages are opaque bytes (already-serialised frames), so a
//! frame is serialised once however many instances and sockets receive it.
//!
//! Delivery is at-most-once, as Redis pub/sub is: what must survive lives in the records.

use bytes::Bytes;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{broadcast, mpsc};

use crate::redis_conn::Redis;

/// Messages a subscriber may fall behind by before the oldest are dropped.
const BACKLOG: usize = 1024;

/// A stream of messages on one topic. Dropping it unsubscribes.
pub enum Subscription {
    Memory(broadcast::Receiver<Bytes>),
    Redis(mpsc::Receiver<Bytes>),
}

impl Subscription {
    /// The next message; `None` when the bus is gone. A subscriber that fell behind skips
    /// what it missed rather than stalling the publisher.
    pub async fn recv(&mut self) -> Option<Bytes> {
        match self {
            Subscription::Memory(rx) => loop {
                match rx.recv().await {
                    Ok(b) => return Some(b),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(skipped = n, "bus subscriber lagged");
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            },
            Subscription::Redis(rx) => rx.recv().await,
        }
    }
}

#[derive(Clone)]
pub enum Bus {
    Memory(MemoryBus),
    Redis(RedisBus),
}

impl Bus {
    pub async fn publish(&self, topic: &str, payload: Bytes) -> anyhow::Result<()> {
        match self {
            Bus::Memory(b) => {
                b.publish(topic, payload);
                Ok(())
            }
            Bus::Redis(b) => b.publish(topic, payload).await,
        }
    }

    pub async fn subscribe(&self, topic: &str) -> anyhow::Result<Subscription> {
        match self {
            Bus::Memory(b) => Ok(b.subscribe(topic)),
            Bus::Redis(b) => b.subscribe(topic).await,
        }
    }
}

/// One broadcast channel per topic. `std::sync::Mutex`: held only to look up a sender.
#[derive(Clone, Default)]
pub struct MemoryBus {
    topics: Arc<Mutex<HashMap<String, broadcast::Sender<Bytes>>>>,
}

impl MemoryBus {
    pub fn new() -> Self {
        Self::default()
    }

    fn sender(&self, topic: &str) -> broadcast::Sender<Bytes> {
        let mut topics = self.topics.lock().unwrap_or_else(|p| p.into_inner());
        // Forget topics nobody listens to any more, so the map does not grow forever.
        topics.retain(|_, tx| tx.receiver_count() > 0);
        topics
            .entry(topic.to_string())
            .or_insert_with(|| broadcast::channel(BACKLOG).0)
            .clone()
    }

    pub fn publish(&self, topic: &str, payload: Bytes) {
        // No subscriber is not an error: pub/sub semantics.
        let _ = self.sender(topic).send(payload);
    }

    pub fn subscribe(&self, topic: &str) -> Subscription {
        Subscription::Memory(self.sender(topic).subscribe())
    }
}

/// Redis pub/sub. Channel: `{prefix}bus:{topic}`.
#[derive(Clone)]
pub struct RedisBus {
    redis: Redis,
}

impl RedisBus {
    pub fn new(redis: Redis) -> Self {
        RedisBus { redis }
    }

    pub async fn publish(&self, topic: &str, payload: Bytes) -> anyhow::Result<()> {
        let mut con = self.redis.manager.clone();
        self.redis
            .run(
                redis::cmd("PUBLISH")
                    .arg(self.redis.key(&["bus", topic]))
                    .arg(payload.as_ref())
                    .query_async::<()>(&mut con),
            )
            .await?;
        Ok(())
    }

    /// Opens a pub/sub connection for the topic; a task forwards its messages until the
    /// subscription is dropped.
    pub async fn subscribe(&self, topic: &str) -> anyhow::Result<Subscription> {
        let mut pubsub = self.redis.client.get_async_pubsub().await?;
        pubsub.subscribe(self.redis.key(&["bus", topic])).await?;
        let (tx, rx) = mpsc::channel(BACKLOG);
        tokio::spawn(async move {
            let mut messages = pubsub.into_on_message();
            while let Some(msg) = messages.next().await {
                let payload = Bytes::copy_from_slice(msg.get_payload_bytes());
                match tx.try_send(payload) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        tracing::warn!("bus subscriber lagged; message dropped");
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => break,
                }
            }
        });
        Ok(Subscription::Redis(rx))
    }
}
