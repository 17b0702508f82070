//! Each HTTP worker's relay: frames the room sends to many sockets at once are pushed into
//! their sessions from the worker that runs those sockets, not from the room's thread.
//!
//! Why: actix's workers are single-threaded tokio runtimes, which run tasks woken on their
//! own thread first and take a task woken from another thread only once per 31 (tokio's
//! `global_queue_interval`; actix-server does not let it be set). When the room, on its own
//! thread, pushed a question into 10,000 sessions, the writes those pushes woke waited behind
//! every local wake-up — above all the answers coming in from phones that already had the
//! question — and the last phones got it hundreds of milliseconds after the first. A relay
//! is woken once per worker and broadcast; the pushes it makes wake the sockets on their own
//! worker, in turn with the answers instead of behind them.

use super::cluster::Link;
use super::room::{Command, Frame, Outbox};
use std::cell::OnceCell;
use std::thread::ThreadId;
use tokio::sync::mpsc::{self, error::TrySendError};

/// Frames for sockets of one worker: (client, its outbox, the frame).
pub type Batch = Vec<(u64, Outbox, Frame)>;

struct Delivery {
    items: Batch,
    /// The room, told which clients could not take their frame.
    room: mpsc::WeakSender<Command>,
}

/// A handle to one worker's relay, or (for a socket on another instance) the owner's link
/// to that instance.
#[derive(Clone)]
pub struct Relay {
    route: Route,
}

#[derive(Clone)]
enum Route {
    Worker {
        tx: mpsc::UnboundedSender<Delivery>,
        worker: ThreadId,
    },
    Remote(Link),
}

/// What frames for many are grouped by: one batch per worker, one per other instance.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum RelayKey {
    Worker(ThreadId),
    Remote(usize),
}

thread_local! {
    static RELAY: OnceCell<Relay> = const { OnceCell::new() };
}

impl Relay {
    /// The relay of the worker this is called on, started on first use. Call it on an HTTP
    /// worker (a thread whose runtime runs local tasks), as a socket's task does.
    pub fn current() -> Relay {
        RELAY.with(|cell| {
            cell.get_or_init(|| {
                let (tx, rx) = mpsc::unbounded_channel();
                actix_web::rt::spawn(run(rx));
                Relay {
                    route: Route::Worker {
                        tx,
                        worker: std::thread::current().id(),
                    },
                }
            })
            .clone()
        })
    }

    /// Frames for sockets on another instance go there in one message per batch.
    pub fn remote(link: Link) -> Relay {
        Relay {
            route: Route::Remote(link),
        }
    }

    /// Which worker (or instance) this relay pushes to.
    pub fn key(&self) -> RelayKey {
        match &self.route {
            Route::Worker { worker, .. } => RelayKey::Worker(*worker),
            Route::Remote(link) => link.key(),
        }
    }

    /// Hands a batch to the worker; gives it back if the worker is gone (shutting down).
    pub fn send(&self, items: Batch, room: mpsc::WeakSender<Command>) -> Result<(), Batch> {
        match &self.route {
            Route::Worker { tx, .. } => tx.send(Delivery { items, room }).map_err(|e| e.0.items),
            Route::Remote(link) => {
                link.batch(items);
                Ok(())
            }
        }
    }
}

async fn run(mut rx: mpsc::UnboundedReceiver<Delivery>) {
    while let Some(Delivery { items, room }) = rx.recv().await {
        let mut stalled = Vec::new();
        for (client, mut out, f) in items {
            if !out.push(f) {
                stalled.push(client);
            }
        }
        if stalled.is_empty() {
            continue;
        }
        let Some(room) = room.upgrade() else { continue };
        if let Err(TrySendError::Full(cmd)) = room.try_send(Command::Stalled { clients: stalled }) {
            // The room is busy: tell it without holding up this worker's other rooms.
            actix_web::rt::spawn(async move {
                let _ = room.send(cmd).await;
            });
        }
    }
}
