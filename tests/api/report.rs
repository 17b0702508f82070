//! The competition report as a host downloads it from a real server after a played game,
//! read back cell by cell: typed numbers, times in seconds, three named sheets; the CSV keeps
//! milliseconds and says so.

use crate::helpers::*;
use crate::helpers::{right_answer as right, wrong_answer as wrong};
use crate::live::create;
use crate::ws::Ws;
use biwu::domain::{Kind, Question};
use calamine::{Data, Reader};
use serde_json::json;

/// Excel refuses sheet names with these characters or longer than 31 characters.
const TITLE: &str = "2026年[第一季度]业务比武：信访/党规*知识?竞赛\\复赛——机关各处室全体人员参加";

fn questions() -> Vec<Question> {
    let bank = biwu::bank::load(&bank_dir());
    [Kind::Multiple, Kind::TrueFalse]
        .iter()
        .map(|k| bank.questions().find(|q| q.kind == *k).unwrap().clone())
        .collect()
}

/// The downloaded file's bytes, written where calamine can open them.
async fn download(app: &TestApp, host: &Session, cid: &str, ext: &str) -> Vec<u8> {
    let res = host
        .get(app, &format!("/api/competitions/{cid}/report.{ext}"))
        .await;
    assert_eq!(res.status(), 200, "report.{ext}");
    res.bytes().await.unwrap().to_vec()
}

/// Rows of a sheet as cells, and the column of a heading in the first row.
struct Sheet {
    range: calamine::Range<Data>,
}

impl Sheet {
    fn column(&self, heading: &str) -> u32 {
        let header = self.range.rows().next().expect("a header row");
        header
            .iter()
            .position(|c| *c == Data::String(heading.into()))
            .unwrap_or_else(|| panic!("no column {heading:?} in {header:?}")) as u32
    }

    /// The cell in the row whose first cell is `key`, under `heading`.
    fn at(&self, key: &str, heading: &str) -> Data {
        let col = self.column(heading) as usize;
        self.range
            .rows()
            .find(|r| r[0] == Data::String(key.into()))
            .unwrap_or_else(|| panic!("no row {key:?}"))[col]
            .clone()
    }

    fn row_of(&self, key: &str) -> u32 {
        self.range
            .rows()
            .position(|r| r[0] == Data::String(key.into()))
            .unwrap_or_else(|| panic!("no row {key:?}")) as u32
    }
}

on_both_databases!(
    the_workbook_has_typed_numbers_seconds_and_three_named_sheets,
    the_workbook_on_postgres_and_redis,
    played_game_report
);

/// A game of two questions (A right both times, the guest wrong once and silent once), then
/// both report files downloaded and read back.
async fn played_game_report(app: TestApp) {
    let qs = questions();
    let host = app.session(HOST).await;
    let (cid, pin) = create(&app, &host, &qs, json!({"title": TITLE, "seed": 20260415})).await;
    let (mut console, _) = Ws::hello_staff(&app, &app.cookie(HOST).await, "host", &cid).await;
    let (mut a, _) =
        Ws::hello_player(&app, Some(&app.cookie(MEMBER).await), &pin, None, None).await;
    let (mut b, _) = Ws::hello_player(&app, None, &pin, Some("=访客"), None).await;
    console.command(json!({"type":"start"})).await;
    for (i, q) in qs.iter().enumerate() {
        a.until("question").await;
        b.until("question").await;
        assert_eq!(a.answer(i as u64, right(q)).await["type"], "ack");
        if i == 0 {
            assert_eq!(b.answer(0, wrong(q)).await["type"], "ack");
        }
        if i == 1 {
            console.command(json!({"type":"skip"})).await;
        }
        a.until("result").await;
        console.command(json!({"type":"next"})).await;
        console.command(json!({"type":"next"})).await;
    }
    a.until("podium").await;
    let elapsed: Vec<i64> = sqlx::query_scalar(
        "SELECT a.elapsed_ms FROM answers a JOIN participants p ON p.id = a.participant_id \
         WHERE p.nickname = '李晓雯' ORDER BY a.position",
    )
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(elapsed.len(), 2);

    let bytes = download(&app, &host, &cid, "xlsx").await;
    let mut book: calamine::Xlsx<_> =
        calamine::Xlsx::new(std::io::Cursor::new(bytes)).expect("an xlsx workbook");
    let expected_first = "2026年_第一季度_业务比武：信访_党规_知识_竞赛_复赛—";
    assert_eq!(
        book.sheet_names(),
        [expected_first, "各题统计", "比赛设置"],
        "named after the competition, cleaned and cut to 31 characters"
    );
    assert_eq!(biwu::live::report::sheet_name(TITLE), expected_first);

    // The players: numbers as numbers, times in seconds with one decimal.
    let players = Sheet {
        range: book.worksheet_range(expected_first).unwrap(),
    };
    let seconds = |ms: i64| Data::Float(ms as f64 / 1000.0);
    assert_eq!(players.at("李晓雯", "名次"), Data::Float(1.0));
    assert_eq!(players.at("=访客", "名次"), Data::Float(2.0));
    assert_eq!(players.at("=访客", "总分"), Data::Float(0.0));
    assert_eq!(players.at("李晓雯", "第1题正误"), Data::String("对".into()));
    assert_eq!(players.at("李晓雯", "第1题用时(秒)"), seconds(elapsed[0]));
    assert_eq!(players.at("李晓雯", "第2题用时(秒)"), seconds(elapsed[1]));
    assert_eq!(
        players.at("李晓雯", "总用时(秒)"),
        seconds(elapsed[0] + elapsed[1])
    );
    assert_eq!(
        players.at("=访客", "第2题正误"),
        Data::String("未答".into())
    );
    assert_eq!(players.at("=访客", "第2题用时(秒)"), Data::Empty);
    let points = players.at("李晓雯", "第1题得分");
    assert!(
        matches!(points, Data::Float(p) if (500.0..=1000.0).contains(&p)),
        "{points:?}"
    );
    assert_eq!(
        players.at("李晓雯", "总分"),
        Data::Float(
            ["第1题得分", "第2题得分"]
                .iter()
                .map(|h| match players.at("李晓雯", h) {
                    Data::Float(p) => p,
                    other => panic!("{h}: {other:?}"),
                })
                .sum()
        )
    );
    let styles = book.worksheet_style(expected_first).unwrap();
    let format = |row: u32, col: u32| {
        styles
            .get((row, col))
            .and_then(|s| s.number_format.as_ref())
            .map(|f| f.format_code.clone())
    };
    let a_row = players.row_of("李晓雯");
    for heading in ["第1题用时(秒)", "总用时(秒)"] {
        assert_eq!(
            format(a_row, players.column(heading)).as_deref(),
            Some("0.0"),
            "{heading}"
        );
    }

    // One row per question: share right and the bars per option.
    let stats = Sheet {
        range: book.worksheet_range("各题统计").unwrap(),
    };
    let row = |n: usize| stats.range.rows().nth(n).unwrap().to_vec();
    let header = row(0);
    let col = |h: &str| stats.column(h) as usize;
    assert_eq!(header[0], Data::String("题号".into()));
    let first = row(1);
    assert_eq!(first[col("题号")], Data::Float(1.0));
    assert_eq!(first[col("题干")], Data::String(qs[0].stem.clone()));
    assert_eq!(first[col("作答人数")], Data::Float(2.0));
    assert_eq!(first[col("答对人数")], Data::Float(1.0));
    assert_eq!(first[col("答对率")], Data::Float(0.5));
    let key = qs[0].answer.display();
    let wrong_letter = wrong(&qs[0])["value"].as_str().unwrap().to_string();
    for letter in ["A", "B", "C", "D", "E", "F", "G", "H"]
        .iter()
        .take(qs[0].options.len())
    {
        let expected = key.contains(letter) as u8 + (wrong_letter == *letter) as u8;
        assert_eq!(
            first[col(&format!("选{letter}"))],
            Data::Float(f64::from(expected)),
            "option {letter} of {key}"
        );
    }
    let second = row(2);
    assert_eq!(second[col("作答人数")], Data::Float(1.0));
    assert_eq!(
        second[col("答对率")],
        Data::Float(0.5),
        "one of two players"
    );
    let truth = if qs[1].answer.display() == "正确" {
        ("选正确", "选错误")
    } else {
        ("选错误", "选正确")
    };
    assert_eq!(second[col(truth.0)], Data::Float(1.0));
    assert_eq!(second[col(truth.1)], Data::Float(0.0));
    assert_eq!(second[col("选A")], Data::Empty, "no letters for true/false");

    // The settings, the seed among them, kept exactly as text.
    let settings = Sheet {
        range: book.worksheet_range("比赛设置").unwrap(),
    };
    assert_eq!(
        settings.at("抽题随机种子", "设置"),
        Data::String("20260415".into())
    );
    assert_eq!(settings.at("比赛名称", "设置"), Data::String(TITLE.into()));
    assert_eq!(settings.at("每题时间(秒)", "设置"), Data::Float(5.0));
    assert_eq!(settings.at("速度加分", "设置"), Data::String("是".into()));

    // The CSV: milliseconds, said in the header; a name that looks like a formula defused.
    let csv = String::from_utf8(download(&app, &host, &cid, "csv").await).unwrap();
    let mut reader = csv::Reader::from_reader(csv.trim_start_matches('\u{feff}').as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let at = |h: &str| header.iter().position(|c| c == h).unwrap();
    assert!(
        header.contains(&"第1题用时(毫秒)".to_string()),
        "{header:?}"
    );
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let a_line = records.iter().find(|r| &r[0] == "李晓雯").unwrap();
    assert_eq!(a_line[at("第1题用时(毫秒)")], elapsed[0].to_string());
    assert_eq!(
        a_line[at("总用时(毫秒)")],
        (elapsed[0] + elapsed[1]).to_string()
    );
    assert!(records.iter().any(|r| &r[0] == "'=访客"), "{csv}");
}
