//! The question bank in the administrator's console (`/admin/bank`): the bank check with every
//! problem (file, line, id), a browser of the questions in use with their answers,
//! explanations and sources, the bank as a spreadsheet, and a spreadsheet's import — checked
//! row by row against the bank first, then written, when every row is right, as new TOML files
//! in the bank folder (as `biwu bank import` does: the bank stays text that can be reviewed)
//! and synced into the records. The built-in bank is never written to.

use crate::auth::Identity;
use crate::bank::{self, sheet};
use crate::domain::{Kind, Role, Topic};
use crate::error::{AppError, Result};
use crate::http::pages::member_page;
use crate::records::questions;
use crate::startup::AppState;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/bank", web::get().to(bank_page));
}

/// Routes under `/api`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/bank/check", web::get().to(check))
        .route("/admin/bank/questions", web::get().to(browse))
        .route("/admin/bank/export.xlsx", web::get().to(export))
        .service(
            web::resource("/admin/bank/import-preview")
                .app_data(web::PayloadConfig::new(5 * 1024 * 1024))
                .route(web::post().to(import_preview)),
        )
        .service(
            web::resource("/admin/bank/import")
                .app_data(web::PayloadConfig::new(5 * 1024 * 1024))
                .route(web::post().to(import)),
        );
}

fn question_json(q: &crate::domain::Question) -> Value {
    json!({
        "id": q.id, "topic": q.topic, "topic_name": q.topic.name_zh(), "kind": q.kind,
        "kind_name": q.kind.name_zh(), "difficulty": q.difficulty, "tags": q.tags, "stem": q.stem,
        "options": q.options, "answer": q.answer.display(), "explanation": q.explanation,
        "source": q.source,
    })
}

async fn check(state: web::Data<AppState>, id: Identity) -> Result<HttpResponse> {
    id.require(&[Role::Admin])?;
    let dir = state.bank.dir.clone();
    let loaded = web::block(move || bank::load(&dir))
        .await
        .map_err(|e| anyhow::anyhow!("bank check: {e}"))?;
    let relative = |p: &std::path::Path| {
        p.strip_prefix(&state.bank.dir)
            .unwrap_or(p)
            .display()
            .to_string()
    };
    let mut topics = serde_json::Map::new();
    for t in Topic::ALL {
        topics.insert(
            t.name_zh().into(),
            json!(loaded.questions().filter(|q| q.topic == t).count()),
        );
    }
    let mut kinds = serde_json::Map::new();
    for k in Kind::ALL {
        kinds.insert(
            k.name_zh().into(),
            json!(loaded.questions().filter(|q| q.kind == k).count()),
        );
    }
    Ok(HttpResponse::Ok().json(json!({
        "questions": loaded.questions.len(),
        "by_topic": topics, "by_kind": kinds,
        "problems": loaded.problems.iter().map(|p| json!({
            "file": relative(&p.file), "line": p.line, "id": p.id, "message": p.message,
        })).collect::<Vec<_>>(),
    })))
}

#[derive(Deserialize)]
struct Filter {
    topic: Option<String>,
    kind: Option<String>,
    tag: Option<String>,
    difficulty: Option<u8>,
    q: Option<String>,
}

/// The questions in use, filtered; at most 200 shown, with the number that matched.
async fn browse(
    state: web::Data<AppState>,
    id: Identity,
    f: web::Query<Filter>,
) -> Result<HttpResponse> {
    id.require(&[Role::Admin])?;
    let topic = match f.topic.as_deref().filter(|t| !t.is_empty()) {
        Some(t) => {
            Some(Topic::parse(t).ok_or_else(|| AppError::BadRequest(format!("未知专题「{t}」")))?)
        }
        None => None,
    };
    let kind = match f.kind.as_deref().filter(|k| !k.is_empty()) {
        Some(k) => {
            Some(Kind::parse(k).ok_or_else(|| AppError::BadRequest(format!("未知题型「{k}」")))?)
        }
        None => None,
    };
    let text = f.q.as_deref().map(str::trim).unwrap_or("");
    let tag = f.tag.as_deref().map(str::trim).unwrap_or("");
    let all = questions::list_active(&state.db, topic.map(|t| t.id())).await?;
    let matched: Vec<&crate::domain::Question> = all
        .iter()
        .map(|c| &c.question)
        .filter(|q| kind.is_none_or(|k| q.kind == k))
        .filter(|q| f.difficulty.is_none_or(|d| q.difficulty == d))
        .filter(|q| tag.is_empty() || q.tags.iter().any(|t| t == tag))
        .filter(|q| {
            text.is_empty()
                || q.id.contains(text)
                || q.stem.contains(text)
                || q.options.iter().any(|o| o.contains(text))
                || q.explanation.contains(text)
                || q.source.contains(text)
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "matched": matched.len(),
        "questions": matched.iter().take(200).map(|q| question_json(q)).collect::<Vec<_>>(),
    })))
}

/// A scratch file for a spreadsheet in and out (the bank's readers and writers take paths).
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new(ext: &str) -> anyhow::Result<Scratch> {
        let dir = std::env::temp_dir().join(format!("biwu-sheet-{}", crate::records::new_id()));
        std::fs::create_dir_all(&dir)?;
        Ok(Scratch(dir.join(format!("bank.{ext}"))))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

async fn export(state: web::Data<AppState>, id: Identity) -> Result<HttpResponse> {
    id.require(&[Role::Admin])?;
    let list: Vec<_> = questions::list_active(&state.db, None)
        .await?
        .into_iter()
        .map(|c| c.question)
        .collect();
    let file = Scratch::new("xlsx")?;
    sheet::export(&file.0, &list)?;
    let bytes = std::fs::read(&file.0).map_err(anyhow::Error::from)?;
    Ok(HttpResponse::Ok()
        .content_type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        .insert_header((
            "Content-Disposition",
            "attachment; filename=\"bank.xlsx\"; filename*=UTF-8''%E9%A2%98%E5%BA%93.xlsx",
        ))
        .body(bytes))
}

#[derive(Deserialize)]
struct Upload {
    name: String,
}

/// A spreadsheet (the bank template) checked against the bank: the questions it would add and
/// every bad row with its number. Nothing is written.
async fn import_preview(
    state: web::Data<AppState>,
    id: Identity,
    q: web::Query<Upload>,
    body: web::Bytes,
) -> Result<HttpResponse> {
    id.require(&[Role::Admin])?;
    let import = checked(&state, &q.name, &body).await?;
    Ok(HttpResponse::Ok().json(json!({
        "questions": import.questions.iter().map(question_json).collect::<Vec<_>>(),
        "errors": import.errors.iter().map(|e| json!({"row": e.row, "message": e.message})).collect::<Vec<_>>(),
        "command": format!("biwu bank import {}", q.name),
        "can_import": import.errors.is_empty() && !import.questions.is_empty() && !state.bank.builtin,
        "builtin": state.bank.builtin,
    })))
}

/// Writes a spreadsheet's questions into the bank folder when every row is right, then syncs
/// the bank into the records so they can be drawn at once.
async fn import(
    state: web::Data<AppState>,
    id: Identity,
    q: web::Query<Upload>,
    body: web::Bytes,
) -> Result<HttpResponse> {
    id.require(&[Role::Admin])?;
    if state.bank.builtin {
        return Err(AppError::Conflict(
            "正在使用内置题库，不能写入：请用 --bank-dir 指定一个题库目录（可复制随程序提供的 question-bank 目录）后重启".into(),
        ));
    }
    let import = checked(&state, &q.name, &body).await?;
    if !import.errors.is_empty() {
        return Err(AppError::Unprocessable(format!(
            "{} 处问题，未导入任何题目：请修正后重新上传",
            import.errors.len()
        )));
    }
    if import.questions.is_empty() {
        return Err(AppError::Unprocessable("表格中没有题目".into()));
    }
    let stem = q
        .name
        .rsplit_once('.')
        .map(|(s, _)| s)
        .unwrap_or(&q.name)
        .to_string();
    let dir = state.bank.dir.clone();
    let new = import.questions.clone();
    let (files, loaded) = web::block(
        move || -> anyhow::Result<(Vec<(std::path::PathBuf, usize)>, bank::Bank)> {
            let files = sheet::write_into(&dir, &stem, &new)?;
            Ok((files, bank::load(&dir)))
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("import: {e}"))??;
    if !loaded.is_valid() {
        // What was just written broke the bank: take it back out, so the bank stays loadable.
        for (path, _) in &files {
            let _ = std::fs::remove_file(path);
        }
        return Err(AppError::Unprocessable(format!(
            "导入后题库检查未通过，已撤回：{}",
            loaded
                .problems
                .first()
                .map(|p| p.to_string())
                .unwrap_or_default()
        )));
    }
    let all: Vec<_> = loaded.questions().cloned().collect();
    let sync = questions::sync(&state.db, &all).await?;
    state
        .metrics
        .questions_active
        .set(questions::count_active(&state.db).await?);
    let relative: Vec<String> = files
        .iter()
        .map(|(p, n)| {
            format!(
                "{}（{n} 道）",
                p.strip_prefix(&state.bank.dir).unwrap_or(p).display()
            )
        })
        .collect();
    crate::records::audit::record(
        &state.db,
        Some(&id.member.id),
        "bank.import",
        &q.name,
        json!({"files": relative, "ids": import.questions.iter().map(|q| q.id.clone()).collect::<Vec<_>>()}),
    )
    .await?;
    Ok(HttpResponse::Ok().json(json!({
        "imported": import.questions.len(), "files": relative, "added": sync.added,
    })))
}

/// A spreadsheet upload checked against the bank in use.
async fn checked(state: &AppState, name: &str, body: &[u8]) -> Result<sheet::Import> {
    let ext = name.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    if !matches!(ext.as_str(), "xlsx" | "csv") {
        return Err(AppError::BadRequest(format!(
            "「{name}」不是 .xlsx 或 .csv 文件"
        )));
    }
    if body.is_empty() {
        return Err(AppError::BadRequest("文件为空".into()));
    }
    let file = Scratch::new(&ext)?;
    std::fs::write(&file.0, body).map_err(anyhow::Error::from)?;
    let dir = state.bank.dir.clone();
    let path = file.0.clone();
    let result = web::block(move || -> anyhow::Result<sheet::Import> {
        let existing = bank::load(&dir);
        let vocabulary = bank::Vocabulary::for_dir(&dir).map_err(anyhow::Error::msg)?;
        let current: Vec<_> = existing.questions().cloned().collect();
        sheet::import(&path, &vocabulary, &current)
    })
    .await
    .map_err(|e| anyhow::anyhow!("import: {e}"))?;
    result.map_err(|e| {
        // The file itself is unreadable or lacks columns: say so, naming the upload.
        AppError::Unprocessable(e.to_string().replace(&file.0.display().to_string(), name))
    })
}

member_page!(
    BankPage,
    "admin_bank.html",
    bank_page,
    crate::domain::Role::Admin
);
