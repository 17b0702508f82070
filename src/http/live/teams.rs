//! Teams of live competitions over HTTP: the host's named teams (代表队) before the game, and
//! team awards (优胜团队) — of competitions and exams alike — in the honour roll and revoked
//! by an admin.

use super::owned;
use crate::auth::Identity;
use crate::domain::Role;
use crate::domain::competition::Settings;
use crate::domain::teams::TeamBy;
use crate::error::{AppError, Result};
use crate::records::competitions::Revocation;
use crate::records::teams::{self, Event};
use crate::records::{audit, members};
use crate::startup::AppState;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;

/// Named teams a competition may have, and the longest team name.
const MAX_TEAMS: usize = 200;
const MAX_NAME: usize = 30;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TeamsBody {
    teams: Vec<TeamBody>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TeamBody {
    name: String,
    /// Staff numbers (工号), as the host knows people.
    members: Vec<String>,
}

/// `PUT /api/competitions/{id}/teams`: replaces the competition's named teams. Its host or
/// an admin, only in the lobby (the room reads the teams when the game starts), and only
/// when the competition's team rule is named teams — teams that no rule reads would be a
/// silent no-op.
pub(super) async fn put_teams(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
    body: web::Json<TeamsBody>,
) -> Result<HttpResponse> {
    let c = owned(&state, &id, &path).await?;
    if c.status != "lobby" {
        return Err(AppError::Conflict(
            "比武已经开始，代表队已锁定，不能再更改".into(),
        ));
    }
    let settings: Settings = serde_json::from_str(&c.settings).map_err(anyhow::Error::from)?;
    if settings.teams.by != TeamBy::Named {
        return Err(AppError::Unprocessable(
            "本场比武的团体规则不是代表队（by 应为 named），不能设置代表队".into(),
        ));
    }
    let resolved = resolve(&state, &body.teams).await?;
    let named = teams::set_named(&state.db, Event::Competition, &c.id, &resolved).await?;
    audit::record(
        &state.db,
        Some(&id.member.id),
        "competition.set_teams",
        &c.id,
        json!({
            "teams": named.iter().map(|t| json!({"name": t.name, "members": t.members.len()})).collect::<Vec<_>>(),
        }),
    )
    .await?;
    Ok(HttpResponse::Ok().json(named))
}

/// `GET /api/competitions/{id}/teams`: the named teams, in order, with member ids.
pub(super) async fn get_teams(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let c = owned(&state, &id, &path).await?;
    Ok(HttpResponse::Ok().json(teams::named(&state.db, Event::Competition, &c.id).await?))
}

/// The teams as (name, member ids): names trimmed, 1–30 characters and distinct; every
/// staff number an active member's and on one team only. Errors name the team and the
/// staff number.
async fn resolve(state: &AppState, body: &[TeamBody]) -> Result<Vec<(String, Vec<String>)>> {
    if body.len() > MAX_TEAMS {
        return Err(AppError::Unprocessable(format!(
            "代表队最多 {MAX_TEAMS} 支，收到 {} 支",
            body.len()
        )));
    }
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    // Staff number → the team it is on.
    let mut placed: HashMap<String, String> = HashMap::new();
    for (i, t) in body.iter().enumerate() {
        let name = team_name(i, &t.name)?;
        if out.iter().any(|(n, _)| *n == name) {
            return Err(AppError::Unprocessable(format!("代表队名称「{name}」重复")));
        }
        let mut ids = Vec::new();
        for raw in &t.members {
            let staff_no = raw.trim();
            if let Some(other) = placed.get(staff_no) {
                if *other == name {
                    continue;
                }
                return Err(AppError::Unprocessable(format!(
                    "工号 {staff_no} 同时在「{other}」和「{name}」两支代表队中：每人只能参加一队"
                )));
            }
            let member = members::by_staff_no(&state.db, staff_no)
                .await?
                .filter(|m| m.active == 1)
                .ok_or_else(|| {
                    AppError::Unprocessable(format!(
                        "代表队「{name}」：工号 {staff_no} 不在名册中（或已停用）"
                    ))
                })?;
            placed.insert(staff_no.to_string(), name.clone());
            ids.push(member.id);
        }
        out.push((name, ids));
    }
    Ok(out)
}

/// A team's name, trimmed: 1–30 characters.
fn team_name(index: usize, raw: &str) -> Result<String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(AppError::Unprocessable(format!(
            "第 {} 支代表队的名称应为 1–{MAX_NAME} 个字",
            index + 1
        )));
    }
    Ok(name.to_string())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TeamAwardFilter {
    competition: Option<String>,
    exam: Option<String>,
}

/// `GET /api/team-awards?competition=&exam=`: team awards in force, newest first, with
/// their event's title; anyone may read the honour roll.
pub(super) async fn team_awards(
    state: web::Data<AppState>,
    q: web::Query<TeamAwardFilter>,
) -> Result<HttpResponse> {
    let event = match (q.competition.as_deref(), q.exam.as_deref()) {
        (Some(_), Some(_)) => {
            return Err(AppError::BadRequest(
                "只能按一场比武（competition）或一场考试（exam）筛选，不能同时给出".into(),
            ));
        }
        (Some(c), None) => Some((Event::Competition, c)),
        (None, Some(e)) => Some((Event::Exam, e)),
        (None, None) => None,
    };
    let list: Vec<serde_json::Value> = teams::honors(&state.db, event)
        .await?
        .into_iter()
        .map(honor_json)
        .collect();
    Ok(HttpResponse::Ok().json(list))
}

/// A team award as the API shows it: the counted members as a list, the score as read.
fn honor_json(h: teams::TeamHonor) -> serde_json::Value {
    let members: Vec<String> = serde_json::from_str(&h.members).unwrap_or_default();
    json!({
        "id": h.id, "event_kind": h.event_kind, "event_id": h.event_id,
        "event_title": h.event_title, "team_kind": h.team_kind, "team_name": h.team_name,
        "title": h.title, "rank": h.standing_rank, "score_milli": h.standing_milli,
        "score": crate::domain::teams::display_milli(h.standing_milli), "members": members,
        "confirmed_at": h.confirmed_at,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Revoke {
    reason: String,
}

/// `POST /api/team-awards/{id}/revoke`: an admin revokes a team award with a reason; a new
/// record names it, the award itself never changes. Audited.
pub(super) async fn revoke(
    state: web::Data<AppState>,
    id: Identity,
    path: web::Path<String>,
    body: web::Json<Revoke>,
) -> Result<HttpResponse> {
    id.require(&[Role::Admin])?;
    let reason = body.reason.trim();
    if reason.is_empty() {
        return Err(AppError::Unprocessable("撤销团体表彰须写明理由".into()));
    }
    let new = match teams::revoke_award(&state.db, &path, &id.member.id, reason).await? {
        Revocation::Revoked(new) => new,
        Revocation::NotFound => return Err(AppError::NotFound("没有这项团体表彰".into())),
        Revocation::AlreadyRevoked => {
            return Err(AppError::Conflict(
                "这项团体表彰已经撤销，不能再次撤销".into(),
            ));
        }
    };
    audit::record(
        &state.db,
        Some(&id.member.id),
        "team_award.revoke",
        &path,
        json!({ "reason": reason, "record": new }),
    )
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "revocation": new })))
}
