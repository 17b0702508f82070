//! A first run for a real office: the binary started from an empty folder uses the bank built
//! into it, a `--bank-dir` that does not exist is named, the addresses phones can use are
//! printed, and join links and QR codes carry the public URL.

use crate::helpers::*;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Starts `biwu serve` in `dir` and returns what it printed until it was listening.
fn start_in(dir: &std::path::Path, args: &[&str]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_biwu"))
        .arg("serve")
        .args(args)
        .current_dir(dir)
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/biwu.db", dir.display()),
        )
        .env_remove("BIWU_BANK_DIR")
        .env_remove("BIWU_PUBLIC_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start biwu");
    let mut out = String::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        match lines.next() {
            Some(Ok(line)) => {
                out.push_str(&line);
                out.push('\n');
                if line.contains("此密码只显示这一次") {
                    break;
                }
            }
            _ => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    out
}

#[test]
fn from_an_empty_folder_the_built_in_bank_serves() {
    let dir = tempfile::tempdir().unwrap();
    let shipped = biwu::bank::load(&bank_dir()).questions.len();
    let out = start_in(dir.path(), &["--bind", "127.0.0.1:0"]);
    assert!(out.contains("内置题库"), "{out}");
    assert!(out.contains(&format!("题目 {shipped} 道")), "{out}");
    assert!(out.contains("一次性密码"), "{out}");
    // Bound to this machine only: said plainly, with what to do.
    assert!(
        out.contains("只监听本机地址") && out.contains("--public-url"),
        "{out}"
    );
}

#[test]
fn bound_to_every_address_it_prints_where_phones_reach_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = start_in(
        dir.path(),
        &[
            "--bind",
            "0.0.0.0:0",
            "--public-url",
            "http://10.1.2.3:8080/",
        ],
    );
    assert!(
        out.contains("手机访问 http://10.1.2.3:8080/（--public-url"),
        "{out}"
    );
    assert!(!out.contains("只监听本机地址"), "{out}");
}

#[test]
fn a_bank_folder_that_does_not_exist_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_biwu"))
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--bank-dir",
            "no-such-bank",
        ])
        .current_dir(dir.path())
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/biwu.db", dir.path().display()),
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no-such-bank") && err.contains("不存在"),
        "{err}"
    );
}

#[tokio::test]
async fn join_links_and_qr_codes_carry_the_public_url() {
    let app = spawn_app_edited(
        Options {
            demo: true,
            ..Options::default()
        },
        |s| s.public_url = Some("https://biwu.example.gov.cn".into()),
    )
    .await;
    let base = app.address.clone();
    let client = client();
    let login: Value = client
        .post(format!("{base}/api/login"))
        .json(&json!({"staff_no": HOST, "password": biwu::demo::DEMO_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let csrf = login["csrf"].as_str().unwrap();
    let created: Value = client
        .post(format!("{base}/api/competitions"))
        .header("X-CSRF-Token", csrf)
        .json(&json!({"title": "测试", "topics": ["petition-work"], "count": 3, "time_limit_s": 20, "award_rule": {"top_n": 3}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let pin = created["pin"].as_str().unwrap();
    let detail: Value = client
        .get(format!("{base}/api/competitions/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let join = format!("https://biwu.example.gov.cn/play?pin={pin}");
    assert_eq!(detail["join_url"], join);
    assert!(detail["join_warning"].is_null());
    let svg = client
        .get(format!("{base}/api/competitions/{id}/qr.svg"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let expected = qrcode::QrCode::new(join.as_bytes())
        .unwrap()
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(320, 320)
        .quiet_zone(true)
        .build();
    assert_eq!(svg, expected, "the QR code encodes the public join link");
}

#[tokio::test]
async fn a_loopback_join_link_warns_the_host() {
    let app = spawn_app().await;
    let host = app.session(HOST).await;
    let created: Value = host
        .post(
            &app,
            "/api/competitions",
            json!({"title": "测试", "topics": ["petition-work"], "count": 3, "time_limit_s": 20, "award_rule": {"top_n": 3}}),
        )
        .await
        .json()
        .await
        .unwrap();
    let detail = host
        .get_json(
            &app,
            &format!("/api/competitions/{}", created["id"].as_str().unwrap()),
        )
        .await;
    assert!(
        detail["join_warning"]
            .as_str()
            .is_some_and(|w| w.contains("--public-url")),
        "{detail}"
    );
}
