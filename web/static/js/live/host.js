// Host list (/host): create a competition, list the existing ones with links to the console
// and the projector page.
import { $, api, clear, el, STATUS } from "./common.js";

const form = $("create-form");

function fail(box, err) {
  box.textContent = err.message || String(err);
  box.hidden = false;
}

function splitList(s) {
  return String(s || "")
    .split(/[,，、;；\s]+/)
    .map((x) => x.trim())
    .filter(Boolean);
}

function intValue(id) {
  const v = Number($(id).value);
  return Number.isFinite(v) ? Math.round(v) : NaN;
}

function body() {
  const title = $("f-title").value.trim();
  if (!title) throw new Error("请填写比赛名称");
  const topics = [...form.querySelectorAll('input[name="topics"]:checked')].map((c) => c.value);
  const questionIds = splitList($("f-ids").value);
  if (topics.length === 0 && questionIds.length === 0) throw new Error("请至少选择一个题目范围");
  const count = intValue("f-count");
  if (!(count >= 1)) throw new Error("题目数量至少为 1");
  const time = intValue("f-time");
  if (!(time >= 5 && time <= 120)) throw new Error("每题限时应在 5 到 120 秒之间");
  const points = intValue("f-points");
  if (!(points >= 1)) throw new Error("基础分应为正整数");
  const b = {
    title,
    topics,
    count: questionIds.length ? questionIds.length : count,
    time_limit_s: time,
    base_points: points,
    speed_bonus: $("f-speed").checked,
    streak_bonus: $("f-streak").checked,
    guests_allowed: $("f-guests").checked,
  };
  const difficulty = [...form.querySelectorAll('input[name="difficulty"]:checked')].map((c) => Number(c.value));
  if (difficulty.length) b.difficulty = difficulty;
  const tags = splitList($("f-tags").value);
  if (tags.length) b.tags = tags;
  if (questionIds.length) b.question_ids = questionIds;
  const rule = form.querySelector('input[name="rule"]:checked').value;
  if (rule === "top_n") {
    const n = intValue("f-topn");
    if (!(n >= 1)) throw new Error("评选名次至少为 1");
    b.award_rule = { top_n: n };
  } else {
    const n = intValue("f-minpts");
    if (!(n >= 1)) throw new Error("请填写评选分数线");
    b.award_rule = { min_points: n };
  }
  return b;
}

function links(id) {
  const frag = document.createDocumentFragment();
  const safe = encodeURIComponent(id);
  frag.appendChild(el("a", { href: `/host/${safe}` }, "主持台"));
  frag.appendChild(el("a", { href: `/screen/${safe}`, target: "_blank", rel: "noopener" }, "投影屏"));
  return frag;
}

function questionCount(q) {
  return Array.isArray(q) ? q.length : q ?? "";
}

function fmtTime(v) {
  if (v === undefined || v === null || v === "") return "";
  let d;
  if (typeof v === "number") d = new Date(v < 1e12 ? v * 1000 : v);
  else d = new Date(v);
  if (Number.isNaN(d.getTime())) return String(v);
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const errBox = $("create-error");
  errBox.hidden = true;
  let b;
  try {
    b = body();
  } catch (err) {
    fail(errBox, err);
    return;
  }
  const btn = $("create");
  btn.disabled = true;
  try {
    const r = await api("/api/competitions", b);
    const box = clear($("created"));
    box.appendChild(document.createTextNode(`已创建“${r.title}”，PIN 码 ${r.pin}，共 ${questionCount(r.questions)} 题。 `));
    box.appendChild(links(r.id));
    for (const a of box.querySelectorAll("a")) a.style.marginLeft = ".8rem";
    box.hidden = false;
    load();
  } catch (err) {
    fail(errBox, err);
  } finally {
    btn.disabled = false;
  }
});

async function load() {
  const tbody = $("competitions");
  const errBox = $("list-error");
  try {
    const list = await api("/api/competitions");
    errBox.hidden = true;
    clear(tbody);
    if (!Array.isArray(list) || list.length === 0) {
      const tr = el("tr");
      tr.appendChild(el("td", { colspan: "7", class: "muted" }, "暂无比赛，请在上方新建。"));
      tbody.appendChild(tr);
      return;
    }
    for (const c of list) {
      const tr = el("tr");
      tr.appendChild(el("td", { "data-label": "比赛名称" }, c.title));
      tr.appendChild(el("td", { class: "pin", "data-label": "PIN 码" }, c.pin));
      const st = el("td", { "data-label": "状态" });
      st.appendChild(el("span", { class: `pill ${c.status}` }, STATUS[c.status] || c.status));
      tr.appendChild(st);
      tr.appendChild(el("td", { "data-label": "人数" }, c.players ?? 0));
      tr.appendChild(el("td", { "data-label": "题数" }, questionCount(c.questions)));
      tr.appendChild(el("td", { "data-label": "创建时间" }, fmtTime(c.created_at)));
      const td = el("td", { class: "links" });
      td.appendChild(links(c.id));
      tr.appendChild(td);
      tbody.appendChild(tr);
    }
  } catch (err) {
    fail(errBox, err);
  }
}

$("reload").addEventListener("click", load);
load();
