//! HTTP: routes, pages and static assets. Each submodule exposes its own `configure`;
//! this module composes them and makes framework errors (bad JSON, bad path or query,
//! unknown route) answer in the same JSON shape as every other error.

mod admin;
mod api;
mod assets;
mod drills;
mod exam_pages;
mod exams;
pub mod live;

mod bank;
mod items;
mod pages;
mod sections;
mod stages;

use crate::error::AppError;
use crate::startup::AppState;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::{self, Next};
use actix_web::{HttpResponse, web};

/// A report as a download: `.xlsx` or `.csv`, named `{stem}.{ext}` (the ASCII name is
/// `{fallback}.{ext}`; a stem other than the fallback is sent UTF-8 encoded beside it).
pub(crate) fn spreadsheet(bytes: Vec<u8>, xlsx: bool, fallback: &str, stem: &str) -> HttpResponse {
    let (ext, mime) = if xlsx {
        (
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    } else {
        ("csv", "text/csv; charset=utf-8")
    };
    let mut disposition = format!("attachment; filename=\"{fallback}.{ext}\"");
    if stem != fallback {
        disposition.push_str(&format!(
            "; filename*=UTF-8''{}.{ext}",
            crate::auth::encode_component(stem)
        ));
    }
    HttpResponse::Ok()
        .content_type(mime)
        .insert_header(("Content-Disposition", disposition))
        .body(bytes)
}

/// The team devices' own listener (`--buzzer-bind`): the stage socket's team seat only.
pub fn configure_buzzer(cfg: &mut web::ServiceConfig, state: web::Data<AppState>) {
    cfg.app_data(state);
    stages::configure_buzzer(cfg);
}

pub fn configure(cfg: &mut web::ServiceConfig, state: web::Data<AppState>) {
    let gate = web::Data::new(crate::auth::Gate {
        db: state.db.clone(),
        sessions: state.sessions.clone(),
    });
    cfg.app_data(state)
        .app_data(gate)
        .app_data(
            web::JsonConfig::default()
                .limit(64 * 1024)
                .error_handler(|err, _| {
                    AppError::BadRequest(format!("请求体不是有效的 JSON：{err}")).into()
                }),
        )
        .app_data(
            web::PathConfig::default().error_handler(|err, _| {
                AppError::BadRequest(format!("路径参数无效：{err}")).into()
            }),
        )
        .app_data(
            web::QueryConfig::default().error_handler(|err, _| {
                AppError::BadRequest(format!("查询参数无效：{err}")).into()
            }),
        )
        .service(
            web::scope("")
                .wrap(middleware::from_fn(html_errors))
                .wrap(middleware::from_fn(security_headers))
                .wrap(middleware::from_fn(count_requests))
                .wrap(middleware::Compress::default())
                .service(
                    web::scope("/api")
                        .configure(api::routes)
                        .configure(live::routes)
                        .configure(drills::routes)
                        .configure(exams::routes)
                        .configure(stages::routes)
                        .configure(sections::routes)
                        .configure(items::routes)
                        .configure(bank::routes)
                        .configure(admin::routes)
                        .default_service(web::to(not_found)),
                )
                .configure(api::configure)
                .configure(live::configure)
                .configure(drills::configure)
                .configure(exam_pages::configure)
                .configure(stages::configure)
                .configure(sections::configure)
                .configure(items::configure)
                .configure(bank::configure)
                .configure(admin::configure)
                .configure(pages::configure)
                .configure(assets::configure)
                .default_service(web::to(not_found)),
        );
}

async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound("没有这个地址".into()))
}

async fn count_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let method = req.method().to_string();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let res = next.call(req).await?;
    if let Some(state) = state {
        state
            .metrics
            .http_requests
            .with_label_values(&[method.as_str(), res.status().as_str()])
            .inc();
    }
    Ok(res)
}

/// Pages answer a refusal (403) or a missing page (404) as a page in Chinese with a way back;
/// the JSON API, assets and the socket keep the JSON error.
async fn html_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let path = req.path();
    let page = !(path.starts_with("/api/")
        || path.starts_with("/static/")
        || path == "/ws"
        || path == "/healthz"
        || path == "/metrics");
    let res = next.call(req).await?;
    let status = res.status();
    let json = res
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !page || !json || !matches!(status.as_u16(), 403 | 404) {
        return Ok(res.map_into_boxed_body());
    }
    let (req, res) = res.into_parts();
    let body = actix_web::body::to_bytes(res.into_body())
        .await
        .unwrap_or_default();
    let message = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_string))
        .unwrap_or_default();
    let html = error_page(status.as_u16(), &message);
    Ok(ServiceResponse::new(
        req,
        HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(html),
    ))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn error_page(status: u16, message: &str) -> String {
    let (title, hint) = match status {
        403 => (
            "没有权限",
            "您当前的账号不能打开这个页面。如需使用，请联系机关党委管理员，或换一个账号登录。",
        ),
        _ => ("页面不存在", "这个地址没有内容，可能已被移动或输入有误。"),
    };
    format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · 比武</title><link rel=\"stylesheet\" href=\"/static/css/app.css\"></head>\
         <body><header class=\"bar\"><a class=\"brand\" href=\"/\">比武</a></header>\
         <main><section class=\"card narrow\" id=\"error-page\" data-status=\"{status}\">\
         <h1>{status} {title}</h1><p class=\"error\">{}</p><p>{hint}</p>\
         <p><a href=\"/\">返回首页</a> · <a href=\"/login\">换个账号登录</a></p>\
         </section></main></body></html>",
        escape(message)
    )
}

/// Scripts and styles only from this site (no inline script anywhere), no framing (the
/// projector page may be framed by pages of this site), no content sniffing, and no full
/// addresses sent to other sites.
async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    use actix_web::http::header::{HeaderName, HeaderValue};
    let screen = req.path().starts_with("/screen/");
    let mut res = next.call(req).await?;
    let frames = if screen { "'self'" } else { "'none'" };
    let csp = format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self' ws: wss:; object-src 'none'; base-uri 'self'; form-action 'self'; \
         frame-ancestors {frames}"
    );
    let headers = res.headers_mut();
    for (name, value) in [
        ("content-security-policy", csp.as_str()),
        (
            "x-frame-options",
            if screen { "SAMEORIGIN" } else { "DENY" },
        ),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "same-origin"),
    ] {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(HeaderName::from_static(name), v);
        }
    }
    Ok(res)
}

/// The address a request comes from: the connecting peer, unless the peer is one of the
/// configured trusted proxies — then the nearest address in `X-Forwarded-For` that is not
/// itself a trusted proxy (the proxies append; anything further left the client may forge).
pub fn client_address(req: &actix_web::HttpRequest, trusted: &[std::net::IpAddr]) -> String {
    let Some(peer) = req.peer_addr().map(|a| a.ip()) else {
        return String::new();
    };
    if !trusted.contains(&peer) {
        return peer.to_string();
    }
    let forwarded: Vec<std::net::IpAddr> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    forwarded
        .into_iter()
        .rev()
        .find(|a| !trusted.contains(a))
        .unwrap_or(peer)
        .to_string()
}
