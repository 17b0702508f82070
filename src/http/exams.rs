//! The exam round's JSON API (see docs/api.md, "Exam rounds").

use actix_web::web;

/// Routes under `/api`.
pub fn routes(_cfg: &mut web::ServiceConfig) {}
