//! Prometheus metrics for `/metrics`.

use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

pub struct Metrics {
    registry: Registry,
    pub http_requests: IntCounterVec,
    pub logins: IntCounterVec,
    pub questions_active: IntGauge,
    pub drills: DrillMetrics,
    /// Live rooms in this instance, by `kind`: `conducted` here or `relayed` to the instance
    /// that conducts them (set when metrics are read).
    pub live_rooms: IntGaugeVec,
    /// 1, labelled with this instance's id (several instances on one Redis).
    pub instance: IntGaugeVec,
}

/// What the drill engine reports (handles share the registered series).
#[derive(Clone)]
pub struct DrillMetrics {
    /// Answers stored (time-outs included).
    pub answers: IntCounter,
    /// Writes per commit of the drill writer: how much group commit is grouping.
    pub commit_writes: Histogram,
    /// How long each of those commits took.
    pub commit_seconds: Histogram,
    /// Drills held in memory, set when metrics are read.
    pub active: IntGauge,
}

impl Metrics {
    pub fn new() -> anyhow::Result<Metrics> {
        let registry = Registry::new_custom(Some("biwu".into()), None)?;
        let http_requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests answered, by method and status",
            ),
            &["method", "status"],
        )?;
        let logins = IntCounterVec::new(
            Opts::new("logins_total", "Login attempts, by outcome"),
            &["outcome"],
        )?;
        let questions_active = IntGauge::new("questions_active", "Questions that may be drawn")?;
        registry.register(Box::new(http_requests.clone()))?;
        registry.register(Box::new(logins.clone()))?;
        registry.register(Box::new(questions_active.clone()))?;
        let drills = DrillMetrics {
            answers: IntCounter::new("drill_answers_total", "Drill answers stored")?,
            commit_writes: Histogram::with_opts(
                HistogramOpts::new("drill_commit_writes", "Writes per drill commit").buckets(vec![
                    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
                ]),
            )?,
            commit_seconds: Histogram::with_opts(
                HistogramOpts::new("drill_commit_seconds", "Duration of drill commits").buckets(
                    vec![
                        0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0,
                    ],
                ),
            )?,
            active: IntGauge::new("drills_active", "Drills held in memory")?,
        };
        registry.register(Box::new(drills.answers.clone()))?;
        registry.register(Box::new(drills.commit_writes.clone()))?;
        registry.register(Box::new(drills.commit_seconds.clone()))?;
        registry.register(Box::new(drills.active.clone()))?;
        let live_rooms = IntGaugeVec::new(
            Opts::new(
                "live_rooms",
                "Live rooms in this instance, conducted or relayed",
            ),
            &["kind"],
        )?;
        let instance = IntGaugeVec::new(Opts::new("instance", "This instance's id"), &["id"])?;
        registry.register(Box::new(live_rooms.clone()))?;
        registry.register(Box::new(instance.clone()))?;
        Ok(Metrics {
            live_rooms,
            instance,
            registry,
            http_requests,
            logins,
            questions_active,
            drills,
        })
    }

    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        // Encoding into a Vec cannot fail for the text format.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}
