//! Exam pages: `/exams` (a member's exams; hosts create and follow them), `/exam/{id}`
//! (taking an exam on a phone) and `/host/exams/{id}` (progress, results, finalists, awards).

use actix_web::web;

pub fn configure(_cfg: &mut web::ServiceConfig) {}
