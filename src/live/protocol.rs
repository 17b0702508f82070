//! The live-room protocol: JSON text frames, serde-tagged by `type`. `docs/protocol.md`
//! documents every message with an example; a test checks the examples parse.
//!
//! One rule for every server frame: each documented field is always sent. An empty list is
//! `[]` and an absent value is `null`, never a missing key, so a client can read any field
//! without first asking whether it is there (the document's field list is checked against
//! real frames by an integration test). Hence no `skip_serializing_if` below: a field that is
//! not always meaningful is an `Option` and goes out as `null`.

use crate::domain::Response;
use serde::{Deserialize, Serialize};

/// Version a client must name in its `hello`.
pub const PROTOCOL_VERSION: u32 = 1;

/// Who a socket speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientRole {
    Player,
    Host,
    Screen,
}

/// Frames a client sends.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMsg {
    /// The first frame of every socket.
    Hello {
        protocol: u32,
        role: ClientRole,
        /// Players: the 6-digit PIN. Host and screen: omitted (`competition` instead).
        #[serde(default)]
        pin: Option<String>,
        #[serde(default)]
        competition: Option<String>,
        /// Guests: the nickname to show. Members play under their roster name.
        #[serde(default)]
        name: Option<String>,
        /// Rejoin token from an earlier `welcome`.
        #[serde(default)]
        token: Option<String>,
    },
    Answer {
        position: u32,
        answer: Response,
    },
    Ping {},
    // ---- host only ----
    Start {},
    Next {},
    Pause {},
    Resume {},
    Extend {
        seconds: u32,
    },
    Skip {},
    End {},
    Remove {
        participant: String,
    },
    Void {
        position: u32,
        reason: String,
    },
    Accept {
        position: u32,
        answer: Response,
        reason: String,
    },
    ConfirmAwards {},
}

/// Error codes in `error` frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadFrame,
    Version,
    NotFound,
    NotAllowed,
    WrongPhase,
    DuplicateAnswer,
    LateAnswer,
    BadAnswer,
    TooLarge,
    /// Too many wrong PINs from one address: wait and try again.
    TooMany,
    /// The competition admits only the finalists carried over from an exam, and this
    /// player is not one of them (or is a guest).
    NotEntrant,
    /// The PIN belongs to the audience of a stage final, not to a live competition: the
    /// message is the address of the audience's page, where the phone goes instead.
    Moved,
    /// The room is conducted by another instance (several instances on one Redis, without
    /// routing by room yet): connect again; the message names the instance.
    Elsewhere,
    Internal,
}

/// One team's place in the team standings (团体排名), for host, screen and the podium.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamLine {
    /// Section id, department id or the named team's id.
    pub id: String,
    pub name: String,
    /// `null` while nobody of the team has played (and absent members do not count).
    pub rank: Option<u32>,
    /// The score as people read it (a mean has up to two decimals); `—` without one.
    pub score: String,
    /// The score in thousandths of a point, for sorting and bars; `null` without one.
    pub score_milli: Option<i64>,
    /// Members of the team who are playing.
    pub took_part: u32,
    /// Members on the team.
    pub size: u32,
}

impl From<&crate::domain::teams::TeamStanding> for TeamLine {
    fn from(s: &crate::domain::teams::TeamStanding) -> TeamLine {
        TeamLine {
            id: s.id.clone(),
            name: s.name.clone(),
            rank: s.rank,
            score: s.score_display(),
            score_milli: s.score_milli,
            took_part: s.took_part,
            size: s.size,
        }
    }
}

/// One line of a leaderboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub rank: u64,
    pub participant: String,
    pub name: String,
    pub points: i64,
    pub total_ms: i64,
    /// Rank at the previous leaderboard minus rank now (positive: moved up); 0 for new entries.
    pub change: i64,
}

/// The phase of a room, as clients see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseName {
    Lobby,
    Question,
    Reveal,
    Leaderboard,
    Podium,
}

/// A question as players see it: never the answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QuestionView {
    pub position: u32,
    pub total: u32,
    pub kind: crate::domain::Kind,
    pub topic: crate::domain::Topic,
    pub stem: String,
    /// Empty (`[]`) for kinds without options (true/false, fill, numeric, date).
    #[serde(default)]
    pub options: Vec<String>,
    /// `null` where the question has no unit.
    #[serde(default)]
    pub unit: Option<String>,
    pub time_limit_ms: u64,
    pub remaining_ms: u64,
    pub paused: bool,
    /// The case group's scenario and this question's place in it; `null` for an ordinary
    /// question.
    #[serde(default)]
    pub case: Option<crate::domain::question::CaseView>,
}

/// Frames the server sends.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    Welcome {
        protocol: u32,
        role: ClientRole,
        competition: String,
        title: String,
        total_questions: u32,
        phase: PhaseName,
        /// Players: who you are in this room; `null` for host and screen.
        #[serde(default)]
        you: Option<You>,
    },
    /// Lobby state: to a joining player once, to host and screen on every change. Names,
    /// PIN and join address are for host and screen; a player gets `[]`, `null`, `null`.
    Lobby {
        players: u32,
        #[serde(default)]
        names: Vec<String>,
        #[serde(default)]
        pin: Option<String>,
        #[serde(default)]
        join_url: Option<String>,
    },
    Question {
        #[serde(flatten)]
        question: QuestionView,
        /// A player joining mid-question: whether their answer to this question is already
        /// in. `null` in the frame broadcast when the question starts, and for host and screen.
        #[serde(default)]
        answered: Option<bool>,
        /// A player joining mid-question: the answer they sent (as they sent it); `null` when
        /// they have not answered, in the broadcast frame, and for host and screen.
        #[serde(default)]
        your_answer: Option<Response>,
    },
    /// Live count of answers: host and screen only, at most four a second.
    AnswerCount {
        position: u32,
        answered: u32,
        players: u32,
    },
    /// The answer is recorded (durably). Correctness comes at the reveal.
    Ack {
        position: u32,
    },
    Paused {
        remaining_ms: u64,
    },
    Resumed {
        remaining_ms: u64,
    },
    /// The host extended the time.
    Time {
        remaining_ms: u64,
    },
    Reveal {
        position: u32,
        /// The question again, so a screen that (re)joins at the reveal can show it.
        kind: crate::domain::Kind,
        stem: String,
        /// `[]` for kinds without options.
        #[serde(default)]
        options: Vec<String>,
        /// `A`, `ACD`, `正确`, the accepted text, a number or a date.
        answer: String,
        /// Choice: per option, the players who chose it (a multiple-choice answer `ACD`
        /// counts once under each of A, C and D); true/false: [正确, 错误]; other kinds:
        /// [right, wrong]. Players who did not answer are in no bar.
        distribution: Vec<u32>,
        explanation: String,
        source: String,
        voided: bool,
        /// Answers the host accepted as right besides the key; `[]` when none.
        #[serde(default)]
        also_accepted: Vec<String>,
    },
    /// A player's own outcome, sent to that player only, at the reveal.
    Result {
        position: u32,
        answered: bool,
        correct: bool,
        points: i64,
        total: i64,
        rank: u64,
        players: u32,
        streak: u32,
        /// The player's answer to this question, as they sent it; null when none.
        your_answer: Option<Response>,
    },
    Leaderboard {
        top: Vec<Line>,
        players: u32,
        /// Team standings; `[]` when the competition has no team rule.
        teams: Vec<TeamLine>,
    },
    /// After a ruling: the player's new total and rank.
    Standing {
        total: i64,
        rank: u64,
        players: u32,
    },
    Ruling {
        position: u32,
        ruling: String,
        reason: String,
    },
    Podium {
        top: Vec<Line>,
        proposed: Vec<Line>,
        awards_confirmed: bool,
        /// Team standings; `[]` when the competition has no team rule.
        teams: Vec<TeamLine>,
    },
    /// The host console's view of the players (host only).
    Players {
        players: Vec<PlayerInfo>,
    },
    Removed,
    /// The answer to a client's `ping`, so a page can tell a live room from a dead socket.
    Pong,
    Error {
        code: ErrorCode,
        message: String,
    },
}

/// A field that may be null, read so that `null` (present) and absent stay apart.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct You {
    pub participant: String,
    pub name: String,
    /// Keep it to rejoin after a refresh, a network blip or a server restart.
    pub token: String,
    pub points: i64,
    pub streak: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlayerInfo {
    pub participant: String,
    pub name: String,
    pub points: i64,
    pub connected: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeSet, HashMap};

    const DOC: &str = include_str!("../../docs/protocol.md");

    /// JSON objects written in the protocol document: inline `{…}` examples and the objects in
    /// ```json blocks (which may span lines).
    /// The live room's part of the document (the stage final's socket, documented after it,
    /// has frames of its own: `stage::session` checks those).
    fn live_doc() -> &'static str {
        DOC.split("\n## Stage final socket").next().unwrap_or(DOC)
    }

    fn examples() -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        for part in live_doc().split('`') {
            if part.starts_with("{\"type\"")
                && let Ok(v) = serde_json::from_str(part)
            {
                out.push(v);
            }
        }
        let mut in_block = false;
        let mut current = String::new();
        for line in live_doc().lines() {
            if line.starts_with("```json") {
                in_block = true;
                continue;
            }
            if line.starts_with("```") {
                in_block = false;
                continue;
            }
            if in_block {
                current.push_str(line);
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&current) {
                    out.push(v);
                    current.clear();
                } else if line.trim_end().ends_with('}')
                    && current.matches('{').count() == current.matches('}').count()
                {
                    // An abbreviated example ("…" in place of a list): not checked.
                    current.clear();
                }
            }
        }
        out
    }

    #[test]
    fn every_example_in_the_protocol_document_parses() {
        let client_types = [
            "hello",
            "answer",
            "ping",
            "start",
            "next",
            "pause",
            "resume",
            "extend",
            "skip",
            "end",
            "remove",
            "void",
            "accept",
            "confirm_awards",
        ];
        let examples = examples();
        let mut clients = 0;
        let mut servers = 0;
        for v in examples {
            let ty = v["type"].as_str().unwrap_or_default().to_string();
            if ["choice", "truefalse", "text", "number", "date"].contains(&ty.as_str()) {
                serde_json::from_value::<Response>(v.clone())
                    .unwrap_or_else(|e| panic!("{v}: {e}"));
                continue;
            }
            if client_types.contains(&ty.as_str()) {
                serde_json::from_value::<ClientMsg>(v.clone())
                    .unwrap_or_else(|e| panic!("{v}: {e}"));
                clients += 1;
            } else {
                serde_json::from_value::<ServerMsg>(v.clone())
                    .unwrap_or_else(|e| panic!("{v}: {e}"));
                servers += 1;
            }
        }
        assert!(clients >= 14, "client examples found: {clients}");
        assert!(servers >= 5, "server examples found: {servers}");
    }

    /// The `fields` column of the document's server message table (several types in a row
    /// share it): the names in backticks.
    fn documented_fields() -> HashMap<String, BTreeSet<String>> {
        let ticked = |cell: &str| -> Vec<String> {
            cell.split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_string)
                .collect()
        };
        let start = DOC
            .find("## Server → client")
            .expect("the server → client section");
        let mut out = HashMap::new();
        for row in DOC[start..]
            .lines()
            .skip_while(|l| !l.starts_with('|'))
            .take_while(|l| l.starts_with('|'))
            .skip(2)
        {
            let cells: Vec<&str> = row.trim_matches('|').split('|').collect();
            let fields: BTreeSet<String> = ticked(cells[2]).into_iter().collect();
            for ty in ticked(cells[0]) {
                out.insert(ty, fields.clone());
            }
        }
        out
    }

    #[test]
    fn the_documents_examples_carry_exactly_the_documented_fields() {
        // Clients copy the examples: they must show every field, as the server sends them.
        let fields = documented_fields();
        let mut checked = 0;
        for v in examples() {
            let ty = v["type"].as_str().unwrap_or_default();
            // Client messages and answer shapes are not in the server table.
            let Some(documented) = fields.get(ty) else {
                continue;
            };
            let keys: BTreeSet<String> = v
                .as_object()
                .map(|o| o.keys().filter(|k| *k != "type").cloned().collect())
                .unwrap_or_default();
            assert_eq!(&keys, documented, "example {v}");
            checked += 1;
        }
        assert!(checked >= 10, "server examples checked: {checked}");
    }

    #[test]
    fn unknown_fields_and_types_are_refused() {
        assert!(serde_json::from_str::<ClientMsg>(r#"{"type":"start","x":1}"#).is_err());
        assert!(serde_json::from_str::<ClientMsg>(r#"{"type":"shout"}"#).is_err());
        let ok: ClientMsg = serde_json::from_str(
            r#"{"type":"answer","position":1,"answer":{"type":"number","value":60}}"#,
        )
        .unwrap();
        assert!(
            matches!(ok, ClientMsg::Answer { position: 1, answer: Response::Number(n) } if n == 60.0)
        );
    }
}
