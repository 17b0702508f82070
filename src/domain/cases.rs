//! Case groups (案例题) in draws: a group is drawn whole, in order, or not at all.
//!
//! Every draw (live competition, exam paper, 练兵任务, drill) walks its candidates in its own
//! seeded order and keeps one question per family key ([`Question::family_key`]); a case
//! question stands for its group and brings the rest of it. A group that no longer fits the
//! count is passed over, so a set holds exactly the questions asked for whenever the pool
//! allows. A pool without case groups draws exactly as before, so old seeds still reproduce.

use super::Question;
use std::collections::{HashMap, HashSet};

/// The complete case groups of a pool, each in position order. A group missing a question
/// (retired, or filtered out of this pool) is left out: it is never drawn in part.
pub struct Groups<'a> {
    whole: HashMap<&'a str, Vec<&'a Question>>,
}

impl<'a> Groups<'a> {
    pub fn of(pool: impl IntoIterator<Item = &'a Question>) -> Groups<'a> {
        let mut all: HashMap<&'a str, Vec<&'a Question>> = HashMap::new();
        for q in pool {
            if let Some(c) = &q.case {
                all.entry(c.id.as_str()).or_default().push(q);
            }
        }
        all.retain(|_, members| {
            members.sort_by_key(|q| q.case.as_ref().map_or(0, |c| c.position));
            members.dedup_by(|a, b| a.id == b.id);
            let size = members[0].case.as_ref().map_or(0, |c| c.size) as usize;
            members.len() == size
                && members.iter().enumerate().all(|(i, q)| {
                    q.case
                        .as_ref()
                        .is_some_and(|c| c.position as usize == i + 1)
                })
        });
        Groups { whole: all }
    }

    /// What drawing `q` brings: `q` alone, or its whole group in order; `None` for a case
    /// question whose group is incomplete in this pool.
    pub fn unit(&self, q: &'a Question) -> Option<Vec<&'a Question>> {
        match &q.case {
            None => Some(vec![q]),
            Some(c) => self.whole.get(c.id.as_str()).cloned(),
        }
    }
}

/// Takes units from `candidates` (in draw order) until `count` questions are taken: one
/// question per family key, a case group whole and in order when it still fits.
pub fn take<'a>(
    candidates: impl IntoIterator<Item = &'a Question>,
    groups: &Groups<'a>,
    count: usize,
) -> Vec<&'a Question> {
    let mut out = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for q in candidates {
        if out.len() >= count {
            break;
        }
        if q.family_key().is_some_and(|f| seen.contains(f)) {
            continue;
        }
        let Some(unit) = groups.unit(q) else { continue };
        if out.len() + unit.len() > count {
            continue;
        }
        if let Some(f) = q.family_key() {
            seen.insert(f);
        }
        out.extend(unit);
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::question::{AnswerKey, CaseRef, Kind, Topic};

    /// A true/false question; `case` = (group id, position, size).
    pub(crate) fn question(
        id: &str,
        family: Option<&str>,
        case: Option<(&str, u32, u32)>,
    ) -> Question {
        Question {
            id: id.into(),
            kind: Kind::TrueFalse,
            topic: Topic::Skills,
            difficulty: 2,
            tags: vec!["受理".into()],
            stem: format!("{id} 的题干"),
            options: vec![],
            answer: AnswerKey::TrueFalse(true),
            explanation: "e".into(),
            source: "s".into(),
            time_limit: None,
            unit: None,
            family: family.map(str::to_string),
            case: case.map(|(g, position, size)| CaseRef {
                id: g.into(),
                title: format!("{g} 标题"),
                scenario: format!("{g} 的案情"),
                source: "出处".into(),
                position,
                size,
            }),
        }
    }

    fn ids(v: &[&Question]) -> Vec<String> {
        v.iter().map(|q| q.id.clone()).collect()
    }

    #[test]
    fn a_case_question_brings_its_whole_group_in_order() {
        let pool = vec![
            question("a", None, None),
            question("g-3", None, Some(("g", 3, 3))),
            question("g-1", None, Some(("g", 1, 3))),
            question("b", None, None),
            question("g-2", None, Some(("g", 2, 3))),
        ];
        let groups = Groups::of(&pool);
        // The draw order meets g-3 first: the group comes in position order, once.
        let order = [&pool[1], &pool[0], &pool[4], &pool[3], &pool[2]];
        assert_eq!(
            ids(&take(order, &groups, 5)),
            ["g-1", "g-2", "g-3", "a", "b"]
        );
        // A group that does not fit the rest of the count is passed over, not cut.
        let order = [&pool[0], &pool[1], &pool[3]];
        assert_eq!(ids(&take(order, &groups, 3)), ["a", "b"]);
        assert_eq!(ids(&take(order, &groups, 4)), ["a", "g-1", "g-2", "g-3"]);
    }

    #[test]
    fn an_incomplete_group_is_never_drawn_and_families_still_hold() {
        let pool = vec![
            question("h-1", None, Some(("h", 1, 3))),
            question("h-3", None, Some(("h", 3, 3))),
            question("x", Some("f"), None),
            question("y", Some("f"), None),
            question("z", None, None),
        ];
        let groups = Groups::of(&pool);
        let taken = take(&pool, &groups, 5);
        assert_eq!(ids(&taken), ["x", "z"]);
    }
}
