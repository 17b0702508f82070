// 线上考试 (/exams): the exams a member may take, each with the way in (开始/继续/成绩);
// hosts and admins also publish exams here and see every exam with a link to follow it.
// User and server text only ever goes in with textContent.
import { $, KINDS, TOPICS, clear, el, show } from "/static/js/dom.js";
import {
  EXAM_STATUS, MY_STATUS, fmtSpan, fmtWindow, get, localInputToMs, msToLocalInput, post, statusOf,
} from "/static/js/exam_common.js";

const form = $("create-form");

function pageError(text) {
  const box = $("page-error");
  box.textContent = text || "";
  show(box, !!text);
}

const listOf = (data) => (Array.isArray(data) ? data : data.exams || []);
const durationMs = (e) => Number(e.duration_ms) || Number(e.duration_min) * 60000 || 0;

function statusPill(e) {
  const [label, cls] = EXAM_STATUS[statusOf(e)] || [e.status || "", "wait"];
  return el("span", { class: `ex-status ${cls}` }, label);
}

/** The button into an exam, by where the member stands. */
function entry(e) {
  const st = statusOf(e);
  const mine = e.my_status;
  const href = `/exam/${encodeURIComponent(e.id)}`;
  const name = e.title || "考试";
  let text = "查看";
  let cls = "ex-btn small";
  if (mine === "in_progress") text = "继续答题";
  else if (mine === "submitted" || mine === "no_attempts_left") {
    text = "查看成绩";
    cls = "ex-btn secondary small";
  } else if (st === "open" || st === "closing") text = "开始答题";
  else if (st === "scheduled") {
    text = "查看须知";
    cls = "ex-btn secondary small";
  }
  return el("a", { class: cls, href, "aria-label": `${text}：${name}` }, text);
}

function mineItem(e) {
  const li = el("li", { class: "ex-item", dataset: { exam: e.id } });
  const body = el("div", { class: "body" });
  body.appendChild(el("span", { class: "title" }, e.title || "考试"));
  body.appendChild(el("span", { class: "meta" }, fmtWindow(e.opens_at, e.closes_at)));
  const facts = [`限时 ${fmtSpan(durationMs(e))}`];
  if (Number(e.questions)) facts.push(`${e.questions} 题`);
  if (Number(e.max_score)) facts.push(`满分 ${e.max_score} 分`);
  body.appendChild(el("span", { class: "meta" }, facts.join(" · ")));
  const pills = el("span", { class: "pills" });
  pills.appendChild(statusPill(e));
  if (e.my_status) pills.appendChild(el("span", { class: "ex-status mine" }, MY_STATUS[e.my_status] || e.my_status));
  body.appendChild(pills);
  li.appendChild(body);
  li.appendChild(entry(e));
  return li;
}

function renderMine(list) {
  const now = Date.now();
  const current = list.filter((e) => {
    const st = statusOf(e, now);
    return st === "open" || st === "closing" || st === "scheduled" || e.my_status === "in_progress";
  });
  const ul = clear($("mine-list"));
  for (const e of current) ul.appendChild(mineItem(e));
  show($("mine-loading"), false);
  show($("mine-empty"), current.length === 0);
}

function renderAll(list) {
  if (!$("all-body")) return;
  const body = clear($("all-body"));
  for (const e of list) {
    const tr = el("tr", { dataset: { exam: e.id } });
    const title = el("td");
    title.appendChild(el("a", { href: `/host/exams/${encodeURIComponent(e.id)}` }, e.title || "考试"));
    tr.appendChild(title);
    tr.appendChild(el("td", {}, fmtWindow(e.opens_at, e.closes_at)));
    tr.appendChild(el("td", {}, fmtSpan(durationMs(e))));
    tr.appendChild(el("td", {}, e.questions ?? ""));
    const st = el("td");
    st.appendChild(statusPill(e));
    tr.appendChild(st);
    const go = el("td");
    go.appendChild(el("a", {
      class: "ex-btn secondary small", href: `/host/exams/${encodeURIComponent(e.id)}`,
      "aria-label": `进度与成绩：${e.title || "考试"}`,
    }, "进度与成绩"));
    tr.appendChild(go);
    body.appendChild(tr);
  }
  show($("all-table"), list.length > 0);
  show($("all-empty"), list.length === 0);
}

async function load() {
  try {
    const list = listOf(await get("/api/exams"));
    renderMine(list);
    renderAll(list);
  } catch (err) {
    show($("mine-loading"), false);
    pageError(err.status === 401 ? "登录已失效，请重新登录。" : err.message);
  }
}

// ---------- 发布考试 (hosts and admins) ----------
const intOf = (id) => Number.parseInt($(id).value, 10);

function mixTotal() {
  let n = 0;
  for (const i of $("f-mix").querySelectorAll("input")) n += Math.max(0, Number.parseInt(i.value, 10) || 0);
  $("f-mix-total").textContent = `合计 ${n} 题`;
  return n;
}

function createError(text) {
  const box = $("create-error");
  box.textContent = text || "";
  show(box, !!text);
}

/** The form as the API's body, or a message saying what to fix. */
function readForm() {
  const title = $("f-title").value.trim();
  if (!title) return { error: "请填写考试名称" };
  const opens = localInputToMs($("f-opens").value);
  const closes = localInputToMs($("f-closes").value);
  if (!Number.isFinite(opens) || !Number.isFinite(closes)) return { error: "请填写开始时间和截止时间" };
  if (closes <= opens) return { error: "截止时间应晚于开始时间" };
  const duration = intOf("f-duration");
  if (!(duration >= 1 && duration <= 600)) return { error: "答题时长应在 1–600 分钟之间" };
  const attempts = intOf("f-attempts");
  if (!(attempts >= 1 && attempts <= 10)) return { error: "作答次数应在 1–10 次之间" };
  const mix = [];
  for (const i of $("f-mix").querySelectorAll("input")) {
    const count = Number.parseInt(i.value, 10) || 0;
    if (count < 0) return { error: "题量不能为负" };
    if (count > 0) mix.push({ topic: i.dataset.topic, count });
  }
  if (mix.length === 0) return { error: "请至少为一个专题设置题量" };
  const kinds = [...$("f-kinds").querySelectorAll("input:checked")].map((c) => c.value);
  const points = {};
  for (const i of $("f-points").querySelectorAll("input")) {
    const p = Number.parseInt(i.value, 10);
    if (!(p >= 0 && p <= 100)) return { error: `${KINDS[i.dataset.kind]}分值应在 0–100 之间` };
    points[i.dataset.kind] = p;
  }
  const q = form.querySelector('input[name="qualify"]:checked')?.value;
  let qualify = null;
  if (q === "top_n") qualify = { top_n: intOf("f-qualify-n") };
  else if (q === "min_score") qualify = { min_score: intOf("f-qualify-min") };
  const a = form.querySelector('input[name="award"]:checked')?.value;
  let award = null;
  if (a === "top_n") award = { top_n: intOf("f-award-n") };
  else if (a === "min_points") award = { min_points: intOf("f-award-min") };
  for (const rule of [qualify, award]) {
    if (rule && !Object.values(rule).every((v) => Number.isFinite(v) && v >= 0)) return { error: "请填写晋级和表彰的名额或分数线" };
  }
  return {
    body: {
      title,
      opens_at: opens,
      closes_at: closes,
      duration_min: duration,
      max_attempts: attempts,
      points,
      reveal: form.querySelector('input[name="reveal"]:checked')?.value || "at_submit",
      scope: { departments: [], sections: [], members: [] },
      qualify,
      award_rule: award,
      teams: {
        by: $("f-team-by").value,
        score: $("f-team-score").value,
        absent_as_zero: $("f-team-absent").checked,
        winners: Math.max(0, intOf("f-team-winners") || 0),
      },
      paper: { mix, kinds },
    },
  };
}

function showCreated(r, title) {
  const box = clear($("created"));
  box.appendChild(document.createTextNode(`已发布“${title}”：共 ${r.questions ?? "—"} 题，满分 ${r.max_score ?? "—"} 分。`));
  const short = (r.short || []).filter((s) => Number(s.missing) > 0);
  if (short.length) {
    const names = short.map((s) => `${TOPICS[s.topic] || s.topic_name || s.topic}少 ${s.missing} 题`).join("，");
    box.appendChild(document.createTextNode(`题库中符合条件的题目不足：${names}。`));
  }
  box.appendChild(document.createTextNode(" "));
  box.appendChild(el("a", { href: `/host/exams/${encodeURIComponent(r.id)}` }, "查看进度与成绩"));
  show(box, true);
}

if (form) {
  const now = Date.now();
  const start = Math.ceil(now / 300000) * 300000; // the next five minutes
  $("f-opens").value = msToLocalInput(start);
  $("f-closes").value = msToLocalInput(start + 3 * 24 * 3600 * 1000);
  mixTotal();
  $("f-mix").addEventListener("input", mixTotal);
  // Counting absent members as 0 only means something with team standings.
  const teamBy = () => {
    const none = $("f-team-by").value === "none";
    $("f-team-absent").disabled = none;
    $("f-team-score").disabled = none;
    $("f-team-winners").disabled = none;
    if (none) $("f-team-absent").checked = false;
  };
  $("f-team-by").addEventListener("change", teamBy);
  teamBy();

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    createError("");
    show($("created"), false);
    const { body, error } = readForm();
    if (error) {
      createError(error);
      return;
    }
    const btn = $("create");
    btn.disabled = true;
    btn.textContent = "正在组卷…";
    try {
      const r = await post("/api/exams", body);
      showCreated(r, body.title);
      $("f-title").value = "";
      load();
    } catch (err) {
      createError(err.message);
    } finally {
      btn.disabled = false;
      btn.textContent = "发布考试";
    }
  });
}

load();
