//! Building and running the server: settings in, a bound listener out (port 0 in tests).

use crate::auth::limiter::LoginLimiter;
use crate::bank::{self, Problem};
use crate::board::{Board, MemoryBoard, RedisBoard};
use crate::bus::{Bus, MemoryBus, RedisBus};
use crate::config::Settings;
use crate::i18n::I18n;
use crate::metrics::Metrics;
use crate::records::{self, Db, questions};
use crate::redis_conn::Redis;
use crate::{demo, http};
use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};

/// Everything a request handler may use; created once, outside the server closure, and
/// shared by every worker as `web::Data`.
pub struct AppState {
    pub db: Db,
    pub board: Board,
    pub bus: Bus,
    pub settings: Settings,
    pub i18n: I18n,
    pub limiter: LoginLimiter,
    pub metrics: Metrics,
    /// Live rooms of this instance.
    pub rooms: std::sync::Arc<crate::live::Rooms>,
    /// Sessions read recently (see `auth::sessions`).
    pub sessions: std::sync::Arc<crate::auth::Sessions>,
    /// Drills in progress on this instance, and their writer.
    pub drills: crate::drill::Drills,
    /// Exam papers and attempts in progress on this instance, the save writer and the closer.
    pub exams: crate::exam::Exams,
    /// Stage finals running on this instance.
    pub stages: std::sync::Arc<crate::stage::Stages>,
    /// The question bank in use (see `bank::embedded::resolve`).
    pub bank: crate::bank::embedded::Source,
    /// Department and agency averages shown on section pages, kept a minute.
    pub averages: crate::section::Averages,
    /// The port of the team devices' own listener (`--buzzer-bind`), if there is one.
    pub buzzer_port: Option<u16>,
    /// This process's id among the instances sharing the records and Redis (new at every
    /// start): shown on /healthz, part of every lease it holds.
    pub instance: String,
}

/// Why the server would not start on this bank: every problem, named.
#[derive(Debug, thiserror::Error)]
#[error("题库有 {} 处问题", .0.len())]
pub struct InvalidBank(pub Vec<Problem>);

pub struct Application {
    port: u16,
    server: Server,
    /// The team devices' listener, when `--buzzer-bind` asks for one.
    buzzer: Option<Server>,
    pub state: web::Data<AppState>,
    /// Set on the first start with no admin: the new admin's staff number and one-time password.
    pub bootstrap_admin: Option<(String, String)>,
    pub sync: questions::SyncReport,
    /// Which bank is in use, as the start-up message says it.
    pub bank: bank::embedded::Source,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let source = bank::embedded::resolve(settings.bank_dir.as_deref())?;
        let bank = bank::load(&source.dir);
        if !bank.is_valid() {
            return Err(InvalidBank(bank.problems).into());
        }
        let db = Db::connect(&settings.database_url).await?;
        let questions: Vec<_> = bank.questions().cloned().collect();
        let sync = questions::sync(&db, &questions).await?;
        tracing::info!(?sync, "bank synced into the records");
        if settings.demo {
            demo::seed(&db).await?;
            demo::seed_history(&db, records::now_ms()).await?;
            demo::seed_workspace(&db, records::now_ms()).await?;
        }
        let bootstrap_admin = crate::accounts::ensure_admin(&db).await?;

        let instance = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
        tracing::info!(%instance, "instance id");
        if settings.cluster && settings.redis_url.is_none() {
            anyhow::bail!("--cluster 需要 --redis-url：各实例通过 Redis 协调比赛房间");
        }
        let (board, bus, leases) = match &settings.redis_url {
            Some(url) => {
                let redis = Redis::connect(url, &settings.redis_prefix).await?;
                (
                    Board::Redis(RedisBoard::new(redis.clone())),
                    Bus::Redis(RedisBus::new(redis.clone())),
                    settings
                        .cluster
                        .then(|| crate::lease::Leases::new(redis, &instance)),
                )
            }
            None => (
                Board::Memory(MemoryBoard::new()),
                Bus::Memory(MemoryBus::new()),
                None,
            ),
        };

        let metrics = Metrics::new()?;
        metrics
            .questions_active
            .set(questions::count_active(&db).await?);
        let mut rooms = crate::live::Rooms::new(
            db.clone(),
            board.clone(),
            std::time::Duration::from_secs(settings.room_idle_secs),
        );
        let lease_ttl = std::time::Duration::from_millis(settings.lease_ms);
        if let Some(leases) = &leases {
            rooms = rooms.with_leases(leases.clone(), lease_ttl, bus.clone());
        }
        let rooms = std::sync::Arc::new(rooms);
        let drills = crate::drill::Drills::new(db.clone(), board.clone(), metrics.drills.clone());
        let exams = crate::exam::Exams::new(db.clone());
        let stages = match leases {
            Some(leases) => crate::stage::Stages::clustered(
                db.clone(),
                crate::stage::Cluster {
                    leases,
                    ttl: lease_ttl,
                    bus: bus.clone(),
                },
            ),
            None => crate::stage::Stages::new(db.clone()),
        };
        let buzzer_listener = match &settings.buzzer_bind {
            Some(addr) => Some(
                std::net::TcpListener::bind(addr)
                    .map_err(|e| anyhow::anyhow!("无法监听 {addr}（抢答器）：{e}"))?,
            ),
            None => None,
        };
        let buzzer_port = match &buzzer_listener {
            Some(l) => Some(l.local_addr()?.port()),
            None => None,
        };
        let state = web::Data::new(AppState {
            instance,
            buzzer_port,
            stages,
            rooms,
            drills,
            exams,
            sessions: Default::default(),
            averages: Default::default(),
            bank: source.clone(),
            db,
            board,
            bus,
            settings: settings.clone(),
            i18n: I18n::load()?,
            limiter: LoginLimiter::default(),
            metrics,
        });

        if let Some(recoveries) = state.board.recoveries() {
            tokio::spawn(rebuild_on_recovery(
                std::sync::Arc::downgrade(&state.clone().into_inner()),
                recoveries,
            ));
        }
        let data = state.clone();
        let server =
            HttpServer::new(move || App::new().configure(|cfg| http::configure(cfg, data.clone())))
                // Live rooms send small frames that must go out at once: without this, a
                // frame written while the phone has not yet acknowledged the previous one
                // waits for that acknowledgement (Nagle's algorithm).
                .tcp_nodelay(true)
                // A room's phones arrive together (a QR code on the projector): connections
                // beyond the accept queue lose their SYN and retry a second later. (A listener
                // bound by `std` gets 128; this is capped by the kernel's `somaxconn`.)
                .backlog(4096)
                .bind(&settings.bind)
                .map_err(|e| anyhow::anyhow!("无法监听 {}：{e}", settings.bind))?;
        let port = server
            .addrs()
            .first()
            .map(|a| a.port())
            .ok_or_else(|| anyhow::anyhow!("无法监听 {}：没有地址", settings.bind))?;
        let server = server.shutdown_timeout(10).run();
        // The team devices' listener: one worker, only the stage socket's team seat.
        let buzzer = match buzzer_listener {
            Some(listener) => {
                let data = state.clone();
                Some(
                    HttpServer::new(move || {
                        App::new().configure(|cfg| http::configure_buzzer(cfg, data.clone()))
                    })
                    .workers(1)
                    .tcp_nodelay(true)
                    .listen(listener)?
                    .shutdown_timeout(10)
                    .run(),
                )
            }
            None => None,
        };
        Ok(Application {
            port,
            server,
            buzzer,
            state,
            bootstrap_admin,
            sync,
            bank: source,
        })
    }

    /// Stops the server (tests use it to simulate a restart).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs until SIGINT/SIGTERM (actix handles both, finishing requests in flight). The
    /// team devices' listener stops with the main one.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Some(buzzer) = self.buzzer else {
            return self.server.await;
        };
        let handle = buzzer.handle();
        let buzzer = tokio::spawn(buzzer);
        let result = self.server.await;
        handle.stop(true).await;
        let _ = buzzer.await;
        result
    }

    /// The port of the team devices' listener, when there is one.
    pub fn buzzer_port(&self) -> Option<u16> {
        self.state.buzzer_port
    }
}

/// Each time the board comes back after an outage, every board is written again from what
/// is true: loaded rooms from their tallies, drill boards from the records. Ends with the
/// server.
async fn rebuild_on_recovery(
    state: std::sync::Weak<AppState>,
    mut recoveries: tokio::sync::watch::Receiver<u64>,
) {
    while recoveries.changed().await.is_ok() {
        let Some(state) = state.upgrade() else { return };
        state.rooms.mirror_boards().await;
        if let Err(e) = crate::drill::rebuild_current(&state.db, &state.board).await {
            tracing::warn!(error = %e, "drill boards not rebuilt after the outage");
        }
    }
}

pub use records::Backend;
