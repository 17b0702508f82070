//! Login rate limiting: after a few failures for one account or one address, further
//! attempts are refused for a while. In-process: an attacker spreading attempts over many
//! instances gains little against argon2, and a restart forgets nothing that matters.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct LoginLimiter {
    /// Failures per key ("acct:NO" or "ip:ADDR") within the window.
    failures: Mutex<HashMap<String, Vec<Instant>>>,
    pub max_per_account: usize,
    pub max_per_address: usize,
    pub window: Duration,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        LoginLimiter {
            failures: Mutex::new(HashMap::new()),
            max_per_account: 5,
            max_per_address: 20,
            window: Duration::from_secs(15 * 60),
        }
    }
}

impl LoginLimiter {
    /// `Err(seconds to wait)` when the account or the address is locked out now.
    pub fn check(&self, account: &str, address: &str, now: Instant) -> Result<(), u64> {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let mut wait = 0;
        for (key, max) in [
            (format!("acct:{account}"), self.max_per_account),
            (format!("ip:{address}"), self.max_per_address),
        ] {
            if let Some(v) = map.get_mut(&key) {
                v.retain(|t| now.duration_since(*t) < self.window);
                if v.len() >= max {
                    let oldest = v[0];
                    let left = self.window.saturating_sub(now.duration_since(oldest));
                    wait = wait.max(left.as_secs().max(1));
                }
            }
        }
        if wait > 0 { Err(wait) } else { Ok(()) }
    }

    pub fn failed(&self, account: &str, address: &str, now: Instant) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            // Bound memory under a flood of distinct keys: old entries are the least useful.
            map.retain(|_, v| {
                v.last()
                    .is_some_and(|t| now.duration_since(*t) < self.window)
            });
        }
        for key in [format!("acct:{account}"), format!("ip:{address}")] {
            map.entry(key).or_default().push(now);
        }
    }

    pub fn succeeded(&self, account: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&format!("acct:{account}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_an_account_after_five_failures_until_the_window_passes() {
        let l = LoginLimiter::default();
        let t0 = Instant::now();
        for _ in 0..5 {
            assert!(l.check("1001", "a", t0).is_ok());
            l.failed("1001", "a", t0);
        }
        let wait = l.check("1001", "b", t0).unwrap_err();
        assert!(wait > 800 && wait <= 900, "{wait}");
        assert!(
            l.check("1002", "b", t0).is_ok(),
            "other accounts unaffected"
        );
        assert!(l.check("1001", "b", t0 + Duration::from_secs(901)).is_ok());
    }

    #[test]
    fn success_clears_the_account() {
        let l = LoginLimiter::default();
        let t0 = Instant::now();
        for _ in 0..4 {
            l.failed("1001", "a", t0);
        }
        l.succeeded("1001");
        l.failed("1001", "a", t0);
        assert!(l.check("1001", "a", t0).is_ok());
    }
}
