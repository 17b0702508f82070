//! The stage final's set-up API (see docs/api.md, "Stage final"): a host names the teams and
//! their members (or carries an exam's finalists), the judges and the rounds with their rules;
//! the questions of each round are drawn once, with a stored seed, and every team device gets
//! a sign-in code shown once.

use crate::auth::{Identity, hash_token, one_time_password};
use crate::domain::competition;
use crate::domain::stage::{self, RoundKind, RoundRules};
use crate::domain::{Question, Role, Topic};
use crate::error::{AppError, Result};
use crate::records::{audit, members, questions, stages as rec};
use crate::startup::AppState;
use actix_web::{HttpResponse, web};
use rand::RngExt;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashSet;

/// Routes under `/api`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/stages", web::post().to(create))
        .route("/stages", web::get().to(list))
        .route("/stages/{id}", web::get().to(detail))
        .route("/stages/{id}/teams/{n}/code", web::post().to(new_code))
        .route("/stages/{id}/awards", web::post().to(confirm_awards))
        .route("/stages/{id}/qr.svg", web::get().to(qr))
        .route("/stages/{id}/report.xlsx", web::get().to(report));
}

/// The final's WebSocket and pages (outside `/api`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/ws/stage/{id}", web::get().to(ws))
        .route("/stages", web::get().to(stages_page))
        .route("/stage/{id}/{seat}", web::get().to(page));
}

/// The team devices' own listener (`--buzzer-bind`): the stage socket, for team seats only.
pub fn configure_buzzer(cfg: &mut web::ServiceConfig) {
    cfg.route("/ws/stage/{id}", web::get().to(buzzer_ws));
}

crate::http::pages::member_page!(StagesPage, "stages.html", stages_page, Role::Host);

#[derive(askama::Template)]
#[template(path = "stage.html")]
struct StagePage<'a> {
    t: crate::i18n::Messages<'a>,
    csrf: String,
    stage_id: String,
    seat: &'static str,
    seat_name: &'static str,
    /// A member is logged in (the audience joins under their name, without a nickname).
    member: bool,
    /// A team device's socket goes to this port (the buzzer listener), when there is one.
    buzzer_port: Option<u16>,
}

/// A seat's page: `screen` (projector) and `host` (console) for the final's host, `judge` for
/// a logged-in member (the socket checks they judge this final), `team` for anyone with the
/// team's code.
async fn page(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    id: crate::auth::MaybeIdentity,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (stage_id, seat) = path.into_inner();
    let (seat, seat_name) = match seat.as_str() {
        "screen" => ("screen", "投影屏"),
        "host" => ("host", "主持台"),
        "judge" => ("judge", "评委"),
        "team" => ("team", "代表队"),
        "audience" => ("audience", "观众互动"),
        _ => return Err(AppError::NotFound("没有这个页面".into())),
    };
    if seat != "team" && seat != "audience" {
        let Some(i) = &id.0 else {
            return Ok(crate::http::pages::login_redirect(&req));
        };
        if seat != "judge" {
            owned(&state, i, &stage_id).await?;
        }
    }
    rec::by_id(&state.db, &stage_id)
        .await?
        .ok_or_else(|| AppError::NotFound("没有这场决赛".into()))?;
    let (t, lang, remember) = crate::http::pages::page_messages(&state, &req, "stage.html");
    let (_, csrf) = crate::http::pages::viewer_of(&id);
    crate::http::pages::render(
        StagePage {
            t,
            csrf,
            stage_id,
            seat,
            seat_name,
            member: id.0.is_some(),
            buzzer_port: state.buzzer_port.filter(|_| seat == "team"),
        },
        &lang,
        remember,
    )
}

async fn ws(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    body: web::Payload,
    id: crate::auth::MaybeIdentity,
    path: web::Path<String>,
) -> std::result::Result<HttpResponse, actix_web::Error> {
    super::live::check_origin(&state, &req)?;
    let (res, session, stream) = actix_ws::handle(&req, body)?;
    crate::stage::session::run(
        state.stages.clone(),
        path.into_inner(),
        id.0,
        session,
        stream,
        false,
    );
    Ok(res)
}

/// A team device's socket on the buzzer listener. No cookie is read and no origin checked:
/// the seat is the team's, taken with its code, and nothing else is served here.
async fn buzzer_ws(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    body: web::Payload,
    path: web::Path<String>,
) -> std::result::Result<HttpResponse, actix_web::Error> {
    let (res, session, stream) = actix_ws::handle(&req, body)?;
    crate::stage::session::run(
        state.stages.clone(),
        path.into_inner(),
        None,
        session,
        stream,
        true,
    );
    Ok(res)
}

const MAX_TEAMS: usize = 12;
const MAX_ROUNDS: usize = 12;
const MAX_QUESTIONS: usize = 200;
/// Team colours, in stage order, when the host gives none: distinct on a red projector.
const COLOURS: [&str; 12] = [
    "#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#ad1457", "#4e342e", "#283593",
    "#558b2f", "#00695c", "#f9a825", "#37474f",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewStage {
    title: String,
    #[serde(default)]
    exam_id: Option<String>,
    teams: Vec<NewTeam>,
    #[serde(default)]
    judges: Vec<String>,
    rounds: Vec<NewRound>,
    #[serde(default)]
    settings: StageSettings,
    #[serde(default)]
    seed: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTeam {
    name: String,
    #[serde(default)]
    colour: Option<String>,
    #[serde(default = "hundred")]
    base_score: i64,
    /// Staff numbers.
    #[serde(default)]
    members: Vec<String>,
}

fn hundred() -> i64 {
    100
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewRound {
    #[serde(default)]
    title: Option<String>,
    #[serde(flatten)]
    rules: RoundRules,
    #[serde(default)]
    topics: Vec<String>,
    #[serde(default)]
    tags: Vec<String>,
    /// Picked by hand instead of drawn (not for 风险, whose questions go by stake).
    #[serde(default)]
    question_ids: Vec<String>,
    /// Questions to draw: for 必答 a multiple of the number of teams; for 风险 the turns each
    /// team takes (that many questions are drawn per stake for every team).
    #[serde(default)]
    count: usize,
}

/// The final's settings, stored as JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageSettings {
    /// The audience may play along on phones (in the ordinary live style, a board of its own).
    #[serde(default)]
    pub audience: bool,
    /// The projector hides each judge's total until every judge has marked.
    #[serde(default = "yes")]
    pub hide_judge_totals: bool,
    /// How many teams are proposed as 优胜团队.
    #[serde(default = "one")]
    pub team_winners: u32,
}

fn yes() -> bool {
    true
}
fn one() -> u32 {
    1
}

impl Default for StageSettings {
    fn default() -> Self {
        StageSettings {
            audience: false,
            hide_judge_totals: true,
            team_winners: 1,
        }
    }
}

/// A round as drawn: its title, rules, seed and questions (id, version, stake).
type Drawn = (String, RoundRules, i64, Vec<(String, String, Option<i64>)>);

fn unprocessable(msg: impl Into<String>) -> AppError {
    AppError::Unprocessable(msg.into())
}

fn kind_id(k: RoundKind) -> &'static str {
    match k {
        RoundKind::Compulsory => "compulsory",
        RoundKind::Buzzer => "buzzer",
        RoundKind::Risk => "risk",
        RoundKind::Judged => "judged",
    }
}

/// Staff numbers to active members; the unknown ones are named.
async fn resolve(state: &AppState, staff: &[String], what: &str) -> Result<Vec<members::Member>> {
    let mut out = Vec::new();
    for s in staff {
        match members::by_staff_no(&state.db, s.trim()).await? {
            Some(m) if m.active == 1 => out.push(m),
            _ => return Err(unprocessable(format!("{what}：工号 {s} 不存在或已停用"))),
        }
    }
    Ok(out)
}

#[tracing::instrument(skip(state, id, body))]
async fn create(
    state: web::Data<AppState>,
    id: Identity,
    body: web::Json<NewStage>,
) -> Result<HttpResponse> {
    id.require(&[Role::Host])?;
    let b = body.into_inner();
    let title = b.title.trim();
    if title.is_empty() || title.chars().count() > 60 {
        return Err(unprocessable("标题不能为空，最多 60 字"));
    }
    if !(2..=MAX_TEAMS).contains(&b.teams.len()) {
        return Err(unprocessable(format!("决赛应有 2–{MAX_TEAMS} 支代表队")));
    }
    if b.rounds.is_empty() || b.rounds.len() > MAX_ROUNDS {
        return Err(unprocessable(format!("决赛应有 1–{MAX_ROUNDS} 轮")));
    }
    if b.settings.team_winners as usize > b.teams.len() {
        return Err(unprocessable("优胜团队名额不能多于代表队数"));
    }

    // Teams: names unique, members known and on one team only, finalists when carried.
    let finalists: Option<HashSet<String>> = match &b.exam_id {
        Some(exam_id) => {
            let paper = state.exams.paper(exam_id).await?;
            if paper.exam.closed_at.is_none() {
                return Err(unprocessable("初赛尚未结束，不能带入晋级选手"));
            }
            Some(
                state
                    .exams
                    .results(exam_id)
                    .await?
                    .finalists
                    .iter()
                    .cloned()
                    .collect(),
            )
        }
        None => None,
    };
    let mut names = HashSet::new();
    let mut seen_members = HashSet::new();
    let mut team_members: Vec<Vec<String>> = Vec::new();
    for t in &b.teams {
        let name = t.name.trim();
        if name.is_empty() || name.chars().count() > 20 {
            return Err(unprocessable("代表队名称不能为空，最多 20 字"));
        }
        if !names.insert(name.to_string()) {
            return Err(unprocessable(format!("代表队名称「{name}」重复")));
        }
        if !(0..=100_000).contains(&t.base_score) {
            return Err(unprocessable("基础分应在 0–100000 之间"));
        }
        if let Some(c) = &t.colour
            && !(c.len() == 7
                && c.starts_with('#')
                && c[1..].chars().all(|x| x.is_ascii_hexdigit()))
        {
            return Err(unprocessable(format!("颜色「{c}」应写作 #RRGGBB")));
        }
        let ms = resolve(&state, &t.members, &format!("代表队「{name}」")).await?;
        let mut ids = Vec::new();
        for m in ms {
            if !seen_members.insert(m.id.clone()) {
                return Err(unprocessable(format!(
                    "{}（{}）在两支代表队中",
                    m.name, m.staff_no
                )));
            }
            if let Some(f) = &finalists
                && !f.contains(&m.id)
            {
                return Err(unprocessable(format!(
                    "{}（{}）不是这场初赛的晋级选手",
                    m.name, m.staff_no
                )));
            }
            ids.push(m.id);
        }
        team_members.push(ids);
    }
    let judges: Vec<String> = resolve(&state, &b.judges, "评委")
        .await?
        .into_iter()
        .map(|m| m.id)
        .collect();
    if judges.iter().collect::<HashSet<_>>().len() != judges.len() {
        return Err(unprocessable("评委重复"));
    }
    if judges.iter().any(|j| seen_members.contains(j)) {
        return Err(unprocessable("评委不能同时是参赛选手"));
    }

    // Rounds: rules checked, questions drawn once (never the same question or fact twice in
    // the final), with the final's seed.
    let seed = b.seed.unwrap_or_else(|| rand::rng().random::<u64>() >> 1);
    let active = questions::list_active(&state.db, None).await?;
    let versions: std::collections::HashMap<String, String> = active
        .iter()
        .map(|c| (c.question.id.clone(), c.version.clone()))
        .collect();
    let pool: Vec<Question> = active.into_iter().map(|c| c.question).collect();
    let mut used: HashSet<String> = HashSet::new();
    let mut rounds: Vec<Drawn> = Vec::new();
    let teams = b.teams.len();
    for (i, r) in b.rounds.iter().enumerate() {
        let n = i + 1;
        r.rules
            .check()
            .map_err(|e| unprocessable(format!("第 {n} 轮：{e}")))?;
        let title = r
            .title
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .unwrap_or(r.rules.kind.name_zh())
            .to_string();
        let topics: Vec<Topic> = r
            .topics
            .iter()
            .map(|t| {
                Topic::parse(t).ok_or_else(|| unprocessable(format!("第 {n} 轮：未知专题「{t}」")))
            })
            .collect::<Result<_>>()?;
        let round_seed = seed.wrapping_add(i as u64) & (u64::MAX >> 1);
        let open: Vec<Question> = pool
            .iter()
            .filter(|q| !used.contains(&q.id))
            .filter(|q| q.family_key().is_none_or(|f| !used.contains(f)))
            // A case group's questions lean on a scenario read with them: not for the stage.
            .filter(|q| q.case.is_none())
            .cloned()
            .collect();
        let mut picked: Vec<(String, Option<i64>)> = Vec::new();
        match r.rules.kind {
            RoundKind::Judged => {
                if judges.is_empty() {
                    return Err(unprocessable(format!("第 {n} 轮是评分题，请指定评委")));
                }
                if !r.question_ids.is_empty() || r.count > 0 {
                    return Err(unprocessable(format!("第 {n} 轮是评分题，不设题目")));
                }
            }
            _ if !r.rules.contestants.is_empty() => {
                return Err(unprocessable(format!(
                    "第 {n} 轮：只有评分题可以指定上场选手"
                )));
            }
            RoundKind::Risk => {
                if !r.question_ids.is_empty() {
                    return Err(unprocessable(format!(
                        "第 {n} 轮是风险题，题目按分值档次抽取，不能手选"
                    )));
                }
                if r.count == 0 || r.count > 10 {
                    return Err(unprocessable(format!("第 {n} 轮：每队答题次数应为 1–10")));
                }
                // Stakes from low to high ask difficulty 1, 2, 3 (and 3 beyond).
                let mut stakes = r.rules.stakes.clone();
                stakes.sort_unstable();
                stakes.dedup();
                let mut taken: HashSet<String> = HashSet::new();
                for (level, stake) in stakes.iter().enumerate() {
                    let difficulty = (level as u8 + 1).min(3);
                    let open: Vec<Question> = open
                        .iter()
                        .filter(|q| !taken.contains(&q.id))
                        .filter(|q| q.family_key().is_none_or(|f| !taken.contains(f)))
                        .cloned()
                        .collect();
                    let want = r.count * teams;
                    let drawn = competition::draw(
                        &open,
                        &topics,
                        &r.tags,
                        &[difficulty],
                        want,
                        round_seed.wrapping_add(level as u64),
                    );
                    if drawn.len() < want {
                        return Err(unprocessable(format!(
                            "第 {n} 轮：{stake} 分档（难度 {difficulty}）只有 {} 道题，需要 {want} 道",
                            drawn.len()
                        )));
                    }
                    for q in drawn {
                        taken.insert(q.id.clone());
                        if let Some(f) = q.family_key() {
                            taken.insert(f.to_string());
                        }
                        picked.push((q.id.clone(), Some(*stake)));
                    }
                }
            }
            RoundKind::Compulsory | RoundKind::Buzzer => {
                if !r.question_ids.is_empty() {
                    for qid in &r.question_ids {
                        if !open.iter().any(|q| &q.id == qid) {
                            return Err(unprocessable(format!(
                                "第 {n} 轮：题目 {qid} 不存在、已停用、是案例题或已在本场中"
                            )));
                        }
                        if picked.iter().any(|p| &p.0 == qid) {
                            return Err(unprocessable(format!("第 {n} 轮：题目 {qid} 重复")));
                        }
                        picked.push((qid.clone(), None));
                    }
                } else {
                    if r.count == 0 || r.count > MAX_QUESTIONS {
                        return Err(unprocessable(format!(
                            "第 {n} 轮：题量应为 1–{MAX_QUESTIONS}"
                        )));
                    }
                    let drawn =
                        competition::draw(&open, &topics, &r.tags, &[], r.count, round_seed);
                    if drawn.len() < r.count {
                        return Err(unprocessable(format!(
                            "第 {n} 轮：符合条件的题目只有 {} 道，需要 {} 道",
                            drawn.len(),
                            r.count
                        )));
                    }
                    picked.extend(drawn.into_iter().map(|q| (q.id.clone(), None)));
                }
                if r.rules.kind == RoundKind::Compulsory && !picked.len().is_multiple_of(teams) {
                    return Err(unprocessable(format!(
                        "第 {n} 轮是必答题：题量（{}）应为代表队数（{teams}）的倍数，每队答题数相同",
                        picked.len()
                    )));
                }
            }
        }
        let mut rows = Vec::new();
        for (qid, stake) in picked {
            let q = pool
                .iter()
                .find(|q| q.id == qid)
                .expect("drawn from the pool");
            used.insert(qid.clone());
            if let Some(f) = q.family_key() {
                used.insert(f.to_string());
            }
            rows.push((qid.clone(), versions[&qid].clone(), stake));
        }
        // Judged one contestant per team: staff numbers in, member ids kept.
        let mut rules = r.rules.clone();
        if !rules.contestants.is_empty() {
            if rules.contestants.len() != teams {
                return Err(unprocessable(format!(
                    "第 {n} 轮：上场选手应按代表队顺序每队一人（{teams} 人）"
                )));
            }
            let ms = resolve(&state, &rules.contestants, &format!("第 {n} 轮上场选手")).await?;
            for (t, m) in ms.iter().enumerate() {
                if !team_members[t].contains(&m.id) {
                    return Err(unprocessable(format!(
                        "第 {n} 轮：{}（{}）不是代表队「{}」的队员",
                        m.name,
                        m.staff_no,
                        b.teams[t].name.trim()
                    )));
                }
            }
            rules.contestants = ms.into_iter().map(|m| m.id).collect();
        }
        rounds.push((title, rules, round_seed as i64, rows));
    }

    // Device codes: shown once, kept as hashes.
    let codes: Vec<String> = (0..teams).map(|_| one_time_password()).collect();
    let hashes: Vec<String> = codes.iter().map(|c| hash_token(c)).collect();
    let colours: Vec<String> = b
        .teams
        .iter()
        .enumerate()
        .map(|(i, t)| t.colour.clone().unwrap_or_else(|| COLOURS[i].to_string()))
        .collect();
    let new_teams: Vec<rec::NewTeam> = b
        .teams
        .iter()
        .enumerate()
        .map(|(i, t)| rec::NewTeam {
            name: t.name.trim(),
            colour: &colours[i],
            base_score: t.base_score,
            device_hash: &hashes[i],
            members: &team_members[i],
        })
        .collect();
    let rules_json: Vec<String> = rounds
        .iter()
        .map(|r| serde_json::to_string(&r.1).expect("rules serialise"))
        .collect();
    let new_rounds: Vec<rec::NewRound> = rounds
        .iter()
        .enumerate()
        .map(|(i, r)| rec::NewRound {
            title: &r.0,
            kind: kind_id(r.1.kind),
            rules: &rules_json[i],
            seed: r.2,
            questions: &r.3,
        })
        .collect();
    let settings = serde_json::to_string(&b.settings).map_err(anyhow::Error::from)?;
    let audience_pin = if b.settings.audience {
        let Some(pin) = crate::records::competitions::free_pin(&state.db).await? else {
            return Err(AppError::Conflict("暂时无法分配 PIN，请稍后再试".into()));
        };
        Some(pin)
    } else {
        None
    };
    let stage_id = rec::create(
        &state.db,
        rec::NewStage {
            title,
            audience_pin: audience_pin.as_deref(),
            settings: &settings,
            exam_id: b.exam_id.as_deref(),
            created_by: &id.member.id,
            teams: &new_teams,
            judges: &judges,
            rounds: &new_rounds,
        },
    )
    .await?;
    audit::record(
        &state.db,
        Some(&id.member.id),
        "stage.create",
        &stage_id,
        json!({ "title": title, "teams": teams, "rounds": rounds.len(), "seed": seed }),
    )
    .await?;
    Ok(HttpResponse::Created().json(json!({
        "id": stage_id, "seed": seed, "audience_pin": audience_pin,
        "teams": b.teams.iter().enumerate().map(|(i, t)| json!({
            "position": i, "name": t.name.trim(), "colour": colours[i], "device_code": codes[i],
        })).collect::<Vec<_>>(),
        "rounds": rounds.iter().map(|r| json!({
            "title": r.0, "kind": kind_id(r.1.kind), "questions": r.3.len(),
        })).collect::<Vec<_>>(),
    })))
}

/// The final if the caller runs it (its creator, or an admin).
async fn owned(state: &AppState, id: &Identity, stage_id: &str) -> Result<rec::Stage> {
    id.require(&[Role::Host])?;
    let s = rec::by_id(&state.db, stage_id)
        .await?
        .ok_or_else(|| AppError::NotFound("没有这场决赛".into()))?;
    if id.role() != Role::Admin && s.created_by != id.member.id {
        return Err(AppError::Forbidden("只能管理自己创建的决赛".into()));
    }
    Ok(s)
}

async fn list(state: web::Data<AppState>, id: Identity) -> Result<HttpResponse> {
    id.require(&[Role::Host])?;
    let out: Vec<serde_json::Value> = rec::list(&state.db)
        .await?
        .into_iter()
        .filter(|s| id.role() == Role::Admin || s.created_by == id.member.id)
        .map(|s| {
            json!({ "id": s.id, "title": s.title, "status": s.status, "created_at": s.created_at })
        })
        .collect();
    Ok(HttpResponse::Ok().json(out))
}

/// The set-up and the scoreboard as the records hold them (never a device code).
async fn detail(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let s = owned(&state, &id, &path).await?;
    let teams = rec::teams(&state.db, &s.id).await?;
    let rounds = rec::rounds(&state.db, &s.id).await?;
    let judges = rec::judges(&state.db, &s.id).await?;
    let changes: Vec<stage::Change> = rec::changes(&state.db, &s.id)
        .await?
        .iter()
        .filter_map(|c| c.change().ok())
        .collect();
    let base: Vec<i64> = teams.iter().map(|t| t.base_score).collect();
    let ids: Vec<&str> = rounds
        .iter()
        .flat_map(|r| r.questions.iter().map(|q| q.0.as_str()))
        .collect();
    let current = questions::current_of(&state.db, &ids).await?;
    Ok(HttpResponse::Ok().json(json!({
        "id": s.id, "title": s.title, "status": s.status, "exam_id": s.exam_id,
        "audience_pin": s.audience_pin,
        "settings": serde_json::from_str::<serde_json::Value>(&s.settings).unwrap_or_default(),
        "teams": teams.iter().map(|t| json!({
            "position": t.position, "name": t.name, "colour": t.colour, "base_score": t.base_score,
            "members": t.members.iter().map(|m| json!({"id": m.0, "staff_no": m.1, "name": m.2})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "judges": judges.iter().map(|j| json!({"id": j.0, "staff_no": j.1, "name": j.2})).collect::<Vec<_>>(),
        "rounds": rounds.iter().map(|r| json!({
            "position": r.position, "title": r.title, "kind": r.kind, "seed": r.seed,
            "rules": serde_json::from_str::<serde_json::Value>(&r.rules).unwrap_or_default(),
            "questions": r.questions.iter().map(|(qid, version, stake)| json!({
                "id": qid, "version": version, "stake": stake,
                "stem": current.get(qid).map(|q| q.stem.as_str()),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "standings": stage::standings(&base, &changes),
    })))
}

/// A new sign-in code for a team's device (the old one stops working); shown once.
async fn new_code(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse> {
    let (stage_id, n) = path.into_inner();
    let s = owned(&state, &id, &stage_id).await?;
    if s.status == "ended" {
        return Err(AppError::Conflict("决赛已经结束".into()));
    }
    let code = one_time_password();
    if !rec::set_device_hash(&state.db, &s.id, n, &hash_token(&code)).await? {
        return Err(AppError::NotFound(format!("没有第 {} 支代表队", n + 1)));
    }
    audit::record(
        &state.db,
        Some(&id.member.id),
        "stage.device_code",
        &s.id,
        json!({ "team": n }),
    )
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "position": n, "device_code": code })))
}

/// The QR code phones scan to join the final's audience.
async fn qr(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    id: Identity,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let s = owned(&state, &id, &path).await?;
    let Some(pin) = &s.audience_pin else {
        return Err(AppError::NotFound("本场决赛没有开放观众互动".into()));
    };
    super::live::pin_qr(&state, &req, pin)
}

/// The final's report workbook, from its records alone.
async fn report(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let s = owned(&state, &id, &path).await?;
    let report = crate::stage::report::Report::load(&state.db, &s).await?;
    let bytes = web::block(move || report.workbook())
        .await
        .map_err(|e| anyhow::anyhow!("stage report: {e}"))??;
    Ok(super::spreadsheet(
        bytes,
        true,
        "stage-report",
        &format!("{}-决赛成绩", s.title),
    ))
}

/// Confirms the final's awards once it has ended: 优胜团队 for the teams ranked within the
/// settings' `team_winners`, and 业务标兵 for each member of those teams.
async fn confirm_awards(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let s = owned(&state, &id, &path).await?;
    if s.status != "ended" {
        return Err(AppError::Conflict("决赛尚未结束，不能确认表彰".into()));
    }
    let settings: StageSettings = serde_json::from_str(&s.settings).unwrap_or_default();
    let report = crate::stage::report::Report::load(&state.db, &s).await?;
    let teams = report.teams();
    let winners: Vec<crate::domain::teams::TeamStanding> = report
        .standings()
        .into_iter()
        .filter(|st| st.rank <= settings.team_winners)
        .map(|st| {
            let t = &teams[st.team];
            crate::domain::teams::TeamStanding {
                id: format!("{}:{}", s.id, t.position),
                name: t.name.clone(),
                rank: Some(st.rank),
                score_milli: Some(st.score_milli),
                counted: t.members.len() as u32,
                took_part: t.members.len() as u32,
                size: t.members.len() as u32,
                participants: t.members.iter().map(|m| m.0.clone()).collect(),
            }
        })
        .collect();
    let pacesetters: Vec<(String, u32, i64)> = winners
        .iter()
        .flat_map(|w| {
            w.participants.iter().map(|m| {
                (
                    m.clone(),
                    w.rank.unwrap_or(0),
                    w.score_milli.unwrap_or(0) / 1000,
                )
            })
        })
        .collect();
    let refs: Vec<&crate::domain::teams::TeamStanding> = winners.iter().collect();
    let Some((awards, team_awards)) =
        rec::confirm_awards(&state.db, &s.id, &id.member.id, &refs, &pacesetters).await?
    else {
        return Err(AppError::Conflict("本场决赛的表彰已经确认过".into()));
    };
    audit::record(
        &state.db,
        Some(&id.member.id),
        "stage.confirm_awards",
        &s.id,
        json!({ "teams": team_awards.len(), "pacesetters": awards.len() }),
    )
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "awards": awards, "team_awards": team_awards })))
}
