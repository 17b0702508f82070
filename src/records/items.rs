//! Sums for item statistics (`domain::items`): per question, over drill answers and the
//! competition answers of members and guests, with each member's overall drill accuracy (from
//! the daily rollup) as the criterion; and the wrong choices made, per question.
//!
//! These read every answer once (a few seconds for millions of answers): an administrator's
//! report, fetched on demand.

use super::Db;
use crate::domain::items::Sums;
use std::collections::HashMap;

/// Each member's overall drill accuracy in ten-thousandths.
const ACCURACY: &str = "SELECT member_id, (CAST(SUM(correct) AS BIGINT) * 10000) / CAST(SUM(answers) AS BIGINT) AS x \
     FROM drill_days GROUP BY member_id HAVING SUM(answers) > 0";

const SUMS: &str = "COUNT(*), CAST(SUM(a.correct) AS BIGINT), CAST(SUM(a.elapsed_ms) AS BIGINT), \
     COUNT(acc.x), CAST(COALESCE(SUM(CASE WHEN acc.x IS NULL THEN 0 ELSE a.correct END), 0) AS BIGINT), \
     CAST(COALESCE(SUM(acc.x), 0) AS BIGINT), CAST(COALESCE(SUM(acc.x * acc.x), 0) AS BIGINT), \
     CAST(COALESCE(SUM(a.correct * acc.x), 0) AS BIGINT)";

type Row = (String, i64, i64, i64, i64, i64, i64, i64, i64);

pub async fn sums(db: &Db) -> anyhow::Result<HashMap<String, Sums>> {
    let drills = format!(
        "WITH acc AS ({ACCURACY}) SELECT a.question_id, {SUMS} FROM drill_answers a \
         LEFT JOIN acc ON acc.member_id = a.member_id GROUP BY a.question_id"
    );
    let live = format!(
        "WITH acc AS ({ACCURACY}) SELECT v.question_id, {SUMS} FROM answers a \
         JOIN question_versions v ON v.version = a.question_version \
         JOIN participants p ON p.id = a.participant_id \
         LEFT JOIN acc ON acc.member_id = p.member_id GROUP BY v.question_id"
    );
    let mut out: HashMap<String, Sums> = HashMap::new();
    for sql in [drills, live] {
        let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(&db.pool)
            .await?;
        for (q, n, right, ms, rated, rated_right, x, xx, x_right) in rows {
            let s = out.entry(q).or_default();
            s.n += n;
            s.right += right;
            s.ms += ms;
            s.rated += rated;
            s.rated_right += rated_right;
            s.x += x;
            s.xx += xx;
            s.x_right += x_right;
        }
    }
    Ok(out)
}

/// Wrong answers per question and response as stored (JSON), choice questions only.
pub async fn wrong_choices(db: &Db) -> anyhow::Result<Vec<(String, String, i64)>> {
    let mut out: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT question_id, response, COUNT(*) FROM drill_answers \
         WHERE correct = 0 AND response LIKE '{\"type\":\"choice\"%' GROUP BY question_id, response",
    )
    .fetch_all(&db.pool)
    .await?;
    out.extend(
        sqlx::query_as::<_, (String, String, i64)>(
            "SELECT v.question_id, a.response, COUNT(*) FROM answers a \
             JOIN question_versions v ON v.version = a.question_version \
             WHERE a.correct = 0 AND a.response LIKE '{\"type\":\"choice\"%' GROUP BY v.question_id, a.response",
        )
        .fetch_all(&db.pool)
        .await?,
    );
    Ok(out)
}
