//! `--demo`: a fictitious organisation to try biwu with. Idempotent: members that exist
//! are left alone. Every demo account has the password [`DEMO_PASSWORD`].

use crate::auth::hash_password;
use crate::domain::Role;
use crate::records::Db;
use crate::records::members::{self, NewMember};

pub const DEMO_PASSWORD: &str = "demo-2026";

/// (staff number, name, role) of one demo member.
type Person = (&'static str, &'static str, Role);

/// (department, section, people). All names are invented.
const ORG: &[(&str, &str, &[Person])] = &[
    (
        "综合司",
        "文秘处",
        &[
            ("d101", "周明远", Role::SectionHead),
            ("d102", "李晓雯", Role::Member),
            ("d103", "王志强", Role::Member),
            ("d104", "陈静怡", Role::Member),
            ("d105", "赵宏伟", Role::Member),
            ("d106", "孙丽娜", Role::Member),
        ],
    ),
    (
        "综合司",
        "研究处",
        &[
            ("d201", "吴国平", Role::SectionHead),
            ("d202", "郑雅琴", Role::Member),
            ("d203", "冯建华", Role::Member),
            ("d204", "何晓光", Role::Member),
            ("d205", "许文博", Role::Host),
            ("d206", "韩梦洁", Role::Member),
        ],
    ),
    (
        "督查司",
        "督查一处",
        &[
            ("d301", "刘振东", Role::SectionHead),
            ("d302", "杨慧敏", Role::Member),
            ("d303", "黄志诚", Role::Member),
            ("d304", "林雪梅", Role::Member),
            ("d305", "高俊峰", Role::Member),
            ("d306", "罗佳琪", Role::Member),
        ],
    ),
    (
        "督查司",
        "督查二处",
        &[
            ("d401", "谢永刚", Role::SectionHead),
            ("d402", "宋婉清", Role::Member),
            ("d403", "唐海涛", Role::Member),
            ("d404", "邓思远", Role::Member),
            ("d405", "曹欣然", Role::Member),
            ("d406", "演示管理员", Role::Admin),
        ],
    ),
];

/// Seeds the demo organisation; returns how many members it created.
pub async fn seed(db: &Db) -> anyhow::Result<usize> {
    let hash = hash_password(DEMO_PASSWORD)?;
    let mut created = 0;
    let mut tx = db.pool.begin().await?;
    for (department, section, people) in ORG {
        let dept = members::department_id(&mut tx, department).await?;
        let sect = members::section_id(&mut tx, &dept, section).await?;
        for (staff_no, name, role) in *people {
            let exists: Option<String> =
                sqlx::query_scalar("SELECT id FROM members WHERE staff_no = $1")
                    .bind(*staff_no)
                    .fetch_optional(&mut *tx)
                    .await?;
            if exists.is_some() {
                continue;
            }
            let id = members::insert(
                &mut tx,
                NewMember {
                    staff_no,
                    name,
                    section_id: Some(&sect),
                    role: *role,
                    password_hash: Some(&hash),
                    must_change_password: false,
                },
            )
            .await?;
            if *role == Role::SectionHead {
                members::set_head_sections(&mut tx, &id, std::slice::from_ref(&sect)).await?;
            }
            created += 1;
        }
    }
    tx.commit().await?;
    Ok(created)
}

/// One demo account per role, for the start-up message and the README.
pub fn logins() -> Vec<(Role, &'static str, &'static str)> {
    let mut out = Vec::new();
    for role in [Role::Admin, Role::Host, Role::SectionHead, Role::Member] {
        if let Some((no, name, _)) = ORG
            .iter()
            .flat_map(|(_, _, p)| p.iter())
            .find(|(_, _, r)| *r == role)
        {
            out.push((role, *no, *name));
        }
    }
    out
}

/// Size of the demo organisation: (departments, sections, members).
pub fn size() -> (usize, usize, usize) {
    let depts: std::collections::HashSet<&str> = ORG.iter().map(|(d, _, _)| *d).collect();
    (
        depts.len(),
        ORG.len(),
        ORG.iter().map(|(_, _, p)| p.len()).sum(),
    )
}

/// Eight weeks of drill history for the demo members: varied diligence and accuracy, each
/// with a weak topic, wrong answers in notebooks. Seeded, so every demo looks the same.
/// Skipped when the demo members already have drills.
pub async fn seed_history(db: &Db, now_ms: i64) -> anyhow::Result<usize> {
    use crate::records::questions;
    use rand::seq::IndexedRandom;
    use rand::{RngExt, SeedableRng};
    let existing: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM drills d JOIN members m ON m.id = d.member_id WHERE m.staff_no LIKE 'd%'",
    )
    .fetch_one(&db.pool)
    .await?;
    if existing > 0 {
        return Ok(0);
    }
    let pool = questions::list_active(db, None).await?;
    if pool.is_empty() {
        return Ok(0);
    }
    let people: Vec<(String, String)> = sqlx::query_as(
        "SELECT id, staff_no FROM members WHERE staff_no LIKE 'd%' AND role <> 'admin' ORDER BY staff_no",
    )
    .fetch_all(&db.pool)
    .await?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(2026);
    let topics = crate::domain::Topic::ALL;
    let day = 24 * 3600 * 1000;
    let mut answers = 0;
    let mut tx = db.pool.begin().await?;
    for (i, (member, _)) in people.iter().enumerate() {
        let diligence = [0.85, 0.6, 0.35, 0.75, 0.2, 0.5][i % 6];
        let accuracy = [0.9, 0.75, 0.6, 0.82, 0.5, 0.68][(i / 2) % 6];
        let weak = topics[i % topics.len()];
        for days_ago in (1..=56).rev() {
            if rng.random::<f64>() > diligence {
                continue;
            }
            let start = now_ms - days_ago * day
                + rng.random_range(8 * 3600 * 1000..20 * 3600 * 1000)
                - 8 * 3600 * 1000;
            let drill_id = crate::records::new_id();
            let picked: Vec<_> = pool.sample(&mut rng, 10).collect();
            sqlx::query(
                "INSERT INTO drills (id, member_id, mode, settings, seed, question_count, time_limit_ms, started_at, finished_at) \
                 VALUES ($1, $2, 'topics', '{}', $3, $4, NULL, $5, $6)",
            )
            .bind(&drill_id)
            .bind(member)
            .bind(rng.random_range(0..i64::MAX))
            .bind(picked.len() as i64)
            .bind(start)
            .bind(start + 10 * 40_000)
            .execute(&mut *tx)
            .await?;
            for (pos, q) in picked.iter().enumerate() {
                let p = if q.question.topic == weak {
                    accuracy - 0.3
                } else {
                    accuracy
                };
                let right = rng.random::<f64>() < p;
                let at = start + (pos as i64 + 1) * 40_000;
                sqlx::query(
                    "INSERT INTO drill_items (drill_id, position, question_id, question_version, shown_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&drill_id)
                .bind(pos as i64)
                .bind(&q.question.id)
                .bind(&q.version)
                .bind(at - 30_000)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO drill_answers (drill_id, position, member_id, question_id, question_version, response, correct, timed_out, elapsed_ms, answered_at) \
                     VALUES ($1, $2, $3, $4, $5, 'null', $6, 0, 30000, $7)",
                )
                .bind(&drill_id)
                .bind(pos as i64)
                .bind(member)
                .bind(&q.question.id)
                .bind(&q.version)
                .bind(right as i64)
                .bind(at)
                .execute(&mut *tx)
                .await?;
                crate::records::drills::notebook_review(
                    &mut tx,
                    member,
                    &q.question.id,
                    right,
                    "drill",
                    at,
                )
                .await?;
                answers += 1;
            }
        }
    }
    tx.commit().await?;
    Ok(answers)
}

#[cfg(test)]
mod tests {
    #[test]
    fn demo_org_has_the_promised_shape() {
        assert_eq!(super::size(), (2, 4, 24));
        assert_eq!(super::logins().len(), 4, "one login per role");
    }
}
