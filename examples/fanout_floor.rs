//! What the machine alone allows for a WebSocket fan-out, without biwu: a minimal server
//! (tokio + tungstenite, one task and one bounded queue per socket, one shared frame) and a
//! client process holding N sockets. The client says `go` on its first socket, the server
//! queues one ~300-byte text frame for every socket, and the client measures the spread
//! between the first and the last socket receiving it. It is the floor under the live
//! room's "question spread" on the same machine (see docs/benchmarks.md). After the
//! broadcasts every socket sends one small frame at a random moment within one second and
//! the server answers it at once from the socket's task (no records, no room): the floor
//! under "answer→ack" with N answers arriving within a second.
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
    let received: Arc<Mutex<Vec<Instant>>> = Arc::default();
    // Each socket's last receive time, for the replies.
    let last: Arc<Vec<Mutex<Option<Instant>>>> =
        Arc::new((0..clients).map(|_| Mutex::new(None)).collect());
    let gate = Arc::new(Semaphore::new(256));
    let mut first = None;
    let mut sinks = Vec::new();
    let mut tasks = Vec::new();
    for i in 0..clients {
        let _permit = gate.clone().acquire_owned().await?;
        let stream = TcpStream::connect(server).await?;
        let (ws, _) = tokio_tungstenite::client_async(url.as_str(), stream).await?;
        let (sink, mut stream) = ws.split();
        if i == 0 {
            first = Some(sink);
        } else {
            sinks.push(sink);
        }
        let (received, last) = (received.clone(), last.clone());
        tasks.push(tokio::spawn(async move {
            while let Some(Ok(m)) = stream.next().await {
                if m.is_text() {
                    let now = Instant::now();
                    received.lock().unwrap().push(now);
                    *last[i].lock().unwrap() = Some(now);
                }
            }
        }));
    }
    let mut first = first.ok_or_else(|| anyhow::anyhow!("no clients"))?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut spreads = Vec::new();
    for round in 0..rounds {
        received.lock().unwrap().clear();
        first.send(Message::text("go")).await?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while received.lock().unwrap().len() < clients && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let got = received.lock().unwrap().clone();
        let (Some(min), Some(max)) = (got.iter().min(), got.iter().max()) else {
            anyhow::bail!("round {round}: nothing received");
        };
        let spread = max.duration_since(*min).as_secs_f64() * 1000.0;
        println!(
            "round {}: {} of {clients} received, spread {spread:.1} ms",
            round + 1,
            got.len()
        );
        spreads.push(spread);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    spreads.sort_by(f64::total_cmp);
    println!(
        "{clients} sockets: spread median {:.1} ms, max {:.1} ms",
        spreads[spreads.len() / 2],
        spreads[spreads.len() - 1]
    );

    // Every other socket sends one frame within one second; the time to its reply.
    received.lock().unwrap().clear();
    let start = Instant::now();
    let mut sends = Vec::new();
    for (i, mut sink) in sinks.into_iter().enumerate() {
        let at = start + Duration::from_micros((i as u64 * 1_000_000) / clients as u64);
        sends.push(tokio::spawn(async move {
            tokio::time::sleep_until(at.into()).await;
            let sent = Instant::now();
            let ok = sink
                .send(Message::text("{\"type\":\"answer\"}"))
                .await
                .is_ok();
            (i + 1, ok.then_some(sent), sink)
        }));
    }
    let mut sent_at = Vec::new();
    let mut open = Vec::new();
    for s in sends {
        let (i, sent, sink) = s.await?;
        open.push(sink);
        if let Some(t) = sent {
            sent_at.push((i, t));
        }
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while received.lock().unwrap().len() < sent_at.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut lat: Vec<f64> = sent_at
        .iter()
        .filter_map(|(i, sent)| {
            let got = (*last[*i].lock().unwrap())?;
            (got > *sent).then(|| got.duration_since(*sent).as_secs_f64() * 1000.0)
        })
        .collect();
    lat.sort_by(f64::total_cmp);
    if !lat.is_empty() {
        println!(
            "{} of {} answers within 1 s replied: p50 {:.1} ms, p99 {:.1} ms",
            lat.len(),
            sent_at.len(),
            lat[lat.len() / 2],
            lat[lat.len() * 99 / 100]
        );
    }
    for t in tasks {
        t.abort();
    }
    Ok(())
}
