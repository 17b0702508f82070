//! Leases against a real redis-server: one holder at a time, a fence that only grows, no
//! renewal or release of a lease that expired and was taken by another instance, a held lease
//! kept alive in the background and released when dropped, and a holder cut off from Redis
//! that counts its lease lost.

use crate::faults::PrivateRedis;
use crate::helpers::*;
use biwu::lease::Leases;
use biwu::redis_conn::Redis;
use std::time::{Duration, Instant};

async fn two_instances(url: &str) -> (Leases, Leases) {
    let prefix = format!("biwu-test:{}:", uuid::Uuid::new_v4().simple());
    let a = Redis::connect(url, &prefix).await.unwrap();
    let b = Redis::connect(url, &prefix).await.unwrap();
    (Leases::new(a, "instance-a"), Leases::new(b, "instance-b"))
}

#[tokio::test]
async fn one_holder_at_a_time_and_the_fence_only_grows() {
    let Some(url) = redis_url() else { return };
    let (a, b) = two_instances(&url).await;
    let ttl = Duration::from_millis(300);
    let la = a.acquire("room:r1", ttl).await.unwrap().expect("free");
    assert!(
        b.acquire("room:r1", ttl).await.unwrap().is_none(),
        "held by a"
    );
    assert_eq!(
        b.holder("room:r1").await.unwrap(),
        Some(("instance-a".to_string(), la.fence))
    );
    assert!(a.renew(&la).await.unwrap());
    // Another room has a lease of its own.
    assert!(b.acquire("room:r2", ttl).await.unwrap().is_some());

    // a stops renewing: once it expired, b takes it with a greater fence; a can neither renew
    // nor release b's lease.
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    let lb = b.acquire("room:r1", ttl).await.unwrap().expect("expired");
    assert!(lb.fence > la.fence, "{} after {}", lb.fence, la.fence);
    assert!(!a.renew(&la).await.unwrap());
    assert!(!a.release(&la).await.unwrap());
    assert_eq!(
        a.holder("room:r1").await.unwrap(),
        Some(("instance-b".to_string(), lb.fence))
    );
    assert!(b.release(&lb).await.unwrap());
    assert_eq!(a.holder("room:r1").await.unwrap(), None);
}

#[tokio::test]
async fn a_held_lease_is_renewed_and_released_when_dropped() {
    let Some(url) = redis_url() else { return };
    let (a, b) = two_instances(&url).await;
    let ttl = Duration::from_millis(600);
    let held = a.hold("room:r", ttl).await.unwrap().expect("free");
    // Three times its time to live later it is still a's: the keeper renewed it.
    tokio::time::sleep(ttl * 3).await;
    assert!(!held.lost());
    assert!(b.acquire("room:r", ttl).await.unwrap().is_none());
    assert_eq!(
        b.holder("room:r").await.unwrap().map(|h| h.0),
        Some("instance-a".to_string())
    );
    drop(held);
    // Released, not left to expire.
    let deadline = Instant::now() + ttl / 2;
    loop {
        if b.acquire("room:r", ttl).await.unwrap().is_some() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the dropped lease was not released"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_holder_cut_off_from_redis_counts_its_lease_lost() {
    let Some(mut redis) = PrivateRedis::new() else {
        return;
    };
    redis.start();
    let url = redis.url();
    let (a, _) = two_instances(&url).await;
    let ttl = Duration::from_millis(1500);
    let held = a.hold("room:r", ttl).await.unwrap().expect("free");
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(!held.lost());
    // Redis goes away (as a partition would look from the holder): the holder gives the lease
    // up — at once, as its presence connection ends, and at the latest at four fifths of the
    // time to live after its last confirmed renewal, so before anyone else could take it.
    redis.stop();
    tokio::time::timeout(ttl * 4, held.until_lost())
        .await
        .expect("the lease is counted lost");
    assert!(held.lost());
}

/// A holder whose connections to Redis close (as a process killed with -9 has them closed by
/// its kernel) is gone at once: its lease names no holder any more and another instance takes
/// it over with a greater fence, long before it would expire; the holder itself counts the
/// lease lost at once. While the holder is present, nobody takes its lease.
#[tokio::test]
async fn a_holder_gone_from_redis_leaves_its_lease_at_once() {
    let Some(url) = redis_url() else { return };
    let wire =
        crate::faults::Cuttable::to(url.trim_start_matches("redis://").trim_end_matches('/')).await;
    let prefix = format!("biwu-test:{}:", uuid::Uuid::new_v4().simple());
    let through = format!("redis://127.0.0.1:{}", wire.port);
    let a = Leases::new(
        Redis::connect(&through, &prefix).await.unwrap(),
        "instance-a",
    );
    let b = Leases::new(Redis::connect(&url, &prefix).await.unwrap(), "instance-b");
    // Far longer than anything below waits: only the holder's absence can free it.
    let ttl = Duration::from_secs(60);
    let held = a.hold("room:r", ttl).await.unwrap().expect("free");
    assert!(a.present());
    assert!(
        b.acquire("room:r", ttl).await.unwrap().is_none(),
        "a is present"
    );
    assert_eq!(
        b.holder("room:r").await.unwrap(),
        Some(("instance-a".to_string(), held.fence()))
    );

    wire.cut();
    tokio::time::timeout(Duration::from_secs(5), held.until_lost())
        .await
        .expect("the holder counts its lease lost when its presence ends");
    assert!(!a.present());
    let deadline = Instant::now() + Duration::from_secs(5);
    while b.holder("room:r").await.unwrap().is_some() {
        assert!(Instant::now() < deadline, "the gone holder still named");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let lb = b.acquire("room:r", ttl).await.unwrap().expect("taken over");
    assert!(
        lb.fence > held.fence(),
        "{} after {}",
        lb.fence,
        held.fence()
    );
    assert_eq!(
        b.holder("room:r").await.unwrap(),
        Some(("instance-b".to_string(), lb.fence))
    );
    // An instance not present takes nothing.
    assert!(a.acquire("room:other", ttl).await.is_err());
}
