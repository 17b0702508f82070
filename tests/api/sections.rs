//! The section heads' workspace: who sees which section (allowed and 403), every figure of
//! the section page against an independent computation from the records, targets and tasks,
//! 小结点评 from draft to new version, workbooks read back cell by cell, the daily rollup
//! under late answers, and the upgrade of a database made by the first migration.

use crate::helpers::*;
use biwu::domain::calendar::{self, Span};
use biwu::records::progress;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};

/// The demo's department head (综合司: 文秘处 and 研究处).
const DEPT_HEAD: &str = "d100";

async fn status(s: &Session, app: &TestApp, path: &str) -> u16 {
    s.get(app, path).await.status().as_u16()
}

on_both_databases!(
    each_role_sees_only_its_sections,
    each_role_sees_only_its_sections_on_postgres,
    scoping
);

async fn scoping(app: TestApp) {
    let wenmi = section_id(&app, "文秘处").await;
    let yanjiu = section_id(&app, "研究处").await;
    let ducha = section_id(&app, "督查一处").await;
    let zonghe = department_id(&app, "综合司").await;
    let duchasi = department_id(&app, "督查司").await;
    let report = |id: &str| format!("/api/sections/{id}/report?period=week");
    let book = |id: &str| format!("/api/sections/{id}/workbook.xlsx?period=week");
    let reviews = |id: &str| format!("/api/sections/{id}/reviews");

    // The head of 文秘处: their section, nothing else.
    let head = app.session(HEAD).await;
    let listed: Vec<Value> = head
        .get_json(&app, "/api/sections")
        .await
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], json!(wenmi));
    assert_eq!(listed[0]["can_edit"], true);
    for path in [report(&wenmi), book(&wenmi), reviews(&wenmi)] {
        assert_eq!(status(&head, &app, &path).await, 200, "{path}");
    }
    for path in [
        report(&yanjiu),
        book(&yanjiu),
        reviews(&yanjiu),
        report(&ducha),
        format!("/api/departments/{zonghe}/workbook.xlsx"),
        "/api/workbook.xlsx".to_string(),
        format!("/api/sections/{yanjiu}/members"),
    ] {
        assert_eq!(status(&head, &app, &path).await, 403, "{path}");
    }
    let res = head
        .post(
            &app,
            &format!("/api/sections/{yanjiu}/target"),
            json!({"weekly_target": 5}),
        )
        .await;
    assert_eq!(res.status(), 403);

    // The department head: both sections of 综合司, read-only, and its workbook.
    let dept = app.session(DEPT_HEAD).await;
    let listed: Vec<Value> = dept
        .get_json(&app, "/api/sections")
        .await
        .as_array()
        .unwrap()
        .clone();
    let ids: HashSet<&str> = listed.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, HashSet::from([wenmi.as_str(), yanjiu.as_str()]));
    assert!(
        listed
            .iter()
            .all(|s| s["can_edit"] == false && s["can_remark"] == true)
    );
    for path in [
        report(&wenmi),
        report(&yanjiu),
        book(&yanjiu),
        format!("/api/departments/{zonghe}/workbook.xlsx"),
    ] {
        assert_eq!(status(&dept, &app, &path).await, 200, "{path}");
    }
    for path in [
        report(&ducha),
        format!("/api/departments/{duchasi}/workbook.xlsx"),
        "/api/workbook.xlsx".to_string(),
    ] {
        assert_eq!(status(&dept, &app, &path).await, 403, "{path}");
    }
    let res = dept
        .post(
            &app,
            &format!("/api/sections/{wenmi}/target"),
            json!({"weekly_target": 5}),
        )
        .await;
    assert_eq!(
        res.status(),
        403,
        "a department head does not run the section"
    );
    let res = dept
        .post(
            &app,
            &format!("/api/sections/{wenmi}/reviews"),
            json!({"from": "2026-11-01", "to": "2026-11-07"}),
        )
        .await;
    assert_eq!(res.status(), 403);

    // A member: no section at all, only their own figures.
    let member = app.session(MEMBER).await;
    for path in [
        "/api/sections".to_string(),
        report(&wenmi),
        book(&wenmi),
        reviews(&wenmi),
        "/api/workbook.xlsx".to_string(),
    ] {
        assert_eq!(status(&member, &app, &path).await, 403, "{path}");
    }
    assert_eq!(status(&member, &app, "/api/me/reviews").await, 200);
    assert_eq!(status(&member, &app, "/api/tasks").await, 200);

    // The admin: everything.
    let admin = app.session(ADMIN).await;
    let listed: Vec<Value> = admin
        .get_json(&app, "/api/sections")
        .await
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(listed.len(), 4);
    for path in [
        report(&ducha),
        book(&yanjiu),
        format!("/api/departments/{duchasi}/workbook.xlsx"),
        "/api/workbook.xlsx?period=month".to_string(),
    ] {
        assert_eq!(status(&admin, &app, &path).await, 200, "{path}");
    }

    // Unknown sections are 404, bad periods 400 with what is wrong.
    assert_eq!(status(&admin, &app, &report("nope")).await, 404);
    let res = admin
        .get(&app, &format!("/api/sections/{wenmi}/report?period=year"))
        .await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("year"));
    let res = admin
        .get(
            &app,
            &format!("/api/sections/{wenmi}/report?from=2026-12-01&to=2026-11-01"),
        )
        .await;
    assert_eq!(res.status(), 400);
}

/// What the records say, computed here without the server's queries.
struct Raw {
    /// (member, drill, position, answered_at, correct, question)
    answers: Vec<(String, String, i64, i64, i64, String)>,
    topic: HashMap<String, String>,
    tags: HashMap<String, Vec<String>>,
    /// member → (section, department, active)
    people: HashMap<String, (String, String, i64)>,
    /// member → (open, mastered)
    notebook: HashMap<String, (i64, i64)>,
}

async fn raw(app: &TestApp) -> Raw {
    let answers: Vec<(String, String, i64, i64, i64, String)> = sqlx::query_as(
        "SELECT a.member_id, a.drill_id, a.position, a.answered_at, a.correct, a.question_id \
         FROM drill_answers a",
    )
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    let topic: HashMap<String, String> = sqlx::query_as("SELECT id, topic FROM questions")
        .fetch_all(&app.db.pool)
        .await
        .unwrap()
        .into_iter()
        .collect();
    let mut tags: HashMap<String, Vec<String>> = HashMap::new();
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT question_id, tag FROM question_tags")
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
    for (q, t) in rows {
        tags.entry(q).or_default().push(t);
    }
    let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
        "SELECT m.id, s.id, s.department_id, m.active FROM members m JOIN sections s ON s.id = m.section_id",
    )
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    let people = rows
        .into_iter()
        .map(|(m, s, d, a)| (m, (s, d, a)))
        .collect();
    let rows: Vec<(String, Option<i64>)> =
        sqlx::query_as("SELECT member_id, mastered_at FROM notebook")
            .fetch_all(&app.db.pool)
            .await
            .unwrap();
    let mut notebook: HashMap<String, (i64, i64)> = HashMap::new();
    for (m, mastered) in rows {
        let e = notebook.entry(m).or_default();
        if mastered.is_some() {
            e.1 += 1;
        } else {
            e.0 += 1;
        }
    }
    Raw {
        answers,
        topic,
        tags,
        people,
        notebook,
    }
}

fn close(a: &Value, b: Option<f64>, what: &str) {
    match (a.as_f64(), b) {
        (Some(x), Some(y)) => assert!((x - y).abs() < 1e-9, "{what}: {x} vs {y}"),
        (None, None) => assert!(a.is_null(), "{what}: {a}"),
        _ => panic!("{what}: {a} vs {b:?}"),
    }
}

fn ratio(n: i64, d: i64) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

impl Raw {
    fn in_scope(&self, member: &str, pick: &dyn Fn(&(String, String, i64)) -> bool) -> bool {
        self.people.get(member).is_some_and(|p| p.2 == 1 && pick(p))
    }

    /// (active members, answers, correct) of a scope in a span of days.
    fn totals(&self, span: Span, pick: &dyn Fn(&(String, String, i64)) -> bool) -> (i64, i64, i64) {
        let mut active = HashSet::new();
        let (mut n, mut right) = (0, 0);
        for (m, _, _, at, c, _) in &self.answers {
            let day = calendar::day_of(*at);
            if day >= span.from && day < span.to && self.in_scope(m, pick) {
                active.insert(m.clone());
                n += 1;
                right += c;
            }
        }
        (active.len() as i64, n, right)
    }

    fn headcount(&self, pick: &dyn Fn(&(String, String, i64)) -> bool) -> i64 {
        self.people.values().filter(|p| p.2 == 1 && pick(p)).count() as i64
    }
}

fn check_average(
    v: &Value,
    raw: &Raw,
    span: Span,
    pick: &dyn Fn(&(String, String, i64)) -> bool,
    what: &str,
) {
    let (active, n, right) = raw.totals(span, pick);
    let heads = raw.headcount(pick);
    assert_eq!(v["members"], heads, "{what} members");
    assert_eq!(v["active"], active, "{what} active");
    close(&v["participation"], ratio(active, heads), what);
    close(&v["accuracy"], ratio(right, n), what);
    close(
        &v["answers_per_member"],
        (heads > 0).then(|| n as f64 / heads as f64),
        what,
    );
}

/// Every figure of the section page for `span` against [`Raw`].
fn check_report(
    report: &Value,
    raw: &Raw,
    section: &str,
    department: &str,
    span: Span,
    today: i64,
) {
    let (from_ms, to_ms) = span.ms();
    let in_span = |at: i64| at >= from_ms && at < to_ms;
    let members = report["members"].as_array().unwrap();
    let mine: Vec<&String> = raw
        .people
        .iter()
        .filter(|(_, p)| p.0 == section && p.2 == 1)
        .map(|(m, _)| m)
        .collect();
    assert_eq!(members.len(), mine.len());
    let target = report["period"]["target"].as_i64().unwrap();
    let mut seen_busy = false;
    for row in members {
        let m = row["id"].as_str().unwrap();
        let theirs: Vec<_> = raw.answers.iter().filter(|a| a.0 == m).collect();
        let period: Vec<_> = theirs.iter().filter(|a| in_span(a.3)).collect();
        // A drill counts in the period its first question was answered in.
        let drills: HashSet<&str> = period
            .iter()
            .filter(|a| a.2 == 0)
            .map(|a| a.1.as_str())
            .collect();
        let right: i64 = period.iter().map(|a| a.4).sum();
        let days: HashSet<i64> = period.iter().map(|a| calendar::day_of(a.3)).collect();
        let last = theirs.iter().map(|a| calendar::day_of(a.3)).max();
        assert_eq!(row["answers"], period.len(), "answers of {m}");
        assert_eq!(row["correct"], right, "right answers of {m}");
        assert_eq!(row["drills"], drills.len(), "drills of {m}");
        assert_eq!(row["days"], days.len(), "days of {m}");
        close(
            &row["accuracy"],
            ratio(right, period.len() as i64),
            "accuracy",
        );
        assert_eq!(
            row["last_active"],
            json!(last.map(calendar::iso)),
            "last day of {m}"
        );
        let (open, mastered) = raw.notebook.get(m).copied().unwrap_or_default();
        assert_eq!(row["notebook_open"], open);
        assert_eq!(row["notebook_mastered"], mastered);
        assert_eq!(row["target"], target);
        let idle = period.is_empty() && drills.is_empty();
        assert_eq!(row["idle"], idle);
        // Members who did nothing come first.
        if !idle {
            seen_busy = true;
        } else {
            assert!(!seen_busy, "an idle member after a busy one");
        }
    }

    // Topics, tags and the questions most often wrong.
    let section_answers: Vec<_> = raw
        .answers
        .iter()
        .filter(|a| in_span(a.3) && raw.in_scope(&a.0, &|p| p.0 == section))
        .collect();
    let mut topics: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    let mut tags: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    let mut questions: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    for a in &section_answers {
        let e = topics.entry(raw.topic[&a.5].as_str()).or_default();
        e.0 += 1;
        e.1 += a.4;
        for t in raw.tags.get(&a.5).into_iter().flatten() {
            let e = tags.entry(t.as_str()).or_default();
            e.0 += 1;
            e.1 += a.4;
        }
        let e = questions.entry(a.5.as_str()).or_default();
        e.0 += 1;
        e.1 += a.4;
    }
    let got: BTreeMap<&str, (i64, i64)> = report["topics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["topic"].as_str().unwrap(),
                (
                    t["answers"].as_i64().unwrap(),
                    t["correct"].as_i64().unwrap(),
                ),
            )
        })
        .collect();
    assert_eq!(got, topics);
    let got: BTreeMap<&str, (i64, i64)> = report["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["tag"].as_str().unwrap(),
                (
                    t["answers"].as_i64().unwrap(),
                    t["correct"].as_i64().unwrap(),
                ),
            )
        })
        .collect();
    assert_eq!(got, tags);
    let acc = |v: &Value| v["accuracy"].as_f64().unwrap();
    for list in ["topics", "tags"] {
        let l = report[list].as_array().unwrap();
        assert!(
            l.windows(2).all(|w| acc(&w[0]) <= acc(&w[1])),
            "{list} weakest first"
        );
    }
    let mut wrong: Vec<(&str, i64)> = questions
        .iter()
        .map(|(q, (n, r))| (*q, n - r))
        .filter(|(_, w)| *w > 0)
        .collect();
    wrong.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    wrong.truncate(10);
    let got: Vec<(&str, i64)> = report["wrong_questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| {
            (
                q["question_id"].as_str().unwrap(),
                q["wrong"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, wrong);

    // Summary, comparison and trend.
    let in_section = |p: &(String, String, i64)| p.0 == section;
    let in_department = |p: &(String, String, i64)| p.1 == department;
    let (active, n, right) = raw.totals(span, &in_section);
    let s = &report["summary"];
    assert_eq!(s["active"], active);
    assert_eq!(s["answers"], n);
    close(&s["accuracy"], ratio(right, n), "summary accuracy");
    let (_, pn, pr) = raw.totals(span.previous(), &in_section);
    close(&s["previous_accuracy"], ratio(pr, pn), "previous accuracy");
    check_average(
        &report["comparison"]["section"],
        raw,
        span,
        &in_section,
        "section",
    );
    check_average(
        &report["comparison"]["department"],
        raw,
        span,
        &in_department,
        "department",
    );
    check_average(
        &report["comparison"]["agency"],
        raw,
        span,
        &|_| true,
        "agency",
    );
    let trend = report["trend"].as_array().unwrap();
    assert_eq!(trend.len(), 12);
    let end = calendar::monday_of(span.last().min(today));
    for (i, w) in trend.iter().enumerate() {
        let monday = end - 7 * (11 - i as i64);
        assert_eq!(w["week"], calendar::iso(monday));
        let week = Span {
            from: monday,
            to: monday + 7,
        };
        let (active, n, right) = raw.totals(week, &in_section);
        assert_eq!(
            w["answers"],
            n,
            "answers in the week of {}",
            calendar::iso(monday)
        );
        close(
            &w["participation"],
            ratio(active, raw.headcount(&in_section)),
            "weekly participation",
        );
        close(&w["accuracy"], ratio(right, n), "weekly accuracy");
    }
}

on_both_databases!(
    section_figures_match_the_records,
    section_figures_match_the_records_on_postgres,
    figures
);

async fn figures(app: TestApp) {
    let wenmi = section_id(&app, "文秘处").await;
    let zonghe = department_id(&app, "综合司").await;
    // Answers through the real drill engine today, so the rollup written with them counts.
    let member = app.session(MEMBER).await;
    let d: Value = member
        .post(&app, "/api/drills", json!({"mode": "topics", "count": 5}))
        .await
        .json()
        .await
        .unwrap();
    let drill_id = d["id"].as_str().unwrap().to_string();
    for _ in 0..5 {
        let st = member
            .get_json(&app, &format!("/api/drills/{drill_id}"))
            .await;
        let pos = st["current"]["position"].as_i64().unwrap();
        let q = biwu::records::drills::items(&app.db, &drill_id)
            .await
            .unwrap();
        let q: biwu::domain::Question = serde_json::from_str(&q[pos as usize].body).unwrap();
        let answer = if pos % 2 == 0 {
            right_answer(&q)
        } else {
            wrong_answer(&q)
        };
        let res = member
            .post(
                &app,
                &format!("/api/drills/{drill_id}/answers"),
                json!({"position": pos, "answer": answer}),
            )
            .await;
        assert_eq!(res.status(), 200);
    }
    // A competition played and an award today; a revoked award does not count.
    let (d102, d103): (String, String) = (
        sqlx::query_scalar("SELECT id FROM members WHERE staff_no = 'd102'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap(),
        sqlx::query_scalar("SELECT id FROM members WHERE staff_no = 'd103'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap(),
    );
    let admin: String = sqlx::query_scalar("SELECT id FROM members WHERE staff_no = $1")
        .bind(ADMIN)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    let now = biwu::records::now_ms();
    for sql in [
        "INSERT INTO competitions (id, title, pin, status, settings, seed, created_by, created_at, started_at) VALUES ('c1', '测试', '123456', 'finished', '{}', 1, $1, $2, $2)",
        "INSERT INTO awards (id, member_id, title, confirmed_by, confirmed_at) VALUES ('a1', $3, '业务标兵', $1, $2)",
        "INSERT INTO awards (id, member_id, title, confirmed_by, confirmed_at) VALUES ('a2', $4, '业务标兵', $1, $2)",
        "INSERT INTO awards (id, member_id, title, revokes, reason, confirmed_by, confirmed_at) VALUES ('a3', $4, '业务标兵', 'a2', '错误', $1, $2)",
        "INSERT INTO participants (id, competition_id, member_id, nickname, rejoin_token_hash, joined_at) VALUES ('p1', 'c1', $3, 'x', 'h', $2)",
    ] {
        sqlx::query(sql)
            .bind(&admin)
            .bind(now)
            .bind(&d102)
            .bind(&d103)
            .execute(&app.db.pool)
            .await
            .unwrap();
    }

    let raw = raw(&app).await;
    let today = calendar::day_of(biwu::records::now_ms());
    let head = app.session(HEAD).await;
    let custom = Span {
        from: today - 40,
        to: today + 1,
    };
    for (query, span) in [
        (
            format!(
                "from={}&to={}",
                calendar::iso(custom.from),
                calendar::iso(custom.last())
            ),
            custom,
        ),
        (
            "period=last_week".to_string(),
            calendar::Period::LastWeek.span(today),
        ),
        (
            "period=week".to_string(),
            calendar::Period::Week.span(today),
        ),
        (
            "period=quarter".to_string(),
            calendar::Period::Quarter.span(today),
        ),
    ] {
        let report = head
            .get_json(&app, &format!("/api/sections/{wenmi}/report?{query}"))
            .await;
        assert_eq!(
            report["period"]["from"],
            calendar::iso(span.from),
            "{query}"
        );
        check_report(&report, &raw, &wenmi, &zonghe, span, today);
        if query == "period=week" {
            let row = |id: &str| {
                report["members"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|r| r["id"] == id)
                    .unwrap()
                    .clone()
            };
            assert_eq!(row(&d102)["competitions"], 1);
            assert_eq!(row(&d102)["awards"], 1);
            assert_eq!(row(&d103)["awards"], 0, "a revoked award does not count");
            assert!(row(&d102)["answers"].as_i64().unwrap() >= 5);
        }
    }
}

on_both_databases!(
    the_daily_rollup_stays_exact_under_late_answers,
    the_daily_rollup_stays_exact_under_late_answers_on_postgres,
    late_answers
);

async fn late_answers(app: TestApp) {
    use biwu::records::drills::{NewAnswer, Write, apply};
    // Answers stamped in past days (an answer that reached the writer late, or a restored
    // backlog) land on their own days, and a duplicate adds nothing.
    let member: String = sqlx::query_scalar("SELECT id FROM members WHERE staff_no = $1")
        .bind(MEMBER)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    let qs = biwu::records::questions::list_active(&app.db, None)
        .await
        .unwrap();
    let items: Vec<(String, String)> = qs
        .iter()
        .take(6)
        .map(|c| (c.question.id.clone(), c.version.clone()))
        .collect();
    let drill = biwu::records::drills::create(
        &app.db,
        biwu::records::drills::NewDrill {
            member_id: &member,
            mode: "topics",
            settings: "{}",
            seed: 1,
            time_limit_ms: None,
            items: &items,
            task_id: None,
        },
    )
    .await
    .unwrap();
    let now = biwu::records::now_ms();
    let day = 24 * 3600 * 1000;
    let answer = |pos: i64, ago: i64, correct: bool| {
        Write::Answer(NewAnswer {
            drill_id: drill.clone(),
            member_id: member.clone(),
            position: pos,
            question_id: items[pos as usize].0.clone(),
            question_version: items[pos as usize].1.clone(),
            response: "null".into(),
            correct,
            timed_out: false,
            elapsed_ms: 1000,
            answered_at: now - ago * day,
            finishes: false,
        })
    };
    let mut conn = app.db.pool.acquire().await.unwrap();
    let writes = vec![
        answer(0, 30, true),
        answer(1, 30, false),
        answer(2, 9, true),
        answer(2, 0, true),
        answer(3, 0, false),
    ];
    apply(&mut conn, &writes).await.unwrap();
    apply(&mut conn, &[answer(4, 100, true), answer(0, 30, true)])
        .await
        .unwrap();
    drop(conn);
    let rollup = |db: biwu::records::Db| async move {
        let mut v: Vec<(String, i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT member_id, day, drills, answers, correct FROM drill_days ORDER BY member_id, day",
        )
        .fetch_all(&db.pool)
        .await
        .unwrap();
        v.sort();
        v
    };
    let kept = rollup(app.db.clone()).await;
    progress::rebuild_days(&app.db).await.unwrap();
    assert_eq!(
        kept,
        rollup(app.db.clone()).await,
        "the rollup equals a recount of the answers"
    );
    let mine: Vec<_> = kept
        .iter()
        .filter(|r| r.0 == member && r.1 == calendar::day_of(now - 30 * day))
        .collect();
    assert_eq!(mine.len(), 1);
    assert!(
        mine[0].3 >= 2,
        "both answers of 30 days ago are on that day"
    );
    assert!(
        mine[0].2 >= 1,
        "the drill counts on the day of its first answer"
    );
}

on_both_databases!(
    targets_and_tasks_from_setting_to_done,
    targets_and_tasks_from_setting_to_done_on_postgres,
    targets_and_tasks
);

async fn targets_and_tasks(app: TestApp) {
    let wenmi = section_id(&app, "文秘处").await;
    let head = app.session(HEAD).await;
    let member = app.session(MEMBER).await;

    // The weekly target.
    for bad in [0, 21] {
        let res = head
            .post(
                &app,
                &format!("/api/sections/{wenmi}/target"),
                json!({"weekly_target": bad}),
            )
            .await;
        assert_eq!(res.status(), 422);
    }
    let res = head
        .post(
            &app,
            &format!("/api/sections/{wenmi}/target"),
            json!({"weekly_target": 5}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let report = head
        .get_json(&app, &format!("/api/sections/{wenmi}/report?period=week"))
        .await;
    assert_eq!(report["section"]["weekly_target"], 5);
    assert_eq!(report["period"]["target"], 5);
    assert!(
        report["members"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["target"] == 5)
    );
    let home = member.get_json(&app, "/api/me/home").await;
    assert_eq!(
        home["week"]["target"], 5,
        "the member's home follows the section's target"
    );
    let res = member
        .post(
            &app,
            &format!("/api/sections/{wenmi}/target"),
            json!({"weekly_target": 4}),
        )
        .await;
    assert_eq!(res.status(), 403);

    // Tasks: bad requests say what is wrong.
    let due = calendar::iso(calendar::day_of(biwu::records::now_ms()) + 3);
    let task = |extra: Value| {
        let mut body =
            json!({"title": "条例时限练习", "topics": ["petition-work"], "count": 5, "due": due});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    for (extra, needle) in [
        (json!({"title": ""}), "标题"),
        (json!({"due": "2020-01-01"}), "截止日期"),
        (json!({"due": "下周"}), "截止日期"),
        (json!({"topics": ["nope"]}), "nope"),
        (json!({"count": 7}), "题量"),
        (json!({"question_ids": ["pw-9999"]}), "pw-9999"),
    ] {
        let res = head
            .post(
                &app,
                &format!("/api/sections/{wenmi}/tasks"),
                task(extra.clone()),
            )
            .await;
        assert_eq!(res.status(), 422, "{extra}");
        assert!(res.text().await.unwrap().contains(needle), "{extra}");
    }
    let res = member
        .post(
            &app,
            &format!("/api/sections/{wenmi}/tasks"),
            task(json!({})),
        )
        .await;
    assert_eq!(res.status(), 403);
    let res = head
        .post(
            &app,
            &format!("/api/sections/{wenmi}/tasks"),
            task(json!({})),
        )
        .await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    let task_id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["count"], 5);
    assert_eq!(created["done"], 0);

    // The member sees it first, takes it as a drill, and it counts as done.
    let mine: Vec<Value> = member
        .get_json(&app, "/api/tasks")
        .await
        .as_array()
        .unwrap()
        .clone();
    let t = mine
        .iter()
        .find(|t| t["id"] == json!(task_id))
        .expect("the task is listed");
    assert_eq!(t["status"], "none");
    let res = member
        .post(&app, &format!("/api/tasks/{task_id}/start"), json!({}))
        .await;
    assert_eq!(res.status(), 201);
    let state: Value = res.json().await.unwrap();
    assert_eq!(state["mode"], "task");
    let drill_id = state["id"].as_str().unwrap().to_string();
    // Starting again resumes the same drill.
    let again: Value = member
        .post(&app, &format!("/api/tasks/{task_id}/start"), json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["id"], json!(drill_id));
    let stored: String = sqlx::query_scalar("SELECT questions FROM tasks WHERE id = $1")
        .bind(&task_id)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    let ids: Vec<String> = serde_json::from_str(&stored).unwrap();
    let items = biwu::records::drills::items(&app.db, &drill_id)
        .await
        .unwrap();
    assert_eq!(
        items
            .iter()
            .map(|i| i.question_id.clone())
            .collect::<Vec<_>>(),
        ids,
        "the task's questions, in order"
    );
    let mut right = 0;
    for (pos, item) in items.iter().enumerate() {
        let q: biwu::domain::Question = serde_json::from_str(&item.body).unwrap();
        assert_eq!(q.topic, biwu::domain::Topic::PetitionWork);
        let ok = pos != 1;
        right += ok as i64;
        let answer = if ok {
            right_answer(&q)
        } else {
            wrong_answer(&q)
        };
        let res = member
            .post(
                &app,
                &format!("/api/drills/{drill_id}/answers"),
                json!({"position": pos, "answer": answer}),
            )
            .await;
        assert_eq!(res.status(), 200);
    }
    let mine: Vec<Value> = member
        .get_json(&app, "/api/tasks")
        .await
        .as_array()
        .unwrap()
        .clone();
    let t = mine.iter().find(|t| t["id"] == json!(task_id)).unwrap();
    assert_eq!(t["status"], "done");
    assert_eq!(t["correct"], right);
    let report = head
        .get_json(&app, &format!("/api/sections/{wenmi}/report?period=week"))
        .await;
    let t = report["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == json!(task_id))
        .unwrap()
        .clone();
    assert_eq!(t["done"], 1);
    close(&t["accuracy"], Some(right as f64 / 5.0), "task accuracy");
    let me_id = member.member["id"].as_str().unwrap();
    let mine_row = t["per_member"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["member_id"] == me_id)
        .unwrap()
        .clone();
    assert_eq!(
        (
            mine_row["status"].as_str().unwrap(),
            mine_row["correct"].as_i64().unwrap()
        ),
        ("done", right)
    );

    // Other sections' members cannot take it; closing ends it for those who did not start.
    let other = app.session("d202").await;
    assert_eq!(
        other
            .post_status(&app, &format!("/api/tasks/{task_id}/start"), json!({}))
            .await,
        403
    );
    assert_eq!(
        member
            .post_status(&app, &format!("/api/tasks/{task_id}/close"), json!({}))
            .await,
        403
    );
    assert_eq!(
        head.post_status(&app, &format!("/api/tasks/{task_id}/close"), json!({}))
            .await,
        200
    );
    assert_eq!(
        head.post_status(&app, &format!("/api/tasks/{task_id}/close"), json!({}))
            .await,
        409
    );
    let mine: Vec<Value> = member
        .get_json(&app, "/api/tasks")
        .await
        .as_array()
        .unwrap()
        .clone();
    assert!(
        mine.iter().all(|t| t["id"] != json!(task_id)),
        "closed tasks leave the member's list"
    );
    let late = app.session("d105").await;
    assert_eq!(
        late.post_status(&app, &format!("/api/tasks/{task_id}/start"), json!({}))
            .await,
        409
    );

    // A hand-picked list keeps its order.
    let picked = json!({"question_ids": [ids[2], ids[0]]});
    let res = head
        .post(&app, &format!("/api/sections/{wenmi}/tasks"), task(picked))
        .await;
    assert_eq!(res.status(), 201);
    let t: Value = res.json().await.unwrap();
    assert_eq!(t["count"], 2);
    let audit: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action IN ('task.create', 'task.close', 'section.target')")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(audit, 4);
}

on_both_databases!(
    a_review_from_draft_to_published_to_new_version,
    a_review_from_draft_to_published_to_new_version_on_postgres,
    review_lifecycle
);

async fn review_lifecycle(app: TestApp) {
    let wenmi = section_id(&app, "文秘处").await;
    let head = app.session(HEAD).await;
    let member = app.session(MEMBER).await;
    let colleague = app.session("d103").await;
    let dept = app.session(DEPT_HEAD).await;
    let today = calendar::day_of(biwu::records::now_ms());
    let week = calendar::Period::LastWeek.span(today);
    let (from, to) = (calendar::iso(week.from), calendar::iso(week.last()));

    let res = head
        .post(
            &app,
            &format!("/api/sections/{wenmi}/reviews"),
            json!({"from": to, "to": from}),
        )
        .await;
    assert_eq!(res.status(), 422);
    let res = head
        .post(
            &app,
            &format!("/api/sections/{wenmi}/reviews"),
            json!({"from": from, "to": to}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let draft: Value = res.json().await.unwrap();
    let id = draft["id"].as_str().unwrap().to_string();
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["can_edit"], true);
    // Pre-filled with the period's facts, as the section page counts them.
    let report = head
        .get_json(
            &app,
            &format!("/api/sections/{wenmi}/report?from={from}&to={to}"),
        )
        .await;
    let facts = &draft["facts"];
    assert_eq!(facts["members"], report["summary"]["members"]);
    assert_eq!(facts["active"], report["summary"]["active"]);
    assert_eq!(facts["answers"], report["summary"]["answers"]);
    let body = draft["body"].as_str().unwrap();
    assert!(
        body.starts_with(&format!("{from}至{to}，文秘处共有")),
        "{body}"
    );
    assert!(
        body.contains(&format!("{}人参加岗位练兵", report["summary"]["active"])),
        "{body}"
    );
    for l in facts["laggards"].as_array().unwrap() {
        assert!(
            body.contains(l["name"].as_str().unwrap()),
            "laggard named: {body}"
        );
    }
    // Every member of the section can be given a comment.
    let people = draft["comments"].as_array().unwrap();
    assert_eq!(people.len(), report["members"].as_array().unwrap().len());

    // Nobody but the head sees a draft.
    assert_eq!(
        member
            .get(&app, &format!("/api/reviews/{id}"))
            .await
            .status(),
        403
    );
    assert_eq!(
        dept.get(&app, &format!("/api/reviews/{id}")).await.status(),
        403
    );
    assert!(
        member
            .get_json(&app, "/api/me/reviews")
            .await
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["id"] != json!(id))
    );

    // Edit, comment, publish.
    let me_id = member.member["id"].as_str().unwrap();
    let res = head
        .post(&app, &format!("/api/reviews/{id}"), json!({"body": "本周情况良好。\n\n继续努力。", "comments": [{"member_id": "nobody", "praise": "x"}]}))
        .await;
    assert_eq!(res.status(), 422, "comments only to the section's members");
    let res = head
        .post(
            &app,
            &format!("/api/reviews/{id}"),
            json!({"body": "本周情况良好。\n\n继续努力。", "comments": [
                {"member_id": me_id, "praise": "进步明显", "improve": "注意时限类题目"},
                {"member_id": colleague.member["id"], "praise": "", "improve": ""}
            ]}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        dept.post_status(
            &app,
            &format!("/api/reviews/{id}/remarks"),
            json!({"body": "好"})
        )
        .await,
        409,
        "drafts take no remarks"
    );
    assert_eq!(
        member
            .post_status(&app, &format!("/api/reviews/{id}/publish"), json!({}))
            .await,
        403
    );
    let res = head
        .post(&app, &format!("/api/reviews/{id}/publish"), json!({}))
        .await;
    assert_eq!(res.status(), 200);
    let published: Value = res.json().await.unwrap();
    assert_eq!(published["status"], "published");
    assert_eq!(published["body"], "本周情况良好。\n\n继续努力。");
    assert_eq!(published["can_revise"], true);

    // Published is final.
    let res = head
        .post(&app, &format!("/api/reviews/{id}"), json!({"body": "改了"}))
        .await;
    assert_eq!(res.status(), 409);
    assert_eq!(
        head.post_status(&app, &format!("/api/reviews/{id}/publish"), json!({}))
            .await,
        409
    );
    let stored: String = sqlx::query_scalar("SELECT body FROM reviews WHERE id = $1")
        .bind(&id)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(stored, "本周情况良好。\n\n继续努力。");

    // Members read it with only their own comment.
    let mine = member.get_json(&app, "/api/me/reviews").await;
    let r = mine
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == json!(id))
        .unwrap()
        .clone();
    assert_eq!(
        r["my_comment"],
        json!({"praise": "进步明显", "improve": "注意时限类题目"})
    );
    let theirs = colleague.get_json(&app, "/api/me/reviews").await;
    let r = theirs
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == json!(id))
        .unwrap()
        .clone();
    assert!(r["my_comment"].is_null(), "an empty comment is no comment");
    let seen = colleague
        .get_json(&app, &format!("/api/reviews/{id}"))
        .await;
    assert_eq!(
        seen["comments"],
        json!([]),
        "a member never sees what was written to others"
    );
    assert!(seen["facts"].is_null());
    let outsider = app.session("d202").await;
    assert_eq!(
        outsider
            .get(&app, &format!("/api/reviews/{id}"))
            .await
            .status(),
        403
    );

    // The department head remarks; the section head cannot.
    assert_eq!(
        head.post_status(
            &app,
            &format!("/api/reviews/{id}/remarks"),
            json!({"body": "好"})
        )
        .await,
        403
    );
    assert_eq!(
        dept.post_status(
            &app,
            &format!("/api/reviews/{id}/remarks"),
            json!({"body": " "})
        )
        .await,
        422
    );
    assert_eq!(
        dept.post_status(
            &app,
            &format!("/api/reviews/{id}/remarks"),
            json!({"body": "组织有力，继续保持。"})
        )
        .await,
        201
    );
    let seen = dept.get_json(&app, &format!("/api/reviews/{id}")).await;
    assert_eq!(seen["remarks"][0]["body"], "组织有力，继续保持。");
    assert_eq!(seen["remarks"][0]["author"], "钱卫东");

    // A correction is a new version; the old one stays as it was.
    let res = head
        .post(&app, &format!("/api/reviews/{id}/revise"), json!({}))
        .await;
    assert_eq!(res.status(), 201);
    let v2: Value = res.json().await.unwrap();
    let id2 = v2["id"].as_str().unwrap().to_string();
    assert_eq!(v2["version"], 2);
    assert_eq!(v2["status"], "draft");
    assert_eq!(v2["supersedes"], json!(id));
    assert_eq!(v2["body"], published["body"]);
    let again: Value = head
        .post(&app, &format!("/api/reviews/{id}/revise"), json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["id"], json!(id2), "one open draft per review");
    let res = head
        .post(&app, &format!("/api/reviews/{id2}"), json!({"body": "本周情况良好（更正）。", "comments": [{"member_id": me_id, "praise": "进步明显", "improve": ""}]}))
        .await;
    assert_eq!(res.status(), 200);
    // Members still see version 1 until version 2 is published.
    let mine = member.get_json(&app, "/api/me/reviews").await;
    assert!(
        mine.as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == json!(id))
    );
    assert_eq!(
        head.post_status(&app, &format!("/api/reviews/{id2}/publish"), json!({}))
            .await,
        200
    );
    let mine = member.get_json(&app, "/api/me/reviews").await;
    let ids: Vec<&str> = mine
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&id2.as_str()) && !ids.contains(&id.as_str()));
    let old = head.get_json(&app, &format!("/api/reviews/{id}")).await;
    assert_eq!(old["superseded_by"], json!(id2));
    assert_eq!(old["body"], "本周情况良好。\n\n继续努力。");
    assert_eq!(old["can_revise"], false);
    let history = head
        .get_json(&app, &format!("/api/sections/{wenmi}/reviews"))
        .await;
    let versions: Vec<(i64, bool)> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["series_id"] == json!(id))
        .map(|r| {
            (
                r["version"].as_i64().unwrap(),
                r["superseded"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(versions, vec![(2, false), (1, true)]);

    // The print view: the agency's title, the text, the comment, signature lines.
    let res = head.get(&app, &format!("/reviews/{id2}/print")).await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    for needle in [
        "国家信访局",
        "文秘处岗位练兵小结点评",
        "本周情况良好（更正）。",
        "进步明显",
        "处室负责人（签字）",
        "第 2 版",
    ] {
        assert!(html.contains(needle), "{needle} in the print view");
    }
    assert_eq!(
        outsider
            .get(&app, &format!("/reviews/{id2}/print"))
            .await
            .status(),
        403
    );
}

/// The text of a cell, numbers written plainly.
fn cell(range: &calamine::Range<calamine::Data>, row: usize, col: usize) -> calamine::Data {
    range
        .get_value((row as u32, col as u32))
        .cloned()
        .unwrap_or(calamine::Data::Empty)
}

#[tokio::test]
async fn the_workbook_holds_the_page_s_figures_cell_by_cell() {
    use calamine::{Data, Reader, Xlsx};
    let app = spawn_app().await;
    let wenmi = section_id(&app, "文秘处").await;
    let head = app.session(HEAD).await;
    let query = "period=last_week";
    let report = head
        .get_json(&app, &format!("/api/sections/{wenmi}/report?{query}"))
        .await;
    let res = head
        .get(
            &app,
            &format!("/api/sections/{wenmi}/workbook.xlsx?{query}"),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("spreadsheetml")
    );
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let bytes = res.bytes().await.unwrap();
    let mut book: Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    assert_eq!(
        book.sheet_names(),
        vec!["文秘处", "薄弱环节", "练兵任务", "小结点评"]
    );

    let members = book.worksheet_range("文秘处").unwrap();
    assert!(
        matches!(cell(&members, 0, 0), Data::String(t) if t.contains("文秘处") && t.contains(report["period"]["from"].as_str().unwrap()))
    );
    let headers: Vec<String> = (0..15).map(|c| cell(&members, 1, c).to_string()).collect();
    assert_eq!(
        headers[..8],
        [
            "姓名",
            "工号",
            "处室",
            "练兵次数",
            "目标次数",
            "答题数",
            "答对数",
            "正确率"
        ]
    );
    let rows = report["members"].as_array().unwrap();
    assert_eq!(members.height(), 2 + rows.len());
    for (i, r) in rows.iter().enumerate() {
        let row = i + 2;
        assert_eq!(
            cell(&members, row, 0),
            Data::String(r["name"].as_str().unwrap().into())
        );
        assert_eq!(
            cell(&members, row, 1),
            Data::String(r["staff_no"].as_str().unwrap().into())
        );
        for (col, key) in [
            (3, "drills"),
            (4, "target"),
            (5, "answers"),
            (6, "correct"),
            (8, "days"),
            (10, "notebook_open"),
            (11, "notebook_mastered"),
            (12, "competitions"),
            (13, "awards"),
        ] {
            assert_eq!(
                cell(&members, row, col),
                Data::Float(r[key].as_i64().unwrap() as f64),
                "{key} of {}",
                r["name"]
            );
        }
        match r["accuracy"].as_f64() {
            Some(a) => assert_eq!(
                cell(&members, row, 7),
                Data::Float(a),
                "accuracy is a number"
            ),
            None => assert_eq!(cell(&members, row, 7), Data::String("—".into())),
        }
        assert_eq!(
            cell(&members, row, 9).to_string(),
            r["last_active"].as_str().unwrap_or("")
        );
        let state = cell(&members, row, 14).to_string();
        assert_eq!(state == "未参练", r["idle"].as_bool().unwrap());
    }

    let weak = book.worksheet_range("薄弱环节").unwrap();
    assert_eq!(cell(&weak, 1, 0).to_string(), "专题");
    for (i, t) in report["topics"].as_array().unwrap().iter().enumerate() {
        assert_eq!(
            cell(&weak, 2 + i, 0).to_string(),
            t["name"].as_str().unwrap()
        );
        assert_eq!(
            cell(&weak, 2 + i, 3),
            Data::Float(t["answers"].as_i64().unwrap() as f64)
        );
        assert_eq!(
            cell(&weak, 2 + i, 5),
            Data::Float(t["accuracy"].as_f64().unwrap())
        );
    }

    // The demo's finished task (its period) and last week's published review.
    let tasks = book.worksheet_range("练兵任务").unwrap();
    let task_rows: Vec<Vec<String>> = (2..tasks.height())
        .map(|r| (0..10).map(|c| cell(&tasks, r, c).to_string()).collect())
        .collect();
    let expected: i64 = report["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| {
            let due = calendar::parse_day(t["due"].as_str().unwrap()).unwrap();
            let set = calendar::parse_day(t["created_at"].as_str().unwrap()).unwrap();
            let span = calendar::Period::LastWeek.span(calendar::day_of(biwu::records::now_ms()));
            set < span.to && due >= span.from
        })
        .map(|t| t["members"].as_i64().unwrap())
        .sum();
    assert_eq!(task_rows.len() as i64, expected);
    for t in report["tasks"].as_array().unwrap() {
        for p in t["per_member"].as_array().unwrap() {
            if let Some(line) = task_rows.iter().find(|l| {
                l[1] == t["title"].as_str().unwrap() && l[5] == p["name"].as_str().unwrap()
            }) {
                let status = match p["status"].as_str().unwrap() {
                    "done" => "已完成",
                    "started" => "进行中",
                    _ => "未开始",
                };
                assert_eq!(line[6], status);
                assert_eq!(line[7], p["answered"].to_string());
            }
        }
    }
    let reviews = book.worksheet_range("小结点评").unwrap();
    let texts: Vec<String> = (2..reviews.height())
        .map(|r| cell(&reviews, r, 4).to_string())
        .collect();
    assert!(
        texts.iter().any(|t| t.contains("文秘处共有")),
        "the published review's text"
    );
    assert!(
        texts.iter().any(|t| t.contains("正确率逐周提高")),
        "its comment to a member"
    );
    assert!(
        texts.iter().any(|t| t.contains("文秘处练兵组织有力")),
        "the department's remark"
    );

    // The agency's workbook: an overview, a sheet per department.
    let admin = app.session(ADMIN).await;
    let bytes = admin
        .get(&app, "/api/workbook.xlsx?period=last_week")
        .await
        .bytes()
        .await
        .unwrap();
    let mut book: Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    assert_eq!(
        book.sheet_names(),
        vec![
            "概况",
            "督查司",
            "综合司",
            "薄弱环节",
            "练兵任务",
            "小结点评"
        ]
    );
    let overview = book.worksheet_range("概况").unwrap();
    assert_eq!(overview.height(), 2 + 4);
    let zonghe = book.worksheet_range("综合司").unwrap();
    let sections: HashSet<String> = (2..zonghe.height())
        .map(|r| cell(&zonghe, r, 2).to_string())
        .collect();
    assert_eq!(
        sections,
        HashSet::from(["文秘处".to_string(), "研究处".to_string()])
    );
    let wenmi_row = (2..overview.height())
        .find(|r| cell(&overview, *r, 1) == "文秘处")
        .unwrap();
    assert_eq!(
        cell(&overview, wenmi_row, 2),
        Data::Float(report["summary"]["members"].as_i64().unwrap() as f64)
    );
    assert_eq!(
        cell(&overview, wenmi_row, 6),
        Data::Float(report["summary"]["answers"].as_i64().unwrap() as f64)
    );
}

/// A database made by the first migration, with drills in it, upgrades: the rollup is filled
/// from the answers it already had, and everything reads.
#[tokio::test]
async fn a_database_of_the_first_release_upgrades() {
    for (_dir, url) in first_release_databases().await {
        let db = {
            sqlx::any::install_default_drivers();
            let pool = sqlx::any::AnyPoolOptions::new()
                .max_connections(1)
                .connect(&url)
                .await
                .unwrap();
            let pg = url.starts_with("postgres");
            // As the first release left it: migrated to its one migration.
            let dir = if pg {
                "migrations/postgres"
            } else {
                "migrations/sqlite"
            };
            let migrator = sqlx::migrate::Migrator::new(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir),
            )
            .await
            .unwrap();
            migrator.run_to(1, &pool).await.unwrap();
            let tables: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
                .fetch_one(&pool)
                .await
                .unwrap();
            assert_eq!(tables, 1);
            for sql in [
                "INSERT INTO departments (id, name, created_at) VALUES ('d', '综合司', 0)",
                "INSERT INTO sections (id, department_id, name, created_at) VALUES ('s', 'd', '文秘处', 0)",
                "INSERT INTO members (id, staff_no, name, section_id, role, created_at, updated_at) VALUES ('m', '1', '甲', 's', 'member', 0, 0)",
                "INSERT INTO questions (id, topic, kind, difficulty, current_version, created_at, updated_at) VALUES ('q', 'petition-work', 'truefalse', 1, 'v', 0, 0)",
                "INSERT INTO question_versions (version, question_id, body, created_at) VALUES ('v', 'q', '{}', 0)",
                "INSERT INTO drills (id, member_id, mode, settings, seed, question_count, started_at) VALUES ('x', 'm', 'topics', '{}', 1, 3, 1764547200000)",
                "INSERT INTO drill_answers VALUES ('x', 0, 'm', 'q', 'v', 'null', 1, 0, 10, 1764547200000)",
                "INSERT INTO drill_answers VALUES ('x', 1, 'm', 'q', 'v', 'null', 0, 0, 10, 1764550800000)",
                "INSERT INTO drill_answers VALUES ('x', 2, 'm', 'q', 'v', 'null', 1, 0, 10, 1764662400000)",
                "INSERT INTO reviews (id, section_id, author_id, period_start, period_end, body, created_at) VALUES ('r', 's', 'm', 0, 1, '旧', 0)",
            ] {
                sqlx::query(sql).execute(&pool).await.unwrap();
            }
            pool.close().await;
            biwu::records::Db::connect(&url).await.expect("upgrades")
        };
        let days: Vec<(String, i64, i64, i64)> =
            sqlx::query_as("SELECT member_id, day, answers, correct FROM drill_days ORDER BY day")
                .fetch_all(&db.pool)
                .await
                .unwrap();
        // 2025-12-01 00:00 and 01:00 UTC are one day in Beijing; 2025-12-02 08:00 UTC another.
        assert_eq!(
            days,
            vec![
                ("m".to_string(), calendar::day_of(1764547200000), 2, 1),
                ("m".to_string(), calendar::day_of(1764662400000), 1, 1)
            ]
        );
        let (series, version, status): (String, i64, String) =
            sqlx::query_as("SELECT series_id, version, status FROM reviews WHERE id = 'r'")
                .fetch_one(&db.pool)
                .await
                .unwrap();
        assert_eq!(
            (series.as_str(), version, status.as_str()),
            ("r", 1, "draft")
        );
        let t = progress::totals(
            &db,
            progress::Scope::Section("s"),
            Span {
                from: 0,
                to: 100_000,
            },
        )
        .await
        .unwrap();
        assert_eq!((t.active, t.answers, t.correct), (1, 3, 2));
        let task_col: Option<String> =
            sqlx::query_scalar("SELECT task_id FROM drills WHERE id = 'x'")
                .fetch_one(&db.pool)
                .await
                .unwrap();
        assert!(task_col.is_none());
    }
}

/// An empty SQLite file and (when available) an empty PostgreSQL database.
async fn first_release_databases() -> Vec<(Option<tempfile::TempDir>, String)> {
    let (dir, url) = fresh_sqlite();
    std::fs::File::create(dir.path().join("biwu.db")).unwrap();
    let mut out = vec![(Some(dir), url)];
    if let Some(base) = postgres_url() {
        out.push((None, fresh_postgres(&base).await));
    }
    out
}

/// The migration versions of the tree (1, 2, 3, …).
fn shipped_versions(pg: bool) -> Vec<i64> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let tree = root.join(if pg {
        "migrations/postgres"
    } else {
        "migrations/sqlite"
    });
    let mut v: Vec<i64> = std::fs::read_dir(tree)
        .unwrap()
        .map(|e| {
            e.unwrap().file_name().to_string_lossy()[..4]
                .parse()
                .unwrap()
        })
        .collect();
    v.sort_unstable();
    v
}

/// Opens a database of an earlier release with this one: it upgrades, to every migration of
/// the tree.
async fn upgraded(url: &str) -> biwu::records::Db {
    let db = biwu::records::Db::connect(url).await.expect("upgrades");
    let versions: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(versions, shipped_versions(url.starts_with("postgres")));
    db
}

/// Migrates a fresh database with `files` of the tree only (the release before), runs `seed`
/// in it, and closes it again for the current release to open.
async fn release_before(url: &str, files: &[&str], seed: &[&'static str]) {
    let pg = url.starts_with("postgres");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let tree = root.join(if pg {
        "migrations/postgres"
    } else {
        "migrations/sqlite"
    });
    let before = tempfile::tempdir().unwrap();
    for f in files {
        std::fs::copy(tree.join(f), before.path().join(f)).unwrap();
    }
    sqlx::any::install_default_drivers();
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .unwrap();
    sqlx::migrate::Migrator::new(before.path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    for &sql in seed {
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
    pool.close().await;
}

/// A database of the release before the exam round (migrations 0001–0003, with a
/// competition's award in it) upgrades: 0004 adds exams and teams and the award keeps its
/// competition.
#[tokio::test]
async fn a_database_before_the_exam_round_upgrades() {
    for (_dir, url) in first_release_databases().await {
        release_before(
            &url,
            &["0001_records.sql", "0002_sections.sql", "0003_member_names.sql"],
            &[
                "INSERT INTO members (id, staff_no, name, role, created_at, updated_at) VALUES ('m', '1', '甲', 'host', 0, 0)",
                "INSERT INTO competitions (id, title, pin, status, settings, seed, created_by, created_at) VALUES ('c', '春季比武', '123456', 'ended', '{}', 1, 'm', 0)",
                "INSERT INTO awards (id, member_id, title, competition_id, standing_rank, standing_points, confirmed_by, confirmed_at) VALUES ('a', 'm', '业务标兵', 'c', 1, 900, 'm', 0)",
            ],
        )
        .await;

        let db = upgraded(&url).await;
        let honors = biwu::records::competitions::honors(&db, None)
            .await
            .unwrap();
        assert_eq!(honors.len(), 1, "the award is kept");
        assert_eq!(honors[0].competition.as_deref(), Some("春季比武"));
        let exams: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM exams")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(exams, 0);
        let teams = biwu::records::teams::awards(&db, None).await.unwrap();
        assert!(teams.is_empty());
    }
}

/// A database of the exam-round release (0001–0004, with an exam, an attempt and an award)
/// upgrades: 0005 adds the stage final and the award keeps everything it had.
#[tokio::test]
async fn a_database_of_the_exam_round_release_upgrades() {
    for (_dir, url) in first_release_databases().await {
        release_before(
            &url,
            &[
                "0001_records.sql",
                "0002_sections.sql",
                "0003_member_names.sql",
                "0004_exams_and_teams.sql",
            ],
            &[
                "INSERT INTO members (id, staff_no, name, role, created_at, updated_at) VALUES ('m', '1', '甲', 'host', 0, 0)",
                "INSERT INTO exams (id, title, settings, seed, opens_at, closes_at, duration_ms, max_attempts, created_by, created_at) VALUES ('e', '初赛', '{}', 1, 0, 1, 1, 1, 'm', 0)",
                "INSERT INTO exam_attempts (id, exam_id, member_id, number, seed, started_at, deadline_at, submitted_at, score) VALUES ('t', 'e', 'm', 1, 1, 0, 1, 1, 42)",
                "INSERT INTO awards (id, member_id, title, exam_id, standing_rank, standing_points, confirmed_by, confirmed_at) VALUES ('a', 'm', '业务标兵', 'e', 1, 42, 'm', 0)",
            ],
        )
        .await;

        let db = upgraded(&url).await;
        let (exam, stage): (Option<String>, Option<String>) =
            sqlx::query_as("SELECT exam_id, stage_id FROM awards WHERE id = 'a'")
                .fetch_one(&db.pool)
                .await
                .unwrap();
        assert_eq!(
            (exam.as_deref(), stage),
            (Some("e"), None),
            "the award keeps its exam"
        );
        let score: i64 = sqlx::query_scalar("SELECT score FROM exam_attempts WHERE id = 't'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(score, 42);
        let stages: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM stages")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(stages, 0);
    }
}

/// A database of the several-instances release (0001–0006, with a final under way and awards
/// revoked) upgrades: 0007 gives finals a fence of their own, 0 (no lease yet), and keeps one
/// revocation per award (the earlier of two written at once).
#[tokio::test]
async fn a_database_of_the_several_instances_release_upgrades() {
    for (_dir, url) in first_release_databases().await {
        release_before(
            &url,
            &[
                "0001_records.sql",
                "0002_sections.sql",
                "0003_member_names.sql",
                "0004_exams_and_teams.sql",
                "0005_stage_final.sql",
                "0006_stage_audience.sql",
            ],
            &[
                "INSERT INTO members (id, staff_no, name, role, created_at, updated_at) VALUES ('m', '1', '甲', 'host', 0, 0)",
                "INSERT INTO stages (id, title, settings, status, state, created_by, created_at) VALUES ('s', '决赛', '{}', 'running', '{\"round\":0,\"item\":0,\"step\":{\"step\":\"intro\"}}', 'm', 0)",
                // An award revoked twice at once (the race the check alone let through), and
                // one revoked once.
                "INSERT INTO awards (id, member_id, title, confirmed_by, confirmed_at) VALUES ('a1', 'm', '业务标兵', 'm', 1)",
                "INSERT INTO awards (id, member_id, title, revokes, reason, confirmed_by, confirmed_at) VALUES ('r2', 'm', '撤销：业务标兵', 'a1', '第二', 'm', 5)",
                "INSERT INTO awards (id, member_id, title, revokes, reason, confirmed_by, confirmed_at) VALUES ('r1', 'm', '撤销：业务标兵', 'a1', '第一', 'm', 5)",
                "INSERT INTO awards (id, member_id, title, confirmed_by, confirmed_at) VALUES ('a2', 'm', '业务标兵', 'm', 1)",
                "INSERT INTO awards (id, member_id, title, revokes, reason, confirmed_by, confirmed_at) VALUES ('r3', 'm', '撤销：业务标兵', 'a2', '唯一', 'm', 9)",
                "INSERT INTO team_awards (id, event_kind, event_id, team_kind, team_ref, team_name, title, members, confirmed_by, confirmed_at) VALUES ('t1', 'exam', 'e', 'section', 's1', '一处', '优胜团队', '[]', 'm', 1)",
                "INSERT INTO team_awards (id, event_kind, event_id, team_kind, team_ref, team_name, title, members, revokes, reason, confirmed_by, confirmed_at) VALUES ('tr2', 'exam', 'e', 'section', 's1', '一处', '撤销：优胜团队', '[]', 't1', '后', 'm', 8)",
                "INSERT INTO team_awards (id, event_kind, event_id, team_kind, team_ref, team_name, title, members, revokes, reason, confirmed_by, confirmed_at) VALUES ('tr1', 'exam', 'e', 'section', 's1', '一处', '撤销：优胜团队', '[]', 't1', '先', 'm', 7)",
            ],
        )
        .await;

        let db = upgraded(&url).await;
        // One revocation per award is kept: the earlier (by time, then id).
        let kept: Vec<String> =
            sqlx::query_scalar("SELECT id FROM awards WHERE revokes IS NOT NULL ORDER BY id")
                .fetch_all(&db.pool)
                .await
                .unwrap();
        assert_eq!(kept, ["r1", "r3"]);
        let kept: Vec<String> =
            sqlx::query_scalar("SELECT id FROM team_awards WHERE revokes IS NOT NULL")
                .fetch_all(&db.pool)
                .await
                .unwrap();
        assert_eq!(kept, ["tr1"]);
        let fence: i64 = sqlx::query_scalar("SELECT owner_fence FROM stages WHERE id = 's'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(fence, 0);
        // A conductor claims it under a lease's fence, and an older fence is refused.
        assert!(biwu::records::stages::claim(&db, "s", 7).await.unwrap());
        assert!(!biwu::records::stages::claim(&db, "s", 5).await.unwrap());
        let s = biwu::records::stages::by_id(&db, "s")
            .await
            .unwrap()
            .unwrap();
        assert!(s.state.unwrap().contains("intro"));
    }
}

/// A database of the stage-final release (0001–0005, with a final under way) upgrades: 0006
/// adds the audience, the final keeps its state and has no audience PIN.
#[tokio::test]
async fn a_database_of_the_stage_final_release_upgrades() {
    for (_dir, url) in first_release_databases().await {
        release_before(
            &url,
            &[
                "0001_records.sql",
                "0002_sections.sql",
                "0003_member_names.sql",
                "0004_exams_and_teams.sql",
                "0005_stage_final.sql",
            ],
            &[
                "INSERT INTO members (id, staff_no, name, role, created_at, updated_at) VALUES ('m', '1', '甲', 'host', 0, 0)",
                "INSERT INTO stages (id, title, settings, status, state, created_by, created_at) VALUES ('s', '决赛', '{}', 'running', '{\"round\":0,\"item\":0,\"step\":{\"step\":\"intro\"}}', 'm', 0)",
                "INSERT INTO stage_teams (stage_id, position, name, colour, base_score, device_hash) VALUES ('s', 0, '一队', '#1565c0', 100, 'h')",
            ],
        )
        .await;

        let db = upgraded(&url).await;
        let s = biwu::records::stages::by_id(&db, "s")
            .await
            .unwrap()
            .expect("the final is kept");
        assert_eq!((s.status.as_str(), s.audience_pin), ("running", None));
        assert!(s.state.unwrap().contains("intro"));
        assert!(
            biwu::records::stages::audience(&db, "s")
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            biwu::records::stages::teams(&db, "s").await.unwrap().len(),
            1
        );
    }
}

/// Migration 0002 shipped in two forms; the one with the `members_name` index (now 0003)
/// upgrades as well as the other.
#[tokio::test]
async fn a_database_migrated_with_the_early_form_of_0002_upgrades() {
    for (_dir, url) in first_release_databases().await {
        let pg = url.starts_with("postgres");
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let early = tempfile::tempdir().unwrap();
        let tree = root.join(if pg {
            "migrations/postgres"
        } else {
            "migrations/sqlite"
        });
        std::fs::copy(
            tree.join("0001_records.sql"),
            early.path().join("0001_records.sql"),
        )
        .unwrap();
        std::fs::copy(
            root.join("tests/fixtures/0002_sections_as_first_shipped_with_member_names.sql"),
            early.path().join("0002_sections.sql"),
        )
        .unwrap();
        sqlx::any::install_default_drivers();
        let pool = sqlx::any::AnyPoolOptions::new()
            .max_connections(1)
            .connect(&url)
            .await
            .unwrap();
        let migrator = sqlx::migrate::Migrator::new(early.path()).await.unwrap();
        let checksum = migrator
            .iter()
            .find(|m| m.version == 2)
            .unwrap()
            .checksum
            .to_vec();
        assert_eq!(
            hex::encode(&checksum),
            biwu::records::EARLY_0002_WITH_MEMBER_NAMES,
            "the constant is that form's checksum"
        );
        migrator.run(&pool).await.unwrap();
        sqlx::query("INSERT INTO members (id, staff_no, name, role, created_at, updated_at) VALUES ('m', '1', '甲', 'member', 0, 0)")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;

        let db = biwu::records::Db::connect(&url).await.expect("upgrades");
        let versions: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
                .fetch_all(&db.pool)
                .await
                .unwrap();
        assert_eq!(
            versions,
            shipped_versions(pg),
            "every migration of the tree ran"
        );
        let name: String = sqlx::query_scalar("SELECT name FROM members WHERE staff_no = '1'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(name, "甲", "nothing already stored is lost");
        drop(db);
        // And again: the reconciled record is now the tree's own.
        biwu::records::Db::connect(&url)
            .await
            .expect("starts again");
    }
}
