//! Prometheus metrics for `/metrics`.

use prometheus::{Encoder, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};

pub struct Metrics {
    registry: Registry,
    pub http_requests: IntCounterVec,
    pub logins: IntCounterVec,
    pub questions_active: IntGauge,
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
        Ok(Metrics {
            registry,
            http_requests,
            logins,
            questions_active,
        })
    }

    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        // Encoding into a Vec cannot fail for the text format.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}
