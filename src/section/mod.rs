//! The section heads' workspace as a service: who may see and change which section, the
//! section's figures for a period, 练兵任务 and the facts a 小结点评 starts from.
//!
//! Access, decided here for every page, API call and workbook:
//! - a section head (`section_head` with rows in `head_sections`) sees and runs their
//!   sections: figures, the weekly target, tasks, reviews;
//! - a department head (`section_head` with rows in `head_departments`: 司室负责同志) sees
//!   every section of their departments and adds 点评 to their published reviews, but does
//!   not run those sections (targets, tasks and reviews stay with each section's head);
//! - an admin (机关党委) sees and may run everything;
//! - anyone else sees no section: a member reads only their own figures and the reviews
//!   addressed to them (`/api/me/reviews`).
//!
//! Figures come from `records::progress`; nothing is kept in memory.

pub mod workbook;

use crate::domain::calendar::{self, Period, Span};
use crate::domain::cases;
use crate::domain::review::{Facts, Laggard, Progress, WeakTopic};
use crate::domain::{Question, Role, Topic};
use crate::error::AppError;
use crate::records::members::{self, Member, Section};
use crate::records::progress::{self, Practice, Scope, Tally, Totals};
use crate::records::{Db, questions, reviews, tasks};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};

/// What one person may do with sections.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub member_id: String,
    admin: bool,
    sections: HashSet<String>,
    departments: HashSet<String>,
}

impl Viewer {
    pub async fn of(db: &Db, member: &Member) -> anyhow::Result<Viewer> {
        let role = member.role();
        let (sections, departments) = if role == Role::SectionHead {
            (
                members::head_sections(db, &member.id).await?,
                members::head_departments(db, &member.id).await?,
            )
        } else {
            (Vec::new(), Vec::new())
        };
        Ok(Viewer {
            member_id: member.id.clone(),
            admin: role == Role::Admin,
            sections: sections.into_iter().collect(),
            departments: departments.into_iter().collect(),
        })
    }

    /// A viewer that sees and runs everything: the administrator's rights, for tools run on
    /// the server itself (benchmarks, the command line).
    pub fn everything() -> Viewer {
        Viewer {
            member_id: String::new(),
            admin: true,
            sections: HashSet::new(),
            departments: HashSet::new(),
        }
    }

    pub fn is_admin(&self) -> bool {
        self.admin
    }

    /// Heads sections or departments (or administers everything).
    pub fn reviews_anything(&self) -> bool {
        self.admin || !self.sections.is_empty() || !self.departments.is_empty()
    }

    pub fn can_view(&self, s: &Section) -> bool {
        self.admin || self.sections.contains(&s.id) || self.departments.contains(&s.department_id)
    }

    /// Sets the target, sets tasks, writes and publishes reviews.
    pub fn can_edit(&self, s: &Section) -> bool {
        self.admin || self.sections.contains(&s.id)
    }

    /// Adds 点评 to the section's published reviews.
    pub fn can_remark(&self, s: &Section) -> bool {
        self.admin || self.departments.contains(&s.department_id)
    }

    pub fn can_view_department(&self, department_id: &str) -> bool {
        self.admin || self.departments.contains(department_id)
    }
}

/// The section, if the viewer may see it: 404 when there is none, 403 when it is not theirs.
pub async fn visible(db: &Db, viewer: &Viewer, section_id: &str) -> Result<Section, AppError> {
    let s = members::section(db, section_id)
        .await?
        .ok_or_else(|| AppError::NotFound("没有这个处室".into()))?;
    if !viewer.can_view(&s) {
        return Err(AppError::Forbidden("只能查看本人负责的处室".into()));
    }
    Ok(s)
}

/// The section, if the viewer may run it.
pub async fn editable(db: &Db, viewer: &Viewer, section_id: &str) -> Result<Section, AppError> {
    let s = visible(db, viewer, section_id).await?;
    if !viewer.can_edit(&s) {
        return Err(AppError::Forbidden(
            "只有本处室负责人可以修改目标、布置任务和撰写小结点评".into(),
        ));
    }
    Ok(s)
}

/// The sections a viewer may see, with what they may do in each.
pub async fn list(db: &Db, viewer: &Viewer) -> anyhow::Result<Vec<Value>> {
    Ok(members::sections(db)
        .await?
        .into_iter()
        .filter(|s| viewer.can_view(s))
        .map(|s| {
            json!({
                "id": s.id, "name": s.name, "department_id": s.department_id,
                "department": s.department, "weekly_target": s.weekly_target, "members": s.members,
                "can_edit": viewer.can_edit(&s), "can_remark": viewer.can_remark(&s),
            })
        })
        .collect())
}

pub fn ratio(n: i64, d: i64) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

/// Today, on the users' clock.
pub fn today() -> i64 {
    calendar::day_of(crate::records::now_ms())
}

/// One member's row on the section page.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    pub id: String,
    pub staff_no: String,
    pub name: String,
    pub section_id: String,
    pub section: String,
    pub department: String,
    pub target: i64,
    #[serde(flatten)]
    pub practice: Practice,
    pub accuracy: Option<f64>,
    pub last_active: Option<String>,
    /// Did nothing in the period: no drill, no answer.
    pub idle: bool,
}

/// The member rows of a scope in a span, idle members first, then by drills done.
pub async fn rows(
    db: &Db,
    scope: Scope<'_>,
    span: Span,
    targets: &HashMap<String, i64>,
) -> anyhow::Result<Vec<Row>> {
    let (people, practice) = tokio::try_join!(
        progress::people(db, scope),
        progress::practice(db, scope, span)
    )?;
    let mut rows: Vec<Row> = people
        .into_iter()
        .map(|p| {
            let practice = practice.get(&p.id).cloned().unwrap_or_default();
            let weekly = targets.get(&p.section_id).copied().unwrap_or(3);
            Row {
                accuracy: ratio(practice.correct, practice.answers),
                last_active: practice.last_day.map(calendar::iso),
                idle: practice.drills == 0 && practice.answers == 0,
                target: calendar::target_for(weekly, span),
                practice,
                id: p.id,
                staff_no: p.staff_no,
                name: p.name,
                section_id: p.section_id,
                section: p.section,
                department: p.department,
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        b.idle
            .cmp(&a.idle)
            .then(a.practice.drills.cmp(&b.practice.drills))
            .then(a.practice.answers.cmp(&b.practice.answers))
            .then(a.section.cmp(&b.section))
            .then(a.staff_no.cmp(&b.staff_no))
    });
    Ok(rows)
}

/// Weekly targets of every section, by section id.
pub async fn targets(db: &Db) -> anyhow::Result<HashMap<String, i64>> {
    Ok(members::sections(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s.weekly_target))
        .collect())
}

fn tally_json(t: &Tally, name: &str) -> Value {
    json!({"answers": t.answers, "correct": t.correct, "accuracy": ratio(t.correct, t.answers), "name": name})
}

/// Lowest accuracy first; among equals, more answers first.
fn weakest_first(list: &mut [Tally]) {
    list.sort_by(|a, b| {
        let ra = a.correct as f64 / a.answers.max(1) as f64;
        let rb = b.correct as f64 / b.answers.max(1) as f64;
        ra.total_cmp(&rb)
            .then(b.answers.cmp(&a.answers))
            .then(a.key.cmp(&b.key))
    });
}

pub fn topic_name(id: &str) -> String {
    Topic::parse(id)
        .map(|t| t.name_zh().to_string())
        .unwrap_or_else(|| id.to_string())
}

/// What a scope got wrong in a span: topics and tags (知识点) weakest first, and the questions
/// most often answered wrong (with stems), all summed from one pass over the answers.
pub struct Breakdown {
    pub topics: Vec<Tally>,
    pub tags: Vec<Tally>,
    pub wrong: Vec<Value>,
}

pub async fn breakdown(
    db: &Db,
    scope: Scope<'_>,
    span: Span,
    wrong_limit: usize,
) -> anyhow::Result<Breakdown> {
    let (per_question, meta) = tokio::try_join!(
        progress::by_question(db, scope, span),
        questions::topics_and_tags(db),
    )?;
    let mut topics: HashMap<&str, (i64, i64)> = HashMap::new();
    let mut tags: HashMap<&str, (i64, i64)> = HashMap::new();
    for t in &per_question {
        let Some((topic, its_tags)) = meta.get(&t.key) else {
            continue;
        };
        let e = topics.entry(topic.as_str()).or_default();
        e.0 += t.answers;
        e.1 += t.correct;
        for tag in its_tags {
            let e = tags.entry(tag.as_str()).or_default();
            e.0 += t.answers;
            e.1 += t.correct;
        }
    }
    let tallies = |m: HashMap<&str, (i64, i64)>| {
        let mut v: Vec<Tally> = m
            .into_iter()
            .map(|(k, (answers, correct))| Tally {
                key: k.to_string(),
                answers,
                correct,
            })
            .collect();
        weakest_first(&mut v);
        v
    };
    let mut most: Vec<&Tally> = per_question
        .iter()
        .filter(|t| t.answers > t.correct)
        .collect();
    most.sort_by(|a, b| {
        (b.answers - b.correct)
            .cmp(&(a.answers - a.correct))
            .then(a.key.cmp(&b.key))
    });
    most.truncate(wrong_limit);
    let ids: Vec<&str> = most.iter().map(|t| t.key.as_str()).collect();
    let current = questions::current_of(db, &ids).await?;
    let mut wrong = Vec::new();
    for t in most {
        let (stem, topic) = match current.get(&t.key) {
            Some(q) => (q.stem.clone(), q.topic.name_zh().to_string()),
            None => (String::new(), String::new()),
        };
        wrong.push(json!({
            "question_id": t.key, "stem": stem, "topic_name": topic, "answers": t.answers,
            "correct": t.correct, "wrong": t.answers - t.correct, "accuracy": ratio(t.correct, t.answers),
        }));
    }
    Ok(Breakdown {
        topics: tallies(topics),
        tags: tallies(tags),
        wrong,
    })
}

fn average(t: Totals, headcount: i64) -> Value {
    json!({
        "members": headcount, "active": t.active,
        "participation": ratio(t.active, headcount),
        "accuracy": ratio(t.correct, t.answers),
        "answers_per_member": if headcount > 0 { Some(t.answers as f64 / headcount as f64) } else { None },
    })
}

/// Participation, accuracy and answers per member of a scope in a span.
pub async fn average_of(db: &Db, scope: Scope<'_>, span: Span) -> anyhow::Result<Value> {
    Ok(average(
        progress::totals(db, scope, span).await?,
        progress::headcount(db, scope).await?,
    ))
}

/// The department's and the agency's averages that every section page shows beside its own
/// figures, remembered for [`Averages::FRESH`] per scope and period. They are context, not
/// anyone's record: the agency's needs every member's days of the period (about 130 ms for a
/// quarter of 2,000 members on PostgreSQL), and every head opening a page would pay it again.
/// The section's own figures are always read fresh.
#[derive(Default)]
pub struct Averages {
    kept: std::sync::Mutex<Kept>,
}

/// (scope, first day, day after) → (when computed, the averages).
type Kept = HashMap<(String, i64, i64), (std::time::Instant, Value)>;

impl Averages {
    pub const FRESH: std::time::Duration = std::time::Duration::from_secs(60);
    /// Entries kept at most; beyond it the map starts again.
    const MAX: usize = 2_000;

    pub async fn of(&self, db: &Db, scope: Scope<'_>, span: Span) -> anyhow::Result<Value> {
        let key = (format!("{scope:?}"), span.from, span.to);
        let fresh = |kept: &Kept| {
            kept.get(&key)
                .filter(|(at, _)| at.elapsed() < Self::FRESH)
                .map(|(_, v)| v.clone())
        };
        if let Some(v) = fresh(&self.lock()) {
            return Ok(v);
        }
        let v = average_of(db, scope, span).await?;
        let mut kept = self.lock();
        if kept.len() >= Self::MAX {
            kept.clear();
        }
        kept.insert(key, (std::time::Instant::now(), v.clone()));
        Ok(v)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Participation and accuracy per week, for the twelve weeks that end with the week of `last`.
pub async fn trend(db: &Db, scope: Scope<'_>, last: i64) -> anyhow::Result<Vec<Value>> {
    let end = calendar::monday_of(last) + 7;
    let span = Span {
        from: end - 12 * 7,
        to: end,
    };
    let weeks = progress::weekly(db, scope, span).await?;
    let headcount = progress::headcount(db, scope).await?;
    Ok((0..12)
        .map(|i| {
            let monday = span.from + i * 7;
            let t = weeks.get(&monday).copied().unwrap_or_default();
            json!({
                "week": calendar::iso(monday), "active": t.active, "answers": t.answers,
                "participation": ratio(t.active, headcount), "accuracy": ratio(t.correct, t.answers),
            })
        })
        .collect())
}

pub fn period_json(period: Period, span: Span, weekly_target: i64) -> Value {
    json!({
        "key": period.key(), "label": period.label(), "from": calendar::iso(span.from),
        "to": calendar::iso(span.last()), "days": span.days(),
        "target": calendar::target_for(weekly_target, span),
    })
}

/// Everything on the section page for one period.
pub async fn report(
    db: &Db,
    averages: &Averages,
    viewer: &Viewer,
    section: &Section,
    period: Period,
) -> anyhow::Result<Value> {
    let today = today();
    let span = period.span(today);
    let scope = Scope::Section(&section.id);
    let targets = HashMap::from([(section.id.clone(), section.weekly_target)]);
    // The parts are independent reads: run them at once on the pool's connections.
    let (rows, previous, weak, own, department, agency, trend, recent, tasks) = tokio::try_join!(
        rows(db, scope, span, &targets),
        progress::totals(db, scope, span.previous()),
        breakdown(db, scope, span, 10),
        average_of(db, scope, span),
        averages.of(db, Scope::Department(&section.department_id), span),
        averages.of(db, Scope::Agency, span),
        trend(db, scope, span.last().min(today)),
        reviews::of_section(db, &section.id),
        task_drills(db, &section.id),
    )?;
    let summary = summary(&rows, previous);
    let topics: Vec<Value> = weak
        .topics
        .iter()
        .map(|t| {
            let mut v = tally_json(t, &topic_name(&t.key));
            v["topic"] = json!(t.key);
            v
        })
        .collect();
    let tags: Vec<Value> = weak
        .tags
        .iter()
        .map(|t| {
            let mut v = tally_json(t, &t.key);
            v["tag"] = json!(t.key);
            v
        })
        .collect();
    let comparison = json!({ "section": own, "department": department, "agency": agency });
    let recent_reviews: Vec<Value> = recent.iter().take(10).map(review_line).collect();
    Ok(json!({
        "section": {
            "id": section.id, "name": section.name, "department_id": section.department_id,
            "department": section.department, "weekly_target": section.weekly_target,
        },
        "period": period_json(period, span, section.weekly_target),
        "viewer": { "can_edit": viewer.can_edit(section), "can_remark": viewer.can_remark(section) },
        "members": rows,
        "summary": summary,
        "topics": topics,
        "tags": tags,
        "wrong_questions": weak.wrong,
        "trend": trend,
        "comparison": comparison,
        "tasks": task_lines(&tasks, &rows),
        "reviews": recent_reviews,
    }))
}

/// The period's headline figures from the member rows, with the previous period's accuracy.
fn summary(rows: &[Row], previous: Totals) -> Value {
    let members = rows.len() as i64;
    let active = rows.iter().filter(|r| r.practice.answers > 0).count() as i64;
    let answers: i64 = rows.iter().map(|r| r.practice.answers).sum();
    let correct: i64 = rows.iter().map(|r| r.practice.correct).sum();
    let met = rows
        .iter()
        .filter(|r| r.practice.drills >= r.target)
        .count() as i64;
    json!({
        "members": members, "active": active, "participation": ratio(active, members),
        "met_target": met, "answers": answers, "correct": correct,
        "accuracy": ratio(correct, answers),
        "previous_accuracy": ratio(previous.correct, previous.answers),
    })
}

pub fn review_line(r: &reviews::Review) -> Value {
    json!({
        "id": r.id, "series_id": r.series_id, "version": r.version, "status": r.status,
        "from": calendar::date_of(r.period_start), "to": calendar::date_of(r.period_end - 1),
        "published_at": r.published_at.map(calendar::date_of), "superseded": r.superseded > 0,
        "author": r.author, "remarks": r.remarks,
    })
}

// ---- tasks ----

/// What a head asks for when setting a task.
pub struct TaskRequest {
    pub title: String,
    pub topics: Vec<Topic>,
    pub tags: Vec<String>,
    pub question_ids: Vec<String>,
    pub count: usize,
    pub time_limit_s: u32,
    /// The last day to do it (users' day).
    pub due: i64,
}

/// Sets a task: checks the request, draws its questions once (seeded; the seed is kept).
pub async fn create_task(
    db: &Db,
    section: &Section,
    author_id: &str,
    req: TaskRequest,
) -> Result<String, AppError> {
    let title = req.title.trim();
    if title.is_empty() || title.chars().count() > 60 {
        return Err(AppError::Unprocessable("任务标题应为 1–60 个字".into()));
    }
    if title.chars().any(char::is_control) {
        return Err(AppError::Unprocessable("任务标题不能含控制字符".into()));
    }
    if req.due < today() {
        return Err(AppError::Unprocessable("截止日期不能早于今天".into()));
    }
    if req.time_limit_s != 0 && !(10..=120).contains(&req.time_limit_s) {
        return Err(AppError::Unprocessable(
            "每题时间应为 0（不限时）或 10–120 秒".into(),
        ));
    }
    let active = questions::list_active(db, None).await?;
    let seed = rand::random::<u64>() >> 1;
    let picked: Vec<String> = if !req.question_ids.is_empty() {
        if req.question_ids.len() > 50 {
            return Err(AppError::Unprocessable("指定题目最多 50 道".into()));
        }
        let known: HashSet<&str> = active.iter().map(|c| c.question.id.as_str()).collect();
        let mut seen = HashSet::new();
        for id in &req.question_ids {
            if !known.contains(id.as_str()) {
                return Err(AppError::Unprocessable(format!(
                    "题库中没有可用的题目「{id}」"
                )));
            }
            if !seen.insert(id.as_str()) {
                return Err(AppError::Unprocessable(format!("题目「{id}」重复")));
            }
        }
        req.question_ids.clone()
    } else {
        if ![5, 10, 20, 50].contains(&req.count) {
            return Err(AppError::Unprocessable("题量应为 5、10、20 或 50".into()));
        }
        let mut pool: Vec<&Question> = active
            .iter()
            .map(|c| &c.question)
            .filter(|q| req.topics.is_empty() || req.topics.contains(&q.topic))
            .filter(|q| req.tags.is_empty() || q.tags.iter().any(|t| req.tags.contains(t)))
            .collect();
        if pool.is_empty() {
            return Err(AppError::Unprocessable(
                "没有符合所选专题和知识点的题目".into(),
            ));
        }
        pool.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
        // One question per family (a task never asks the same fact twice); a case group
        // comes whole and in order.
        let groups = cases::Groups::of(active.iter().map(|c| &c.question));
        cases::take(pool, &groups, req.count)
            .into_iter()
            .map(|q| q.id.clone())
            .collect()
    };
    let settings = json!({
        "topics": req.topics, "tags": req.tags, "question_ids": req.question_ids,
        "count": req.count, "time_limit_s": req.time_limit_s, "seed": seed,
    });
    Ok(tasks::insert(
        db,
        tasks::NewTask {
            section_id: &section.id,
            title,
            settings: &settings.to_string(),
            questions: &picked,
            time_limit_ms: (req.time_limit_s > 0).then(|| i64::from(req.time_limit_s) * 1000),
            due_at: calendar::start_of(req.due + 1),
            created_by: author_id,
        },
    )
    .await?)
}

fn task_status(d: Option<&tasks::TaskDrill>, count: i64) -> &'static str {
    match d {
        None => "none",
        Some(d) if d.finished_at.is_some() || d.answered >= count => "done",
        Some(_) => "started",
    }
}

fn task_json(t: &tasks::Task) -> Value {
    json!({
        "id": t.id, "title": t.title, "due": calendar::date_of(t.due_at - 1),
        "count": t.question_ids().len(), "timed": t.time_limit_ms.is_some(),
        "time_limit_s": t.time_limit_ms.map(|ms| ms / 1000),
        "status": if t.closed_at.is_some() { "closed" } else { "open" },
        "created_at": calendar::date_of(t.created_at),
    })
}

/// A section's tasks and the drills taken for them.
pub async fn task_drills(
    db: &Db,
    section_id: &str,
) -> anyhow::Result<(Vec<tasks::Task>, Vec<tasks::TaskDrill>)> {
    Ok(tokio::try_join!(
        tasks::of_section(db, section_id, false),
        tasks::drills_of_section(db, section_id),
    )?)
}

/// Each task of the section with each member's progress on it.
pub async fn task_report(db: &Db, section_id: &str, rows: &[Row]) -> anyhow::Result<Vec<Value>> {
    Ok(task_lines(&task_drills(db, section_id).await?, rows))
}

fn task_lines(
    (list, drills): &(Vec<tasks::Task>, Vec<tasks::TaskDrill>),
    rows: &[Row],
) -> Vec<Value> {
    let by: HashMap<(&str, &str), &tasks::TaskDrill> = drills
        .iter()
        .map(|d| ((d.task_id.as_str(), d.member_id.as_str()), d))
        .collect();
    list.iter()
        .map(|t| {
            let count = t.question_ids().len() as i64;
            let per: Vec<Value> = rows
                .iter()
                .map(|r| {
                    let d = by.get(&(t.id.as_str(), r.id.as_str())).copied();
                    json!({
                        "member_id": r.id, "name": r.name, "status": task_status(d, count),
                        "answered": d.map(|d| d.answered).unwrap_or(0),
                        "correct": d.map(|d| d.correct).unwrap_or(0),
                    })
                })
                .collect();
            let done: Vec<&tasks::TaskDrill> = rows
                .iter()
                .filter_map(|r| by.get(&(t.id.as_str(), r.id.as_str())).copied())
                .filter(|d| task_status(Some(d), count) == "done")
                .collect();
            let answered: i64 = done.iter().map(|d| d.answered).sum();
            let correct: i64 = done.iter().map(|d| d.correct).sum();
            let mut v = task_json(t);
            v["done"] = json!(done.len());
            v["members"] = json!(rows.len());
            v["accuracy"] = json!(ratio(correct, answered));
            v["per_member"] = json!(per);
            v
        })
        .collect()
}

/// The open tasks of a member's section with how far they got; done ones last.
pub async fn my_tasks(db: &Db, me: &Member) -> anyhow::Result<Vec<Value>> {
    let Some(section_id) = &me.section_id else {
        return Ok(Vec::new());
    };
    let section = members::section(db, section_id).await?;
    let mine = tasks::drills_of_member(db, &me.id).await?;
    let today = today();
    let mut out: Vec<(bool, i64, Value)> = tasks::of_section(db, section_id, true)
        .await?
        .iter()
        .map(|t| {
            let d = mine.iter().find(|d| d.task_id == t.id);
            let status = task_status(d, t.question_ids().len() as i64);
            let mut v = task_json(t);
            v["section"] = json!(section.as_ref().map(|s| s.name.clone()));
            v["status"] = json!(status);
            v["drill_id"] = json!(d.map(|d| d.drill_id.clone()));
            v["answered"] = json!(d.map(|d| d.answered).unwrap_or(0));
            v["correct"] = json!(d.map(|d| d.correct).unwrap_or(0));
            v["overdue"] = json!(status != "done" && calendar::day_of(t.due_at - 1) < today);
            (status == "done", t.due_at, v)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    Ok(out.into_iter().map(|(_, _, v)| v).collect())
}

/// The member's drill for a task: the one they started, or a new one with the task's
/// questions. Only members of the task's section, only while it is open.
pub async fn start_task(db: &Db, me: &Member, task_id: &str) -> Result<String, AppError> {
    let task = tasks::get(db, task_id)
        .await?
        .ok_or_else(|| AppError::NotFound("没有这个练兵任务".into()))?;
    if me.section_id.as_deref() != Some(task.section_id.as_str()) {
        return Err(AppError::Forbidden("这是其他处室的练兵任务".into()));
    }
    let existing = || async {
        Ok::<_, AppError>(
            tasks::drills_of_member(db, &me.id)
                .await?
                .into_iter()
                .find(|d| d.task_id == task.id),
        )
    };
    if let Some(d) = existing().await? {
        return Ok(d.drill_id);
    }
    if task.closed_at.is_some() {
        return Err(AppError::Conflict("这个练兵任务已结束".into()));
    }
    let mut items = Vec::new();
    for id in task.question_ids() {
        if let Some(c) = questions::current(db, &id).await? {
            items.push((id, c.version));
        }
    }
    if items.is_empty() {
        return Err(AppError::Unprocessable("这个任务的题目已不在题库中".into()));
    }
    let settings = json!({"task": task.id, "title": task.title});
    let created = crate::records::drills::create(
        db,
        crate::records::drills::NewDrill {
            member_id: &me.id,
            mode: "task",
            settings: &settings.to_string(),
            seed: 0,
            time_limit_ms: task.time_limit_ms,
            items: &items,
            task_id: Some(&task.id),
        },
    )
    .await;
    match created {
        Ok(id) => Ok(id),
        // Started twice at once: the unique (task, member) index kept the first.
        Err(e) => match existing().await? {
            Some(d) => Ok(d.drill_id),
            None => Err(e.into()),
        },
    }
}

// ---- reviews ----

/// The facts of a section's period that a review starts from.
pub async fn facts(db: &Db, section: &Section, span: Span) -> anyhow::Result<Facts> {
    let scope = Scope::Section(&section.id);
    let targets = HashMap::from([(section.id.clone(), section.weekly_target)]);
    let now = rows(db, scope, span, &targets).await?;
    let before: HashMap<String, Practice> = progress::practice(db, scope, span.previous()).await?;
    let members = now.len() as i64;
    let active = now.iter().filter(|r| r.practice.answers > 0).count() as i64;
    let answers: i64 = now.iter().map(|r| r.practice.answers).sum();
    let correct: i64 = now.iter().map(|r| r.practice.correct).sum();
    let previous = progress::totals(db, scope, span.previous()).await?;
    const ENOUGH: i64 = 5;
    let mut progress: Vec<Progress> = now
        .iter()
        .filter_map(|r| {
            let b = before.get(&r.id)?;
            if r.practice.answers < ENOUGH || b.answers < ENOUGH {
                return None;
            }
            let from = b.correct as f64 / b.answers as f64;
            let to = r.practice.correct as f64 / r.practice.answers as f64;
            (to - from >= 0.05).then(|| Progress {
                name: r.name.clone(),
                from,
                to,
            })
        })
        .collect();
    progress.sort_by(|a, b| (b.to - b.from).total_cmp(&(a.to - a.from)));
    progress.truncate(3);
    let mut leaders: Vec<&Row> = now
        .iter()
        .filter(|r| r.practice.drills >= r.target && r.practice.answers >= ENOUGH)
        .collect();
    leaders.sort_by(|a, b| {
        b.accuracy
            .unwrap_or(0.0)
            .total_cmp(&a.accuracy.unwrap_or(0.0))
    });
    let weak_topics: Vec<WeakTopic> = breakdown(db, scope, span, 0)
        .await?
        .topics
        .into_iter()
        .filter(|t| t.answers >= ENOUGH && (t.correct as f64) < 0.8 * t.answers as f64)
        .take(2)
        .map(|t| WeakTopic {
            name: topic_name(&t.key),
            accuracy: t.correct as f64 / t.answers as f64,
            answers: t.answers,
        })
        .collect();
    let laggards: Vec<Laggard> = now
        .iter()
        .filter(|r| r.practice.drills < r.target)
        .map(|r| Laggard {
            name: r.name.clone(),
            drills: r.practice.drills,
        })
        .collect();
    Ok(Facts {
        section: section.name.clone(),
        from: calendar::iso(span.from),
        to: calendar::iso(span.last()),
        members,
        active,
        participation: ratio(active, members),
        target: calendar::target_for(section.weekly_target, span),
        met_target: now.iter().filter(|r| r.practice.drills >= r.target).count() as i64,
        answers,
        accuracy: ratio(correct, answers),
        previous_accuracy: ratio(previous.correct, previous.answers),
        progress,
        leaders: leaders.iter().take(3).map(|r| r.name.clone()).collect(),
        weak_topics,
        laggards,
    })
}
