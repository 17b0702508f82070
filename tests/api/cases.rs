//! Case groups (案例题) end to end: the shipped bank's groups are drawn whole and in order by
//! drills, exams and live competitions; every screen gets the scenario with each question;
//! each question of a group is scored on its own; spreadsheets carry groups in and out.

use crate::exams::{create as create_exam, paper, put, response_to};
use crate::helpers::*;
use crate::ws::Ws;
use biwu::domain::competition;
use biwu::domain::exam::{PaperSpec, TopicCount, draw_paper};
use biwu::domain::{Question, Topic};
use serde_json::{Value, json};

fn bank() -> Vec<Question> {
    let bank = biwu::bank::load(&bank_dir());
    assert!(bank.is_valid(), "{:?}", bank.problems);
    bank.questions().cloned().collect()
}

/// Runs of one group in a sequence of (case id, position) must be whole and in order: each
/// group appears once, as 1, 2, …, size.
fn assert_whole_runs(cases: &[Option<(String, u64, u64)>], what: &str) -> usize {
    let mut groups = 0;
    let mut seen = std::collections::HashSet::new();
    let mut i = 0;
    while i < cases.len() {
        let Some((id, position, size)) = &cases[i] else {
            i += 1;
            continue;
        };
        assert_eq!(
            *position, 1,
            "{what}: group {id} starts at its first question"
        );
        assert!(seen.insert(id.clone()), "{what}: group {id} appears twice");
        for k in 1..*size {
            let next = cases.get(i + k as usize).cloned().flatten();
            assert_eq!(
                next.as_ref().map(|(g, p, _)| (g.as_str(), *p)),
                Some((id.as_str(), k + 1)),
                "{what}: group {id} continues in order"
            );
        }
        groups += 1;
        i += *size as usize;
    }
    groups
}

fn case_of(v: &Value) -> Option<(String, u64, u64)> {
    let c = v.get("case")?;
    if c.is_null() {
        return None;
    }
    assert!(!c["scenario"].as_str().unwrap().is_empty());
    assert!(
        c.get("source").is_none(),
        "the group's sources stay hidden until the answer"
    );
    Some((
        c["id"].as_str().unwrap().to_string(),
        c["position"].as_u64().unwrap(),
        c["size"].as_u64().unwrap(),
    ))
}

#[test]
fn the_shipped_bank_holds_forty_case_groups_of_three_to_five_questions() {
    let qs = bank();
    let mut sizes: std::collections::BTreeMap<String, (u32, Vec<u32>)> = Default::default();
    for q in &qs {
        if let Some(c) = &q.case {
            let e = sizes.entry(c.id.clone()).or_default();
            e.0 = c.size;
            e.1.push(c.position);
            assert!(
                q.source.contains("《信访工作条例》"),
                "{} cites its article",
                q.id
            );
        }
    }
    assert!(sizes.len() >= 40, "{} groups", sizes.len());
    for (id, (size, mut positions)) in sizes {
        positions.sort();
        assert!((3..=5).contains(&size), "{id}");
        assert_eq!(positions, (1..=size).collect::<Vec<_>>(), "{id}");
    }
}

#[tokio::test]
async fn a_drill_shows_each_group_whole_with_its_scenario_and_scores_each_question() {
    let app = spawn_app().await;
    let me = crate::drills::newcomer(&app, "n401").await;
    let qs = bank();
    let by_stem = |s: &str| {
        qs.iter()
            .find(|q| q.stem == s)
            .expect("a bank question")
            .clone()
    };
    let mut groups = 0;
    for _ in 0..6 {
        let started: Value = me
            .post(
                &app,
                "/api/drills",
                json!({"mode": "topics", "topics": ["skills"], "count": 20}),
            )
            .await
            .json()
            .await
            .unwrap();
        let id = started["id"].as_str().unwrap().to_string();
        let mut cases = Vec::new();
        let mut expected_right = 0;
        for i in 0..20 {
            let state: Value = me.get_json(&app, &format!("/api/drills/{id}")).await;
            let cur = &state["current"];
            assert_eq!(cur["position"], i);
            let q = by_stem(cur["stem"].as_str().unwrap());
            let case = case_of(cur);
            if let (Some((g, p, _)), Some(c)) = (&case, &q.case) {
                assert_eq!((g.as_str(), *p as u32), (c.id.as_str(), c.position));
                assert_eq!(cur["case"]["scenario"], c.scenario.as_str());
            } else {
                assert!(case.is_none() && q.case.is_none(), "{}", q.id);
            }
            // Case questions at odd places in their group right, the rest wrong.
            let give_right = case.as_ref().is_some_and(|(_, p, _)| p % 2 == 1);
            let answer = if give_right {
                right_answer(&q)
            } else {
                wrong_answer(&q)
            };
            let fb: Value = me
                .post(
                    &app,
                    &format!("/api/drills/{id}/answers"),
                    json!({"position": i, "answer": answer}),
                )
                .await
                .json()
                .await
                .unwrap();
            assert_eq!(fb["correct"], give_right, "{}", q.id);
            expected_right += give_right as u64;
            cases.push(case);
        }
        groups += assert_whole_runs(&cases, "drill");
        let s: Value = me
            .get_json(&app, &format!("/api/drills/{id}/summary"))
            .await;
        assert_eq!(s["correct"], expected_right);
        if groups >= 2 {
            return;
        }
    }
    panic!("six drills of 20 skills questions brought {groups} case groups");
}

on_both_databases!(
    an_exam_draws_groups_whole_keeps_them_together_for_each_taker_on_sqlite,
    an_exam_draws_groups_whole_keeps_them_together_for_each_taker_on_postgres,
    exam_with_cases
);

async fn exam_with_cases(app: TestApp) {
    let qs = bank();
    let spec = PaperSpec {
        mix: vec![TopicCount {
            topic: Topic::Skills,
            count: 16,
        }],
        ..PaperSpec::default()
    };
    // A seed whose paper holds at least two groups (the server draws the same paper).
    let seed = (0..500u64)
        .find(|&s| {
            let (p, _) = draw_paper(&qs, &spec, s);
            p.iter()
                .filter(|q| q.case.as_ref().is_some_and(|c| c.position == 1))
                .count()
                >= 2
        })
        .expect("a seed with two groups");
    let host = app.session(HOST).await;
    let exam = create_exam(
        &app,
        &host,
        json!({"paper": {"mix": [{"topic": "skills", "count": 16}]}, "seed": seed}),
    )
    .await;
    let id = exam["id"].as_str().unwrap().to_string();
    let stored = paper(&app, &id).await;
    let (local, _) = draw_paper(&qs, &spec, seed);
    let stored_ids: Vec<&str> = stored.iter().map(|(q, _)| q.id.as_str()).collect();
    let local_ids: Vec<&str> = local.iter().map(|q| q.id.as_str()).collect();
    assert_eq!(stored_ids, local_ids);

    for staff in ["d102", "d103", "d202"] {
        let s = app.session(staff).await;
        let state: Value = s
            .post(&app, &format!("/api/exams/{id}/attempts"), json!({}))
            .await
            .json()
            .await
            .unwrap();
        let shown = state["questions"].as_array().unwrap();
        let cases: Vec<_> = shown.iter().map(case_of).collect();
        assert!(assert_whole_runs(&cases, staff) >= 2);
        // Case questions right, the rest wrong: the score is the case questions' points.
        let mut expected = 0;
        for (n, q) in shown.iter().enumerate() {
            let is_case = cases[n].is_some();
            let res = put(
                &s,
                &app,
                &format!("/api/exams/{id}/attempt/answers/{n}"),
                json!({"response": response_to(q, &stored, is_case), "marked": false}),
            )
            .await;
            assert_eq!(res.status(), 200);
            if is_case {
                let stem = q["stem"].as_str().unwrap();
                expected += stored.iter().find(|(b, _)| b.stem == stem).unwrap().1;
            }
        }
        let result: Value = s
            .post(&app, &format!("/api/exams/{id}/attempt/submit"), json!({}))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(result["score"], expected, "{staff}: {result}");
        let review = result["review"].as_array().unwrap();
        let reviewed: Vec<_> = review.iter().map(case_of).collect();
        assert_whole_runs(&reviewed, "review");
    }
}

#[tokio::test]
async fn a_live_competition_draws_a_group_whole_and_sends_the_scenario_with_each_question() {
    let app = spawn_app().await;
    let qs = bank();
    let seed = (0..500u64)
        .find(|&s| {
            let d = competition::draw(&qs, &[Topic::Skills], &[], &[], 6, s);
            d.iter().any(|q| q.case.is_some())
        })
        .expect("a seed drawing a group");
    let drawn: Vec<Question> = competition::draw(&qs, &[Topic::Skills], &[], &[], 6, seed)
        .into_iter()
        .cloned()
        .collect();
    let host = app.session(HOST).await;
    let res = host
        .post(
            &app,
            "/api/competitions",
            json!({"title": "案例竞赛", "topics": ["skills"], "count": 6, "seed": seed,
                   "time_limit_s": 30, "guests_allowed": true, "award_rule": {"top_n": 1}}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let c: Value = res.json().await.unwrap();
    let (cid, pin) = (c["id"].as_str().unwrap(), c["pin"].as_str().unwrap());
    let host_cookie = app.cookie(HOST).await;
    let (mut console, _) = Ws::hello_staff(&app, &host_cookie, "host", cid).await;
    let (mut player, _) = Ws::hello_player(&app, None, pin, Some("访客小李"), None).await;
    console.until("lobby").await;
    assert_eq!(console.command(json!({"type": "start"})).await, None);
    let mut cases = Vec::new();
    for (i, q) in drawn.iter().enumerate() {
        let frame = player.until("question").await;
        assert_eq!(frame["position"], i as u64);
        assert_eq!(frame["stem"], q.stem.as_str());
        let case = case_of(&frame);
        assert_eq!(case.is_some(), q.case.is_some(), "{}", q.id);
        if let Some(c) = &q.case {
            assert_eq!(frame["case"]["scenario"], c.scenario.as_str());
        }
        // Group questions right, the others wrong: each is scored on its own.
        let give_right = q.case.is_some();
        let answer = if give_right {
            right_answer(q)
        } else {
            wrong_answer(q)
        };
        assert_eq!(player.answer(i as u64, answer).await["type"], "ack");
        let result = player.until("result").await;
        assert_eq!(result["correct"], give_right, "{}", q.id);
        cases.push(case);
        assert_eq!(console.command(json!({"type": "next"})).await, None);
        console.until("leaderboard").await;
        if i + 1 < drawn.len() {
            assert_eq!(console.command(json!({"type": "next"})).await, None);
        }
    }
    assert!(assert_whole_runs(&cases, "live") >= 1);
}

#[test]
fn a_spreadsheet_carries_groups_in_and_out_and_a_broken_group_imports_nothing() {
    use biwu::bank::{Vocabulary, sheet};
    let dir = tempfile::tempdir().unwrap();
    let header = sheet::header().join(",");
    let row = |id: &str, kind: &str, stem: &str, answer: &str, case: [&str; 4]| {
        let mut cells = vec![id.to_string(), kind.into(), stem.into()];
        cells.extend((0..8).map(|i| {
            if kind == "单选题" && i < 2 {
                ["甲", "乙"][i].to_string()
            } else {
                String::new()
            }
        }));
        cells.extend(
            [
                answer,
                "解析",
                "登记",
                "2",
                "《信访工作条例》（2022年）第二十二条",
                "业务技能",
                "",
                "",
                "",
                "",
            ]
            .map(String::from),
        );
        cells.extend(case.map(String::from));
        cells.join(",")
    };
    let scenario = [
        "cs-9100",
        "一封来信",
        "2025年3月3日（星期一）县信访局收到一封来信。",
        "《信访工作条例》（2022年）第二十二条",
    ];
    let rest = ["cs-9100", "", "", ""];
    let good = [
        header.clone(),
        row("", "判断题", "应当予以登记。", "正确", scenario),
        row("", "单选题", "第二问？", "B", rest),
        row("", "判断题", "第三问。", "错误", rest),
        row("pw-9999", "判断题", "普通题。", "正确", ["", "", "", ""]),
    ]
    .join("\n");
    let file = dir.path().join("cases.csv");
    std::fs::write(&file, &good).unwrap();
    let imported = sheet::import(&file, &Vocabulary::builtin(), &[]).unwrap();
    assert!(imported.errors.is_empty(), "{:?}", imported.errors);
    let ids: Vec<&str> = imported.questions.iter().map(|q| q.id.as_str()).collect();
    assert_eq!(ids, ["cs-9100-1", "cs-9100-2", "cs-9100-3", "pw-9999"]);
    for (i, q) in imported.questions[..3].iter().enumerate() {
        let c = q.case.as_ref().unwrap();
        assert_eq!((c.position, c.size), (i as u32 + 1, 3));
        assert_eq!(c.scenario, scenario[2]);
    }
    // Out and in again: the same questions.
    let out = dir.path().join("out.csv");
    sheet::export(&out, &imported.questions).unwrap();
    let back = sheet::import(&out, &Vocabulary::builtin(), &[]).unwrap();
    assert!(back.errors.is_empty(), "{:?}", back.errors);
    assert_eq!(back.questions, imported.questions);
    // Into the bank as TOML, and the bank reads them back.
    let bank_dir = dir.path().join("bank");
    sheet::write_into(&bank_dir, "cases", &imported.questions).unwrap();
    let loaded = biwu::bank::load(&bank_dir);
    assert!(loaded.is_valid(), "{:?}", loaded.problems);
    assert_eq!(loaded.questions.len(), 4);

    // A group of two questions, one with a bad answer: nothing of it is imported, the plain
    // question is, and each error names its row.
    let bad = [
        header,
        row("", "判断题", "应当予以登记。", "正确", scenario),
        row("", "单选题", "第二问？", "X", rest),
        row("pw-9999", "判断题", "普通题。", "正确", ["", "", "", ""]),
    ]
    .join("\n");
    std::fs::write(&file, &bad).unwrap();
    let imported = sheet::import(&file, &Vocabulary::builtin(), &[]).unwrap();
    let ids: Vec<&str> = imported.questions.iter().map(|q| q.id.as_str()).collect();
    assert_eq!(ids, ["pw-9999"]);
    let errors: Vec<String> = imported.errors.iter().map(|e| e.to_string()).collect();
    assert!(
        errors.iter().any(|e| e.starts_with("第 3 行")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("第 2 行") && e.contains("整组未导入")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("案例应有 3–5 道小题")),
        "{errors:?}"
    );
}
