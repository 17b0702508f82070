// Host list (/host): create a competition, preview its draw and swap questions before the
// game starts (another random draw, or a question by id), list the existing ones with links to
// the console and the projector page.
import { $, api, clear, el, KINDS, STATUS, TOPICS } from "./common.js";

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
    box.hidden = false;
    load();
    openDraw(r.id);
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
      if (c.status === "lobby") {
        const b = el("button", { type: "button", class: "live-btn secondary small", dataset: { draw: c.id } }, "题目");
        b.setAttribute("aria-label", `查看并更换“${c.title}”的题目`);
        td.appendChild(b);
      }
      tr.appendChild(td);
      tbody.appendChild(tr);
    }
  } catch (err) {
    fail(errBox, err);
  }
}

$("reload").addEventListener("click", load);
$("competitions").addEventListener("click", (e) => {
  const b = e.target.closest("button[data-draw]");
  if (b) openDraw(b.dataset.draw);
});

// ---------- the draw: preview and swap before the start ----------
const draw = { id: null, locked: false };

function drawError(err) {
  const box = $("draw-error");
  box.textContent = err ? err.message || String(err) : "";
  box.hidden = !err;
}

/** Shows the drawn questions of a competition; swaps are offered while it is in the lobby. */
function renderDraw(list, locked) {
  draw.locked = locked;
  const ol = clear($("draw-list"));
  const pos = clear($("swap-pos"));
  for (const q of list) {
    const li = el("li", { dataset: { position: String(q.position), question: q.id } });
    const meta = el("div", { class: "draw-meta" });
    meta.appendChild(el("span", { class: "pill" }, KINDS[q.kind] || q.kind));
    if (q.topic) meta.appendChild(el("span", { class: "pill" }, TOPICS[q.topic] || q.topic));
    meta.appendChild(el("span", { class: "draw-id" }, q.id));
    li.appendChild(meta);
    li.appendChild(el("p", { class: "draw-stem" }, q.stem));
    if (!locked) {
      const b = el("button", { type: "button", class: "live-btn secondary small", dataset: { swap: String(q.position) } }, "换一题");
      b.setAttribute("aria-label", `第 ${q.position + 1} 题换一题`);
      li.appendChild(b);
    }
    ol.appendChild(li);
    pos.appendChild(el("option", { value: String(q.position) }, String(q.position + 1)));
  }
  $("draw-swap").hidden = locked;
  $("draw-info").textContent = locked
    ? "比赛已经开始，题目已锁定。"
    : "开始比赛前可以预览，并把任意一题换成另一道随机题目或指定编号的题目；比赛开始后题目锁定。";
}

async function openDraw(id) {
  draw.id = id;
  drawError(null);
  try {
    const c = await api(`/api/competitions/${encodeURIComponent(id)}`);
    $("draw-title").textContent = `抽到的题目：${c.title}`;
    renderDraw(c.question_list || [], c.status !== "lobby");
    $("draw").hidden = false;
  } catch (err) {
    drawError(err);
    $("draw").hidden = false;
  }
}

async function swap(position, questionId) {
  drawError(null);
  const body = questionId ? { question_id: questionId } : {};
  try {
    const r = await api(`/api/competitions/${encodeURIComponent(draw.id)}/questions/${position}`, body);
    renderDraw(r.question_list || [], false);
    const li = $("draw-list").querySelector(`li[data-position="${position}"] button`);
    if (li) li.focus();
    return true;
  } catch (err) {
    drawError(err);
    if (err.status === 409) openDraw(draw.id);
    return false;
  }
}

$("draw-list").addEventListener("click", (e) => {
  const b = e.target.closest("button[data-swap]");
  if (!b || draw.locked) return;
  b.disabled = true;
  swap(Number(b.dataset.swap)).finally(() => { b.disabled = false; });
});

$("draw-swap").addEventListener("submit", async (e) => {
  e.preventDefault();
  const id = $("swap-id").value.trim();
  if (!id) {
    drawError(new Error("请填写题目编号"));
    return;
  }
  if (await swap(Number($("swap-pos").value), id)) $("swap-id").value = "";
});
