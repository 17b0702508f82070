//! Pages in real headless Chromium, driven over WebDriver (chromedriver).

use crate::helpers::*;
use fantoccini::{Client, ClientBuilder, Locator};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A chromedriver process and a headless Chromium session at phone size. Dropping it ends both.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// `None` (test skipped) when no chromedriver is available.
    pub async fn start(width: u32, height: u32) -> Option<Browser> {
        let driver_path = match std::env::var("BIWU_TEST_CHROMEDRIVER") {
            Ok(p) if !p.is_empty() => p,
            _ => {
                if std::env::var("BIWU_TEST_REQUIRE_BACKENDS").is_ok_and(|v| v == "1") {
                    panic!("Chromium is required (BIWU_TEST_CHROMEDRIVER unset)");
                }
                eprintln!("SKIPPED: no chromedriver (BIWU_TEST_CHROMEDRIVER unset)");
                return None;
            }
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let profile = tempfile::tempdir().unwrap();
        let caps = serde_json::json!({
            "goog:chromeOptions": {
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--no-first-run", "--disable-dev-shm-usage", "--disable-component-update",
                    "--disable-sync", "--hide-scrollbars", "--lang=zh-CN",
                    format!("--window-size={width},{height}"),
                    format!("--user-data-dir={}", profile.path().display()),
                ],
                // Desktop Chromium will not make a window narrower than 500 px; emulate the phone.
                "mobileEmulation": {
                    "deviceMetrics": { "width": width, "height": height, "pixelRatio": 2.0, "touch": true }
                }
            }
        });
        let caps = caps.as_object().unwrap().clone();
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let mut last_err = None;
        for _ in 0..50 {
            match ClientBuilder::new(connector.clone())
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(client) => {
                    return Some(Browser {
                        client,
                        driver,
                        _profile: profile,
                    });
                }
                Err(e) => {
                    last_err = Some(e);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
        panic!("chromedriver did not start: {last_err:?}");
    }

    /// Saves a screenshot under docs/screenshots/.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    pub async fn wait_for_text(&self, css: &str, needle: &str) -> String {
        for _ in 0..100 {
            if let Ok(el) = self.client.find(Locator::Css(css)).await
                && let Ok(t) = el.text().await
                && t.contains(needle)
            {
                return t;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let html = self.client.source().await.unwrap_or_default();
        panic!("no {needle:?} in {css}:\n{html}");
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

#[tokio::test]
async fn a_member_logs_in_on_a_phone_and_changes_a_password() {
    let Some(b) = Browser::start(360, 740).await else {
        return;
    };
    let app = spawn_app().await;
    b.client.goto(&app.url("/login")).await.unwrap();
    b.wait_for_text("h1", "登录").await;
    b.screenshot("login-phone").await;

    // A wrong password shows the server's message in the page.
    b.client
        .find(Locator::Css("input[name=staff_no]"))
        .await
        .unwrap()
        .send_keys(MEMBER)
        .await
        .unwrap();
    let pw = b
        .client
        .find(Locator::Css("input[name=password]"))
        .await
        .unwrap();
    pw.send_keys("wrong-password").await.unwrap();
    b.client
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait_for_text("#login-error", "工号或密码错误").await;

    pw.clear().await.unwrap();
    pw.send_keys(biwu::demo::DEMO_PASSWORD).await.unwrap();
    b.client
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait_for_text("header", "您好，李晓雯").await;
    b.wait_for_text("main", "岗位练兵").await;
    b.screenshot("home-phone").await;

    // Change the password through the form; the CSRF token travels from the page's meta tag.
    b.client.goto(&app.url("/account")).await.unwrap();
    for (name, value) in [
        ("old_password", biwu::demo::DEMO_PASSWORD),
        ("new_password", "phone-chosen-1"),
        ("confirm", "phone-chosen-1"),
    ] {
        b.client
            .find(Locator::Css(&format!("input[name={name}]")))
            .await
            .unwrap()
            .send_keys(value)
            .await
            .unwrap();
    }
    b.client
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait_for_text("#password-error", "密码已修改").await;
    b.close().await;
    assert_eq!(app.login(MEMBER, "phone-chosen-1").await.status(), 200);
}
