//! `spawn_app()` and friends, in the zero2prod style.

use biwu::config::Settings;
use biwu::demo::DEMO_PASSWORD;
use biwu::records::Db;
use biwu::startup::Application;
use serde_json::{Value, json};
use std::path::PathBuf;

pub fn bank_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("question-bank")
}

/// PostgreSQL for tests, from `BIWU_TEST_POSTGRES_URL`. `None` means "not available here":
/// the test says so and passes, unless `BIWU_TEST_REQUIRE_BACKENDS=1` (CI) makes it fail.
pub fn postgres_url() -> Option<String> {
    backend_env("BIWU_TEST_POSTGRES_URL", "PostgreSQL")
}

pub fn redis_url() -> Option<String> {
    backend_env("BIWU_TEST_REDIS_URL", "Redis")
}

fn backend_env(var: &str, what: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            missing(what, &format!("{var} unset"));
            None
        }
    }
}

/// A backend a test needs is missing: the test is skipped (said so), unless every backend
/// is required (`BIWU_TEST_REQUIRE_BACKENDS=1`, as `scripts/test` sets it) — then it fails.
pub fn missing(what: &str, why: &str) {
    if std::env::var("BIWU_TEST_REQUIRE_BACKENDS").is_ok_and(|v| v == "1") {
        panic!("{what} is required ({why})");
    }
    eprintln!("SKIPPED: {what} not available ({why})");
}

/// A TCP port free on this machine now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A fresh, empty PostgreSQL database for one test; returns its URL.
pub async fn fresh_postgres(base: &str) -> String {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let name = format!("biwu_t_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::AnyConnection::connect(base)
        .await
        .expect("connect to test postgres");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let (head, _) = base.rsplit_once('/').expect("postgres url has a database");
    let query = base
        .split_once('?')
        .map(|(_, q)| format!("?{q}"))
        .unwrap_or_default();
    format!("{head}/{name}{query}")
}

/// A fresh SQLite file in its own temporary folder.
pub fn fresh_sqlite() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/biwu.db", dir.path().display());
    (dir, url)
}

/// Both databases the tests should run on: SQLite always, PostgreSQL when available.
pub async fn each_database() -> Vec<(Option<tempfile::TempDir>, Db)> {
    let (dir, url) = fresh_sqlite();
    let mut out = vec![(Some(dir), Db::connect(&url).await.unwrap())];
    if let Some(base) = postgres_url() {
        let url = fresh_postgres(&base).await;
        out.push((None, Db::connect(&url).await.unwrap()));
    }
    out
}

pub struct TestApp {
    pub address: String,
    pub handle: actix_web::dev::ServerHandle,
    port: u16,
    pub client: reqwest::Client,
    pub db: Db,
    /// The server's drills in memory (tests that edit the records make it forget them).
    pub drills: biwu::drill::Drills,
    pub board: biwu::board::Board,
    /// The server's state: its live rooms, for tests that put a client of their own in one.
    pub state: actix_web::web::Data<biwu::startup::AppState>,
    pub bootstrap_admin: Option<(String, String)>,
    /// Keeps the SQLite file alive for the test's duration.
    _dir: Option<tempfile::TempDir>,
}

#[derive(Default)]
pub struct Options {
    pub database_url: Option<String>,
    pub redis_url: Option<String>,
    pub demo: bool,
}

/// A server on a random port with a fresh SQLite file and the demo organisation.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options {
        demo: true,
        ..Options::default()
    })
    .await
}

/// A server with the demo organisation on the given database (two calls: two instances on
/// one database, or a restart).
pub async fn spawn_demo_on(url: &str) -> TestApp {
    spawn_app_with(Options {
        database_url: Some(url.to_string()),
        demo: true,
        ..Options::default()
    })
    .await
}

pub async fn spawn_app_with(opts: Options) -> TestApp {
    spawn_app_edited(opts, |_| {}).await
}

/// A demo server behind a reverse proxy at 127.0.0.1 it trusts: `X-Forwarded-For` names
/// the client.
pub async fn spawn_app_behind_proxy() -> TestApp {
    spawn_app_edited(
        Options {
            demo: true,
            ..Options::default()
        },
        |s| s.trusted_proxy = vec!["127.0.0.1".parse().unwrap()],
    )
    .await
}

/// A server as [`spawn_app_with`] makes it, with settings changed by `edit` first (a public
/// URL, a bank folder, an address list).
pub async fn spawn_app_edited(opts: Options, edit: impl FnOnce(&mut Settings)) -> TestApp {
    let (dir, url) = match opts.database_url {
        Some(url) => (None, url),
        None => {
            let (d, u) = fresh_sqlite();
            (Some(d), u)
        }
    };
    let mut settings = Settings {
        bind: "127.0.0.1:0".into(),
        database_url: url,
        redis_url: opts.redis_url,
        redis_prefix: format!("biwu-test:{}:", uuid::Uuid::new_v4().simple()),
        bank_dir: Some(bank_dir()),
        demo: opts.demo,
        ..Settings::defaults()
    };
    edit(&mut settings);
    let app = Application::build(settings).await.expect("app builds");
    let port = app.port();
    let db = app.state.db.clone();
    let drills = app.state.drills.clone();
    let board = app.state.board.clone();
    let state = app.state.clone();
    let bootstrap_admin = app.bootstrap_admin.clone();
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        handle,
        port,
        client: client(),
        db,
        drills,
        board,
        state,
        bootstrap_admin,
        _dir: dir,
    }
}

/// GET `url` with `client` and the JSON it answers.
pub async fn fetch_json(client: &reqwest::Client, url: &str) -> Value {
    client.get(url).send().await.unwrap().json().await.unwrap()
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A logged-in browser-like client: its cookie jar and its CSRF token.
pub struct Session {
    pub client: reqwest::Client,
    pub csrf: String,
    pub member: Value,
}

impl TestApp {
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Logs in and returns the session cookie, for WebSocket clients.
    pub async fn cookie(&self, staff_no: &str) -> String {
        let res = client()
            .post(self.url("/api/login"))
            .json(&json!({ "staff_no": staff_no, "password": DEMO_PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "login {staff_no}");
        let set = res.headers()["set-cookie"].to_str().unwrap();
        set.split(';').next().unwrap().to_string()
    }

    /// Adds a member with no history to the section of the demo member; returns its id.
    pub async fn add_member(&self, staff_no: &str, password: &str) -> String {
        use biwu::records::members;
        let section: String =
            sqlx::query_scalar("SELECT section_id FROM members WHERE staff_no = $1")
                .bind(MEMBER)
                .fetch_one(&self.db.pool)
                .await
                .unwrap();
        let hash = biwu::auth::hash_password(password).unwrap();
        let mut conn = self.db.pool.acquire().await.unwrap();
        members::insert(
            &mut conn,
            members::NewMember {
                staff_no,
                name: "新同志",
                section_id: Some(&section),
                role: biwu::domain::Role::Member,
                password_hash: Some(&hash),
                must_change_password: false,
            },
        )
        .await
        .unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// The body of `GET path` as text (pages, metrics), without logging in.
    pub async fn get_text(&self, path: &str) -> String {
        self.client
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    pub async fn login(&self, staff_no: &str, password: &str) -> reqwest::Response {
        self.client
            .post(self.url("/api/login"))
            .json(&json!({ "staff_no": staff_no, "password": password }))
            .send()
            .await
            .unwrap()
    }

    /// Logs in a demo account in a fresh client.
    pub async fn session(&self, staff_no: &str) -> Session {
        self.session_with(staff_no, DEMO_PASSWORD).await
    }

    pub async fn session_with(&self, staff_no: &str, password: &str) -> Session {
        let client = client();
        let res = client
            .post(self.url("/api/login"))
            .json(&json!({ "staff_no": staff_no, "password": password }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "login {staff_no}");
        let body: Value = res.json().await.unwrap();
        Session {
            client,
            csrf: body["csrf"].as_str().unwrap().to_string(),
            member: body["member"].clone(),
        }
    }
}

impl Session {
    pub async fn get(&self, app: &TestApp, path: &str) -> reqwest::Response {
        self.client.get(app.url(path)).send().await.unwrap()
    }

    /// GET, and the body as JSON.
    pub async fn get_json(&self, app: &TestApp, path: &str) -> Value {
        self.get(app, path).await.json().await.unwrap()
    }

    /// POST, and only the status.
    pub async fn post_status(&self, app: &TestApp, path: &str, body: Value) -> u16 {
        self.post(app, path, body).await.status().as_u16()
    }

    pub async fn post(&self, app: &TestApp, path: &str, body: Value) -> reqwest::Response {
        self.client
            .post(app.url(path))
            .header("X-CSRF-Token", &self.csrf)
            .json(&body)
            .send()
            .await
            .unwrap()
    }
}

/// Demo accounts per role.
pub const ADMIN: &str = "d406";
pub const HOST: &str = "d205";
pub const HEAD: &str = "d101";
pub const MEMBER: &str = "d102";

/// The right answer to `q` in the protocol's shape (text and dates written loosely, as people do).
pub fn right_answer(q: &biwu::domain::Question) -> Value {
    match &q.answer {
        biwu::domain::AnswerKey::Choice(_) => json!({"type":"choice","value": q.answer.display()}),
        biwu::domain::AnswerKey::TrueFalse(b) => json!({"type":"truefalse","value": b}),
        biwu::domain::AnswerKey::Fill(v) => json!({"type":"text","value": format!(" {} ", v[0])}),
        biwu::domain::AnswerKey::Numeric { value, .. } => json!({"type":"number","value": value}),
        biwu::domain::AnswerKey::Date(d) => json!({"type":"date","value": d.replace('-', "/")}),
    }
}

/// A wrong answer to `q`, of the right shape.
pub fn wrong_answer(q: &biwu::domain::Question) -> Value {
    match &q.answer {
        biwu::domain::AnswerKey::Choice(ix) => {
            // A wrong option; where every option is right, only the first (incomplete).
            let other = (0..q.options.len()).find(|i| !ix.contains(i)).unwrap_or(0);
            json!({"type":"choice","value": ((b'A' + other as u8) as char).to_string()})
        }
        biwu::domain::AnswerKey::TrueFalse(b) => json!({"type":"truefalse","value": !b}),
        biwu::domain::AnswerKey::Fill(_) => json!({"type":"text","value":"不是这个"}),
        biwu::domain::AnswerKey::Numeric { value, .. } => {
            json!({"type":"number","value": value + 1.0})
        }
        biwu::domain::AnswerKey::Date(_) => json!({"type":"date","value":"1999-01-01"}),
    }
}

/// A server with the demo organisation on a fresh PostgreSQL database and Redis (`None`, and
/// the test passes saying so, where PostgreSQL is not available).
pub async fn spawn_on_postgres() -> Option<TestApp> {
    let pg = postgres_url()?;
    Some(
        spawn_app_with(Options {
            database_url: Some(fresh_postgres(&pg).await),
            redis_url: redis_url(),
            demo: true,
        })
        .await,
    )
}

/// Two tests of one flow: on SQLite with the in-process board, and on PostgreSQL with Redis.
macro_rules! on_both_databases {
    ($sqlite:ident, $postgres:ident, $flow:ident) => {
        #[tokio::test]
        async fn $sqlite() {
            $flow(spawn_app().await).await;
        }

        #[tokio::test]
        async fn $postgres() {
            if let Some(app) = spawn_on_postgres().await {
                $flow(app).await;
            }
        }
    };
}
pub(crate) use on_both_databases;

/// The id of a record by a unique name: a member by staff number, a section or department
/// by name.
async fn id_by(app: &TestApp, sql: &'static str, key: &str) -> String {
    sqlx::query_scalar(sql)
        .bind(key)
        .fetch_one(&app.db.pool)
        .await
        .unwrap_or_else(|e| panic!("no record for {key}: {e}"))
}

pub async fn member_id(app: &TestApp, staff_no: &str) -> String {
    id_by(app, "SELECT id FROM members WHERE staff_no = $1", staff_no).await
}

pub async fn section_id(app: &TestApp, name: &str) -> String {
    id_by(app, "SELECT id FROM sections WHERE name = $1", name).await
}

pub async fn department_id(app: &TestApp, name: &str) -> String {
    id_by(app, "SELECT id FROM departments WHERE name = $1", name).await
}
