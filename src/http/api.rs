//! The JSON API of the foundation: health, metrics, login and accounts, and the
//! role-checked lists later capabilities build on.

use crate::accounts;
use crate::auth::{
    Identity, SESSION_COOKIE, SESSION_TTL_MS, check_new_password, hash_password, hash_token,
    random_token, verify_password,
};
use crate::domain::{Role, Topic};
use crate::error::{AppError, Result};
use crate::records::{audit, members, questions};
use crate::startup::AppState;
use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use std::time::Instant;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/metrics", web::get().to(metrics));
}

/// Routes under `/api`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/login", web::post().to(login))
        .route("/logout", web::post().to(logout))
        .route("/me", web::get().to(me))
        .route("/account/password", web::post().to(change_password))
        .route("/admin/members", web::get().to(admin_members))
        .route(
            "/admin/members/{id}/password-reset",
            web::post().to(admin_reset_password),
        )
        .route("/admin/audit", web::get().to(admin_audit))
        .route("/admin/settings", web::get().to(admin_settings))
        .route("/admin/settings", web::post().to(admin_save_settings))
        .route("/sections/{id}/members", web::get().to(section_members))
        .route("/questions", web::get().to(question_list));
}

#[tracing::instrument(skip(state))]
async fn healthz(state: web::Data<AppState>) -> Result<HttpResponse> {
    let counted = questions::count_active(&state.db).await;
    // Without the board the server still serves everything (ranks come from the records and
    // the rooms): degraded, not down. Without the database it serves nothing: down (503), so
    // a load balancer takes the instance out.
    let redis = state.board.unavailable();
    let mut problems: Vec<String> = redis
        .as_ref()
        .map(|reason| format!("Redis 不可用（排行榜由记录计算）：{reason}"))
        .into_iter()
        .collect();
    if let Err(e) = &counted {
        tracing::error!(
            error = format!("{e:#}"),
            "healthz: the database does not answer"
        );
        problems.insert(0, "数据库不可用".to_string());
    }
    let status = match (&counted, problems.is_empty()) {
        (Err(_), _) => "down",
        (Ok(_), true) => "ok",
        (Ok(_), false) => "degraded",
    };
    let body = json!({
        "status": status,
        "problems": problems,
        "instance": state.instance,
        "rooms": state.rooms.loaded().await,
        "relayed_rooms": state.rooms.relayed().await,
        "database": state.db.backend.name(),
        "board": state.board.name(),
        // What this instance reaches now: the records, and Redis (null: none configured).
        "sees": {
            "database": counted.is_ok(),
            "redis": (state.board.name() == "redis").then_some(redis.is_none()),
        },
        "questions": counted.as_ref().ok(),
    });
    Ok(match counted {
        Ok(_) => HttpResponse::Ok().json(body),
        Err(_) => HttpResponse::ServiceUnavailable().json(body),
    })
}

async fn metrics(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    if let Some(allowed) = &state.settings.metrics_allow {
        let peer = req.peer_addr().map(|a| a.ip());
        if !peer.is_some_and(|ip| allowed.contains(&ip)) {
            return HttpResponse::Forbidden().json(crate::error::body(
                "forbidden",
                "这个地址不能读取运行指标（--metrics-allow）",
            ));
        }
    }
    state
        .metrics
        .drills
        .active
        .set(state.drills.active() as i64);
    let m = &state.metrics;
    m.instance.with_label_values(&[&state.instance]).set(1);
    m.live_rooms
        .with_label_values(&["conducted"])
        .set(state.rooms.loaded().await as i64);
    m.live_rooms
        .with_label_values(&["relayed"])
        .set(state.rooms.relayed().await as i64);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render())
}

#[derive(Deserialize)]
struct LoginForm {
    staff_no: String,
    password: String,
}

fn member_json(m: &members::Member) -> serde_json::Value {
    json!({
        "id": m.id,
        "staff_no": m.staff_no,
        "name": m.name,
        "role": m.role,
        "section_id": m.section_id,
        "must_change_password": m.must_change_password == 1,
    })
}

#[tracing::instrument(skip(state, req, form), fields(staff_no = %form.staff_no))]
async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Json<LoginForm>,
) -> Result<HttpResponse> {
    let address = super::client_address(&req, &state.settings.trusted_proxy);
    let staff_no = form.staff_no.trim();
    let now = Instant::now();
    if let Err(retry_after) = state.limiter.check(staff_no, &address, now) {
        state.metrics.logins.with_label_values(&["limited"]).inc();
        return Err(AppError::TooManyRequests { retry_after });
    }
    let member = members::by_staff_no(&state.db, staff_no)
        .await?
        .filter(|m| m.active == 1);
    // An unknown or inactive staff number is checked against a stand-in hash, so it costs
    // the same argon2 time as a wrong password: timing does not tell which numbers exist.
    let hash = member.as_ref().and_then(|m| m.password_hash.clone());
    let has_hash = hash.is_some();
    let password = form.password.clone();
    // argon2 takes tens of milliseconds of CPU: keep it off the async workers.
    let verified = web::block(move || match &hash {
        Some(h) => verify_password(&password, h),
        None => verify_password(&password, crate::auth::stand_in_hash()),
    })
    .await
    .map_err(|e| anyhow::anyhow!("verify task: {e}"))?;
    let ok = verified && has_hash;
    let Some(member) = member.filter(|_| ok) else {
        state.limiter.failed(staff_no, &address, now);
        state.metrics.logins.with_label_values(&["failed"]).inc();
        return Err(AppError::Unprocessable("工号或密码错误".into()));
    };
    state.limiter.succeeded(staff_no, &address);
    state.metrics.logins.with_label_values(&["ok"]).inc();
    let token = random_token(32);
    let csrf = random_token(24);
    members::create_session(
        &state.db,
        &hash_token(&token),
        &member.id,
        &csrf,
        SESSION_TTL_MS,
    )
    .await?;
    let cookie = Cookie::build(SESSION_COOKIE, token)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.settings.secure_cookies)
        .max_age(CookieDuration::milliseconds(SESSION_TTL_MS))
        .finish();
    Ok(HttpResponse::Ok()
        .cookie(cookie)
        .json(json!({ "member": member_json(&member), "csrf": csrf })))
}

async fn logout(state: web::Data<AppState>, id: Identity) -> Result<HttpResponse> {
    members::delete_session(&state.db, &id.token_hash).await?;
    state.sessions.forget(&id.token_hash);
    let mut gone = Cookie::build(SESSION_COOKIE, "").path("/").finish();
    gone.make_removal();
    Ok(HttpResponse::Ok().cookie(gone).json(json!({ "ok": true })))
}

async fn me(state: web::Data<AppState>, id: Identity) -> Result<HttpResponse> {
    let heads = members::head_sections(&state.db, &id.member.id).await?;
    let mut body = member_json(&id.member);
    body["head_sections"] = json!(heads);
    body["head_departments"] = json!(members::head_departments(&state.db, &id.member.id).await?);
    body["csrf"] = json!(id.csrf);
    Ok(HttpResponse::Ok().json(body))
}

#[derive(Deserialize)]
struct PasswordForm {
    old_password: String,
    new_password: String,
}

async fn change_password(
    state: web::Data<AppState>,
    id: Identity,
    form: web::Json<PasswordForm>,
) -> Result<HttpResponse> {
    let hash = id.member.password_hash.clone().unwrap_or_default();
    let old = form.old_password.clone();
    let verified = web::block(move || verify_password(&old, &hash))
        .await
        .map_err(|e| anyhow::anyhow!("verify task: {e}"))?;
    if !verified {
        return Err(AppError::Unprocessable("原密码不正确".into()));
    }
    check_new_password(&form.new_password, &id.member.staff_no).map_err(AppError::Unprocessable)?;
    if form.new_password == form.old_password {
        return Err(AppError::Unprocessable("新密码不能与原密码相同".into()));
    }
    let new = form.new_password.clone();
    let new_hash = web::block(move || hash_password(&new))
        .await
        .map_err(|e| anyhow::anyhow!("hash task: {e}"))??;
    members::set_password(&state.db, &id.member.id, &new_hash, false).await?;
    members::delete_other_sessions(&state.db, &id.member.id, &id.token_hash).await?;
    state.sessions.forget_member(&id.member.id);
    audit::record(
        &state.db,
        Some(&id.member.id),
        "member.password_change",
        &id.member.id,
        json!({}),
    )
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "ok": true })))
}

async fn admin_members(state: web::Data<AppState>, id: Identity) -> Result<HttpResponse> {
    id.require(&[Role::Admin])?;
    Ok(HttpResponse::Ok().json(members::list(&state.db, None).await?))
}

async fn admin_reset_password(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    id.require(&[Role::Admin])?;
    let member = members::by_id(&state.db, &path)
        .await?
        .ok_or_else(|| AppError::NotFound("没有这个成员".into()))?;
    let password = accounts::reset_password(&state.db, &id.member.id, &member.id).await?;
    state.sessions.forget_member(&member.id);
    Ok(HttpResponse::Ok()
        .json(json!({ "staff_no": member.staff_no, "one_time_password": password })))
}

#[derive(Deserialize)]
struct Limit {
    limit: Option<i64>,
}

async fn admin_audit(
    state: web::Data<AppState>,
    id: Identity,
    q: web::Query<Limit>,
) -> Result<HttpResponse> {
    id.require(&[Role::Admin])?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    Ok(HttpResponse::Ok().json(audit::recent(&state.db, limit).await?))
}

async fn section_members(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let viewer = crate::section::Viewer::of(&state.db, &id.member).await?;
    crate::section::visible(&state.db, &viewer, &path).await?;
    Ok(HttpResponse::Ok().json(members::list(&state.db, Some(&path)).await?))
}

#[derive(Deserialize)]
struct QuestionFilter {
    topic: Option<String>,
}

/// Questions for pickers (hosts, admins): no answers, those stay with the server.
async fn question_list(
    state: web::Data<AppState>,
    id: Identity,
    q: web::Query<QuestionFilter>,
) -> Result<HttpResponse> {
    id.require(&[Role::Host])?;
    let topic = match q.topic.as_deref().filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => Some(
            Topic::parse(t)
                .ok_or_else(|| AppError::BadRequest(format!("未知分类「{t}」")))?
                .id(),
        ),
    };
    let list = questions::list_active(&state.db, topic).await?;
    let out: Vec<_> = list
        .iter()
        .map(|c| {
            json!({
                "id": c.question.id,
                "version": c.version,
                "topic": c.question.topic,
                "kind": c.question.kind,
                "difficulty": c.question.difficulty,
                "tags": c.question.tags,
                "stem": c.question.stem,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(out))
}

async fn admin_settings(state: web::Data<AppState>, id: Identity) -> Result<HttpResponse> {
    id.require(&[Role::Admin])?;
    Ok(HttpResponse::Ok().json(json!({
        "agency_name": crate::records::settings::agency_name(&state.db).await?,
        "public_url": state.settings.public_url,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsForm {
    agency_name: String,
}

/// The agency's name on print views, certificates and workbooks.
async fn admin_save_settings(
    state: web::Data<AppState>,
    id: Identity,
    form: web::Json<SettingsForm>,
) -> Result<HttpResponse> {
    id.require(&[Role::Admin])?;
    let name = form.agency_name.trim();
    if name.is_empty() || name.chars().count() > 40 || name.chars().any(char::is_control) {
        return Err(AppError::Unprocessable(
            "单位名称应为 1–40 个字，不含控制字符".into(),
        ));
    }
    let before = crate::records::settings::agency_name(&state.db).await?;
    crate::records::settings::set(&state.db, crate::records::settings::AGENCY_NAME, name).await?;
    audit::record(
        &state.db,
        Some(&id.member.id),
        "settings.agency_name",
        crate::records::settings::AGENCY_NAME,
        json!({"from": before, "to": name}),
    )
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "agency_name": name })))
}
