//! The administrator's console (机关党委) as a service: what the console keeps in memory for a
//! short while (roster previews and login slips), and the organisation's upkeep — members
//! ([`members`]), departments and sections ([`org`]), the audit log ([`audit`]) and awards
//! ([`awards`]). The roster's own rules live in [`crate::roster`].
//!
//! Nothing here decides who may call it: the HTTP layer lets only admins in. Every change
//! writes its audit entry in the same transaction as the change.
//!
//! What is kept in memory is *not* the truth and is meant to be lost: a preview is the parsed
//! file and its comparison with the records (applying re-reads the records by 工号), and a set
//! of login slips holds one-time passwords that were never stored in plain text. Both vanish
//! after 15 minutes, on a restart, and — for slips — for anyone but the admin who made them.

pub mod audit;
pub mod awards;
pub mod members;
pub mod org;

use crate::roster::Plan;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a preview and a set of login slips are kept.
pub const KEEP: Duration = Duration::from_secs(15 * 60);

/// One login slip: what a new member (or one whose password was reset) needs to log in once.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Slip {
    pub staff_no: String,
    pub name: String,
    pub password: String,
}

struct Held<T> {
    /// The admin who made it: nobody else may use it.
    owner: String,
    made: Instant,
    value: T,
}

/// Why something kept is not there.
#[derive(Debug, PartialEq, Eq)]
pub enum Gone {
    /// Never made, expired, or already used.
    Expired,
    /// Made by another admin.
    NotYours,
}

/// Previews and login slips, by random token. A `std::sync::Mutex`: it is held only to look
/// up or insert, never across an await.
#[derive(Default)]
pub struct Console {
    previews: Mutex<HashMap<String, Held<Plan>>>,
    slips: Mutex<HashMap<String, Held<Vec<Slip>>>>,
}

fn token() -> String {
    // 122 random bits.
    uuid::Uuid::new_v4().simple().to_string()
}

fn keep<T>(map: &Mutex<HashMap<String, Held<T>>>, owner: &str, value: T) -> String {
    let mut m = map.lock().unwrap_or_else(|e| e.into_inner());
    m.retain(|_, h| h.made.elapsed() < KEEP);
    let t = token();
    m.insert(
        t.clone(),
        Held {
            owner: owner.to_string(),
            made: Instant::now(),
            value,
        },
    );
    t
}

fn fetch<T: Clone>(
    map: &Mutex<HashMap<String, Held<T>>>,
    owner: &str,
    token: &str,
) -> Result<T, Gone> {
    let mut m = map.lock().unwrap_or_else(|e| e.into_inner());
    m.retain(|_, h| h.made.elapsed() < KEEP);
    match m.get(token) {
        None => Err(Gone::Expired),
        Some(h) if h.owner != owner => Err(Gone::NotYours),
        Some(h) => Ok(h.value.clone()),
    }
}

impl Console {
    /// Keeps a roster preview; returns its token.
    pub fn keep_preview(&self, owner: &str, plan: Plan) -> String {
        keep(&self.previews, owner, plan)
    }

    pub fn preview(&self, owner: &str, token: &str) -> Result<Plan, Gone> {
        fetch(&self.previews, owner, token)
    }

    /// A preview is applied once.
    pub fn forget_preview(&self, token: &str) {
        self.previews
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(token);
    }

    /// Keeps a set of login slips; returns its id.
    pub fn keep_slips(&self, owner: &str, slips: Vec<Slip>) -> String {
        keep(&self.slips, owner, slips)
    }

    pub fn slips(&self, owner: &str, id: &str) -> Result<Vec<Slip>, Gone> {
        fetch(&self.slips, owner, id)
    }
}

/// Appends an audit entry inside a transaction (`records::audit::record` writes on the pool).
pub(crate) use crate::roster::audit_in;

/// A name typed by an admin (a department, a section): trimmed, 1–64 characters, no control
/// or bidi characters.
pub fn clean_name(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("名称不能为空".into());
    }
    if s.chars().count() > 64 {
        return Err("名称最多 64 个字".into());
    }
    if crate::roster::hidden_char(s).is_some() {
        return Err("名称含有不可见的控制字符".into());
    }
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_things_belong_to_their_maker() {
        let c = Console::default();
        let id = c.keep_slips(
            "a",
            vec![Slip {
                staff_no: "1".into(),
                name: "张".into(),
                password: "p".into(),
            }],
        );
        assert_eq!(c.slips("a", &id).unwrap().len(), 1);
        assert_eq!(c.slips("b", &id).unwrap_err(), Gone::NotYours);
        assert_eq!(c.slips("a", "nope").unwrap_err(), Gone::Expired);
    }

    #[test]
    fn names_are_cleaned() {
        assert_eq!(clean_name(" 文秘处 ").unwrap(), "文秘处");
        assert!(clean_name("  ").is_err());
        assert!(clean_name("文\u{202E}秘").is_err());
    }
}
