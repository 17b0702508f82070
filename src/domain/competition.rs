//! Rules of a live competition: settings, the seeded draw, tallying a player's answers and
//! proposing pacesetters. Pure: the conductor feeds it what happened.

use super::cases;
use super::question::{Kind, Question, Response, Topic};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// How the winners become 业务标兵.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AwardRule {
    /// The best N (ties at the boundary included).
    TopN(u32),
    /// Everyone with at least this many points.
    MinPoints(i64),
}

/// Settings of a competition, stored as JSON with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub time_limit_s: u32,
    pub base_points: i64,
    pub speed_bonus: bool,
    pub streak_bonus: bool,
    pub guests_allowed: bool,
    /// Guests admitted at most (members are never counted).
    #[serde(default = "default_max_guests")]
    pub max_guests: u32,
    pub award_rule: AwardRule,
    /// What the draw was asked for, kept for the audit of the draw.
    #[serde(default)]
    pub topics: Vec<Topic>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub difficulty: Vec<u8>,
    /// Team standings beside the individual ones.
    #[serde(default)]
    pub teams: super::teams::TeamRule,
    /// When set, only these members may play (the finalists carried over from an exam);
    /// guests are then not admitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrants: Option<Vec<String>>,
}

/// Guests a room admits unless the host says otherwise.
pub const DEFAULT_MAX_GUESTS: u32 = 500;

fn default_max_guests() -> u32 {
    DEFAULT_MAX_GUESTS
}

/// A name shown to others (a guest's nickname): trimmed, 1–20 characters, and none of the
/// characters that hide or reorder text (controls, bidirectional overrides, zero-width
/// characters), which would let one name pose as another on the projector.
pub fn display_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 20 {
        return Err("昵称应为 1–20 个字".into());
    }
    let hidden = |c: char| {
        c.is_control()
            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
    };
    if name.chars().any(hidden) {
        return Err("昵称不能含控制字符或改变文字方向的字符".into());
    }
    Ok(name.to_string())
}

/// What a player not among a competition's entrants is told.
pub const NOT_ENTRANT: &str = "本场比武仅限晋级选手参加";

impl Settings {
    /// Whether the entrant list lets this player in: everyone when there is none; with one,
    /// only the members on it (`member`: the player's member id, `None` for a guest), so a
    /// final carried over from an exam is played by its finalists alone.
    pub fn admits_entrant(&self, member: Option<&str>) -> bool {
        match &self.entrants {
            None => true,
            Some(list) => member.is_some_and(|m| list.iter().any(|e| e == m)),
        }
    }

    pub fn check(&self) -> Result<(), String> {
        if !(5..=120).contains(&self.time_limit_s) {
            return Err(format!(
                "每题时间应在 5–120 秒之间，收到 {}",
                self.time_limit_s
            ));
        }
        if !(1..=100_000).contains(&self.base_points) {
            return Err("基础分应在 1–100000 之间".into());
        }
        match self.award_rule {
            AwardRule::TopN(0) => Err("表彰名额至少为 1".into()),
            AwardRule::MinPoints(p) if p < 0 => Err("表彰分数线不能为负".into()),
            _ => Ok(()),
        }
    }
}

/// Draws `count` questions from `pool` with an RNG seeded by `seed`: the same pool and seed
/// always give the same draw, so any competition's questions can be reproduced for audit.
/// Questions are filtered first (topics, tags, difficulty; empty filters match all), then
/// shuffled and cut. Kinds are all allowed. Only the first question of each family (in the
/// shuffled order) is kept, so a set never asks the same fact twice, and a case question
/// brings its whole group in order ([`cases::take`]); a pool without families or groups
/// draws exactly as before they existed, so old seeds still reproduce their draws.
pub fn draw<'a>(
    pool: &'a [Question],
    topics: &[Topic],
    tags: &[String],
    difficulty: &[u8],
    count: usize,
    seed: u64,
) -> Vec<&'a Question> {
    let mut candidates: Vec<&Question> = pool
        .iter()
        .filter(|q| topics.is_empty() || topics.contains(&q.topic))
        .filter(|q| tags.is_empty() || q.tags.iter().any(|t| tags.contains(t)))
        .filter(|q| difficulty.is_empty() || difficulty.contains(&q.difficulty))
        .collect();
    // A stable order before shuffling, whatever order the pool came in.
    candidates.sort_by(|a, b| a.id.cmp(&b.id));
    let mut rng = StdRng::seed_from_u64(seed);
    candidates.shuffle(&mut rng);
    // A case group counts when one of its questions passes the filters; it comes whole.
    cases::take(candidates, &cases::Groups::of(pool), count)
}

/// True for a question without a family, or the first seen of its family (recorded in
/// `seen`): the test every draw applies to keep one question per family in a set.
pub fn first_of_family(seen: &mut HashSet<String>, family: Option<&str>) -> bool {
    family.is_none_or(|f| seen.insert(f.to_string()))
}

/// What the conductor knows of one asked question when tallying.
#[derive(Debug, Clone, Copy)]
pub struct Asked {
    pub limit_ms: u64,
    pub voided: bool,
}

/// One player's answer to one question, graded (with any accepted alternatives).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Given {
    pub correct: bool,
    pub elapsed_ms: u64,
}

/// A player's standing after the revealed questions.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tally {
    /// Points per revealed question (0 for wrong, missed or voided).
    pub points: Vec<i64>,
    pub total: i64,
    /// Answer time: elapsed for answered questions, the full limit for missed ones.
    pub total_ms: i64,
    /// Right answers in a row at the end.
    pub streak: u32,
}

/// Streak bonus for a right answer that makes a streak of `streak` (1 = first right answer).
pub fn streak_bonus(streak: u32) -> i64 {
    100 * i64::from(streak.saturating_sub(1).min(5))
}

/// Tallies one player over the revealed questions `asked` (in order); `given[i]` is their
/// answer to question `i`, if any. Voided questions count for nothing and do not break streaks.
pub fn tally(settings: &Settings, asked: &[Asked], given: &[Option<Given>]) -> Tally {
    let mut t = Tally::default();
    for (i, a) in asked.iter().enumerate() {
        if a.voided {
            t.points.push(0);
            continue;
        }
        match given.get(i).copied().flatten() {
            Some(g) => {
                t.total_ms += g.elapsed_ms.min(a.limit_ms) as i64;
                if g.correct {
                    t.streak += 1;
                    let mut p = super::scoring::standard_points(
                        settings.base_points,
                        g.elapsed_ms,
                        a.limit_ms,
                        settings.speed_bonus,
                    );
                    if settings.streak_bonus {
                        p += streak_bonus(t.streak);
                    }
                    t.points.push(p);
                    t.total += p;
                } else {
                    t.streak = 0;
                    t.points.push(0);
                }
            }
            None => {
                t.total_ms += a.limit_ms as i64;
                t.streak = 0;
                t.points.push(0);
            }
        }
    }
    t
}

/// Grades with the host's accepted alternatives: right if the key accepts it, or it equals
/// an accepted alternative.
pub fn grade_with(
    question: &Question,
    also: &[Response],
    response: &Response,
) -> Result<bool, String> {
    let by_key = question.grade(response)?;
    if by_key {
        return Ok(true);
    }
    Ok(also
        .iter()
        .any(|alt| same_response(question, alt, response)))
}

fn same_response(q: &Question, a: &Response, b: &Response) -> bool {
    use super::question::normalize_text;
    match (a, b) {
        (Response::Choice(x), Response::Choice(y)) => {
            let norm = |s: &str| {
                let mut v: Vec<char> = s
                    .chars()
                    .filter(|c| c.is_ascii_alphabetic())
                    .map(|c| c.to_ascii_uppercase())
                    .collect();
                v.sort_unstable();
                v.dedup();
                v
            };
            q.kind.is_choice() && norm(x) == norm(y)
        }
        (Response::Text(x), Response::Text(y)) => normalize_text(x) == normalize_text(y),
        (Response::Number(x), Response::Number(y)) => (x - y).abs() < 1e-9,
        (Response::Date(x), Response::Date(y)) => {
            super::question::parse_date(x).is_some()
                && super::question::parse_date(x) == super::question::parse_date(y)
        }
        (Response::TrueFalse(x), Response::TrueFalse(y)) => x == y && q.kind == Kind::TrueFalse,
        _ => false,
    }
}

/// The bars of a reveal for the answers given to `question` (players who did not answer are
/// in none). Choice kinds: one bar per option, counting the players who chose it, so a
/// multiple-choice answer `ACD` counts once under each of A, C and D and the bars may add up
/// to more than the answers; true/false: `[正确, 错误]`; fill, numeric and date: `[right,
/// wrong]`, graded with the host's accepted alternatives.
pub fn distribution<'a>(
    question: &Question,
    also: &[Response],
    answers: impl IntoIterator<Item = &'a Response>,
) -> Vec<u32> {
    let mut bars = if question.kind.is_choice() {
        vec![0u32; question.options.len()]
    } else {
        vec![0u32; 2]
    };
    for response in answers {
        match (response, question.kind) {
            (Response::Choice(letters), k) if k.is_choice() => {
                let mut chosen: Vec<usize> = letters
                    .chars()
                    .filter_map(|c| {
                        let c = c.to_ascii_uppercase();
                        super::question::LETTERS
                            .iter()
                            .position(|&l| l as char == c)
                    })
                    .filter(|&i| i < bars.len())
                    .collect();
                // "AAC" is A and C: one player, one count per option.
                chosen.sort_unstable();
                chosen.dedup();
                for i in chosen {
                    bars[i] += 1;
                }
            }
            (Response::TrueFalse(b), _) => bars[if *b { 0 } else { 1 }] += 1,
            (r, _) => {
                let right = grade_with(question, also, r).unwrap_or(false);
                bars[if right { 0 } else { 1 }] += 1;
            }
        }
    }
    bars
}

/// One player's final standing, for the award rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Final {
    pub participant: String,
    pub rank: u64,
    pub points: i64,
    /// Only roster members can be awarded (guests have no record to write it into).
    pub member: bool,
}

/// The pacesetters the rule proposes, best first (`standings` in rank order). Only roster
/// members with points take part: guests have no record to write an award into, and nobody is
/// commended for 0 points. Top N ranks the members among themselves (competition ranks, so
/// members tied at the boundary — same points and time — are all included); a points
/// threshold takes every member at or above it.
pub fn propose(rule: AwardRule, standings: &[Final]) -> Vec<&Final> {
    let eligible: Vec<&Final> = standings
        .iter()
        .filter(|f| f.member && f.points > 0)
        .collect();
    match rule {
        AwardRule::MinPoints(p) => eligible.into_iter().filter(|f| f.points >= p).collect(),
        AwardRule::TopN(n) => {
            let mut out = Vec::new();
            let mut member_rank = 0;
            let mut previous = None;
            for (i, f) in eligible.into_iter().enumerate() {
                if previous != Some(f.rank) {
                    member_rank = i as u64 + 1;
                }
                previous = Some(f.rank);
                if member_rank > u64::from(n) {
                    break;
                }
                out.push(f);
            }
            out
        }
    }
}

#[cfg(test)]
mod name_tests {
    #[test]
    fn names_that_hide_or_reorder_text_are_refused() {
        use super::display_name;
        assert_eq!(display_name("  访客小王 ").as_deref(), Ok("访客小王"));
        assert!(display_name("").is_err());
        assert!(display_name(&"长".repeat(21)).is_err());
        assert!(display_name("abc\u{202E}def").unwrap_err().contains("方向"));
        assert!(display_name("a\u{200B}b").is_err());
        assert!(display_name("a\nb").is_err());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::question::AnswerKey;

    fn settings() -> Settings {
        Settings {
            time_limit_s: 20,
            base_points: 1000,
            speed_bonus: true,
            streak_bonus: true,
            guests_allowed: false,
            max_guests: DEFAULT_MAX_GUESTS,
            award_rule: AwardRule::TopN(3),
            topics: vec![],
            tags: vec![],
            difficulty: vec![],
            teams: Default::default(),
            entrants: None,
        }
    }

    fn asked(n: usize) -> Vec<Asked> {
        vec![
            Asked {
                limit_ms: 20_000,
                voided: false
            };
            n
        ]
    }

    #[test]
    fn tally_scores_speed_streak_and_missing_answers() {
        let g = |correct, ms| {
            Some(Given {
                correct,
                elapsed_ms: ms,
            })
        };
        let t = tally(
            &settings(),
            &asked(4),
            &[g(true, 0), g(true, 10_000), None, g(false, 5_000)],
        );
        // 1000 + (750 + 100 streak) + 0 + 0
        assert_eq!(t.points, vec![1000, 850, 0, 0]);
        assert_eq!(t.total, 1850);
        assert_eq!(t.total_ms, 10_000 + 20_000 + 5_000);
        assert_eq!(t.streak, 0);
    }

    #[test]
    fn voided_questions_count_for_nothing_and_keep_streaks() {
        let mut a = asked(3);
        a[1].voided = true;
        let g = Some(Given {
            correct: true,
            elapsed_ms: 0,
        });
        let t = tally(&settings(), &a, &[g, g, g]);
        assert_eq!(t.points, vec![1000, 0, 1100]);
        assert_eq!(t.total_ms, 0);
        assert_eq!(t.streak, 2);
    }

    #[test]
    fn streak_bonus_is_capped() {
        assert_eq!(streak_bonus(1), 0);
        assert_eq!(streak_bonus(2), 100);
        assert_eq!(streak_bonus(6), 500);
        assert_eq!(streak_bonus(60), 500);
    }

    fn q(id: &str, topic: Topic, difficulty: u8) -> Question {
        Question {
            id: id.into(),
            kind: Kind::TrueFalse,
            topic,
            difficulty,
            tags: vec!["总则".into()],
            stem: id.into(),
            options: vec![],
            answer: AnswerKey::TrueFalse(true),
            explanation: "e".into(),
            source: "s".into(),
            time_limit: None,
            unit: None,
            family: None,
            case: None,
        }
    }

    #[test]
    fn the_draw_is_reproducible_filtered_and_without_repeats() {
        let pool: Vec<Question> = (0..60)
            .map(|i| {
                let topic = if i % 2 == 0 {
                    Topic::PetitionWork
                } else {
                    Topic::Speeches
                };
                q(&format!("q{i:02}"), topic, (i % 3 + 1) as u8)
            })
            .collect();
        let a = draw(&pool, &[Topic::PetitionWork], &[], &[], 10, 42);
        let mut shuffled = pool.clone();
        shuffled.reverse();
        let b = draw(&shuffled, &[Topic::PetitionWork], &[], &[], 10, 42);
        let ids = |v: &[&Question]| v.iter().map(|q| q.id.clone()).collect::<Vec<_>>();
        assert_eq!(
            ids(&a),
            ids(&b),
            "same seed, same draw, whatever the pool order"
        );
        assert_eq!(a.len(), 10);
        assert!(a.iter().all(|q| q.topic == Topic::PetitionWork));
        let unique: std::collections::HashSet<_> = ids(&a).into_iter().collect();
        assert_eq!(unique.len(), 10);
        assert_ne!(
            ids(&a),
            ids(&draw(&pool, &[Topic::PetitionWork], &[], &[], 10, 43))
        );
        let hard = draw(&pool, &[], &[], &[3], 100, 1);
        assert_eq!(hard.len(), 20);
        assert!(hard.iter().all(|q| q.difficulty == 3));
    }

    /// A pool where half the questions come in pairs of one family.
    fn paired_pool() -> Vec<Question> {
        (0..80)
            .map(|i| {
                let mut question = q(&format!("q{i:02}"), Topic::PetitionWork, 1);
                if i < 40 {
                    question.family = Some(format!("f{}", i / 2));
                }
                question
            })
            .collect()
    }

    #[test]
    fn no_draw_asks_two_questions_of_one_family() {
        let pool = paired_pool();
        for seed in 0..200 {
            for count in [10, 40, 80] {
                let drawn = draw(&pool, &[], &[], &[], count, seed);
                let mut seen = HashSet::new();
                for question in &drawn {
                    if let Some(f) = &question.family {
                        assert!(seen.insert(f), "seed {seed}: two of family {f}");
                    }
                }
                // 40 unfamilied questions and 20 families: 60 distinct facts at most.
                assert_eq!(drawn.len(), count.min(60), "seed {seed}");
            }
        }
    }

    #[test]
    fn a_pool_without_families_draws_as_before() {
        // The draw before families existed: filter, sort by id, shuffle, cut.
        let pool: Vec<Question> = (0..50)
            .map(|i| q(&format!("q{i:02}"), Topic::Speeches, 2))
            .collect();
        for seed in 0..20 {
            let mut old: Vec<&Question> = pool.iter().collect();
            old.shuffle(&mut StdRng::seed_from_u64(seed));
            old.truncate(12);
            let new = draw(&pool, &[], &[], &[], 12, seed);
            let ids = |v: &[&Question]| v.iter().map(|q| q.id.clone()).collect::<Vec<_>>();
            assert_eq!(ids(&new), ids(&old), "seed {seed}");
        }
    }

    #[test]
    fn accepted_alternatives_count_as_right() {
        let mut question = q("x", Topic::PetitionWork, 1);
        question.kind = Kind::Fill;
        question.answer = AnswerKey::Fill(vec!["群众路线".into()]);
        let alt = Response::Text("党的群众路线".into());
        assert!(!grade_with(&question, &[], &alt).unwrap());
        assert!(
            grade_with(
                &question,
                std::slice::from_ref(&alt),
                &Response::Text(" 党的群众路线".into())
            )
            .unwrap()
        );
        assert!(grade_with(&question, &[alt], &Response::Number(1.0)).is_err());
    }

    #[test]
    fn distribution_counts_each_chosen_letter_once_and_only_answers() {
        let mut multiple = q("m", Topic::PetitionWork, 1);
        multiple.kind = Kind::Multiple;
        multiple.options = vec!["一".into(), "二".into(), "三".into(), "四".into()];
        multiple.answer = AnswerKey::Choice(vec![0, 2, 3]);
        let answers = [
            Response::Choice("ACD".into()),
            Response::Choice("acd".into()),
            Response::Choice("AAB".into()),
            Response::Choice("Z".into()),
        ];
        assert_eq!(distribution(&multiple, &[], &answers), vec![3, 1, 2, 2]);
        let truefalse = q("t", Topic::PetitionWork, 1);
        let answers = [Response::TrueFalse(false), Response::TrueFalse(false)];
        assert_eq!(distribution(&truefalse, &[], &answers), vec![0, 2]);
        let mut fill = q("f", Topic::PetitionWork, 1);
        fill.kind = Kind::Fill;
        fill.answer = AnswerKey::Fill(vec!["群众路线".into()]);
        let also = [Response::Text("党的群众路线".into())];
        let answers = [
            Response::Text("群众路线".into()),
            Response::Text("党的群众路线".into()),
            Response::Text("别的".into()),
        ];
        assert_eq!(
            distribution(&fill, &also, &answers),
            vec![2, 1],
            "[right, wrong]"
        );
        assert_eq!(distribution(&fill, &[], &[]), vec![0, 0], "nobody answered");
    }

    #[test]
    fn award_rules_skip_guests_and_include_ties() {
        let f = |p: &str, rank, points, member| Final {
            participant: p.into(),
            rank,
            points,
            member,
        };
        let standings = vec![
            f("a", 1, 900, true),
            f("g", 2, 800, false),
            f("b", 3, 700, true),
            f("c", 3, 700, true),
            f("d", 5, 100, true),
        ];
        let top3: Vec<&str> = propose(AwardRule::TopN(3), &standings)
            .iter()
            .map(|f| f.participant.as_str())
            .collect();
        assert_eq!(top3, ["a", "b", "c"]);
        let over: Vec<&str> = propose(AwardRule::MinPoints(750), &standings)
            .iter()
            .map(|f| f.participant.as_str())
            .collect();
        assert_eq!(over, ["a"]);
        let at_least: Vec<&str> = propose(AwardRule::MinPoints(700), &standings)
            .iter()
            .map(|f| f.participant.as_str())
            .collect();
        assert_eq!(at_least, ["a", "b", "c"], "min_points is at least (≥)");
        // Guests at the top do not take members' places; 0 points is never commended.
        let standings = vec![
            f("g1", 1, 900, false),
            f("g2", 2, 850, false),
            f("g3", 3, 800, false),
            f("a", 4, 700, true),
            f("b", 5, 600, true),
            f("c", 5, 600, true),
            f("d", 7, 500, true),
            f("z", 8, 0, true),
        ];
        let top2: Vec<&str> = propose(AwardRule::TopN(2), &standings)
            .iter()
            .map(|f| f.participant.as_str())
            .collect();
        assert_eq!(top2, ["a", "b", "c"], "the tie at the boundary is included");
        let all: Vec<&str> = propose(AwardRule::TopN(10), &standings)
            .iter()
            .map(|f| f.participant.as_str())
            .collect();
        assert_eq!(all, ["a", "b", "c", "d"]);
        assert!(
            propose(AwardRule::MinPoints(0), &standings)
                .iter()
                .all(|f| f.points > 0)
        );
    }
}
