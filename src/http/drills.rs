//! Drills, the notebook, the member's home and drill leaderboards: JSON API and pages.

use crate::auth::Identity;
use crate::domain::drill::{MASTERY_STREAK, Mode};
use crate::domain::{Question, Response, Topic};
use crate::drill::{self as service, Period, StartRequest};
use crate::error::{AppError, Result};
use crate::http::pages::member_page;
use crate::records::{drills as rec, now_ms};
use crate::startup::AppState;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/drill", web::get().to(drill_page))
        .route("/notebook", web::get().to(notebook_page))
        .route("/me", web::get().to(me_page));
}

/// Routes under `/api`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/drills", web::post().to(start))
        .route("/drills", web::get().to(list))
        .route("/drills/{id}", web::get().to(get))
        .route("/drills/{id}/answers", web::post().to(answer))
        .route("/drills/{id}/finish", web::post().to(finish))
        .route("/drills/{id}/summary", web::get().to(summary))
        .route("/notebook", web::get().to(notebook))
        .route("/me/home", web::get().to(home))
        .route("/leaderboards/drills", web::get().to(leaderboard));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Start {
    mode: Mode,
    #[serde(default)]
    topics: Vec<String>,
    #[serde(default = "ten")]
    count: usize,
    #[serde(default)]
    time_limit_s: u32,
}

fn ten() -> usize {
    10
}

async fn start(
    state: web::Data<AppState>,
    id: Identity,
    body: web::Json<Start>,
) -> Result<HttpResponse> {
    let b = body.into_inner();
    let mut topics = Vec::new();
    for t in &b.topics {
        topics.push(
            Topic::parse(t).ok_or_else(|| AppError::Unprocessable(format!("未知分类「{t}」")))?,
        );
    }
    let drill_id = service::start(
        &state.db,
        &id.member.id,
        StartRequest {
            mode: b.mode,
            topics,
            count: b.count,
            time_limit_s: b.time_limit_s,
        },
    )
    .await?;
    Ok(HttpResponse::Created().json(state.drills.state(&id.member.id, &drill_id).await?))
}

#[derive(Deserialize)]
struct Limit {
    limit: Option<i64>,
}

async fn list(
    state: web::Data<AppState>,
    id: Identity,
    q: web::Query<Limit>,
) -> Result<HttpResponse> {
    let limit = q.limit.unwrap_or(20).clamp(1, 200);
    Ok(HttpResponse::Ok().json(rec::list(&state.db, &id.member.id, limit).await?))
}

async fn get(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.drills.state(&id.member.id, &path).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswerBody {
    position: i64,
    answer: Response,
}

async fn answer(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
    body: web::Json<AnswerBody>,
) -> Result<HttpResponse> {
    let out = state
        .drills
        .answer(&id.member.id, &path, body.position, &body.answer)
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

async fn finish(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    state.drills.finish(&id.member.id, &path).await?;
    let d = service::owned(&state.db, &id.member.id, &path).await?;
    Ok(HttpResponse::Ok().json(service::summary(&state.db, &d).await?))
}

async fn summary(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let d = service::owned(&state.db, &id.member.id, &path).await?;
    Ok(HttpResponse::Ok().json(service::summary(&state.db, &d).await?))
}

#[derive(Deserialize)]
struct NotebookFilter {
    topic: Option<String>,
    tag: Option<String>,
    due: Option<String>,
}

async fn notebook(
    state: web::Data<AppState>,
    id: Identity,
    q: web::Query<NotebookFilter>,
) -> Result<HttpResponse> {
    let topic = match q.topic.as_deref().filter(|t| !t.is_empty()) {
        Some(t) => {
            Some(Topic::parse(t).ok_or_else(|| AppError::BadRequest(format!("未知分类「{t}」")))?)
        }
        None => None,
    };
    let only_due = matches!(q.due.as_deref(), Some("1" | "true"));
    let now = now_ms();
    let mut entries = Vec::new();
    for n in rec::notebook(&state.db, &id.member.id).await? {
        let question: Question = serde_json::from_str(&n.body).map_err(anyhow::Error::from)?;
        let due = n.mastered_at.is_none() && n.due_at <= now;
        if topic.is_some_and(|t| t != question.topic)
            || q.tag
                .as_deref()
                .is_some_and(|t| !t.is_empty() && !question.tags.iter().any(|x| x == t))
            || (only_due && !due)
        {
            continue;
        }
        entries.push(json!({
            "question_id": n.question_id, "stem": question.stem, "topic": question.topic,
            "topic_name": question.topic.name_zh(), "tags": question.tags, "origin": n.origin,
            "added_at": n.added_at, "due_at": n.due_at, "due": due, "right_streak": n.right_streak,
            "mastered": n.mastered_at.is_some(),
            // The member got it wrong once and saw the answer then: the entry shows it again.
            "kind": question.kind, "options": question.options, "answer": question.answer.display(),
            "explanation": question.explanation, "source": question.source,
        }));
    }
    Ok(HttpResponse::Ok().json(json!({ "mastery_streak": MASTERY_STREAK, "entries": entries })))
}

async fn home(state: web::Data<AppState>, id: Identity) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(service::home(&state.db, &id.member).await?))
}

#[derive(Deserialize)]
struct BoardQuery {
    period: Option<String>,
    scope: Option<String>,
}

async fn leaderboard(
    state: web::Data<AppState>,
    id: Identity,
    q: web::Query<BoardQuery>,
) -> Result<HttpResponse> {
    let period = Period::parse(q.period.as_deref().unwrap_or("week"))
        .ok_or_else(|| AppError::BadRequest("period 应为 week、month 或 quarter".into()))?;
    let section_only = match q.scope.as_deref().unwrap_or("section") {
        "section" => true,
        "agency" => false,
        other => {
            return Err(AppError::BadRequest(format!(
                "scope 应为 section 或 agency，收到 {other}"
            )));
        }
    };
    Ok(HttpResponse::Ok().json(
        service::leaderboard(&state.db, &state.board, &id.member, period, section_only).await?,
    ))
}

// ---- pages ----

member_page!(DrillPage, "drill.html", drill_page);
member_page!(NotebookPage, "notebook.html", notebook_page);
member_page!(MePage, "me.html", me_page);
