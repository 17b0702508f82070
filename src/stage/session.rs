//! One WebSocket of a final: the host console, the projector, a team device or a judge's
//! phone. It checks who is speaking and the shape of frames, stamps buzzes with the server's
//! clock and receive order the moment they arrive, and forwards everything else to the
//! conductor, which decides.

use super::audience::{self, AudCmd};
use super::{Cmd, HostCmd, Seat, Stages};
use crate::auth::{Identity, hash_token};
use crate::domain::Role;
use crate::live::room::Outbox;
use crate::records::stages as rec;
use actix_ws::{AggregatedMessage, CloseCode, CloseReason, MessageStream, Session};
use futures_util::StreamExt;
use serde::Deserialize;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_FRAME: usize = 4096;

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum Hello {
    Hello {
        role: String,
        /// A team device's sign-in code.
        #[serde(default)]
        code: Option<String>,
        /// The audience: a guest's nickname, or the token a phone rejoins with.
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        token: Option<String>,
    },
}

/// What an audience phone may send.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum AudienceFrame {
    Answer {
        round: usize,
        index: usize,
        response: crate::domain::Response,
    },
    Ping,
}

/// What a team device or a judge may send (the host's commands are [`HostCmd`]).
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum Frame {
    Buzz,
    /// A team's answer on its device (rounds that answer there).
    Answer {
        response: crate::domain::Response,
    },
    Stake {
        stake: i64,
    },
    Marks {
        team: usize,
        marks: Vec<u32>,
        #[serde(default)]
        reason: Option<String>,
    },
    Ping,
}

async fn refuse(mut session: Session, code: &str, message: &str) {
    let f = serde_json::json!({"type": "error", "code": code, "message": message}).to_string();
    let _ = session.text(f).await;
    let _ = session
        .close(Some(CloseReason {
            code: CloseCode::Policy,
            description: Some(message.to_string()),
        }))
        .await;
}

/// Runs a socket of final `stage_id` until it closes (`team_only`: on the buzzer listener,
/// where only team devices are seated).
pub fn run(
    stages: Arc<Stages>,
    stage_id: String,
    identity: Option<Identity>,
    session: Session,
    stream: MessageStream,
    team_only: bool,
) {
    let mut stream = stream.max_frame_size(64 * 1024).aggregate_continuations();
    actix_web::rt::spawn(async move {
        let first = match tokio::time::timeout(HELLO_TIMEOUT, stream.next()).await {
            Ok(Some(Ok(AggregatedMessage::Text(t)))) => t,
            _ => return refuse(session, "bad_frame", "第一帧必须是 hello").await,
        };
        let Ok(Hello::Hello {
            role,
            code,
            name,
            token,
        }) = serde_json::from_str::<Hello>(&first)
        else {
            return refuse(session, "bad_frame", "第一帧必须是 hello").await;
        };
        if team_only && role != "team" {
            return refuse(session, "not_allowed", "此端口只接入代表队抢答器").await;
        }
        if role == "audience" {
            let who = audience::Joining {
                member: identity.map(|i| (i.member.id.clone(), i.member.name.clone())),
                name,
                token,
            };
            return join_audience(&stages, &stage_id, who, session, &mut stream).await;
        }
        let seat = match admit(&stages, &stage_id, identity.as_ref(), &role, code).await {
            Ok(seat) => seat,
            Err((code, message)) => return refuse(session, code, &message).await,
        };
        let tx = match stages.get(&stage_id).await {
            Ok(tx) => tx,
            Err(e) if e.downcast_ref::<crate::live::Elsewhere>().is_some() => {
                return refuse(session, "elsewhere", &elsewhere(&e)).await;
            }
            Err(e) => {
                tracing::error!(stage = %stage_id, error = format!("{e:#}"), "stage load");
                return refuse(session, "internal", "服务器内部错误，请稍后重试").await;
            }
        };
        let (reply, id) = oneshot::channel();
        let outbox = Outbox::new(session.clone());
        if tx
            .send(Cmd::Join {
                seat: seat.clone(),
                outbox: outbox.clone(),
                reply,
            })
            .await
            .is_err()
        {
            return refuse(session, "internal", "服务器内部错误，请稍后重试").await;
        }
        let Ok(client) = id.await else { return };
        serve(&stages, &tx, client, seat, session, outbox, &mut stream).await;
        let _ = tx.send(Cmd::Leave(client)).await;
    });
}

/// Why a final's socket is refused on this instance: another one conducts the final.
fn elsewhere(e: &anyhow::Error) -> String {
    let instance = e
        .downcast_ref::<crate::live::Elsewhere>()
        .map(|e| e.instance.as_str())
        .unwrap_or_default();
    format!("本场决赛正由另一台服务器（{instance}）主持，请连接该服务器")
}

/// An audience phone: joins the final's audience task (when the audience plays along) and
/// forwards its answers there; the conductor never hears of it.
async fn join_audience(
    stages: &Stages,
    stage_id: &str,
    who: audience::Joining,
    mut session: Session,
    stream: &mut actix_ws::AggregatedMessageStream,
) {
    let tx = match stages.audience(stage_id).await {
        Ok(Some(tx)) => tx,
        Ok(None) => {
            return refuse(session, "not_allowed", "本场决赛没有开放观众互动").await;
        }
        Err(e) if e.downcast_ref::<crate::live::Elsewhere>().is_some() => {
            return refuse(session, "elsewhere", &elsewhere(&e)).await;
        }
        Err(e) => {
            let missing = rec::by_id(stages.db(), stage_id)
                .await
                .ok()
                .flatten()
                .is_none();
            if missing {
                return refuse(session, "not_found", "没有这场决赛").await;
            }
            tracing::error!(stage = %stage_id, error = format!("{e:#}"), "stage load");
            return refuse(session, "internal", "服务器内部错误，请稍后重试").await;
        }
    };
    let (reply, joined) = oneshot::channel();
    let mut outbox = Outbox::new(session.clone());
    if tx
        .send(AudCmd::Join {
            who,
            outbox: outbox.clone(),
            reply,
        })
        .await
        .is_err()
    {
        return refuse(session, "internal", "服务器内部错误，请稍后重试").await;
    }
    let client = match joined.await {
        Ok(Ok(client)) => client,
        Ok(Err((code, message))) => return refuse(session, &code, &message).await,
        Err(_) => return refuse(session, "internal", "服务器内部错误，请稍后重试").await,
    };
    while let Some(text) = next_or_moved(stream, &mut session, &tx).await {
        if text.len() > MAX_FRAME {
            outbox.push_error(crate::live::protocol::ErrorCode::BadFrame, "帧过长".into());
            continue;
        }
        let cmd = match serde_json::from_str::<AudienceFrame>(&text) {
            Ok(AudienceFrame::Answer {
                round,
                index,
                response,
            }) => AudCmd::Answer {
                client,
                round,
                index,
                response,
            },
            Ok(AudienceFrame::Ping) => continue,
            Err(e) => {
                outbox.push_error(
                    crate::live::protocol::ErrorCode::BadFrame,
                    format!("无法解析：{e}"),
                );
                continue;
            }
        };
        if tx.send(cmd).await.is_err() {
            break;
        }
    }
    let _ = tx.send(AudCmd::Leave(client)).await;
    close(session, tx.is_closed()).await;
}

/// The socket's next text frame; `None` once it closes or the final's task here ends (its
/// conductor lost the lease, or the proxy to the instance conducting it ended).
async fn next_or_moved<T>(
    stream: &mut actix_ws::AggregatedMessageStream,
    session: &mut Session,
    to: &mpsc::Sender<T>,
) -> Option<bytestring::ByteString> {
    tokio::select! {
        text = next_text(stream, session) => text,
        _ = to.closed() => None,
    }
}

/// Closes the socket; `moved`: the final is conducted elsewhere now (1012, come back).
async fn close(session: Session, moved: bool) {
    let reason = moved.then(|| CloseReason {
        code: CloseCode::Restart,
        description: Some("决赛正在转移到另一台服务器，请重新连接".into()),
    });
    let _ = session.close(reason).await;
}

/// The socket's next text frame (pings answered on the way); `None` once it closes.
async fn next_text(
    stream: &mut actix_ws::AggregatedMessageStream,
    session: &mut Session,
) -> Option<bytestring::ByteString> {
    while let Some(msg) = stream.next().await {
        match msg {
            Ok(AggregatedMessage::Text(t)) => return Some(t),
            Ok(AggregatedMessage::Ping(p)) => {
                let _ = session.pong(&p).await;
            }
            Ok(AggregatedMessage::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
    None
}

/// Who may take which seat: the final's host (or an admin) at the console and the projector,
/// a team device with its code, a judge of the final at the judge's seat.
async fn admit(
    stages: &Stages,
    stage_id: &str,
    identity: Option<&Identity>,
    role: &str,
    code: Option<String>,
) -> Result<Seat, (&'static str, String)> {
    let internal = |e: anyhow::Error| {
        tracing::error!(error = format!("{e:#}"), "stage admit");
        ("internal", "服务器内部错误，请稍后重试".to_string())
    };
    let db = stages.db();
    let stage = rec::by_id(db, stage_id)
        .await
        .map_err(internal)?
        .ok_or(("not_found", "没有这场决赛".to_string()))?;
    let runs = |i: &Identity| i.role() == Role::Admin || i.member.id == stage.created_by;
    match role {
        "host" | "screen" => match identity {
            Some(i) if runs(i) => Ok(if role == "host" {
                Seat::Host {
                    member_id: i.member.id.clone(),
                }
            } else {
                Seat::Screen
            }),
            _ => Err(("not_allowed", "只有本场主持人可以打开主持台和投影屏".into())),
        },
        "team" => {
            let code = code.unwrap_or_default();
            let hash = hash_token(code.trim());
            let teams = rec::teams(db, stage_id).await.map_err(internal)?;
            match teams.iter().find(|t| t.device_hash == hash) {
                Some(t) => Ok(Seat::Team(t.position as usize)),
                None => Err(("bad_code", "代表队登录码不正确".into())),
            }
        }
        "judge" => {
            let Some(i) = identity else {
                return Err(("not_allowed", "请先登录".into()));
            };
            let judges = rec::judges(db, stage_id).await.map_err(internal)?;
            match judges.iter().find(|j| j.0 == i.member.id) {
                Some(j) => Ok(Seat::Judge {
                    member_id: j.0.clone(),
                    name: j.2.clone(),
                }),
                None => Err(("not_allowed", "您不是本场评委".into())),
            }
        }
        _ => Err(("bad_frame", format!("未知的角色「{role}」"))),
    }
}

async fn serve(
    stages: &Stages,
    tx: &mpsc::Sender<Cmd>,
    client: u64,
    seat: Seat,
    mut session: Session,
    mut outbox: Outbox,
    stream: &mut actix_ws::AggregatedMessageStream,
) {
    let bad = |outbox: &mut Outbox, message: String| {
        outbox.push_error(crate::live::protocol::ErrorCode::BadFrame, message);
    };
    while let Some(text) = next_or_moved(stream, &mut session, tx).await {
        // Stamped first: the receive time and order decide a buzz race.
        let at = Instant::now();
        let seq = stages.seq.fetch_add(1, Ordering::SeqCst);
        if text.len() > MAX_FRAME {
            bad(&mut outbox, "帧过长".into());
            continue;
        }
        let cmd = match &seat {
            Seat::Host { .. } => match serde_json::from_str::<HostCmd>(&text) {
                Ok(cmd) => Cmd::Host { client, cmd },
                Err(e) => {
                    bad(&mut outbox, format!("无法解析：{e}"));
                    continue;
                }
            },
            Seat::Screen => continue,
            Seat::Team(team) => match serde_json::from_str::<Frame>(&text) {
                Ok(Frame::Buzz) => Cmd::Buzz {
                    client,
                    team: *team,
                    at,
                    seq,
                },
                Ok(Frame::Stake { stake }) => Cmd::Stake {
                    client,
                    team: *team,
                    stake,
                },
                Ok(Frame::Answer { response }) => Cmd::Answer {
                    client,
                    team: *team,
                    response,
                },
                Ok(Frame::Ping) => continue,
                Ok(Frame::Marks { .. }) => {
                    bad(&mut outbox, "代表队不能评分".into());
                    continue;
                }
                Err(e) => {
                    bad(&mut outbox, format!("无法解析：{e}"));
                    continue;
                }
            },
            Seat::Judge { member_id, .. } => match serde_json::from_str::<Frame>(&text) {
                Ok(Frame::Marks {
                    team,
                    marks,
                    reason,
                }) => Cmd::Marks {
                    client,
                    judge_id: member_id.clone(),
                    team,
                    marks,
                    reason,
                },
                Ok(Frame::Ping) => continue,
                Ok(_) => {
                    bad(&mut outbox, "评委只能评分".into());
                    continue;
                }
                Err(e) => {
                    bad(&mut outbox, format!("无法解析：{e}"));
                    continue;
                }
            },
        };
        if tx.send(cmd).await.is_err() {
            break;
        }
    }
    close(session, tx.is_closed()).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every frame the document shows for the stage socket is one the seats' parsers take.
    #[test]
    fn every_stage_example_in_the_protocol_document_parses() {
        const DOC: &str = include_str!("../../docs/protocol.md");
        let stage = DOC
            .split("\n## Stage final socket")
            .nth(1)
            .expect("the document has the stage socket's section");
        let mut seen = 0;
        for part in stage.split('`') {
            if !part.starts_with("{\"type\"") {
                continue;
            }
            // Templates with placeholders (R, N, T, …) name shapes, not frames.
            let Ok(v) = serde_json::from_str::<serde_json::Value>(part) else {
                continue;
            };
            let ok = serde_json::from_value::<Hello>(v.clone()).is_ok()
                || serde_json::from_value::<HostCmd>(v.clone()).is_ok()
                || serde_json::from_value::<AudienceFrame>(v.clone()).is_ok()
                || serde_json::from_value::<Frame>(v.clone()).is_ok();
            assert!(ok, "{part} is no frame a seat takes");
            seen += 1;
        }
        assert!(seen >= 6, "stage examples found: {seen}");
    }
}
