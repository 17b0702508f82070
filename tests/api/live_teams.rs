//! Teams in live competitions, end to end: real games over real sockets with section teams
//! (mean) and named teams (sum), the `teams` of every leaderboard and podium held against a
//! computation of their own from the players' points; team awards written when the host
//! confirms, shown by the API and on /honors, revoked; the report's 团体成绩 sheet; and a
//! competition limited to its entrants.

use crate::helpers::*;
use crate::helpers::{right_answer as right, wrong_answer as wrong};
use crate::live::{create, picks};
use crate::ws::Ws;
use biwu::domain::Question;
use calamine::{Data, Reader};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

/// PUT with the session's CSRF token.
async fn put(app: &TestApp, s: &Session, path: &str, body: Value) -> reqwest::Response {
    s.client
        .put(app.url(path))
        .header("X-CSRF-Token", &s.csrf)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// A team as the test knows it: name, member ids, and how many members it has.
struct Team {
    name: String,
    members: Vec<String>,
}

/// One expected line of the team standings: (name, rank, score in thousandths, took part, size).
type Expected = (String, Option<u64>, Option<i64>, u64, u64);

/// The team standings computed here, independently of the server: mean (rounded to the
/// nearest thousandth, halves up) or sum over the members who play; ranked by score, ties
/// sharing a rank, names breaking ties in the order; teams with nobody playing last.
fn expected(sum: bool, teams: &[Team], points: &HashMap<String, i64>) -> Vec<Expected> {
    let mut out: Vec<Expected> = teams
        .iter()
        .map(|t| {
            let played: Vec<i64> = t
                .members
                .iter()
                .filter_map(|m| points.get(m))
                .copied()
                .collect();
            let n = played.len() as i64;
            let total: i64 = played.iter().sum();
            let score = match (n, sum) {
                (0, _) => None,
                (_, true) => Some(total * 1000),
                (_, false) => Some((total * 2000 + n) / (2 * n)),
            };
            (
                t.name.clone(),
                None,
                score,
                n as u64,
                t.members.len() as u64,
            )
        })
        .collect();
    out.sort_by(|a, b| match (a.2, b.2) {
        (Some(x), Some(y)) => y.cmp(&x).then_with(|| a.0.cmp(&b.0)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.0.cmp(&b.0),
    });
    let mut rank = 0;
    let mut previous = None;
    for (i, line) in out.iter_mut().enumerate() {
        if line.2.is_none() {
            break;
        }
        if previous != line.2 {
            rank = i as u64 + 1;
            previous = line.2;
        }
        line.1 = Some(rank);
    }
    out
}

/// A score in thousandths as the frames write it: at most two decimals, `—` without one.
fn display(milli: Option<i64>) -> String {
    match milli {
        None => "—".into(),
        Some(m) => {
            let s = format!("{:.2}", m as f64 / 1000.0);
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        }
    }
}

/// Checks a frame's `teams` against the points in its own `top` (every player is in it).
fn check_teams(
    frame: &Value,
    sum: bool,
    teams: &[Team],
    member_of: &HashMap<String, String>,
) -> Vec<Expected> {
    let points: HashMap<String, i64> = frame["top"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| {
            let member = member_of.get(l["participant"].as_str()?)?;
            Some((member.clone(), l["points"].as_i64()?))
        })
        .collect();
    let want = expected(sum, teams, &points);
    let got: Vec<Expected> = frame["teams"]
        .as_array()
        .unwrap_or_else(|| panic!("no teams in {frame}"))
        .iter()
        .map(|t| {
            assert_eq!(
                t["score"],
                display(t["score_milli"].as_i64()).as_str(),
                "{t}"
            );
            (
                t["name"].as_str().unwrap().to_string(),
                t["rank"].as_u64(),
                t["score_milli"].as_i64(),
                t["took_part"].as_u64().unwrap(),
                t["size"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, want, "teams of {frame}");
    want
}

/// How a player answers each question: right or wrong.
struct Player {
    ws: Ws,
    rights: Vec<bool>,
}

/// Plays every question: each player answers (right or wrong as planned), the reveal comes
/// when all have, the host shows the leaderboard, then the next question or the podium.
/// Returns every leaderboard the host received, and the podium.
async fn play(console: &mut Ws, players: &mut [Player], qs: &[Question]) -> (Vec<Value>, Value) {
    assert_eq!(console.command(json!({"type":"start"})).await, None);
    let mut boards = Vec::new();
    for (i, q) in qs.iter().enumerate() {
        for p in players.iter_mut() {
            p.ws.until("question").await;
            let answer = if p.rights[i] { right(q) } else { wrong(q) };
            assert_eq!(p.ws.answer(i as u64, answer).await["type"], "ack");
        }
        for p in players.iter_mut() {
            p.ws.until("result").await;
        }
        console.until("reveal").await;
        assert_eq!(console.command(json!({"type":"next"})).await, None);
        boards.push(console.until("leaderboard").await);
        assert_eq!(console.command(json!({"type":"next"})).await, None);
    }
    let podium = console.until("podium").await;
    (boards, podium)
}

/// Every frame the sockets received, against the protocol document's field lists.
async fn check_against_document(sockets: &mut [&mut Ws]) {
    let spec = crate::protocol::spec();
    let mut problems = Vec::new();
    for ws in sockets.iter_mut() {
        while ws.next_within(Duration::from_millis(300)).await.is_some() {}
        for frame in &ws.log {
            spec.check(frame, &mut problems);
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The active members of a section, by name.
async fn section_team(app: &TestApp, name: &str) -> Team {
    let section = section_id(app, name).await;
    let members: Vec<String> =
        sqlx::query_scalar("SELECT id FROM members WHERE section_id = $1 AND active = 1")
            .bind(section)
            .fetch_all(&app.db.pool)
            .await
            .unwrap();
    Team {
        name: name.into(),
        members,
    }
}

/// Joins a member by staff number; returns the socket and the participant id.
async fn join(app: &TestApp, pin: &str, staff_no: &str) -> (Ws, String) {
    let cookie = app.cookie(staff_no).await;
    let (ws, welcome) = Ws::hello_player(app, Some(&cookie), pin, None, None).await;
    assert_eq!(welcome["type"], "welcome", "{staff_no}: {welcome}");
    let participant = welcome["you"]["participant"].as_str().unwrap().to_string();
    (ws, participant)
}

on_both_databases!(
    section_teams_rank_by_mean_in_every_leaderboard_and_the_podium,
    section_teams_on_postgres_and_redis,
    section_teams_by_mean
);

/// Sections as teams, mean score: two members of 文秘处 and one of 研究处 play with a guest;
/// every leaderboard and the podium rank the four sections (two of them without players);
/// confirming the awards writes 优胜团队 for the first team.
async fn section_teams_by_mean(app: TestApp) {
    let qs = picks();
    let host = app.session(HOST).await;
    let (cid, pin) = create(
        &app,
        &host,
        &qs,
        json!({"teams": {"by":"section","score":"mean","winners":1}}),
    )
    .await;
    let host_cookie = app.cookie(HOST).await;
    let (mut console, _) = Ws::hello_staff(&app, &host_cookie, "host", &cid).await;
    let (mut screen, _) = Ws::hello_staff(&app, &host_cookie, "screen", &cid).await;
    let mut member_of = HashMap::new();
    let mut players = Vec::new();
    for (staff_no, rights) in [
        ("d102", vec![true, true, true]),
        ("d103", vec![false, true, false]),
        ("d202", vec![true, false, false]),
    ] {
        let (ws, participant) = join(&app, &pin, staff_no).await;
        member_of.insert(participant, member_id(&app, staff_no).await);
        players.push(Player { ws, rights });
    }
    let (guest, _) = Ws::hello_player(&app, None, &pin, Some("访客小王"), None).await;
    players.push(Player {
        ws: guest,
        rights: vec![true, true, true],
    });
    let mut teams = Vec::new();
    for name in ["文秘处", "研究处", "督查一处", "督查二处"] {
        teams.push(section_team(&app, name).await);
    }

    let (boards, podium) = play(&mut console, &mut players, &qs).await;
    assert_eq!(boards.len(), 3);
    for board in &boards {
        let standing = check_teams(board, false, &teams, &member_of);
        assert_eq!(standing.len(), 4, "every section with members is a team");
        assert_eq!(
            standing.iter().filter(|t| t.1.is_none()).count(),
            2,
            "the two sections nobody played for are unranked: {board}"
        );
    }
    let last = check_teams(&podium, false, &teams, &member_of);
    // The screen's frames carry the same standings.
    let screen_podium = screen.until("podium").await;
    assert_eq!(screen_podium["teams"], podium["teams"]);
    // 文秘处: two of six played; the mean is over those two.
    let wenmi = last.iter().find(|t| t.0 == "文秘处").unwrap();
    assert_eq!((wenmi.3, wenmi.4), (2, 6));

    assert_eq!(
        console.command(json!({"type":"confirm_awards"})).await,
        None
    );
    console.until("podium").await;
    let awards = host
        .get_json(&app, &format!("/api/team-awards?competition={cid}"))
        .await;
    let winners: Vec<&str> = last
        .iter()
        .filter(|t| t.1 == Some(1))
        .map(|t| t.0.as_str())
        .collect();
    let awarded: Vec<&str> = awards
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["team_name"].as_str().unwrap())
        .collect();
    assert_eq!(awarded, winners, "{awards}");
    assert_eq!(awards[0]["title"], "优胜团队");
    assert_eq!(awards[0]["team_kind"], "section");
    assert_eq!(awards[0]["event_title"], "党章党规知识竞赛");
    let mut sockets: Vec<&mut Ws> = players.iter_mut().map(|p| &mut p.ws).collect();
    sockets.push(&mut console);
    sockets.push(&mut screen);
    check_against_document(&mut sockets).await;
}

on_both_databases!(
    named_teams_rank_by_sum_and_their_awards_can_be_revoked,
    named_teams_on_postgres_and_redis,
    named_teams_by_sum
);

/// Named teams, sum: the host sets them up in the lobby (refused for unknown staff numbers,
/// a member on two teams, someone else's competition, and after the start); the podium ranks
/// them by the sum of their members' points; the awards go to /api/team-awards and /honors;
/// an admin revokes one; the report has a 团体成绩 sheet.
async fn named_teams_by_sum(app: TestApp) {
    let qs = picks();
    let host = app.session(HOST).await;
    let (cid, pin) = create(
        &app,
        &host,
        &qs,
        json!({"teams": {"by":"named","score":"sum","winners":1}, "guests_allowed": false}),
    )
    .await;
    let path = format!("/api/competitions/{cid}/teams");

    // Refusals, each naming what is wrong.
    let res = put(
        &app,
        &host,
        &path,
        json!({"teams":[{"name":"红队","members":["d102","x999"]}]}),
    )
    .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("x999"));
    let res = put(
        &app,
        &host,
        &path,
        json!({"teams":[{"name":"红队","members":["d102"]},{"name":"蓝队","members":["d102"]}]}),
    )
    .await;
    assert_eq!(res.status(), 422);
    let text = res.text().await.unwrap();
    assert!(text.contains("d102") && text.contains("蓝队"), "{text}");
    let member = app.session(MEMBER).await;
    let res = put(&app, &member, &path, json!({"teams":[]})).await;
    assert_eq!(res.status(), 403);

    let res = put(
        &app,
        &host,
        &path,
        json!({"teams":[
            {"name":"红队","members":["d102","d202"]},
            {"name":"蓝队","members":["d103","d104"]},
            {"name":"白队","members":["d301"]},
        ]}),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let named = host.get_json(&app, &path).await;
    assert_eq!(named.as_array().unwrap().len(), 3, "{named}");
    assert_eq!(named[0]["name"], "红队");
    assert_eq!(
        named[0]["members"][0],
        member_id(&app, "d102").await.as_str()
    );

    let mut teams = Vec::new();
    for (name, staff) in [
        ("红队", ["d102", "d202"].as_slice()),
        ("蓝队", &["d103", "d104"]),
        ("白队", &["d301"]),
    ] {
        let mut members = Vec::new();
        for s in staff {
            members.push(member_id(&app, s).await);
        }
        teams.push(Team {
            name: name.into(),
            members,
        });
    }

    let host_cookie = app.cookie(HOST).await;
    let (mut console, _) = Ws::hello_staff(&app, &host_cookie, "host", &cid).await;
    let mut member_of = HashMap::new();
    let mut players = Vec::new();
    // d104 of 蓝队 and 白队's only member stay away; d106 plays on no team.
    for (staff_no, rights) in [
        ("d102", vec![true, false, true]),
        ("d202", vec![false, false, true]),
        ("d103", vec![true, true, true]),
        ("d106", vec![true, true, true]),
    ] {
        let (ws, participant) = join(&app, &pin, staff_no).await;
        member_of.insert(participant, member_id(&app, staff_no).await);
        players.push(Player { ws, rights });
    }
    let (boards, podium) = play(&mut console, &mut players, &qs).await;
    for board in &boards {
        check_teams(board, true, &teams, &member_of);
    }
    let last = check_teams(&podium, true, &teams, &member_of);
    assert_eq!(last[2], ("白队".to_string(), None, None, 0, 1));

    // Locked once the game started.
    let res = put(&app, &host, &path, json!({"teams":[]})).await;
    assert_eq!(res.status(), 409);

    assert_eq!(
        console.command(json!({"type":"confirm_awards"})).await,
        None
    );
    console.until("podium").await;
    let awards = app
        .client
        .get(app.url(&format!("/api/team-awards?competition={cid}")))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let list = awards.as_array().unwrap();
    let winners: Vec<&Expected> = last.iter().filter(|t| t.1 == Some(1)).collect();
    assert_eq!(list.len(), winners.len(), "{awards}");
    let first = &list[0];
    assert_eq!(first["team_kind"], "named");
    assert_eq!(first["rank"], 1);
    assert_eq!(first["score_milli"].as_i64(), winners[0].2);
    let honors = app.get_text("/honors").await;
    assert!(
        honors.contains(first["team_name"].as_str().unwrap()),
        "{honors}"
    );
    assert!(honors.contains("优胜团队"));

    // The report's 团体成绩 sheet, read back.
    let res = host
        .get(&app, &format!("/api/competitions/{cid}/report.xlsx"))
        .await;
    assert_eq!(res.status(), 200);
    let bytes = res.bytes().await.unwrap().to_vec();
    let mut book: calamine::Xlsx<_> =
        calamine::Xlsx::new(std::io::Cursor::new(bytes)).expect("an xlsx workbook");
    let sheet = book.worksheet_range("团体成绩").expect("a 团体成绩 sheet");
    let rows: Vec<Vec<Data>> = sheet.rows().map(|r| r.to_vec()).collect();
    assert_eq!(
        rows[0],
        ["名次", "团队", "成绩", "参赛人数", "团队人数"]
            .map(|h| Data::String(h.into()))
            .to_vec()
    );
    assert_eq!(rows.len(), 4, "{rows:?}");
    for (row, want) in rows[1..].iter().zip(&last) {
        let rank = match want.1 {
            Some(r) => Data::Float(r as f64),
            None => Data::Empty,
        };
        let score = match want.2 {
            Some(m) => Data::Float(m as f64 / 1000.0),
            None => Data::Empty,
        };
        assert_eq!(
            row,
            &vec![
                rank,
                Data::String(want.0.clone()),
                score,
                Data::Float(want.3 as f64),
                Data::Float(want.4 as f64),
            ]
        );
    }

    // An admin revokes the award, once; a host may not.
    let id = first["id"].as_str().unwrap();
    let revoke = format!("/api/team-awards/{id}/revoke");
    assert_eq!(
        host.post_status(&app, &revoke, json!({"reason":"计分有误"}))
            .await,
        403
    );
    let admin = app.session(ADMIN).await;
    assert_eq!(
        admin
            .post_status(&app, &revoke, json!({"reason":" "}))
            .await,
        422
    );
    assert_eq!(
        admin
            .post_status(&app, &revoke, json!({"reason":"计分有误"}))
            .await,
        200
    );
    assert_eq!(
        admin
            .post_status(&app, &revoke, json!({"reason":"计分有误"}))
            .await,
        409
    );
    let after = admin
        .get_json(&app, &format!("/api/team-awards?competition={cid}"))
        .await;
    assert_eq!(
        after.as_array().unwrap().len(),
        winners.len() - 1,
        "{after}"
    );
    let mut sockets: Vec<&mut Ws> = players.iter_mut().map(|p| &mut p.ws).collect();
    sockets.push(&mut console);
    check_against_document(&mut sockets).await;
}

/// Without a team rule the frames say `teams: []`, and named teams cannot be set.
#[tokio::test]
async fn without_a_team_rule_teams_are_empty_and_cannot_be_named() {
    let app = spawn_app().await;
    let qs = picks();
    let host = app.session(HOST).await;
    let (cid, pin) = create(&app, &host, &qs[..1], json!({})).await;
    let res = put(
        &app,
        &host,
        &format!("/api/competitions/{cid}/teams"),
        json!({"teams":[{"name":"红队","members":["d102"]}]}),
    )
    .await;
    assert_eq!(res.status(), 422);
    let (mut console, _) = Ws::hello_staff(&app, &app.cookie(HOST).await, "host", &cid).await;
    let (ws, _) = join(&app, &pin, MEMBER).await;
    let mut players = [Player {
        ws,
        rights: vec![true],
    }];
    let (boards, podium) = play(&mut console, &mut players, &qs[..1]).await;
    assert_eq!(boards[0]["teams"], json!([]));
    assert_eq!(podium["teams"], json!([]));
}

on_both_databases!(
    only_entrants_play_once_the_finalists_are_carried_over,
    entrants_on_postgres_and_redis,
    entrants_only
);

/// A competition limited to entrants (finalists of an exam): a listed member plays; a member
/// not listed and a guest are refused with `not_entrant`; the list cannot change once the
/// game started.
async fn entrants_only(app: TestApp) {
    use biwu::records::competitions::set_entrants;
    let qs = picks();
    let host = app.session(HOST).await;
    let (cid, pin) = create(&app, &host, &qs[..1], json!({"guests_allowed": true})).await;
    let finalist = member_id(&app, MEMBER).await;
    assert!(
        set_entrants(&app.db, &cid, std::slice::from_ref(&finalist))
            .await
            .unwrap()
    );
    assert!(
        !set_entrants(&app.db, "no-such-competition", &[])
            .await
            .unwrap()
    );
    let detail = host
        .get_json(&app, &format!("/api/competitions/{cid}"))
        .await;
    assert_eq!(detail["settings"]["guests_allowed"], false, "{detail}");
    assert_eq!(detail["settings"]["entrants"], json!([finalist]));

    let (mut console, _) = Ws::hello_staff(&app, &app.cookie(HOST).await, "host", &cid).await;
    let (ws, _) = join(&app, &pin, MEMBER).await;
    let cookie = app.cookie("d103").await;
    let (mut other, refused) = Ws::hello_player(&app, Some(&cookie), &pin, None, None).await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["code"], "not_entrant");
    assert_eq!(refused["message"], "本场比武仅限晋级选手参加");
    assert!(other.next_within(Duration::from_secs(2)).await.is_none() && other.closed);
    let (_, guest) = Ws::hello_player(&app, None, &pin, Some("访客小王"), None).await;
    assert_eq!(guest["code"], "not_entrant", "{guest}");

    let mut players = [Player {
        ws,
        rights: vec![true],
    }];
    let (_, podium) = play(&mut console, &mut players, &qs[..1]).await;
    assert_eq!(podium["top"].as_array().unwrap().len(), 1, "{podium}");
    assert!(
        !set_entrants(&app.db, &cid, &[]).await.unwrap(),
        "locked after the start"
    );
}

/// Players who joined the lobby before the entrant list was set, and are not on it, leave the
/// game at the start (told why, in the records and the audit); the entrant plays on alone.
#[tokio::test]
async fn players_in_the_lobby_before_the_entrant_list_leave_at_the_start() {
    use biwu::records::competitions::set_entrants;
    let app = spawn_app().await;
    let qs = picks();
    let host = app.session(HOST).await;
    let (cid, pin) = create(&app, &host, &qs[..1], json!({"guests_allowed": true})).await;
    let (mut console, _) = Ws::hello_staff(&app, &app.cookie(HOST).await, "host", &cid).await;
    let (ws, _) = join(&app, &pin, MEMBER).await;
    let (mut early, _) = join(&app, &pin, "d103").await;
    let (mut guest, welcome) = Ws::hello_player(&app, None, &pin, Some("访客小赵"), None).await;
    assert_eq!(welcome["type"], "welcome");
    // The finalists arrive after they joined.
    let finalist = member_id(&app, MEMBER).await;
    assert!(
        set_entrants(&app.db, &cid, std::slice::from_ref(&finalist))
            .await
            .unwrap()
    );

    let mut players = [Player {
        ws,
        rights: vec![true],
    }];
    let (_, podium) = play(&mut console, &mut players, &qs[..1]).await;
    for (socket, who) in [(&mut early, "d103"), (&mut guest, "the guest")] {
        let told = socket.until("error").await;
        assert_eq!(told["code"], "not_entrant", "{who}: {told}");
        assert!(socket.next_within(Duration::from_secs(2)).await.is_none() && socket.closed);
    }
    let names: Vec<&str> = podium["top"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["李晓雯"], "only the entrant is ranked");
    let removed: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'competition.remove_non_entrant' AND subject = $1",
    )
    .bind(&cid)
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(removed, 2);
}
