//! The stage final's records (决赛): its set-up (teams and their members, judges, rounds with
//! their rules and questions), and what happens on stage — every buzz, score change and
//! judge's mark — as rows that are only ever added to.

use super::{Db, new_id, now_ms};

/// A team as the host sets it up.
pub struct NewTeam<'a> {
    pub name: &'a str,
    pub colour: &'a str,
    pub base_score: i64,
    /// Hash of the team device's sign-in code.
    pub device_hash: &'a str,
    pub members: &'a [String],
}

/// A round as the host sets it up, with its questions (id, version, stake).
pub struct NewRound<'a> {
    pub title: &'a str,
    pub kind: &'a str,
    /// JSON of the round's rules.
    pub rules: &'a str,
    pub seed: i64,
    pub questions: &'a [(String, String, Option<i64>)],
}

pub struct NewStage<'a> {
    pub title: &'a str,
    /// The audience's PIN, when the audience plays along.
    pub audience_pin: Option<&'a str>,
    /// JSON of the final's settings.
    pub settings: &'a str,
    pub exam_id: Option<&'a str>,
    pub created_by: &'a str,
    pub teams: &'a [NewTeam<'a>],
    pub judges: &'a [String],
    pub rounds: &'a [NewRound<'a>],
}

/// Writes a final's set-up in one transaction; returns its id.
pub async fn create(db: &Db, s: NewStage<'_>) -> anyhow::Result<String> {
    let id = new_id();
    let now = now_ms();
    let mut tx = db.pool.begin().await?;
    sqlx::query(
        "INSERT INTO stages (id, title, settings, status, exam_id, created_by, created_at, audience_pin) \
         VALUES ($1, $2, $3, 'setup', $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(s.title)
    .bind(s.settings)
    .bind(s.exam_id)
    .bind(s.created_by)
    .bind(now)
    .bind(s.audience_pin)
    .execute(&mut *tx)
    .await?;
    for (position, t) in s.teams.iter().enumerate() {
        sqlx::query(
            "INSERT INTO stage_teams (stage_id, position, name, colour, base_score, device_hash) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(position as i64)
        .bind(t.name)
        .bind(t.colour)
        .bind(t.base_score)
        .bind(t.device_hash)
        .execute(&mut *tx)
        .await?;
        for member in t.members {
            sqlx::query(
                "INSERT INTO stage_team_members (stage_id, position, member_id) VALUES ($1, $2, $3)",
            )
            .bind(&id)
            .bind(position as i64)
            .bind(member)
            .execute(&mut *tx)
            .await?;
        }
    }
    for judge in s.judges {
        sqlx::query("INSERT INTO stage_judges (stage_id, member_id) VALUES ($1, $2)")
            .bind(&id)
            .bind(judge)
            .execute(&mut *tx)
            .await?;
    }
    for (round, r) in s.rounds.iter().enumerate() {
        sqlx::query(
            "INSERT INTO stage_rounds (stage_id, position, title, kind, rules, seed) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(round as i64)
        .bind(r.title)
        .bind(r.kind)
        .bind(r.rules)
        .bind(r.seed)
        .execute(&mut *tx)
        .await?;
        for (position, (qid, version, stake)) in r.questions.iter().enumerate() {
            sqlx::query(
                "INSERT INTO stage_questions (stage_id, round, position, question_id, question_version, stake) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&id)
            .bind(round as i64)
            .bind(position as i64)
            .bind(qid)
            .bind(version)
            .bind(*stake)
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(id)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Stage {
    pub id: String,
    pub title: String,
    pub settings: String,
    pub status: String,
    pub state: Option<String>,
    pub exam_id: Option<String>,
    pub created_by: String,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub awards_confirmed: i64,
    /// The audience's PIN, when the audience plays along.
    pub audience_pin: Option<String>,
}

const COLUMNS: &str = "id, title, settings, status, state, exam_id, created_by, created_at, \
                       started_at, ended_at, awards_confirmed, audience_pin";

pub async fn by_id(db: &Db, id: &str) -> anyhow::Result<Option<Stage>> {
    Ok(sqlx::query_as::<_, Stage>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM stages WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&db.pool)
    .await?)
}

/// Every final, newest first.
pub async fn list(db: &Db) -> anyhow::Result<Vec<Stage>> {
    Ok(sqlx::query_as::<_, Stage>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM stages ORDER BY created_at DESC"
    )))
    .fetch_all(&db.pool)
    .await?)
}

/// A team with its members (member ids, staff numbers and names).
#[derive(Debug, Clone)]
pub struct TeamRow {
    pub position: i64,
    pub name: String,
    pub colour: String,
    pub base_score: i64,
    pub device_hash: String,
    pub members: Vec<(String, String, String)>,
}

pub async fn teams(db: &Db, stage_id: &str) -> anyhow::Result<Vec<TeamRow>> {
    let rows: Vec<(i64, String, String, i64, String)> = sqlx::query_as(
        "SELECT position, name, colour, base_score, device_hash FROM stage_teams \
         WHERE stage_id = $1 ORDER BY position",
    )
    .bind(stage_id)
    .fetch_all(&db.pool)
    .await?;
    let members: Vec<(i64, String, String, String)> = sqlx::query_as(
        "SELECT tm.position, m.id, m.staff_no, m.name FROM stage_team_members tm \
         JOIN members m ON m.id = tm.member_id WHERE tm.stage_id = $1 ORDER BY tm.position, m.staff_no",
    )
    .bind(stage_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(position, name, colour, base_score, device_hash)| TeamRow {
                members: members
                    .iter()
                    .filter(|m| m.0 == position)
                    .map(|m| (m.1.clone(), m.2.clone(), m.3.clone()))
                    .collect(),
                position,
                name,
                colour,
                base_score,
                device_hash,
            },
        )
        .collect())
}

/// The judges: member ids, staff numbers and names.
pub async fn judges(db: &Db, stage_id: &str) -> anyhow::Result<Vec<(String, String, String)>> {
    Ok(sqlx::query_as(
        "SELECT m.id, m.staff_no, m.name FROM stage_judges j JOIN members m ON m.id = j.member_id \
         WHERE j.stage_id = $1 ORDER BY m.staff_no",
    )
    .bind(stage_id)
    .fetch_all(&db.pool)
    .await?)
}

/// A round with its questions: (question id, version, stake) in order.
#[derive(Debug, Clone)]
pub struct RoundRow {
    pub position: i64,
    pub title: String,
    pub kind: String,
    pub rules: String,
    pub seed: i64,
    pub questions: Vec<(String, String, Option<i64>)>,
}

pub async fn rounds(db: &Db, stage_id: &str) -> anyhow::Result<Vec<RoundRow>> {
    let rows: Vec<(i64, String, String, String, i64)> = sqlx::query_as(
        "SELECT position, title, kind, rules, seed FROM stage_rounds WHERE stage_id = $1 ORDER BY position",
    )
    .bind(stage_id)
    .fetch_all(&db.pool)
    .await?;
    let questions: Vec<(i64, String, String, Option<i64>)> = sqlx::query_as(
        "SELECT round, question_id, question_version, stake FROM stage_questions \
         WHERE stage_id = $1 ORDER BY round, position",
    )
    .bind(stage_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(position, title, kind, rules, seed)| RoundRow {
            questions: questions
                .iter()
                .filter(|q| q.0 == position)
                .map(|q| (q.1.clone(), q.2.clone(), q.3))
                .collect(),
            position,
            title,
            kind,
            rules,
            seed,
        })
        .collect())
}

/// One score change as recorded.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ChangeRow {
    pub seq: i64,
    pub round: i64,
    pub position: i64,
    pub team: i64,
    pub delta_milli: i64,
    /// JSON of the reason.
    pub why: String,
    pub actor: Option<String>,
    pub at: i64,
}

impl ChangeRow {
    /// The change as the rules count it.
    pub fn change(&self) -> anyhow::Result<crate::domain::stage::Change> {
        Ok(crate::domain::stage::Change {
            team: self.team as usize,
            delta: self.delta_milli / 1000,
            why: serde_json::from_str(&self.why)?,
        })
    }
}

/// Adds score changes (their sequence numbers follow the last one recorded) in one
/// transaction.
pub async fn add_changes(
    db: &Db,
    stage_id: &str,
    fence: i64,
    rows: &[ChangeRow],
) -> anyhow::Result<()> {
    let mut tx = db.pool.begin().await?;
    hold_fence(&mut tx, stage_id, fence).await?;
    for r in rows {
        sqlx::query(
            "INSERT INTO stage_changes (stage_id, seq, round, position, team, delta_milli, why, actor, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(stage_id)
        .bind(r.seq)
        .bind(r.round)
        .bind(r.position)
        .bind(r.team)
        .bind(r.delta_milli)
        .bind(&r.why)
        .bind(r.actor.as_deref())
        .bind(r.at)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub async fn changes(db: &Db, stage_id: &str) -> anyhow::Result<Vec<ChangeRow>> {
    Ok(sqlx::query_as::<_, ChangeRow>(
        "SELECT seq, round, position, team, delta_milli, why, actor, at FROM stage_changes \
         WHERE stage_id = $1 ORDER BY seq",
    )
    .bind(stage_id)
    .fetch_all(&db.pool)
    .await?)
}

/// A judge's marks as recorded; `corrects` names the row a correction replaces.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MarkRow {
    pub id: String,
    pub round: i64,
    pub team: i64,
    pub judge_id: String,
    pub marks: String,
    pub total_milli: i64,
    pub corrects: Option<String>,
    pub reason: Option<String>,
    pub at: i64,
}

/// Records a judge's marks (or a correction of earlier ones, with its reason).
#[allow(clippy::too_many_arguments)]
pub async fn add_marks(
    db: &Db,
    stage_id: &str,
    round: i64,
    team: i64,
    judge_id: &str,
    marks: &str,
    total_milli: i64,
    corrects: Option<(&str, &str)>,
    fence: i64,
) -> anyhow::Result<String> {
    let id = new_id();
    let mut tx = db.pool.begin().await?;
    hold_fence(&mut tx, stage_id, fence).await?;
    sqlx::query(
        "INSERT INTO stage_marks (id, stage_id, round, team, judge_id, marks, total_milli, corrects, reason, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&id)
    .bind(stage_id)
    .bind(round)
    .bind(team)
    .bind(judge_id)
    .bind(marks)
    .bind(total_milli)
    .bind(corrects.map(|c| c.0))
    .bind(corrects.map(|c| c.1))
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// The marks of a round in the order given: the latest row of each (team, judge) is the one
/// that counts, the earlier ones stay as history.
pub async fn marks(db: &Db, stage_id: &str, round: i64) -> anyhow::Result<Vec<MarkRow>> {
    Ok(sqlx::query_as::<_, MarkRow>(
        "SELECT id, round, team, judge_id, marks, total_milli, corrects, reason, at FROM stage_marks \
         WHERE stage_id = $1 AND round = $2 ORDER BY at, id",
    )
    .bind(stage_id)
    .bind(round)
    .fetch_all(&db.pool)
    .await?)
}

/// One buzz as received.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BuzzRow {
    pub round: i64,
    pub position: i64,
    pub seq: i64,
    pub team: i64,
    pub at_us: i64,
    pub received_at: i64,
}

pub async fn add_buzzes(
    db: &Db,
    stage_id: &str,
    fence: i64,
    rows: &[BuzzRow],
) -> anyhow::Result<()> {
    let mut tx = db.pool.begin().await?;
    hold_fence(&mut tx, stage_id, fence).await?;
    for b in rows {
        sqlx::query(
            "INSERT INTO stage_buzzes (stage_id, round, position, seq, team, at_us, received_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(stage_id)
        .bind(b.round)
        .bind(b.position)
        .bind(b.seq)
        .bind(b.team)
        .bind(b.at_us)
        .bind(b.received_at)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub async fn buzzes(db: &Db, stage_id: &str) -> anyhow::Result<Vec<BuzzRow>> {
    Ok(sqlx::query_as::<_, BuzzRow>(
        "SELECT round, position, seq, team, at_us, received_at FROM stage_buzzes \
         WHERE stage_id = $1 ORDER BY round, position, seq",
    )
    .bind(stage_id)
    .fetch_all(&db.pool)
    .await?)
}

pub use super::Fenced;

/// An instance taking a final over under lease fence `fence`: `false` when a conductor with
/// the same or a newer fence has claimed it already.
pub async fn claim(db: &Db, id: &str, fence: i64) -> anyhow::Result<bool> {
    super::claim_owned(db, super::Owned::Stage, id, fence).await
}

/// Within a transaction: holds the final's row under the conductor's fence (0: no lease) until
/// the commit; [`Fenced`] once a newer conductor claimed it. Every write of a final's conductor
/// and of its audience's task goes through here or `set_state`.
async fn hold_fence(conn: &mut sqlx::AnyConnection, id: &str, fence: i64) -> anyhow::Result<()> {
    super::hold_owned(conn, super::Owned::Stage, id, fence).await
}

/// Moves the final to `status` with its resumable state; with a fence (`fence > 0`) only while
/// the final is still claimed under it, else [`Fenced`].
pub async fn set_state(
    db: &Db,
    id: &str,
    status: &str,
    state: &str,
    fence: i64,
) -> anyhow::Result<()> {
    let now = now_ms();
    let done = sqlx::query(
        "UPDATE stages SET status = $2, state = $3, \
         started_at = CASE WHEN started_at IS NULL AND $2 <> 'setup' THEN $4 ELSE started_at END, \
         ended_at = CASE WHEN $2 = 'ended' AND ended_at IS NULL THEN $4 ELSE ended_at END \
         WHERE id = $1 AND ($5 = 0 OR owner_fence = $5)",
    )
    .bind(id)
    .bind(status)
    .bind(state)
    .bind(now)
    .bind(fence)
    .execute(&db.pool)
    .await?;
    if done.rows_affected() == 0 && fence > 0 {
        return Err(Fenced.into());
    }
    Ok(())
}

/// Replaces a team device's code hash; `false` when there is no such team.
pub async fn set_device_hash(
    db: &Db,
    stage_id: &str,
    position: i64,
    hash: &str,
) -> anyhow::Result<bool> {
    let r = sqlx::query(
        "UPDATE stage_teams SET device_hash = $3 WHERE stage_id = $1 AND position = $2",
    )
    .bind(stage_id)
    .bind(position)
    .bind(hash)
    .execute(&db.pool)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Confirms a final's awards in one transaction, once: 优胜团队 for the winning teams (named
/// teams of the final, with their members) and 业务标兵 for `pacesetters` (member id, team
/// rank, team score in points). `false` when they were confirmed already or the final has not
/// ended.
pub async fn confirm_awards(
    db: &Db,
    stage_id: &str,
    confirmed_by: &str,
    winners: &[&crate::domain::teams::TeamStanding],
    pacesetters: &[(String, u32, i64)],
) -> anyhow::Result<Option<(Vec<String>, Vec<String>)>> {
    let now = now_ms();
    let mut tx = db.pool.begin().await?;
    let done = sqlx::query(
        "UPDATE stages SET awards_confirmed = 1 WHERE id = $1 AND awards_confirmed = 0 AND status = 'ended'",
    )
    .bind(stage_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if done != 1 {
        return Ok(None);
    }
    let rule = crate::domain::teams::TeamRule {
        by: crate::domain::teams::TeamBy::Named,
        ..Default::default()
    };
    let team_ids = super::teams::insert_awards(
        &mut tx,
        super::teams::Event::Stage,
        stage_id,
        &rule,
        winners,
        "优胜团队",
        confirmed_by,
    )
    .await?;
    let mut ids = Vec::new();
    for (member_id, rank, points) in pacesetters {
        let id = new_id();
        sqlx::query(
            "INSERT INTO awards (id, member_id, title, stage_id, standing_rank, standing_points, confirmed_by, confirmed_at) \
             VALUES ($1, $2, '业务标兵', $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(member_id)
        .bind(stage_id)
        .bind(i64::from(*rank))
        .bind(*points)
        .bind(confirmed_by)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        ids.push(id);
    }
    tx.commit().await?;
    Ok(Some((ids, team_ids)))
}

/// The open final whose audience joins with `pin`.
pub async fn by_audience_pin(db: &Db, pin: &str) -> anyhow::Result<Option<Stage>> {
    Ok(sqlx::query_as::<_, Stage>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM stages WHERE audience_pin = $1 AND status <> 'ended' \
         ORDER BY created_at DESC LIMIT 1"
    )))
    .bind(pin)
    .fetch_optional(&db.pool)
    .await?)
}

/// A player of a final's audience.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AudienceRow {
    pub id: String,
    pub name: String,
    pub member_id: Option<String>,
    pub token_hash: String,
}

pub async fn add_audience(
    db: &Db,
    stage_id: &str,
    fence: i64,
    p: &AudienceRow,
) -> anyhow::Result<()> {
    let mut tx = db.pool.begin().await?;
    hold_fence(&mut tx, stage_id, fence).await?;
    sqlx::query(
        "INSERT INTO stage_audience (stage_id, id, name, member_id, token_hash, joined_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(stage_id)
    .bind(&p.id)
    .bind(&p.name)
    .bind(&p.member_id)
    .bind(&p.token_hash)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The audience in the order they joined.
pub async fn audience(db: &Db, stage_id: &str) -> anyhow::Result<Vec<AudienceRow>> {
    Ok(sqlx::query_as(
        "SELECT id, name, member_id, token_hash FROM stage_audience WHERE stage_id = $1 \
         ORDER BY joined_at, id",
    )
    .bind(stage_id)
    .fetch_all(&db.pool)
    .await?)
}

/// An audience player's answer to one question of the final.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AudienceAnswer {
    pub player_id: String,
    pub round: i64,
    pub position: i64,
    /// JSON of the response.
    pub response: String,
    pub elapsed_ms: i64,
}

/// Writes a batch of answers in one transaction: all of them or none.
pub async fn add_audience_answers(
    db: &Db,
    stage_id: &str,
    fence: i64,
    rows: &[AudienceAnswer],
) -> anyhow::Result<()> {
    let at = now_ms();
    let mut tx = db.pool.begin().await?;
    hold_fence(&mut tx, stage_id, fence).await?;
    for r in rows {
        sqlx::query(
            "INSERT INTO stage_audience_answers \
             (stage_id, player_id, round, position, response, elapsed_ms, answered_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(stage_id)
        .bind(&r.player_id)
        .bind(r.round)
        .bind(r.position)
        .bind(&r.response)
        .bind(r.elapsed_ms)
        .bind(at)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub async fn audience_answers(db: &Db, stage_id: &str) -> anyhow::Result<Vec<AudienceAnswer>> {
    Ok(sqlx::query_as(
        "SELECT player_id, round, position, response, elapsed_ms FROM stage_audience_answers \
         WHERE stage_id = $1 ORDER BY round, position, answered_at, player_id",
    )
    .bind(stage_id)
    .fetch_all(&db.pool)
    .await?)
}
