//! Limits that keep one client from wearing the server down: PIN guessing, rooms that
//! nobody uses any more.

use crate::helpers::*;
use crate::live::{create, picks};
use crate::ws::Ws;
use serde_json::json;
use std::time::Duration;

/// A player's hello over a socket that a proxy says comes from `client`.
async fn hello_from(app: &TestApp, client: &str, pin: &str) -> serde_json::Value {
    let mut ws = Ws::connect_with(app, &[("X-Forwarded-For", client)]).await;
    ws.send(json!({"type":"hello","protocol":1,"role":"player","pin":pin,"name":"访客"}))
        .await;
    ws.next().await
}

#[tokio::test]
async fn an_address_guessing_pins_is_paused_and_others_are_not() {
    let app = spawn_app_behind_proxy().await;
    let host = app.session(HOST).await;
    let (_, pin) = create(&app, &host, &picks(), json!({})).await;
    let wrong = if pin == "000000" { "000001" } else { "000000" };
    for _ in 0..10 {
        let f = hello_from(&app, "10.1.1.1", wrong).await;
        assert_eq!(f["code"], "not_found", "{f}");
    }
    // Now even the right PIN is refused from that address, with the wait in the message.
    let f = hello_from(&app, "10.1.1.1", &pin).await;
    assert_eq!(f["code"], "too_many", "{f}");
    assert!(f["message"].as_str().unwrap().contains("秒后再试"), "{f}");
    // A colleague behind the same proxy joins at once.
    let f = hello_from(&app, "10.1.1.2", &pin).await;
    assert_eq!(f["type"], "welcome", "{f}");
}

#[tokio::test]
async fn a_room_nobody_uses_leaves_memory_and_loads_again() {
    let app = spawn_app_edited(
        Options {
            demo: true,
            ..Options::default()
        },
        |s| s.room_idle_secs = 1,
    )
    .await;
    let qs = picks();
    let host = app.session(HOST).await;
    let cookie = app.cookie(HOST).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        let (cid, _) = create(&app, &host, &qs, json!({})).await;
        let (ws, welcome) = Ws::hello_staff(&app, &cookie, "host", &cid).await;
        assert_eq!(welcome["type"], "welcome");
        drop(ws);
        ids.push(cid);
    }
    let cid = ids[0].clone();
    let mut loaded = usize::MAX;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        loaded = app.state.rooms.loaded().await;
        if loaded == 0 {
            break;
        }
    }
    assert_eq!(loaded, 0, "idle rooms left memory");
    // A room that left memory is the same room when someone comes back: started, its
    // player keeps their place.
    let (mut console, w) = Ws::hello_staff(&app, &cookie, "host", &cid).await;
    assert_eq!(w["type"], "welcome", "{w}");
    assert_eq!(w["phase"], "lobby");
    let pin = biwu::records::competitions::by_id(&app.db, &cid)
        .await
        .unwrap()
        .unwrap()
        .pin;
    let (mut phone, wp) = Ws::hello_player(&app, None, &pin, Some("访客甲"), None).await;
    assert_eq!(wp["type"], "welcome");
    let token = wp["you"]["token"].as_str().unwrap().to_string();
    assert_eq!(console.command(json!({"type":"start"})).await, None);
    phone.until("question").await;
    drop(phone);
    drop(console);
    // While a question's clock runs the room stays; after the reveal, with nobody there, it goes.
    let mut loaded = usize::MAX;
    for _ in 0..150 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        loaded = app.state.rooms.loaded().await;
        if loaded == 0 {
            break;
        }
    }
    assert_eq!(loaded, 0, "the room left memory after its reveal");
    let (_, back) = Ws::hello_player(&app, None, &pin, None, Some(&token)).await;
    assert_eq!(back["type"], "welcome", "{back}");
    assert_eq!(back["phase"], "reveal");
    assert_eq!(back["you"]["name"], "访客甲");
}
