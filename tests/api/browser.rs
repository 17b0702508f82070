//! Pages in real headless Chromium, driven over WebDriver (chromedriver).

use crate::a11y::assert_accessible;
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
                crate::helpers::missing("Chromium", "BIWU_TEST_CHROMEDRIVER unset");
                return None;
            }
        };
        let port = crate::helpers::free_port();
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
            }
        });
        let mut caps = caps;
        if width < 800 {
            // Desktop Chromium will not make a window narrower than 500 px; emulate the phone.
            caps["goog:chromeOptions"]["mobileEmulation"] = serde_json::json!({
                "deviceMetrics": { "width": width, "height": height, "pixelRatio": 2.0, "touch": true }
            });
        }
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
        self.wait_for_any(css, &[needle]).await
    }

    /// Waits until the element's text contains one of `needles`.
    pub async fn wait_for_any(&self, css: &str, needles: &[&str]) -> String {
        for _ in 0..100 {
            if let Ok(el) = self.client.find(Locator::Css(css)).await
                && let Ok(t) = el.text().await
                && needles.iter().any(|n| t.contains(n))
            {
                return t;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let html = self.client.source().await.unwrap_or_default();
        panic!("none of {needles:?} in {css}:\n{html}");
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

pub async fn fill(b: &Browser, css: &str, value: &str) {
    let el = b.client.find(Locator::Css(css)).await.unwrap();
    el.clear().await.unwrap();
    el.send_keys(value).await.unwrap();
}

pub async fn click(b: &Browser, css: &str) {
    let mut last = String::new();
    for _ in 0..50 {
        match b.client.find(Locator::Css(css)).await {
            Ok(el) => match el.click().await {
                Ok(_) => return,
                Err(e) => last = format!("{e}"),
            },
            Err(e) => last = format!("{e}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("cannot click {css}: {}", last.lines().next().unwrap_or(""));
}

pub async fn login(b: &Browser, app: &TestApp, staff_no: &str, next: &str) {
    b.client
        .goto(&app.url(&format!("/login?next={next}")))
        .await
        .unwrap();
    fill(b, "input[name=staff_no]", staff_no).await;
    fill(b, "input[name=password]", biwu::demo::DEMO_PASSWORD).await;
    click(b, "button[type=submit]").await;
    for _ in 0..100 {
        let url = b.client.current_url().await.unwrap();
        if !url.path().starts_with("/login") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("login of {staff_no} did not leave the login page");
}

/// Answers the current question on a phone: right or wrong, by kind.
pub(crate) async fn answer_on_phone(b: &Browser, q: &biwu::domain::Question, right: bool) {
    use biwu::domain::AnswerKey;
    b.wait_for_text("#stem", &q.stem).await;
    match &q.answer {
        AnswerKey::TrueFalse(v) => {
            let pick = if *v == right { "#tf-true" } else { "#tf-false" };
            click(b, pick).await;
        }
        AnswerKey::Choice(ix) => {
            let letters: Vec<usize> = if right {
                ix.clone()
            } else {
                vec![(0..q.options.len()).find(|i| !ix.contains(i)).unwrap_or(0)]
            };
            for i in &letters {
                let l = (b'A' + *i as u8) as char;
                click(b, &format!("#options button[data-letter=\"{l}\"]")).await;
            }
            // A single choice is tapped, then confirmed; a multiple one is submitted.
            click(b, "#submit").await;
        }
        _ => unreachable!("the test picks choice and true/false questions"),
    }
    // Submitted, or (for the last to answer) already revealed.
    b.wait_for_any("#status", &["已提交", "揭晓"]).await;
}

#[tokio::test]
async fn a_game_on_the_projector_and_two_phones_to_the_podium() {
    let Some(screen) = Browser::start(1920, 1080).await else {
        return;
    };
    let phone_a = Browser::start(360, 740).await.unwrap();
    let phone_b = Browser::start(360, 740).await.unwrap();
    let app = spawn_app().await;
    let bank = biwu::bank::load(&bank_dir());
    let qs: Vec<biwu::domain::Question> = [
        biwu::domain::Kind::Single,
        biwu::domain::Kind::TrueFalse,
        biwu::domain::Kind::Multiple,
    ]
    .iter()
    .map(|k| {
        bank.questions()
            .find(|q| q.kind == *k && q.stem.chars().count() < 60)
            .unwrap()
            .clone()
    })
    .collect();
    let host = app.session(HOST).await;
    let created: serde_json::Value = host
        .post(
            &app,
            "/api/competitions",
            serde_json::json!({
                "title": "信访业务知识竞赛（演示）",
                "question_ids": qs.iter().map(|q| q.id.clone()).collect::<Vec<_>>(),
                "time_limit_s": 60, "guests_allowed": true, "award_rule": {"top_n": 1},
            }),
        )
        .await
        .json()
        .await
        .unwrap();
    let (cid, pin) = (
        created["id"].as_str().unwrap(),
        created["pin"].as_str().unwrap(),
    );

    // The projector, logged in as the host.
    login(&screen, &app, HOST, "/").await;
    screen
        .client
        .goto(&app.url(&format!("/screen/{cid}")))
        .await
        .unwrap();
    screen.wait_for_text("#pin", pin).await;

    // Two phones: a member who logs in, and a guest with a nickname.
    // A logged-in member coming from the QR link joins at once.
    login(&phone_a, &app, MEMBER, &format!("/play?pin={pin}")).await;
    phone_b
        .client
        .goto(&app.url(&format!("/play?pin={pin}")))
        .await
        .unwrap();
    fill(&phone_b, "#name", "访客小王").await;
    click(&phone_b, "#join").await;
    screen.wait_for_text("#players-count", "2").await;
    phone_b.wait_for_text("#lobby-card", "等待主持人开始").await;
    phone_b.wait_for_text("#lobby-players", "2").await;
    screen.screenshot("live-lobby").await;
    phone_b.screenshot("phone-lobby").await;
    let url_px = screen
        .client
        .execute(
            "return [parseFloat(getComputedStyle(document.getElementById('join-url')).fontSize),
                     parseFloat(getComputedStyle(document.querySelector('.screen-foot')).fontSize)];",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        url_px[0].as_f64().unwrap() >= 44.0 && url_px[1].as_f64().unwrap() >= 32.0,
        "join link and footer readable from 10 m: {url_px}"
    );
    assert_accessible(&screen, "projector lobby").await;
    assert_accessible(&phone_b, "phone lobby").await;

    // The host console in a second window of the host's browser.
    let console = screen.client.new_window(true).await.unwrap();
    let projector = screen.client.window().await.unwrap();
    let to_console = || async {
        screen
            .client
            .switch_to_window(console.handle.clone())
            .await
            .unwrap()
    };
    let to_projector = || async {
        screen
            .client
            .switch_to_window(projector.clone())
            .await
            .unwrap()
    };
    to_console().await;
    screen
        .client
        .goto(&app.url(&format!("/host/{cid}")))
        .await
        .unwrap();
    screen.wait_for_text("body", "开始").await;
    assert_accessible(&screen, "host console, lobby").await;
    click(&screen, "#start").await;
    to_projector().await;

    for (i, q) in qs.iter().enumerate() {
        screen.wait_for_text("#stem", &q.stem).await;
        if i == 0 {
            screen.screenshot("live-question").await;
            assert_accessible(&screen, "projector question").await;
            // 暂停 stays inside the countdown's circle.
            let fits = screen
                .client
                .execute(
                    "const n = document.querySelector('#countdown .num');
                     n.parentElement.classList.add('paused'); n.textContent = '暂停';
                     const ok = n.scrollWidth <= n.clientWidth && n.scrollHeight <= n.clientHeight;
                     n.parentElement.classList.remove('paused'); return ok;",
                    vec![],
                )
                .await
                .unwrap();
            assert_eq!(fits.as_bool(), Some(true), "暂停 overflows the countdown");
            phone_a.wait_for_text("#stem", &q.stem).await;
            assert_accessible(&phone_a, "phone question").await;
        }
        answer_on_phone(&phone_a, q, true).await;
        if i == 0 {
            phone_a.screenshot("phone-question").await;
            // A refresh after answering: the phone still shows what was chosen.
            phone_a.client.refresh().await.unwrap();
            phone_a.wait_for_text("#status", "您的答案").await;
            let pressed = phone_a
                .client
                .execute(
                    "return [...document.querySelectorAll('#options [aria-pressed=true]')].length;",
                    vec![],
                )
                .await
                .unwrap();
            assert_eq!(
                pressed.as_u64(),
                Some(1),
                "the chosen option is highlighted again"
            );
        }
        answer_on_phone(&phone_b, q, i == 1).await;
        // Both answered: the reveal comes at once.
        phone_a.wait_for_text("#result", "回答正确").await;
        let b_result = if i == 1 {
            "回答正确"
        } else {
            "回答错误"
        };
        phone_b.wait_for_text("#result", b_result).await;
        screen.wait_for_text("#reveal", &q.answer.display()).await;
        // The answer, the explanation and the source are all on the projector, none cut off.
        let fits = screen
            .client
            .execute(
                "const ex = document.querySelector('#reveal .explain');
                 const main = document.querySelector('.screen-main').getBoundingClientRect();
                 const r = ex ? ex.getBoundingClientRect() : null;
                 return r !== null && ex.textContent.includes('出处')
                     && r.top >= main.top && r.bottom <= main.bottom + 1;",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(
            fits.as_bool(),
            Some(true),
            "question {i}: the explanation fits the projector"
        );
        // Everything on the reveal reads from the back of the hall: 40 px or more.
        let smallest = screen
            .client
            .execute(
                "let min = 1e9;
                 for (const e of document.querySelectorAll('#view-question *')) {
                   if (e.offsetParent === null) continue;
                   if (![...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
                   min = Math.min(min, parseFloat(getComputedStyle(e).fontSize));
                 }
                 return min;",
                vec![],
            )
            .await
            .unwrap();
        assert!(
            smallest.as_f64().unwrap() >= 40.0,
            "question {i}: reveal text of {smallest} px"
        );
        assert!(
            !phone_a
                .wait_for_text("#my-answer", "您的答案")
                .await
                .is_empty(),
            "the phone says what the player answered"
        );
        let submit_hidden = phone_a
            .client
            .execute("return document.getElementById('submit').hidden;", vec![])
            .await
            .unwrap();
        assert_eq!(
            submit_hidden.as_bool(),
            Some(true),
            "no spent 提交 after the reveal"
        );
        if i == 0 {
            screen.screenshot("live-reveal").await;
            phone_a.screenshot("phone-result").await;
            assert_accessible(&screen, "projector reveal").await;
            assert_accessible(&phone_a, "phone result").await;
            // A refresh at the reveal: the result still says what the player answered.
            phone_a.client.refresh().await.unwrap();
            phone_a.wait_for_text("#my-answer", "您的答案").await;
            phone_a.wait_for_text("#result", "回答正确").await;
        }
        phone_a.wait_for_text("#rank", "第 1 名").await;
        to_console().await;
        click(&screen, "#next").await;
        to_projector().await;
        screen.wait_for_text("#leaderboard", "李晓雯").await;
        if i == 0 {
            screen.screenshot("live-leaderboard").await;
            assert_accessible(&screen, "projector leaderboard").await;
        }
        to_console().await;
        click(&screen, "#next").await;
        to_projector().await;
    }
    screen.wait_for_text("#podium", "李晓雯").await;
    screen.wait_for_text("#pacesetters", "李晓雯").await;
    to_console().await;
    click(&screen, "#confirm-awards").await;
    // The console asks for confirmation in a dialog.
    for _ in 0..50 {
        if screen.client.accept_alert().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    screen.wait_for_text("#phase", "").await;
    to_projector().await;
    screen.wait_for_text("#pacesetters", "李晓雯").await;
    // Let the podium's entrance animation finish.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    screen.screenshot("live-podium").await;
    assert_accessible(&screen, "projector podium").await;
    phone_a.wait_for_text("body", "业务标兵").await;
    assert_accessible(&phone_a, "phone podium").await;

    // The award is in the records and on the honour roll.
    let honors: serde_json::Value = app
        .client
        .get(app.url(&format!("/api/honors?competition={cid}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(honors.as_array().unwrap().len(), 1);
    assert_eq!(honors[0]["name"], "李晓雯");
    phone_a.client.goto(&app.url("/honors")).await.unwrap();
    phone_a.wait_for_text("main", "李晓雯").await;
    phone_a.screenshot("honors-phone").await;
    screen.close().await;
    phone_a.close().await;
    phone_b.close().await;
}

/// Clicks through the DOM rather than at screen coordinates: an option list that scrolls or
/// re-lays out under a phone-sized viewport can otherwise take the tap on its neighbour.
pub async fn tap(b: &Browser, css: &str) {
    for _ in 0..50 {
        let ok = b
            .client
            .execute(
                "const e = document.querySelector(arguments[0]); if (!e || e.disabled || e.offsetParent === null) return false; e.click(); return true;",
                vec![serde_json::json!(css)],
            )
            .await
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        if ok {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("cannot tap {css}");
}

/// Answers the drill question on screen, right or wrong, whatever its kind.
pub async fn answer_drill_question(b: &Browser, q: &biwu::domain::Question, right: bool) {
    use biwu::domain::{AnswerKey, Kind};
    match &q.answer {
        AnswerKey::Choice(ix) => {
            let letters: Vec<usize> = if right {
                ix.clone()
            } else {
                vec![(0..q.options.len()).find(|i| !ix.contains(i)).unwrap_or(0)]
            };
            for i in letters {
                tap(
                    b,
                    &format!(
                        "#options button[data-letter=\"{}\"]",
                        (b'A' + i as u8) as char
                    ),
                )
                .await;
            }
            if q.kind == Kind::Multiple {
                tap(b, "#submit").await;
            }
        }
        AnswerKey::TrueFalse(v) => tap(b, if *v == right { "#tf-true" } else { "#tf-false" }).await,
        AnswerKey::Fill(v) => {
            fill(b, "#text-answer", if right { &v[0] } else { "不知道" }).await;
            tap(b, "#submit").await;
        }
        AnswerKey::Numeric { value, .. } => {
            let n = if right { *value } else { value + 1.0 };
            fill(
                b,
                "#number-answer",
                &biwu::domain::question::format_number(n),
            )
            .await;
            tap(b, "#submit").await;
        }
        AnswerKey::Date(d) => {
            let d = if right {
                d.clone()
            } else {
                "1999-01-01".to_string()
            };
            b.client
                .execute(
                    "const e = document.getElementById('date-answer'); e.value = arguments[0]; e.dispatchEvent(new Event('input'));",
                    vec![serde_json::json!(d)],
                )
                .await
                .unwrap();
            tap(b, "#submit").await;
        }
    }
}

#[tokio::test]
async fn a_member_drills_on_a_phone_and_finds_the_mistake_in_the_notebook() {
    let Some(b) = Browser::start(360, 740).await else {
        return;
    };
    let app = spawn_app().await;
    let bank = biwu::bank::load(&bank_dir());
    login(&b, &app, MEMBER, "/drill").await;
    b.wait_for_text("#start-form", "按专题练习").await;
    // The first tap works: a topic (the weakest, or all) is ticked, and 开始练习 is in view.
    let ready = b
        .client
        .execute(
            "const r = document.getElementById('start').getBoundingClientRect();
             return [document.querySelectorAll('input[name=topic]:checked').length, r.bottom, innerHeight];",
            vec![],
        )
        .await
        .unwrap();
    assert!(ready[0].as_u64().unwrap() >= 1, "a topic is preselected");
    assert!(
        ready[1].as_f64().unwrap() <= ready[2].as_f64().unwrap(),
        "开始练习 above the fold at 360×740: {ready}"
    );
    b.client
        .execute("document.getElementById('count').value = '5';", vec![])
        .await
        .unwrap();
    b.screenshot("drill-start-phone").await;
    click(&b, "#start").await;
    let mut wrong_stem = String::new();
    let mut previous = String::new();
    for i in 0..5 {
        let stem = {
            let mut s = String::new();
            for _ in 0..100 {
                s = b
                    .client
                    .find(Locator::Css("#stem"))
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap_or_default();
                let reveal_hidden = b
                    .client
                    .execute(
                        "return document.getElementById('reveal-card').hidden;",
                        vec![],
                    )
                    .await
                    .ok()
                    .and_then(|v| v.as_bool())
                    .unwrap_or(false);
                if !s.is_empty()
                    && s != previous
                    && reveal_hidden
                    && bank.questions().any(|q| q.stem == s)
                {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            s
        };
        previous = stem.clone();
        let q = bank
            .questions()
            .find(|q| q.stem == stem)
            .unwrap_or_else(|| panic!("stem not in bank: {stem}"))
            .clone();
        if i == 0 {
            b.screenshot("drill-question-phone").await;
        }
        let right = i != 0;
        answer_drill_question(&b, &q, right).await;
        b.wait_for_text(
            "#feedback",
            if right {
                "回答正确"
            } else {
                "回答错误"
            },
        )
        .await;
        if i == 0 {
            wrong_stem = stem.clone();
            b.wait_for_text("main", "错题本").await;
            b.screenshot("drill-feedback-phone").await;
        }
        click(&b, "#next").await;
    }
    b.wait_for_text("#summary", "80").await;
    b.wait_for_text("#summary-accuracy", "80").await;
    b.screenshot("drill-summary-phone").await;

    b.client.goto(&app.url("/notebook")).await.unwrap();
    b.wait_for_text("#list-info", "题").await;
    // The demo member's notebook runs to several pages of 40: page on to today's mistake.
    for _ in 0..10 {
        let here = b
            .client
            .execute(
                "return document.getElementById('entries').textContent.includes(arguments[0]);",
                vec![serde_json::json!(wrong_stem)],
            )
            .await
            .unwrap();
        if here.as_bool() == Some(true) {
            break;
        }
        tap(&b, "#page-next").await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    b.wait_for_text("#entries", &wrong_stem).await;
    b.screenshot("notebook-phone").await;
    // An entry opens to its answer, explanation and source, without starting a drill.
    let wrong_q = bank.questions().find(|q| q.stem == wrong_stem).unwrap();
    b.client
        .execute(
            "const li = [...document.querySelectorAll('#entries li.dr-entry')]
               .find((l) => l.querySelector('.stem').textContent === arguments[0]);
             li.querySelector('summary').click(); li.scrollIntoView({ block: 'start' });",
            vec![serde_json::json!(wrong_stem)],
        )
        .await
        .unwrap();
    let opened = b.wait_for_text("#entries details[open]", "正确答案").await;
    assert!(opened.contains(&wrong_q.answer.display()), "{opened}");
    assert!(opened.contains(&wrong_q.source), "{opened}");
    assert!(b.client.current_url().await.unwrap().path() == "/notebook");
    b.screenshot("notebook-answer-phone").await;
    b.client.goto(&app.url("/me")).await.unwrap();
    // The streak the page shows is the one the API computes (today's drill included).
    let home: serde_json::Value = {
        let s = app.session(MEMBER).await;
        s.get(&app, "/api/me/home").await.json().await.unwrap()
    };
    let days = home["streak_days"].as_i64().unwrap();
    assert!(days >= 1);
    b.wait_for_text("#streak", &format!("连续练习 {days} 天"))
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    b.screenshot("me-phone").await;
    b.close().await;
}

/// The check a new member would make: a mistake lands in the notebook, "复习到期错题" drills it,
/// three right answers in a row master it, and `/me` counts the day.
#[tokio::test]
async fn a_mistake_is_mastered_by_reviewing_it_on_a_phone() {
    let Some(b) = Browser::start(360, 740).await else {
        return;
    };
    let app = spawn_app().await;
    // A member with no history, so the notebook holds only today's mistake.
    let member_id = app.add_member("n901", biwu::demo::DEMO_PASSWORD).await;
    let bank = biwu::bank::load(&bank_dir());
    let q = bank
        .questions()
        .find(|q| q.kind == biwu::domain::Kind::Single)
        .unwrap()
        .clone();
    let version = biwu::records::questions::current(&app.db, &q.id)
        .await
        .unwrap()
        .unwrap()
        .version;
    let drill = biwu::records::drills::create(
        &app.db,
        biwu::records::drills::NewDrill {
            member_id: &member_id,
            mode: "topics",
            settings: "{}",
            seed: 1,
            time_limit_ms: None,
            items: &[(q.id.clone(), version)],
            task_id: None,
        },
    )
    .await
    .unwrap();
    let s = app.session("n901").await;
    let res = s
        .post(
            &app,
            &format!("/api/drills/{drill}/answers"),
            serde_json::json!({"position": 0, "answer": crate::helpers::wrong_answer(&q)}),
        )
        .await;
    assert_eq!(res.status(), 200);

    login(&b, &app, "n901", "/notebook").await;
    for round in 1..=3 {
        b.client.goto(&app.url("/notebook")).await.unwrap();
        b.wait_for_text("#entries", &q.stem).await;
        b.wait_for_text("#count-mastered", "0").await;
        click(&b, "#review-due").await;
        b.wait_for_text("#stem", &q.stem).await;
        answer_drill_question(&b, &q, true).await;
        b.wait_for_text("#feedback", "回答正确").await;
        let note = if round < 3 {
            "错题复习：本次答对"
        } else {
            "已掌握，移出错题本"
        };
        b.wait_for_text("#nb-note", note).await;
    }
    b.client.goto(&app.url("/notebook")).await.unwrap();
    b.wait_for_text("#count-mastered", "1").await;
    b.wait_for_text("#count-due", "0").await;
    b.client.goto(&app.url("/me")).await.unwrap();
    b.wait_for_text("#streak", "连续练习 1 天").await;
    b.close().await;
}

/// The host's setup page: the award rule reads on one line, the draw is shown with its stems,
/// and one question is swapped for another random one and one by id before the start.
#[tokio::test]
async fn a_host_previews_the_draw_and_swaps_questions_before_the_start() {
    let Some(b) = Browser::start(1366, 900).await else {
        return;
    };
    let app = spawn_app().await;
    login(&b, &app, HOST, "/host").await;
    b.wait_for_text("#create-form", "业务标兵评选规则").await;
    // Radio, 前, the number and 名 share one line.
    let tops = b
        .client
        .execute(
            "const row = document.getElementById('f-topn').closest('.rule-row');
             return [...row.querySelectorAll('input, span, label')]
               .map((e) => { const r = e.getBoundingClientRect(); return r.top + r.height / 2; });",
            vec![],
        )
        .await
        .unwrap();
    let ys: Vec<f64> = tops
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let spread =
        ys.iter().cloned().fold(f64::MIN, f64::max) - ys.iter().cloned().fold(f64::MAX, f64::min);
    assert!(spread < 8.0, "the rule's parts are on one line: {ys:?}");

    fill(&b, "#f-title", "党章知识竞赛（预览）").await;
    fill(&b, "#f-count", "3").await;
    click(&b, "#create").await;
    b.wait_for_text("#draw-list", "换一题").await;
    let stems = || async {
        let v = b
            .client
            .execute(
                "return [...document.querySelectorAll('#draw-list li')].map((li) => li.dataset.question);",
                vec![],
            )
            .await
            .unwrap();
        serde_json::from_value::<Vec<String>>(v).unwrap()
    };
    let before = stems().await;
    assert_eq!(before.len(), 3);
    b.client
        .execute(
            "document.getElementById('draw').scrollIntoView({ block: 'center' });",
            vec![],
        )
        .await
        .unwrap();
    b.screenshot("host-setup").await;
    tap(&b, "#draw-list li[data-position=\"1\"] button").await;
    for _ in 0..50 {
        if stems().await[1] != before[1] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let after = stems().await;
    assert_ne!(after[1], before[1], "question 2 was swapped");
    assert_eq!((&after[0], &after[2]), (&before[0], &before[2]));

    // By id: the first question becomes a chosen one.
    let bank = biwu::bank::load(&bank_dir());
    let pick = bank
        .questions()
        .find(|q| !after.contains(&q.id))
        .unwrap()
        .clone();
    fill(&b, "#swap-id", &pick.id).await;
    click(&b, "#swap-by-id").await;
    b.wait_for_text("#draw-list", &pick.stem).await;
    assert_eq!(stems().await[0], pick.id);
    b.close().await;
}
