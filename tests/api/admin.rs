//! The administrator's console: roster preview against an independent comparison of the file
//! with the records, bad rows reported by row and column and fixed, deactivation only when
//! asked, empty rosters refused (console and CLI), login slips read back (page and workbook),
//! password resets, member edits audited, the last admin protected, sections merged, awards
//! revoked once, and every admin API closed to section heads and members.

use crate::helpers::*;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// One roster row: 姓名, 工号, 司室, 处室, 角色.
type Row = [String; 5];

fn row(name: &str, no: &str, dept: &str, section: &str, role: &str) -> Row {
    [name, no, dept, section, role].map(String::from)
}

fn xlsx(rows: &[Row]) -> Vec<u8> {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("r.xlsx");
    let rows: Vec<Vec<String>> = rows.iter().map(|r| r.to_vec()).collect();
    biwu::table::write(&file, &biwu::roster::COLUMNS, &rows).unwrap();
    std::fs::read(&file).unwrap()
}

fn csv(rows: &[Row]) -> Vec<u8> {
    let mut s = biwu::roster::COLUMNS.join(",") + "\n";
    for r in rows {
        s += &(r.join(",") + "\n");
    }
    s.into_bytes()
}

async fn upload(app: &TestApp, s: &Session, name: &str, bytes: Vec<u8>) -> reqwest::Response {
    s.client
        .post(app.url(&format!("/api/admin/roster/preview?name={name}")))
        .header("X-CSRF-Token", &s.csrf)
        .body(bytes)
        .send()
        .await
        .unwrap()
}

/// A member as the records have it.
#[derive(Debug, Clone)]
struct Rec {
    name: String,
    role: String,
    active: i64,
    department: Option<String>,
    section: Option<String>,
}

async fn records(app: &TestApp) -> BTreeMap<String, Rec> {
    type Line = (String, String, String, i64, Option<String>, Option<String>);
    let rows: Vec<Line> = sqlx::query_as(
        "SELECT m.staff_no, m.name, m.role, m.active, d.name, s.name FROM members m \
         LEFT JOIN sections s ON s.id = m.section_id LEFT JOIN departments d ON d.id = s.department_id",
    )
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(no, name, role, active, department, section)| {
            (
                no,
                Rec {
                    name,
                    role,
                    active,
                    department,
                    section,
                },
            )
        })
        .collect()
}

fn staff_nos(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|c| c["staff_no"].as_str().unwrap().to_string())
        .collect()
}

async fn audit_count(app: &TestApp, action: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = $1")
        .bind(action)
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

/// The demo's members (not admins, with a section) as a roster, with a few changes.
async fn changed_roster(app: &TestApp) -> Vec<Row> {
    let recs = records(app).await;
    let mut rows = Vec::new();
    for (no, r) in &recs {
        if r.role == "admin" || r.active == 0 || r.section.is_none() || no == "d106" {
            continue;
        }
        let mut x = row(
            &r.name,
            no,
            r.department.as_deref().unwrap(),
            r.section.as_deref().unwrap(),
            &r.role,
        );
        match no.as_str() {
            "d103" => x[0] = "王志强（更名）".into(),
            "d104" => x[3] = "研究处".into(),
            "d105" => x[4] = "主持人".into(),
            _ => {}
        }
        rows.push(x);
    }
    rows.push(row("新成员甲", "n001", "督查司", "督查二处", "党员"));
    rows.push(row("新成员乙", "n002", "综合司", "新设处", "党员"));
    rows
}

on_both_databases!(
    roster_preview_matches_an_independent_diff_and_applies_when_asked,
    roster_preview_matches_an_independent_diff_and_applies_when_asked_on_postgres,
    roster_flow
);

async fn roster_flow(app: TestApp) {
    let admin = app.session(ADMIN).await;
    let rows = changed_roster(&app).await;
    let before = records(&app).await;

    // The expected plan, computed here from the file and the records.
    let listed: BTreeSet<String> = rows.iter().map(|r| r[1].clone()).collect();
    let (mut added, mut updated, mut moved, mut roles) = (
        BTreeSet::new(),
        BTreeSet::new(),
        BTreeSet::new(),
        BTreeSet::new(),
    );
    for r in &rows {
        match before.get(&r[1]) {
            None => {
                added.insert(r[1].clone());
            }
            Some(m) => {
                if m.name != r[0] {
                    updated.insert(r[1].clone());
                }
                if m.department.as_deref() != Some(r[2].as_str())
                    || m.section.as_deref() != Some(r[3].as_str())
                {
                    moved.insert(r[1].clone());
                }
                if biwu::domain::Role::parse(&r[4]).unwrap().id() != m.role {
                    roles.insert(r[1].clone());
                }
            }
        }
    }
    let missing: BTreeSet<String> = before
        .iter()
        .filter(|(no, m)| m.active == 1 && m.role != "admin" && !listed.contains(*no))
        .map(|(no, _)| no.clone())
        .collect();
    assert!(missing.contains("d106"));
    assert_eq!(added.len(), 2);

    // Preview: what would change, nothing written.
    let res = upload(&app, &admin, "roster.xlsx", xlsx(&rows)).await;
    assert_eq!(res.status(), 200);
    let p: Value = res.json().await.unwrap();
    assert_eq!(staff_nos(&p["added"]), added);
    assert_eq!(staff_nos(&p["updated"]), updated);
    assert_eq!(staff_nos(&p["moved"]), moved);
    assert_eq!(staff_nos(&p["roles"]), roles);
    assert_eq!(staff_nos(&p["missing"]), missing);
    assert_eq!(p["errors"], json!([]));
    assert_eq!(p["can_apply"], true);
    assert_eq!(
        updated,
        BTreeSet::from(["d103".to_string()]),
        "only the rename"
    );
    assert_eq!(moved, BTreeSet::from(["d104".to_string()]));
    assert_eq!(roles, BTreeSet::from(["d105".to_string()]));
    assert_eq!(
        records(&app).await.len(),
        before.len(),
        "a preview writes nothing"
    );
    assert_eq!(audit_count(&app, "roster.import").await, 0);

    // Apply without deactivation: the missing are kept.
    let token = p["token"].as_str().unwrap();
    let res = admin
        .post(
            &app,
            "/api/admin/roster/apply",
            json!({"token": token, "deactivate_missing": false}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let out: Value = res.json().await.unwrap();
    assert_eq!(out["applied"]["added"], 2);
    assert_eq!(out["applied"]["deactivated"], 0);
    assert_eq!(out["applied"]["kept"], missing.len());
    let passwords = out["passwords"].as_array().unwrap().clone();
    assert_eq!(
        passwords
            .iter()
            .map(|p| p["staff_no"].as_str().unwrap().to_string())
            .collect::<BTreeSet<_>>(),
        added
    );
    let after = records(&app).await;
    for no in &missing {
        assert_eq!(after[no].active, 1, "{no} kept");
    }
    assert_eq!(after["d103"].name, "王志强（更名）");
    assert_eq!(after["d104"].section.as_deref(), Some("研究处"));
    assert_eq!(after["d105"].role, "host");
    assert_eq!(after["n002"].section.as_deref(), Some("新设处"));
    for action in [
        "roster.added",
        "roster.renamed",
        "roster.moved",
        "roster.roles",
        "roster.import",
    ] {
        assert_eq!(audit_count(&app, action).await, 1, "{action}");
    }
    let detail: String =
        sqlx::query_scalar("SELECT detail FROM audit_log WHERE action = 'roster.added'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(serde_json::from_str::<Value>(&detail).unwrap()["count"], 2);
    assert_eq!(audit_count(&app, "member.deactivate").await, 0);
    // The plaintext is never stored; new members must change it.
    let (hash, must): (String, i64) = sqlx::query_as(
        "SELECT password_hash, must_change_password FROM members WHERE staff_no = 'n001'",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    let pw = passwords[0]["password"].as_str().unwrap();
    assert!(!hash.contains(pw));
    assert_eq!(must, 1);
    // A preview is applied once.
    let res = admin
        .post(&app, "/api/admin/roster/apply", json!({"token": token}))
        .await;
    assert_eq!(res.status(), 404);

    // The new member logs in with the slip's password.
    let n = passwords.iter().find(|p| p["staff_no"] == "n001").unwrap();
    let res = client()
        .post(app.url("/api/login"))
        .json(&json!({"staff_no": "n001", "password": n["password"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // Login slips: the page and the workbook hold every name and password.
    let slips = out["slips"].as_str().unwrap();
    let res = admin.get(&app, &format!("/admin/slips/{slips}")).await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    for p in &passwords {
        assert!(html.contains(p["name"].as_str().unwrap()), "{html}");
        assert!(html.contains(p["password"].as_str().unwrap()));
    }
    assert!(
        html.contains(&format!("127.0.0.1:{}/login", app.port())),
        "{html}"
    );
    let res = admin
        .get(&app, &format!("/api/admin/slips/{slips}.xlsx"))
        .await;
    assert_eq!(res.status(), 200);
    let bytes = res.bytes().await.unwrap();
    let read = read_xlsx(&bytes);
    assert_eq!(read[0], vec!["姓名", "工号", "一次性密码", "登录地址"]);
    let got: BTreeSet<(String, String, String)> = read[1..]
        .iter()
        .map(|r| (r[0].clone(), r[1].clone(), r[2].clone()))
        .collect();
    let want: BTreeSet<(String, String, String)> = passwords
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["staff_no"].as_str().unwrap().to_string(),
                p["password"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(got, want);
    assert_eq!(
        admin
            .get(&app, "/api/admin/slips/nothing.xlsx")
            .await
            .status(),
        404
    );
    let gone = admin.get(&app, "/admin/slips/nothing").await;
    assert_eq!(gone.status(), 404);
    assert!(
        gone.text()
            .await
            .unwrap()
            .contains("已过期，请重置密码后重新打印")
    );

    // Another admin cannot read them.
    let other_pw = biwu::accounts::create_admin(&app.db, "a2", "第二管理员")
        .await
        .unwrap();
    let other = app.session_with("a2", &other_pw).await;
    assert_eq!(
        other
            .get(&app, &format!("/api/admin/slips/{slips}.xlsx"))
            .await
            .status(),
        403
    );

    // The same file again, now asking for deactivation: only the missing go.
    let res = upload(&app, &admin, "roster.csv", csv(&rows)).await;
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["added"], json!([]));
    assert_eq!(staff_nos(&p["missing"]), missing);
    let res = admin
        .post(
            &app,
            "/api/admin/roster/apply",
            json!({"token": p["token"], "deactivate_missing": true}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let out: Value = res.json().await.unwrap();
    assert_eq!(out["applied"]["deactivated"], missing.len());
    assert_eq!(out["slips"], Value::Null);
    let after = records(&app).await;
    for (no, m) in &after {
        let expect = if missing.contains(no) { 0 } else { 1 };
        assert_eq!(m.active, expect, "{no}");
    }
    assert_eq!(
        audit_count(&app, "member.deactivate").await,
        missing.len() as i64
    );
}

fn read_xlsx(bytes: &[u8]) -> Vec<Vec<String>> {
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let range = book.worksheet_range_at(0).unwrap().unwrap();
    range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

on_both_databases!(
    bad_rows_are_reported_then_fixed,
    bad_rows_are_reported_then_fixed_on_postgres,
    bad_rows_flow
);

async fn bad_rows_flow(app: TestApp) {
    let admin = app.session(ADMIN).await;
    let good = row("张伟", "x1", "综合司", "文秘处", "党员");
    let bad = vec![
        good.clone(),
        row("王芳", "", "综合司", "文秘处", "党员"),
        row("李强", "x1", "综合司", "文秘处", "党员"),
        row("赵六", "x3", "综合司", "文秘处", "局长"),
        row("钱\u{202E}七", "x4", "综合司", "文秘处", "党员"),
        row("孙八", "x5", "综合司", "", "党员"),
    ];
    let res = upload(&app, &admin, "bad.xlsx", xlsx(&bad)).await;
    assert_eq!(res.status(), 200);
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["can_apply"], false);
    let errors: Vec<(u64, String)> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["row"].as_u64().unwrap(),
                e["column"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        vec![
            (3, "工号".to_string()),
            (4, "工号".to_string()),
            (5, "角色".to_string()),
            (6, "姓名".to_string()),
            (7, "处室".to_string()),
        ],
        "{p}"
    );
    let msg = |i: usize| p["errors"][i]["message"].as_str().unwrap().to_string();
    assert!(msg(0).contains("工号为空"));
    assert!(
        msg(1).contains("第 2 行") && msg(1).contains("第 4 行"),
        "{}",
        msg(1)
    );
    assert!(msg(2).contains("局长"));
    assert!(msg(3).contains("U+202E"));
    let res = admin
        .post(
            &app,
            "/api/admin/roster/apply",
            json!({"token": p["token"]}),
        )
        .await;
    assert_eq!(res.status(), 422, "refused while errors remain");
    assert_eq!(records(&app).await.get("x1").map(|_| ()), None);

    // Fixed and uploaded again: a new preview that applies.
    let fixed = vec![
        good,
        row("王芳", "x2", "综合司", "文秘处", "党员"),
        row("李强", "x6", "综合司", "文秘处", "党员"),
        row("赵六", "x3", "综合司", "文秘处", "处长"),
        row("钱七", "x4", "综合司", "文秘处", "党员"),
        row("孙八", "x5", "综合司", "研究处", "党员"),
    ];
    let res = upload(&app, &admin, "fixed.xlsx", xlsx(&fixed)).await;
    let q: Value = res.json().await.unwrap();
    assert_eq!(q["errors"], json!([]));
    assert_eq!(q["can_apply"], true);
    assert_ne!(q["token"], p["token"]);
    assert_eq!(q["added"].as_array().unwrap().len(), 6);
    let res = admin
        .post(
            &app,
            "/api/admin/roster/apply",
            json!({"token": q["token"]}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(records(&app).await["x3"].role, "section_head");

    // An empty roster (a header, no rows) is refused; so is another kind of file.
    let res = upload(&app, &admin, "empty.csv", csv(&[])).await;
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("名册为空"),
        "{body}"
    );
    let res = upload(&app, &admin, "empty.xlsx", xlsx(&[])).await;
    assert_eq!(res.status(), 422);
    let res = upload(&app, &admin, "roster.txt", csv(&fixed)).await;
    assert_eq!(res.status(), 422);
    // Larger than 5 MiB: refused before it is read.
    let res = upload(&app, &admin, "big.csv", vec![b'a'; 5 * 1024 * 1024 + 1]).await;
    assert_eq!(res.status(), 413);
}

#[test]
fn an_empty_roster_is_refused_by_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("empty.csv");
    std::fs::write(&file, "姓名,工号,司室,处室,角色\n").unwrap();
    let db = format!("sqlite://{}/r.db", tmp.path().display());
    let out = Command::new(env!("CARGO_BIN_EXE_biwu"))
        .args([
            "roster",
            "import",
            file.to_str().unwrap(),
            "--database-url",
            &db,
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("名册为空"), "{text}");
}

on_both_databases!(
    member_edits_are_audited_and_the_last_admin_is_kept,
    member_edits_are_audited_and_the_last_admin_is_kept_on_postgres,
    members_flow
);

async fn members_flow(app: TestApp) {
    let admin = app.session(ADMIN).await;
    let found = admin
        .get_json(&app, "/api/admin/members/search?q=d10")
        .await;
    let nos: BTreeSet<&str> = found["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["staff_no"].as_str().unwrap())
        .collect();
    assert!(nos.contains("d102") && nos.contains("d106") && !nos.contains("d201"));
    let by_name = admin
        .get_json(&app, &format!("/api/admin/members/search?q={}", "李晓雯"))
        .await;
    assert_eq!(by_name["members"][0]["staff_no"], "d102");
    let yanjiu = section_id(&app, "研究处").await;
    let in_section = admin
        .get_json(
            &app,
            &format!("/api/admin/members/search?section={yanjiu}&role=member"),
        )
        .await;
    assert!(
        in_section["members"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["section_id"] == json!(yanjiu) && m["role"] == "member")
    );

    // d102 becomes head of 研究处 and moves there.
    let d102 = member_id(&app, MEMBER).await;
    let res = admin
        .post(
            &app,
            &format!("/api/admin/members/{d102}"),
            json!({"role": "section_head", "section_id": yanjiu, "head_sections": [yanjiu]}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["member"]["role"], "section_head");
    assert_eq!(v["head_sections"], json!([yanjiu]));
    for action in ["member.role", "member.section", "member.heads"] {
        assert_eq!(audit_count(&app, action).await, 1, "{action}");
    }
    // Their rights change at once: they see the section now.
    let s = app.session(MEMBER).await;
    assert_eq!(
        s.get(&app, &format!("/api/sections/{yanjiu}/report"))
            .await
            .status(),
        200
    );

    // Deactivated: their session ends.
    let res = admin
        .post(
            &app,
            &format!("/api/admin/members/{d102}"),
            json!({"active": false}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(audit_count(&app, "member.deactivate").await, 1);
    assert_eq!(s.get(&app, "/api/me").await.status(), 401);

    // Unknown role, unknown section.
    let res = admin
        .post(
            &app,
            &format!("/api/admin/members/{d102}"),
            json!({"role": "boss"}),
        )
        .await;
    assert_eq!(res.status(), 422);

    // The last admin can be neither demoted nor deactivated, by themselves or anyone.
    let me = member_id(&app, ADMIN).await;
    for body in [
        json!({"role": "member", "section_id": yanjiu}),
        json!({"active": false}),
    ] {
        let res = admin
            .post(&app, &format!("/api/admin/members/{me}"), body)
            .await;
        assert_eq!(res.status(), 409);
    }
    assert_eq!(audit_count(&app, "member.role").await, 1);

    // Password reset from the console: sessions end, a slip comes back.
    let d103 = member_id(&app, "d103").await;
    let s103 = app.session("d103").await;
    let res = admin
        .post(&app, &format!("/api/admin/members/{d103}/reset"), json!({}))
        .await;
    assert_eq!(res.status(), 200);
    let r: Value = res.json().await.unwrap();
    assert_eq!(s103.get(&app, "/api/me").await.status(), 401);
    let html = admin
        .get(
            &app,
            &format!("/admin/slips/{}", r["slips"].as_str().unwrap()),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains(r["password"].as_str().unwrap()));
    assert!(html.contains("王志强"));
    app.session_with("d103", r["password"].as_str().unwrap())
        .await;
}

on_both_databases!(
    sections_are_created_renamed_and_merged,
    sections_are_created_renamed_and_merged_on_postgres,
    org_flow
);

async fn org_flow(app: TestApp) {
    let admin = app.session(ADMIN).await;
    let org = admin.get_json(&app, "/api/admin/org").await;
    let zonghe = org["departments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "综合司")
        .unwrap()
        .clone();
    let wenmi = section_id(&app, "文秘处").await;
    let yanjiu = section_id(&app, "研究处").await;
    let count = |name: &str| -> i64 {
        zonghe["sections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()["members"]
            .as_i64()
            .unwrap()
    };
    let (n_wenmi, n_yanjiu) = (count("文秘处"), count("研究处"));
    assert!(n_wenmi > 0 && n_yanjiu > 0);

    // Create, rename, target.
    let res = admin
        .post(&app, "/api/admin/departments", json!({"name": "新司"}))
        .await;
    assert_eq!(res.status(), 201);
    let dept = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let res = admin
        .post(&app, "/api/admin/departments", json!({"name": "新司"}))
        .await;
    assert_eq!(res.status(), 409);
    let res = admin
        .post(
            &app,
            "/api/admin/sections",
            json!({"department_id": dept, "name": "一处"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let sec = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let res = admin
        .post(
            &app,
            &format!("/api/admin/sections/{sec}"),
            json!({"name": "综合处"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = admin
        .post(
            &app,
            &format!("/api/admin/sections/{sec}/target"),
            json!({"weekly_target": 5}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = admin
        .post(
            &app,
            &format!("/api/admin/sections/{sec}/target"),
            json!({"weekly_target": 50}),
        )
        .await;
    assert_eq!(res.status(), 422);
    for action in [
        "department.create",
        "section.create",
        "section.rename",
        "section.target",
    ] {
        assert_eq!(audit_count(&app, action).await, 1, "{action}");
    }

    // Merge 文秘处 (the demo's tasks and reviews) into 研究处: members, heads, tasks and
    // reviews move; 文秘处 is gone.
    let (from, into) = (wenmi.clone(), yanjiu.clone());
    let count_in = |table: &'static str, id: String| {
        let pool = app.db.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(*) FROM {table} WHERE section_id = $1"
            )))
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let mut before = BTreeMap::new();
    for table in ["members", "tasks", "reviews"] {
        let n = count_in(table, from.clone()).await + count_in(table, into.clone()).await;
        before.insert(table, n);
    }
    assert!(count_in("tasks", from.clone()).await > 0);
    assert!(count_in("reviews", from.clone()).await > 0);
    let res = admin
        .post(
            &app,
            &format!("/api/admin/sections/{from}/merge"),
            json!({"into": into}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let org = admin.get_json(&app, "/api/admin/org").await;
    let zonghe = org["departments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "综合司")
        .unwrap()
        .clone();
    let names: Vec<&str> = zonghe["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["研究处"]);
    assert_eq!(zonghe["sections"][0]["members"], n_wenmi + n_yanjiu);
    for table in ["members", "head_sections", "tasks", "reviews"] {
        assert_eq!(count_in(table, from.clone()).await, 0, "{table}");
    }
    for (table, n) in before {
        assert_eq!(count_in(table, into.clone()).await, n, "{table}");
    }
    let head: String = sqlx::query_scalar("SELECT hs.section_id FROM head_sections hs JOIN members m ON m.id = hs.member_id WHERE m.staff_no = $1")
        .bind(HEAD)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(head, into, "the head of 文秘处 now heads 研究处");
    assert_eq!(audit_count(&app, "section.merge").await, 1);
    let res = admin
        .post(
            &app,
            &format!("/api/admin/sections/{into}/merge"),
            json!({"into": into}),
        )
        .await;
    assert_eq!(res.status(), 422);

    // The audit log: filtered and exported.
    let log = admin
        .get_json(
            &app,
            &format!("/api/admin/audit/search?actor={ADMIN}&action=section."),
        )
        .await;
    let actions: BTreeSet<&str> = log["entries"]
        .as_array()
        .unwrap_or_else(|| panic!("{log}"))
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        BTreeSet::from([
            "section.create",
            "section.rename",
            "section.target",
            "section.merge"
        ])
    );
    let none = admin
        .get_json(
            &app,
            "/api/admin/audit/search?from=2000-01-01&to=2000-01-02",
        )
        .await;
    assert_eq!(none["entries"], json!([]));
    assert_eq!(
        admin
            .get(&app, "/api/admin/audit/search?from=yesterday")
            .await
            .status(),
        400
    );
    let res = admin
        .get(
            &app,
            &format!("/api/admin/audit/export.xlsx?actor={ADMIN}&action=section."),
        )
        .await;
    assert_eq!(res.status(), 200);
    let rows = read_xlsx(&res.bytes().await.unwrap());
    assert_eq!(rows.len(), 1 + 4);
    assert!(rows[1..].iter().all(|r| r[1] == ADMIN));
}

on_both_databases!(
    an_award_is_revoked_once,
    an_award_is_revoked_once_on_postgres,
    awards_flow
);

async fn awards_flow(app: TestApp) {
    let admin = app.session(ADMIN).await;
    let me = member_id(&app, ADMIN).await;
    let d102 = member_id(&app, MEMBER).await;
    sqlx::query(
        "INSERT INTO awards (id, member_id, title, confirmed_by, confirmed_at) VALUES ('aw1', $1, '业务标兵', $2, $3)",
    )
    .bind(&d102)
    .bind(&me)
    .bind(biwu::records::now_ms())
    .execute(&app.db.pool)
    .await
    .unwrap();
    let list = admin.get_json(&app, "/api/admin/awards").await;
    assert_eq!(list[0]["id"], "aw1");
    assert_eq!(list[0]["revoked_by"], Value::Null);
    let res = admin
        .post(&app, "/api/awards/aw1/revoke", json!({"reason": " "}))
        .await;
    assert_eq!(res.status(), 422, "a reason is required");
    let res = admin
        .post(
            &app,
            "/api/awards/aw1/revoke",
            json!({"reason": "成绩有误"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = admin
        .post(
            &app,
            "/api/awards/aw1/revoke",
            json!({"reason": "再次撤销"}),
        )
        .await;
    assert_eq!(res.status(), 409, "revoked once");
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM awards WHERE revokes = 'aw1'")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 1);
    let list = admin.get_json(&app, "/api/admin/awards").await;
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "revocations are not listed as awards"
    );
    assert_eq!(list[0]["revoked_reason"], "成绩有误");
    let comps = admin.get_json(&app, "/api/admin/competitions").await;
    assert!(comps.is_array());

    // Revocations at the same moment: one is written, the others are told it was revoked.
    sqlx::query(
        "INSERT INTO awards (id, member_id, title, confirmed_by, confirmed_at) VALUES ('aw2', $1, '业务标兵', $2, $3)",
    )
    .bind(&d102)
    .bind(&me)
    .bind(biwu::records::now_ms())
    .execute(&app.db.pool)
    .await
    .unwrap();
    let tries = (0..6).map(|i| {
        let db = app.db.clone();
        let me = me.clone();
        async move {
            biwu::records::competitions::revoke_award(&db, "aw2", &me, &format!("第 {i} 次"))
                .await
                .map_err(|e| format!("{e:#}"))
        }
    });
    let outcomes = futures_util::future::join_all(tries).await;
    use biwu::records::competitions::Revocation;
    let written = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(Revocation::Revoked(_))))
        .count();
    assert_eq!(written, 1, "{outcomes:?}");
    // PostgreSQL tells the others it was revoked; SQLite may refuse a writer that raced
    // (database is locked) — never a second row either way.
    if app.db.backend.name() == "postgres" {
        assert!(
            outcomes
                .iter()
                .all(|o| matches!(o, Ok(Revocation::Revoked(_) | Revocation::AlreadyRevoked))),
            "{outcomes:?}"
        );
    }
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM awards WHERE revokes = 'aw2'")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 1);
    // The records themselves refuse a second revocation row.
    let second = sqlx::query(
        "INSERT INTO awards (id, member_id, title, revokes, reason, confirmed_by, confirmed_at) \
         VALUES ('aw2b', $1, '撤销：业务标兵', 'aw2', '再次', $2, 0)",
    )
    .bind(&d102)
    .bind(&me)
    .execute(&app.db.pool)
    .await;
    assert!(second.is_err(), "a unique index on revokes");
}

#[tokio::test]
async fn every_admin_api_is_closed_to_heads_and_members() {
    let app = spawn_app().await;
    let sec = section_id(&app, "文秘处").await;
    let m = member_id(&app, "d103").await;
    let gets = [
        "/api/admin/members/search?q=d".to_string(),
        format!("/api/admin/members/{m}"),
        "/api/admin/org".to_string(),
        "/api/admin/audit/search".to_string(),
        "/api/admin/audit/export.xlsx".to_string(),
        "/api/admin/competitions".to_string(),
        "/api/admin/awards".to_string(),
        "/api/admin/slips/x.xlsx".to_string(),
        "/admin/slips/x".to_string(),
    ];
    let posts = [
        ("/api/admin/roster/apply".to_string(), json!({"token": "x"})),
        (format!("/api/admin/members/{m}"), json!({"active": false})),
        (format!("/api/admin/members/{m}/reset"), json!({})),
        ("/api/admin/departments".to_string(), json!({"name": "甲"})),
        (format!("/api/admin/departments/{m}"), json!({"name": "甲"})),
        (
            "/api/admin/sections".to_string(),
            json!({"department_id": "x", "name": "甲"}),
        ),
        (format!("/api/admin/sections/{sec}"), json!({"name": "甲"})),
        (
            format!("/api/admin/sections/{sec}/target"),
            json!({"weekly_target": 3}),
        ),
        (
            format!("/api/admin/sections/{sec}/merge"),
            json!({"into": sec}),
        ),
    ];
    for who in [HEAD, MEMBER, HOST] {
        let s = app.session(who).await;
        for path in &gets {
            assert_eq!(s.get(&app, path).await.status(), 403, "{who} GET {path}");
        }
        for (path, body) in &posts {
            assert_eq!(
                s.post(&app, path, body.clone()).await.status(),
                403,
                "{who} POST {path}"
            );
        }
        let res = upload(
            &app,
            &s,
            "r.csv",
            csv(&[row("甲", "z1", "综合司", "文秘处", "党员")]),
        )
        .await;
        assert_eq!(res.status(), 403, "{who} preview");
    }
    assert_eq!(audit_count(&app, "member.deactivate").await, 0);
    // Pages: the shells render for an admin.
    let admin = app.session(ADMIN).await;
    for page in [
        "/admin",
        "/admin/members",
        "/admin/org",
        "/admin/audit",
        "/admin/awards",
    ] {
        let res = admin.get(&app, page).await;
        assert_eq!(res.status(), 200, "{page}");
    }
}

/// The console in a desktop browser: a roster uploaded, previewed and applied, then each page
/// shows its data and no error.
#[tokio::test]
async fn the_console_works_in_a_browser() {
    use crate::browser::{Browser, click, login};
    use fantoccini::Locator;
    let app = spawn_app().await;
    let Some(b) = Browser::start(1280, 900).await else {
        return;
    };
    login(&b, &app, ADMIN, "/admin").await;
    b.client.goto(&app.url("/admin")).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("roster.xlsx");
    let mut rows = changed_roster(&app).await;
    rows.push(row("浏览器新人", "n009", "督查司", "督查二处", "党员"));
    std::fs::write(&file, xlsx(&rows)).unwrap();
    // First with a bad row (no 工号): named by its row, nothing can be applied.
    let bad_file = tmp.path().join("roster-bad.xlsx");
    let mut bad = rows.clone();
    bad.push(row("漏填工号", "", "督查司", "督查二处", "党员"));
    std::fs::write(&bad_file, xlsx(&bad)).unwrap();
    let input = b.client.find(Locator::Css("#roster-file")).await.unwrap();
    input.send_keys(bad_file.to_str().unwrap()).await.unwrap();
    click(&b, "#upload-button").await;
    b.wait_for_text("#errors-table", &format!("{}", bad.len() + 1))
        .await;
    b.screenshot("admin-roster-bad-row").await;
    // Fixed and uploaded again.
    let input = b.client.find(Locator::Css("#roster-file")).await.unwrap();
    input.clear().await.unwrap();
    input.send_keys(file.to_str().unwrap()).await.unwrap();
    click(&b, "#upload-button").await;
    b.wait_for_text("#preview-counts", "新增成员：3 人").await;
    b.wait_for_text("#preview-lists", "n009").await;
    b.screenshot("admin-roster-preview").await;
    click(&b, "#apply-button").await;
    b.wait_for_text("#passwords-table", "浏览器新人").await;
    let href = b
        .client
        .find(Locator::Css("#slips-link"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    assert!(href.starts_with("/admin/slips/"), "{href}");
    b.client.goto(&app.url(&href)).await.unwrap();
    b.wait_for_text("body", "浏览器新人").await;
    b.screenshot("admin-login-slips").await;

    b.client.goto(&app.url("/admin/members")).await.unwrap();
    b.wait_for_text("#members-table", "李晓雯").await;
    b.client.goto(&app.url("/admin/org")).await.unwrap();
    b.wait_for_text("#org-list", "督查二处").await;
    b.client.goto(&app.url("/admin/audit")).await.unwrap();
    b.wait_for_text("#audit-table", "roster.import").await;
    b.client.goto(&app.url("/admin/awards")).await.unwrap();
    b.wait_for_any("#awards-table", &["暂无表彰", "业务标兵"])
        .await;
    let error = b.client.find(Locator::Css("#page-error")).await.unwrap();
    assert!(!error.is_displayed().await.unwrap());
    b.close().await;
}
