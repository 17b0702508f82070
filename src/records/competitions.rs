//! Competitions in the records: setup, the room's phase (so a restart resumes it),
//! participants, answers (written in group commits), rulings, awards and the report.

use super::{Db, new_id, now_ms};
use crate::domain::Question;
use crate::domain::competition::Settings;
use crate::domain::teams::{TeamRule, TeamStanding};
use sqlx::{AnyConnection, AssertSqlSafe};

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct Competition {
    pub id: String,
    pub title: String,
    pub pin: String,
    pub status: String,
    pub settings: String,
    pub seed: i64,
    pub created_by: String,
    pub created_at: i64,
    pub phase: String,
    pub position: i64,
    pub phase_started_at: Option<i64>,
    pub paused_remaining_ms: Option<i64>,
    pub extra_ms: i64,
    pub awards_confirmed: i64,
}

const COLUMNS: &str = "id, title, pin, status, settings, seed, created_by, created_at, phase, position, \
                       phase_started_at, paused_remaining_ms, extra_ms, awards_confirmed";

pub struct NewCompetition<'a> {
    pub title: &'a str,
    pub pin: &'a str,
    pub settings: String,
    pub seed: i64,
    pub created_by: &'a str,
    /// (question id, version, time limit in ms), in the order they will be asked.
    pub questions: Vec<(String, String, i64)>,
}

pub async fn create(db: &Db, c: NewCompetition<'_>) -> anyhow::Result<String> {
    let id = new_id();
    let mut tx = db.pool.begin().await?;
    sqlx::query(
        "INSERT INTO competitions (id, title, pin, status, settings, seed, created_by, created_at) \
         VALUES ($1, $2, $3, 'lobby', $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(c.title)
    .bind(c.pin)
    .bind(&c.settings)
    .bind(c.seed)
    .bind(c.created_by)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    for (position, (qid, version, limit)) in c.questions.iter().enumerate() {
        sqlx::query(
            "INSERT INTO competition_questions (competition_id, position, question_id, question_version, time_limit_ms) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&id)
        .bind(position as i64)
        .bind(qid)
        .bind(version)
        .bind(*limit)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(id)
}

pub async fn by_id(db: &Db, id: &str) -> anyhow::Result<Option<Competition>> {
    Ok(sqlx::query_as::<_, Competition>(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM competitions WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&db.pool)
    .await?)
}

/// The competition a PIN opens: the newest one not yet ended.
pub async fn by_pin(db: &Db, pin: &str) -> anyhow::Result<Option<Competition>> {
    Ok(sqlx::query_as::<_, Competition>(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM competitions WHERE pin = $1 AND status <> 'ended' ORDER BY created_at DESC LIMIT 1"
    )))
    .bind(pin)
    .fetch_optional(&db.pool)
    .await?)
}

/// A free six-digit PIN: not held by an open competition nor by an open final's audience
/// (phones type either on the same page). `None` after 50 tries.
pub async fn free_pin(db: &Db) -> anyhow::Result<Option<String>> {
    use rand::RngExt;
    for _ in 0..50 {
        let candidate = format!("{:06}", rand::rng().random_range(0..1_000_000));
        if by_pin(db, &candidate).await?.is_none()
            && super::stages::by_audience_pin(db, &candidate)
                .await?
                .is_none()
        {
            return Ok(Some(candidate));
        }
    }
    Ok(None)
}

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct Listed {
    pub id: String,
    pub title: String,
    pub pin: String,
    pub status: String,
    pub created_at: i64,
    pub players: i64,
    pub questions: i64,
}

/// Competitions, newest first; only those created by `creator` unless `None`.
pub async fn list(db: &Db, creator: Option<&str>) -> anyhow::Result<Vec<Listed>> {
    Ok(sqlx::query_as::<_, Listed>(
        "SELECT c.id, c.title, c.pin, c.status, c.created_at, \
         (SELECT COUNT(*) FROM participants p WHERE p.competition_id = c.id AND p.removed_at IS NULL) AS players, \
         (SELECT COUNT(*) FROM competition_questions q WHERE q.competition_id = c.id) AS questions \
         FROM competitions c WHERE ($1 = '' OR c.created_by = $1) ORDER BY c.created_at DESC",
    )
    .bind(creator.unwrap_or(""))
    .fetch_all(&db.pool)
    .await?)
}

/// One question of a competition, as it was drawn (the version asked).
#[derive(Debug, Clone)]
pub struct Asked {
    pub position: u32,
    pub question: Question,
    pub version: String,
    pub time_limit_ms: u64,
    pub voided: bool,
    pub also_accepted: Vec<crate::domain::Response>,
}

pub async fn questions(db: &Db, competition_id: &str) -> anyhow::Result<Vec<Asked>> {
    let rows: Vec<(i64, String, String, i64, i64, String)> = sqlx::query_as(
        "SELECT cq.position, cq.question_version, v.body, cq.time_limit_ms, cq.voided, cq.also_accepted \
         FROM competition_questions cq JOIN question_versions v ON v.version = cq.question_version \
         WHERE cq.competition_id = $1 ORDER BY cq.position",
    )
    .bind(competition_id)
    .fetch_all(&db.pool)
    .await?;
    rows.into_iter()
        .map(|(position, version, body, limit, voided, also)| {
            Ok(Asked {
                position: position as u32,
                question: serde_json::from_str(&body)?,
                version,
                time_limit_ms: limit as u64,
                voided: voided == 1,
                also_accepted: serde_json::from_str(&also)?,
            })
        })
        .collect()
}

/// What replacing one drawn question came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Swap {
    Swapped,
    /// The competition has started (or ended): its draw is locked.
    Locked,
    /// No question at that position.
    NoSuchPosition,
}

/// Replaces the question at `position` while the competition is still in the lobby. The
/// competition's row is written first in the same transaction, so a concurrent start
/// ([`lock_draw`]) either waits for this change or makes it fail: a room never asks a draw
/// other than the one in the records.
pub async fn swap_question(
    db: &Db,
    competition_id: &str,
    position: u32,
    question_id: &str,
    version: &str,
) -> anyhow::Result<Swap> {
    let mut tx = db.pool.begin().await?;
    let open =
        sqlx::query("UPDATE competitions SET status = status WHERE id = $1 AND status = 'lobby'")
            .bind(competition_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    if open == 0 {
        return Ok(Swap::Locked);
    }
    let changed = sqlx::query(
        "UPDATE competition_questions SET question_id = $1, question_version = $2, voided = 0, also_accepted = '[]' \
         WHERE competition_id = $3 AND position = $4",
    )
    .bind(question_id)
    .bind(version)
    .bind(competition_id)
    .bind(i64::from(position))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed == 0 {
        return Ok(Swap::NoSuchPosition);
    }
    tx.commit().await?;
    Ok(Swap::Swapped)
}

/// Locks the draw when the room starts: the competition leaves the lobby in the records
/// before the room reads its questions, so no swap lands after that read.
pub async fn lock_draw(db: &Db, competition_id: &str, fence: i64) -> anyhow::Result<()> {
    let mut tx = db.pool.begin().await?;
    hold_fence(&mut tx, competition_id, fence).await?;
    sqlx::query(
        "UPDATE competitions SET status = 'running', started_at = COALESCE(started_at, $1) \
         WHERE id = $2 AND status = 'lobby'",
    )
    .bind(now_ms())
    .bind(competition_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Limits a competition to these members (the finalists of an exam): its settings get
/// `entrants` and lose guests. Only while it is still in the lobby — the row is updated with
/// that condition, so a room that starts at the same moment either sees the list or makes
/// this return `false`. Returns `false` as well for an unknown competition.
pub async fn set_entrants(
    db: &Db,
    competition_id: &str,
    entrants: &[String],
) -> anyhow::Result<bool> {
    let mut tx = db.pool.begin().await?;
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT settings, status FROM competitions WHERE id = $1")
            .bind(competition_id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some((settings, status)) = row else {
        return Ok(false);
    };
    if status != "lobby" {
        return Ok(false);
    }
    let mut settings: Settings = serde_json::from_str(&settings)?;
    settings.entrants = Some(entrants.to_vec());
    settings.guests_allowed = false;
    let changed =
        sqlx::query("UPDATE competitions SET settings = $1 WHERE id = $2 AND status = 'lobby'")
            .bind(serde_json::to_string(&settings)?)
            .bind(competition_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    if changed == 0 {
        return Ok(false);
    }
    tx.commit().await?;
    Ok(true)
}

/// Where a live room is; written on every phase change.
pub struct PhaseRecord<'a> {
    pub status: &'a str,
    pub phase: &'a str,
    pub position: u32,
    pub phase_started_at: Option<i64>,
    pub paused_remaining_ms: Option<i64>,
    pub extra_ms: i64,
    /// The conductor's lease fence (0: a single instance, no fence).
    pub fence: i64,
}

pub use super::Fenced;

/// An instance taking a competition over under lease fence `fence` (fences only grow): `false`
/// when a conductor with the same or a newer fence has claimed it already.
pub async fn claim(db: &Db, id: &str, fence: i64) -> anyhow::Result<bool> {
    super::claim_owned(db, super::Owned::Competition, id, fence).await
}

/// Within a transaction: holds the competition's row under the conductor's fence (0: a single
/// instance, nothing to hold) until the commit, so a takeover's claim comes before or after
/// the write; [`Fenced`] once a newer conductor claimed it. Every write of a conductor under a
/// lease goes through here or through `save_phase` and `insert_answers`, which do the same.
pub async fn hold_fence(conn: &mut AnyConnection, id: &str, fence: i64) -> anyhow::Result<()> {
    super::hold_owned(conn, super::Owned::Competition, id, fence).await
}

/// Writes the room's phase; with a fence (`p.fence > 0`) only while the competition is still
/// claimed under it, else [`Fenced`].
pub async fn save_phase(db: &Db, id: &str, p: PhaseRecord<'_>) -> anyhow::Result<()> {
    let now = now_ms();
    let done = sqlx::query(
        "UPDATE competitions SET status = $1, phase = $2, position = $3, phase_started_at = $4, \
         paused_remaining_ms = $5, extra_ms = $6, \
         started_at = CASE WHEN started_at IS NULL AND $1 <> 'lobby' THEN $7 ELSE started_at END, \
         ended_at = CASE WHEN $1 = 'ended' AND ended_at IS NULL THEN $7 ELSE ended_at END \
         WHERE id = $8 AND ($9 = 0 OR owner_fence = $9)",
    )
    .bind(p.status)
    .bind(p.phase)
    .bind(i64::from(p.position))
    .bind(p.phase_started_at)
    .bind(p.paused_remaining_ms)
    .bind(p.extra_ms)
    .bind(now)
    .bind(id)
    .bind(p.fence)
    .execute(&db.pool)
    .await?;
    if done.rows_affected() == 0 && p.fence > 0 {
        return Err(Fenced.into());
    }
    Ok(())
}

pub async fn set_ruling(
    db: &Db,
    competition_id: &str,
    position: u32,
    voided: bool,
    also_accepted: &[crate::domain::Response],
    fence: i64,
) -> anyhow::Result<()> {
    let mut tx = db.pool.begin().await?;
    hold_fence(&mut tx, competition_id, fence).await?;
    sqlx::query(
        "UPDATE competition_questions SET voided = $1, also_accepted = $2 WHERE competition_id = $3 AND position = $4",
    )
    .bind(voided as i64)
    .bind(serde_json::to_string(also_accepted)?)
    .bind(competition_id)
    .bind(i64::from(position))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

// ---- participants ----

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Participant {
    pub id: String,
    pub member_id: Option<String>,
    pub nickname: String,
    pub rejoin_token_hash: String,
    pub removed_at: Option<i64>,
}

pub async fn participants(db: &Db, competition_id: &str) -> anyhow::Result<Vec<Participant>> {
    Ok(sqlx::query_as::<_, Participant>(
        "SELECT id, member_id, nickname, rejoin_token_hash, removed_at FROM participants \
         WHERE competition_id = $1 ORDER BY joined_at, id",
    )
    .bind(competition_id)
    .fetch_all(&db.pool)
    .await?)
}

pub async fn add_participant(
    db: &Db,
    competition_id: &str,
    member_id: Option<&str>,
    nickname: &str,
    token_hash: &str,
    fence: i64,
) -> anyhow::Result<String> {
    let id = new_id();
    let mut tx = db.pool.begin().await?;
    hold_fence(&mut tx, competition_id, fence).await?;
    sqlx::query(
        "INSERT INTO participants (id, competition_id, member_id, nickname, rejoin_token_hash, joined_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(competition_id)
    .bind(member_id)
    .bind(nickname)
    .bind(token_hash)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// A member who joins again from a new device gets a new token for the same participant.
pub async fn set_token(
    db: &Db,
    competition_id: &str,
    participant_id: &str,
    token_hash: &str,
    fence: i64,
) -> anyhow::Result<()> {
    let mut tx = db.pool.begin().await?;
    hold_fence(&mut tx, competition_id, fence).await?;
    sqlx::query("UPDATE participants SET rejoin_token_hash = $1 WHERE id = $2")
        .bind(token_hash)
        .bind(participant_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn remove_participant(
    db: &Db,
    competition_id: &str,
    participant_id: &str,
    fence: i64,
) -> anyhow::Result<()> {
    let mut tx = db.pool.begin().await?;
    hold_fence(&mut tx, competition_id, fence).await?;
    sqlx::query("UPDATE participants SET removed_at = $1 WHERE id = $2")
        .bind(now_ms())
        .bind(participant_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

// ---- answers ----

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AnswerRow {
    pub id: String,
    pub competition_id: String,
    pub position: i64,
    pub participant_id: String,
    pub question_version: String,
    pub response: String,
    pub correct: i64,
    pub elapsed_ms: i64,
    pub points: i64,
    pub answered_at: i64,
}

/// Stores a batch of live answers in one transaction. The caller gives the connection: the
/// live writer keeps one, so its statements stay prepared.
/// Writes a batch of answers in one transaction. `fences`: competitions conducted under a
/// lease, with the fence; one no longer claimed under it is refused (its rows are left out,
/// its id returned), checked in the same transaction, which holds the competition's row
/// until the commit so a takeover's claim comes before or after the whole batch.
pub async fn insert_answers(
    conn: &mut AnyConnection,
    rows: &[AnswerRow],
    fences: &[(String, i64)],
) -> anyhow::Result<Vec<String>> {
    let backend = super::Backend::of(conn);
    let mut tx = sqlx::Connection::begin(conn).await?;
    let mut refused = Vec::new();
    for (competition, fence) in fences {
        match hold_fence(&mut tx, competition, *fence).await {
            Ok(()) => {}
            Err(e) if e.downcast_ref::<Fenced>().is_some() => refused.push(competition.clone()),
            Err(e) => return Err(e),
        }
    }
    let kept: Vec<AnswerRow>;
    let rows = if refused.is_empty() {
        rows
    } else {
        kept = rows
            .iter()
            .filter(|r| !refused.contains(&r.competition_id))
            .cloned()
            .collect();
        &kept[..]
    };
    for chunk in super::pow2_chunks(rows, 64) {
        let sql = format!(
            "INSERT INTO answers (id, competition_id, position, participant_id, question_version, response, correct, elapsed_ms, points, answered_at) VALUES {}",
            super::placeholders(backend, chunk.len(), 10)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for r in chunk {
            q = q
                .bind(&r.id)
                .bind(&r.competition_id)
                .bind(r.position)
                .bind(&r.participant_id)
                .bind(&r.question_version)
                .bind(&r.response)
                .bind(r.correct)
                .bind(r.elapsed_ms)
                .bind(r.points)
                .bind(r.answered_at);
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(refused)
}

pub async fn answers(db: &Db, competition_id: &str) -> anyhow::Result<Vec<AnswerRow>> {
    Ok(sqlx::query_as::<_, AnswerRow>(
        "SELECT id, competition_id, position, participant_id, question_version, response, correct, elapsed_ms, points, answered_at \
         FROM answers WHERE competition_id = $1 ORDER BY position, answered_at",
    )
    .bind(competition_id)
    .fetch_all(&db.pool)
    .await?)
}

/// After a ruling: the new grading of answers whose outcome changed.
pub async fn regrade(
    db: &Db,
    competition_id: &str,
    changes: &[(String, i64, i64)],
    fence: i64,
) -> anyhow::Result<()> {
    let mut tx = db.pool.begin().await?;
    hold_fence(&mut tx, competition_id, fence).await?;
    for (id, correct, points) in changes {
        sqlx::query("UPDATE answers SET correct = $1, points = $2 WHERE id = $3")
            .bind(correct)
            .bind(points)
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Final standings: (participant, rank, points, total ms). Written at the podium.
pub async fn save_standings(
    db: &Db,
    competition_id: &str,
    standings: &[(String, u64, i64, i64)],
    fence: i64,
) -> anyhow::Result<()> {
    let mut tx = db.pool.begin().await?;
    hold_fence(&mut tx, competition_id, fence).await?;
    write_standings(&mut tx, standings).await?;
    tx.commit().await?;
    Ok(())
}

async fn write_standings(
    conn: &mut AnyConnection,
    standings: &[(String, u64, i64, i64)],
) -> anyhow::Result<()> {
    for (participant, rank, points, ms) in standings {
        sqlx::query(
            "UPDATE participants SET final_rank = $1, final_points = $2, final_time_ms = $3 WHERE id = $4",
        )
        .bind(*rank as i64)
        .bind(*points)
        .bind(*ms)
        .bind(participant)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

// ---- awards ----

/// The 优胜团队 to write with a competition's awards: the team rule and the winning teams.
pub type TeamWinners<'a> = (&'a TeamRule, &'a [&'a TeamStanding]);

/// The title of a team award (团体表彰).
pub const TEAM_AWARD_TITLE: &str = "优胜团队";

/// Final standings, the confirmed awards and the team awards, in one transaction, so a
/// competition never has its pacesetters without its winning teams or the other way round.
/// Returns the award ids and the team award ids.
pub async fn confirm_awards(
    db: &Db,
    competition_id: &str,
    confirmed_by: &str,
    standings: &[(String, u64, i64, i64)],
    awards: &[(String, String, u64, i64)],
    teams: Option<TeamWinners<'_>>,
    fence: i64,
) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let now = now_ms();
    let mut tx = db.pool.begin().await?;
    hold_fence(&mut tx, competition_id, fence).await?;
    let already: i64 =
        sqlx::query_scalar("SELECT awards_confirmed FROM competitions WHERE id = $1")
            .bind(competition_id)
            .fetch_one(&mut *tx)
            .await?;
    anyhow::ensure!(already == 0, "本场比武的表彰已经确认过");
    write_standings(&mut tx, standings).await?;
    let mut ids = Vec::new();
    for (member_id, title, rank, points) in awards {
        let id = new_id();
        insert_award(
            &mut tx,
            &id,
            member_id,
            title,
            Some(competition_id),
            Some(*rank),
            Some(*points),
            None,
            None,
            confirmed_by,
            now,
        )
        .await?;
        ids.push(id);
    }
    let team_ids = match teams {
        Some((rule, winners)) => {
            super::teams::insert_awards(
                &mut tx,
                super::teams::Event::Competition,
                competition_id,
                rule,
                winners,
                TEAM_AWARD_TITLE,
                confirmed_by,
            )
            .await?
        }
        None => Vec::new(),
    };
    sqlx::query("UPDATE competitions SET awards_confirmed = 1 WHERE id = $1")
        .bind(competition_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok((ids, team_ids))
}

#[allow(clippy::too_many_arguments)]
async fn insert_award(
    conn: &mut AnyConnection,
    id: &str,
    member_id: &str,
    title: &str,
    competition_id: Option<&str>,
    rank: Option<u64>,
    points: Option<i64>,
    revokes: Option<&str>,
    reason: Option<&str>,
    confirmed_by: &str,
    at: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO awards (id, member_id, title, competition_id, standing_rank, standing_points, revokes, reason, confirmed_by, confirmed_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(id)
    .bind(member_id)
    .bind(title)
    .bind(competition_id)
    .bind(rank.map(|r| r as i64))
    .bind(points)
    .bind(revokes)
    .bind(reason)
    .bind(confirmed_by)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// What revoking an award came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Revocation {
    /// The new record that names the award.
    Revoked(String),
    /// No such award (or it is itself a revocation).
    NotFound,
    /// The award was revoked before: it stays revoked once.
    AlreadyRevoked,
}

/// Revokes an award by writing a new record that names it; the award itself is never changed.
/// A second revocation of the same award is refused: by the check, and when two come at the
/// same moment by the unique index on `revokes`.
pub async fn revoke_award(
    db: &Db,
    award_id: &str,
    by: &str,
    reason: &str,
) -> anyhow::Result<Revocation> {
    let mut tx = db.pool.begin().await?;
    let row: Option<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT member_id, title, competition_id FROM awards WHERE id = $1 AND revokes IS NULL",
    )
    .bind(award_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((member_id, title, competition_id)) = row else {
        return Ok(Revocation::NotFound);
    };
    let revoked: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM awards WHERE revokes = $1")
        .bind(award_id)
        .fetch_one(&mut *tx)
        .await?;
    if revoked > 0 {
        return Ok(Revocation::AlreadyRevoked);
    }
    let id = new_id();
    let written = insert_award(
        &mut tx,
        &id,
        &member_id,
        &format!("撤销：{title}"),
        competition_id.as_deref(),
        None,
        None,
        Some(award_id),
        Some(reason),
        by,
        now_ms(),
    )
    .await;
    match written {
        Err(e) if super::is_unique_violation(&e) => return Ok(Revocation::AlreadyRevoked),
        other => other?,
    }
    tx.commit().await?;
    Ok(Revocation::Revoked(id))
}

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct Honor {
    pub id: String,
    pub member_id: String,
    pub name: String,
    pub section: Option<String>,
    pub title: String,
    pub competition_id: Option<String>,
    pub competition: Option<String>,
    pub standing_rank: Option<i64>,
    pub standing_points: Option<i64>,
    pub confirmed_at: i64,
}

/// Awards in force (not revoked), newest first; optionally of one competition.
pub async fn honors(db: &Db, competition_id: Option<&str>) -> anyhow::Result<Vec<Honor>> {
    Ok(sqlx::query_as::<_, Honor>(
        "SELECT a.id, a.member_id, m.name, s.name AS section, a.title, a.competition_id, COALESCE(c.title, e.title, st.title) AS competition, \
         a.standing_rank, a.standing_points, a.confirmed_at FROM awards a \
         JOIN members m ON m.id = a.member_id LEFT JOIN sections s ON s.id = m.section_id \
         LEFT JOIN competitions c ON c.id = a.competition_id LEFT JOIN exams e ON e.id = a.exam_id \
         LEFT JOIN stages st ON st.id = a.stage_id \
         WHERE a.revokes IS NULL AND NOT EXISTS (SELECT 1 FROM awards r WHERE r.revokes = a.id) \
         AND ($1 = '' OR a.competition_id = $1) \
         ORDER BY a.confirmed_at DESC, a.standing_rank",
    )
    .bind(competition_id.unwrap_or(""))
    .fetch_all(&db.pool)
    .await?)
}

/// Whether an active member of the roster has this name.
pub async fn is_member_name(db: &Db, name: &str) -> anyhow::Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM members WHERE name = $1 AND active = 1")
        .bind(name)
        .fetch_one(&db.pool)
        .await?;
    Ok(n > 0)
}

/// Competitions a host created that have not ended.
pub async fn open_of(db: &Db, host_id: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM competitions WHERE created_by = $1 AND status <> 'ended'",
    )
    .bind(host_id)
    .fetch_one(&db.pool)
    .await?)
}
