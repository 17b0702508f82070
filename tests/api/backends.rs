//! The whole server on PostgreSQL and Redis, as deployed for scale.

use crate::helpers::*;
use serde_json::Value;

#[tokio::test]
async fn healthz_on_postgres_and_redis() {
    let (Some(pg), Some(redis)) = (postgres_url(), redis_url()) else {
        return;
    };
    let url = fresh_postgres(&pg).await;
    let app = spawn_app_with(Options {
        database_url: Some(url),
        redis_url: Some(redis),
        demo: true,
    })
    .await;
    let body: Value = app
        .client
        .get(app.url("/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["database"], "postgres");
    assert_eq!(body["board"], "redis");
    assert!(body["questions"].as_i64().unwrap() > 0);
    // Accounts work the same on PostgreSQL.
    let admin = app.session(ADMIN).await;
    let members: Value = admin
        .get(&app, "/api/admin/members")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(members.as_array().unwrap().len(), biwu::demo::size().2);
    let head = app.session(HEAD).await;
    let sections: Value = head.get(&app, "/api/sections").await.json().await.unwrap();
    assert_eq!(sections.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn restart_on_the_same_postgres_keeps_everything() {
    let Some(pg) = postgres_url() else { return };
    let url = fresh_postgres(&pg).await;
    let first = spawn_app_with(Options {
        database_url: Some(url.clone()),
        demo: true,
        ..Options::default()
    })
    .await;
    let n: Value = first
        .client
        .get(first.url("/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let second = spawn_app_with(Options {
        database_url: Some(url),
        demo: true,
        ..Options::default()
    })
    .await;
    let m: Value = second
        .client
        .get(second.url("/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(n["questions"], m["questions"]);
    assert!(second.bootstrap_admin.is_none(), "the demo admin counts");
    second.session(MEMBER).await;
}
