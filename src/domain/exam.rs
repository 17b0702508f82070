//! Rules of an online exam round (初赛): its settings, the seeded paper, each taker's own
//! question and option order, scoring, ranking and qualification. Pure: the exam service
//! feeds it what happened.

use super::cases;
use super::competition::AwardRule;
use super::question::{AnswerKey, Kind, LETTERS, Question, Response, Topic};
use super::teams::TeamRule;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// Points a right answer of each kind earns. Wrong, partly right or missing: 0 (多选题 is
/// all or nothing, as in the agency's written exams).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindPoints {
    pub single: i64,
    pub multiple: i64,
    pub truefalse: i64,
    pub fill: i64,
    pub numeric: i64,
    pub date: i64,
}

impl Default for KindPoints {
    fn default() -> Self {
        KindPoints {
            single: 2,
            multiple: 3,
            truefalse: 1,
            fill: 2,
            numeric: 2,
            date: 2,
        }
    }
}

impl KindPoints {
    pub fn of(&self, kind: Kind) -> i64 {
        match kind {
            Kind::Single => self.single,
            Kind::Multiple => self.multiple,
            Kind::TrueFalse => self.truefalse,
            Kind::Fill => self.fill,
            Kind::Numeric => self.numeric,
            Kind::Date => self.date,
        }
    }
}

/// When a taker sees their score and the right answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reveal {
    /// At submit.
    #[default]
    AtSubmit,
    /// Only once the window has closed (nobody can pass answers to someone still taking it).
    AfterClose,
}

/// Who goes on to the final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Qualify {
    /// The best N (ties at the boundary included).
    TopN(u32),
    /// Everyone with at least this score.
    MinScore(i64),
}

/// Who may take the exam: everyone (all lists empty) or members of these departments or
/// sections, or these members.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Scope {
    #[serde(default)]
    pub departments: Vec<String>,
    #[serde(default)]
    pub sections: Vec<String>,
    #[serde(default)]
    pub members: Vec<String>,
}

impl Scope {
    pub fn everyone(&self) -> bool {
        self.departments.is_empty() && self.sections.is_empty() && self.members.is_empty()
    }

    /// Whether a member of `section` (in `department`) is allowed.
    pub fn allows(&self, member: &str, section: Option<&str>, department: Option<&str>) -> bool {
        self.everyone()
            || self.members.iter().any(|m| m == member)
            || section.is_some_and(|s| self.sections.iter().any(|x| x == s))
            || department.is_some_and(|d| self.departments.iter().any(|x| x == d))
    }
}

/// How many questions of one topic the paper takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicCount {
    pub topic: Topic,
    pub count: usize,
}

/// What the paper was drawn from (kept for the audit of the draw), or the questions picked.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PaperSpec {
    #[serde(default)]
    pub mix: Vec<TopicCount>,
    #[serde(default)]
    pub kinds: Vec<Kind>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub difficulty: Vec<u8>,
    /// Fixed by hand: these questions in this order (the mix is then ignored).
    #[serde(default)]
    pub question_ids: Vec<String>,
}

/// Settings of an exam, stored as JSON with it (the window, duration and attempts are
/// columns of their own).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExamSettings {
    #[serde(default)]
    pub points: KindPoints,
    #[serde(default)]
    pub reveal: Reveal,
    #[serde(default)]
    pub scope: Scope,
    #[serde(default)]
    pub qualify: Option<Qualify>,
    #[serde(default)]
    pub award_rule: Option<AwardRule>,
    #[serde(default)]
    pub teams: TeamRule,
    #[serde(default)]
    pub paper: PaperSpec,
}

impl ExamSettings {
    pub fn check(&self) -> Result<(), String> {
        for k in Kind::ALL {
            let p = self.points.of(k);
            if !(0..=100).contains(&p) {
                return Err(format!("{}分值应在 0–100 之间，收到 {p}", k.name_zh()));
            }
        }
        match self.qualify {
            Some(Qualify::TopN(0)) => return Err("晋级名额至少为 1".into()),
            Some(Qualify::MinScore(s)) if s < 0 => return Err("晋级分数线不能为负".into()),
            _ => {}
        }
        match self.award_rule {
            Some(AwardRule::TopN(0)) => Err("表彰名额至少为 1".into()),
            Some(AwardRule::MinPoints(p)) if p < 0 => Err("表彰分数线不能为负".into()),
            _ => Ok(()),
        }
    }
}

/// Draws a paper: for each topic of the mix, `count` questions of that topic (after the
/// kinds, tags and difficulty filters; empty filters match all), shuffled with an RNG seeded
/// by `seed`, at most one per family over the whole paper. The same pool and seed always give
/// the same paper. Returns the paper and, per topic, how many were short.
pub fn draw_paper<'a>(
    pool: &'a [Question],
    spec: &PaperSpec,
    seed: u64,
) -> (Vec<&'a Question>, Vec<(Topic, usize)>) {
    let mut candidates: Vec<&Question> = pool
        .iter()
        .filter(|q| spec.kinds.is_empty() || spec.kinds.contains(&q.kind))
        .filter(|q| spec.tags.is_empty() || q.tags.iter().any(|t| spec.tags.contains(t)))
        .filter(|q| spec.difficulty.is_empty() || spec.difficulty.contains(&q.difficulty))
        .collect();
    candidates.sort_by(|a, b| a.id.cmp(&b.id));
    let mut rng = StdRng::seed_from_u64(seed);
    candidates.shuffle(&mut rng);
    // A case group comes whole when one of its questions passes the tag and difficulty
    // filters, and only if every question of it is of an allowed kind.
    let groups = cases::Groups::of(
        pool.iter()
            .filter(|q| spec.kinds.is_empty() || spec.kinds.contains(&q.kind)),
    );
    let mut paper: Vec<&Question> = Vec::new();
    let mut short = Vec::new();
    for tc in &spec.mix {
        // Families and groups already on the paper (from earlier topics) stay out.
        let on_paper: HashSet<&str> = paper.iter().filter_map(|q| q.family_key()).collect();
        let open = candidates
            .iter()
            .copied()
            .filter(|q| q.topic == tc.topic)
            .filter(|q| q.family_key().is_none_or(|f| !on_paper.contains(f)));
        let taken = cases::take(open, &groups, tc.count);
        if taken.len() < tc.count {
            short.push((tc.topic, tc.count - taken.len()));
        }
        paper.extend(taken);
    }
    (paper, short)
}

/// One taker's view of the paper: the order of the questions and of each question's options,
/// fixed by the attempt's seed. `order[i]` is the paper position shown as question `i`;
/// `options[p][j]` is the bank's index of the option shown as letter `j` of paper position `p`
/// (empty for kinds without options).
#[derive(Debug, Clone, PartialEq)]
pub struct Arrangement {
    pub order: Vec<usize>,
    pub options: Vec<Vec<usize>>,
}

impl Arrangement {
    /// The arrangement for a paper of these questions and this seed (replayable).
    pub fn new(paper: &[Question], seed: u64) -> Arrangement {
        let mut rng = StdRng::seed_from_u64(seed);
        // Units are shuffled, not positions: the questions of a case group stay together and
        // in order. Without groups each unit is one position, and the shuffle (element type
        // aside) is the one it always was, so attempts keep their order across upgrades.
        let mut units: Vec<Vec<usize>> = Vec::new();
        for (p, q) in paper.iter().enumerate() {
            let case = q.case.as_ref().map(|c| &c.id);
            match units.last_mut() {
                Some(last)
                    if case.is_some() && paper[last[0]].case.as_ref().map(|c| &c.id) == case =>
                {
                    last.push(p)
                }
                _ => units.push(vec![p]),
            }
        }
        units.shuffle(&mut rng);
        let order: Vec<usize> = units.into_iter().flatten().collect();
        let options = paper
            .iter()
            .map(|q| {
                let mut o: Vec<usize> = (0..q.options.len()).collect();
                if q.kind.is_choice() {
                    o.shuffle(&mut rng);
                }
                o
            })
            .collect();
        Arrangement { order, options }
    }

    /// A taker's response to paper position `p`, in the letters they saw, turned into the
    /// bank's letters. Other kinds pass through. `Err` for a letter not shown.
    pub fn to_bank(&self, p: usize, r: Response) -> Result<Response, String> {
        let Response::Choice(letters) = r else {
            return Ok(r);
        };
        let perm = &self.options[p];
        let mut bank = Vec::new();
        for c in letters
            .chars()
            .filter(|c| !matches!(c, ' ' | ',' | '，' | '、'))
        {
            let c = c.to_ascii_uppercase();
            let shown = LETTERS
                .iter()
                .position(|&l| l as char == c)
                .filter(|&i| i < perm.len())
                .ok_or_else(|| format!("选项 {c} 不存在"))?;
            let ix = perm[shown];
            if !bank.contains(&ix) {
                bank.push(ix);
            }
        }
        bank.sort_unstable();
        Ok(Response::Choice(
            bank.into_iter().map(|i| LETTERS[i] as char).collect(),
        ))
    }

    /// A stored response (bank letters) in the letters this taker saw.
    pub fn to_shown(&self, p: usize, r: &Response) -> Response {
        let Response::Choice(letters) = r else {
            return r.clone();
        };
        let perm = &self.options[p];
        let mut shown: Vec<usize> = letters
            .chars()
            .filter_map(|c| LETTERS.iter().position(|&l| l as char == c))
            .filter_map(|bank| perm.iter().position(|&b| b == bank))
            .collect();
        shown.sort_unstable();
        Response::Choice(shown.into_iter().map(|i| LETTERS[i] as char).collect())
    }

    /// Paper position `p`'s options in the order this taker sees them.
    pub fn shown_options(&self, p: usize, q: &Question) -> Vec<String> {
        self.options[p]
            .iter()
            .map(|&i| q.options[i].clone())
            .collect()
    }

    /// The right answer in the letters this taker saw (for the review after submit).
    pub fn shown_key(&self, p: usize, q: &Question) -> String {
        match &q.answer {
            AnswerKey::Choice(ix) => {
                let bank: String = ix.iter().map(|&i| LETTERS[i] as char).collect();
                match self.to_shown(p, &Response::Choice(bank)) {
                    Response::Choice(s) => s,
                    _ => unreachable!("a choice stays a choice"),
                }
            }
            other => other.display(),
        }
    }
}

/// One graded answer of an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Graded {
    pub correct: bool,
    pub points: i64,
}

/// Grades a stored response to `q` worth `points`: a response of the wrong shape (which the
/// save refused anyway) or none counts as wrong.
pub fn grade(q: &Question, points: i64, response: Option<&Response>) -> Graded {
    let correct = response.is_some_and(|r| q.grade(r).unwrap_or(false));
    Graded {
        correct,
        points: if correct { points } else { 0 },
    }
}

/// One taker's result, as ranked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ranked {
    pub member_id: String,
    pub score: i64,
    pub time_used_ms: i64,
}

/// Ranks results: score, then less time used; equal (score, time) share a rank (competition
/// ranking). Returns the ranks in the order of the sorted results, which it sorts in place.
pub fn rank(results: &mut [Ranked]) -> Vec<u32> {
    results.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then(a.time_used_ms.cmp(&b.time_used_ms))
            .then_with(|| a.member_id.cmp(&b.member_id))
    });
    let mut ranks = Vec::with_capacity(results.len());
    for i in 0..results.len() {
        let tied = i > 0
            && results[i].score == results[i - 1].score
            && results[i].time_used_ms == results[i - 1].time_used_ms;
        ranks.push(if tied { ranks[i - 1] } else { i as u32 + 1 });
    }
    ranks
}

/// Whether a ranked result qualifies for the final.
pub fn qualifies(rule: Qualify, rank: u32, score: i64) -> bool {
    match rule {
        Qualify::TopN(n) => rank <= n,
        Qualify::MinScore(min) => score >= min,
    }
}

/// Whether a ranked result is proposed as 业务标兵.
pub fn awarded(rule: AwardRule, rank: u32, score: i64) -> bool {
    match rule {
        AwardRule::TopN(n) => rank <= n,
        AwardRule::MinPoints(min) => score >= min,
    }
}

/// The score distribution: `buckets` bands from 0 to `max`, each `[lo, hi)` (the last one
/// closed), with the count in each.
pub fn histogram(scores: &[i64], max: i64, buckets: usize) -> Vec<(i64, i64, usize)> {
    let buckets = buckets.max(1);
    let max = max.max(1);
    let lo = |b: usize| (max as i128 * b as i128 / buckets as i128) as i64;
    let mut counts = vec![0usize; buckets];
    for &s in scores {
        let s = s.clamp(0, max);
        // The last band whose lower bound is at most the score.
        let b = (0..buckets).rev().find(|&b| lo(b) <= s).unwrap_or(0);
        counts[b] += 1;
    }
    (0..buckets)
        .map(|b| (lo(b), lo(b + 1), counts[b]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::question::AnswerKey;

    fn q(id: &str, topic: Topic, kind: Kind, family: Option<&str>) -> Question {
        Question {
            id: id.into(),
            kind,
            topic,
            difficulty: 1,
            tags: vec!["t".into()],
            stem: format!("stem {id}"),
            options: if kind.is_choice() {
                vec!["甲".into(), "乙".into(), "丙".into(), "丁".into()]
            } else {
                vec![]
            },
            answer: match kind {
                Kind::Single => AnswerKey::Choice(vec![1]),
                Kind::Multiple => AnswerKey::Choice(vec![0, 2]),
                _ => AnswerKey::TrueFalse(true),
            },
            explanation: "e".into(),
            source: "s".into(),
            time_limit: None,
            unit: None,
            family: family.map(str::to_string),
            case: None,
        }
    }

    #[test]
    fn case_groups_are_drawn_whole_and_kept_together_in_every_takers_order() {
        use crate::domain::cases::tests::question;
        let mut pool: Vec<Question> = (0..12)
            .map(|i| question(&format!("sk-{i:02}"), None, None))
            .collect();
        for g in ["g1", "g2"] {
            for p in 1..=3 {
                pool.push(question(&format!("{g}-{p}"), None, Some((g, p, 3))));
            }
        }
        // A group whose second question is of a kind the paper leaves out is never drawn.
        for p in 1..=3 {
            let mut q = question(&format!("g3-{p}"), None, Some(("g3", p, 3)));
            if p == 2 {
                q.kind = Kind::Date;
                q.answer = AnswerKey::Date("2025-03-18".into());
            }
            pool.push(q);
        }
        let spec = PaperSpec {
            mix: vec![TopicCount {
                topic: Topic::Skills,
                count: 16,
            }],
            kinds: vec![Kind::TrueFalse],
            ..PaperSpec::default()
        };
        let mut groups_seen = 0;
        for seed in 0..40 {
            let (paper, short) = draw_paper(&pool, &spec, seed);
            assert!(short.is_empty(), "seed {seed}: {short:?}");
            assert_eq!(paper.len(), 16);
            assert!(paper.iter().all(|q| !q.id.starts_with("g3")), "seed {seed}");
            let owned: Vec<Question> = paper.iter().map(|q| (*q).clone()).collect();
            for g in ["g1", "g2"] {
                let at: Vec<usize> = (0..paper.len())
                    .filter(|&i| paper[i].id.starts_with(g))
                    .collect();
                if at.is_empty() {
                    continue;
                }
                groups_seen += 1;
                // Whole and in order on the paper…
                let ids: Vec<&str> = at.iter().map(|&i| paper[i].id.as_str()).collect();
                assert_eq!(ids, [format!("{g}-1"), format!("{g}-2"), format!("{g}-3")]);
                assert_eq!(at[2] - at[0], 2);
                // …and in each taker's order.
                for taker in 0..5 {
                    let arr = Arrangement::new(&owned, seed * 100 + taker);
                    let shown: Vec<usize> = (0..arr.order.len())
                        .filter(|&n| at.contains(&arr.order[n]))
                        .collect();
                    assert_eq!(shown[2] - shown[0], 2, "seed {seed} taker {taker}");
                    let order: Vec<usize> = shown.iter().map(|&n| arr.order[n]).collect();
                    assert_eq!(order, at);
                }
            }
        }
        assert!(groups_seen > 20, "groups were drawn {groups_seen} times");
    }

    #[test]
    fn without_case_groups_each_takers_order_is_the_plain_shuffle() {
        // Attempts started before groups existed keep their order after the upgrade.
        let paper: Vec<Question> = (0..30)
            .map(|i| q(&format!("q{i}"), Topic::Skills, Kind::TrueFalse, None))
            .collect();
        for seed in [1, 7, 99] {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut plain: Vec<usize> = (0..30).collect();
            plain.shuffle(&mut rng);
            assert_eq!(Arrangement::new(&paper, seed).order, plain);
        }
    }

    #[test]
    fn the_mix_takes_each_topic_once_per_family_and_reports_shortfalls() {
        let mut pool = Vec::new();
        for i in 0..10 {
            pool.push(q(
                &format!("pw-{i}"),
                Topic::PetitionWork,
                Kind::Single,
                None,
            ));
        }
        pool.push(q(
            "pc-1",
            Topic::PartyConstitution,
            Kind::TrueFalse,
            Some("f"),
        ));
        pool.push(q(
            "pc-2",
            Topic::PartyConstitution,
            Kind::TrueFalse,
            Some("f"),
        ));
        pool.push(q("pc-3", Topic::PartyConstitution, Kind::Single, None));
        let spec = PaperSpec {
            mix: vec![
                TopicCount {
                    topic: Topic::PetitionWork,
                    count: 4,
                },
                TopicCount {
                    topic: Topic::PartyConstitution,
                    count: 3,
                },
            ],
            ..PaperSpec::default()
        };
        let (paper, short) = draw_paper(&pool, &spec, 7);
        assert_eq!(paper.len(), 6);
        assert_eq!(short, vec![(Topic::PartyConstitution, 1)]);
        let fams = paper.iter().filter(|q| q.family.is_some()).count();
        assert_eq!(fams, 1);
        let (again, _) = draw_paper(&pool, &spec, 7);
        assert_eq!(
            paper.iter().map(|q| &q.id).collect::<Vec<_>>(),
            again.iter().map(|q| &q.id).collect::<Vec<_>>()
        );
        let kinds = PaperSpec {
            kinds: vec![Kind::TrueFalse],
            ..spec
        };
        let (tf, _) = draw_paper(&pool, &kinds, 7);
        assert!(tf.iter().all(|q| q.kind == Kind::TrueFalse));
    }

    #[test]
    fn a_takers_letters_map_back_to_the_banks() {
        let paper: Vec<Question> = (0..12)
            .map(|i| q(&format!("q{i}"), Topic::PetitionWork, Kind::Multiple, None))
            .collect();
        let a = Arrangement::new(&paper, 42);
        let b = Arrangement::new(&paper, 43);
        assert_ne!(a, b, "two seeds, two arrangements");
        assert_eq!(a, Arrangement::new(&paper, 42));
        let mut sorted = a.order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..12).collect::<Vec<_>>());
        for (p, question) in paper.iter().enumerate() {
            // The taker picks the options showing 甲 and 丙: the bank's A and C, right.
            let shown = a.shown_options(p, question);
            let letters: String = shown
                .iter()
                .enumerate()
                .filter(|(_, o)| *o == "甲" || *o == "丙")
                .map(|(i, _)| LETTERS[i] as char)
                .collect();
            let bank = a.to_bank(p, Response::Choice(letters.clone())).unwrap();
            assert_eq!(bank, Response::Choice("AC".into()));
            assert!(grade(question, 3, Some(&bank)).correct);
            assert_eq!(a.to_shown(p, &bank), Response::Choice(letters.clone()));
            assert_eq!(a.shown_key(p, question), letters);
        }
        assert!(a.to_bank(0, Response::Choice("E".into())).is_err());
        assert_eq!(
            a.to_bank(0, Response::TrueFalse(true)).unwrap(),
            Response::TrueFalse(true)
        );
    }

    #[test]
    fn ranking_is_score_then_time_with_shared_ranks() {
        let r = |m: &str, s, t| Ranked {
            member_id: m.into(),
            score: s,
            time_used_ms: t,
        };
        let mut results = vec![
            r("a", 80, 600),
            r("b", 90, 900),
            r("c", 80, 500),
            r("d", 80, 600),
        ];
        let ranks = rank(&mut results);
        let order: Vec<_> = results.iter().map(|r| r.member_id.as_str()).collect();
        assert_eq!(order, ["b", "c", "a", "d"]);
        assert_eq!(ranks, [1, 2, 3, 3]);
        assert!(qualifies(Qualify::TopN(3), 3, 80));
        assert!(!qualifies(Qualify::TopN(2), 3, 80));
        assert!(qualifies(Qualify::MinScore(80), 4, 80));
    }

    #[test]
    fn the_histogram_puts_every_score_in_one_band() {
        let h = histogram(&[0, 5, 9, 10, 50, 99, 100], 100, 10);
        assert_eq!(h.len(), 10);
        assert_eq!(h[0], (0, 10, 3));
        assert_eq!(h[1].2, 1);
        assert_eq!(h[9], (90, 100, 2));
        assert_eq!(h.iter().map(|b| b.2).sum::<usize>(), 7);
    }

    #[test]
    fn scope_allows_by_department_section_or_name() {
        let s = Scope {
            departments: vec!["d1".into()],
            sections: vec!["s2".into()],
            members: vec!["m3".into()],
        };
        assert!(s.allows("x", Some("s9"), Some("d1")));
        assert!(s.allows("x", Some("s2"), Some("d9")));
        assert!(s.allows("m3", None, None));
        assert!(!s.allows("x", Some("s9"), Some("d9")));
        assert!(Scope::default().allows("x", None, None));
    }
}
