//! The section heads' workspace over HTTP: section figures, targets, 练兵任务, 小结点评,
//! workbooks and the print view; and the member's side of tasks and reviews. Who may do what
//! is decided by `section::Viewer` on every call.

use crate::auth::{Identity, MaybeIdentity};
use crate::domain::Topic;
use crate::domain::calendar::{self, Period, Span};
use crate::error::{AppError, Result};
use crate::http::pages::{self, member_page};
use crate::records::members::{self, Section};
use crate::records::progress::Scope;
use crate::records::{audit, questions, reviews, settings};
use crate::section::{self as service, Viewer, workbook};
use crate::startup::AppState;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::{Value, json};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/section", web::get().to(section_index_page))
        .route("/section/{id}", web::get().to(section_page))
        .route("/section/{id}/reviews", web::get().to(section_reviews_page))
        .route("/reviews/{id}", web::get().to(review_page))
        .route("/reviews/{id}/print", web::get().to(review_print))
        .route("/questions/{id}", web::get().to(question_page));
}

/// Routes under `/api`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/sections", web::get().to(list))
        .route("/sections/{id}/report", web::get().to(report))
        .route("/sections/{id}/target", web::post().to(set_target))
        .route("/sections/{id}/tasks", web::post().to(create_task))
        .route("/sections/{id}/reviews", web::post().to(create_review))
        .route("/sections/{id}/reviews", web::get().to(section_reviews))
        .route(
            "/sections/{id}/workbook.xlsx",
            web::get().to(section_workbook),
        )
        .route(
            "/departments/{id}/workbook.xlsx",
            web::get().to(department_workbook),
        )
        .route("/workbook.xlsx", web::get().to(agency_workbook))
        .route("/tasks", web::get().to(my_tasks))
        .route("/tasks/{id}/start", web::post().to(start_task))
        .route("/tasks/{id}/close", web::post().to(close_task))
        .route("/reviews/{id}", web::get().to(get_review))
        .route("/reviews/{id}", web::post().to(save_review))
        .route("/reviews/{id}/publish", web::post().to(publish_review))
        .route("/reviews/{id}/revise", web::post().to(revise_review))
        .route("/reviews/{id}/remarks", web::post().to(add_remark))
        .route("/me/reviews", web::get().to(my_reviews));
}

async fn viewer(state: &AppState, id: &Identity) -> Result<Viewer> {
    Ok(Viewer::of(&state.db, &id.member).await?)
}

async fn list(state: web::Data<AppState>, id: Identity) -> Result<HttpResponse> {
    let v = viewer(&state, &id).await?;
    if !v.reviews_anything() {
        return Err(AppError::Forbidden(
            "只有处室负责人和管理员可以查看处室情况".into(),
        ));
    }
    Ok(HttpResponse::Ok().json(service::list(&state.db, &v).await?))
}

#[derive(Deserialize)]
struct PeriodQuery {
    period: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

impl PeriodQuery {
    fn parse(&self) -> Result<Period> {
        Period::parse(
            self.period.as_deref(),
            self.from.as_deref(),
            self.to.as_deref(),
        )
        .map_err(AppError::BadRequest)
    }
}

async fn report(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
    q: web::Query<PeriodQuery>,
) -> Result<HttpResponse> {
    let period = q.parse()?;
    let v = viewer(&state, &id).await?;
    let section = service::visible(&state.db, &v, &path).await?;
    Ok(HttpResponse::Ok()
        .json(service::report(&state.db, &state.averages, &v, &section, period).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetBody {
    weekly_target: i64,
}

async fn set_target(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
    body: web::Json<TargetBody>,
) -> Result<HttpResponse> {
    let v = viewer(&state, &id).await?;
    let section = service::editable(&state.db, &v, &path).await?;
    let n = body.weekly_target;
    if !(1..=20).contains(&n) {
        return Err(AppError::Unprocessable("每周练兵目标应为 1–20 次".into()));
    }
    members::set_weekly_target(&state.db, &section.id, n).await?;
    audit::record(
        &state.db,
        Some(&id.member.id),
        "section.target",
        &section.id,
        json!({"from": section.weekly_target, "to": n}),
    )
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "weekly_target": n })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskBody {
    title: String,
    #[serde(default)]
    topics: Vec<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    question_ids: Vec<String>,
    #[serde(default = "ten")]
    count: usize,
    #[serde(default)]
    time_limit_s: u32,
    due: String,
}

fn ten() -> usize {
    10
}

async fn create_task(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
    body: web::Json<TaskBody>,
) -> Result<HttpResponse> {
    let v = viewer(&state, &id).await?;
    let section = service::editable(&state.db, &v, &path).await?;
    let b = body.into_inner();
    let mut topics = Vec::new();
    for t in &b.topics {
        topics.push(
            Topic::parse(t).ok_or_else(|| AppError::Unprocessable(format!("未知专题「{t}」")))?,
        );
    }
    let due = calendar::parse_day(&b.due)
        .ok_or_else(|| AppError::Unprocessable(format!("截止日期「{}」应为 YYYY-MM-DD", b.due)))?;
    let clean = |v: Vec<String>| -> Vec<String> {
        v.into_iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let task_id = service::create_task(
        &state.db,
        &section,
        &id.member.id,
        service::TaskRequest {
            title: b.title,
            topics,
            tags: clean(b.tags),
            question_ids: clean(b.question_ids),
            count: b.count,
            time_limit_s: b.time_limit_s,
            due,
        },
    )
    .await?;
    audit::record(
        &state.db,
        Some(&id.member.id),
        "task.create",
        &task_id,
        json!({"section": section.id}),
    )
    .await?;
    let rows = service::rows(
        &state.db,
        Scope::Section(&section.id),
        Period::Week.span(service::today()),
        &Default::default(),
    )
    .await?;
    let all = service::task_report(&state.db, &section.id, &rows).await?;
    let created = all
        .into_iter()
        .find(|t| t["id"] == json!(task_id))
        .unwrap_or(json!({ "id": task_id }));
    Ok(HttpResponse::Created().json(created))
}

async fn close_task(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let task = crate::records::tasks::get(&state.db, &path)
        .await?
        .ok_or_else(|| AppError::NotFound("没有这个练兵任务".into()))?;
    let v = viewer(&state, &id).await?;
    service::editable(&state.db, &v, &task.section_id).await?;
    if !crate::records::tasks::close(&state.db, &task.id).await? {
        return Err(AppError::Conflict("这个练兵任务已经结束".into()));
    }
    audit::record(
        &state.db,
        Some(&id.member.id),
        "task.close",
        &task.id,
        json!({}),
    )
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "id": task.id, "status": "closed" })))
}

async fn my_tasks(state: web::Data<AppState>, id: Identity) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(service::my_tasks(&state.db, &id.member).await?))
}

async fn start_task(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let drill_id = service::start_task(&state.db, &id.member, &path).await?;
    Ok(HttpResponse::Created().json(state.drills.state(&id.member.id, &drill_id).await?))
}

// ---- reviews ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewReview {
    from: String,
    to: String,
}

async fn create_review(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
    body: web::Json<NewReview>,
) -> Result<HttpResponse> {
    let v = viewer(&state, &id).await?;
    let section = service::editable(&state.db, &v, &path).await?;
    let period =
        Period::parse(None, Some(&body.from), Some(&body.to)).map_err(AppError::Unprocessable)?;
    let span = period.span(service::today());
    let facts = service::facts(&state.db, &section, span).await?;
    let body = crate::domain::review::draft(&facts);
    let review_id = reviews::create(
        &state.db,
        reviews::NewDraft {
            section_id: &section.id,
            author_id: &id.member.id,
            period: span.ms(),
            body: &body,
            facts: &serde_json::to_string(&facts).map_err(anyhow::Error::from)?,
        },
    )
    .await?;
    audit::record(
        &state.db,
        Some(&id.member.id),
        "review.create",
        &review_id,
        json!({"section": section.id, "from": facts.from, "to": facts.to}),
    )
    .await?;
    let r = load_review(&state, &review_id).await?;
    Ok(HttpResponse::Created().json(review_json(&state, &v, &section, &r, &id).await?))
}

async fn section_reviews(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let v = viewer(&state, &id).await?;
    let section = service::visible(&state.db, &v, &path).await?;
    let editor = v.can_edit(&section);
    let list: Vec<Value> = reviews::of_section(&state.db, &section.id)
        .await?
        .iter()
        // Drafts are the head's own work in progress.
        .filter(|r| editor || r.is_published())
        .map(service::review_line)
        .collect();
    Ok(HttpResponse::Ok().json(list))
}

async fn load_review(state: &AppState, review_id: &str) -> Result<reviews::Review> {
    reviews::get(&state.db, review_id)
        .await?
        .ok_or_else(|| AppError::NotFound("没有这篇小结点评".into()))
}

/// Who reads a review, and how much of it.
enum Reader {
    /// The section's heads, its department head, the admin: every comment.
    Head(Section),
    /// A member of the section, or one it addresses: only their own comment.
    Member(Section),
}

async fn reader(
    state: &AppState,
    v: &Viewer,
    id: &Identity,
    r: &reviews::Review,
) -> Result<Reader> {
    let section = members::section(&state.db, &r.section_id)
        .await?
        .ok_or_else(|| AppError::NotFound("没有这个处室".into()))?;
    if v.can_edit(&section) || (v.can_view(&section) && r.is_published()) {
        return Ok(Reader::Head(section));
    }
    if r.is_published() {
        let mine = id.member.section_id.as_deref() == Some(r.section_id.as_str())
            || reviews::comment_to(&state.db, &r.id, &id.member.id)
                .await?
                .is_some();
        if mine {
            return Ok(Reader::Member(section));
        }
    }
    Err(AppError::Forbidden("无权查看这篇小结点评".into()))
}

async fn review_json(
    state: &AppState,
    v: &Viewer,
    section: &Section,
    r: &reviews::Review,
    id: &Identity,
) -> Result<Value> {
    let editor = v.can_edit(section);
    let head = editor || v.can_view(section);
    let stored = reviews::comments(&state.db, &r.id).await?;
    let comments: Vec<Value> = if head {
        // Every member of the section, with what was written to them (if anything), and
        // anyone written to who has since left it.
        let mut people: Vec<(String, String)> = members::list(&state.db, Some(&section.id))
            .await?
            .into_iter()
            .filter(|m| m.active == 1)
            .map(|m| (m.id, m.name))
            .collect();
        for c in &stored {
            if !people.iter().any(|(pid, _)| *pid == c.member_id)
                && let Some(m) = members::by_id(&state.db, &c.member_id).await?
            {
                people.push((m.id, m.name));
            }
        }
        people
            .into_iter()
            .map(|(mid, name)| {
                let c = stored.iter().find(|c| c.member_id == mid);
                json!({
                    "member_id": mid, "name": name,
                    "praise": c.map(|c| c.praise.clone()).unwrap_or_default(),
                    "improve": c.map(|c| c.improve.clone()).unwrap_or_default(),
                })
            })
            .filter(|c| !r.is_published() || c["praise"] != "" || c["improve"] != "")
            .collect()
    } else {
        stored
            .iter()
            .filter(|c| c.member_id == id.member.id)
            .map(|c| json!({"member_id": c.member_id, "name": id.member.name, "praise": c.praise, "improve": c.improve}))
            .collect()
    };
    let superseded_by: Option<String> = if r.superseded > 0 {
        reviews::of_section(&state.db, &section.id)
            .await?
            .into_iter()
            .filter(|n| n.series_id == r.series_id && n.is_published() && n.version > r.version)
            .max_by_key(|n| n.version)
            .map(|n| n.id)
    } else {
        None
    };
    let remarks: Vec<Value> = reviews::remarks(&state.db, &r.id)
        .await?
        .iter()
        .map(|k| json!({"id": k.id, "author": k.author, "body": k.body, "at": calendar::date_of(k.created_at)}))
        .collect();
    let facts: Value = serde_json::from_str(&r.facts).unwrap_or(Value::Null);
    let draft = !r.is_published();
    Ok(json!({
        "id": r.id, "series_id": r.series_id, "version": r.version, "status": r.status,
        "supersedes": r.supersedes, "superseded_by": superseded_by,
        "section": {"id": section.id, "name": section.name, "department": section.department},
        "from": calendar::date_of(r.period_start), "to": calendar::date_of(r.period_end - 1),
        "author": r.author, "created_at": calendar::date_of(r.created_at),
        "published_at": r.published_at.map(calendar::date_of),
        "body": r.body, "facts": if head { facts } else { Value::Null },
        "comments": comments, "remarks": remarks,
        "can_edit": editor && draft, "can_publish": editor && draft,
        "can_revise": editor && !draft && r.superseded == 0,
        "can_remark": v.can_remark(section) && !draft,
    }))
}

async fn get_review(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let r = load_review(&state, &path).await?;
    let v = viewer(&state, &id).await?;
    let (Reader::Head(section) | Reader::Member(section)) = reader(&state, &v, &id, &r).await?;
    Ok(HttpResponse::Ok().json(review_json(&state, &v, &section, &r, &id).await?))
}

/// The review, if the viewer may change it (a draft of a section they run).
async fn draft_of(
    state: &AppState,
    v: &Viewer,
    review_id: &str,
) -> Result<(reviews::Review, Section)> {
    let r = load_review(state, review_id).await?;
    let section = service::editable(&state.db, v, &r.section_id).await?;
    if r.is_published() {
        return Err(AppError::Conflict(
            "已发布的小结点评不能修改；如需更正，请生成新版本".into(),
        ));
    }
    Ok((r, section))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SaveReview {
    body: String,
    #[serde(default)]
    comments: Vec<reviews::Comment>,
}

const MAX_REVIEW_CHARS: usize = 20_000;
const MAX_COMMENT_CHARS: usize = 1_000;

async fn save_review(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
    body: web::Json<SaveReview>,
) -> Result<HttpResponse> {
    let v = viewer(&state, &id).await?;
    let (r, section) = draft_of(&state, &v, &path).await?;
    let b = body.into_inner();
    if b.body.trim().is_empty() {
        return Err(AppError::Unprocessable("小结点评正文不能为空".into()));
    }
    if b.body.chars().count() > MAX_REVIEW_CHARS {
        return Err(AppError::Unprocessable(format!(
            "小结点评正文最多 {MAX_REVIEW_CHARS} 字"
        )));
    }
    let allowed: Vec<String> = members::list(&state.db, Some(&section.id))
        .await?
        .into_iter()
        .map(|m| m.id)
        .collect();
    for (i, c) in b.comments.iter().enumerate() {
        if !allowed.contains(&c.member_id) {
            return Err(AppError::Unprocessable(format!(
                "第 {} 条个人点评：「{}」不是本处室成员",
                i + 1,
                c.member_id
            )));
        }
        if c.praise.chars().count() > MAX_COMMENT_CHARS
            || c.improve.chars().count() > MAX_COMMENT_CHARS
        {
            return Err(AppError::Unprocessable(format!(
                "第 {} 条个人点评超过 {MAX_COMMENT_CHARS} 字",
                i + 1
            )));
        }
    }
    if !reviews::save_draft(&state.db, &r.id, b.body.trim_end(), &b.comments).await? {
        return Err(AppError::Conflict("这篇小结点评已发布，不能修改".into()));
    }
    let r = load_review(&state, &r.id).await?;
    Ok(HttpResponse::Ok().json(review_json(&state, &v, &section, &r, &id).await?))
}

async fn publish_review(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let v = viewer(&state, &id).await?;
    let (r, section) = draft_of(&state, &v, &path).await?;
    if !reviews::publish(&state.db, &r.id).await? {
        return Err(AppError::Conflict("这篇小结点评已经发布".into()));
    }
    audit::record(
        &state.db,
        Some(&id.member.id),
        "review.publish",
        &r.id,
        json!({"section": section.id, "version": r.version}),
    )
    .await?;
    let r = load_review(&state, &r.id).await?;
    Ok(HttpResponse::Ok().json(review_json(&state, &v, &section, &r, &id).await?))
}

async fn revise_review(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let v = viewer(&state, &id).await?;
    let r = load_review(&state, &path).await?;
    let section = service::editable(&state.db, &v, &r.section_id).await?;
    if !r.is_published() {
        return Err(AppError::Conflict(
            "草稿可以直接修改，无需生成新版本".into(),
        ));
    }
    if r.superseded > 0 {
        return Err(AppError::Conflict(
            "已有更新的版本，请在最新版本上修订".into(),
        ));
    }
    let new_id = reviews::revise(&state.db, &r, &id.member.id).await?;
    audit::record(
        &state.db,
        Some(&id.member.id),
        "review.revise",
        &new_id,
        json!({"supersedes": r.id}),
    )
    .await?;
    let n = load_review(&state, &new_id).await?;
    Ok(HttpResponse::Created().json(review_json(&state, &v, &section, &n, &id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RemarkBody {
    body: String,
}

async fn add_remark(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
    body: web::Json<RemarkBody>,
) -> Result<HttpResponse> {
    let v = viewer(&state, &id).await?;
    let r = load_review(&state, &path).await?;
    let section = service::visible(&state.db, &v, &r.section_id).await?;
    if !v.can_remark(&section) {
        return Err(AppError::Forbidden(
            "只有司室负责同志和管理员可以点评处室的小结".into(),
        ));
    }
    if !r.is_published() {
        return Err(AppError::Conflict("只能点评已发布的小结".into()));
    }
    let text = body.body.trim();
    if text.is_empty() || text.chars().count() > 2_000 {
        return Err(AppError::Unprocessable("点评应为 1–2000 字".into()));
    }
    let remark = reviews::add_remark(&state.db, &r.id, &id.member.id, text).await?;
    audit::record(
        &state.db,
        Some(&id.member.id),
        "review.remark",
        &r.id,
        json!({"remark": remark}),
    )
    .await?;
    Ok(HttpResponse::Created().json(json!({ "id": remark })))
}

async fn my_reviews(state: web::Data<AppState>, id: Identity) -> Result<HttpResponse> {
    let list =
        reviews::for_member(&state.db, &id.member.id, id.member.section_id.as_deref()).await?;
    let mut out = Vec::new();
    for r in &list {
        let section = members::section(&state.db, &r.section_id).await?;
        let mine = reviews::comment_to(&state.db, &r.id, &id.member.id).await?;
        let remarks: Vec<Value> = reviews::remarks(&state.db, &r.id)
            .await?
            .iter()
            .map(|k| json!({"author": k.author, "body": k.body, "at": calendar::date_of(k.created_at)}))
            .collect();
        out.push(json!({
            "id": r.id, "section": section.map(|s| s.name),
            "from": calendar::date_of(r.period_start), "to": calendar::date_of(r.period_end - 1),
            "published_at": r.published_at.map(calendar::date_of), "version": r.version,
            "body": r.body,
            "my_comment": mine.map(|c| json!({"praise": c.praise, "improve": c.improve})),
            "remarks": remarks,
        }));
    }
    Ok(HttpResponse::Ok().json(out))
}

// ---- workbooks ----

fn xlsx(bytes: Vec<u8>, name: &str, span: Span) -> HttpResponse {
    let file = format!(
        "{name}-{}-{}.xlsx",
        calendar::iso(span.from),
        calendar::iso(span.last())
    );
    // A name with a slash would read as a path: none in a file name.
    let encoded = crate::auth::encode_component(&file.replace('/', "-"));
    HttpResponse::Ok()
        .content_type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"workbook.xlsx\"; filename*=UTF-8''{encoded}"),
        ))
        .body(bytes)
}

async fn section_workbook(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
    q: web::Query<PeriodQuery>,
) -> Result<HttpResponse> {
    let span = q.parse()?.span(service::today());
    let v = viewer(&state, &id).await?;
    let section = service::visible(&state.db, &v, &path).await?;
    let name = section.name.clone();
    let bytes = workbook::build(
        &state.db,
        workbook::Subject {
            scope: Scope::Section(&section.id),
            name: name.clone(),
            sections: vec![section.clone()],
        },
        span,
    )
    .await?;
    Ok(xlsx(bytes, &name, span))
}

async fn department_workbook(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
    q: web::Query<PeriodQuery>,
) -> Result<HttpResponse> {
    let span = q.parse()?.span(service::today());
    let v = viewer(&state, &id).await?;
    let name = members::department_name(&state.db, &path)
        .await?
        .ok_or_else(|| AppError::NotFound("没有这个司室".into()))?;
    if !v.can_view_department(&path) {
        return Err(AppError::Forbidden("只能导出本人负责的司室".into()));
    }
    let sections: Vec<Section> = members::sections(&state.db)
        .await?
        .into_iter()
        .filter(|s| s.department_id == *path)
        .collect();
    let bytes = workbook::build(
        &state.db,
        workbook::Subject {
            scope: Scope::Department(&path),
            name: name.clone(),
            sections,
        },
        span,
    )
    .await?;
    Ok(xlsx(bytes, &name, span))
}

async fn agency_workbook(
    state: web::Data<AppState>,
    id: Identity,
    q: web::Query<PeriodQuery>,
) -> Result<HttpResponse> {
    let span = q.parse()?.span(service::today());
    let v = viewer(&state, &id).await?;
    if !v.is_admin() {
        return Err(AppError::Forbidden("只有管理员可以导出全局工作簿".into()));
    }
    let name = settings::agency_name(&state.db).await?;
    let bytes = workbook::build(
        &state.db,
        workbook::Subject {
            scope: Scope::Agency,
            name: name.clone(),
            sections: members::sections(&state.db).await?,
        },
        span,
    )
    .await?;
    Ok(xlsx(bytes, &name, span))
}

// ---- pages ----

member_page!(SectionIndexPage, "section_index.html", section_index_page);
member_page!(SectionPage, "section.html", section_page);
member_page!(
    SectionReviewsPage,
    "section_reviews.html",
    section_reviews_page
);
member_page!(ReviewPage, "review.html", review_page);

struct PrintComment {
    name: String,
    praise: String,
    improve: String,
}

struct PrintRemark {
    author: String,
    body: String,
    date: String,
}

#[derive(Template)]
#[template(path = "review_print.html")]
struct ReviewPrint {
    id: String,
    agency: String,
    department: String,
    section: String,
    from: String,
    to: String,
    version: i64,
    author: String,
    published: String,
    draft: bool,
    paragraphs: Vec<String>,
    comments: Vec<PrintComment>,
    remarks: Vec<PrintRemark>,
}

/// The review as it is filed on paper (A4, print CSS): the agency's title, the text, the
/// comments to members, the department's remarks, signature lines.
async fn review_print(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: MaybeIdentity,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let Some(id) = id.0 else {
        return Ok(pages::login_redirect(&req));
    };
    let r = load_review(&state, &path).await?;
    let v = viewer(&state, &id).await?;
    let reader = reader(&state, &v, &id, &r).await?;
    let (Reader::Head(section) | Reader::Member(section)) = &reader;
    let json = review_json(&state, &v, section, &r, &id).await?;
    let comments = json["comments"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|c| c["praise"] != "" || c["improve"] != "")
        .map(|c| PrintComment {
            name: c["name"].as_str().unwrap_or_default().to_string(),
            praise: c["praise"].as_str().unwrap_or_default().to_string(),
            improve: c["improve"].as_str().unwrap_or_default().to_string(),
        })
        .collect();
    let remarks = reviews::remarks(&state.db, &r.id)
        .await?
        .into_iter()
        .map(|k| PrintRemark {
            author: k.author,
            body: k.body,
            date: calendar::date_of(k.created_at),
        })
        .collect();
    let page = ReviewPrint {
        id: r.id.clone(),
        agency: settings::agency_name(&state.db).await?,
        department: section.department.clone(),
        section: section.name.clone(),
        from: calendar::date_of(r.period_start),
        to: calendar::date_of(r.period_end - 1),
        version: r.version,
        author: r.author.clone(),
        published: r.published_at.map(calendar::date_of).unwrap_or_default(),
        draft: !r.is_published(),
        paragraphs: r
            .body
            .split('\n')
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect(),
        comments,
        remarks,
    };
    let html = page
        .render()
        .map_err(|e| AppError::Unexpected(anyhow::anyhow!("template: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(html))
}

#[derive(Template)]
#[template(path = "question.html")]
struct QuestionPage<'a> {
    t: crate::i18n::Messages<'a>,
    viewer: Option<pages::Viewer>,
    csrf: String,
    other_lang: &'static str,
    id: String,
    topic: String,
    kind: String,
    tags: String,
    stem: String,
    options: Vec<(char, String)>,
    answer: String,
    explanation: String,
    source: String,
    retired: bool,
    case: Option<crate::domain::question::CaseRef>,
}

/// A question with its answer, explanation and source, for the people who review or run
/// drills and competitions (answers stay with the server for everyone else).
async fn question_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: MaybeIdentity,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let Some(ident) = &id.0 else {
        return Ok(pages::login_redirect(&req));
    };
    let v = viewer(&state, ident).await?;
    if !v.reviews_anything() && ident.member.role() != crate::domain::Role::Host {
        return Err(AppError::Forbidden(
            "只有处室负责人、主持人和管理员可以查看题目解析".into(),
        ));
    }
    let c = questions::current(&state.db, &path)
        .await?
        .ok_or_else(|| AppError::NotFound("没有这道题".into()))?;
    let q = c.question;
    let (t, lang, remember) = pages::page_messages(&state, &req, "question.html");
    let (viewer, csrf) = pages::viewer_of(&id);
    let page = QuestionPage {
        other_lang: pages::other_lang(&t.lang),
        t,
        viewer,
        csrf,
        id: q.id.clone(),
        topic: q.topic.name_zh().to_string(),
        kind: q.kind.name_zh().to_string(),
        tags: q.tags.join("、"),
        options: q
            .options
            .iter()
            .enumerate()
            .map(|(i, o)| ((b'A' + i as u8) as char, o.clone()))
            .collect(),
        answer: q.answer.display(),
        stem: q.stem,
        explanation: q.explanation,
        source: q.source,
        retired: c.retired,
        case: q.case,
    };
    pages::render(page, &lang, remember)
}
