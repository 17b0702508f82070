//! One contract for every Leaderboard and EventBus implementation: in-process always,
//! Redis on a real redis-server when available.

use crate::helpers::redis_url;
use biwu::board::{Leaderboard, MemoryBoard, RedisBoard, Standing};
use biwu::bus::{Bus, MemoryBus, RedisBus};
use biwu::redis_conn::Redis;
use bytes::Bytes;
use std::time::Duration;

async fn redis() -> Option<Redis> {
    let url = redis_url()?;
    let prefix = format!("biwu-test:{}:", uuid::Uuid::new_v4().simple());
    Some(Redis::connect(&url, &prefix).await.expect("connect redis"))
}

fn brief(s: &[Standing]) -> Vec<(String, u64, i64, i64)> {
    s.iter()
        .map(|s| (s.member.clone(), s.rank, s.points, s.total_ms))
        .collect()
}

async fn board_contract(b: impl Leaderboard) {
    let board = "contract";
    assert!(b.top(board, 10).await.unwrap().is_empty());
    assert_eq!(b.standing(board, "nobody").await.unwrap(), None);

    b.add(board, "alice", 900, 2_000).await.unwrap();
    b.add(board, "bob", 900, 3_000).await.unwrap();
    b.add(board, "carol", 500, 1_000).await.unwrap();
    b.add(board, "dave", 900, 2_000).await.unwrap();
    b.add(board, "erin", 0, 20_000).await.unwrap();
    // Points tie between alice, bob and dave: less time ranks higher; alice and dave tie
    // completely and share rank 1.
    let all = b.all(board).await.unwrap();
    let ranks: Vec<(String, u64)> = all.iter().map(|s| (s.member.clone(), s.rank)).collect();
    assert_eq!(ranks[0].1, 1);
    assert_eq!(ranks[1].1, 1);
    let mut first_two = vec![ranks[0].0.clone(), ranks[1].0.clone()];
    first_two.sort();
    assert_eq!(first_two, ["alice", "dave"]);
    assert_eq!(
        &ranks[2..],
        &[("bob".into(), 3), ("carol".into(), 4), ("erin".into(), 5)]
    );

    // Accumulation: bob answers again, fast and right.
    b.add(board, "bob", 100, 500).await.unwrap();
    let bob = b.standing(board, "bob").await.unwrap().unwrap();
    assert_eq!((bob.rank, bob.points, bob.total_ms), (1, 1000, 3_500));
    let dave = b.standing(board, "dave").await.unwrap().unwrap();
    assert_eq!(dave.rank, 2, "shared rank after the leader");

    // Negative marking goes below zero and ranks last.
    b.add(board, "erin", -300, 1_000).await.unwrap();
    let erin = b.standing(board, "erin").await.unwrap().unwrap();
    assert_eq!((erin.rank, erin.points, erin.total_ms), (5, -300, 21_000));

    // set overrides (rulings, rebuilds); top is a prefix of all.
    b.set(board, "carol", 2000, 9_999).await.unwrap();
    let top2 = b.top(board, 2).await.unwrap();
    assert_eq!(
        brief(&top2),
        vec![
            ("carol".into(), 1, 2000, 9_999),
            ("bob".into(), 2, 1000, 3_500)
        ]
    );
    assert_eq!(brief(&top2), brief(&b.all(board).await.unwrap()[..2]));
    assert_eq!(b.len(board).await.unwrap(), 5);

    b.remove(board, "carol").await.unwrap();
    assert_eq!(b.standing(board, "carol").await.unwrap(), None);
    assert_eq!(b.len(board).await.unwrap(), 4);
    assert_eq!(
        b.len("other-board").await.unwrap(),
        0,
        "boards are separate"
    );
    b.clear(board).await.unwrap();
    assert_eq!(b.len(board).await.unwrap(), 0);
}

#[tokio::test]
async fn memory_board_meets_the_contract() {
    board_contract(MemoryBoard::new()).await;
}

#[tokio::test]
async fn redis_board_meets_the_contract() {
    if let Some(r) = redis().await {
        board_contract(RedisBoard::new(r)).await;
    }
}

#[tokio::test]
async fn memory_and_redis_boards_agree_on_a_random_game() {
    let Some(r) = redis().await else { return };
    let (mem, red) = (MemoryBoard::new(), RedisBoard::new(r));
    // A deterministic pseudo-random game, 40 players, 12 questions.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _q in 0..12 {
        for p in 0..40 {
            let pts = [0, 500, 750, 1000][(next() % 4) as usize];
            let ms = (next() % 20_000) as i64;
            mem.add("g", &format!("p{p}"), pts, ms).await.unwrap();
            red.add("g", &format!("p{p}"), pts, ms).await.unwrap();
        }
    }
    let a = mem.all("g").await.unwrap();
    let b = red.all("g").await.unwrap();
    assert_eq!(a.len(), 40);
    let key = |s: &Standing| (s.rank, s.points, s.total_ms);
    assert_eq!(
        a.iter().map(key).collect::<Vec<_>>(),
        b.iter().map(key).collect::<Vec<_>>()
    );
    for s in &a {
        assert_eq!(
            red.standing("g", &s.member).await.unwrap().unwrap().rank,
            s.rank
        );
    }
}

async fn bus_contract(bus: Bus) {
    let mut a = bus.subscribe("room-1").await.unwrap();
    let mut b = bus.subscribe("room-1").await.unwrap();
    let mut other = bus.subscribe("room-2").await.unwrap();
    // Redis subscriptions take effect asynchronously on the server; publish until seen.
    let first = Bytes::from_static(b"{\"type\":\"hello\"}");
    let got = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            bus.publish("room-1", first.clone()).await.unwrap();
            if let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(100), a.recv()).await {
                return m;
            }
        }
    })
    .await
    .expect("message arrives");
    assert_eq!(got, first);
    for i in 0..50u32 {
        bus.publish("room-1", Bytes::from(i.to_string()))
            .await
            .unwrap();
    }
    // Both subscribers see the numbered messages in order (after any repeats of "hello").
    for sub in [&mut a, &mut b] {
        let mut seen = Vec::new();
        while seen.len() < 50 {
            let m = tokio::time::timeout(Duration::from_secs(5), sub.recv())
                .await
                .expect("in time")
                .expect("open");
            if m != first {
                seen.push(String::from_utf8(m.to_vec()).unwrap());
            }
        }
        let want: Vec<String> = (0..50).map(|i| i.to_string()).collect();
        assert_eq!(seen, want);
    }
    assert!(
        tokio::time::timeout(Duration::from_millis(300), other.recv())
            .await
            .is_err(),
        "topics are separate"
    );
}

#[tokio::test]
async fn memory_bus_meets_the_contract() {
    bus_contract(Bus::Memory(MemoryBus::new())).await;
}

#[tokio::test]
async fn redis_bus_meets_the_contract() {
    if let Some(r) = redis().await {
        bus_contract(Bus::Redis(RedisBus::new(r))).await;
    }
}
