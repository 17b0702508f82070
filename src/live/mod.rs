//! Live competitions (业务比武): the conductor per room, WebSocket sessions, the group
//! commit of answers, and the protocol. See `docs/protocol.md`.

pub mod cluster;
pub mod guard;
pub mod protocol;
pub mod relay;
pub mod report;
pub mod room;
pub mod session;
pub mod writer;

use crate::board::Board;
use crate::records::Db;
use crate::records::competitions::{self, Competition};
use room::{Room, RoomHandle};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{Mutex, OnceCell};
use writer::Writer;

/// The rooms of this instance, started on first use from the records (so a restarted
/// server picks every running competition up where its records left it).
pub struct Rooms {
    db: Db,
    board: Board,
    pub writer: Writer,
    /// One cell per room: the first socket's task loads the room into it while the others
    /// wait on that cell (so two sockets arriving together do not start two conductors), and
    /// when it is filled they all go on at once. The map's own lock is held for lookups only,
    /// never across an `.await`: after a takeover thousands of rejoining sockets find the room
    /// without handing a lock from one to the next.
    rooms: std::sync::Mutex<HashMap<String, Arc<OnceCell<RoomHandle>>>>,
    /// The multi-threaded runtime the server was built on. Conductors run there, not on the
    /// HTTP worker that happened to receive the first socket: a busy room must not starve the
    /// sockets (and heartbeats) of that worker.
    runtime: tokio::runtime::Handle,
    idle: std::time::Duration,
    /// Wrong PINs per client address.
    pub pins: guard::PinGuard,
    /// Competitions found by PIN in the last second (see `by_pin`).
    by_pin: std::sync::Mutex<HashMap<String, (std::time::Instant, Competition)>>,
    /// One lookup of the records at a time for PINs not in `by_pin`: a burst of hellos for
    /// one PIN (every phone rejoining after a takeover) waits for one query, not thousands.
    pin_lookup: Mutex<()>,
    /// With Redis: each room is conducted by the instance holding its lease, for `lease_ttl`;
    /// other instances relay its sockets over the bus.
    leases: Option<(crate::lease::Leases, std::time::Duration, crate::bus::Bus)>,
}

/// Where a room is conducted, for an instance under leases.
enum Found {
    /// Here: the lease taken, and the room's inbox already listened to (see `cluster::listen`).
    Here(crate::lease::Held, crate::bus::Subscription),
    /// By another instance (its id), under this fence.
    Elsewhere(String, u64),
}

/// Takes room `id`'s lease, or finds who holds it.
async fn find(
    leases: crate::lease::Leases,
    ttl: std::time::Duration,
    bus: crate::bus::Bus,
    id: String,
) -> anyhow::Result<Found> {
    let name = format!("room:{id}");
    let mut tries = 0;
    loop {
        tries += 1;
        if let Some(held) = leases.hold(&name, ttl).await? {
            tracing::info!(room = %id, fence = held.fence(), "lease taken: the room is conducted here");
            let ear = cluster::listen(&bus, &id).await?;
            return Ok(Found::Here(held, ear));
        }
        match leases.holder(&name).await? {
            Some((owner, fence)) if owner != leases.instance() => {
                return Ok(Found::Elsewhere(owner, fence));
            }
            // Released in between: try to take it again.
            holder if tries < 3 => {
                let _ = holder;
            }
            holder => {
                let instance = holder.map(|h| h.0).unwrap_or_default();
                return Err(Elsewhere { instance }.into());
            }
        }
    }
}

/// The room is conducted by another instance (it holds the room's lease).
#[derive(Debug, thiserror::Error)]
#[error("the room is conducted by instance {instance}")]
pub struct Elsewhere {
    pub instance: String,
}

impl Rooms {
    /// `idle`: how long a room with no screen connected and nothing to time stays loaded.
    pub fn new(db: Db, board: Board, idle: std::time::Duration) -> Rooms {
        Rooms {
            idle,
            writer: Writer::spawn(db.clone()),
            db,
            board,
            rooms: Default::default(),
            runtime: tokio::runtime::Handle::current(),
            pins: guard::PinGuard::default(),
            by_pin: Default::default(),
            pin_lookup: Mutex::new(()),
            leases: None,
        }
    }

    /// Rooms are conducted under leases (several instances on one Redis).
    pub fn with_leases(
        mut self,
        leases: crate::lease::Leases,
        ttl: std::time::Duration,
        bus: crate::bus::Bus,
    ) -> Rooms {
        self.leases = Some((leases, ttl, bus));
        self
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The open competition with this PIN, as the records had it at most a second ago. A hello
    /// reads the record only to find the room and check who may enter; the room checks again
    /// with its own settings, so a second's staleness admits no one the room would refuse.
    pub async fn by_pin(&self, pin: &str) -> anyhow::Result<Option<Competition>> {
        const FRESH: std::time::Duration = std::time::Duration::from_secs(1);
        let cached =
            |map: &std::sync::Mutex<HashMap<String, (std::time::Instant, Competition)>>| {
                let map = map.lock().unwrap_or_else(|p| p.into_inner());
                map.get(pin)
                    .filter(|(at, _)| at.elapsed() < FRESH)
                    .map(|(_, c)| c.clone())
            };
        if let Some(c) = cached(&self.by_pin) {
            return Ok(Some(c));
        }
        let _one = self.pin_lookup.lock().await;
        if let Some(c) = cached(&self.by_pin) {
            return Ok(Some(c));
        }
        let found = competitions::by_pin(&self.db, pin).await?;
        let mut map = self.by_pin.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, (at, _)| at.elapsed() < FRESH);
        if let Some(c) = &found {
            map.insert(pin.to_string(), (std::time::Instant::now(), c.clone()));
        }
        Ok(found)
    }

    pub async fn get(&self, competition_id: &str) -> anyhow::Result<RoomHandle> {
        let cell = {
            let mut rooms = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
            // A room that left memory (or moved) is loaded again, into a new cell.
            if rooms
                .get(competition_id)
                .and_then(|c| c.get())
                .is_some_and(|h| h.is_closed())
            {
                rooms.remove(competition_id);
            }
            rooms.entry(competition_id.to_string()).or_default().clone()
        };
        let h = cell.get_or_try_init(|| self.start(competition_id)).await?;
        Ok(h.clone())
    }

    /// Loads a room (or, when another instance conducts it, starts its proxy here).
    async fn start(&self, competition_id: &str) -> anyhow::Result<RoomHandle> {
        // Rooms that left memory leave the map.
        self.handles(|_| ());
        // One task on the server's runtime takes the lease, loads the room and starts its
        // bridge. Not on the socket's worker: reading and tallying a large room is work the
        // worker should not do between its sockets' frames, and a worker busy with a storm of
        // rejoining sockets must not sit between these steps (a lease taken runs meanwhile,
        // and the room's load waits for the worker's turn).
        //
        // Under leases the room is conducted here only while this instance holds its lease;
        // a room whose owner died is taken over once it is gone from Redis (or its lease
        // expired).
        let (db, board, writer, runtime) = (
            self.db.clone(),
            self.board.clone(),
            self.writer.clone(),
            self.runtime.clone(),
        );
        let (id, idle, leases) = (competition_id.to_string(), self.idle, self.leases.clone());
        let found = self
            .runtime
            .spawn(async move {
                let (mut lease, mut ear) = (None, None);
                if let Some((leases, ttl, bus)) = leases {
                    match find(leases, ttl, bus.clone(), id.clone()).await? {
                        Found::Here(held, sub) => {
                            ear = Some((bus, sub, held.fence()));
                            lease = Some(held);
                        }
                        Found::Elsewhere(owner, fence) => return Ok(Err((owner, fence))),
                    }
                }
                let h = Room::spawn(db, board, writer, &runtime, &id, idle, lease).await?;
                if let Some((bus, sub, fence)) = ear {
                    cluster::spawn_bridge(bus, sub, fence, h.clone());
                }
                anyhow::Ok(Ok(h))
            })
            .await??;
        let (owner, fence) = match found {
            Ok(h) => return Ok(h),
            Err(elsewhere) => elsewhere,
        };
        // Conducted elsewhere: this instance relays the room's sockets there.
        let (leases, _, bus) = self.leases.as_ref().expect("found elsewhere under leases");
        let c = competitions::by_id(&self.db, competition_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no competition {competition_id}"))?;
        cluster::spawn_proxy(
            bus.clone(),
            leases.clone(),
            format!("room:{competition_id}"),
            (owner, fence),
            competition_id,
            c.created_by,
        )
        .await
    }

    /// The rooms loaded and open now (those that closed leave the map).
    fn handles<T>(&self, each: impl Fn(&RoomHandle) -> T) -> Vec<T> {
        let mut rooms = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
        rooms.retain(|_, c| c.get().is_none_or(|h| !h.is_closed()));
        rooms.values().filter_map(|c| c.get()).map(each).collect()
    }

    /// Asks every loaded room to write its standings to the board again.
    pub async fn mirror_boards(&self) {
        for h in self.handles(RoomHandle::clone) {
            let _ = h.send(room::Command::MirrorBoard).await;
        }
    }

    /// Rooms conducted here now (not counting those relayed to another instance).
    pub async fn loaded(&self) -> usize {
        self.handles(|h| !h.relayed)
            .into_iter()
            .filter(|&c| c)
            .count()
    }

    /// Rooms of other instances with sockets here.
    pub async fn relayed(&self) -> usize {
        self.handles(|h| h.relayed)
            .into_iter()
            .filter(|&r| r)
            .count()
    }
}
