//! Practice drills (岗位练兵): the weighted, seeded draw; the notebook's review schedule
//! (FSRS behind a simple rule for people); the drill leaderboard's score. Pure: time and
//! randomness come in as arguments.

use super::question::Topic;
use chrono::{DateTime, Utc};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// Right answers in a row that master a notebook entry. Shown to members as the rule.
pub const MASTERY_STREAK: i64 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Questions of chosen topics (all topics when none chosen).
    Topics,
    /// Weighted toward the member's weakest topics and tags.
    Weak,
    /// Notebook review: due entries first, then the rest of the notebook.
    Notebook,
}

/// A question that may be drawn.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub id: String,
    pub topic: Topic,
    pub tags: Vec<String>,
    /// Questions on the same fact: a drill takes at most one of each family. For a case
    /// question, its group's id ([`crate::domain::Question::family_key`]).
    pub family: Option<String>,
    /// For a case question: its group's id, its position and the group's size. A fresh draw
    /// takes the whole group in order; a notebook entry comes back alone (with its scenario).
    pub case: Option<(String, u32, u32)>,
}

/// A member's record: right/total per topic and per tag.
#[derive(Debug, Clone, Default)]
pub struct Accuracy {
    pub topics: HashMap<Topic, (u32, u32)>,
    pub tags: HashMap<String, (u32, u32)>,
}

/// Accuracy with a prior of one right in two: an unpractised topic counts as half known,
/// so it is neither ignored nor swamps the draw.
fn smoothed((right, total): (u32, u32)) -> f64 {
    (f64::from(right) + 1.0) / (f64::from(total) + 2.0)
}

impl Accuracy {
    /// Draw weight of a question: 1 plus twice its topic's error rate plus its tags' mean
    /// error rate. A topic answered 20 % right weighs 1 + 1.6 + …, one answered 90 % right
    /// 1 + 0.2 + …: weak topics come up several times as often, strong ones never vanish.
    pub fn weight(&self, c: &Candidate) -> f64 {
        let topic = 1.0 - smoothed(self.topics.get(&c.topic).copied().unwrap_or_default());
        let tags = if c.tags.is_empty() {
            0.5
        } else {
            c.tags
                .iter()
                .map(|t| 1.0 - smoothed(self.tags.get(t).copied().unwrap_or_default()))
                .sum::<f64>()
                / c.tags.len() as f64
        };
        1.0 + 2.0 * topic + tags
    }
}

/// What the draw avoids and prefers.
pub struct DrawInput<'a> {
    pub pool: &'a [Candidate],
    pub accuracy: &'a Accuracy,
    /// Questions seen in the member's recent drills: skipped unless due in the notebook.
    pub recent: &'a HashSet<String>,
    /// Notebook entries due now, most overdue first.
    pub due: &'a [String],
    /// Notebook entries not yet mastered (for notebook mode after the due ones).
    pub notebook: &'a [String],
}

/// Draws `count` distinct question ids with an RNG seeded by `seed` (stored with the drill,
/// so the draw can be replayed for audit). At most one question of each family is taken
/// (due notebook entries first); a pool without families draws exactly as before.
/// The order a drill shows the options of its question at `position` in: bank indices in
/// display order, shuffled by the drill's seed (so the same drill shows the same order after a
/// reload), or the bank's order for kinds without options to shuffle. Each member's drills get
/// their own order, so "the answer is usually B" teaches nothing; the API and the records keep
/// the bank's letters.
pub fn option_order(seed: u64, position: i64, options: usize, choice: bool) -> Vec<usize> {
    use rand::seq::SliceRandom;
    let mut order: Vec<usize> = (0..options).collect();
    if choice {
        let mixed = seed ^ (position as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        order.shuffle(&mut StdRng::seed_from_u64(mixed));
    }
    order
}

pub fn draw(mode: Mode, input: &DrawInput<'_>, count: usize, seed: u64) -> Vec<String> {
    let mut rng = StdRng::seed_from_u64(seed);
    let family_of: HashMap<&str, Option<&str>> = input
        .pool
        .iter()
        .map(|c| (c.id.as_str(), c.family.as_deref()))
        .collect();
    // Complete case groups, each in position order.
    let mut groups: HashMap<&str, Vec<(u32, &str)>> = HashMap::new();
    for c in input.pool {
        if let Some((g, position, _)) = &c.case {
            groups.entry(g).or_default().push((*position, &c.id));
        }
    }
    for members in groups.values_mut() {
        members.sort();
    }
    let group_of: HashMap<&str, Option<Vec<&str>>> = input
        .pool
        .iter()
        .filter_map(|c| {
            let (g, _, size) = c.case.as_ref()?;
            let members = &groups[g.as_str()];
            let whole = members.len() == *size as usize
                && members
                    .iter()
                    .enumerate()
                    .all(|(i, m)| m.0 as usize == i + 1);
            Some((
                c.id.as_str(),
                whole.then(|| members.iter().map(|m| m.1).collect()),
            ))
        })
        .collect();
    let mut out: Vec<String> = Vec::new();
    let mut taken: HashSet<String> = HashSet::new();
    let mut families: HashSet<String> = HashSet::new();
    // Takes `id` if it is in the pool, not yet taken and of a family not yet taken; with
    // `whole`, a case question brings its whole group, if the group is complete and fits.
    let mut claim = |id: &str, whole: bool, out: &mut Vec<String>| -> bool {
        let Some(family) = family_of.get(id) else {
            return false;
        };
        if taken.contains(id) || family.is_some_and(|f| families.contains(f)) {
            return false;
        }
        let unit: Vec<&str> = match group_of.get(id) {
            Some(Some(members)) if whole => members.clone(),
            Some(None) if whole => return false,
            _ => vec![id],
        };
        if out.len() + unit.len() > count {
            return false;
        }
        if let Some(f) = family {
            families.insert(f.to_string());
        }
        for id in unit {
            taken.insert(id.to_string());
            out.push(id.to_string());
        }
        true
    };
    if mode == Mode::Notebook {
        for id in input.due.iter().chain(input.notebook) {
            if out.len() == count {
                break;
            }
            claim(id, false, &mut out);
        }
        return out;
    }
    // Due notebook items lead in every mode: they are why the member should see them today.
    for id in input.due {
        if out.len() >= count / 3 {
            break;
        }
        claim(id, false, &mut out);
    }
    let led: HashSet<&str> = out.iter().map(String::as_str).collect();
    let led_families: HashSet<&str> = out
        .iter()
        .filter_map(|id| family_of.get(id.as_str()).copied().flatten())
        .collect();
    let open = |c: &&Candidate| {
        !led.contains(c.id.as_str())
            && c.family
                .as_deref()
                .is_none_or(|f| !led_families.contains(f))
    };
    let mut fresh: Vec<&Candidate> = input
        .pool
        .iter()
        .filter(open)
        .filter(|c| !input.recent.contains(&c.id))
        .collect();
    // When recent drills have used up the pool, allow repeats across drills (never within).
    if fresh.len() < count - out.len() {
        fresh = input.pool.iter().filter(open).collect();
    }
    fresh.sort_by(|a, b| a.id.cmp(&b.id));
    // Sample, keep the first of each family, and sample again from what is left for the
    // places a family clash freed; without families the first round fills the drill.
    while out.len() < count && !fresh.is_empty() {
        let need = (count - out.len()).min(fresh.len());
        let picked: Vec<&&Candidate> = match mode {
            Mode::Weak => fresh
                .sample_weighted(&mut rng, need, |c| input.accuracy.weight(c))
                .map(|it| it.collect())
                .unwrap_or_default(),
            _ => fresh.sample(&mut rng, need).collect(),
        };
        if picked.is_empty() {
            break;
        }
        let ids: HashSet<&str> = picked.iter().map(|c| c.id.as_str()).collect();
        for c in &picked {
            claim(&c.id, true, &mut out);
        }
        let claimed: HashSet<&str> = picked.iter().filter_map(|c| c.family.as_deref()).collect();
        fresh.retain(|c| {
            !ids.contains(c.id.as_str()) && c.family.as_deref().is_none_or(|f| !claimed.contains(f))
        });
    }
    out
}

/// A notebook entry's schedule: the FSRS card (persisted as JSON), due time and the streak
/// of right answers members see.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Schedule {
    pub card: rs_fsrs::Card,
}

/// What a review did to an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotebookChange {
    Added,
    Reviewed,
    Mastered,
}

/// The state of one notebook entry.
#[derive(Debug, Clone)]
pub struct Entry {
    pub schedule: Schedule,
    pub due_at: DateTime<Utc>,
    pub right_streak: i64,
    pub mastered: bool,
}

impl Entry {
    /// A question answered wrong (or timed out) for the first time.
    pub fn new(now: DateTime<Utc>) -> Entry {
        let mut e = Entry {
            schedule: Schedule {
                card: rs_fsrs::Card::new(),
            },
            due_at: now,
            right_streak: 0,
            mastered: false,
        };
        e.review(false, now);
        e
    }

    /// Schedules the next review after an answer. FSRS rates a right answer Good and a wrong
    /// one Again; members see the simpler rule: [`MASTERY_STREAK`] right in a row → mastered.
    pub fn review(&mut self, right: bool, now: DateTime<Utc>) -> NotebookChange {
        let fsrs = rs_fsrs::FSRS::default();
        let rating = if right {
            rs_fsrs::Rating::Good
        } else {
            rs_fsrs::Rating::Again
        };
        let info = fsrs.next(self.schedule.card.clone(), now, rating);
        self.schedule.card = info.card;
        self.due_at = self.schedule.card.due;
        if right {
            self.right_streak += 1;
        } else {
            self.right_streak = 0;
            self.mastered = false;
        }
        if self.right_streak >= MASTERY_STREAK && !self.mastered {
            self.mastered = true;
            return NotebookChange::Mastered;
        }
        NotebookChange::Reviewed
    }

    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        !self.mastered && self.due_at <= now
    }
}

/// Right answers that count per day on the drill leaderboard.
pub const DAILY_CAP: i64 = 30;
/// Points per right answer and per day practised.
pub const POINTS_PER_RIGHT: i64 = 10;
pub const POINTS_PER_DAY: i64 = 30;

/// Leaderboard points for a period from right answers per day practised:
/// `Σ_days 10 × min(right, 30) + 30`. See `docs/api.md`.
pub fn period_points(right_per_day: &[i64]) -> i64 {
    right_per_day
        .iter()
        .map(|&r| POINTS_PER_RIGHT * r.clamp(0, DAILY_CAP) + POINTS_PER_DAY)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_orders_are_permutations_that_differ_between_drills() {
        let a: Vec<Vec<usize>> = (0..20).map(|p| option_order(1, p, 4, true)).collect();
        let b: Vec<Vec<usize>> = (0..20).map(|p| option_order(2, p, 4, true)).collect();
        assert_ne!(a, b);
        assert_eq!(a[3], option_order(1, 3, 4, true), "replayable");
        for o in &a {
            let mut s = o.clone();
            s.sort_unstable();
            assert_eq!(s, [0, 1, 2, 3]);
        }
        assert!(a.iter().any(|o| o != &[0, 1, 2, 3]), "shuffled");
        assert_eq!(option_order(1, 0, 2, false), [0, 1]);
    }
    use chrono::{Duration, TimeZone};

    fn pool() -> Vec<Candidate> {
        let mut v = Vec::new();
        for i in 0..200 {
            let topic = if i % 2 == 0 {
                Topic::PetitionWork
            } else {
                Topic::PartyConstitution
            };
            v.push(Candidate {
                id: format!("q{i:03}"),
                topic,
                tags: vec![if i % 4 < 2 { "a".into() } else { "b".into() }],
                family: None,
                case: None,
            });
        }
        v
    }

    #[test]
    fn a_fresh_draw_takes_case_groups_whole_and_the_notebook_one_question() {
        let mut p = pool();
        for g in 0..6 {
            for pos in 1..=4 {
                p.push(Candidate {
                    id: format!("g{g}-{pos}"),
                    topic: Topic::PetitionWork,
                    tags: vec!["a".into()],
                    family: Some(format!("g{g}")),
                    case: Some((format!("g{g}"), pos, 4)),
                });
            }
        }
        let acc = Accuracy::default();
        let none = HashSet::new();
        let mut whole = 0;
        for seed in 0..60 {
            let drawn = draw(Mode::Topics, &input(&p, &acc, &none, &[]), 10, seed);
            assert_eq!(drawn.len(), 10, "seed {seed}");
            for g in 0..6 {
                let at: Vec<usize> = (0..drawn.len())
                    .filter(|&i| drawn[i].starts_with(&format!("g{g}-")))
                    .collect();
                if at.is_empty() {
                    continue;
                }
                whole += 1;
                let ids: Vec<String> = at.iter().map(|&i| drawn[i].clone()).collect();
                let want: Vec<String> = (1..=4).map(|pos| format!("g{g}-{pos}")).collect();
                assert_eq!(ids, want, "seed {seed}");
                assert_eq!(at[3] - at[0], 3, "seed {seed}: the group is together");
            }
        }
        assert!(whole > 10, "groups came {whole} times");
        // A due notebook entry from a group comes back alone.
        let due = vec!["g2-3".to_string()];
        let drawn = draw(Mode::Notebook, &input(&p, &acc, &none, &due), 10, 1);
        assert_eq!(drawn, ["g2-3"]);
    }

    fn input<'a>(
        pool: &'a [Candidate],
        acc: &'a Accuracy,
        recent: &'a HashSet<String>,
        due: &'a [String],
    ) -> DrawInput<'a> {
        DrawInput {
            pool,
            accuracy: acc,
            recent,
            due,
            notebook: &[],
        }
    }

    #[test]
    fn draws_are_reproducible_and_never_repeat() {
        let p = pool();
        let acc = Accuracy::default();
        let none = HashSet::new();
        let a = draw(Mode::Topics, &input(&p, &acc, &none, &[]), 50, 7);
        let b = draw(Mode::Topics, &input(&p, &acc, &none, &[]), 50, 7);
        assert_eq!(a, b);
        assert_eq!(a.len(), 50);
        assert_eq!(a.iter().collect::<HashSet<_>>().len(), 50);
        assert_ne!(a, draw(Mode::Topics, &input(&p, &acc, &none, &[]), 50, 8));
    }

    /// The test pool with half its questions in pairs of one family (q000+q001, q002+q003, …).
    fn paired_pool() -> Vec<Candidate> {
        let mut p = pool();
        for (i, c) in p.iter_mut().enumerate().take(100) {
            c.family = Some(format!("f{}", i / 2));
        }
        p
    }

    fn assert_one_per_family(p: &[Candidate], drawn: &[String], what: &str) {
        let mut seen = HashSet::new();
        for id in drawn {
            let c = p.iter().find(|c| &c.id == id).expect("drawn from the pool");
            if let Some(f) = &c.family {
                assert!(
                    seen.insert(f.clone()),
                    "{what}: two of family {f} in {drawn:?}"
                );
            }
        }
    }

    #[test]
    fn no_drill_takes_two_questions_of_one_family() {
        let p = paired_pool();
        let mut acc = Accuracy::default();
        acc.topics.insert(Topic::PetitionWork, (1, 10));
        let none = HashSet::new();
        // A due entry whose family sibling is also in the pool.
        let due = vec!["q000".to_string(), "q001".to_string()];
        for seed in 0..200 {
            for mode in [Mode::Topics, Mode::Weak] {
                for count in [20, 50, 150] {
                    let d = draw(mode, &input(&p, &acc, &none, &due), count, seed);
                    assert_one_per_family(&p, &d, &format!("{mode:?} seed {seed}"));
                    // 100 unfamilied questions and 50 families: 150 distinct facts.
                    assert_eq!(d.len(), count, "{mode:?} seed {seed}");
                    assert_eq!(d.iter().collect::<HashSet<_>>().len(), d.len());
                }
            }
        }
        let book = vec!["q002".to_string(), "q003".to_string(), "q150".to_string()];
        let d = draw(
            Mode::Notebook,
            &DrawInput {
                pool: &p,
                accuracy: &acc,
                recent: &none,
                due: &due,
                notebook: &book,
            },
            10,
            1,
        );
        assert_eq!(d, vec!["q000", "q002", "q150"], "one per family, in order");
    }

    #[test]
    fn a_pool_without_families_draws_as_before() {
        // The draw before families existed: one sample of what was needed.
        let p = pool();
        let acc = Accuracy::default();
        let none = HashSet::new();
        for seed in 0..20 {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut sorted: Vec<&Candidate> = p.iter().collect();
            sorted.sort_by(|a, b| a.id.cmp(&b.id));
            let old: Vec<String> = sorted.sample(&mut rng, 20).map(|c| c.id.clone()).collect();
            let new = draw(Mode::Topics, &input(&p, &acc, &none, &[]), 20, seed);
            assert_eq!(new, old, "seed {seed}");
        }
    }

    #[test]
    fn recent_questions_are_avoided_unless_due() {
        let p = pool();
        let acc = Accuracy::default();
        let recent: HashSet<String> = p.iter().take(150).map(|c| c.id.clone()).collect();
        let due = vec!["q000".to_string()];
        let d = draw(Mode::Topics, &input(&p, &acc, &recent, &due), 20, 1);
        assert_eq!(d[0], "q000", "due item first");
        assert!(d[1..].iter().all(|id| !recent.contains(id)), "{d:?}");
    }

    #[test]
    fn weak_mode_prefers_the_weak_topic() {
        // Statistical property with a fixed seed: petition-work answered 10 % right,
        // party-constitution 90 %: the weak topic must dominate.
        let p = pool();
        let mut acc = Accuracy::default();
        acc.topics.insert(Topic::PetitionWork, (10, 100));
        acc.topics.insert(Topic::PartyConstitution, (90, 100));
        let none = HashSet::new();
        let mut weak = 0;
        let mut total = 0;
        for seed in 0..20 {
            for id in draw(Mode::Weak, &input(&p, &acc, &none, &[]), 20, seed) {
                total += 1;
                if p.iter().find(|c| c.id == id).unwrap().topic == Topic::PetitionWork {
                    weak += 1;
                }
            }
        }
        let share = weak as f64 / total as f64;
        assert!(share > 0.6, "weak topic share {share}");
        assert!(share < 0.95, "strong topic still appears: {share}");
    }

    #[test]
    fn notebook_mode_takes_due_entries_first() {
        let p = pool();
        let acc = Accuracy::default();
        let none = HashSet::new();
        let due = vec!["q010".to_string(), "q005".to_string()];
        let book = vec![
            "q007".to_string(),
            "q005".to_string(),
            "zzz-retired".to_string(),
        ];
        let d = draw(
            Mode::Notebook,
            &DrawInput {
                pool: &p,
                accuracy: &acc,
                recent: &none,
                due: &due,
                notebook: &book,
            },
            10,
            3,
        );
        assert_eq!(d, vec!["q010", "q005", "q007"]);
    }

    #[test]
    fn notebook_schedule_masters_after_three_right_in_a_row() {
        let t0 = Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap();
        let mut e = Entry::new(t0);
        assert!(
            e.due_at <= t0 + Duration::days(1),
            "a new mistake comes back soon"
        );
        assert_eq!(e.review(true, e.due_at), NotebookChange::Reviewed);
        let first_gap = e.due_at;
        assert_eq!(e.review(false, e.due_at), NotebookChange::Reviewed);
        assert_eq!(e.right_streak, 0, "a wrong answer resets the streak");
        let mut now = e.due_at;
        let mut last = NotebookChange::Reviewed;
        let mut gaps = Vec::new();
        for _ in 0..3 {
            last = e.review(true, now);
            gaps.push(e.due_at - now);
            now = e.due_at;
        }
        assert_eq!(last, NotebookChange::Mastered);
        assert!(e.mastered && !e.is_due(now + Duration::days(365)));
        assert!(gaps[2] > gaps[0], "intervals grow: {gaps:?}");
        assert!(first_gap > t0);
        e.review(false, now);
        assert!(!e.mastered, "a later mistake brings it back");
    }

    #[test]
    fn leaderboard_points_reward_days_and_cap_volume() {
        assert_eq!(period_points(&[10]), 130);
        assert_eq!(period_points(&[100]), 330, "capped at 30 right a day");
        // Steady beats a binge with the same right answers.
        assert!(period_points(&[10, 10, 10]) > period_points(&[30]));
        assert_eq!(period_points(&[]), 0);
    }
}
