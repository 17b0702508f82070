//! HTTP: routes, pages and static assets. Each submodule exposes its own `configure`;
//! this module composes them and makes framework errors (bad JSON, bad path or query,
//! unknown route) answer in the same JSON shape as every other error.

mod api;
mod assets;
mod drills;
pub mod live;

mod pages;
mod sections;

use crate::error::AppError;
use crate::startup::AppState;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::{self, Next};
use actix_web::{HttpResponse, web};

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
                .wrap(middleware::from_fn(count_requests))
                .wrap(middleware::Compress::default())
                .service(
                    web::scope("/api")
                        .configure(api::routes)
                        .configure(live::routes)
                        .configure(drills::routes)
                        .configure(sections::routes),
                )
                .configure(api::configure)
                .configure(live::configure)
                .configure(drills::configure)
                .configure(sections::configure)
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
