//! Item statistics on a planted answer set: share right, average time, the wrong options
//! chosen and the discrimination, against a computation made here from the same answers; a
//! question whose key is planted wrong shows a negative discrimination and is flagged.

use crate::helpers::*;
use serde_json::Value;
use std::collections::HashMap;

on_both_databases!(
    item_statistics_match_an_independent_computation,
    item_statistics_match_an_independent_computation_on_postgres,
    statistics
);

async fn statistics(app: TestApp) {
    use biwu::domain::{AnswerKey, Kind};
    let db = &app.db;
    // Two single-choice questions from the bank, and fifty fresh members of the demo's
    // 文秘处 whose overall accuracy runs from 10 % to 98 %.
    let bank = biwu::bank::load(&bank_dir());
    let singles: Vec<_> = bank
        .questions()
        .filter(|q| q.kind == Kind::Single)
        .take(12)
        .cloned()
        .collect();
    let (good, bad) = (&singles[0], &singles[1]);
    let fillers = &singles[2..];
    let key = |q: &biwu::domain::Question| match &q.answer {
        AnswerKey::Choice(ix) => ix[0],
        _ => unreachable!(),
    };
    let letter = |i: usize| ((b'A' + i as u8) as char).to_string();
    let mut versions = HashMap::new();
    for q in &singles {
        let current = biwu::records::questions::current(db, &q.id)
            .await
            .unwrap()
            .unwrap();
        versions.insert(q.id.clone(), current.version);
    }
    // (member, question, right, elapsed ms, letter chosen)
    let mut planted: Vec<(String, String, bool, i64, String)> = Vec::new();
    for m in 0..50 {
        let member = app.add_member(&format!("s{m:03}"), "Item-stats-1").await;
        let skill = 0.1 + 0.88 * m as f64 / 49.0;
        // Ten filler answers set the member's overall accuracy.
        for (i, q) in fillers.iter().enumerate() {
            let right = (i as f64 + 0.5) / 10.0 < skill;
            let k = key(q);
            let pick = if right { k } else { (k + 1) % q.options.len() };
            planted.push((member.clone(), q.id.clone(), right, 20_000, letter(pick)));
        }
        // The good question: the skilled get it right. The bad one: its key is "wrong" —
        // the skilled pick another option, the weak pick the key.
        let right = skill > 0.5;
        let k = key(good);
        let pick = if right {
            k
        } else {
            (k + 1 + m % 2) % good.options.len()
        };
        planted.push((
            member.clone(),
            good.id.clone(),
            right,
            10_000 + m as i64 * 100,
            letter(pick),
        ));
        let k = key(bad);
        let right = skill < 0.5;
        let pick = if right {
            k
        } else {
            (k + 1) % bad.options.len()
        };
        planted.push((member, bad.id.clone(), right, 15_000, letter(pick)));
    }
    // The demo's own history would mix in: start from these answers only.
    for t in ["notebook", "drill_days", "drill_answers", "drill_items"] {
        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {t}")))
            .execute(&db.pool)
            .await
            .unwrap();
    }
    for (i, (member, q, right, ms, pick)) in planted.iter().enumerate() {
        let drill = format!("x{i:06}");
        sqlx::query("INSERT INTO drills (id, member_id, mode, settings, seed, question_count, started_at) VALUES ($1, $2, 'topics', '{}', 0, 1, 0)")
            .bind(&drill)
            .bind(member)
            .execute(&db.pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO drill_answers (drill_id, position, member_id, question_id, question_version, response, correct, timed_out, elapsed_ms, answered_at) VALUES ($1, 0, $2, $3, $4, $5, $6, 0, $7, $8)")
            .bind(&drill)
            .bind(member)
            .bind(q)
            .bind(&versions[q])
            .bind(format!("{{\"type\":\"choice\",\"value\":\"{pick}\"}}"))
            .bind(*right as i64)
            .bind(*ms)
            .bind(1_764_547_200_000i64 + i as i64)
            .execute(&db.pool)
            .await
            .unwrap();
    }
    biwu::records::progress::rebuild_days(db).await.unwrap();

    // Computed here: each member's accuracy, then per question the Pearson correlation of that
    // accuracy with answering right.
    let mut acc: HashMap<&str, (f64, f64)> = HashMap::new();
    for (m, _, right, _, _) in &planted {
        let e = acc.entry(m.as_str()).or_default();
        e.0 += *right as i64 as f64;
        e.1 += 1.0;
    }
    let expected = |qid: &str| {
        let rows: Vec<(f64, f64, i64)> = planted
            .iter()
            .filter(|p| p.1 == qid)
            .map(|p| {
                let (r, n) = acc[p.0.as_str()];
                (r / n, p.2 as i64 as f64, p.3)
            })
            .collect();
        let n = rows.len() as f64;
        let (mx, my) = (
            rows.iter().map(|r| r.0).sum::<f64>() / n,
            rows.iter().map(|r| r.1).sum::<f64>() / n,
        );
        let cov: f64 = rows.iter().map(|r| (r.0 - mx) * (r.1 - my)).sum();
        let sx = rows.iter().map(|r| (r.0 - mx).powi(2)).sum::<f64>().sqrt();
        let sy = rows.iter().map(|r| (r.1 - my).powi(2)).sum::<f64>().sqrt();
        let ms = rows.iter().map(|r| r.2).sum::<i64>() as f64 / n / 1000.0;
        (my, cov / (sx * sy), ms, rows.len())
    };

    let admin = app.session(ADMIN).await;
    assert_eq!(
        app.session(HEAD)
            .await
            .get(&app, "/api/admin/items")
            .await
            .status(),
        403
    );
    let body: Value = admin.get_json(&app, "/api/admin/items").await;
    let items = body["items"].as_array().unwrap();
    let find = |id: &str| items.iter().find(|i| i["id"] == id).unwrap().clone();
    for q in [good, bad] {
        let (p, r, ms, n) = expected(&q.id);
        let got = find(&q.id);
        assert_eq!(got["answers"], n);
        assert!((got["share_right"].as_f64().unwrap() - p).abs() < 1e-9);
        assert!((got["average_s"].as_f64().unwrap() - ms).abs() < 1e-9);
        let d = got["discrimination"].as_f64().unwrap();
        assert!((d - r).abs() < 2e-3, "{}: {d} vs {r}", q.id);
    }
    let good_row = find(&good.id);
    let bad_row = find(&bad.id);
    assert!(good_row["discrimination"].as_f64().unwrap() > 0.5);
    assert!(bad_row["discrimination"].as_f64().unwrap() < -0.5);
    assert!(
        bad_row["flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f.as_str().unwrap().contains("区分度为负"))
    );
    assert!(
        items[0]["flags"].as_array().is_some_and(|f| !f.is_empty()),
        "flagged first"
    );
    // The wrong options chosen on the good question: counted per letter.
    let mut chosen: HashMap<String, i64> = HashMap::new();
    for p in planted.iter().filter(|p| p.1 == good.id && !p.2) {
        *chosen.entry(p.4.clone()).or_default() += 1;
    }
    for o in good_row["options"].as_array().unwrap() {
        let l = o["letter"].as_str().unwrap();
        assert_eq!(
            o["chosen_when_wrong"],
            chosen.get(l).copied().unwrap_or(0),
            "{l}"
        );
    }
    // The same figures in the workbook.
    let res = admin.get(&app, "/api/admin/items.xlsx").await;
    assert_eq!(res.status(), 200);
    let bytes = res.bytes().await.unwrap();
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let sheet = book.worksheet_range("题目统计").unwrap();
    let row = (1..sheet.height())
        .find(|r| sheet.get_value((*r as u32, 0)).unwrap().to_string() == bad.id)
        .unwrap();
    assert_eq!(
        sheet.get_value((row as u32, 7)).unwrap(),
        &calamine::Data::Float(bad_row["discrimination"].as_f64().unwrap())
    );
}

#[tokio::test]
async fn the_bank_in_the_console_checks_browses_exports_and_previews_an_import() {
    use calamine::Reader;
    let app = spawn_app().await;
    let admin = app.session(ADMIN).await;
    let shipped = biwu::bank::load(&bank_dir());
    assert_eq!(
        app.session(HEAD)
            .await
            .get(&app, "/api/admin/bank/check")
            .await
            .status(),
        403
    );
    let check = admin.get_json(&app, "/api/admin/bank/check").await;
    assert_eq!(check["questions"], shipped.questions.len());
    assert_eq!(check["problems"], serde_json::json!([]));

    // Browsing: a topic and a word.
    let q = shipped
        .questions()
        .find(|q| q.topic == biwu::domain::Topic::PetitionWork)
        .unwrap();
    let word: String = q.stem.chars().take(8).collect();
    let found = admin
        .get_json(
            &app,
            &format!(
                "/api/admin/bank/questions?topic=petition-work&q={}",
                urlencode(&word)
            ),
        )
        .await;
    let list = found["questions"].as_array().unwrap();
    assert!(list.iter().any(|x| x["id"] == q.id.as_str()));
    assert!(list.iter().all(|x| x["topic"] == "petition-work"));
    let hit = list.iter().find(|x| x["id"] == q.id.as_str()).unwrap();
    assert_eq!(hit["answer"], q.answer.display());
    assert_eq!(hit["source"], q.source.as_str());

    // The export holds every question in use.
    let bytes = admin
        .get(&app, "/api/admin/bank/export.xlsx")
        .await
        .bytes()
        .await
        .unwrap();
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let first = book.sheet_names()[0].clone();
    let sheet = book.worksheet_range(&first).unwrap();
    assert_eq!(sheet.height(), 1 + shipped.questions.len());

    // An import: a new question passes, one already in the bank is named by its row.
    let mut fresh = q.clone();
    fresh.id = "pw-9001".into();
    fresh.stem = format!("（导入测试）{}", q.stem);
    let header = biwu::bank::sheet::header();
    let rows = vec![
        biwu::bank::sheet::row_of(&fresh),
        biwu::bank::sheet::row_of(q),
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("import.csv");
    biwu::table::write(&path, &header, &rows).unwrap();
    let res = admin
        .client
        .post(app.url("/api/admin/bank/import-preview?name=import.csv"))
        .header("X-CSRF-Token", &admin.csrf)
        .body(std::fs::read(&path).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let preview: Value = res.json().await.unwrap();
    assert_eq!(preview["questions"].as_array().unwrap().len(), 1);
    assert_eq!(preview["questions"][0]["id"], "pw-9001");
    let errors = preview["errors"].as_array().unwrap();
    assert!(!errors.is_empty());
    assert!(
        errors.iter().all(|e| e["row"] == 3),
        "only the row already in the bank: {errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e["message"].as_str().unwrap().contains(&q.id)),
        "{errors:?}"
    );
    // Nothing was written: the bank is as it was.
    assert_eq!(
        admin.get_json(&app, "/api/admin/bank/check").await["questions"],
        shipped.questions.len()
    );
    let res = admin
        .client
        .post(app.url("/api/admin/bank/import-preview?name=notes.txt"))
        .header("X-CSRF-Token", &admin.csrf)
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Copies a folder tree (the shipped bank, for a test that writes into its bank).
fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[tokio::test]
async fn an_import_without_bad_rows_is_written_into_the_bank_and_drawn_at_once() {
    let bank = tempfile::tempdir().unwrap();
    copy_tree(&bank_dir(), bank.path());
    let app = spawn_app_edited(
        Options {
            demo: true,
            ..Options::default()
        },
        |s| s.bank_dir = Some(bank.path().to_path_buf()),
    )
    .await;
    let base = app.address.clone();
    let client = client();
    let login: Value = client
        .post(format!("{base}/api/login"))
        .json(&serde_json::json!({"staff_no": ADMIN, "password": biwu::demo::DEMO_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let csrf = login["csrf"].as_str().unwrap().to_string();
    let send = |path: &'static str, name: &'static str, body: Vec<u8>| {
        let client = client.clone();
        let csrf = csrf.clone();
        let base = base.clone();
        async move {
            client
                .post(format!("{base}{path}?name={name}"))
                .header("X-CSRF-Token", csrf)
                .body(body)
                .send()
                .await
                .unwrap()
        }
    };
    let shipped = biwu::bank::load(&bank_dir());
    let q = shipped
        .questions()
        .find(|q| q.topic == biwu::domain::Topic::PetitionWork)
        .unwrap();
    let mut fresh = q.clone();
    fresh.id = "pw-9002".into();
    fresh.stem = format!("（导入测试）{}", q.stem);
    let header = biwu::bank::sheet::header();
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    biwu::table::write(
        &bad,
        &header,
        &[
            biwu::bank::sheet::row_of(&fresh),
            biwu::bank::sheet::row_of(q),
        ],
    )
    .unwrap();
    // A file with a bad row is refused whole.
    let res = send(
        "/api/admin/bank/import",
        "bad.csv",
        std::fs::read(&bad).unwrap(),
    )
    .await;
    assert_eq!(res.status(), 422);
    assert_eq!(
        biwu::bank::load(bank.path()).questions.len(),
        shipped.questions.len()
    );
    // Fixed: written as a new file of its topic, checked, synced, and drawable.
    let good = dir.path().join("good.csv");
    biwu::table::write(&good, &header, &[biwu::bank::sheet::row_of(&fresh)]).unwrap();
    let res = send(
        "/api/admin/bank/import",
        "good.csv",
        std::fs::read(&good).unwrap(),
    )
    .await;
    assert_eq!(res.status(), 200);
    let out: Value = res.json().await.unwrap();
    assert_eq!(out["imported"], 1);
    assert!(
        bank.path()
            .join("petition-work/imported-good.toml")
            .exists()
    );
    let reloaded = biwu::bank::load(bank.path());
    assert!(reloaded.is_valid());
    assert!(
        reloaded
            .questions()
            .any(|x| x.id == "pw-9002" && x.stem == fresh.stem)
    );
    let found: Value = client
        .get(format!("{base}/api/admin/bank/questions?q=pw-9002"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found["matched"], 1, "in the records at once");
}
