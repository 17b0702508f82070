//! Server-rendered pages (askama templates under `web/templates/`, checked at compile time).

use crate::auth::MaybeIdentity;
use crate::error::{AppError, Result};
use crate::i18n::{DEFAULT_LANG, Messages};
use crate::records::questions;
use crate::startup::AppState;
use actix_web::cookie::Cookie;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/login", web::get().to(login))
        .route("/account", web::get().to(account));
}

/// The page language: `?lang=` (remembered in a cookie), else the cookie, else Chinese.
fn language(req: &HttpRequest) -> (String, bool) {
    let from_query =
        web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
            .ok()
            .and_then(|q| q.get("lang").cloned());
    // Only languages there is a catalogue for: the choice goes into a cookie.
    match from_query.filter(|l| crate::i18n::LANGUAGES.contains(&l.as_str())) {
        Some(l) => (l, true),
        None => (
            req.cookie("lang")
                .map(|c| c.value().to_string())
                .unwrap_or_else(|| DEFAULT_LANG.to_string()),
            false,
        ),
    }
}

/// Templates whose whole text comes from the catalogues. Only these follow the language
/// choice and offer the switch; every other page is written in Chinese, and says so
/// (`lang="zh-CN"`, Chinese navigation) whatever language was chosen.
pub const TRANSLATED: &[&str] = &["home.html", "login.html", "account.html"];

/// The catalogue for a page of `template`, its language, and whether to remember the choice.
pub fn page_messages<'a>(
    state: &'a AppState,
    req: &HttpRequest,
    template: &str,
) -> (Messages<'a>, String, bool) {
    if !TRANSLATED.contains(&template) {
        return (
            state.i18n.messages(DEFAULT_LANG),
            DEFAULT_LANG.to_string(),
            false,
        );
    }
    let (lang, remember) = language(req);
    let mut t = state.i18n.messages(&lang);
    t.switchable = true;
    (t, lang, remember)
}

/// Who is looking, as the layout shows it: the navigation offers only what they may use.
pub struct Viewer {
    pub name: String,
    pub must_change_password: bool,
    pub role: crate::domain::Role,
}

impl Viewer {
    pub fn can_host(&self) -> bool {
        matches!(
            self.role,
            crate::domain::Role::Host | crate::domain::Role::Admin
        )
    }

    pub fn can_review(&self) -> bool {
        matches!(
            self.role,
            crate::domain::Role::SectionHead | crate::domain::Role::Admin
        )
    }

    pub fn is_admin(&self) -> bool {
        self.role == crate::domain::Role::Admin
    }
}

pub fn render(page: impl Template, lang: &str, remember: bool) -> Result<HttpResponse> {
    let html = page
        .render()
        .map_err(|e| AppError::Unexpected(anyhow::anyhow!("template: {e}")))?;
    let mut res = HttpResponse::Ok();
    res.content_type("text/html; charset=utf-8");
    if remember {
        res.cookie(Cookie::build("lang", lang.to_string()).path("/").finish());
    }
    Ok(res.body(html))
}

#[derive(Template)]
#[template(path = "home.html")]
struct Home<'a> {
    t: Messages<'a>,
    viewer: Option<Viewer>,
    csrf: String,
    questions: i64,
    other_lang: &'static str,
}

pub fn viewer_of(id: &MaybeIdentity) -> (Option<Viewer>, String) {
    match &id.0 {
        Some(i) => (
            Some(Viewer {
                name: i.member.name.clone(),
                must_change_password: i.member.must_change_password == 1,
                role: i.member.role(),
            }),
            i.csrf.clone(),
        ),
        None => (None, String::new()),
    }
}

pub fn other_lang(lang: &str) -> &'static str {
    if lang == "en" { "zh-CN" } else { "en" }
}

async fn home(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: MaybeIdentity,
) -> Result<HttpResponse> {
    let (t, lang, remember) = page_messages(&state, &req, "home.html");
    let (viewer, csrf) = viewer_of(&id);
    let page = Home {
        other_lang: other_lang(&t.lang),
        questions: questions::count_active(&state.db).await?,
        viewer,
        csrf,
        t,
    };
    render(page, &lang, remember)
}

#[derive(Template)]
#[template(path = "login.html")]
struct Login<'a> {
    t: Messages<'a>,
    viewer: Option<Viewer>,
    csrf: String,
    other_lang: &'static str,
}

async fn login(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse> {
    let (t, lang, remember) = page_messages(&state, &req, "login.html");
    let page = Login {
        other_lang: other_lang(&t.lang),
        viewer: None,
        csrf: String::new(),
        t,
    };
    render(page, &lang, remember)
}

/// A page for logged-in members that the server renders with only the layout's data (its
/// script fetches the rest): visitors are sent to log in first. With roles given, anyone else
/// gets the 403 page.
macro_rules! member_page {
    ($name:ident, $file:literal, $handler:ident $(, $role:expr)*) => {
        #[derive(askama::Template)]
        #[template(path = $file)]
        struct $name<'a> {
            t: $crate::i18n::Messages<'a>,
            viewer: Option<$crate::http::pages::Viewer>,
            csrf: String,
            other_lang: &'static str,
        }

        async fn $handler(
            state: actix_web::web::Data<$crate::startup::AppState>,
            req: actix_web::HttpRequest,
            id: $crate::auth::MaybeIdentity,
        ) -> $crate::error::Result<actix_web::HttpResponse> {
            use $crate::http::pages as p;
            let Some(who) = &id.0 else {
                return Ok(p::login_redirect(&req));
            };
            let roles: &[$crate::domain::Role] = &[$($role),*];
            if !roles.is_empty() {
                who.require(roles)?;
            }
            let (t, lang, remember) = p::page_messages(&state, &req, $file);
            let (viewer, csrf) = p::viewer_of(&id);
            p::render(
                $name {
                    other_lang: p::other_lang(&t.lang),
                    t,
                    viewer,
                    csrf,
                },
                &lang,
                remember,
            )
        }
    };
}
pub(crate) use member_page;

member_page!(Account, "account.html", account);

/// Sends a visitor to log in, and back to this page afterwards.
pub fn login_redirect(req: &HttpRequest) -> HttpResponse {
    let next = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    HttpResponse::SeeOther()
        .insert_header((
            "Location",
            format!("/login?next={}", crate::auth::encode_component(next)),
        ))
        .finish()
}
