//! Item statistics for administrators (`/admin/items`): for every question that has been
//! answered, how often, the share right (难度系数), the average time, the discrimination
//! (区分度), how often each wrong option was chosen, and flags — as JSON, a page and a workbook.

use crate::auth::Identity;
use crate::domain::items;
use crate::domain::{Response, Role};
use crate::error::Result;
use crate::http::pages::member_page;
use crate::records::{Db, questions};
use crate::startup::AppState;
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/items", web::get().to(items_page));
}

/// Routes under `/api`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/items", web::get().to(list))
        .route("/admin/items.xlsx", web::get().to(workbook));
}

/// Every answered question's statistics, flagged ones first, then by answers.
pub async fn statistics(db: &Db) -> anyhow::Result<Vec<Value>> {
    let sums = crate::records::items::sums(db).await?;
    let mut wrong: HashMap<String, BTreeMap<char, i64>> = HashMap::new();
    for (q, response, n) in crate::records::items::wrong_choices(db).await? {
        if let Ok(Response::Choice(letters)) = serde_json::from_str::<Response>(&response) {
            let e = wrong.entry(q).or_default();
            for l in letters.chars() {
                *e.entry(l).or_default() += n;
            }
        }
    }
    let ids: Vec<&str> = sums.keys().map(String::as_str).collect();
    let current = questions::current_of(db, &ids).await?;
    let mut rows: Vec<(bool, i64, Value)> = Vec::new();
    for (id, s) in &sums {
        let Some(q) = current.get(id) else { continue };
        let f = items::figures(*s);
        let key: Vec<char> = q.answer.display().chars().collect();
        let wrong_total: i64 = s.n - s.right;
        let options: Vec<Value> = q
            .options
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let letter = (b'A' + i as u8) as char;
                let chosen = wrong
                    .get(id)
                    .and_then(|w| w.get(&letter))
                    .copied()
                    .unwrap_or(0);
                json!({
                    "letter": letter.to_string(), "text": text, "key": key.contains(&letter),
                    "chosen_when_wrong": chosen,
                    "share_of_wrong": (wrong_total > 0).then(|| chosen as f64 / wrong_total as f64),
                })
            })
            .collect();
        let agrees = f
            .share_right
            .filter(|_| s.n >= items::MIN_ANSWERS)
            .map(|p| items::label_agrees(q.difficulty, p));
        rows.push((
            !f.flags.is_empty(),
            s.n,
            json!({
                "id": id, "stem": q.stem, "topic": q.topic, "topic_name": q.topic.name_zh(),
                "kind": q.kind, "kind_name": q.kind.name_zh(), "difficulty": q.difficulty,
                "answers": f.answers, "share_right": f.share_right, "average_s": f.average_s,
                "discrimination": f.discrimination, "flags": f.flags,
                "label_agrees": agrees, "options": options,
            }),
        ));
    }
    rows.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
    Ok(rows.into_iter().map(|(_, _, v)| v).collect())
}

async fn list(state: web::Data<AppState>, id: Identity) -> Result<HttpResponse> {
    id.require(&[Role::Admin])?;
    Ok(HttpResponse::Ok().json(json!({
        "min_answers": items::MIN_ANSWERS,
        "items": statistics(&state.db).await?,
    })))
}

async fn workbook(state: web::Data<AppState>, id: Identity) -> Result<HttpResponse> {
    use rust_xlsxwriter::{Format, Workbook};
    id.require(&[Role::Admin])?;
    let rows = statistics(&state.db).await?;
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("题目统计").map_err(anyhow::Error::from)?;
    let bold = Format::new().set_bold();
    let pct = Format::new().set_num_format("0.0%");
    let num = Format::new().set_num_format("0.00");
    let headers = [
        "题号",
        "专题",
        "题型",
        "难度标注",
        "作答次数",
        "答对率",
        "平均用时(秒)",
        "区分度",
        "标注相符",
        "提示",
        "题干",
    ];
    let add = |e: rust_xlsxwriter::XlsxError| anyhow::Error::from(e);
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)
            .map_err(add)?;
    }
    for (i, r) in rows.iter().enumerate() {
        let row = i as u32 + 1;
        ws.write_string(row, 0, r["id"].as_str().unwrap_or_default())
            .map_err(add)?;
        ws.write_string(row, 1, r["topic_name"].as_str().unwrap_or_default())
            .map_err(add)?;
        ws.write_string(row, 2, r["kind_name"].as_str().unwrap_or_default())
            .map_err(add)?;
        ws.write_number(row, 3, r["difficulty"].as_f64().unwrap_or(0.0))
            .map_err(add)?;
        ws.write_number(row, 4, r["answers"].as_f64().unwrap_or(0.0))
            .map_err(add)?;
        if let Some(p) = r["share_right"].as_f64() {
            ws.write_number_with_format(row, 5, p, &pct).map_err(add)?;
        }
        if let Some(t) = r["average_s"].as_f64() {
            ws.write_number_with_format(row, 6, t, &num).map_err(add)?;
        }
        if let Some(d) = r["discrimination"].as_f64() {
            ws.write_number_with_format(row, 7, d, &num).map_err(add)?;
        }
        let agrees = match r["label_agrees"].as_bool() {
            Some(true) => "相符",
            Some(false) => "不符",
            None => "",
        };
        ws.write_string(row, 8, agrees).map_err(add)?;
        let flags: Vec<&str> = r["flags"]
            .as_array()
            .map(|f| f.iter().filter_map(|x| x.as_str()).collect())
            .unwrap_or_default();
        ws.write_string(row, 9, flags.join("；")).map_err(add)?;
        ws.write_string(row, 10, r["stem"].as_str().unwrap_or_default())
            .map_err(add)?;
    }
    ws.set_freeze_panes(1, 0).map_err(add)?;
    for (c, w) in [10.0, 10.0, 8.0, 8.0, 9.0, 8.0, 11.0, 8.0, 8.0, 30.0, 60.0]
        .iter()
        .enumerate()
    {
        ws.set_column_width(c as u16, *w).map_err(add)?;
    }
    let bytes = wb.save_to_buffer().map_err(add)?;
    Ok(HttpResponse::Ok()
        .content_type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        .insert_header((
            "Content-Disposition",
            "attachment; filename=\"items.xlsx\"; filename*=UTF-8''%E9%A2%98%E7%9B%AE%E7%BB%9F%E8%AE%A1.xlsx",
        ))
        .body(bytes))
}

member_page!(
    ItemsPage,
    "admin_items.html",
    items_page,
    crate::domain::Role::Admin
);
