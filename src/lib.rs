//! biwu (比武): quiz and skills competitions with a real-time leaderboard, practice drills
//! and section reviews, for a government agency's Party-learning plan.
//!
//! A tour of the crate:
//! - [`domain`]: pure rules (questions and grading, scoring, roles); no I/O.
//! - [`bank`]: the question bank on disk (TOML), its checks, spreadsheets in and out.
//! - [`records`]: the source of truth in SQL (SQLite or PostgreSQL, one code path).
//! - [`board`] and [`bus`]: derived, rebuildable state — leaderboards and the event bus,
//!   in-process or in Redis ([`redis_conn`]).
//! - [`auth`], [`accounts`], [`roster`]: who may do what; passwords, sessions, the roster.
//! - [`http`]: routes, pages and assets; [`startup`] builds the server from [`config`].
//! - [`drill`], [`live`], [`section`]: practice drills, live competitions, the section heads'
//!   workspace (figures, tasks, reviews, workbooks).
//! - [`demo`]: a fictitious organisation to try it with.

pub mod accounts;
pub mod admin;
pub mod auth;
pub mod bank;
pub mod board;
pub mod bus;
pub mod config;
pub mod demo;
pub mod domain;
pub mod drill;
pub mod error;
pub mod exam;
pub mod http;
pub mod i18n;
pub mod lease;
pub mod live;
pub mod metrics;
pub mod records;
pub mod redis_conn;
pub mod roster;
pub mod section;
pub mod stage;
pub mod startup;
pub mod table;
