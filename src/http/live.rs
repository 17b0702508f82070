//! Live competitions over HTTP: setup, the join QR code, the report, the honour roll, the
//! WebSocket upgrade, and the pages of host, projector and phone.

use crate::auth::{Identity, MaybeIdentity};
use crate::domain::competition::{self, AwardRule, Settings};
use crate::domain::{Role, Topic};
use crate::error::{AppError, Result};
use crate::http::pages::{Viewer, login_redirect, other_lang, render, viewer_of};
use crate::i18n::Messages;
use crate::live::report;
use crate::records::{audit, competitions as rec, questions};
use crate::startup::AppState;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use rand::RngExt;
use serde::Deserialize;
use serde_json::json;

mod teams;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/ws", web::get().to(ws))
        .route("/host", web::get().to(host_page))
        .route("/host/{id}", web::get().to(console_page))
        .route("/screen/{id}", web::get().to(screen_page))
        .route("/play", web::get().to(play_page))
        .route("/honors", web::get().to(honors_page))
        .route("/awards/{id}/certificate", web::get().to(certificate))
        .route("/awards/{id}/certificate", web::get().to(certificate));
}

/// Routes under `/api`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/competitions", web::post().to(create))
        .route("/competitions", web::get().to(list))
        .route("/competitions/{id}", web::get().to(detail))
        .route("/competitions/{id}/qr.svg", web::get().to(qr))
        .route(
            "/competitions/{id}/questions/{position}",
            web::post().to(swap_question),
        )
        .route(
            "/competitions/{id}/report.{ext}",
            web::get().to(report_file),
        )
        .route("/competitions/{id}/teams", web::put().to(teams::put_teams))
        .route("/competitions/{id}/teams", web::get().to(teams::get_teams))
        .route("/honors", web::get().to(honors_json))
        .route("/awards/{id}/revoke", web::post().to(revoke))
        .route("/team-awards", web::get().to(teams::team_awards))
        .route("/team-awards/{id}/revoke", web::post().to(teams::revoke));
}

/// The base of links printed on the projector: the configured public URL, else
/// `http(s)://host` as the browser reached us.
fn base_url(state: &AppState, req: &HttpRequest) -> String {
    if let Some(url) = &state.settings.public_url {
        return url.clone();
    }
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

/// Whether a browser's `Origin` is this site: the host the request came to, or the public URL.
/// A browser page of another site may not open a socket with this site's cookie.
pub(super) fn check_origin(state: &AppState, req: &HttpRequest) -> Result<()> {
    if let Some(origin) = req.headers().get("origin") {
        let origin = origin.to_str().unwrap_or("");
        if !same_origin(state, req, origin) {
            return Err(AppError::Forbidden(format!("不接受来自 {origin} 的连接")));
        }
    }
    Ok(())
}

fn same_origin(state: &AppState, req: &HttpRequest, origin: &str) -> bool {
    let host_of = |url: &str| {
        url.split("://")
            .nth(1)
            .unwrap_or("")
            .split('/')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase()
    };
    let theirs = host_of(origin);
    if theirs.is_empty() {
        return false;
    }
    theirs == req.connection_info().host().to_ascii_lowercase()
        || state
            .settings
            .public_url
            .as_deref()
            .is_some_and(|u| host_of(u) == theirs)
}

/// What to tell a host whose join links would only work on this machine.
fn loopback_warning(base: &str) -> Option<String> {
    crate::config::is_loopback(base).then(|| {
        format!(
            "加入链接指向本机地址（{base}），手机无法打开：请用 --public-url 设置手机可访问的地址，或从局域网地址打开本页"
        )
    })
}

async fn ws(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
    id: MaybeIdentity,
) -> Result<HttpResponse, actix_web::Error> {
    check_origin(&state, &req)?;
    let (res, session, stream) = actix_ws::handle(&req, body)?;
    let door = crate::live::session::Door {
        base_url: base_url(&state, &req),
        client_address: super::client_address(&req, &state.settings.trusted_proxy),
    };
    crate::live::session::run(state.rooms.clone(), id.0, door, session, stream);
    Ok(res)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewCompetition {
    title: String,
    #[serde(default)]
    topics: Vec<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    difficulty: Vec<u8>,
    #[serde(default)]
    question_ids: Vec<String>,
    #[serde(default = "default_count")]
    count: usize,
    time_limit_s: u32,
    #[serde(default = "default_points")]
    base_points: i64,
    #[serde(default = "yes")]
    speed_bonus: bool,
    #[serde(default)]
    streak_bonus: bool,
    #[serde(default)]
    guests_allowed: bool,
    #[serde(default = "default_max_guests")]
    max_guests: u32,
    award_rule: AwardRule,
    /// Team standings beside the individual ones (none by default).
    #[serde(default)]
    teams: crate::domain::teams::TeamRule,
    /// For reproducing a draw; random when absent.
    #[serde(default)]
    seed: Option<u64>,
}

/// Competitions a host may have open (not ended) at once; admins are not limited.
pub const MAX_OPEN_PER_HOST: i64 = 20;

fn default_max_guests() -> u32 {
    crate::domain::competition::DEFAULT_MAX_GUESTS
}

fn default_count() -> usize {
    10
}
fn default_points() -> i64 {
    1000
}
fn yes() -> bool {
    true
}

#[tracing::instrument(skip(state, id, body), fields(title = %body.title))]
async fn create(
    state: web::Data<AppState>,
    id: Identity,
    body: web::Json<NewCompetition>,
) -> Result<HttpResponse> {
    id.require(&[Role::Host])?;
    let b = body.into_inner();
    let title = b.title.trim();
    if title.is_empty() || title.chars().count() > 60 {
        return Err(AppError::Unprocessable("标题应为 1–60 个字".into()));
    }
    let mut topics = Vec::new();
    for t in &b.topics {
        topics.push(
            Topic::parse(t).ok_or_else(|| AppError::Unprocessable(format!("未知分类「{t}」")))?,
        );
    }
    if b.difficulty.iter().any(|d| !(1..=3).contains(d)) {
        return Err(AppError::Unprocessable("难度应为 1–3".into()));
    }
    if !(1..=100_000).contains(&b.max_guests) {
        return Err(AppError::Unprocessable("访客人数上限应为 1–100000".into()));
    }
    if !(1..=200).contains(&b.count) {
        return Err(AppError::Unprocessable("题目数量应为 1–200".into()));
    }
    let settings = Settings {
        time_limit_s: b.time_limit_s,
        base_points: b.base_points,
        speed_bonus: b.speed_bonus,
        streak_bonus: b.streak_bonus,
        guests_allowed: b.guests_allowed,
        max_guests: b.max_guests,
        award_rule: b.award_rule,
        topics: topics.clone(),
        tags: b.tags.clone(),
        difficulty: b.difficulty.clone(),
        teams: b.teams,
        entrants: None,
    };
    settings.check().map_err(AppError::Unprocessable)?;
    let pool = questions::list_active(&state.db, None).await?;
    let seed = b.seed.unwrap_or_else(|| rand::rng().random::<u64>() >> 1);
    let picked: Vec<&questions::Current> = if b.question_ids.is_empty() {
        let qs: Vec<crate::domain::Question> = pool.iter().map(|c| c.question.clone()).collect();
        let drawn = competition::draw(&qs, &topics, &b.tags, &b.difficulty, b.count, seed);
        drawn
            .iter()
            .filter_map(|q| pool.iter().find(|c| c.question.id == q.id))
            .collect()
    } else {
        let mut v = Vec::new();
        for qid in &b.question_ids {
            v.push(
                pool.iter()
                    .find(|c| &c.question.id == qid)
                    .ok_or_else(|| AppError::Unprocessable(format!("题目 {qid} 不存在或已停用")))?,
            );
        }
        v
    };
    if picked.is_empty() {
        return Err(AppError::Unprocessable("没有符合条件的题目".into()));
    }
    // Each open room holds memory and a PIN: a host keeps a bounded number open.
    if id.role() != Role::Admin {
        let open = rec::open_of(&state.db, &id.member.id).await?;
        if open >= MAX_OPEN_PER_HOST {
            return Err(AppError::Unprocessable(format!(
                "您已有 {open} 场未结束的比武（上限 {MAX_OPEN_PER_HOST} 场）：请先在主持台结束不再使用的比武"
            )));
        }
    }
    let limit_ms = i64::from(settings.time_limit_s) * 1000;
    let Some(pin) = rec::free_pin(&state.db).await? else {
        return Err(AppError::Conflict("暂时无法分配 PIN，请稍后再试".into()));
    };
    let comp_id = rec::create(
        &state.db,
        rec::NewCompetition {
            title,
            pin: &pin,
            settings: serde_json::to_string(&settings).map_err(anyhow::Error::from)?,
            seed: seed as i64,
            created_by: &id.member.id,
            questions: picked
                .iter()
                .map(|c| (c.question.id.clone(), c.version.clone(), limit_ms))
                .collect(),
        },
    )
    .await?;
    audit::record(
        &state.db,
        Some(&id.member.id),
        "competition.create",
        &comp_id,
        json!({ "seed": seed, "questions": picked.len() }),
    )
    .await?;
    Ok(HttpResponse::Created().json(json!({
        "id": comp_id, "pin": pin, "title": title, "seed": seed, "questions": picked.len(),
    })))
}

async fn owned(state: &AppState, id: &Identity, comp_id: &str) -> Result<rec::Competition> {
    id.require(&[Role::Host])?;
    let c = rec::by_id(&state.db, comp_id)
        .await?
        .ok_or_else(|| AppError::NotFound("没有这场比武".into()))?;
    if id.role() != Role::Admin && c.created_by != id.member.id {
        return Err(AppError::Forbidden("只能管理自己创建的比武".into()));
    }
    Ok(c)
}

async fn list(state: web::Data<AppState>, id: Identity) -> Result<HttpResponse> {
    id.require(&[Role::Host])?;
    let mine = (id.role() != Role::Admin).then_some(id.member.id.as_str());
    Ok(HttpResponse::Ok().json(rec::list(&state.db, mine).await?))
}

async fn detail(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let c = owned(&state, &id, &path).await?;
    let qs = rec::questions(&state.db, &c.id).await?;
    let settings: serde_json::Value =
        serde_json::from_str(&c.settings).map_err(anyhow::Error::from)?;
    Ok(HttpResponse::Ok().json(json!({
        "id": c.id, "title": c.title, "pin": c.pin, "status": c.status, "phase": c.phase,
        "seed": c.seed, "settings": settings, "questions": qs.len(),
        "join_url": format!("{}/play?pin={}", base_url(&state, &req), c.pin),
        "join_warning": loopback_warning(&base_url(&state, &req)),
        "question_list": question_list(&qs),
    })))
}

/// The drawn questions as the host sees them before and during the game (never the answers
/// beyond what the host console shows anyway).
fn question_list(qs: &[rec::Asked]) -> Vec<serde_json::Value> {
    qs.iter()
        .map(|a| {
            json!({
                "position": a.position, "id": a.question.id, "version": a.version,
                "kind": a.question.kind, "topic": a.question.topic, "stem": a.question.stem,
                "case": a.question.case_view(), "voided": a.voided,
            })
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SwapRequest {
    /// The question to put in; absent: another random draw by the competition's settings.
    #[serde(default)]
    question_id: Option<String>,
}

/// Replaces one drawn question before the game starts, by a given id or by another random
/// draw from the competition's topics, tags and difficulty (never a question already in the
/// draw, nor one of a family another position asks; a question given by id is the host's
/// choice and is taken as given). Creator or admin only; refused once the game has started.
#[tracing::instrument(skip(state, id, body))]
async fn swap_question(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<(String, u32)>,
    body: web::Json<SwapRequest>,
) -> Result<HttpResponse> {
    let (comp_id, position) = path.into_inner();
    let c = owned(&state, &id, &comp_id).await?;
    if c.status != "lobby" {
        return Err(draw_locked());
    }
    let drawn = rec::questions(&state.db, &c.id).await?;
    let old = drawn
        .iter()
        .find(|a| a.position == position)
        .ok_or_else(|| AppError::NotFound(format!("本场比武没有第 {} 题", position + 1)))?;
    let pool = questions::list_active(&state.db, None).await?;
    let taken = |qid: &str| drawn.iter().any(|a| a.question.id == qid);
    let new = match body.question_id.as_deref().map(str::trim) {
        Some(qid) if !qid.is_empty() => {
            if taken(qid) {
                return Err(AppError::Unprocessable(format!(
                    "题目 {qid} 已在本场题目中"
                )));
            }
            pool.iter()
                .find(|c| c.question.id == qid)
                .ok_or_else(|| AppError::Unprocessable(format!("题目 {qid} 不存在或已停用")))?
        }
        _ => {
            let settings: Settings =
                serde_json::from_str(&c.settings).map_err(anyhow::Error::from)?;
            let free: Vec<crate::domain::Question> = pool
                .iter()
                .filter(|c| !taken(&c.question.id))
                .map(|c| c.question.clone())
                .collect();
            let seed = rand::rng().random::<u64>() >> 1;
            // Not a second question on a fact another position already asks.
            let kept: Vec<&str> = drawn
                .iter()
                .filter(|a| a.position != position)
                .filter_map(|a| a.question.family_key())
                .collect();
            let free: Vec<crate::domain::Question> = free
                .into_iter()
                .filter(|q| q.family_key().is_none_or(|f| !kept.contains(&f)))
                .collect();
            let pick = competition::draw(
                &free,
                &settings.topics,
                &settings.tags,
                &settings.difficulty,
                1,
                seed,
            );
            let qid = pick.first().map(|q| q.id.clone()).ok_or_else(|| {
                AppError::Unprocessable("题库中没有其他符合本场条件的题目可换".into())
            })?;
            pool.iter()
                .find(|c| c.question.id == qid)
                .expect("drawn from the pool")
        }
    };
    match rec::swap_question(&state.db, &c.id, position, &new.question.id, &new.version).await? {
        rec::Swap::Swapped => {}
        rec::Swap::Locked => return Err(draw_locked()),
        rec::Swap::NoSuchPosition => {
            return Err(AppError::NotFound(format!(
                "本场比武没有第 {} 题",
                position + 1
            )));
        }
    }
    audit::record(
        &state.db,
        Some(&id.member.id),
        "competition.swap_question",
        &c.id,
        json!({ "position": position, "from": old.question.id, "to": new.question.id }),
    )
    .await?;
    let qs = rec::questions(&state.db, &c.id).await?;
    Ok(HttpResponse::Ok().json(json!({ "question_list": question_list(&qs) })))
}

fn draw_locked() -> AppError {
    AppError::Conflict("比武已经开始，题目已锁定，不能再更换".into())
}

async fn qr(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse> {
    id.require(&[Role::Host])?;
    let c = rec::by_id(&state.db, &path)
        .await?
        .ok_or_else(|| AppError::NotFound("没有这场比武".into()))?;
    pin_qr(&state, &req, &c.pin)
}

/// The QR code of the play page with a PIN (a live competition's, or a final's audience's).
pub(super) fn pin_qr(state: &AppState, req: &HttpRequest, pin: &str) -> Result<HttpResponse> {
    let url = format!("{}/play?pin={pin}", base_url(state, req));
    let code = qrcode::QrCode::new(url.as_bytes()).map_err(|e| anyhow::anyhow!("qr: {e}"))?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(320, 320)
        .quiet_zone(true)
        .build();
    Ok(HttpResponse::Ok().content_type("image/svg+xml").body(svg))
}

async fn report_file(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (comp_id, ext) = path.into_inner();
    let xlsx = match ext.as_str() {
        "xlsx" => true,
        "csv" => false,
        _ => return Err(AppError::NotFound("报表格式应为 xlsx 或 csv".into())),
    };
    let c = owned(&state, &id, &comp_id).await?;
    let r = report::build(&state.db, &c.id).await?;
    let bytes = web::block(move || report::to_bytes(&r, xlsx))
        .await
        .map_err(|e| anyhow::anyhow!("report task: {e}"))??;
    Ok(super::spreadsheet(bytes, xlsx, "report", "report"))
}

#[derive(Deserialize)]
struct HonorFilter {
    competition: Option<String>,
}

async fn honors_json(
    state: web::Data<AppState>,
    q: web::Query<HonorFilter>,
) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(rec::honors(&state.db, q.competition.as_deref()).await?))
}

#[derive(Deserialize)]
struct Revoke {
    reason: String,
}

async fn revoke(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
    body: web::Json<Revoke>,
) -> Result<HttpResponse> {
    id.require(&[Role::Admin])?;
    if body.reason.trim().is_empty() {
        return Err(AppError::Unprocessable("撤销须写明理由".into()));
    }
    let new = match rec::revoke_award(&state.db, &path, &id.member.id, body.reason.trim()).await? {
        rec::Revocation::Revoked(new) => new,
        rec::Revocation::NotFound => return Err(AppError::NotFound("没有这项表彰".into())),
        rec::Revocation::AlreadyRevoked => {
            return Err(AppError::Conflict("这项表彰已经撤销，不能再次撤销".into()));
        }
    };
    audit::record(
        &state.db,
        Some(&id.member.id),
        "award.revoke",
        &path,
        json!({ "reason": body.reason, "record": new }),
    )
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "revocation": new })))
}

// ---- pages ----

#[derive(Template)]
#[template(path = "live_host.html")]
struct HostPage<'a> {
    t: Messages<'a>,
    viewer: Option<Viewer>,
    csrf: String,
    other_lang: &'static str,
}

#[derive(Template)]
#[template(path = "live_console.html")]
struct ConsolePage<'a> {
    t: Messages<'a>,
    viewer: Option<Viewer>,
    csrf: String,
    other_lang: &'static str,
    competition_id: String,
}

#[derive(Template)]
#[template(path = "live_screen.html")]
struct ScreenPage<'a> {
    t: Messages<'a>,
    csrf: String,
    competition_id: String,
}

#[derive(Template)]
#[template(path = "live_play.html")]
struct PlayPage<'a> {
    t: Messages<'a>,
    viewer: Option<Viewer>,
    csrf: String,
    pin: String,
}

/// A team award (优胜团队) on the honour roll.
pub struct TeamHonorRow {
    pub team: String,
    pub title: String,
    /// 比武, 考试 or 决赛, and its title.
    pub event_kind: &'static str,
    pub event: String,
    pub rank: i64,
    pub score: String,
    pub members: usize,
    pub date: String,
}

impl From<crate::records::teams::TeamHonor> for TeamHonorRow {
    fn from(h: crate::records::teams::TeamHonor) -> TeamHonorRow {
        let members = serde_json::from_str::<Vec<String>>(&h.members)
            .map(|m| m.len())
            .unwrap_or(0);
        TeamHonorRow {
            team: h.team_name,
            title: h.title,
            event_kind: match h.event_kind.as_str() {
                "exam" => "考试",
                "stage" => "决赛",
                _ => "比武",
            },
            event: h.event_title.unwrap_or_default(),
            rank: h.standing_rank.unwrap_or(0),
            score: crate::domain::teams::display_milli(h.standing_milli),
            members,
            date: crate::domain::calendar::date_of(h.confirmed_at),
        }
    }
}

pub struct HonorRow {
    pub id: String,
    pub name: String,
    pub section: String,
    pub title: String,
    pub competition: String,
    pub date: String,
    pub rank: i64,
    pub points: i64,
}

#[derive(Template)]
#[template(path = "honors.html")]
struct HonorsPage<'a> {
    t: Messages<'a>,
    viewer: Option<Viewer>,
    csrf: String,
    other_lang: &'static str,
    awards: Vec<HonorRow>,
    team_awards: Vec<TeamHonorRow>,
}

async fn host_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: MaybeIdentity,
) -> Result<HttpResponse> {
    let Some(i) = &id.0 else {
        return Ok(login_redirect(&req));
    };
    i.require(&[Role::Host])?;
    let (t, lang, remember) = crate::http::pages::page_messages(&state, &req, "live_host.html");
    let (viewer, csrf) = viewer_of(&id);
    render(
        HostPage {
            other_lang: other_lang(&t.lang),
            t,
            viewer,
            csrf,
        },
        &lang,
        remember,
    )
}

async fn console_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: MaybeIdentity,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let Some(i) = &id.0 else {
        return Ok(login_redirect(&req));
    };
    owned(&state, i, &path).await?;
    let (t, lang, remember) = crate::http::pages::page_messages(&state, &req, "live_console.html");
    let (viewer, csrf) = viewer_of(&id);
    render(
        ConsolePage {
            other_lang: other_lang(&t.lang),
            t,
            viewer,
            csrf,
            competition_id: path.into_inner(),
        },
        &lang,
        remember,
    )
}

async fn screen_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: MaybeIdentity,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let Some(i) = &id.0 else {
        return Ok(login_redirect(&req));
    };
    i.require(&[Role::Host])?;
    let (t, lang, remember) = crate::http::pages::page_messages(&state, &req, "live_screen.html");
    let (_, csrf) = viewer_of(&id);
    render(
        ScreenPage {
            t,
            csrf,
            competition_id: path.into_inner(),
        },
        &lang,
        remember,
    )
}

#[derive(Deserialize)]
struct PinQuery {
    pin: Option<String>,
}

async fn play_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: MaybeIdentity,
    q: web::Query<PinQuery>,
) -> Result<HttpResponse> {
    let (t, lang, remember) = crate::http::pages::page_messages(&state, &req, "live_play.html");
    let (viewer, csrf) = viewer_of(&id);
    let pin: String = q
        .pin
        .clone()
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_digit)
        .take(6)
        .collect();
    render(
        PlayPage {
            t,
            viewer,
            csrf,
            pin,
        },
        &lang,
        remember,
    )
}

async fn honors_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: MaybeIdentity,
) -> Result<HttpResponse> {
    let (t, lang, remember) = crate::http::pages::page_messages(&state, &req, "honors.html");
    let (viewer, csrf) = viewer_of(&id);
    let awards = rec::honors(&state.db, None)
        .await?
        .into_iter()
        .map(|h| HonorRow {
            id: h.id,
            name: h.name,
            section: h.section.unwrap_or_default(),
            title: h.title,
            competition: h.competition.unwrap_or_default(),
            date: crate::domain::calendar::date_of(h.confirmed_at),
            rank: h.standing_rank.unwrap_or(0),
            points: h.standing_points.unwrap_or(0),
        })
        .collect();
    // Team awards of competitions and exams alike.
    let team_awards = crate::records::teams::honors(&state.db, None)
        .await?
        .into_iter()
        .map(TeamHonorRow::from)
        .collect();
    render(
        HonorsPage {
            other_lang: other_lang(&t.lang),
            t,
            viewer,
            csrf,
            awards,
            team_awards,
        },
        &lang,
        remember,
    )
}

#[derive(Template)]
#[template(path = "certificate.html")]
struct Certificate {
    name: String,
    title: String,
    competition: String,
    rank: i64,
    agency: String,
    date: String,
    number: String,
}

/// The printable 荣誉证书 of an award in force (A4 landscape): the agency's name, the member,
/// the competition, the date and a certificate number made from the award's record.
async fn certificate(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: MaybeIdentity,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    if id.0.is_none() {
        return Ok(crate::http::pages::login_redirect(&req));
    }
    let award = rec::honors(&state.db, None)
        .await?
        .into_iter()
        .find(|h| h.id == *path)
        .ok_or_else(|| AppError::NotFound("没有这份有效的表彰（可能已撤销）".into()))?;
    let date = crate::domain::calendar::date_of(award.confirmed_at);
    let (y, m, d) = (&date[..4], &date[5..7], &date[8..10]);
    let page = Certificate {
        number: format!(
            "BW{y}{m}{d}-{}",
            award.id[award.id.len().saturating_sub(8)..].to_uppercase()
        ),
        date: format!(
            "{y}年{}月{}日",
            m.trim_start_matches('0'),
            d.trim_start_matches('0')
        ),
        name: award.name,
        title: award.title,
        competition: award
            .competition
            .map(|c| format!("“{c}”"))
            .unwrap_or_else(|| "业务比武".into()),
        rank: award.standing_rank.unwrap_or(0),
        agency: crate::records::settings::agency_name(&state.db).await?,
    };
    let html = page
        .render()
        .map_err(|e| AppError::Unexpected(anyhow::anyhow!("template: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(html))
}
