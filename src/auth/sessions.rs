//! Sessions as every request sees them: read from the records, then remembered for a few
//! seconds so that a member answering a drill question does not cost a query to say who they
//! are. Logging out, changing or resetting a password and importing a roster forget what this
//! instance remembers at once; a change made elsewhere (another instance, the command line)
//! takes effect within [`FRESH`].

use crate::records::members::{self, Member};
use crate::records::{Db, now_ms};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a session read from the records is trusted without reading it again.
pub const FRESH: Duration = Duration::from_secs(5);
/// Sessions remembered at most; beyond it the stale ones are dropped first.
const MAX: usize = 50_000;

struct Remembered {
    member: Member,
    csrf: String,
    expires_at: i64,
    read_at: Instant,
}

#[derive(Default)]
pub struct Sessions {
    by_token: Mutex<HashMap<String, Remembered>>,
}

impl Sessions {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Remembered>> {
        self.by_token.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The active member of a live session and its CSRF token.
    pub async fn get(&self, db: &Db, token_hash: &str) -> anyhow::Result<Option<(Member, String)>> {
        if let Some(r) = self.map().get(token_hash)
            && r.read_at.elapsed() < FRESH
            && r.expires_at > now_ms()
        {
            return Ok(Some((r.member.clone(), r.csrf.clone())));
        }
        let Some((member, csrf, expires_at)) = members::session(db, token_hash).await? else {
            self.map().remove(token_hash);
            return Ok(None);
        };
        let mut map = self.map();
        if map.len() >= MAX {
            map.retain(|_, r| r.read_at.elapsed() < FRESH);
        }
        map.insert(
            token_hash.to_string(),
            Remembered {
                member: member.clone(),
                csrf: csrf.clone(),
                expires_at,
                read_at: Instant::now(),
            },
        );
        Ok(Some((member, csrf)))
    }

    /// Forgets one session (after logging out).
    pub fn forget(&self, token_hash: &str) {
        self.map().remove(token_hash);
    }

    /// Forgets every session of a member (password changed or reset).
    pub fn forget_member(&self, member_id: &str) {
        self.map().retain(|_, r| r.member.id != member_id);
    }

    /// Forgets everything (a roster import may have changed anyone).
    pub fn forget_all(&self) {
        self.map().clear();
    }
}
