//! `biwu bank check | import | export` and `biwu serve` on a bad bank, run as a user would.

use crate::helpers::bank_dir;
use std::path::Path;
use std::process::{Command, Output};

fn biwu(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_biwu"))
        .args(args)
        .env_remove("BIWU_BANK_DIR")
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .output()
        .expect("run biwu")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

const GOOD: &str = r#"[[question]]
id = "t-0001"
kind = "single"
topic = "petition-work"
difficulty = 1
tags = ["总则"]
stem = "《信访工作条例》自何时起施行？"
options = ["2022年5月1日", "2022年1月1日", "2022年4月7日", "2021年5月1日"]
answer = "A"
explanation = "第五十条。"
source = "《信访工作条例》第五十条"
"#;

/// A small bank with planted errors: a duplicate id, an answer outside the options, a missing
/// source, and a file with broken TOML.
fn planted(dir: &Path) {
    std::fs::create_dir_all(dir.join("petition-work")).unwrap();
    let dup = GOOD.replace("自何时起施行", "由谁发布");
    let outside = r#"
[[question]]
id = "t-0002"
kind = "single"
topic = "petition-work"
difficulty = 2
tags = ["总则"]
stem = "第二题"
options = ["甲", "乙", "丙", "丁"]
answer = "E"
explanation = "解析"
source = "出处"

[[question]]
id = "t-0003"
kind = "truefalse"
topic = "petition-work"
difficulty = 1
tags = ["总则"]
stem = "第三题"
answer = true
explanation = "解析"
"#;
    std::fs::write(dir.join("petition-work/a.toml"), format!("{GOOD}{outside}")).unwrap();
    std::fs::write(dir.join("petition-work/b.toml"), dup).unwrap();
    std::fs::write(
        dir.join("petition-work/c.toml"),
        "[[question]]\nid = \"t-0009\nkind = 1\n",
    )
    .unwrap();
}

#[test]
fn shipped_bank_passes_and_prints_counts() {
    let dir = bank_dir();
    let out = biwu(&["bank", "check", dir.to_str().unwrap()]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    for topic in [
        "party-constitution",
        "party-regulations",
        "speeches",
        "petition-work",
        "learning-plan",
        "skills",
    ] {
        assert!(t.contains(topic), "{topic} missing in\n{t}");
    }
    for kind in ["单选题", "多选题", "判断题", "填空题", "数值题", "日期题"] {
        assert!(t.contains(kind), "{t}");
    }
    assert!(t.contains("题库检查通过"));
}

/// One question of the item-writing test bank.
fn item(id: &str, kind: &str, stem: &str, rest: &str) -> String {
    format!(
        "[[question]]\nid = \"{id}\"\nkind = \"{kind}\"\ntopic = \"petition-work\"\n\
         difficulty = 1\ntags = [\"总则\"]\nstem = \"{stem}\"\n{rest}\n\
         explanation = \"解析\"\nsource = \"《信访工作条例》\"\n\n"
    )
}

/// A valid bank that breaks every machine-checked item-writing rule once: ten true/false
/// statements all true, a right option that stands out by length, an absolute word only in
/// wrong options, a near-duplicate pair without a family (and one with, not to be warned).
fn planted_items(dir: &Path) {
    std::fs::create_dir_all(dir.join("petition-work")).unwrap();
    let statements = [
        "信访工作是党的群众工作的重要组成部分。",
        "各级机关应当畅通信访渠道。",
        "信访人应当如实反映情况。",
        "县级以上人民政府设立信访工作机构。",
        "网上信访是信访渠道之一。",
        "复查意见应当书面答复信访人。",
        "信访事项办理应当依法及时就地解决。",
        "党委领导信访工作。",
        "信访工作联席会议协调处理疑难复杂信访问题。",
        "信访人可以委托代表提出信访事项。",
    ];
    let mut text = String::new();
    for (i, stem) in statements.iter().enumerate() {
        text += &item(&format!("t-00{i:02}"), "truefalse", stem, "answer = true");
    }
    text += &item(
        "t-0101",
        "single",
        "对信访人提出的诉求应当怎样处理？",
        "options = [\"转交\", \"依法及时就地解决问题并做好疏导工作\", \"存档\", \"退回\"]\nanswer = \"B\"",
    );
    text += &item(
        "t-0102",
        "single",
        "信访事项的受理机关是哪一级？",
        "options = [\"一律由省级机关受理\", \"有权处理的机关\", \"上级机关\", \"同级党委\"]\nanswer = \"B\"",
    );
    text += &item(
        "t-0103",
        "single",
        "信访人对复查意见不服的，可以自收到书面复查意见之日起多少日内请求复核？",
        "options = [\"30日\", \"15日\", \"60日\", \"90日\"]\nanswer = \"A\"",
    );
    text += &item(
        "t-0104",
        "single",
        "信访人对复查意见不服的，可以自收到书面复查意见之日起多少日以内请求复核？",
        "options = [\"30日\", \"20日\", \"60日\", \"90日\"]\nanswer = \"A\"",
    );
    text += &item(
        "t-0105",
        "single",
        "信访人对处理意见不服的，可以自收到书面答复之日起多少日内请求复查？",
        "options = [\"30日\", \"15日\", \"60日\", \"90日\"]\nanswer = \"A\"\nfamily = \"复查期限\"",
    );
    text += &item(
        "t-0106",
        "single",
        "信访人对处理意见不服的，可以自收到书面答复之日起多少日以内请求复查？",
        "options = [\"30日\", \"20日\", \"60日\", \"90日\"]\nanswer = \"A\"\nfamily = \"复查期限\"",
    );
    std::fs::write(dir.join("petition-work/items.toml"), text).unwrap();
}

#[test]
fn item_writing_warnings_name_each_item_and_never_fail_the_check() {
    let tmp = tempfile::tempdir().unwrap();
    planted_items(tmp.path());
    let out = biwu(&["bank", "check", "--stats", tmp.path().to_str().unwrap()]);
    let t = text(&out);
    assert!(out.status.success(), "warnings only: {t}");
    assert!(t.contains("题库检查通过"), "{t}");
    let file = tmp
        .path()
        .join("petition-work/items.toml")
        .display()
        .to_string();
    let topic = tmp.path().join("petition-work").display().to_string();
    assert!(
        t.contains(&format!(
            "{topic}:0: 提示：分类 petition-work（信访业务） 判断题 10 道中正确 10 道（100%）"
        )),
        "{t}"
    );
    assert!(
        t.contains(&format!("{file}:111: [t-0101] 提示：正确选项 B 明显最长")),
        "{t}"
    );
    assert!(
        t.contains("[t-0102] 提示：绝对词「一律」只出现在错误选项 A 中"),
        "{t}"
    );
    assert!(
        t.contains(&format!("[t-0104] 提示：题干与 t-0103（{file}:135）近似")),
        "{t}"
    );
    assert!(
        !t.contains("[t-0106] 提示"),
        "one family is not warned: {t}"
    );
    assert!(
        !t.contains("[t-0103] 提示"),
        "the earlier of a pair is not: {t}"
    );
    // The figures.
    assert!(t.contains("判断题 10 道：正确 10 道（100%）"), "{t}");
    assert!(t.contains("明显最长 1 道"), "{t}");
    assert!(
        t.contains("绝对词只在错误选项：1 道；近似题干：1 对"),
        "{t}"
    );
    assert!(t.contains("命题提示 4 条"), "{t}");
}

#[test]
fn shipped_bank_passes_with_its_figures() {
    let dir = bank_dir();
    let out = biwu(&["bank", "check", "--stats", dir.to_str().unwrap()]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("题库检查通过"), "{t}");
    assert!(t.contains("命题质量统计"), "{t}");
    for topic in ["party-constitution", "petition-work", "skills"] {
        assert!(t.contains(&format!("{topic} ")), "{topic} figures missing");
    }
}

#[test]
fn planted_errors_are_each_named_with_file_line_and_id() {
    let tmp = tempfile::tempdir().unwrap();
    planted(tmp.path());
    let out = biwu(&["bank", "check", tmp.path().to_str().unwrap()]);
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    let a = tmp
        .path()
        .join("petition-work/a.toml")
        .display()
        .to_string();
    let b = tmp
        .path()
        .join("petition-work/b.toml")
        .display()
        .to_string();
    let c = tmp
        .path()
        .join("petition-work/c.toml")
        .display()
        .to_string();
    assert!(t.contains(&format!("{b}:1: [t-0001] id 重复")), "{t}");
    assert!(
        t.contains(&format!("{a}:13: [t-0002] 答案「E」不在选项之中")),
        "{t}"
    );
    assert!(t.contains(&format!("{a}:25: [t-0003] 缺少出处")), "{t}");
    assert!(t.contains(&format!("{c}:2: TOML 语法错误")), "{t}");
    assert!(t.contains("题库有 4 处问题"), "{t}");
}

#[test]
fn serve_refuses_an_invalid_bank_with_the_same_messages() {
    let tmp = tempfile::tempdir().unwrap();
    planted(&tmp.path().join("bank"));
    let db = format!("sqlite://{}/x.db", tmp.path().display());
    let out = biwu(&[
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--bank-dir",
        tmp.path().join("bank").to_str().unwrap(),
        "--database-url",
        &db,
    ]);
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    assert!(t.contains("[t-0002] 答案「E」不在选项之中"), "{t}");
    assert!(t.contains("TOML 语法错误"), "{t}");
    assert!(t.contains("服务未启动"), "{t}");
}

#[test]
fn serve_says_when_its_address_is_taken() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let tmp = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/x.db", tmp.path().display());
    let out = biwu(&[
        "serve",
        "--bind",
        &addr,
        "--bank-dir",
        bank_dir().to_str().unwrap(),
        "--database-url",
        &db,
    ]);
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    assert!(t.contains(&format!("无法监听 {addr}")), "{t}");
}

fn round_trip(format: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join(format!("bank.{format}"));
    let out = biwu(&[
        "bank",
        "export",
        "--from",
        bank_dir().to_str().unwrap(),
        "--format",
        format,
        "--output",
        file.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let into = tmp.path().join("empty");
    let out = biwu(&[
        "bank",
        "import",
        file.to_str().unwrap(),
        "--into",
        into.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let out = biwu(&["bank", "check", into.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));

    let mut original: Vec<_> = biwu::bank::load(&bank_dir()).questions().cloned().collect();
    let mut back: Vec<_> = biwu::bank::load(&into).questions().cloned().collect();
    original.sort_by(|a, b| a.id.cmp(&b.id));
    back.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(original.len(), back.len());
    for (a, b) in original.iter().zip(&back) {
        assert_eq!(a, b);
    }
    // Importing the same file again duplicates nothing: every row is reported instead.
    let out = biwu(&[
        "bank",
        "import",
        file.to_str().unwrap(),
        "--into",
        into.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(text(&out).contains("重复"));
}

#[test]
fn xlsx_export_import_round_trip_gives_the_same_questions() {
    round_trip("xlsx");
}

#[test]
fn csv_export_import_round_trip_gives_the_same_questions() {
    round_trip("csv");
}

fn write_xlsx(path: &Path, rows: &[Vec<&str>]) {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            sheet.write_string(r as u32, c as u16, *v).unwrap();
        }
    }
    book.save(path).unwrap();
}

fn sheet_rows() -> Vec<Vec<&'static str>> {
    let header = vec![
        "题型",
        "题干",
        "选项A",
        "选项B",
        "选项C",
        "选项D",
        "答案",
        "解析",
        "知识点",
        "难度",
        "出处",
        "分类",
    ];
    vec![
        header,
        // row 2: good
        vec![
            "单选题",
            "信访工作的责任原则是？",
            "党政同责",
            "一人负责",
            "",
            "",
            "A",
            "第五条。",
            "总则",
            "1",
            "《信访工作条例》第五条",
            "信访业务",
        ],
        // row 3: no answer
        vec![
            "判断题",
            "这一行没有答案。",
            "",
            "",
            "",
            "",
            "",
            "解析",
            "总则",
            "1",
            "出处",
            "信访业务",
        ],
        // row 4: answer E with four options
        vec![
            "单选题",
            "这一行答案越界。",
            "甲",
            "乙",
            "丙",
            "丁",
            "E",
            "解析",
            "总则",
            "2",
            "出处",
            "信访业务",
        ],
        // row 5: unknown kind
        vec![
            "问答题",
            "这一行题型未知。",
            "",
            "",
            "",
            "",
            "略",
            "解析",
            "总则",
            "2",
            "出处",
            "信访业务",
        ],
    ]
}

#[test]
fn bad_spreadsheet_rows_are_each_reported_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("题库.xlsx");
    write_xlsx(&file, &sheet_rows());
    let into = tmp.path().join("bank");
    let out = biwu(&[
        "bank",
        "import",
        file.to_str().unwrap(),
        "--into",
        into.to_str().unwrap(),
    ]);
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    assert!(t.contains("第 3 行：") && t.contains("缺少答案"), "{t}");
    assert!(t.contains("第 4 行：") && t.contains("不在选项之中"), "{t}");
    assert!(
        t.contains("第 5 行：") && t.contains("未知题型「问答题」"),
        "{t}"
    );
    assert!(!t.contains("第 2 行"), "{t}");
    assert!(
        biwu::bank::question_files(&into).unwrap().is_empty(),
        "nothing written"
    );

    let out = biwu(&[
        "bank",
        "import",
        file.to_str().unwrap(),
        "--into",
        into.to_str().unwrap(),
        "--skip-invalid",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let bank = biwu::bank::load(&into);
    assert!(bank.is_valid(), "{:?}", bank.problems);
    assert_eq!(bank.questions.len(), 1);
    assert_eq!(bank.questions[0].question.stem, "信访工作的责任原则是？");
}

#[test]
fn a_spreadsheet_without_the_template_columns_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("x.csv");
    std::fs::write(&file, "问题,答案\n甲,乙\n").unwrap();
    let out = biwu(&[
        "bank",
        "import",
        file.to_str().unwrap(),
        "--into",
        tmp.path().join("b").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(text(&out).contains("缺少列"), "{}", text(&out));
}

#[test]
fn the_shipped_template_matches_the_importer() {
    for name in ["题库模板.xlsx", "题库模板.csv"] {
        let path = bank_dir().join("templates").join(name);
        let table = biwu::table::read(&path).unwrap();
        for col in biwu::bank::sheet::header() {
            assert!(table.columns.contains_key(col), "{name} lacks {col}");
        }
        let tmp = tempfile::tempdir().unwrap();
        let out = biwu(&[
            "bank",
            "import",
            path.to_str().unwrap(),
            "--into",
            tmp.path().to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{name}: {}", text(&out));
    }
}
