//! A WebSocket client for tests: real sockets to the server on its real port.

use crate::helpers::TestApp;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

pub struct Ws {
    stream: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    /// Every JSON frame received, in order.
    pub log: Vec<Value>,
    pub closed: bool,
    /// The close frame's code and reason, when the server sent one.
    pub close: Option<(u16, String)>,
    /// Frames read ahead (by `command`) and not yet handed out.
    pub pending: std::collections::VecDeque<Value>,
}

impl Ws {
    pub async fn connect(app: &TestApp, cookie: Option<&str>) -> Ws {
        match cookie {
            Some(c) => Ws::connect_with(app, &[("Cookie", c)]).await,
            None => Ws::connect_with(app, &[]).await,
        }
    }

    /// Connects with these extra request headers (a cookie, a proxy's X-Forwarded-For).
    pub async fn connect_with(app: &TestApp, headers: &[(&'static str, &str)]) -> Ws {
        Ws::connect_to(app.port(), headers).await
    }

    /// Connects to a server on this machine's `port` (one the test started as a process).
    pub async fn connect_to(port: u16, headers: &[(&'static str, &str)]) -> Ws {
        Ws::connect_path(port, "/ws", headers).await
    }

    /// Connects to the WebSocket at `path` (a stage final's, say).
    pub async fn connect_path(port: u16, path: &str, headers: &[(&'static str, &str)]) -> Ws {
        let mut req = format!("ws://127.0.0.1:{port}{path}")
            .into_client_request()
            .unwrap();
        for (k, v) in headers {
            req.headers_mut().insert(*k, v.parse().unwrap());
        }
        let (stream, _) = tokio_tungstenite::connect_async(req)
            .await
            .expect("ws connects");
        Ws {
            stream,
            log: vec![],
            closed: false,
            close: None,
            pending: Default::default(),
        }
    }

    pub async fn send(&mut self, v: Value) {
        self.stream
            .send(Message::Text(v.to_string().into()))
            .await
            .unwrap();
    }

    pub async fn send_raw(&mut self, m: Message) {
        self.stream.send(m).await.unwrap();
    }

    /// The next JSON frame, or `None` when the socket closed or nothing came in `wait`.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Value> {
        if let Some(v) = self.pending.pop_front() {
            return Some(v);
        }
        self.read(wait).await
    }

    async fn read(&mut self, wait: Duration) -> Option<Value> {
        loop {
            match tokio::time::timeout(wait, self.stream.next()).await {
                Ok(Some(Ok(Message::Text(t)))) => {
                    let v: Value = serde_json::from_str(&t).expect("server frames are JSON");
                    self.log.push(v.clone());
                    return Some(v);
                }
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
                Ok(Some(Ok(Message::Close(cf)))) => {
                    self.closed = true;
                    self.close = cf.map(|cf| (u16::from(cf.code), cf.reason.to_string()));
                    return None;
                }
                Ok(None) | Ok(Some(Err(_))) => {
                    self.closed = true;
                    return None;
                }
                Ok(Some(Ok(_))) => continue,
                Err(_) => return None,
            }
        }
    }

    /// The next WebSocket message of any kind (pings and pongs included), or `None` when
    /// nothing came in `wait`.
    pub async fn next_raw(&mut self, wait: Duration) -> Option<Message> {
        match tokio::time::timeout(wait, self.stream.next()).await {
            Ok(Some(Ok(m))) => Some(m),
            _ => None,
        }
    }

    pub async fn next(&mut self) -> Value {
        self.next_within(Duration::from_secs(10))
            .await
            .expect("a frame")
    }

    /// Skips frames until one of `kind` arrives.
    pub async fn until(&mut self, kind: &str) -> Value {
        for _ in 0..200 {
            let v = self.next().await;
            if v["type"] == kind {
                return v;
            }
        }
        panic!("no {kind} frame; got {:#?}", self.log);
    }

    pub async fn hello_player(
        app: &TestApp,
        cookie: Option<&str>,
        pin: &str,
        name: Option<&str>,
        token: Option<&str>,
    ) -> (Ws, Value) {
        let mut ws = Ws::connect(app, cookie).await;
        let mut hello = json!({"type":"hello","protocol":1,"role":"player","pin":pin});
        if let Some(n) = name {
            hello["name"] = json!(n);
        }
        if let Some(t) = token {
            hello["token"] = json!(t);
        }
        ws.send(hello).await;
        let welcome = ws.next().await;
        (ws, welcome)
    }

    pub async fn hello_staff(
        app: &TestApp,
        cookie: &str,
        role: &str,
        competition: &str,
    ) -> (Ws, Value) {
        let mut ws = Ws::connect(app, Some(cookie)).await;
        ws.send(json!({"type":"hello","protocol":1,"role":role,"competition":competition}))
            .await;
        let welcome = ws.next().await;
        (ws, welcome)
    }

    pub async fn answer(&mut self, position: u64, answer: Value) -> Value {
        self.send(json!({"type":"answer","position":position,"answer":answer}))
            .await;
        self.next().await
    }

    /// Sends a host command; returns an error frame if one comes back promptly. Other
    /// frames read meanwhile stay queued for `next`.
    pub async fn command(&mut self, v: Value) -> Option<Value> {
        self.send(v).await;
        while let Some(f) = self.read(Duration::from_millis(300)).await {
            if f["type"] == "error" {
                return Some(f);
            }
            self.pending.push_back(f);
        }
        None
    }
}
