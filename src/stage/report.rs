//! The final's report workbook (xlsx), read from its records alone: the scoreboard, every score
//! change with its reason, every buzz in receive order, and every judge's marks (corrections
//! included, each naming what it replaced).

use crate::domain::stage::{self, Change, Why};
use crate::live::report::csv_safe;
use crate::records::{Db, stages as rec};
use rust_xlsxwriter::{Format, Workbook, Worksheet};
use std::collections::HashMap;

/// Everything the workbook shows, gathered from the records.
pub struct Report {
    pub title: String,
    teams: Vec<rec::TeamRow>,
    rounds: Vec<rec::RoundRow>,
    judges: HashMap<String, String>,
    members: HashMap<String, String>,
    changes: Vec<rec::ChangeRow>,
    buzzes: Vec<rec::BuzzRow>,
    marks: Vec<rec::MarkRow>,
}

impl Report {
    pub async fn load(db: &Db, stage: &rec::Stage) -> anyhow::Result<Report> {
        let teams = rec::teams(db, &stage.id).await?;
        let rounds = rec::rounds(db, &stage.id).await?;
        let judges = rec::judges(db, &stage.id)
            .await?
            .into_iter()
            .map(|j| (j.0, j.2))
            .collect();
        let members = teams
            .iter()
            .flat_map(|t| t.members.iter().map(|m| (m.0.clone(), m.2.clone())))
            .collect();
        let mut marks = Vec::new();
        for r in &rounds {
            marks.extend(rec::marks(db, &stage.id, r.position).await?);
        }
        Ok(Report {
            title: stage.title.clone(),
            changes: rec::changes(db, &stage.id).await?,
            buzzes: rec::buzzes(db, &stage.id).await?,
            teams,
            rounds,
            judges,
            members,
            marks,
        })
    }

    /// The scoreboard from the records: base scores plus every change.
    pub fn standings(&self) -> Vec<stage::Standing> {
        let base: Vec<i64> = self.teams.iter().map(|t| t.base_score).collect();
        let changes: Vec<Change> = self
            .changes
            .iter()
            .filter_map(|c| c.change().ok())
            .collect();
        stage::standings(&base, &changes)
    }

    pub fn teams(&self) -> &[rec::TeamRow] {
        &self.teams
    }

    fn team(&self, i: i64) -> String {
        self.teams
            .get(i as usize)
            .map(|t| t.name.clone())
            .unwrap_or_else(|| format!("第 {} 队", i + 1))
    }

    fn round(&self, i: i64) -> String {
        self.rounds
            .iter()
            .find(|r| r.position == i)
            .map(|r| r.title.clone())
            .unwrap_or_default()
    }

    pub fn workbook(&self) -> anyhow::Result<Vec<u8>> {
        let mut wb = Workbook::new();
        let bold = Format::new().set_bold();
        let points = Format::new().set_num_format("0.000");
        let header = |ws: &mut Worksheet, cols: &[&str]| -> anyhow::Result<()> {
            for (i, c) in cols.iter().enumerate() {
                ws.write_string_with_format(0, i as u16, *c, &bold)?;
                ws.set_column_width(i as u16, 14)?;
            }
            Ok(())
        };
        let text = |ws: &mut Worksheet, r: u32, c: u16, s: &str| -> anyhow::Result<()> {
            ws.write_string(r, c, csv_safe(s))?;
            Ok(())
        };

        // The scoreboard, with what each round gave each team.
        let ws = wb.add_worksheet().set_name("比分")?;
        let round_titles: Vec<String> = self
            .rounds
            .iter()
            .map(|r| format!("第{}轮 {}", r.position + 1, r.title))
            .collect();
        let mut cols = vec!["名次", "代表队", "基础分"];
        cols.extend(round_titles.iter().map(String::as_str));
        cols.extend(["得分", "队员"]);
        header(ws, &cols)?;
        let n = self.rounds.len() as u16;
        for (i, s) in self.standings().iter().enumerate() {
            let r = i as u32 + 1;
            let t = &self.teams[s.team];
            ws.write_number(r, 0, s.rank)?;
            text(ws, r, 1, &t.name)?;
            ws.write_number(r, 2, t.base_score as f64)?;
            for (k, round) in self.rounds.iter().enumerate() {
                let milli: i64 = self
                    .changes
                    .iter()
                    .filter(|c| c.round == round.position && c.team == t.position)
                    .map(|c| c.delta_milli)
                    .sum();
                ws.write_number_with_format(r, 3 + k as u16, milli as f64 / 1000.0, &points)?;
            }
            ws.write_number_with_format(r, 3 + n, s.score_milli as f64 / 1000.0, &points)?;
            let names: Vec<&str> = t.members.iter().map(|m| m.2.as_str()).collect();
            text(ws, r, 4 + n, &names.join("、"))?;
        }

        let ws = wb.add_worksheet().set_name("计分过程")?;
        header(
            ws,
            &[
                "序号",
                "轮次",
                "题号",
                "代表队",
                "分数变化",
                "原因",
                "操作人",
                "时间",
            ],
        )?;
        for (i, c) in self.changes.iter().enumerate() {
            let r = i as u32 + 1;
            ws.write_number(r, 0, c.seq as f64 + 1.0)?;
            text(ws, r, 1, &self.round(c.round))?;
            ws.write_number(r, 2, c.position as f64 + 1.0)?;
            text(ws, r, 3, &self.team(c.team))?;
            ws.write_number_with_format(r, 4, c.delta_milli as f64 / 1000.0, &points)?;
            let why = match serde_json::from_str::<Why>(&c.why) {
                Ok(Why::Answer { ruling, given }) => {
                    format!("作答：{}{}", ruling_zh(ruling), on_device(given.as_deref()))
                }
                Ok(Why::FalseStart) => "抢跑".into(),
                Ok(Why::Stake {
                    stake,
                    ruling,
                    given,
                }) => format!(
                    "风险题 {stake} 分：{}{}",
                    ruling_zh(ruling),
                    on_device(given.as_deref())
                ),
                Ok(Why::Judged { .. }) => "评委评分".into(),
                Err(_) => c.why.clone(),
            };
            text(ws, r, 5, &why)?;
            let actor = c
                .actor
                .as_ref()
                .map(|a| self.members.get(a).cloned().unwrap_or_else(|| a.clone()))
                .unwrap_or_default();
            text(ws, r, 6, &actor)?;
            text(ws, r, 7, &crate::domain::calendar::date_time_of(c.at))?;
        }

        let ws = wb.add_worksheet().set_name("抢答记录")?;
        header(
            ws,
            &[
                "轮次",
                "题号",
                "接收顺序",
                "代表队",
                "距开始（毫秒）",
                "抢跑",
            ],
        )?;
        for (i, b) in self.buzzes.iter().enumerate() {
            let r = i as u32 + 1;
            text(ws, r, 0, &self.round(b.round))?;
            ws.write_number(r, 1, b.position as f64 + 1.0)?;
            ws.write_number(r, 2, b.seq as f64)?;
            text(ws, r, 3, &self.team(b.team))?;
            ws.write_number_with_format(r, 4, b.at_us as f64 / 1000.0, &points)?;
            text(ws, r, 5, if b.at_us < 0 { "是" } else { "" })?;
        }

        let ws = wb.add_worksheet().set_name("评委评分")?;
        header(
            ws,
            &[
                "轮次",
                "代表队",
                "上场选手",
                "评委",
                "各项分数",
                "总分",
                "修改理由",
                "时间",
            ],
        )?;
        for (i, m) in self.marks.iter().enumerate() {
            let r = i as u32 + 1;
            text(ws, r, 0, &self.round(m.round))?;
            text(ws, r, 1, &self.team(m.team))?;
            text(ws, r, 2, &self.contestant(m.round, m.team))?;
            let judge = self.judges.get(&m.judge_id).cloned().unwrap_or_default();
            text(ws, r, 3, &judge)?;
            text(ws, r, 4, &m.marks)?;
            ws.write_number_with_format(r, 5, m.total_milli as f64 / 1000.0, &points)?;
            text(ws, r, 6, m.reason.as_deref().unwrap_or(""))?;
            text(ws, r, 7, &crate::domain::calendar::date_time_of(m.at))?;
        }
        Ok(wb.save_to_buffer()?)
    }
}

impl Report {
    /// Who spoke for `team` in judged round `round`, when the round named contestants.
    fn contestant(&self, round: i64, team: i64) -> String {
        self.rounds
            .iter()
            .find(|r| r.position == round)
            .and_then(|r| serde_json::from_str::<stage::RoundRules>(&r.rules).ok())
            .and_then(|rules| rules.contestants.get(team as usize).cloned())
            .and_then(|id| self.members.get(&id).cloned())
            .unwrap_or_default()
    }
}

/// "（设备作答：B）" for an answer given on the team's device.
fn on_device(given: Option<&str>) -> String {
    given.map_or(String::new(), |g| format!("（设备作答：{g}）"))
}

fn ruling_zh(r: stage::Ruling) -> &'static str {
    match r {
        stage::Ruling::Right => "答对",
        stage::Ruling::Wrong => "答错",
        stage::Ruling::Timeout => "超时",
    }
}
