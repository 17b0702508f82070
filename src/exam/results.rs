//! An exam's results for the host: the ranking (each taker's best attempt), the score
//! distribution, per-question statistics, team standings and the finalists.

use super::Paper;
use crate::domain::exam::{Ranked, awarded, histogram, qualifies, rank};
use crate::domain::question::{AnswerKey, LETTERS};
use crate::domain::teams::{self, TeamStanding};
use crate::domain::{Kind, Response};
use crate::records::exams::{self as rec, Attempt};
use crate::records::teams::Event;
use crate::records::{Db, teams as team_records};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub rank: u32,
    pub member_id: String,
    pub name: String,
    pub staff_no: String,
    pub section: Option<String>,
    pub department: Option<String>,
    pub score: i64,
    pub correct: i64,
    pub time_used_ms: i64,
    pub attempts: i64,
    pub leaves: i64,
    pub finalist: bool,
    pub proposed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct OptionStat {
    pub letter: String,
    pub text: String,
    pub key: bool,
    pub picked: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct QuestionStat {
    pub position: i64,
    pub question_id: String,
    pub kind: Kind,
    pub kind_name: &'static str,
    pub topic: crate::domain::Topic,
    pub topic_name: &'static str,
    pub stem: String,
    pub points: i64,
    /// Takers whose best attempt has this question answered.
    pub answered: i64,
    pub right: i64,
    /// Right answers over takers (unanswered count as wrong).
    pub share_right: f64,
    pub options: Vec<OptionStat>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Bucket {
    pub from: i64,
    pub to: i64,
    pub count: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Results {
    pub exam_id: String,
    pub title: String,
    pub max_score: i64,
    pub closed: bool,
    pub ranking: Vec<Row>,
    pub histogram: Vec<Bucket>,
    pub questions: Vec<QuestionStat>,
    pub teams: Vec<TeamStanding>,
    pub finalists: Vec<String>,
}

/// The best submitted attempt of each taker: the highest score, then the least time.
fn best_attempts(attempts: &[Attempt]) -> Vec<&Attempt> {
    let mut best: HashMap<&str, &Attempt> = HashMap::new();
    for a in attempts.iter().filter(|a| a.submitted_at.is_some()) {
        let better = |b: &Attempt| {
            (a.score, -a.time_used_ms.unwrap_or(0)) > (b.score, -b.time_used_ms.unwrap_or(0))
        };
        match best.get(a.member_id.as_str()) {
            Some(b) if !better(b) => {}
            _ => {
                best.insert(a.member_id.as_str(), a);
            }
        }
    }
    best.into_values().collect()
}

/// Computes the results from the records.
pub async fn results(db: &Db, paper: &Paper, now: i64) -> anyhow::Result<Results> {
    let exam = &paper.exam;
    let attempts = rec::attempts(db, &exam.id).await?;
    let takers: HashMap<String, rec::Taker> = rec::takers(db, &exam.id)
        .await?
        .into_iter()
        .map(|t| (t.member_id.clone(), t))
        .collect();
    let mut tries: HashMap<&str, (i64, i64)> = HashMap::new();
    for a in &attempts {
        let e = tries.entry(a.member_id.as_str()).or_default();
        e.0 += 1;
        e.1 += a.leaves;
    }
    let best = best_attempts(&attempts);
    let mut ranked: Vec<Ranked> = best
        .iter()
        .map(|a| Ranked {
            member_id: a.member_id.clone(),
            score: a.score.unwrap_or(0),
            time_used_ms: a.time_used_ms.unwrap_or(0),
        })
        .collect();
    let ranks = rank(&mut ranked);
    let by_member: HashMap<&str, &&Attempt> =
        best.iter().map(|a| (a.member_id.as_str(), a)).collect();
    let settings = &paper.settings;
    let closed = now >= exam.closes_at;
    let ranking: Vec<Row> = ranked
        .iter()
        .zip(&ranks)
        .map(|(r, &rank)| {
            let t = takers.get(&r.member_id);
            let a = by_member[r.member_id.as_str()];
            let (n, leaves) = tries[r.member_id.as_str()];
            Row {
                rank,
                member_id: r.member_id.clone(),
                name: t.map(|t| t.name.clone()).unwrap_or_default(),
                staff_no: t.map(|t| t.staff_no.clone()).unwrap_or_default(),
                section: t.and_then(|t| t.section.clone()),
                department: t.and_then(|t| t.department.clone()),
                score: r.score,
                correct: a.correct.unwrap_or(0),
                time_used_ms: r.time_used_ms,
                attempts: n,
                leaves,
                finalist: settings
                    .qualify
                    .is_some_and(|q| qualifies(q, rank, r.score)),
                proposed: settings
                    .award_rule
                    .is_some_and(|w| awarded(w, rank, r.score)),
            }
        })
        .collect();
    let scores: Vec<i64> = ranking.iter().map(|r| r.score).collect();
    let histogram = histogram(&scores, paper.max_score, 10)
        .into_iter()
        .map(|(from, to, count)| Bucket { from, to, count })
        .collect();
    let questions = question_stats(db, paper, &best).await?;
    let team_list = team_records::of(db, &settings.teams, Event::Exam, &exam.id).await?;
    let member_scores: HashMap<String, i64> = ranking
        .iter()
        .map(|r| (r.member_id.clone(), r.score))
        .collect();
    let teams = teams::standings(&settings.teams, &team_list, &member_scores);
    let finalists = ranking
        .iter()
        .filter(|r| r.finalist)
        .map(|r| r.member_id.clone())
        .collect();
    Ok(Results {
        exam_id: exam.id.clone(),
        title: exam.title.clone(),
        max_score: paper.max_score,
        closed,
        ranking,
        histogram,
        questions,
        teams,
        finalists,
    })
}

/// Per question: how many answered, how many right, and the picks of each option (in the
/// bank's letters), over the takers' best attempts.
async fn question_stats(
    db: &Db,
    paper: &Paper,
    best: &[&Attempt],
) -> anyhow::Result<Vec<QuestionStat>> {
    let best_ids: HashSet<&str> = best.iter().map(|a| a.id.as_str()).collect();
    let mut stats: Vec<QuestionStat> = paper
        .items
        .iter()
        .map(|i| {
            let q = &i.question;
            let key: Vec<usize> = match &q.answer {
                AnswerKey::Choice(ix) => ix.clone(),
                _ => Vec::new(),
            };
            QuestionStat {
                position: i.position,
                question_id: i.question_id.clone(),
                kind: q.kind,
                kind_name: q.kind.name_zh(),
                topic: q.topic,
                topic_name: q.topic.name_zh(),
                stem: q.stem.clone(),
                points: i.points,
                answered: 0,
                right: 0,
                share_right: 0.0,
                options: q
                    .options
                    .iter()
                    .enumerate()
                    .map(|(ix, text)| OptionStat {
                        letter: (LETTERS[ix] as char).to_string(),
                        text: text.clone(),
                        key: key.contains(&ix),
                        picked: 0,
                    })
                    .collect(),
            }
        })
        .collect();
    for s in rec::submitted_answers(db, &paper.exam.id).await? {
        if !best_ids.contains(s.attempt_id.as_str()) {
            continue;
        }
        let Some(item) = paper.items.get(s.position as usize) else {
            continue;
        };
        let Some(response) = s
            .response
            .as_deref()
            .and_then(|r| serde_json::from_str::<Response>(r).ok())
        else {
            continue;
        };
        let st = &mut stats[s.position as usize];
        st.answered += 1;
        if item.question.grade(&response).unwrap_or(false) {
            st.right += 1;
        }
        if let Response::Choice(letters) = &response {
            for c in letters.chars() {
                if let Some(o) = st.options.iter_mut().find(|o| o.letter.starts_with(c)) {
                    o.picked += 1;
                }
            }
        }
    }
    let takers = best.len().max(1) as f64;
    for st in &mut stats {
        st.share_right = st.right as f64 / takers;
    }
    Ok(stats)
}
