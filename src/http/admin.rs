//! The administrator's console (机关党委) over HTTP: roster import with a preview, login slips,
//! password resets, members, departments and sections, the audit log, competitions and
//! awards. Every API here is for admins only (`Identity::require(&[Role::Admin])`); the pages
//! are shells whose scripts fetch these APIs. The rules live in `crate::admin` and
//! `crate::roster`.

use crate::admin::{Console, Gone, Slip, audit as log, awards, members as people, org};
use crate::auth::{Identity, MaybeIdentity};
use crate::domain::Role;
use crate::error::{AppError, Result};
use crate::http::pages::{self, member_page};
use crate::records::{competitions, settings};
use crate::roster;
use crate::startup::AppState;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::LazyLock;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin", web::get().to(roster_page))
        .route("/admin/members", web::get().to(members_page))
        .route("/admin/org", web::get().to(org_page))
        .route("/admin/audit", web::get().to(audit_page))
        .route("/admin/awards", web::get().to(awards_page))
        .route("/admin/settings", web::get().to(settings_page))
        .route("/admin/slips/{id}", web::get().to(slips_page));
}

/// Routes under `/api`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/admin/roster/preview")
            .app_data(web::PayloadConfig::new(roster::MAX_FILE_BYTES))
            .route(web::post().to(preview)),
    )
    .route("/admin/roster/apply", web::post().to(apply))
    .route("/admin/slips/{id}.xlsx", web::get().to(slips_xlsx))
    .route("/admin/members/search", web::get().to(search))
    .route("/admin/members/{id}", web::get().to(member))
    .route("/admin/members/{id}", web::post().to(edit_member))
    .route("/admin/members/{id}/reset", web::post().to(reset))
    .route("/admin/org", web::get().to(org_overview))
    .route("/admin/departments", web::post().to(create_department))
    .route("/admin/departments/{id}", web::post().to(rename_department))
    .route("/admin/sections", web::post().to(create_section))
    .route("/admin/sections/{id}", web::post().to(rename_section))
    .route("/admin/sections/{id}/target", web::post().to(set_target))
    .route("/admin/sections/{id}/merge", web::post().to(merge))
    .route("/admin/audit/search", web::get().to(audit))
    .route("/admin/audit/export.xlsx", web::get().to(audit_xlsx))
    .route("/admin/competitions", web::get().to(competitions_list))
    .route("/admin/awards", web::get().to(awards_list));
}

/// Previews and login slips. One for the whole process, not per worker: `configure` runs
/// once per HTTP worker, and a preview made on one worker must be found by the apply that
/// lands on another.
static CONSOLE: LazyLock<Console> = LazyLock::new(Console::default);

fn admin(id: &Identity) -> Result<()> {
    id.require(&[Role::Admin])
}

fn preview_gone(g: Gone) -> AppError {
    match g {
        Gone::Expired => AppError::NotFound("名册预览已过期或已导入，请重新上传名册".into()),
        Gone::NotYours => AppError::Forbidden("这份名册预览不是您上传的".into()),
    }
}

fn slips_gone(g: Gone) -> AppError {
    match g {
        Gone::Expired => AppError::NotFound("已过期，请重置密码后重新打印".into()),
        Gone::NotYours => AppError::Forbidden("只有生成登录单的管理员可以查看".into()),
    }
}

// ---- roster ----

#[derive(Deserialize)]
struct PreviewQuery {
    name: String,
}

/// The file's bytes in, the plan out (nothing written); the plan is kept for 15 minutes.
async fn preview(
    state: web::Data<AppState>,
    id: Identity,
    q: web::Query<PreviewQuery>,
    body: web::Bytes,
) -> Result<HttpResponse> {
    admin(&id)?;
    let name = q.into_inner().name;
    let (entries, errors) = web::block(move || roster::parse_bytes(&body, &name))
        .await
        .map_err(|e| anyhow::anyhow!("roster parse task: {e}"))?
        .map_err(|e| AppError::Unprocessable(format!("{e:#}")))?;
    let plan = roster::plan(&state.db, entries, errors, Some(&id.member.id)).await?;
    let can_apply = plan.can_apply();
    let mut out = serde_json::to_value(&plan).map_err(anyhow::Error::from)?;
    out["token"] = json!(CONSOLE.keep_preview(&id.member.id, plan));
    out["can_apply"] = json!(can_apply);
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApplyBody {
    token: String,
    #[serde(default)]
    deactivate_missing: bool,
}

async fn apply(
    state: web::Data<AppState>,
    id: Identity,
    body: web::Json<ApplyBody>,
) -> Result<HttpResponse> {
    admin(&id)?;
    let plan = CONSOLE
        .preview(&id.member.id, &body.token)
        .map_err(preview_gone)?;
    if !plan.can_apply() {
        return Err(AppError::Unprocessable(format!(
            "名册还有 {} 处问题，修正后重新上传再导入",
            plan.errors.len()
        )));
    }
    let out = roster::apply(
        &state.db,
        &plan,
        Some(&id.member.id),
        body.deactivate_missing,
    )
    .await?;
    CONSOLE.forget_preview(&body.token);
    // Roles, sections and states may have changed for anyone.
    state.sessions.forget_all();
    let passwords: Vec<Slip> = out
        .passwords
        .iter()
        .map(|(staff_no, name, password)| Slip {
            staff_no: staff_no.clone(),
            name: name.clone(),
            password: password.clone(),
        })
        .collect();
    let slips =
        (!passwords.is_empty()).then(|| CONSOLE.keep_slips(&id.member.id, passwords.clone()));
    Ok(HttpResponse::Ok().json(json!({
        "applied": out, "passwords": passwords, "slips": slips,
    })))
}

// ---- login slips ----

fn login_url(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}/login", info.scheme(), info.host())
}

#[derive(Template)]
#[template(path = "admin_slips.html")]
struct SlipsPage {
    agency: String,
    login_url: String,
    /// Eight slips to an A4 page.
    pages: Vec<Vec<Slip>>,
    count: usize,
    gone: String,
}

async fn slips_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: MaybeIdentity,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let Some(id) = id.0 else {
        return Ok(pages::login_redirect(&req));
    };
    admin(&id)?;
    let (slips, gone, status) = match CONSOLE.slips(&id.member.id, &path) {
        Ok(s) => (s, String::new(), actix_web::http::StatusCode::OK),
        Err(g) => {
            let e = slips_gone(g);
            let status = actix_web::ResponseError::status_code(&e);
            (Vec::new(), e.to_string(), status)
        }
    };
    let page = SlipsPage {
        agency: settings::agency_name(&state.db).await?,
        login_url: login_url(&req),
        count: slips.len(),
        pages: slips.chunks(8).map(<[Slip]>::to_vec).collect(),
        gone,
    };
    let html = page
        .render()
        .map_err(|e| AppError::Unexpected(anyhow::anyhow!("template: {e}")))?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .body(html))
}

fn slips_workbook(slips: &[Slip], url: &str) -> anyhow::Result<Vec<u8>> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("登录单")?;
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for (c, (h, w)) in [
        ("姓名", 12),
        ("工号", 12),
        ("一次性密码", 18),
        ("登录地址", 40),
    ]
    .into_iter()
    .enumerate()
    {
        sheet.write_string_with_format(0, c as u16, h, &bold)?;
        sheet.set_column_width(c as u16, w)?;
    }
    for (r, s) in slips.iter().enumerate() {
        let r = (r + 1) as u32;
        sheet.write_string(r, 0, &s.name)?;
        sheet.write_string(r, 1, &s.staff_no)?;
        sheet.write_string(r, 2, &s.password)?;
        sheet.write_string(r, 3, url)?;
    }
    Ok(book.save_to_buffer()?)
}

fn xlsx(bytes: Vec<u8>, file: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{file}\""),
        ))
        .body(bytes)
}

async fn slips_xlsx(
    req: HttpRequest,
    id: Identity,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    admin(&id)?;
    let slips = CONSOLE.slips(&id.member.id, &path).map_err(slips_gone)?;
    Ok(xlsx(
        slips_workbook(&slips, &login_url(&req))?,
        "login-slips.xlsx",
    ))
}

/// A new one-time password for a member; their sessions end at once. Returns a set of one
/// login slip.
async fn reset(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    admin(&id)?;
    if *path == id.member.id {
        return Err(AppError::Unprocessable(
            "不能在这里重置自己的密码，请到“账户”页修改".into(),
        ));
    }
    let m = people::found(&state.db, &path)
        .await?
        .ok_or_else(|| AppError::NotFound("没有这个成员".into()))?;
    let password = crate::accounts::reset_password(&state.db, &id.member.id, &m.id).await?;
    sqlx::query("DELETE FROM sessions WHERE member_id = $1")
        .bind(&m.id)
        .execute(&state.db.pool)
        .await?;
    state.sessions.forget_member(&m.id);
    let slip = Slip {
        staff_no: m.staff_no.clone(),
        name: m.name.clone(),
        password: password.clone(),
    };
    let slips = CONSOLE.keep_slips(&id.member.id, vec![slip]);
    Ok(HttpResponse::Ok().json(json!({
        "staff_no": m.staff_no, "name": m.name, "password": password, "slips": slips,
    })))
}

// ---- members ----

async fn search(
    state: web::Data<AppState>,
    id: Identity,
    q: web::Query<people::Search>,
) -> Result<HttpResponse> {
    admin(&id)?;
    let found = people::search(&state.db, &q).await?;
    Ok(HttpResponse::Ok().json(json!({ "members": found, "limit": people::LIMIT })))
}

async fn member(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    admin(&id)?;
    Ok(HttpResponse::Ok().json(people::detail(&state.db, &path).await?))
}

async fn edit_member(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
    body: web::Json<people::Edit>,
) -> Result<HttpResponse> {
    admin(&id)?;
    let out = people::edit(&state.db, &id.member.id, &path, body.into_inner()).await?;
    if out.rights_changed {
        state.sessions.forget_member(&path);
    }
    let mut v = people::detail(&state.db, &path).await?;
    v["changes"] = json!(out.changes);
    Ok(HttpResponse::Ok().json(v))
}

// ---- organisation ----

async fn org_overview(state: web::Data<AppState>, id: Identity) -> Result<HttpResponse> {
    admin(&id)?;
    Ok(HttpResponse::Ok().json(org::overview(&state.db).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NameBody {
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSection {
    department_id: String,
    name: String,
}

async fn create_department(
    state: web::Data<AppState>,
    id: Identity,
    body: web::Json<NameBody>,
) -> Result<HttpResponse> {
    admin(&id)?;
    let new = org::create_department(&state.db, &id.member.id, &body.name).await?;
    Ok(HttpResponse::Created().json(json!({ "id": new })))
}

async fn rename_department(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
    body: web::Json<NameBody>,
) -> Result<HttpResponse> {
    admin(&id)?;
    org::rename_department(&state.db, &id.member.id, &path, &body.name).await?;
    Ok(HttpResponse::Ok().json(json!({ "id": *path })))
}

async fn create_section(
    state: web::Data<AppState>,
    id: Identity,
    body: web::Json<NewSection>,
) -> Result<HttpResponse> {
    admin(&id)?;
    let new =
        org::create_section(&state.db, &id.member.id, &body.department_id, &body.name).await?;
    Ok(HttpResponse::Created().json(json!({ "id": new })))
}

async fn rename_section(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
    body: web::Json<NameBody>,
) -> Result<HttpResponse> {
    admin(&id)?;
    org::rename_section(&state.db, &id.member.id, &path, &body.name).await?;
    Ok(HttpResponse::Ok().json(json!({ "id": *path })))
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
    admin(&id)?;
    org::set_target(&state.db, &id.member.id, &path, body.weekly_target).await?;
    Ok(HttpResponse::Ok().json(json!({ "weekly_target": body.weekly_target })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MergeBody {
    into: String,
}

async fn merge(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
    body: web::Json<MergeBody>,
) -> Result<HttpResponse> {
    admin(&id)?;
    let out = org::merge(&state.db, &id.member.id, &path, &body.into).await?;
    // Heads' scopes and members' sections changed.
    state.sessions.forget_all();
    Ok(HttpResponse::Ok().json(out))
}

// ---- audit log ----

async fn audit(
    state: web::Data<AppState>,
    id: Identity,
    q: web::Query<log::Filter>,
) -> Result<HttpResponse> {
    admin(&id)?;
    let lines = log::query(&state.db, &q).await?;
    let entries: Vec<Value> = lines
        .iter()
        .map(|l| {
            let mut v = serde_json::to_value(l).unwrap_or(Value::Null);
            v["when"] = json!(log::when(l.at));
            v
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "entries": entries, "limit": log::LIMIT })))
}

async fn audit_xlsx(
    state: web::Data<AppState>,
    id: Identity,
    q: web::Query<log::Filter>,
) -> Result<HttpResponse> {
    admin(&id)?;
    let lines = log::query(&state.db, &q).await?;
    let bytes = web::block(move || log::workbook(&lines))
        .await
        .map_err(|e| anyhow::anyhow!("audit workbook task: {e}"))??;
    Ok(xlsx(bytes, "audit-log.xlsx"))
}

// ---- competitions and awards ----

async fn competitions_list(state: web::Data<AppState>, id: Identity) -> Result<HttpResponse> {
    admin(&id)?;
    let list: Vec<Value> = competitions::list(&state.db, None)
        .await?
        .into_iter()
        .map(|c| {
            json!({
                "id": c.id, "title": c.title, "status": c.status, "pin": c.pin,
                "created": crate::domain::calendar::date_of(c.created_at),
                "players": c.players, "questions": c.questions,
                "report_xlsx": format!("/api/competitions/{}/report.xlsx", c.id),
                "report_csv": format!("/api/competitions/{}/report.csv", c.id),
                "console": format!("/host/{}", c.id),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(list))
}

async fn awards_list(state: web::Data<AppState>, id: Identity) -> Result<HttpResponse> {
    admin(&id)?;
    let list: Vec<Value> = awards::list(&state.db)
        .await?
        .into_iter()
        .map(|a| {
            let mut v = serde_json::to_value(&a).unwrap_or(Value::Null);
            v["date"] = json!(crate::domain::calendar::date_of(a.confirmed_at));
            v
        })
        .collect();
    Ok(HttpResponse::Ok().json(list))
}

// ---- pages ----

member_page!(
    AdminRosterPage,
    "admin.html",
    roster_page,
    crate::domain::Role::Admin
);
member_page!(
    AdminMembersPage,
    "admin_members.html",
    members_page,
    crate::domain::Role::Admin
);
member_page!(
    AdminOrgPage,
    "admin_org.html",
    org_page,
    crate::domain::Role::Admin
);
member_page!(
    AdminAuditPage,
    "admin_audit.html",
    audit_page,
    crate::domain::Role::Admin
);
member_page!(
    AdminAwardsPage,
    "admin_awards.html",
    awards_page,
    crate::domain::Role::Admin
);
member_page!(
    AdminSettingsPage,
    "admin_settings.html",
    settings_page,
    crate::domain::Role::Admin
);
