//! Exam pages: `/exams` (a member's exams; hosts create and follow them), `/exam/{id}`
//! (taking an exam on a phone) and `/host/exams/{id}` (progress, results, finalists, awards).
//! The server renders only the layout and the exam's id; each page's script reads the rest
//! from the exam API (docs/api.md, "Exam rounds").

use crate::auth::MaybeIdentity;
use crate::domain::Role;
use crate::error::{AppError, Result};
use crate::http::pages::{self as p, Viewer, member_page};
use crate::i18n::Messages;
use crate::records::exams as rec;
use crate::startup::AppState;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/exams", web::get().to(exams_page))
        .route("/exam/{id}", web::get().to(exam_page))
        .route("/host/exams/{id}", web::get().to(host_page));
}

member_page!(ExamsPage, "exams.html", exams_page);

#[derive(Template)]
#[template(path = "exam.html")]
struct ExamPage<'a> {
    t: Messages<'a>,
    viewer: Option<Viewer>,
    csrf: String,
    other_lang: &'static str,
    exam_id: String,
}

#[derive(Template)]
#[template(path = "exam_host.html")]
struct ExamHostPage<'a> {
    t: Messages<'a>,
    viewer: Option<Viewer>,
    csrf: String,
    other_lang: &'static str,
    exam_id: String,
}

/// The exam of the path, or the 404 page.
async fn existing(state: &AppState, id: &str) -> Result<String> {
    match rec::by_id(&state.db, id).await? {
        Some(e) => Ok(e.id),
        None => Err(AppError::NotFound("没有这场考试".into())),
    }
}

/// Taking an exam: any logged-in member may open the page; whether they may take the exam is
/// the API's answer (a member out of scope is told so on the page).
async fn exam_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: MaybeIdentity,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    if id.0.is_none() {
        return Ok(p::login_redirect(&req));
    }
    let exam_id = existing(&state, &path).await?;
    let (t, lang, remember) = p::page_messages(&state, &req, "exam.html");
    let (viewer, csrf) = p::viewer_of(&id);
    p::render(
        ExamPage {
            other_lang: p::other_lang(&t.lang),
            t,
            viewer,
            csrf,
            exam_id,
        },
        &lang,
        remember,
    )
}

/// Following an exam: hosts and admins only.
async fn host_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: MaybeIdentity,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let Some(who) = &id.0 else {
        return Ok(p::login_redirect(&req));
    };
    who.require(&[Role::Host])?;
    let exam_id = existing(&state, &path).await?;
    let (t, lang, remember) = p::page_messages(&state, &req, "exam_host.html");
    let (viewer, csrf) = p::viewer_of(&id);
    p::render(
        ExamHostPage {
            other_lang: p::other_lang(&t.lang),
            t,
            viewer,
            csrf,
            exam_id,
        },
        &lang,
        remember,
    )
}
