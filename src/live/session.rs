//! One WebSocket: translates frames to conductor commands and forwards the conductor's
//! frames. It decides nothing about the game; it only checks who is speaking, the shape of
//! frames, and abuse (too many bad frames, floods).

use super::Rooms;
use super::protocol::{ClientMsg, ClientRole, ErrorCode, PROTOCOL_VERSION, ServerMsg};
use super::relay::Relay;
use super::room::{Command, Frame, HostCmd, Outbox, PlayerAuth, RoomHandle, frame, internal};
use crate::auth::Identity;
use crate::domain::Role;
use crate::records::competitions;
use actix_ws::{AggregatedMessage, CloseCode, CloseReason, MessageStream, Session};
use futures_util::StreamExt;
use std::future::Future;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::Poll;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Text frames longer than this get `too_large`.
pub const MAX_FRAME: usize = 4096;
const HEARTBEAT: Duration = Duration::from_secs(5);
const SILENCE: Duration = Duration::from_secs(15);
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// Erroneous frames a socket may send before it is closed.
const MAX_ERRORS: u32 = 20;
/// Frames per second a socket may send before it is closed.
const MAX_RATE: u32 = 50;

fn error(code: ErrorCode, message: impl Into<String>) -> Frame {
    frame(&ServerMsg::Error {
        code,
        message: message.into(),
    })
}

async fn refuse<T>(mut session: Session, code: ErrorCode, message: &str) -> Option<T> {
    let _ = session.text(error(code, message)).await;
    let _ = session
        .close(Some(CloseReason {
            code: CloseCode::Policy,
            description: Some(message.to_string()),
        }))
        .await;
    None
}

/// Where a socket came in: the site's address as its user sees it (the base of join links)
/// and the client's address (for throttling wrong PINs).
pub struct Door {
    pub base_url: String,
    pub client_address: String,
}

/// The socket's stream of incoming messages, continuations put together.
type Incoming = actix_ws::AggregatedMessageStream;

/// Runs a socket until it closes. Two tasks, one after the other: the handshake's (hello,
/// admission, joining the room — database lookups included) ends once the socket is in its
/// room, and only the loop's task, a fraction of the size, stays for every idle socket.
pub fn run(
    rooms: Arc<Rooms>,
    identity: Option<Identity>,
    door: Door,
    session: Session,
    stream: MessageStream,
) {
    let stream = stream
        .max_frame_size(64 * 1024)
        .aggregate_continuations()
        .max_continuation_size(64 * 1024);
    actix_web::rt::spawn(async move {
        if let Some((live, kicked, stream)) =
            open(&rooms, identity.as_ref(), door, session, stream).await
        {
            actix_web::rt::spawn(serve(live, kicked, stream));
        }
    });
}

/// Hello, admission and joining the room; `None` when the socket was refused (and closed).
async fn open(
    rooms: &Rooms,
    identity: Option<&Identity>,
    door: Door,
    session: Session,
    mut stream: Incoming,
) -> Option<(Live, Kicked, Incoming)> {
    let first = match tokio::time::timeout(HELLO_TIMEOUT, stream.next()).await {
        Ok(Some(Ok(AggregatedMessage::Text(t)))) => t,
        _ => return refuse(session, ErrorCode::BadFrame, "第一帧必须是 hello").await,
    };
    let hello = match serde_json::from_str::<ClientMsg>(&first) {
        Ok(h @ ClientMsg::Hello { .. }) => h,
        Ok(_) => return refuse(session, ErrorCode::BadFrame, "第一帧必须是 hello").await,
        Err(e) => {
            return refuse(
                session,
                ErrorCode::BadFrame,
                &format!("无法解析 hello：{e}"),
            )
            .await;
        }
    };
    let ClientMsg::Hello {
        protocol,
        role,
        pin,
        competition,
        name,
        token,
    } = hello
    else {
        unreachable!("matched above")
    };
    if protocol != PROTOCOL_VERSION {
        let msg = format!("协议版本 {protocol} 不受支持（应为 {PROTOCOL_VERSION}）");
        return refuse(session, ErrorCode::Version, &msg).await;
    }
    let (room, player) =
        match admit(rooms, &door, identity, role, pin, competition, name, token).await {
            Ok(x) => x,
            Err((code, msg)) => return refuse(session, code, &msg).await,
        };
    let out = Outbox::new(session.clone());
    let join_url = (role != ClientRole::Player).then(|| {
        let pin = room.1.clone();
        format!("{}/play?pin={pin}", door.base_url)
    });
    let mut room = room.0;
    // Twice at most: a room that left memory the instant this socket arrived closes its
    // queue unanswered, and the second try loads it again.
    let mut attempt = 0;
    let (client, kicked) = loop {
        attempt += 1;
        let (kick, kicked) = oneshot::channel();
        let (reply, joined) = oneshot::channel();
        let sent = room
            .send(Command::Join {
                role,
                player: player.clone(),
                join_url: join_url.clone(),
                out: out.clone(),
                relay: Relay::current(),
                kick,
                reply,
            })
            .await;
        match (sent, joined.await) {
            (Ok(()), Ok(Ok(id))) => break (id, kicked),
            (Ok(()), Ok(Err((code, msg)))) => return refuse(session, code, &msg).await,
            _ if attempt < 2 => match rooms.get(&room.competition_id).await {
                Ok(h) => room = h,
                Err(e) => {
                    let (code, msg) = unavailable(e);
                    return refuse(session, code, &msg).await;
                }
            },
            _ => return refuse(session, ErrorCode::Internal, "比赛房间不可用").await,
        }
    };
    let actor = identity.map(|i| i.member.id.clone()).unwrap_or_default();
    let live = Live {
        room,
        client,
        role,
        actor,
        out,
        session,
        last_seen: Instant::now(),
        window: (Instant::now(), 0),
    };
    Some((live, kicked, stream))
}

/// The room's word to close the socket (removed, or too slow to keep up).
type Kicked = oneshot::Receiver<CloseReason>;

/// What woke an idle socket's task.
enum Wake {
    Frame(Option<Result<AggregatedMessage, actix_ws::ProtocolError>>),
    Kicked(Result<CloseReason, oneshot::error::RecvError>),
    Heartbeat,
}

/// A socket that said hello and joined its room, while it waits: kept for every idle socket, so it holds only what
/// must last from one frame to the next.
struct Live {
    room: RoomHandle,
    client: u64,
    role: ClientRole,
    actor: String,
    out: Outbox,
    session: Session,
    last_seen: Instant,
    /// Start of the current one-second window and the frames received in it.
    window: (Instant, u32),
}

/// Turns the socket's frames into commands until it closes. This future is kept for every
/// idle socket, so it awaits one small `poll_fn` over the socket, the room's word and the
/// heartbeat; handling what woke it (a frame, a ping) runs boxed, on the heap only while it
/// runs. (Not an `async fn`: its arguments would stay in the future beside what is made
/// of them.)
fn serve(mut live: Live, mut kicked: Kicked, mut stream: Incoming) -> impl Future<Output = ()> {
    let mut heartbeat =
        tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
    async move {
        let close_reason = loop {
            let wake = std::future::poll_fn(|cx| {
                if let Poll::Ready(r) = Pin::new(&mut kicked).poll(cx) {
                    return Poll::Ready(Wake::Kicked(r));
                }
                if let Poll::Ready(m) = stream.poll_next_unpin(cx) {
                    return Poll::Ready(Wake::Frame(m));
                }
                if heartbeat.poll_tick(cx).is_ready() {
                    return Poll::Ready(Wake::Heartbeat);
                }
                Poll::Pending
            })
            .await;
            let step = match wake {
                Wake::Frame(Some(Ok(msg))) => Box::pin(live.on_message(msg)).await,
                Wake::Frame(Some(Err(_)) | None) => ControlFlow::Break(None),
                Wake::Kicked(reason) => ControlFlow::Break(Some(reason.unwrap_or_else(|_| {
                    CloseReason {
                        // The room is gone.
                        code: CloseCode::Again,
                        description: Some("比赛房间已关闭，请重新连接".into()),
                    }
                }))),
                Wake::Heartbeat => Box::pin(live.on_heartbeat()).await,
            };
            if let ControlFlow::Break(reason) = step {
                break reason;
            }
        };
        Box::pin(async move {
            let _ = live
                .room
                .send(Command::Leave {
                    client: live.client,
                })
                .await;
            let _ = live.session.close(close_reason).await;
        })
        .await;
    }
}

/// `Break` closes the socket, with the reason given (`None`: it is gone already).
type Step = ControlFlow<Option<CloseReason>>;

impl Live {
    async fn on_message(&mut self, msg: AggregatedMessage) -> Step {
        self.last_seen = Instant::now();
        if self.window.0.elapsed() >= Duration::from_secs(1) {
            self.window = (Instant::now(), 0);
        }
        self.window.1 += 1;
        if self.window.1 > MAX_RATE {
            return ControlFlow::Break(Some(CloseReason {
                code: CloseCode::Policy,
                description: Some("发送过于频繁".into()),
            }));
        }
        let reply = match msg {
            AggregatedMessage::Text(text) => {
                if text.len() > MAX_FRAME {
                    Some(error(
                        ErrorCode::TooLarge,
                        format!("消息超过 {MAX_FRAME} 字节"),
                    ))
                } else {
                    match serde_json::from_str::<ClientMsg>(&text) {
                        Ok(m) => handle(&self.room, self.client, self.role, &self.actor, m).await,
                        Err(e) => Some(error(ErrorCode::BadFrame, format!("无法解析消息：{e}"))),
                    }
                }
            }
            AggregatedMessage::Binary(_) => Some(error(ErrorCode::BadFrame, "只接受 JSON 文本帧")),
            AggregatedMessage::Ping(p) => {
                if self.session.pong(&p).await.is_err() {
                    return ControlFlow::Break(None);
                }
                None
            }
            AggregatedMessage::Pong(_) => None,
            AggregatedMessage::Close(_) => return ControlFlow::Break(None),
        };
        if let Some(f) = reply {
            if is_error(&f) {
                self.out.errors().fetch_add(1, Ordering::Relaxed);
            }
            if self.session.text(f).await.is_err() {
                return ControlFlow::Break(None);
            }
        }
        // Errors this socket caused, whether this task, the room or the writer found them.
        if self.out.errors().load(Ordering::Relaxed) > MAX_ERRORS {
            return ControlFlow::Break(Some(CloseReason {
                code: CloseCode::Policy,
                description: Some("错误消息过多".into()),
            }));
        }
        ControlFlow::Continue(())
    }

    async fn on_heartbeat(&mut self) -> Step {
        if self.last_seen.elapsed() > SILENCE {
            return ControlFlow::Break(Some(CloseReason {
                code: CloseCode::Away,
                description: Some("心跳超时".into()),
            }));
        }
        if self.session.ping(b"").await.is_err() {
            return ControlFlow::Break(None);
        }
        ControlFlow::Continue(())
    }
}

fn is_error(f: &Frame) -> bool {
    f.starts_with("{\"type\":\"error\"")
}

type Admitted = ((RoomHandle, String), Option<PlayerAuth>);

/// Who may enter which room, before the conductor is asked.
#[allow(clippy::too_many_arguments)]
async fn admit(
    rooms: &Rooms,
    door: &Door,
    identity: Option<&Identity>,
    role: ClientRole,
    pin: Option<String>,
    competition: Option<String>,
    name: Option<String>,
    token: Option<String>,
) -> Result<Admitted, (ErrorCode, String)> {
    let record = match role {
        ClientRole::Player => {
            let pin = pin.ok_or((ErrorCode::BadFrame, "缺少 PIN".to_string()))?;
            let now = Instant::now();
            if let Err(wait) = rooms.pins.check(&door.client_address, now) {
                return Err((
                    ErrorCode::TooMany,
                    format!("PIN 错误次数过多，请 {wait} 秒后再试"),
                ));
            }
            let found = rooms.by_pin(pin.trim()).await.map_err(internal)?;
            if found.is_none() {
                // The audience of a final joins with a PIN typed on the same page.
                let stage = crate::records::stages::by_audience_pin(rooms.db(), pin.trim())
                    .await
                    .map_err(internal)?;
                if let Some(s) = stage {
                    return Err((ErrorCode::Moved, format!("/stage/{}/audience", s.id)));
                }
                rooms.pins.missed(&door.client_address, now);
            }
            found.ok_or((ErrorCode::NotFound, "没有这个 PIN 的比武".to_string()))?
        }
        ClientRole::Host | ClientRole::Screen => {
            let id = competition.ok_or((ErrorCode::BadFrame, "缺少 competition".to_string()))?;
            competitions::by_id(rooms.db(), &id)
                .await
                .map_err(internal)?
                .ok_or((ErrorCode::NotFound, "没有这场比武".to_string()))?
        }
    };
    let who = identity.map(|i| (i.member.id.clone(), i.role()));
    let player = match role {
        ClientRole::Host => {
            let ok = who.as_ref().is_some_and(|(id, r)| {
                *r == Role::Admin || (*r == Role::Host && *id == record.created_by)
            });
            if !ok {
                return Err((
                    ErrorCode::NotAllowed,
                    "只有本场比武的主持人或管理员可以主持".into(),
                ));
            }
            None
        }
        ClientRole::Screen => {
            if !who
                .as_ref()
                .is_some_and(|(_, r)| matches!(r, Role::Admin | Role::Host))
            {
                return Err((
                    ErrorCode::NotAllowed,
                    "投影屏须由主持人或管理员登录后打开".into(),
                ));
            }
            None
        }
        ClientRole::Player => Some(match (token, identity) {
            (Some(t), _) if !t.is_empty() => PlayerAuth::Token(t),
            (_, Some(i)) => PlayerAuth::Member {
                id: i.member.id.clone(),
                name: i.member.name.clone(),
            },
            (_, None) => match name {
                Some(n) if !n.trim().is_empty() => {
                    // A guest may not pose as someone on the roster. Checked here, in the
                    // socket's own task, so the conductor does not wait on the records for it.
                    let shown = crate::domain::competition::display_name(&n)
                        .map_err(|m| (ErrorCode::BadFrame, m))?;
                    if competitions::is_member_name(rooms.db(), &shown)
                        .await
                        .map_err(internal)?
                    {
                        return Err((
                            ErrorCode::NotAllowed,
                            "这个名字与名册内人员相同：请登录后参加，或换一个昵称".into(),
                        ));
                    }
                    PlayerAuth::Guest { name: n }
                }
                _ => {
                    return Err((
                        ErrorCode::NotAllowed,
                        "请先登录，或填写昵称以访客身份参加".into(),
                    ));
                }
            },
        }),
    };
    if let Some(auth) = &player {
        entrant(&record, auth)?;
    }
    let handle = rooms.get(&record.id).await.map_err(unavailable)?;
    Ok(((handle, record.pin), player))
}

/// Why a room could not be had: conducted by another instance, or an internal failure.
fn unavailable(e: anyhow::Error) -> (ErrorCode, String) {
    match e.downcast_ref::<super::Elsewhere>() {
        Some(elsewhere) => (
            ErrorCode::Elsewhere,
            format!(
                "本场比武正由另一台服务器（{}）主持，请稍后重新连接",
                elsewhere.instance
            ),
        ),
        None => internal(e),
    }
}

/// Refuses a new player the competition's entrant list leaves out. Read from the record
/// this hello just fetched, not the room's copy: the list may have been set (carried over
/// from an exam) after the room was loaded; the room checks again with its own settings.
/// A rejoin token is the room's to judge.
fn entrant(
    record: &competitions::Competition,
    auth: &PlayerAuth,
) -> Result<(), (ErrorCode, String)> {
    let member = match auth {
        PlayerAuth::Token(_) => return Ok(()),
        PlayerAuth::Member { id, .. } => Some(id.as_str()),
        PlayerAuth::Guest { .. } => None,
    };
    let settings: crate::domain::competition::Settings = serde_json::from_str(&record.settings)
        .map_err(|e| {
            internal(anyhow::anyhow!(
                "settings of competition {}: {e}",
                record.id
            ))
        })?;
    if settings.admits_entrant(member) {
        Ok(())
    } else {
        Err((
            ErrorCode::NotEntrant,
            crate::domain::competition::NOT_ENTRANT.into(),
        ))
    }
}

/// One frame after hello: the reply to send back, if any.
async fn handle(
    room: &RoomHandle,
    client: u64,
    role: ClientRole,
    actor: &str,
    msg: ClientMsg,
) -> Option<Frame> {
    let host = |cmd: HostCmd| async move {
        if role != ClientRole::Host {
            return Some(error(ErrorCode::NotAllowed, "只有主持人可以发送此命令"));
        }
        let (reply, done) = oneshot::channel();
        room.send(Command::Host {
            actor: actor.to_string(),
            cmd,
            reply,
        })
        .await
        .ok()?;
        match done.await {
            Ok(Ok(())) => None,
            Ok(Err((code, m))) => Some(error(code, m)),
            Err(_) => Some(error(ErrorCode::Internal, "比赛房间不可用")),
        }
    };
    match msg {
        ClientMsg::Hello { .. } => Some(error(ErrorCode::WrongPhase, "已经连接，不能再次 hello")),
        // Answered by the socket's task, without asking the room: a `pong` proves the socket
        // and this server are alive (the room's liveness shows in its own frames).
        ClientMsg::Ping {} => Some(frame(&ServerMsg::Pong)),
        ClientMsg::Answer { position, answer } => {
            if role != ClientRole::Player {
                return Some(error(ErrorCode::NotAllowed, "只有选手可以答题"));
            }
            // The reply (an `ack` once the answer is durable, or an `error`) comes
            // through this socket's queue.
            match room
                .send(Command::Answer {
                    client,
                    position,
                    response: answer,
                })
                .await
            {
                Ok(()) => None,
                Err((code, m)) => Some(error(code, m)),
            }
        }
        ClientMsg::Start {} => host(HostCmd::Start).await,
        ClientMsg::Next {} => host(HostCmd::Next).await,
        ClientMsg::Pause {} => host(HostCmd::Pause).await,
        ClientMsg::Resume {} => host(HostCmd::Resume).await,
        ClientMsg::Extend { seconds } => host(HostCmd::Extend(seconds)).await,
        ClientMsg::Skip {} => host(HostCmd::Skip).await,
        ClientMsg::End {} => host(HostCmd::End).await,
        ClientMsg::Remove { participant } => host(HostCmd::Remove(participant)).await,
        ClientMsg::Void { position, reason } => host(HostCmd::Void { position, reason }).await,
        ClientMsg::Accept {
            position,
            answer,
            reason,
        } => {
            host(HostCmd::Accept {
                position,
                answer,
                reason,
            })
            .await
        }
        ClientMsg::ConfirmAwards {} => host(HostCmd::ConfirmAwards).await,
    }
}
