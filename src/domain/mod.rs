//! Pure rules of the product: no I/O, time and randomness passed in.

/// The users' calendar (UTC+8): days, weeks from Monday, periods.
pub mod calendar;
/// Case groups (案例题) in draws: whole and in order.
pub mod cases;
/// Live competitions: settings, the seeded draw, tallies, award proposals.
pub mod competition;
/// Practice drills: weighted draw, notebook schedule, leaderboard score.
pub mod drill;
/// Online exam rounds: settings, the paper, each taker's order, scoring, ranking.
pub mod exam;
/// Item statistics: share right, discrimination, flags.
pub mod items;
/// Questions, answer keys and grading.
pub mod question;
/// 小结点评: the draft a section head starts from.
pub mod review;
/// Roles of the people who use biwu.
pub mod role;
/// Points and the leaderboard's tie-break encoding.
pub mod scoring;
/// The stage final (决赛): 必答, 抢答, 风险 and judged rounds, the buzzer, the scoreboard.
pub mod stage;
/// Team standings of competitions and exams.
pub mod teams;

pub use question::{AnswerKey, Draft, DraftAnswer, Kind, Question, Response, TagVocabulary, Topic};
pub use role::Role;
