//! Slowing PIN guessing: wrong PINs are counted per client address, and an address that
//! missed too often within a minute is refused for the rest of that minute. Right PINs are
//! never counted, so a whole office joining through one proxy is not held up.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct PinGuard {
    misses: Mutex<HashMap<String, (Instant, u32)>>,
    /// Wrong PINs one address may send within `window`.
    pub max_misses: u32,
    pub window: Duration,
}

impl Default for PinGuard {
    fn default() -> Self {
        PinGuard {
            misses: Mutex::new(HashMap::new()),
            max_misses: 10,
            window: Duration::from_secs(60),
        }
    }
}

impl PinGuard {
    /// `Err(seconds to wait)` when this address has missed too often.
    pub fn check(&self, address: &str, now: Instant) -> Result<(), u64> {
        let misses = self.misses.lock().unwrap_or_else(|p| p.into_inner());
        match misses.get(address) {
            Some(&(since, n))
                if n >= self.max_misses && now.duration_since(since) < self.window =>
            {
                let left = self.window.saturating_sub(now.duration_since(since));
                Err(left.as_secs_f64().ceil().max(1.0) as u64)
            }
            _ => Ok(()),
        }
    }

    pub fn missed(&self, address: &str, now: Instant) {
        let mut misses = self.misses.lock().unwrap_or_else(|p| p.into_inner());
        if misses.len() > 100_000 {
            misses.retain(|_, (since, _)| now.duration_since(*since) < self.window);
        }
        let e = misses.entry(address.to_string()).or_insert((now, 0));
        if now.duration_since(e.0) >= self.window {
            *e = (now, 0);
        }
        e.1 += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_wrong_pins_a_minute_then_a_pause_for_that_address_only() {
        let g = PinGuard::default();
        let t0 = Instant::now();
        for _ in 0..10 {
            assert!(g.check("a", t0).is_ok());
            g.missed("a", t0);
        }
        assert_eq!(g.check("a", t0 + Duration::from_secs(15)), Err(45));
        assert!(g.check("b", t0).is_ok());
        assert!(g.check("a", t0 + Duration::from_secs(60)).is_ok());
        g.missed("a", t0 + Duration::from_secs(61));
        assert!(g.check("a", t0 + Duration::from_secs(61)).is_ok());
    }
}
