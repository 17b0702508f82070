//! The roster: import, re-import, deactivation and bad rows, on both databases and via the CLI.

use crate::helpers::*;
use biwu::records::members;
use std::process::Command;

const ROSTER: &str = "姓名,工号,司室,处室,角色
张伟,1001,综合司,文秘处,党员
王芳,1002,综合司,文秘处,处长
李强,1003,督查司,督查一处,主持人
刘洋,1004,督查司,督查一处,党员
";

/// Plans and applies a roster file as the CLI does.
async fn import(
    db: &biwu::records::Db,
    file: &std::path::Path,
    deactivate_missing: bool,
) -> biwu::roster::Outcome {
    let (entries, errors) = biwu::roster::parse(file).unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    let plan = biwu::roster::plan(db, entries, errors, None).await.unwrap();
    biwu::roster::apply(db, &plan, None, deactivate_missing)
        .await
        .unwrap()
}

#[tokio::test]
async fn roster_reimport_updates_without_duplicates_and_deactivates_the_missing_when_asked() {
    for (_dir, db) in each_database().await {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("roster.csv");
        std::fs::write(&file, ROSTER).unwrap();
        let first = import(&db, &file, false).await;
        assert_eq!((first.added, first.updated, first.deactivated), (4, 0, 0));
        assert_eq!(first.passwords.len(), 4);

        let again = import(&db, &file, false).await;
        assert_eq!((again.added, again.updated), (0, 4));
        assert_eq!((again.renamed, again.moved, again.roles), (0, 0, 0));
        assert_eq!(members::list(&db, None).await.unwrap().len(), 4);

        // 刘洋 leaves, 张伟 moves section: without asking, 刘洋 is kept.
        let next = ROSTER
            .replace("刘洋,1004,督查司,督查一处,党员\n", "")
            .replace("张伟,1001,综合司,文秘处", "张伟,1001,督查司,督查一处");
        std::fs::write(&file, next).unwrap();
        let out = import(&db, &file, false).await;
        assert_eq!(
            (out.added, out.updated, out.deactivated, out.kept),
            (0, 3, 0, 1)
        );
        assert_eq!(out.moved, 1);
        let liu = members::by_staff_no(&db, "1004").await.unwrap().unwrap();
        assert_eq!(liu.active, 1, "kept: deactivation was not asked for");

        let out = import(&db, &file, true).await;
        assert_eq!((out.added, out.updated, out.deactivated), (0, 3, 1));
        let all = members::list(&db, None).await.unwrap();
        assert_eq!(all.len(), 4, "history kept: nobody deleted");
        let liu = all.iter().find(|m| m.staff_no == "1004").unwrap();
        assert_eq!(liu.active, 0);
        let zhang = all.iter().find(|m| m.staff_no == "1001").unwrap();
        assert_eq!(zhang.section.as_deref(), Some("督查一处"));
        let head = members::by_staff_no(&db, "1002").await.unwrap().unwrap();
        assert_eq!(head.role, "section_head");
        let sections = members::head_sections(&db, &head.id).await.unwrap();
        assert_eq!(sections, vec![head.section_id.clone().unwrap()]);
    }
}

#[test]
fn malformed_rows_are_reported_by_row_number() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("roster.csv");
    std::fs::write(
        &file,
        "姓名,工号,司室,处室,角色\n张伟,1001,综合司,文秘处,党员\n,1002,综合司,文秘处,党员\n王五,1001,综合司,文秘处,党员\n赵六,1003,综合司,文秘处,局长\n钱七,10 04,综合司,,党员\n",
    )
    .unwrap();
    let (entries, errors) = biwu::roster::parse(&file).unwrap();
    assert_eq!(entries.len(), 1);
    let rows: Vec<(usize, &str)> = errors.iter().map(|e| (e.row, e.column)).collect();
    assert_eq!(
        rows,
        vec![
            (3, "姓名"),
            (4, "工号"),
            (5, "角色"),
            (6, "工号"),
            (6, "处室")
        ],
        "{errors:?}"
    );
    assert!(errors[0].message.contains("姓名为空"));
    assert!(errors[1].message.contains("与第 2 行重复"));
    assert!(errors[1].message.contains("第 4 行"));
    assert!(errors[2].message.contains("未知角色「局长」"));

    // Through the CLI: reported, nothing imported.
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
    let t = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!out.status.success());
    assert!(t.contains("第 3 行：姓名为空"), "{t}");
    assert!(t.contains("未导入任何成员"), "{t}");
}

#[test]
fn roster_import_cli_twice_from_xlsx() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("名册.xlsx");
    let rows: Vec<Vec<String>> = ROSTER
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    biwu::table::write(&file, &biwu::roster::COLUMNS, &rows).unwrap();
    let db = format!("sqlite://{}/r.db", tmp.path().display());
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_biwu"))
            .args([
                "roster",
                "import",
                file.to_str().unwrap(),
                "--database-url",
                &db,
            ])
            .output()
            .unwrap()
    };
    let out = run();
    let t = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{t}");
    assert!(t.contains("新增 4，更新 0，停用 0"), "{t}");
    assert_eq!(t.matches("\t").count(), 2 + 4 * 2, "{t}");
    let out = run();
    let t = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(t.contains("新增 0，更新 4，停用 0"), "{t}");
    assert!(!t.contains("一次性密码"), "no new passwords: {t}");

    let out = Command::new(env!("CARGO_BIN_EXE_biwu"))
        .args([
            "admin",
            "create",
            "--staff-no",
            "boss",
            "--name",
            "主任",
            "--database-url",
            &db,
        ])
        .output()
        .unwrap();
    let t = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success() && t.contains("一次性密码"), "{t}");
    let out = Command::new(env!("CARGO_BIN_EXE_biwu"))
        .args([
            "admin",
            "create",
            "--staff-no",
            "boss",
            "--name",
            "主任",
            "--database-url",
            &db,
        ])
        .output()
        .unwrap();
    assert!(!out.status.success(), "a taken staff number is refused");
}
