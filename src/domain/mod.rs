//! Pure rules of the product: no I/O, time and randomness passed in.

/// Live competitions: settings, the seeded draw, tallies, award proposals.
pub mod competition;
/// Practice drills: weighted draw, notebook schedule, leaderboard score.
pub mod drill;
/// Questions, answer keys and grading.
pub mod question;
/// Roles of the people who use biwu.
pub mod role;
/// Points and the leaderboard's tie-break encoding.
pub mod scoring;

pub use question::{AnswerKey, Draft, DraftAnswer, Kind, Question, Response, TagVocabulary, Topic};
pub use role::Role;
