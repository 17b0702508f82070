//! The exam round's JSON API (see docs/api.md, "Exam rounds").

use crate::auth::Identity;
use crate::domain::Role;
use crate::domain::competition::AwardRule;
use crate::domain::exam::{self, ExamSettings, KindPoints, PaperSpec, Qualify, Reveal, Scope};
use crate::domain::teams::{self, TeamRule};
use crate::domain::{Kind, Response, Topic};
use crate::error::{AppError, Result};
use crate::exam::{Exams, Paper};
use crate::records::teams::{self as team_records, Event};
use crate::records::{audit, competitions, exams as rec, members, now_ms, questions};
use crate::startup::AppState;
use actix_web::{HttpResponse, web};
use rand::RngExt;
use serde::Deserialize;
use serde_json::json;
use std::collections::HashSet;
use std::sync::Arc;

/// Routes under `/api`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/exams", web::post().to(create))
        .route("/exams", web::get().to(list))
        .route("/exams/{id}", web::get().to(detail))
        .route("/exams/{id}/cancel", web::post().to(cancel))
        .route("/exams/{id}/teams", web::put().to(set_teams))
        .route("/exams/{id}/teams", web::get().to(get_teams))
        .route("/exams/{id}/attempts", web::post().to(start))
        .route("/exams/{id}/attempt", web::get().to(attempt))
        .route("/exams/{id}/attempt/answers/{n}", web::put().to(save))
        .route("/exams/{id}/attempt/leave", web::post().to(leave))
        .route("/exams/{id}/attempt/submit", web::post().to(submit))
        .route("/exams/{id}/result", web::get().to(result))
        .route("/exams/{id}/progress", web::get().to(progress))
        .route("/exams/{id}/results", web::get().to(results))
        .route("/exams/{id}/report.xlsx", web::get().to(report_xlsx))
        .route("/exams/{id}/report.csv", web::get().to(report_csv))
        .route("/exams/{id}/awards", web::post().to(confirm_awards))
        .route("/exams/{id}/finalists/carry", web::post().to(carry));
}

/// Longest paper, attempts and window.
const MAX_QUESTIONS: usize = 300;
const MAX_DURATION_MIN: i64 = 600;
const MAX_WINDOW_MS: i64 = 90 * 86_400_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewExam {
    title: String,
    opens_at: i64,
    closes_at: i64,
    duration_min: i64,
    #[serde(default = "one")]
    max_attempts: i64,
    #[serde(default)]
    points: KindPoints,
    #[serde(default)]
    reveal: Reveal,
    #[serde(default)]
    scope: ScopeRequest,
    #[serde(default)]
    qualify: Option<Qualify>,
    #[serde(default)]
    award_rule: Option<AwardRule>,
    #[serde(default)]
    teams: TeamRule,
    paper: PaperRequest,
    #[serde(default)]
    seed: Option<u64>,
}

fn one() -> i64 {
    1
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ScopeRequest {
    #[serde(default)]
    departments: Vec<String>,
    #[serde(default)]
    sections: Vec<String>,
    /// Staff numbers.
    #[serde(default)]
    members: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PaperRequest {
    #[serde(default)]
    mix: Vec<MixRequest>,
    #[serde(default)]
    kinds: Vec<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    difficulty: Vec<u8>,
    #[serde(default)]
    question_ids: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MixRequest {
    topic: String,
    count: usize,
}

fn unprocessable(msg: impl Into<String>) -> AppError {
    AppError::Unprocessable(msg.into())
}

/// The scope with staff numbers turned into member ids; unknown ones are named.
async fn resolve_scope(state: &AppState, s: ScopeRequest) -> Result<Scope> {
    let sections = members::sections(&state.db).await?;
    for id in &s.sections {
        if !sections.iter().any(|x| &x.id == id) {
            return Err(unprocessable(format!("参考范围中的处室 {id} 不存在")));
        }
    }
    for id in &s.departments {
        if !sections.iter().any(|x| &x.department_id == id) {
            return Err(unprocessable(format!(
                "参考范围中的司室 {id} 不存在或没有处室"
            )));
        }
    }
    let mut ids = Vec::new();
    for staff_no in &s.members {
        let m = members::by_staff_no(&state.db, staff_no.trim())
            .await?
            .filter(|m| m.active == 1)
            .ok_or_else(|| unprocessable(format!("参考范围中的工号 {staff_no} 不存在或已停用")))?;
        ids.push(m.id);
    }
    Ok(Scope {
        departments: s.departments,
        sections: s.sections,
        members: ids,
    })
}

async fn create(
    state: web::Data<AppState>,
    id: Identity,
    body: web::Json<NewExam>,
) -> Result<HttpResponse> {
    id.require(&[Role::Host])?;
    let b = body.into_inner();
    let title = b.title.trim();
    if title.is_empty() || title.chars().count() > 60 {
        return Err(unprocessable("标题应为 1–60 个字"));
    }
    if b.closes_at <= b.opens_at {
        return Err(unprocessable("截止时间应晚于开始时间"));
    }
    if b.closes_at - b.opens_at > MAX_WINDOW_MS {
        return Err(unprocessable("考试时段不能超过 90 天"));
    }
    if b.closes_at <= now_ms() {
        return Err(unprocessable("截止时间已经过去"));
    }
    if !(1..=MAX_DURATION_MIN).contains(&b.duration_min) {
        return Err(unprocessable(format!(
            "每次作答时长应为 1–{MAX_DURATION_MIN} 分钟"
        )));
    }
    if !(1..=10).contains(&b.max_attempts) {
        return Err(unprocessable("作答次数应为 1–10"));
    }
    let mut mix = Vec::new();
    for m in &b.paper.mix {
        let topic = Topic::parse(&m.topic)
            .ok_or_else(|| unprocessable(format!("未知分类「{}」", m.topic)))?;
        if m.count > MAX_QUESTIONS {
            return Err(unprocessable(format!("每个分类最多 {MAX_QUESTIONS} 题")));
        }
        if m.count > 0 {
            mix.push(exam::TopicCount {
                topic,
                count: m.count,
            });
        }
    }
    let mut kinds = Vec::new();
    for k in &b.paper.kinds {
        kinds.push(Kind::parse(k).ok_or_else(|| unprocessable(format!("未知题型「{k}」")))?);
    }
    if b.paper.difficulty.iter().any(|d| !(1..=3).contains(d)) {
        return Err(unprocessable("难度应为 1–3"));
    }
    if b.teams.by == teams::TeamBy::None && b.teams.absent_as_zero {
        return Err(unprocessable("未设团体排名时不能设置缺考计零"));
    }
    let scope = resolve_scope(&state, b.scope).await?;
    let spec = PaperSpec {
        mix,
        kinds,
        tags: b.paper.tags,
        difficulty: b.paper.difficulty,
        question_ids: b.paper.question_ids,
    };
    let settings = ExamSettings {
        points: b.points,
        reveal: b.reveal,
        scope,
        qualify: b.qualify,
        award_rule: b.award_rule,
        teams: b.teams,
        paper: spec,
    };
    settings.check().map_err(AppError::Unprocessable)?;
    let pool = questions::list_active(&state.db, None).await?;
    let seed = b.seed.unwrap_or_else(|| rand::rng().random::<u64>() >> 1);
    let mut short = Vec::new();
    let picked: Vec<&questions::Current> = if settings.paper.question_ids.is_empty() {
        if settings.paper.mix.is_empty() {
            return Err(unprocessable("请设置各分类的题目数量，或指定题目"));
        }
        let qs: Vec<crate::domain::Question> = pool.iter().map(|c| c.question.clone()).collect();
        let (drawn, missing) = exam::draw_paper(&qs, &settings.paper, seed);
        short = missing;
        drawn
            .iter()
            .filter_map(|q| pool.iter().find(|c| c.question.id == q.id))
            .collect()
    } else {
        let mut seen = HashSet::new();
        let mut v = Vec::new();
        for qid in &settings.paper.question_ids {
            if !seen.insert(qid) {
                return Err(unprocessable(format!("题目 {qid} 重复")));
            }
            v.push(
                pool.iter()
                    .find(|c| &c.question.id == qid)
                    .ok_or_else(|| unprocessable(format!("题目 {qid} 不存在或已停用")))?,
            );
        }
        v
    };
    if picked.is_empty() {
        return Err(unprocessable("没有符合条件的题目"));
    }
    if picked.len() > MAX_QUESTIONS {
        return Err(unprocessable(format!("一份试卷最多 {MAX_QUESTIONS} 题")));
    }
    let max_score: i64 = picked
        .iter()
        .map(|c| settings.points.of(c.question.kind))
        .sum();
    let exam_id = rec::create(
        &state.db,
        rec::NewExam {
            title,
            settings: serde_json::to_string(&settings).map_err(anyhow::Error::from)?,
            seed: seed as i64,
            opens_at: b.opens_at,
            closes_at: b.closes_at,
            duration_ms: b.duration_min * 60_000,
            max_attempts: b.max_attempts,
            created_by: &id.member.id,
            questions: picked
                .iter()
                .map(|c| {
                    (
                        c.question.id.clone(),
                        c.version.clone(),
                        settings.points.of(c.question.kind),
                    )
                })
                .collect(),
        },
    )
    .await?;
    audit::record(
        &state.db,
        Some(&id.member.id),
        "exam.create",
        &exam_id,
        json!({ "seed": seed, "questions": picked.len(), "max_score": max_score }),
    )
    .await?;
    Ok(HttpResponse::Created().json(json!({
        "id": exam_id, "title": title, "seed": seed, "questions": picked.len(),
        "max_score": max_score,
        "short": short.iter().map(|(t, n)| json!({"topic": t, "topic_name": t.name_zh(), "missing": n})).collect::<Vec<_>>(),
    })))
}

/// The exam, for its host or an admin: 403 for another host's exam.
async fn owned(state: &AppState, id: &Identity, exam_id: &str) -> Result<Arc<Paper>> {
    id.require(&[Role::Host])?;
    let paper = state.exams.paper(exam_id).await?;
    if id.role() != Role::Admin && paper.exam.created_by != id.member.id {
        return Err(AppError::Forbidden("只能管理自己创建的考试".into()));
    }
    Ok(paper)
}

fn summary(p: &Paper, now: i64) -> serde_json::Value {
    let e = &p.exam;
    json!({
        "id": e.id, "title": e.title, "opens_at": e.opens_at, "closes_at": e.closes_at,
        "duration_ms": e.duration_ms, "max_attempts": e.max_attempts, "questions": p.items.len(),
        "max_score": p.max_score, "status": p.status(now), "reveal": p.settings.reveal,
        "awards_confirmed": e.awards_confirmed == 1, "created_at": e.created_at,
    })
}

async fn list(state: web::Data<AppState>, id: Identity) -> Result<HttpResponse> {
    let now = now_ms();
    let hosting = id.role() == Role::Host || id.role() == Role::Admin;
    let exams = if hosting {
        rec::list(&state.db).await?
    } else {
        rec::current(&state.db, now).await?
    };
    let mut out = Vec::new();
    for e in exams {
        let paper = state.exams.paper(&e.id).await?;
        if hosting {
            if id.role() == Role::Admin || e.created_by == id.member.id {
                let mut s = summary(&paper, now);
                s["mine"] = json!(true);
                out.push(s);
            }
            continue;
        }
        if paper.exam.cancelled_at.is_some() || !state.exams.in_scope(&paper, &id.member).await? {
            continue;
        }
        let mut s = summary(&paper, now);
        s["my_status"] = json!(my_status(&state.exams, &paper, &id.member.id).await?);
        out.push(s);
    }
    Ok(HttpResponse::Ok().json(out))
}

async fn my_status(exams: &Exams, paper: &Paper, member_id: &str) -> Result<&'static str> {
    let attempts = rec::attempts_of(exams.db(), &paper.exam.id, member_id).await?;
    Ok(if attempts.iter().any(|a| a.submitted_at.is_none()) {
        "in_progress"
    } else if attempts.is_empty() {
        "not_started"
    } else if (attempts.len() as i64) < paper.exam.max_attempts {
        "submitted"
    } else {
        "no_attempts_left"
    })
}

async fn detail(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let now = now_ms();
    let paper = state.exams.paper(&path).await?;
    let hosting = id.role() == Role::Admin
        || (id.role() == Role::Host && paper.exam.created_by == id.member.id);
    let mut out = summary(&paper, now);
    out["now"] = json!(now);
    if hosting {
        out["settings"] = serde_json::to_value(&paper.settings).map_err(anyhow::Error::from)?;
        out["seed"] = json!(paper.exam.seed);
        return Ok(HttpResponse::Ok().json(out));
    }
    if !state.exams.in_scope(&paper, &id.member).await? {
        return Err(AppError::Forbidden("这场考试不在您的参考范围内".into()));
    }
    let attempts = rec::attempts_of(&state.db, &paper.exam.id, &id.member.id).await?;
    let revealed = paper.revealed(now);
    out["my_status"] = json!(my_status(&state.exams, &paper, &id.member.id).await?);
    out["attempts"] = json!(
        attempts
            .iter()
            .map(|a| json!({
                "number": a.number, "started_at": a.started_at, "deadline_at": a.deadline_at,
                "submitted_at": a.submitted_at,
                "score": if revealed { a.score } else { None },
            }))
            .collect::<Vec<_>>()
    );
    Ok(HttpResponse::Ok().json(out))
}

async fn cancel(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let paper = owned(&state, &id, &path).await?;
    if !rec::cancel(&state.db, &paper.exam.id).await? {
        return Err(AppError::Conflict("这场考试已经取消".into()));
    }
    state.exams.forget(&paper.exam.id);
    audit::record(
        &state.db,
        Some(&id.member.id),
        "exam.cancel",
        &paper.exam.id,
        json!({}),
    )
    .await?;
    let paper = state.exams.paper(&path).await?;
    Ok(HttpResponse::Ok().json(summary(&paper, now_ms())))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TeamsRequest {
    teams: Vec<TeamRequest>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TeamRequest {
    name: String,
    /// Staff numbers.
    members: Vec<String>,
}

/// Named teams from staff numbers: names 1–20 characters and distinct, members known and on
/// one team only. Shared with live competitions.
pub async fn named_teams(
    state: &AppState,
    teams: Vec<(String, Vec<String>)>,
) -> Result<Vec<(String, Vec<String>)>> {
    let mut names = HashSet::new();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, (name, staff)) in teams.into_iter().enumerate() {
        let name = crate::domain::competition::display_name(&name)
            .map_err(|e| unprocessable(format!("第 {} 支队伍的名称：{e}", i + 1)))?;
        if !names.insert(name.clone()) {
            return Err(unprocessable(format!("队伍名称「{name}」重复")));
        }
        let mut ids = Vec::new();
        for s in staff {
            let m = members::by_staff_no(&state.db, s.trim())
                .await?
                .filter(|m| m.active == 1)
                .ok_or_else(|| {
                    unprocessable(format!("队伍「{name}」中的工号 {s} 不存在或已停用"))
                })?;
            if !seen.insert(m.id.clone()) {
                return Err(unprocessable(format!(
                    "工号 {s}（{}）同时在两支队伍中",
                    m.name
                )));
            }
            ids.push(m.id);
        }
        out.push((name, ids));
    }
    Ok(out)
}

async fn set_teams(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
    body: web::Json<TeamsRequest>,
) -> Result<HttpResponse> {
    let paper = owned(&state, &id, &path).await?;
    if paper.exam.awards_confirmed == 1 {
        return Err(AppError::Conflict("表彰已经确认，队伍不能再改".into()));
    }
    let teams = named_teams(
        &state,
        body.into_inner()
            .teams
            .into_iter()
            .map(|t| (t.name, t.members))
            .collect(),
    )
    .await?;
    let saved = team_records::set_named(&state.db, Event::Exam, &paper.exam.id, &teams).await?;
    state.exams.forget(&paper.exam.id);
    audit::record(
        &state.db,
        Some(&id.member.id),
        "exam.teams",
        &paper.exam.id,
        json!({ "teams": saved.len() }),
    )
    .await?;
    Ok(HttpResponse::Ok().json(saved))
}

async fn get_teams(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let paper = owned(&state, &id, &path).await?;
    Ok(HttpResponse::Ok().json(team_records::named(&state.db, Event::Exam, &paper.exam.id).await?))
}

async fn start(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.exams.start(&id.member, &path).await?))
}

async fn attempt(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.exams.state(&id.member, &path).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SaveRequest {
    response: Option<Response>,
    #[serde(default)]
    marked: bool,
}

async fn save(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<(String, usize)>,
    body: web::Json<SaveRequest>,
) -> Result<HttpResponse> {
    let (exam_id, n) = path.into_inner();
    let b = body.into_inner();
    Ok(HttpResponse::Ok().json(
        state
            .exams
            .save(&id.member, &exam_id, n, b.response, b.marked)
            .await?,
    ))
}

async fn leave(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    state.exams.leave(&id.member, &path).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn submit(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.exams.submit(&id.member, &path).await?))
}

async fn result(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.exams.result(&id.member, &path).await?))
}

async fn progress(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let paper = owned(&state, &id, &path).await?;
    let now = now_ms();
    let attempts = rec::attempts(&state.db, &paper.exam.id).await?;
    let takers = rec::takers(&state.db, &paper.exam.id).await?;
    let answered = rec::answered_counts(&state.db, &paper.exam.id).await?;
    let eligible = rec::eligible(&state.db, &paper.settings.scope).await?;
    let mut rows = Vec::new();
    let (mut in_progress, mut submitted) = (0, 0);
    let mut by_member: std::collections::HashMap<&str, Vec<&rec::Attempt>> = Default::default();
    for a in &attempts {
        by_member.entry(a.member_id.as_str()).or_default().push(a);
    }
    for t in &takers {
        let mine = by_member.remove(t.member_id.as_str()).unwrap_or_default();
        let Some(last) = mine.last() else { continue };
        let status = if last.submitted_at.is_none() {
            in_progress += 1;
            "in_progress"
        } else {
            submitted += 1;
            "submitted"
        };
        rows.push(json!({
            "member_id": t.member_id, "name": t.name, "staff_no": t.staff_no, "section": t.section,
            "department": t.department, "attempts": mine.len(), "status": status,
            "started_at": last.started_at, "deadline_at": last.deadline_at,
            "submitted_at": last.submitted_at,
            "answered": answered.get(&last.id).copied().unwrap_or(0),
            "leaves": mine.iter().map(|a| a.leaves).sum::<i64>(),
            "score": mine.iter().filter_map(|a| a.score).max(),
        }));
    }
    Ok(HttpResponse::Ok().json(json!({
        "status": paper.status(now), "now": now, "eligible": eligible, "started": takers.len(),
        "in_progress": in_progress, "submitted": submitted, "takers": rows,
    })))
}

async fn results(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let paper = owned(&state, &id, &path).await?;
    let r = state.exams.results(&paper.exam.id).await?;
    Ok(HttpResponse::Ok().json(json!({
        "title": r.title, "max_score": r.max_score, "closed": r.closed, "ranking": r.ranking,
        "histogram": r.histogram, "questions": r.questions,
        "teams": r.teams.iter().map(|t| json!({
            "id": t.id, "name": t.name, "rank": t.rank, "score": t.score_display(),
            "score_milli": t.score_milli, "took_part": t.took_part, "size": t.size,
            "counted": t.counted,
        })).collect::<Vec<_>>(),
        "finalists": r.finalists, "awards_confirmed": paper.exam.awards_confirmed == 1,
    })))
}

async fn report(
    state: &AppState,
    id: &Identity,
    exam_id: &str,
    xlsx: bool,
) -> Result<HttpResponse> {
    let paper = owned(state, id, exam_id).await?;
    let r = state.exams.results(&paper.exam.id).await?;
    let title = paper.exam.title.clone();
    // A workbook of thousands of rows is built off the async workers.
    let bytes = web::block(move || crate::exam::report::to_bytes(&paper, &r, xlsx))
        .await
        .map_err(|e| anyhow::anyhow!("report task: {e}"))??;
    Ok(super::spreadsheet(bytes, xlsx, "exam", &title))
}

async fn report_xlsx(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    report(&state, &id, &path, true).await
}

async fn report_csv(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    report(&state, &id, &path, false).await
}

/// 409 until the window has closed and every attempt is in.
fn require_closed(paper: &Paper) -> Result<()> {
    if paper.exam.closed_at.is_none() {
        return Err(AppError::Refused(
            "not_closed",
            "考试尚未截止或仍有人在作答，请在截止后再操作".into(),
        ));
    }
    Ok(())
}

async fn confirm_awards(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let paper = owned(&state, &id, &path).await?;
    require_closed(&paper)?;
    if paper.exam.awards_confirmed == 1 {
        return Err(AppError::Conflict("本场考试的表彰已经确认过".into()));
    }
    let r = state.exams.results(&paper.exam.id).await?;
    let awards: Vec<(String, String, u32, i64)> = r
        .ranking
        .iter()
        .filter(|row| row.proposed)
        .map(|row| {
            (
                row.member_id.clone(),
                "业务标兵".to_string(),
                row.rank,
                row.score,
            )
        })
        .collect();
    let rule = &paper.settings.teams;
    let winners = rule
        .enabled()
        .then(|| (rule, teams::winners(rule, &r.teams)));
    let (ids, team_ids) =
        rec::confirm_awards(&state.db, &paper.exam.id, &id.member.id, &awards, winners)
            .await
            .map_err(|e| AppError::Conflict(e.to_string()))?;
    state.exams.forget(&paper.exam.id);
    audit::record(
        &state.db,
        Some(&id.member.id),
        "exam.confirm_awards",
        &paper.exam.id,
        json!({ "awards": ids.len(), "team_awards": team_ids.len() }),
    )
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "awards": ids, "team_awards": team_ids })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CarryRequest {
    competition_id: String,
}

async fn carry(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
    body: web::Json<CarryRequest>,
) -> Result<HttpResponse> {
    let paper = owned(&state, &id, &path).await?;
    require_closed(&paper)?;
    let c = competitions::by_id(&state.db, &body.competition_id)
        .await?
        .ok_or_else(|| AppError::NotFound("没有这场比武".into()))?;
    if id.role() != Role::Admin && c.created_by != id.member.id {
        return Err(AppError::Forbidden("只能管理自己创建的比武".into()));
    }
    let r = state.exams.results(&paper.exam.id).await?;
    if r.finalists.is_empty() {
        return Err(unprocessable("这场考试没有晋级选手（请先设置晋级规则）"));
    }
    if !competitions::set_entrants(&state.db, &c.id, &r.finalists).await? {
        return Err(AppError::Conflict("比武已经开始，不能再导入选手".into()));
    }
    audit::record(
        &state.db,
        Some(&id.member.id),
        "exam.carry_finalists",
        &paper.exam.id,
        json!({ "competition": c.id, "finalists": r.finalists.len() }),
    )
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "competition_id": c.id, "entrants": r.finalists })))
}
