//! Practice drills as a service: starting (the weighted seeded draw), serving the current
//! question on the server's clock, recording answers with their notebook effect, summaries,
//! the member's home and the drill leaderboards (kept on the board, rebuilt from records).

pub mod engine;

pub use engine::Drills;

use crate::board::{Board, Leaderboard};
use crate::domain::drill::{self, Accuracy, Candidate, DrawInput, Mode};
use crate::domain::{Question, Topic};
use crate::error::AppError;
use crate::records::drills::{self as rec, DAY_MS, DAY_OFFSET_MS};
use crate::records::{Db, members, now_ms, questions};
use chrono::{Datelike, Duration, FixedOffset, TimeZone, Utc};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Answers are accepted this long after a timed question's limit (network latency).
pub const GRACE_MS: i64 = 1000;

pub struct StartRequest {
    pub mode: Mode,
    pub topics: Vec<Topic>,
    pub count: usize,
    pub time_limit_s: u32,
}

pub async fn accuracy(db: &Db, member_id: &str) -> anyhow::Result<Accuracy> {
    let mut acc = Accuracy::default();
    for (_, topic, correct) in rec::answered_topics(db, member_id).await? {
        if let Some(t) = Topic::parse(&topic) {
            let e = acc.topics.entry(t).or_default();
            e.0 += correct as u32;
            e.1 += 1;
        }
    }
    for (tag, correct) in rec::tags_of_answered(db, member_id).await? {
        let e = acc.tags.entry(tag).or_default();
        e.0 += correct as u32;
        e.1 += 1;
    }
    Ok(acc)
}

pub async fn start(db: &Db, member_id: &str, req: StartRequest) -> Result<String, AppError> {
    if ![5, 10, 20, 50].contains(&req.count) {
        return Err(AppError::Unprocessable("题量应为 5、10、20 或 50".into()));
    }
    if req.time_limit_s != 0 && !(10..=120).contains(&req.time_limit_s) {
        return Err(AppError::Unprocessable(
            "每题时间应为 0（不限时）或 10–120 秒".into(),
        ));
    }
    let active = questions::list_active(db, None).await?;
    let pool: Vec<Candidate> = active
        .iter()
        .filter(|c| {
            req.mode != Mode::Topics
                || req.topics.is_empty()
                || req.topics.contains(&c.question.topic)
        })
        .map(|c| Candidate {
            id: c.question.id.clone(),
            topic: c.question.topic,
            tags: c.question.tags.clone(),
            family: c.question.family_key().map(String::from),
            case: c
                .question
                .case
                .as_ref()
                .map(|k| (k.id.clone(), k.position, k.size)),
        })
        .collect();
    let now = Utc::now();
    let book = rec::notebook(db, member_id).await?;
    let due: Vec<String> = book
        .iter()
        .filter(|n| n.mastered_at.is_none() && n.due_at <= now.timestamp_millis())
        .map(|n| n.question_id.clone())
        .collect();
    let open: Vec<String> = book
        .iter()
        .filter(|n| n.mastered_at.is_none())
        .map(|n| n.question_id.clone())
        .collect();
    if req.mode == Mode::Notebook && open.is_empty() {
        return Err(AppError::Unprocessable("错题本中没有待复习的题目".into()));
    }
    let recent: HashSet<String> = rec::recent_questions(db, member_id, 3)
        .await?
        .into_iter()
        .collect();
    let acc = accuracy(db, member_id).await?;
    let seed = rand::random::<u64>() >> 1;
    let ids = drill::draw(
        req.mode,
        &DrawInput {
            pool: &pool,
            accuracy: &acc,
            recent: &recent,
            due: &due,
            notebook: &open,
        },
        req.count,
        seed,
    );
    if ids.is_empty() {
        return Err(AppError::Unprocessable("没有可练习的题目".into()));
    }
    let by_id: HashMap<&str, &questions::Current> =
        active.iter().map(|c| (c.question.id.as_str(), c)).collect();
    let items: Vec<(String, String)> = ids
        .iter()
        .filter_map(|id| {
            by_id
                .get(id.as_str())
                .map(|c| (id.clone(), c.version.clone()))
        })
        .collect();
    let settings = json!({
        "topics": req.topics, "count": req.count, "time_limit_s": req.time_limit_s,
    });
    let limit = (req.time_limit_s > 0).then(|| i64::from(req.time_limit_s) * 1000);
    let mode = match req.mode {
        Mode::Topics => "topics",
        Mode::Weak => "weak",
        Mode::Notebook => "notebook",
    };
    Ok(rec::create(
        db,
        rec::NewDrill {
            member_id,
            mode,
            settings: &settings.to_string(),
            seed: seed as i64,
            time_limit_ms: limit,
            items: &items,
            task_id: None,
        },
    )
    .await?)
}

/// The drill if it is `member_id`'s: 404 when unknown, 403 when someone else's.
pub async fn owned(db: &Db, member_id: &str, drill_id: &str) -> Result<rec::Drill, AppError> {
    let d = rec::get(db, drill_id)
        .await?
        .ok_or_else(|| AppError::NotFound("没有这次练习".into()))?;
    if d.member_id != member_id {
        return Err(AppError::Forbidden("这是其他人的练习".into()));
    }
    Ok(d)
}

pub async fn summary(db: &Db, d: &rec::Drill) -> Result<Value, AppError> {
    let items = rec::items(db, &d.id).await?;
    let answers = rec::answers(db, &d.id).await?;
    let mut by_topic: BTreeMap<Topic, (u32, u32)> = BTreeMap::new();
    let mut by_tag: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    let mut added = Vec::new();
    let mut stems = HashMap::new();
    for item in &items {
        let q: Question = serde_json::from_str(&item.body).map_err(anyhow::Error::from)?;
        stems.insert(item.question_id.clone(), q.stem.clone());
        let Some(a) = answers.iter().find(|a| a.position == item.position) else {
            continue;
        };
        let right = a.correct as u32;
        let e = by_topic.entry(q.topic).or_default();
        e.0 += right;
        e.1 += 1;
        for t in &q.tags {
            let e = by_tag.entry(t.clone()).or_default();
            e.0 += right;
            e.1 += 1;
        }
        if right == 0 {
            added.push(json!({"question_id": item.question_id, "stem": q.stem}));
        }
    }
    // Entries this drill mastered: mastered at or after the drill started, and asked in it.
    let book = rec::notebook(db, &d.member_id).await?;
    let mastered: Vec<Value> = book
        .iter()
        .filter(|n| {
            n.mastered_at.is_some_and(|m| m >= d.started_at) && stems.contains_key(&n.question_id)
        })
        .map(|n| json!({"question_id": n.question_id, "stem": stems[&n.question_id]}))
        .collect();
    let correct = answers.iter().filter(|a| a.correct == 1).count();
    let duration = answers
        .last()
        .map(|a| a.answered_at - d.started_at)
        .unwrap_or(0);
    let previous: Vec<rec::Listed> = rec::list(db, &d.member_id, 50)
        .await?
        .into_iter()
        .filter(|l| l.started_at < d.started_at && l.answered > 0)
        .take(5)
        .collect();
    let prev_answered: i64 = previous.iter().map(|l| l.answered).sum();
    let prev_correct: i64 = previous.iter().map(|l| l.correct).sum();
    Ok(json!({
        "id": d.id, "score": correct as i64 * drill::POINTS_PER_RIGHT, "correct": correct,
        "answered": answers.len(), "count": d.question_count,
        "accuracy": if answers.is_empty() { 0.0 } else { correct as f64 / answers.len() as f64 },
        "duration_ms": duration,
        "by_topic": by_topic.iter().map(|(t, (r, n))| json!({"topic": t, "name": t.name_zh(), "right": r, "total": n})).collect::<Vec<_>>(),
        "by_tag": by_tag.iter().map(|(t, (r, n))| json!({"tag": t, "right": r, "total": n})).collect::<Vec<_>>(),
        "notebook_added": added, "notebook_mastered": mastered,
        "previous": {
            "drills": previous.len(),
            "accuracy": if prev_answered == 0 { Value::Null } else { json!(prev_correct as f64 / prev_answered as f64) },
        },
    }))
}

// ---- periods and leaderboards ----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Week,
    Month,
    Quarter,
}

impl Period {
    pub fn parse(s: &str) -> Option<Period> {
        match s {
            "week" => Some(Period::Week),
            "month" => Some(Period::Month),
            "quarter" => Some(Period::Quarter),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Period::Week => "week",
            Period::Month => "month",
            Period::Quarter => "quarter",
        }
    }

    /// `[from, to)` in epoch ms of the period containing `now`, on the users' clock (UTC+8).
    pub fn bounds(self, now_ms: i64) -> (i64, i64) {
        let tz = FixedOffset::east_opt(8 * 3600).expect("valid offset");
        let now = tz
            .timestamp_millis_opt(now_ms)
            .single()
            .unwrap_or_else(|| tz.timestamp_millis_opt(0).unwrap());
        let date = now.date_naive();
        let (start, end) = match self {
            Period::Week => {
                let start = date - Duration::days(i64::from(date.weekday().num_days_from_monday()));
                (start, start + Duration::days(7))
            }
            Period::Month => {
                let start = date.with_day(1).expect("day 1");
                let (y, m) = if date.month() == 12 {
                    (date.year() + 1, 1)
                } else {
                    (date.year(), date.month() + 1)
                };
                (
                    start,
                    chrono::NaiveDate::from_ymd_opt(y, m, 1).expect("valid"),
                )
            }
            Period::Quarter => {
                let qm = (date.month() - 1) / 3 * 3 + 1;
                let start = chrono::NaiveDate::from_ymd_opt(date.year(), qm, 1).expect("valid");
                let (y, m) = if qm == 10 {
                    (date.year() + 1, 1)
                } else {
                    (date.year(), qm + 3)
                };
                (
                    start,
                    chrono::NaiveDate::from_ymd_opt(y, m, 1).expect("valid"),
                )
            }
        };
        let ms = |d: chrono::NaiveDate| {
            tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight"))
                .single()
                .map(|t| t.timestamp_millis())
                .unwrap_or(0)
        };
        (ms(start), ms(end))
    }
}

/// The board of a period, by its first day.
pub fn board_key(p: Period, from: i64) -> String {
    format!("drills:{}:{}", p.name(), (from + DAY_OFFSET_MS) / DAY_MS)
}

/// (points, right answers, days) of each member in a period, from the records.
async fn period_scores(
    db: &Db,
    p: Period,
    now: i64,
    member: Option<&str>,
) -> anyhow::Result<HashMap<String, (i64, i64, i64)>> {
    let (from, to) = p.bounds(now);
    let mut per: HashMap<String, Vec<i64>> = HashMap::new();
    for (m, _day, right) in rec::right_per_day(db, from, to, member).await? {
        per.entry(m).or_default().push(right);
    }
    Ok(per
        .into_iter()
        .map(|(m, days)| {
            let right: i64 = days.iter().sum();
            (m, (drill::period_points(&days), right, days.len() as i64))
        })
        .collect())
}

/// Rebuilds a period's board from the records (after a Redis restart, or the first read).
pub async fn rebuild(db: &Db, board: &Board, p: Period, now: i64) -> anyhow::Result<()> {
    let (from, _) = p.bounds(now);
    let key = board_key(p, from);
    let scores = period_scores(db, p, now, None).await?;
    let entries: Vec<(String, i64, i64)> = scores
        .iter()
        .map(|(m, (pts, _, _))| (m.clone(), *pts, 0))
        .collect();
    board.clear(&key).await?;
    board.set_many(&key, &entries).await?;
    Ok(())
}

/// The period's board, rebuilt first when it disagrees with the records (a Redis restart, a
/// new period, answers taken by another instance): the records win.
async fn from_board(
    db: &Db,
    board: &Board,
    p: Period,
    now: i64,
    key: &str,
    scores: &HashMap<String, (i64, i64, i64)>,
) -> anyhow::Result<Vec<crate::board::Standing>> {
    let all = board.all(key).await?;
    let agrees = all.len() == scores.len()
        && all.iter().all(|s| {
            scores
                .get(&s.member)
                .is_some_and(|(points, _, _)| *points == s.points)
        });
    if agrees {
        return Ok(all);
    }
    rebuild(db, board, p, now).await?;
    board.all(key).await
}

/// Rebuilds the running periods' boards (when the board comes back after an outage).
pub async fn rebuild_current(db: &Db, board: &Board) -> anyhow::Result<()> {
    let now = now_ms();
    for p in [Period::Week, Period::Month, Period::Quarter] {
        rebuild(db, board, p, now).await?;
    }
    Ok(())
}

pub async fn leaderboard(
    db: &Db,
    board: &Board,
    me: &members::Member,
    p: Period,
    section_only: bool,
) -> anyhow::Result<Value> {
    let now = now_ms();
    let (from, to) = p.bounds(now);
    let key = board_key(p, from);
    let scores = period_scores(db, p, now, None).await?;
    let people: HashMap<String, members::Listed> = members::list(db, None)
        .await?
        .into_iter()
        .map(|m| (m.id.clone(), m))
        .collect();
    let all = match from_board(db, board, p, now, &key, &scores).await {
        Ok(all) => all,
        Err(e) => {
            // The records are the truth: rank from them while the board is away.
            tracing::warn!(error = %e, "drill board unavailable: ranking from the records");
            let mut entries: Vec<(String, f64)> = scores
                .iter()
                .map(|(m, (pts, _, _))| (m.clone(), crate::domain::scoring::encode(*pts, 0)))
                .collect();
            entries.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| b.0.cmp(&a.0)));
            crate::board::rank_sorted(entries)
        }
    };
    let mut top = Vec::new();
    let mut mine = Value::Null;
    let mut rank = 0u64;
    let mut last = None;
    let mut seen = 0u64;
    for s in &all {
        let Some(person) = people.get(&s.member) else {
            continue;
        };
        if person.active != 1 {
            continue;
        }
        if section_only && person.section_id != me.section_id {
            continue;
        }
        // Ranks within the shown scope (section boards rank among the section).
        seen += 1;
        if last != Some(s.points) {
            rank = seen;
        }
        last = Some(s.points);
        let (_, right, days) = scores.get(&s.member).copied().unwrap_or_default();
        let line = json!({
            "rank": rank, "member": s.member, "name": person.name, "section": person.section,
            "points": s.points, "correct": right, "days": days,
        });
        if s.member == me.id {
            mine = line.clone();
        }
        if top.len() < 20 {
            top.push(line);
        }
    }
    Ok(json!({
        "period": p.name(), "scope": if section_only { "section" } else { "agency" },
        "from": from, "to": to,
        "rule": "每个练习日：答对题数（每日最多计 30 题）× 10 分，另加 30 分；答错不得分。",
        "top": top, "me": mine,
    }))
}

/// The member's home (`/me`).
pub async fn home(db: &Db, me: &members::Member) -> anyhow::Result<Value> {
    let now = now_ms();
    let today = (now + DAY_OFFSET_MS) / DAY_MS;
    let days = rec::practice_days(db, &me.id).await?;
    // Days in a row, ending today (or yesterday, if today has no practice yet).
    let mut streak = 0;
    let mut expect = if days.first() == Some(&today) {
        today
    } else {
        today - 1
    };
    for d in &days {
        if *d == expect {
            streak += 1;
            expect -= 1;
        } else if *d < expect {
            break;
        }
    }
    let (week_from, _) = Period::Week.bounds(now);
    let target: i64 = match &me.section_id {
        Some(s) => sqlx::query_scalar("SELECT weekly_target FROM sections WHERE id = $1")
            .bind(s)
            .fetch_optional(&db.pool)
            .await?
            .unwrap_or(3),
        None => 3,
    };
    let mut by_topic: BTreeMap<Topic, (i64, i64)> = BTreeMap::new();
    for (_, topic, correct) in rec::answered_topics(db, &me.id).await? {
        if let Some(t) = Topic::parse(&topic) {
            let e = by_topic.entry(t).or_default();
            e.0 += correct;
            e.1 += 1;
        }
    }
    /// (id, title, final rank, final points, started at)
    type Played = (String, String, Option<i64>, Option<i64>, Option<i64>);
    let competitions: Vec<Played> = sqlx::query_as(
        "SELECT c.id, c.title, p.final_rank, p.final_points, c.started_at FROM participants p \
         JOIN competitions c ON c.id = p.competition_id WHERE p.member_id = $1 ORDER BY c.created_at DESC LIMIT 20",
    )
    .bind(&me.id)
    .fetch_all(&db.pool)
    .await?;
    let awards = crate::records::competitions::honors(db, None).await?;
    let book = rec::notebook(db, &me.id).await?;
    let section: Option<String> = match &me.section_id {
        Some(s) => {
            sqlx::query_scalar("SELECT name FROM sections WHERE id = $1")
                .bind(s)
                .fetch_optional(&db.pool)
                .await?
        }
        None => None,
    };
    Ok(json!({
        "name": me.name, "section": section, "streak_days": streak,
        "week": {"drills": rec::drills_since(db, &me.id, week_from).await?, "target": target},
        "accuracy_by_topic": by_topic.iter().map(|(t, (r, n))| json!({"topic": t, "name": t.name_zh(), "right": r, "total": n})).collect::<Vec<_>>(),
        "drills": rec::list(db, &me.id, 10).await?,
        "competitions": competitions.iter().map(|(id, title, rank, points, at)| json!({
            "id": id, "title": title, "rank": rank, "points": points,
            "date": at.map(crate::domain::calendar::date_of),
        })).collect::<Vec<_>>(),
        "awards": awards.iter().filter(|a| a.member_id == me.id).map(|a| json!({
            "id": a.id, "certificate": format!("/awards/{}/certificate", a.id), "title": a.title, "competition": a.competition, "rank": a.standing_rank,
            "date": crate::domain::calendar::date_of(a.confirmed_at),
        })).collect::<Vec<_>>(),
        "notebook": {
            "total": book.len(),
            "due": book.iter().filter(|n| n.mastered_at.is_none() && n.due_at <= now).count(),
            "mastered": book.iter().filter(|n| n.mastered_at.is_some()).count(),
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_follow_the_users_calendar() {
        // 2026-03-04 10:00 in UTC+8 is a Wednesday.
        let tz = FixedOffset::east_opt(8 * 3600).unwrap();
        let t = tz
            .with_ymd_and_hms(2026, 3, 4, 10, 0, 0)
            .unwrap()
            .timestamp_millis();
        let day = |y, m, d| {
            tz.with_ymd_and_hms(y, m, d, 0, 0, 0)
                .unwrap()
                .timestamp_millis()
        };
        assert_eq!(Period::Week.bounds(t), (day(2026, 3, 2), day(2026, 3, 9)));
        assert_eq!(Period::Month.bounds(t), (day(2026, 3, 1), day(2026, 4, 1)));
        assert_eq!(
            Period::Quarter.bounds(t),
            (day(2026, 1, 1), day(2026, 4, 1))
        );
        let dec = tz
            .with_ymd_and_hms(2026, 12, 31, 23, 0, 0)
            .unwrap()
            .timestamp_millis();
        assert_eq!(
            Period::Quarter.bounds(dec),
            (day(2026, 10, 1), day(2027, 1, 1))
        );
        assert_eq!(Period::Month.bounds(dec).1, day(2027, 1, 1));
    }
}
