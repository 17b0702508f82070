//! Teams of a competition or an exam: sections and departments read from the roster, named
//! teams (代表队) the host sets up, and team awards (优胜团队).

use super::{Db, new_id, now_ms};
use crate::domain::teams::{Team, TeamBy, TeamRule, TeamStanding};

/// What a team belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Competition,
    Exam,
    /// A stage final (决赛).
    Stage,
}

impl Event {
    pub fn id(self) -> &'static str {
        match self {
            Event::Competition => "competition",
            Event::Exam => "exam",
            Event::Stage => "stage",
        }
    }
}

/// The teams of an event under its rule, with everyone on each (active roster members for
/// sections and departments; the host's list for named teams). Empty when the rule has none.
pub async fn of(
    db: &Db,
    rule: &TeamRule,
    event: Event,
    event_id: &str,
) -> anyhow::Result<Vec<Team>> {
    let rows: Vec<(String, String, Option<String>)> = match rule.by {
        TeamBy::None => return Ok(Vec::new()),
        TeamBy::Section => {
            sqlx::query_as(
                "SELECT s.id, s.name, m.id FROM sections s \
                 LEFT JOIN members m ON m.section_id = s.id AND m.active = 1 \
                 ORDER BY s.name, s.id",
            )
            .fetch_all(&db.pool)
            .await?
        }
        TeamBy::Department => {
            sqlx::query_as(
                "SELECT d.id, d.name, m.id FROM departments d \
                 LEFT JOIN sections s ON s.department_id = d.id \
                 LEFT JOIN members m ON m.section_id = s.id AND m.active = 1 \
                 ORDER BY d.name, d.id",
            )
            .fetch_all(&db.pool)
            .await?
        }
        TeamBy::Named => {
            sqlx::query_as(
                "SELECT t.id, t.name, tm.member_id FROM teams t \
                 LEFT JOIN team_members tm ON tm.team_id = t.id \
                 WHERE t.event_kind = $1 AND t.event_id = $2 ORDER BY t.position, t.id",
            )
            .bind(event.id())
            .bind(event_id)
            .fetch_all(&db.pool)
            .await?
        }
    };
    let mut teams: Vec<Team> = Vec::new();
    for (id, name, member) in rows {
        if teams.last().is_none_or(|t| t.id != id) {
            teams.push(Team {
                id,
                name,
                members: Vec::new(),
            });
        }
        if let Some(m) = member {
            teams.last_mut().expect("pushed above").members.push(m);
        }
    }
    // Sections and departments without anyone active are no team.
    if rule.by != TeamBy::Named {
        teams.retain(|t| !t.members.is_empty());
    }
    Ok(teams)
}

/// A named team as the host set it up.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Named {
    pub id: String,
    pub name: String,
    pub members: Vec<String>,
}

/// Replaces the named teams of an event with these (name, member ids), in this order, in
/// one transaction. A member may be on one team only; unknown members are refused.
pub async fn set_named(
    db: &Db,
    event: Event,
    event_id: &str,
    teams: &[(String, Vec<String>)],
) -> anyhow::Result<Vec<Named>> {
    let mut tx = db.pool.begin().await?;
    sqlx::query(
        "DELETE FROM team_members WHERE team_id IN \
         (SELECT id FROM teams WHERE event_kind = $1 AND event_id = $2)",
    )
    .bind(event.id())
    .bind(event_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM teams WHERE event_kind = $1 AND event_id = $2")
        .bind(event.id())
        .bind(event_id)
        .execute(&mut *tx)
        .await?;
    let now = now_ms();
    let mut out = Vec::new();
    for (position, (name, members)) in teams.iter().enumerate() {
        let id = new_id();
        sqlx::query(
            "INSERT INTO teams (id, event_kind, event_id, name, position, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(event.id())
        .bind(event_id)
        .bind(name)
        .bind(position as i64)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        for m in members {
            sqlx::query("INSERT INTO team_members (team_id, member_id) VALUES ($1, $2)")
                .bind(&id)
                .bind(m)
                .execute(&mut *tx)
                .await?;
        }
        out.push(Named {
            id,
            name: name.clone(),
            members: members.clone(),
        });
    }
    tx.commit().await?;
    Ok(out)
}

/// The named teams of an event, in order.
pub async fn named(db: &Db, event: Event, event_id: &str) -> anyhow::Result<Vec<Named>> {
    let rule = TeamRule {
        by: TeamBy::Named,
        ..TeamRule::default()
    };
    Ok(of(db, &rule, event, event_id)
        .await?
        .into_iter()
        .map(|t| Named {
            id: t.id,
            name: t.name,
            members: t.members,
        })
        .collect())
}

/// A team award in force.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct TeamAward {
    pub id: String,
    pub event_kind: String,
    pub event_id: String,
    pub team_kind: String,
    pub team_ref: String,
    pub team_name: String,
    pub title: String,
    pub standing_rank: Option<i64>,
    pub standing_milli: Option<i64>,
    pub members: String,
    pub confirmed_at: i64,
}

/// Writes 优胜团队 awards for these standings, in the caller's transaction.
pub async fn insert_awards(
    conn: &mut sqlx::AnyConnection,
    event: Event,
    event_id: &str,
    rule: &TeamRule,
    winners: &[&TeamStanding],
    title: &str,
    confirmed_by: &str,
) -> anyhow::Result<Vec<String>> {
    let now = now_ms();
    let mut ids = Vec::new();
    for w in winners {
        let id = new_id();
        sqlx::query(
            "INSERT INTO team_awards (id, event_kind, event_id, team_kind, team_ref, team_name, title, \
             standing_rank, standing_milli, members, confirmed_by, confirmed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&id)
        .bind(event.id())
        .bind(event_id)
        .bind(rule.kind_id())
        .bind(&w.id)
        .bind(&w.name)
        .bind(title)
        .bind(w.rank.map(i64::from))
        .bind(w.score_milli)
        .bind(serde_json::to_string(&w.participants)?)
        .bind(confirmed_by)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        ids.push(id);
    }
    Ok(ids)
}

/// Team awards in force (not revoked), newest first; optionally of one event.
pub async fn awards(db: &Db, event: Option<(Event, &str)>) -> anyhow::Result<Vec<TeamAward>> {
    let (kind, id) = event.map(|(e, id)| (e.id(), id)).unwrap_or(("", ""));
    Ok(sqlx::query_as::<_, TeamAward>(
        "SELECT a.id, a.event_kind, a.event_id, a.team_kind, a.team_ref, a.team_name, a.title, \
         a.standing_rank, a.standing_milli, a.members, a.confirmed_at FROM team_awards a \
         WHERE a.revokes IS NULL AND NOT EXISTS (SELECT 1 FROM team_awards r WHERE r.revokes = a.id) \
         AND ($1 = '' OR (a.event_kind = $1 AND a.event_id = $2)) \
         ORDER BY a.confirmed_at DESC, a.standing_rank",
    )
    .bind(kind)
    .bind(id)
    .fetch_all(&db.pool)
    .await?)
}

/// Revokes a team award with a new row naming it (once).
pub async fn revoke_award(
    db: &Db,
    award_id: &str,
    by: &str,
    reason: &str,
) -> anyhow::Result<super::competitions::Revocation> {
    use super::competitions::Revocation;
    let mut tx = db.pool.begin().await?;
    let row: Option<TeamAward> = sqlx::query_as(
        "SELECT id, event_kind, event_id, team_kind, team_ref, team_name, title, standing_rank, \
         standing_milli, members, confirmed_at FROM team_awards WHERE id = $1 AND revokes IS NULL",
    )
    .bind(award_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(a) = row else {
        return Ok(Revocation::NotFound);
    };
    let revoked: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM team_awards WHERE revokes = $1")
        .bind(award_id)
        .fetch_one(&mut *tx)
        .await?;
    if revoked > 0 {
        return Ok(Revocation::AlreadyRevoked);
    }
    let id = new_id();
    let written = sqlx::query(
        "INSERT INTO team_awards (id, event_kind, event_id, team_kind, team_ref, team_name, title, \
         members, revokes, reason, confirmed_by, confirmed_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, '[]', $8, $9, $10, $11)",
    )
    .bind(&id)
    .bind(&a.event_kind)
    .bind(&a.event_id)
    .bind(&a.team_kind)
    .bind(&a.team_ref)
    .bind(&a.team_name)
    .bind(format!("撤销：{}", a.title))
    .bind(award_id)
    .bind(reason)
    .bind(by)
    .bind(now_ms())
    .execute(&mut *tx)
    .await
    .map_err(anyhow::Error::from);
    match written {
        // Revoked at the same moment by someone else: the unique index on `revokes`.
        Err(e) if super::is_unique_violation(&e) => return Ok(Revocation::AlreadyRevoked),
        other => other?,
    };
    tx.commit().await?;
    Ok(Revocation::Revoked(id))
}

/// A team award in force with the title of its competition or exam, for the honour roll.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct TeamHonor {
    pub id: String,
    pub event_kind: String,
    pub event_id: String,
    /// The competition's or exam's title; `None` if the event is gone from the records.
    pub event_title: Option<String>,
    pub team_kind: String,
    pub team_name: String,
    pub title: String,
    pub standing_rank: Option<i64>,
    pub standing_milli: Option<i64>,
    /// JSON list of the member ids the score counted.
    pub members: String,
    pub confirmed_at: i64,
}

/// Team awards in force (not revoked), newest first, each with its event's title; optionally
/// of one event. Competitions and exams keep their titles in tables of their own, so the
/// award's `event_kind` says which one to read.
pub async fn honors(db: &Db, event: Option<(Event, &str)>) -> anyhow::Result<Vec<TeamHonor>> {
    let (kind, id) = event.map(|(e, id)| (e.id(), id)).unwrap_or(("", ""));
    Ok(sqlx::query_as::<_, TeamHonor>(
        "SELECT a.id, a.event_kind, a.event_id, COALESCE(c.title, e.title, st.title) AS event_title, \
         a.team_kind, a.team_name, a.title, a.standing_rank, a.standing_milli, a.members, \
         a.confirmed_at FROM team_awards a \
         LEFT JOIN competitions c ON a.event_kind = 'competition' AND c.id = a.event_id \
         LEFT JOIN exams e ON a.event_kind = 'exam' AND e.id = a.event_id \
         LEFT JOIN stages st ON a.event_kind = 'stage' AND st.id = a.event_id \
         WHERE a.revokes IS NULL AND NOT EXISTS (SELECT 1 FROM team_awards r WHERE r.revokes = a.id) \
         AND ($1 = '' OR (a.event_kind = $1 AND a.event_id = $2)) \
         ORDER BY a.confirmed_at DESC, a.standing_rank, a.team_name",
    )
    .bind(kind)
    .bind(id)
    .fetch_all(&db.pool)
    .await?)
}
