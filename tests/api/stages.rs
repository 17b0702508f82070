//! The stage final's set-up over HTTP: teams, judges and rounds with their rules; questions
//! drawn once with a stored seed (by stake and difficulty for 风险); device codes shown once
//! and kept as hashes; every rule broken named; who may see what.

use crate::helpers::*;
use biwu::domain::Question;
use serde_json::{Value, json};
use std::collections::HashSet;

fn body(seed: u64) -> Value {
    json!({
        "title": "信访业务知识决赛",
        "teams": [
            {"name": "文秘处代表队", "members": ["d102", "d103"]},
            {"name": "研究处代表队", "members": ["d202", "d203"], "colour": "#2e7d32"},
            {"name": "督查处代表队", "members": ["d302", "d303"], "base_score": 120},
        ],
        "judges": ["d104", "d204", "d304"],
        "rounds": [
            {"kind": "compulsory", "count": 6, "topics": ["petition-work"], "right": 10},
            {"title": "抢答", "kind": "buzzer", "count": 4, "right": 20, "wrong": 10, "false_start": 5, "pass_on_wrong": true},
            {"kind": "risk", "count": 1, "stakes": [30, 10, 20], "risk_cost": "stake"},
            {"kind": "judged", "criteria": [
                {"name": "政策把握", "max": 10, "weight": 40},
                {"name": "沟通表达", "max": 10, "weight": 30},
                {"name": "处置规范", "max": 20, "weight": 30},
            ]},
        ],
        "settings": {"hide_judge_totals": true, "team_winners": 1},
        "seed": seed,
    })
}

async fn create(app: &TestApp, host: &Session, b: Value) -> (reqwest::StatusCode, Value) {
    let res = host.post(app, "/api/stages", b).await;
    let status = res.status();
    (status, res.json().await.unwrap())
}

on_both_databases!(
    a_final_is_set_up_with_teams_judges_and_rounds_on_sqlite,
    a_final_is_set_up_with_teams_judges_and_rounds_on_postgres,
    set_up
);

async fn set_up(app: TestApp) {
    let host = app.session(HOST).await;
    let (status, made) = create(&app, &host, body(42)).await;
    assert_eq!(status, 201, "{made}");
    let id = made["id"].as_str().unwrap();
    let codes: Vec<&str> = made["teams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["device_code"].as_str().unwrap())
        .collect();
    assert_eq!(codes.len(), 3);
    assert_eq!(codes.iter().collect::<HashSet<_>>().len(), 3);
    assert!(codes.iter().all(|c| c.len() == 12));
    assert_eq!(made["teams"][1]["colour"], "#2e7d32");

    let d: Value = host.get_json(&app, &format!("/api/stages/{id}")).await;
    assert!(!d.to_string().contains(codes[0]), "codes are shown once");
    assert!(!d.to_string().contains("device_code") && !d.to_string().contains("device_hash"));
    let teams = d["teams"].as_array().unwrap();
    assert_eq!(teams[0]["members"].as_array().unwrap().len(), 2);
    assert_eq!(teams[2]["base_score"], 120);
    assert_eq!(d["judges"].as_array().unwrap().len(), 3);
    let rounds = d["rounds"].as_array().unwrap();
    assert_eq!(rounds.len(), 4);
    assert_eq!(rounds[0]["title"], "必答题");
    assert_eq!(rounds[1]["title"], "抢答");
    assert_eq!(rounds[1]["rules"]["false_start"], 5);
    assert_eq!(rounds[0]["questions"].as_array().unwrap().len(), 6);
    assert_eq!(rounds[1]["questions"].as_array().unwrap().len(), 4);
    assert!(rounds[3]["questions"].as_array().unwrap().is_empty());

    // Every question once, no fact twice, none a case question; 必答 from its topic.
    let bank = biwu::bank::load(&bank_dir());
    let by_id = |qid: &str| -> Question { bank.questions().find(|q| q.id == qid).unwrap().clone() };
    let mut seen = HashSet::new();
    let mut families = HashSet::new();
    for r in rounds {
        for q in r["questions"].as_array().unwrap() {
            let b = by_id(q["id"].as_str().unwrap());
            assert!(seen.insert(b.id.clone()), "{} twice", b.id);
            assert!(b.case.is_none());
            if let Some(f) = b.family_key() {
                assert!(families.insert(f.to_string()), "family {f} twice");
            }
        }
    }
    for q in rounds[0]["questions"].as_array().unwrap() {
        assert_eq!(
            by_id(q["id"].as_str().unwrap()).topic,
            biwu::domain::Topic::PetitionWork
        );
    }
    // 风险: one question per team for each stake, the stakes from low to high asking
    // difficulty 1, 2, 3.
    let risk = rounds[2]["questions"].as_array().unwrap();
    assert_eq!(risk.len(), 9);
    for q in risk {
        let stake = q["stake"].as_i64().unwrap();
        let want = match stake {
            10 => 1,
            20 => 2,
            30 => 3,
            other => panic!("stake {other}"),
        };
        assert_eq!(by_id(q["id"].as_str().unwrap()).difficulty, want);
    }
    // The scoreboard before anything happened: the base scores.
    let st: Vec<(i64, i64)> = d["standings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["team"].as_i64().unwrap(),
                s["score_milli"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(st, [(2, 120_000), (0, 100_000), (1, 100_000)]);

    // The same seed draws the same questions.
    let (_, again) = create(&app, &host, body(42)).await;
    let d2: Value = host
        .get_json(
            &app,
            &format!("/api/stages/{}", again["id"].as_str().unwrap()),
        )
        .await;
    let ids = |d: &Value| -> Vec<String> {
        d["rounds"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| {
                r["questions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|q| q["id"].as_str().unwrap().to_string())
            })
            .collect()
    };
    assert_eq!(ids(&d), ids(&d2));

    // A new device code replaces the old one's hash.
    let fresh: Value = host
        .post(&app, &format!("/api/stages/{id}/teams/1/code"), json!({}))
        .await
        .json()
        .await
        .unwrap();
    let code = fresh["device_code"].as_str().unwrap();
    assert_ne!(code, codes[1]);
    let hash: String = sqlx::query_scalar(
        "SELECT device_hash FROM stage_teams WHERE stage_id = $1 AND position = 1",
    )
    .bind(id)
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(hash, biwu::auth::hash_token(code));
    let res = host
        .post(&app, &format!("/api/stages/{id}/teams/7/code"), json!({}))
        .await;
    assert_eq!(res.status(), 404);
    let audit: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'stage.%' AND subject = $1",
    )
    .bind(id)
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(audit, 2);
}

/// A change to a valid set-up.
type Edit = Box<dyn Fn(&mut Value)>;

#[tokio::test]
async fn every_broken_rule_of_a_set_up_is_named_and_nothing_is_written() {
    let app = spawn_app().await;
    let host = app.session(HOST).await;
    let cases: Vec<(Edit, &str)> = vec![
        (
            Box::new(|b| b["rounds"][0]["count"] = json!(5)),
            "代表队数（3）的倍数",
        ),
        (
            Box::new(|b| b["teams"][1]["members"] = json!(["d102"])),
            "在两支代表队中",
        ),
        (
            Box::new(|b| b["judges"] = json!(["d102"])),
            "评委不能同时是参赛选手",
        ),
        (
            Box::new(|b| b["judges"] = json!(["x999"])),
            "评委：工号 x999 不存在",
        ),
        (Box::new(|b| b["judges"] = json!([])), "请指定评委"),
        (
            Box::new(|b| b["rounds"][2]["question_ids"] = json!(["pw-0001"])),
            "不能手选",
        ),
        (
            Box::new(|b| b["rounds"][2]["stakes"] = json!([])),
            "风险题至少设一档分值",
        ),
        (
            Box::new(|b| b["teams"] = json!([{"name": "独队"}])),
            "2–12 支代表队",
        ),
        (
            Box::new(|b| b["teams"][0]["colour"] = json!("red")),
            "#RRGGBB",
        ),
        (
            Box::new(|b| b["teams"][1]["name"] = json!("文秘处代表队")),
            "重复",
        ),
        (
            Box::new(|b| b["rounds"][1]["answer_s"] = json!(1)),
            "第 2 轮：答题时间",
        ),
        (
            Box::new(|b| b["rounds"][0]["topics"] = json!(["天文"])),
            "未知专题",
        ),
        (
            Box::new(|b| b["rounds"][3]["criteria"][0]["max"] = json!(0)),
            "满分应为 1–1000",
        ),
        (
            Box::new(|b| b["rounds"][3]["contestants"] = json!(["d102", "d202"])),
            "每队一人（3 人）",
        ),
        (
            Box::new(|b| b["rounds"][3]["contestants"] = json!(["d102", "d302", "d202"])),
            "不是代表队「研究处代表队」的队员",
        ),
        (
            Box::new(|b| b["rounds"][1]["contestants"] = json!(["d102", "d202", "d302"])),
            "只有评分题可以指定上场选手",
        ),
        (
            Box::new(|b| b["rounds"][3]["on_device"] = json!(true)),
            "评分题没有设备作答",
        ),
    ];
    for (edit, needle) in cases {
        let mut b = body(1);
        edit(&mut b);
        let (status, v) = create(&app, &host, b).await;
        assert_eq!(status, 422, "{needle}: {v}");
        assert!(
            v["message"].as_str().unwrap().contains(needle),
            "{needle}: {v}"
        );
    }
    let stages: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM stages")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(stages, 0);
    // Unknown fields are refused, not ignored.
    let mut b = body(1);
    b["rounds"][0]["points"] = json!(10);
    let res = host.post(&app, "/api/stages", b).await;
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn only_hosts_set_up_finals_and_each_sees_their_own() {
    let app = spawn_app().await;
    let host = app.session(HOST).await;
    let (_, made) = create(&app, &host, body(3)).await;
    let id = made["id"].as_str().unwrap();
    let member = app.session(MEMBER).await;
    assert_eq!(
        member.post(&app, "/api/stages", body(3)).await.status(),
        403
    );
    assert_eq!(
        member
            .get(&app, &format!("/api/stages/{id}"))
            .await
            .status(),
        403
    );
    // Another host runs their own finals, not this one.
    sqlx::query("UPDATE members SET role = 'host' WHERE staff_no = 'd305'")
        .execute(&app.db.pool)
        .await
        .unwrap();
    let other = app.session("d305").await;
    assert_eq!(
        other.get(&app, &format!("/api/stages/{id}")).await.status(),
        403
    );
    let theirs: Value = other.get_json(&app, "/api/stages").await;
    assert!(theirs.as_array().unwrap().is_empty());
    let admin = app.session(ADMIN).await;
    let d: Value = admin.get_json(&app, &format!("/api/stages/{id}")).await;
    assert_eq!(d["id"], id);
    let mine: Value = host.get_json(&app, "/api/stages").await;
    assert_eq!(mine.as_array().unwrap().len(), 1);
}
