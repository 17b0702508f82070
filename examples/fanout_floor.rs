//! What the machine alone allows for the live room's traffic, without biwu: a minimal
//! server (tokio + tungstenite, one task and one bounded queue per socket, one shared
//! frame) and a client process holding N sockets, used as the load generator uses biwu.
//! Each round a control socket says `go`, the server queues one ~300-byte text frame for
//! every socket, and every socket, once it has the frame, waits a uniform random delay in
//! [0, 1 s) and sends an answer, which the server replies to at once from the socket's task
//! (no records, no room). The client reports the spread between the first and the last
//! socket receiving the broadcast, and answer→reply latency with N answers arriving within
//! a second: the floors under the live room's "question spread" and "answer→ack" on the
//! same machine (see docs/benchmarks.md). Like the load generator it takes the broadcast's
//! receive time twice: when the client's task read it, and when the kernel received it.
//!
//! ```text
//! ulimit -n 20000
//! cargo run --release --example fanout_floor -- serve --bind 127.0.0.1:18300 &
//! cargo run --release --example fanout_floor -- load --server 127.0.0.1:18300 --clients 10000
//! ```

use clap::{Parser, Subcommand};
use futures_util::{SinkExt, StreamExt};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_tungstenite::tungstenite::Message;

#[path = "common/stamped.rs"]
mod stamped;
use stamped::Stamped;

#[derive(Parser)]
#[command(about = "WebSocket fan-out floor of this machine (no biwu involved)")]
struct Args {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// The minimal broadcasting server.
    Serve {
        #[arg(long, default_value = "127.0.0.1:18300")]
        bind: String,
    },
    /// The client side: N sockets, `rounds` broadcasts, the spread of each.
    Load {
        #[arg(long, default_value = "127.0.0.1:18300")]
        server: String,
        #[arg(long, default_value_t = 1000)]
        clients: usize,
        #[arg(long, default_value_t = 5)]
        rounds: usize,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Args::parse().cmd {
        Cmd::Serve { bind } => serve(&bind).await,
        Cmd::Load {
            server,
            clients,
            rounds,
        } => load(&server, clients, rounds).await,
    }
}

type Queues = Arc<Mutex<Vec<mpsc::Sender<Message>>>>;

async fn serve(bind: &str) -> anyhow::Result<()> {
    let listener = TcpListener::bind(bind).await?;
    let queues: Queues = Arc::default();
    // A frame the size of a biwu `question` frame.
    let frame: Message = Message::text(format!(
        "{{\"type\":\"question\",\"text\":\"{}\"}}",
        "题".repeat(90)
    ));
    loop {
        let (stream, _) = listener.accept().await?;
        let (queues, frame) = (queues.clone(), frame.clone());
        tokio::spawn(async move {
            let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                return;
            };
            let (tx, mut rx) = mpsc::channel::<Message>(16);
            queues.lock().unwrap().push(tx);
            loop {
                tokio::select! {
                    incoming = ws.next() => match incoming {
                        Some(Ok(Message::Text(t))) if t.as_str() == "go" => {
                            let all = queues.lock().unwrap().clone();
                            for q in all {
                                let _ = q.try_send(frame.clone());
                            }
                        }
                        Some(Ok(Message::Text(_))) => {
                            if ws.send(Message::text("{\"type\":\"ack\",\"position\":0}")).await.is_err() {
                                break;
                            }
                        }
                        Some(Ok(_)) => {}
                        _ => break,
                    },
                    out = rx.recv() => match out {
                        Some(m) => if ws.send(m).await.is_err() { break },
                        None => break,
                    },
                }
            }
        });
    }
}

async fn load(server: &str, clients: usize, rounds: usize) -> anyhow::Result<()> {
    let url = format!("ws://{server}/");
    // Broadcast receive times and answer→reply latencies (ms) of the current round.
    let received: Arc<Mutex<Vec<Instant>>> = Arc::default();
    // Kernel receive times of the broadcast, ns on the wall clock.
    let received_rx: Arc<Mutex<Vec<u64>>> = Arc::default();
    let replies: Arc<Mutex<Vec<f64>>> = Arc::default();
    let gate = Arc::new(Semaphore::new(256));
    let (control, _) =
        tokio_tungstenite::client_async(url.as_str(), TcpStream::connect(server).await?).await?;
    let mut control = control;
    let mut tasks = Vec::new();
    for i in 0..clients {
        let _permit = gate.clone().acquire_owned().await?;
        let stream = Stamped::connect(server).await?;
        let (mut ws, _) = tokio_tungstenite::client_async(url.as_str(), stream).await?;
        let (received, replies) = (received.clone(), replies.clone());
        let received_rx = received_rx.clone();
        // A xorshift per socket: the delays need to be spread, not unpredictable.
        let mut seed = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        tasks.push(tokio::spawn(async move {
            let mut answer_at: Option<tokio::time::Instant> = None;
            let mut sent_at: Option<Instant> = None;
            loop {
                tokio::select! {
                    m = ws.next() => match m {
                        Some(Ok(m)) if m.is_text() => {
                            let now = Instant::now();
                            match sent_at.take() {
                                Some(t) => replies.lock().unwrap().push(ms(now - t)),
                                None => {
                                    received.lock().unwrap().push(now);
                                    received_rx.lock().unwrap().extend(ws.get_ref().last_rx_ns());
                                    seed ^= seed << 13;
                                    seed ^= seed >> 7;
                                    seed ^= seed << 17;
                                    let delay = Duration::from_micros(seed % 1_000_000);
                                    answer_at = Some(tokio::time::Instant::now() + delay);
                                }
                            }
                        }
                        Some(Ok(_)) => {}
                        _ => break,
                    },
                    _ = tokio::time::sleep_until(answer_at.unwrap_or_else(tokio::time::Instant::now)), if answer_at.is_some() => {
                        answer_at = None;
                        sent_at = Some(Instant::now());
                        if ws.send(Message::text("{\"type\":\"answer\"}")).await.is_err() {
                            break;
                        }
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (mut spreads, mut spreads_rx, mut all_replies) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        received.lock().unwrap().clear();
        received_rx.lock().unwrap().clear();
        replies.lock().unwrap().clear();
        control.send(Message::text("go")).await?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while replies.lock().unwrap().len() < clients && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let got = received.lock().unwrap().clone();
        let (Some(min), Some(max)) = (got.iter().min(), got.iter().max()) else {
            anyhow::bail!("round {round}: nothing received");
        };
        let spread = ms(*max - *min);
        let rx = received_rx.lock().unwrap().clone();
        let spread_rx = match (rx.iter().min(), rx.iter().max()) {
            (Some(a), Some(b)) => (b - a) as f64 / 1e6,
            _ => f64::NAN,
        };
        let mut lat = replies.lock().unwrap().clone();
        lat.sort_by(f64::total_cmp);
        println!(
            "round {}: {} of {clients} received, spread {spread:.1} ms (kernel receive times {spread_rx:.1} ms); {} replies p50 {:.1} ms p99 {:.1} ms",
            round + 1,
            got.len(),
            lat.len(),
            pct(&lat, 50),
            pct(&lat, 99)
        );
        spreads.push(spread);
        spreads_rx.push(spread_rx);
        all_replies.extend(lat);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    spreads.sort_by(f64::total_cmp);
    spreads_rx.sort_by(f64::total_cmp);
    all_replies.sort_by(f64::total_cmp);
    println!(
        "{clients} sockets, {rounds} rounds: broadcast spread median {:.1} ms, max {:.1} ms (kernel receive times: median {:.1} ms, max {:.1} ms); answer→reply p50 {:.1} ms, p99 {:.1} ms",
        pct(&spreads, 50),
        spreads[spreads.len() - 1],
        pct(&spreads_rx, 50),
        spreads_rx[spreads_rx.len() - 1],
        pct(&all_replies, 50),
        pct(&all_replies, 99)
    );
    for t in tasks {
        t.abort();
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The p-th percentile of sorted values (0 when there are none).
fn pct(sorted: &[f64], p: usize) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}
