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

/// Department heads (司室负责同志): (staff number, name, department). They belong to no
/// section; they see every section of their department and remark on its reviews.
const DEPARTMENT_HEADS: &[(&str, &str, &str)] = &[("d100", "钱卫东", "综合司")];

/// Demo members who never practise, and members whose accuracy rises week by week: the
/// section heads' pages have laggards and progress to show.
const NEVER_PRACTISE: &[&str] = &["d106", "d304", "d405"];
const IMPROVING: &[&str] = &["d102", "d203"];

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
    for (staff_no, name, department) in DEPARTMENT_HEADS {
        let exists: Option<String> =
            sqlx::query_scalar("SELECT id FROM members WHERE staff_no = $1")
                .bind(*staff_no)
                .fetch_optional(&mut *tx)
                .await?;
        if exists.is_some() {
            continue;
        }
        let dept = members::department_id(&mut tx, department).await?;
        let id = members::insert(
            &mut tx,
            NewMember {
                staff_no,
                name,
                section_id: None,
                role: Role::SectionHead,
                password_hash: Some(&hash),
                must_change_password: false,
            },
        )
        .await?;
        members::set_head_departments(&mut tx, &id, std::slice::from_ref(&dept)).await?;
        created += 1;
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
        ORG.iter().map(|(_, _, p)| p.len()).sum::<usize>() + DEPARTMENT_HEADS.len(),
    )
}

/// The demo department head: (staff number, name).
pub fn department_head() -> (&'static str, &'static str) {
    let (no, name, _) = DEPARTMENT_HEADS[0];
    (no, name)
}

/// Days of drill history the demo has: twelve weeks, the span of the section page's trend.
const HISTORY_DAYS: i64 = 84;

/// Twelve weeks of drill history for the demo members: varied diligence and accuracy, each
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
        "SELECT id, staff_no FROM members WHERE staff_no LIKE 'd%' AND role <> 'admin' \
         AND section_id IS NOT NULL ORDER BY staff_no",
    )
    .fetch_all(&db.pool)
    .await?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(2026);
    let topics = crate::domain::Topic::ALL;
    let day = 24 * 3600 * 1000;
    let mut answers = 0;
    let mut tx = db.pool.begin().await?;
    for (i, (member, staff_no)) in people.iter().enumerate() {
        let diligence = if NEVER_PRACTISE.contains(&staff_no.as_str()) {
            0.0
        } else {
            [0.85, 0.6, 0.35, 0.75, 0.2, 0.5][i % 6]
        };
        let improving = IMPROVING.contains(&staff_no.as_str());
        let steady = [0.9, 0.75, 0.6, 0.82, 0.5, 0.68][(i / 2) % 6];
        let weak = topics[i % topics.len()];
        for days_ago in (1..=HISTORY_DAYS).rev() {
            if rng.random::<f64>() >= diligence {
                continue;
            }
            // An improving member goes from about half right to nine in ten.
            let accuracy = if improving {
                0.45 + 0.45 * (HISTORY_DAYS - days_ago) as f64 / (HISTORY_DAYS - 1) as f64
            } else {
                steady
            };
            let start = now_ms - days_ago * day
                + rng.random_range(8 * 3600 * 1000..20 * 3600 * 1000)
                - 8 * 3600 * 1000;
            let picked: Vec<_> = pool.sample(&mut rng, 10).collect();
            let items: Vec<(&str, &str, bool)> = picked
                .iter()
                .map(|q| {
                    let p = if q.question.topic == weak {
                        accuracy - 0.3
                    } else {
                        accuracy
                    };
                    (
                        q.question.id.as_str(),
                        q.version.as_str(),
                        rng.random::<f64>() < p,
                    )
                })
                .collect();
            answered_drill(&mut tx, member, &items, start, None, items.len()).await?;
            answers += items.len();
        }
    }
    tx.commit().await?;
    crate::records::progress::rebuild_days(db).await?;
    Ok(answers)
}

/// A drill the demo says a member took at `start`: its items, the first `answered` of them
/// answered 40 s apart (right or wrong as given) with their notebook effect, finished when
/// all were answered.
async fn answered_drill(
    conn: &mut sqlx::AnyConnection,
    member: &str,
    items: &[(&str, &str, bool)],
    start: i64,
    task: Option<(&str, &str)>,
    answered: usize,
) -> anyhow::Result<String> {
    let drill_id = crate::records::new_id();
    let finished = (answered >= items.len()).then_some(start + items.len() as i64 * 40_000);
    let (mode, task_id) = match task {
        Some((id, _)) => ("task", Some(id)),
        None => ("topics", None),
    };
    let settings = match task {
        Some((id, title)) => serde_json::json!({"task": id, "title": title}).to_string(),
        None => "{}".to_string(),
    };
    sqlx::query(
        "INSERT INTO drills (id, member_id, mode, settings, seed, question_count, time_limit_ms, started_at, finished_at, task_id) \
         VALUES ($1, $2, $3, $4, 0, $5, NULL, $6, $7, $8)",
    )
    .bind(&drill_id)
    .bind(member)
    .bind(mode)
    .bind(settings)
    .bind(items.len() as i64)
    .bind(start)
    .bind(finished)
    .bind(task_id)
    .execute(&mut *conn)
    .await?;
    for (pos, (question, version, right)) in items.iter().enumerate() {
        let at = start + (pos as i64 + 1) * 40_000;
        sqlx::query(
            "INSERT INTO drill_items (drill_id, position, question_id, question_version, shown_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&drill_id)
        .bind(pos as i64)
        .bind(*question)
        .bind(*version)
        .bind(at - 30_000)
        .execute(&mut *conn)
        .await?;
        if pos >= answered {
            continue;
        }
        sqlx::query(
            "INSERT INTO drill_answers (drill_id, position, member_id, question_id, question_version, response, correct, timed_out, elapsed_ms, answered_at) \
             VALUES ($1, $2, $3, $4, $5, 'null', $6, 0, 30000, $7)",
        )
        .bind(&drill_id)
        .bind(pos as i64)
        .bind(member)
        .bind(*question)
        .bind(*version)
        .bind(*right as i64)
        .bind(at)
        .execute(&mut *conn)
        .await?;
        crate::records::drills::notebook_review(conn, member, question, *right, "drill", at)
            .await?;
    }
    Ok(drill_id)
}

/// The section heads' side of the demo, for 文秘处: a finished and an open 练兵任务 (some
/// members done, one half-way, others not started) and last week's 小结点评, published, with
/// comments to two members and the department head's remark. Skipped once the section has
/// tasks.
pub async fn seed_workspace(db: &Db, now_ms: i64) -> anyhow::Result<()> {
    use crate::domain::calendar::{self, Period};
    use crate::records::{questions, reviews};
    use rand::seq::IndexedRandom;
    use rand::{RngExt, SeedableRng};
    let Some(section_id) = sqlx::query_scalar::<_, String>(
        "SELECT s.id FROM sections s JOIN departments d ON d.id = s.department_id \
         WHERE d.name = '综合司' AND s.name = '文秘处'",
    )
    .fetch_optional(&db.pool)
    .await?
    else {
        return Ok(());
    };
    let tasks: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tasks WHERE section_id = $1")
        .bind(&section_id)
        .fetch_one(&db.pool)
        .await?;
    if tasks > 0 {
        return Ok(());
    }
    let id_of = |staff_no: &'static str| async move {
        sqlx::query_scalar::<_, String>("SELECT id FROM members WHERE staff_no = $1")
            .bind(staff_no)
            .fetch_one(&db.pool)
            .await
    };
    let head = id_of("d101").await?;
    let department_head = id_of(DEPARTMENT_HEADS[0].0).await?;
    let pool = questions::list_active(db, Some("petition-work")).await?;
    if pool.len() < 10 {
        return Ok(());
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let day = 24 * 3600 * 1000;
    let today = calendar::day_of(now_ms);
    let mut tx = db.pool.begin().await?;
    /// (title, set days ago, due in days, closed, [(member, questions answered of 5)])
    type Plan<'a> = (&'a str, i64, i64, bool, &'a [(&'a str, usize)]);
    let plan: [Plan; 2] = [
        (
            "《信访工作条例》办理时限专项练习",
            12,
            -5,
            true,
            &[("d102", 5), ("d103", 5), ("d104", 2)],
        ),
        ("信访事项受理与转送", 2, 5, false, &[("d103", 5)]),
    ];
    for (title, set_ago, due_in, closed, takers) in plan {
        let picked: Vec<_> = pool.sample(&mut rng, 5).collect();
        let ids: Vec<&str> = picked.iter().map(|c| c.question.id.as_str()).collect();
        let task_id = crate::records::new_id();
        let created = now_ms - set_ago * day;
        sqlx::query(
            "INSERT INTO tasks (id, section_id, title, settings, questions, time_limit_ms, due_at, created_by, created_at, closed_at) \
             VALUES ($1, $2, $3, $4, $5, NULL, $6, $7, $8, $9)",
        )
        .bind(&task_id)
        .bind(&section_id)
        .bind(title)
        .bind(serde_json::json!({"topics": ["petition-work"], "count": 5}).to_string())
        .bind(serde_json::to_string(&ids)?)
        .bind(calendar::start_of(today + due_in + 1))
        .bind(&head)
        .bind(created)
        .bind(closed.then_some(now_ms - 4 * day))
        .execute(&mut *tx)
        .await?;
        for (staff_no, answered) in takers {
            let member = id_of(staff_no).await?;
            let items: Vec<(&str, &str, bool)> = picked
                .iter()
                .map(|c| {
                    (
                        c.question.id.as_str(),
                        c.version.as_str(),
                        rng.random::<f64>() < 0.7,
                    )
                })
                .collect();
            let start = created + day / 2;
            answered_drill(
                &mut tx,
                &member,
                &items,
                start,
                Some((&task_id, title)),
                *answered,
            )
            .await?;
        }
    }
    tx.commit().await?;
    crate::records::progress::rebuild_days(db).await?;

    // Last week's review, written from the records and published.
    let section = crate::records::members::section(db, &section_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("demo section vanished"))?;
    let span = Period::LastWeek.span(today);
    let facts = crate::section::facts(db, &section, span).await?;
    let review = reviews::create(
        db,
        reviews::NewDraft {
            section_id: &section_id,
            author_id: &head,
            period: span.ms(),
            body: &crate::domain::review::draft(&facts),
            facts: &serde_json::to_string(&facts)?,
        },
    )
    .await?;
    let comments = [
        ("d102", "正确率逐周提高，坚持每天练兵，值得肯定。", ""),
        (
            "d105",
            "",
            "本周练兵次数不足，请合理安排时间，按时完成每周目标。",
        ),
    ];
    let mut list = Vec::new();
    for (staff_no, praise, improve) in comments {
        list.push(reviews::Comment {
            member_id: id_of(staff_no).await?,
            praise: praise.into(),
            improve: improve.into(),
        });
    }
    let body = reviews::get(db, &review)
        .await?
        .map(|r| r.body)
        .unwrap_or_default();
    reviews::save_draft(db, &review, &body, &list).await?;
    reviews::publish(db, &review).await?;
    reviews::add_remark(
        db,
        &review,
        &department_head,
        "文秘处练兵组织有力，要继续关注未参练同志，下周补齐。",
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn demo_org_has_the_promised_shape() {
        assert_eq!(super::size(), (2, 4, 25));
        assert_eq!(super::logins().len(), 4, "one login per role");
    }
}
