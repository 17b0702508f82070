//! Login throttling that slows a guesser without locking anyone out.
//!
//! Failures are counted per (account, client address): after a few free tries each further
//! failure doubles the wait before that pair may try again, up to a cap. A guesser at one
//! desk therefore cannot lock the admin out of their own desk. Each address also has a
//! ceiling over all accounts, high enough that a whole office behind one address (a reverse
//! proxy not configured as trusted) does not reach it by mistyping, low enough to stop a
//! sweep over many staff numbers. In-process: an attacker spreading attempts over several
//! instances gains little against argon2, and a restart forgets nothing that matters.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures of one key within the window: how many, and when the last was.
#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    first: Instant,
    last: Instant,
}

pub struct LoginLimiter {
    pairs: Mutex<HashMap<(String, String), Failures>>,
    addresses: Mutex<HashMap<String, Failures>>,
    /// Failures of one (account, address) pair that cost nothing.
    pub free_failures: u32,
    /// The wait after the first failure beyond the free ones; doubles with each further one.
    pub first_delay: Duration,
    /// The longest wait for one pair.
    pub max_delay: Duration,
    /// Failures from one address (all accounts together) within `window` before it is refused.
    pub max_per_address: u32,
    /// How long failures are remembered.
    pub window: Duration,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        LoginLimiter {
            pairs: Mutex::new(HashMap::new()),
            addresses: Mutex::new(HashMap::new()),
            free_failures: 3,
            first_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(15 * 60),
            max_per_address: 100,
            window: Duration::from_secs(15 * 60),
        }
    }
}

/// Bound on remembered keys: under a flood of distinct keys, expired entries go first.
const MAX_KEYS: usize = 100_000;

impl LoginLimiter {
    /// The wait a pair with `count` failures owes after its last failure.
    fn delay(&self, count: u32) -> Duration {
        if count <= self.free_failures {
            return Duration::ZERO;
        }
        let doublings = (count - self.free_failures - 1).min(20);
        self.first_delay
            .saturating_mul(1 << doublings)
            .min(self.max_delay)
    }

    /// `Err(seconds to wait)` when this account may not be tried from this address now.
    pub fn check(&self, account: &str, address: &str, now: Instant) -> Result<(), u64> {
        let mut wait = Duration::ZERO;
        {
            let pairs = self.pairs.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(f) = pairs.get(&(account.to_string(), address.to_string()))
                && now.duration_since(f.last) < self.window
            {
                wait = wait.max(
                    self.delay(f.count)
                        .saturating_sub(now.duration_since(f.last)),
                );
            }
        }
        {
            let addresses = self.addresses.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(f) = addresses.get(address)
                && now.duration_since(f.first) < self.window
                && f.count >= self.max_per_address
            {
                wait = wait.max(self.window.saturating_sub(now.duration_since(f.first)));
            }
        }
        if wait.is_zero() {
            Ok(())
        } else {
            Err(wait.as_secs_f64().ceil().max(1.0) as u64)
        }
    }

    pub fn failed(&self, account: &str, address: &str, now: Instant) {
        let window = self.window;
        let bump = |f: &mut Failures| {
            if now.duration_since(f.last) >= window {
                *f = Failures {
                    count: 0,
                    first: now,
                    last: now,
                };
            }
            f.count += 1;
            f.last = now;
        };
        let fresh = Failures {
            count: 0,
            first: now,
            last: now,
        };
        {
            let mut pairs = self.pairs.lock().unwrap_or_else(|p| p.into_inner());
            if pairs.len() > MAX_KEYS {
                pairs.retain(|_, f| now.duration_since(f.last) < window);
            }
            bump(
                pairs
                    .entry((account.to_string(), address.to_string()))
                    .or_insert(fresh),
            );
        }
        let mut addresses = self.addresses.lock().unwrap_or_else(|p| p.into_inner());
        if addresses.len() > MAX_KEYS {
            addresses.retain(|_, f| now.duration_since(f.first) < window);
        }
        let f = addresses.entry(address.to_string()).or_insert(fresh);
        if now.duration_since(f.first) >= window {
            *f = fresh;
        }
        f.count += 1;
        f.last = now;
    }

    /// A successful login clears that pair (the address keeps its count: a sweep that finds
    /// one password does not get a fresh budget for the rest).
    pub fn succeeded(&self, account: &str, address: &str) {
        let mut pairs = self.pairs.lock().unwrap_or_else(|p| p.into_inner());
        pairs.remove(&(account.to_string(), address.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn waits_grow_per_account_and_address_and_other_addresses_are_untouched() {
        let l = LoginLimiter::default();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.check("1001", "a", t0).is_ok());
            l.failed("1001", "a", t0);
        }
        assert!(l.check("1001", "a", t0).is_ok(), "three tries are free");
        l.failed("1001", "a", t0);
        assert_eq!(l.check("1001", "a", t0), Err(2));
        assert!(l.check("1001", "a", t0 + secs(2)).is_ok());
        l.failed("1001", "a", t0 + secs(2));
        assert_eq!(l.check("1001", "a", t0 + secs(2)), Err(4));
        l.failed("1001", "a", t0 + secs(6));
        assert_eq!(l.check("1001", "a", t0 + secs(6)), Err(8));
        // The account's owner at another desk, and other accounts here, are not held up.
        assert!(l.check("1001", "b", t0 + secs(6)).is_ok());
        assert!(l.check("1002", "a", t0 + secs(6)).is_ok());
    }

    #[test]
    fn the_wait_is_capped_and_forgotten_after_the_window() {
        let l = LoginLimiter::default();
        let t0 = Instant::now();
        for _ in 0..40 {
            l.failed("1001", "a", t0);
        }
        assert_eq!(l.check("1001", "a", t0), Err(900));
        assert!(l.check("1001", "a", t0 + secs(900)).is_ok());
        l.failed("1001", "a", t0 + secs(901));
        assert!(
            l.check("1001", "a", t0 + secs(901)).is_ok(),
            "a failure after the window starts a fresh count"
        );
    }

    #[test]
    fn an_address_sweeping_many_accounts_meets_its_ceiling() {
        let l = LoginLimiter::default();
        let t0 = Instant::now();
        for i in 0..100 {
            assert!(l.check(&format!("{i}"), "a", t0).is_ok());
            l.failed(&format!("{i}"), "a", t0);
        }
        let wait = l.check("fresh-account", "a", t0 + secs(60)).unwrap_err();
        assert_eq!(wait, 840);
        assert!(l.check("fresh-account", "b", t0).is_ok());
        assert!(l.check("fresh-account", "a", t0 + secs(900)).is_ok());
    }

    #[test]
    fn success_clears_the_pair_only() {
        let l = LoginLimiter::default();
        let t0 = Instant::now();
        for _ in 0..5 {
            l.failed("1001", "a", t0);
        }
        l.succeeded("1001", "a");
        assert!(l.check("1001", "a", t0).is_ok());
        l.failed("1001", "a", t0);
        assert!(l.check("1001", "a", t0).is_ok());
    }
}
