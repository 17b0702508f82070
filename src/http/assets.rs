//! Static assets under `web/static/`, embedded in the binary.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "web/static/"]
struct Static;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/{path:.*}", web::get().to(serve))
        .route("/favicon.ico", web::get().to(favicon));
}

/// Browsers ask for `/favicon.ico` on pages without an icon link (JSON, files): the same icon
/// the pages link, rather than a 404 on every such load.
async fn favicon() -> Result<HttpResponse, crate::error::AppError> {
    file("favicon.svg")
}

async fn serve(path: web::Path<String>) -> Result<HttpResponse, crate::error::AppError> {
    file(&path)
}

fn file(path: &str) -> Result<HttpResponse, crate::error::AppError> {
    let file = Static::get(path)
        .ok_or_else(|| crate::error::AppError::NotFound(format!("没有静态文件 {path}")))?;
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, mime.as_ref()))
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(file.data.into_owned()))
}
