// 处室练兵情况 (/section/{id}): one section's drills over a period (本周/上周/本月/本季度/自定义)
// for its head — summary tiles, the member table (idle members first, as the server orders them;
// any column sorts), weak topics (SVG bars), weak tags and most-missed questions, a 12-week trend
// (SVG lines) and a comparison with the department and the agency — and the head's tools: the
// weekly target, drill tasks (assign, follow, close), weekly reviews and the Excel export.
// The period is kept in the address (?period=… or ?from=…&to=…) so a reload shows the same view.
// API: GET /api/sections/{id}/report, POST /api/sections/{id}/target, POST /api/sections/{id}/tasks,
// POST /api/tasks/{id}/close, POST /api/sections/{id}/reviews; the workbooks are plain links.
// Text goes in with textContent only; charts are inline SVG made with createElementNS.
import { api } from "/static/js/app.js";
import { $, TOPICS, clear, el, show } from "/static/js/dom.js";

const SVG = "http://www.w3.org/2000/svg";
const PERIODS = { week: "本周", last_week: "上周", month: "本月", quarter: "本季度" };
const TAGS_SHOWN = 5;

function pathId(n) {
  const raw = location.pathname.split("/")[n] || "";
  try { return decodeURIComponent(raw); } catch (_) { return raw; }
}
const sectionId = pathId(2);
const enc = encodeURIComponent;

// ---------- small helpers ----------
function svg(tag, attrs = {}, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

const num = (v) => (v === null || v === undefined || v === "" || !Number.isFinite(Number(v)) ? null : Number(v));
const pct = (r) => (num(r) === null ? "—" : `${Math.round(num(r) * 100)}%`);
const int = (v) => (num(v) === null ? "—" : Math.round(num(v)).toLocaleString("zh-CN"));
const isDay = (s) => /^\d{4}-\d{2}-\d{2}$/.test(String(s ?? ""));

function parseDay(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(s ?? ""));
  return m ? { y: Number(m[1]), m: Number(m[2]), d: Number(m[3]) } : null;
}

/** Today on the users' clock (UTC+8), as YYYY-MM-DD. */
function today() {
  return new Date(Date.now() + 8 * 3600 * 1000).toISOString().slice(0, 10);
}

function addDays(day, n) {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

function fmtDay(s) {
  const p = parseDay(s);
  if (!p) return s ? String(s) : "";
  return p.y === Number(today().slice(0, 4)) ? `${p.m}月${p.d}日` : `${p.y}年${p.m}月${p.d}日`;
}

function fmtRange(from, to) {
  const a = parseDay(from);
  const b = parseDay(to);
  if (!a || !b) return `${from || ""} 至 ${to || ""}`;
  if (a.y === b.y) return `${a.y}年${a.m}月${a.d}日至${b.m}月${b.d}日`;
  return `${a.y}年${a.m}月${a.d}日至${b.y}年${b.m}月${b.d}日`;
}

/** A week's label on the chart: "9/14". */
function weekLabel(s) {
  const p = parseDay(s);
  return p ? `${p.m}/${p.d}` : String(s ?? "");
}

/** Change in percentage points between two ratios, for people. */
function change(now, before) {
  if (num(now) === null || num(before) === null) return { text: "上期无可比数据", cls: "" };
  const d = Math.round(num(now) * 100) - Math.round(num(before) * 100);
  if (d > 0) return { text: `较上期 ↑ ${d} 个百分点`, cls: "up" };
  if (d < 0) return { text: `较上期 ↓ ${-d} 个百分点`, cls: "down" };
  return { text: "与上期持平", cls: "" };
}

function box(id, text, loginLink) {
  const b = clear($(id));
  if (!text) {
    show(b, false);
    return;
  }
  b.appendChild(document.createTextNode(text));
  if (loginLink) {
    b.appendChild(document.createTextNode(" "));
    b.appendChild(el("a", { href: `/login?next=${enc(location.pathname + location.search)}` }, "去登录"));
  }
  show(b, true);
}

/** A form's status line, cleared after a while. */
function note(id, text) {
  const p = $(id);
  p.textContent = text || "";
  clearTimeout(p._t);
  if (text) p._t = setTimeout(() => { p.textContent = ""; }, 8000);
}

/** Width to draw a chart at: the box's own width, within bounds. */
function chartWidth(node, min, max) {
  const w = node.clientWidth || node.parentNode?.clientWidth || min;
  return Math.round(Math.min(max, Math.max(min, w)));
}

// ---------- state ----------
const state = {
  query: initialQuery(),
  customOpen: false,
  seq: 0,
  report: null,
  sort: null, // { key, dir: "asc" | "desc" }; null: the server's order
  tagsAll: false,
  widths: "",
};

function initialQuery() {
  const p = new URLSearchParams(location.search);
  const from = p.get("from");
  const to = p.get("to");
  if (isDay(from) && isDay(to)) return { from, to };
  const period = p.get("period");
  return { period: PERIODS[period] ? period : "week" };
}

function queryString(q = state.query) {
  return q.period ? `period=${enc(q.period)}` : `from=${enc(q.from)}&to=${enc(q.to)}`;
}

function syncUrl() {
  const url = `${location.pathname}?${queryString()}`;
  if (location.pathname + location.search !== url) history.replaceState(null, "", url);
}

// ---------- loading ----------
const baseTitle = document.title;

async function load({ quiet = false } = {}) {
  const mine = ++state.seq;
  markPeriod();
  show($("loading"), true);
  $("report").setAttribute("aria-busy", "true");
  if (!quiet) box("range-error", "");
  try {
    const r = await api(`/api/sections/${enc(sectionId)}/report?${queryString()}`);
    if (mine !== state.seq) return;
    box("page-error", "");
    render(r);
  } catch (err) {
    if (mine !== state.seq) return;
    failed(err, quiet);
  } finally {
    if (mine === state.seq) {
      show($("loading"), false);
      $("report").removeAttribute("aria-busy");
    }
  }
}

function failed(err, quiet) {
  const fatal = { 401: "登录已失效，请重新登录。", 403: "您无权查看这个处室", 404: "没有这个处室" }[err.status];
  if (fatal) {
    box("page-error", fatal, err.status === 401);
    show($("section-body"), false);
    show($("exports"), false);
    return;
  }
  box("page-error", err.message);
  if (!quiet || !state.report) show($("report"), false);
  // the period chooser stays, so another period can be picked
  show($("section-body"), true);
}

// ---------- period chooser ----------
function markPeriod() {
  const custom = !state.query.period;
  for (const b of $("period-buttons").querySelectorAll("button[data-period]")) {
    const on = b.dataset.period === "custom" ? custom || state.customOpen : !custom && !state.customOpen && b.dataset.period === state.query.period;
    b.setAttribute("aria-pressed", String(on));
  }
  $("period-custom").setAttribute("aria-expanded", String(state.customOpen));
  show($("custom-range"), state.customOpen);
}

$("period-buttons").addEventListener("click", (e) => {
  const b = e.target.closest("button[data-period]");
  if (!b) return;
  box("range-error", "");
  if (b.dataset.period === "custom") {
    state.customOpen = !state.customOpen;
    const p = state.report?.period;
    if (!$("range-from").value && p) $("range-from").value = p.from || "";
    if (!$("range-to").value && p) $("range-to").value = p.to || "";
    markPeriod();
    if (state.customOpen) $("range-from").focus();
    return;
  }
  state.customOpen = false;
  state.query = { period: b.dataset.period };
  syncUrl();
  load();
});

$("custom-range").addEventListener("submit", (e) => {
  e.preventDefault();
  const from = $("range-from").value;
  const to = $("range-to").value;
  if (!isDay(from) || !isDay(to)) {
    box("range-error", "请选择开始日期和结束日期");
    return;
  }
  if (from > to) {
    box("range-error", "开始日期不能晚于结束日期");
    return;
  }
  box("range-error", "");
  state.customOpen = false;
  state.query = { from, to };
  syncUrl();
  load();
});

// ---------- rendering ----------
function render(r) {
  state.report = r;
  const sec = r.section || {};
  const period = r.period || {};
  const viewer = r.viewer || {};

  $("section-name").textContent = sec.name || "处室练兵情况";
  $("section-dept").textContent = sec.department ? `${sec.department} · 处室练兵情况` : "处室练兵情况";
  document.title = `${sec.name || "处室"} · ${baseTitle}`;

  const label = period.label || PERIODS[period.key] || "自定义时段";
  const bits = [`${label}：${fmtRange(period.from, period.to)}`];
  if (num(period.days) !== null) bits.push(`共 ${period.days} 天`);
  if (num(period.target) !== null) bits.push(`每人目标练兵 ${period.target} 次`);
  $("period-text").textContent = bits.join("，");
  if (!state.customOpen) {
    $("range-from").value = period.from || "";
    $("range-to").value = period.to || "";
  }

  renderExports(sec, viewer);
  show($("section-body"), true);
  show($("report"), true);

  renderSummary(r.summary || {}, period);
  renderMembers();
  renderTopics(r.topics || []);
  renderTags(r.tags || []);
  renderWrong(r.wrong_questions || []);
  renderTrend(r.trend || []);
  renderComparison(r.comparison || {});
  renderTasks(r.tasks || [], !!viewer.can_edit);
  renderReviews(r.reviews || [], !!viewer.can_edit, period);
  renderTarget(sec, !!viewer.can_edit);
  state.widths = widthsKey();
}

function renderExports(sec, viewer) {
  const q = queryString();
  $("export-link").href = `/api/sections/${enc(sectionId)}/workbook.xlsx?${q}`;
  const dept = sec.department_id;
  const canDept = !!viewer.can_remark && dept !== undefined && dept !== null && dept !== "";
  show($("export-dept-link"), canDept);
  if (canDept) $("export-dept-link").href = `/api/departments/${enc(dept)}/workbook.xlsx?${q}`;
  show($("exports"), true);
}

function renderSummary(s, period) {
  const members = num(s.members) ?? 0;
  $("sum-participation").textContent = pct(s.participation);
  $("sum-participation-note").textContent = `${int(s.active ?? 0)} / ${int(members)} 人参练`;

  $("sum-accuracy").textContent = pct(s.accuracy);
  const c = change(s.accuracy, s.previous_accuracy);
  const ch = $("sum-accuracy-change");
  ch.textContent = c.text;
  ch.className = `d ${c.cls}`;

  $("sum-met").textContent = `${int(s.met_target ?? 0)} / ${int(members)}`;
  $("sum-met-note").textContent = num(period.target) !== null ? `每人目标 ${period.target} 次` : "";

  $("sum-answers").textContent = int(s.answers ?? 0);
  $("sum-answers-note").textContent = num(s.correct) !== null ? `答对 ${int(s.correct)} 题` : "";
}

// ---------- members ----------
const TEXT_KEYS = new Set(["name", "last_active"]);

function sortValue(m, key) {
  const v = m[key];
  if (TEXT_KEYS.has(key)) return v === null || v === undefined ? "" : String(v);
  return num(v) ?? -Infinity; // nothing is the least: no accuracy, never practised
}

function ordered(list) {
  if (!state.sort) return list;
  const { key, dir } = state.sort;
  const f = dir === "asc" ? 1 : -1;
  return list
    .map((m, i) => ({ m, i }))
    .sort((a, b) => {
      const x = sortValue(a.m, key);
      const y = sortValue(b.m, key);
      let c;
      if (key === "name") c = x.localeCompare(y, "zh-CN");
      else c = x < y ? -1 : x > y ? 1 : 0;
      return c * f || a.i - b.i;
    })
    .map((o) => o.m);
}

function cell(text, cls, srText) {
  const td = el("td", cls ? { class: cls } : {}, text);
  if (srText) td.appendChild(el("span", { class: "sc-sr" }, srText));
  return td;
}

function memberRow(m, period) {
  const tr = el("tr", m.idle ? { class: "idle" } : {});
  const th = el("th", { scope: "row" });
  th.appendChild(el("span", { class: "sc-name" }, m.name || ""));
  if (m.idle) th.appendChild(el("span", { class: "sc-badge idle" }, "未参练"));
  if (m.staff_no) th.appendChild(el("small", { class: "sc-staff" }, m.staff_no));
  tr.appendChild(th);

  const drills = num(m.drills) ?? 0;
  const target = num(m.target) ?? num(period.target);
  if (target !== null && target > 0) {
    const met = drills >= target;
    tr.appendChild(cell(`${drills}/${target}`, met ? "met" : "short", met ? "（已达标）" : "（未达标）"));
  } else {
    tr.appendChild(cell(String(drills)));
  }
  tr.appendChild(cell(int(m.answers ?? 0)));
  const acc = num(m.accuracy);
  tr.appendChild(cell(pct(acc), acc === null ? "none" : acc < 0.6 ? "low" : "", acc === null ? "（无答题）" : ""));
  tr.appendChild(cell(`${int(m.days ?? 0)}`));
  const last = m.last_active;
  tr.appendChild(cell(last ? fmtDay(last) : "—", last ? "" : "none", last ? "" : "（无练习记录）"));
  tr.appendChild(cell(`${int(m.notebook_open ?? 0)} / ${int(m.notebook_mastered ?? 0)}`));
  tr.appendChild(cell(int(m.competitions ?? 0)));
  tr.appendChild(cell(int(m.awards ?? 0)));
  return tr;
}

function renderMembers() {
  const r = state.report;
  if (!r) return;
  const list = r.members || [];
  const body = clear($("members-body"));
  for (const m of ordered(list)) body.appendChild(memberRow(m, r.period || {}));
  if (!list.length) {
    const tr = el("tr");
    tr.appendChild(el("td", { colspan: "9", class: "none" }, "本处暂无成员。"));
    body.appendChild(tr);
  }
  const idle = list.filter((m) => m.idle).length;
  $("members-note").textContent = `共 ${list.length} 人${idle ? `，其中 ${idle} 人本期未参练` : "，本期人人参练"}`;

  for (const th of $("members-table").querySelectorAll("thead th[data-key]")) {
    if (state.sort && state.sort.key === th.dataset.key) {
      th.setAttribute("aria-sort", state.sort.dir === "asc" ? "ascending" : "descending");
    } else {
      th.removeAttribute("aria-sort");
    }
  }
  show($("sort-reset"), !!state.sort);
}

$("members-table").querySelector("thead").addEventListener("click", (e) => {
  const b = e.target.closest("button.sc-sort");
  if (!b) return;
  const key = b.dataset.key;
  // first click: lowest first (who is behind); again: the other way round
  state.sort = state.sort && state.sort.key === key
    ? { key, dir: state.sort.dir === "asc" ? "desc" : "asc" }
    : { key, dir: "asc" };
  renderMembers();
});

$("sort-reset").addEventListener("click", () => {
  state.sort = null;
  renderMembers();
  $("members-table").querySelector("button.sc-sort").focus();
});

// ---------- weak points ----------
const topicName = (t) => t.name || TOPICS[t.topic] || t.topic || "";

/** Horizontal bars, one per topic, lowest accuracy first: name, bar, percentage and answers. */
function renderTopics(rows) {
  const holder = clear($("topics-chart"));
  const data = rows.filter((r) => (num(r.answers) ?? 0) > 0);
  if (!data.length) {
    holder.appendChild(el("p", { class: "sc-muted" }, "本期暂无答题记录。"));
    return;
  }
  const W = chartWidth(holder, 300, 760);
  const rowH = 38;
  const labelW = Math.min(130, Math.max(76, 15 * Math.max(...data.map((r) => topicName(r).length)) + 8));
  const valueW = 112;
  const barW = W - labelW - valueW - 10;
  const H = data.length * rowH + 24;
  const s = svg("svg", {
    viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: "sc-svg", role: "img",
    "aria-label": "各专题正确率，由低到高：" + data.map((r) => `${topicName(r)} ${pct(r.accuracy)}，答题 ${int(r.answers)} 道`).join("；"),
  });
  const x0 = labelW;
  for (const g of [0.6, 1]) {
    const x = x0 + barW * g;
    s.appendChild(svg("line", { x1: x, x2: x, y1: 2, y2: H - 18, class: "guide" }));
    s.appendChild(svg("text", { x, y: H - 4, "text-anchor": "middle", class: "axis" }, `${g * 100}%`));
  }
  data.forEach((r, i) => {
    const y = i * rowH + 4;
    const acc = num(r.accuracy) ?? 0;
    const weak = acc < 0.6;
    const name = topicName(r);
    s.appendChild(svg("text", { x: 0, y: y + 20, class: "label" }, name));
    s.appendChild(svg("rect", { x: x0, y: y + 5, width: barW, height: 20, rx: 4, class: "track" }));
    const bar = svg("rect", {
      x: x0, y: y + 5, width: Math.max(acc > 0 ? 3 : 0, barW * Math.min(1, acc)), height: 20, rx: 4,
      class: weak ? "bar weak" : "bar",
    });
    bar.appendChild(svg("title", {}, `${name}：答对 ${int(r.correct)} / ${int(r.answers)}`));
    s.appendChild(bar);
    s.appendChild(svg("text", { x: x0 + barW + 8, y: y + 20, class: weak ? "value weak" : "value" },
      `${pct(acc)}（${int(r.answers)} 题）`));
  });
  holder.appendChild(s);
}

function barItem(label, ratio, detail) {
  const r = num(ratio);
  const weak = r !== null && r < 0.6;
  const li = el("li", weak ? { class: "weak" } : {});
  const row = el("div", { class: "row" });
  row.appendChild(el("span", { class: "name" }, label));
  row.appendChild(el("span", { class: "val" }, `${pct(r)} · ${detail}`));
  li.appendChild(row);
  const track = el("div", { class: "sc-track", "aria-hidden": "true" });
  const fill = el("div", { class: weak ? "sc-fill weak" : "sc-fill" });
  fill.style.transform = `scaleX(${Math.min(1, r ?? 0)})`;
  track.appendChild(fill);
  li.appendChild(track);
  return li;
}

function renderTags(tags) {
  const ul = clear($("tags-list"));
  const shown = state.tagsAll ? tags : tags.slice(0, TAGS_SHOWN);
  for (const t of shown) ul.appendChild(barItem(t.tag || "", t.accuracy, `答对 ${int(t.correct)} / ${int(t.answers)}`));
  if (!tags.length) ul.appendChild(el("li", { class: "sc-empty" }, "本期暂无知识点数据。"));
  const more = $("tags-more");
  show(more, tags.length > TAGS_SHOWN);
  more.setAttribute("aria-expanded", String(state.tagsAll));
  more.textContent = state.tagsAll ? "只显示最薄弱的知识点" : `显示全部 ${tags.length} 个知识点`;
}

$("tags-more").addEventListener("click", () => {
  state.tagsAll = !state.tagsAll;
  renderTags(state.report?.tags || []);
});

function renderWrong(rows) {
  const ol = clear($("wrong-list"));
  rows.forEach((q, i) => {
    const li = el("li");
    const stemId = `wrong-stem-${i}`;
    li.appendChild(el("p", { class: "stem", id: stemId, title: q.stem || "" }, q.stem || q.question_id || ""));
    const foot = el("div", { class: "foot" });
    const answers = num(q.answers) ?? 0;
    const wrong = Math.max(0, answers - (num(q.correct) ?? 0));
    const meta = el("span");
    if (q.topic_name) meta.appendChild(document.createTextNode(`${q.topic_name} · `));
    meta.appendChild(document.createTextNode(`答错 ${wrong} 次 / 作答 ${answers} 次 · 正确率 `));
    meta.appendChild(el("span", { class: "acc" }, pct(q.accuracy)));
    foot.appendChild(meta);
    foot.appendChild(el("a", { href: `/questions/${enc(q.question_id)}`, "aria-describedby": stemId }, "查看解析"));
    li.appendChild(foot);
    ol.appendChild(li);
  });
  if (!rows.length) ol.appendChild(el("li", { class: "sc-empty" }, "本期没有答错的题目。"));
}

// ---------- trend ----------
function renderTrend(rows) {
  const holder = clear($("trend-chart"));
  const tbody = clear($("trend-rows"));
  for (const r of rows) {
    const tr = el("tr");
    tr.appendChild(el("th", { scope: "row" }, fmtDay(r.week)));
    tr.appendChild(el("td", {}, pct(r.participation)));
    tr.appendChild(el("td", {}, pct(r.accuracy)));
    tr.appendChild(el("td", {}, int(r.answers ?? 0)));
    tbody.appendChild(tr);
  }
  if (!rows.length) {
    holder.appendChild(el("p", { class: "sc-muted" }, "暂无趋势数据。"));
    return;
  }
  const W = chartWidth(holder, 300, 720);
  const H = 230;
  const m = { l: 42, r: 14, t: 12, b: 30 };
  const iw = W - m.l - m.r;
  const ih = H - m.t - m.b;
  const x = (i) => m.l + (rows.length === 1 ? iw / 2 : (iw * i) / (rows.length - 1));
  const y = (v) => m.t + ih * (1 - Math.max(0, Math.min(1, v)));

  const s = svg("svg", {
    viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: "sc-svg", role: "img",
    "aria-label": trendSummary(rows),
  });
  for (const g of [0, 0.25, 0.5, 0.75, 1]) {
    s.appendChild(svg("line", { x1: m.l, x2: W - m.r, y1: y(g), y2: y(g), class: g === 0 ? "base" : "grid" }));
    s.appendChild(svg("text", { x: m.l - 6, y: y(g) + 4, "text-anchor": "end", class: "axis" }, `${g * 100}%`));
  }
  const step = iw / Math.max(1, rows.length - 1) < 34 ? 2 : 1;
  rows.forEach((r, i) => {
    if ((rows.length - 1 - i) % step !== 0) return; // always label the latest week
    s.appendChild(svg("text", { x: x(i), y: H - 8, "text-anchor": "middle", class: "axis" }, weekLabel(r.week)));
  });
  for (const [key, cls, name] of [["participation", "part", "参与率"], ["accuracy", "acc", "正确率"]]) {
    let d = "";
    let pen = false;
    rows.forEach((r, i) => {
      const v = num(r[key]);
      if (v === null) {
        pen = false; // no answers that week: a gap, not a zero
        return;
      }
      d += `${pen ? "L" : "M"}${x(i).toFixed(1)} ${y(v).toFixed(1)} `;
      pen = true;
    });
    if (d) s.appendChild(svg("path", { d: d.trim(), class: `line ${cls}` }));
    rows.forEach((r, i) => {
      const v = num(r[key]);
      if (v === null) return;
      const dot = cls === "part"
        ? svg("circle", { cx: x(i), cy: y(v), r: 4.5, class: `dot ${cls}` })
        : svg("rect", { x: x(i) - 4, y: y(v) - 4, width: 8, height: 8, class: `dot ${cls}` });
      dot.appendChild(svg("title", {}, `${weekLabel(r.week)} 起一周 ${name} ${pct(v)}`));
      s.appendChild(dot);
    });
  }
  holder.appendChild(s);
}

function trendSummary(rows) {
  const ends = (key) => {
    const vals = rows.map((r) => num(r[key])).filter((v) => v !== null);
    return vals.length ? [vals[0], vals[vals.length - 1]] : null;
  };
  const p = ends("participation");
  const a = ends("accuracy");
  const parts = [`近 ${rows.length} 周趋势（${weekLabel(rows[0].week)} 至 ${weekLabel(rows[rows.length - 1].week)} 起的各周）`];
  parts.push(p ? `参与率由 ${pct(p[0])} 变为 ${pct(p[1])}` : "参与率无数据");
  parts.push(a ? `正确率由 ${pct(a[0])} 变为 ${pct(a[1])}` : "正确率无数据");
  return `${parts.join("；")}。各周数字见下方表格。`;
}

// ---------- comparison ----------
function renderComparison(c) {
  const tbody = clear($("cmp-rows"));
  const rows = [["section", "本处"], ["department", "本司"], ["agency", "全局"]].filter(([k]) => c[k]);
  const maxApm = Math.max(1, ...rows.map(([k]) => num(c[k].answers_per_member) ?? 0));
  for (const [k, label] of rows) {
    const v = c[k];
    const tr = el("tr", k === "section" ? { class: "own" } : {});
    tr.appendChild(el("th", { scope: "row" }, label));
    const apm = num(v.answers_per_member);
    for (const [text, ratio] of [
      [pct(v.participation), num(v.participation)],
      [pct(v.accuracy), num(v.accuracy)],
      [apm === null ? "—" : apm.toFixed(1), apm === null ? null : apm / maxApm],
    ]) {
      const td = el("td", {}, text);
      const mini = el("span", { class: "mini", "aria-hidden": "true" });
      const fill = el("span");
      fill.style.transform = `scaleX(${Math.min(1, ratio ?? 0)})`;
      mini.appendChild(fill);
      td.appendChild(mini);
      tr.appendChild(td);
    }
    tbody.appendChild(tr);
  }
  if (!rows.length) {
    const tr = el("tr");
    tr.appendChild(el("td", { colspan: "4" }, "暂无对比数据。"));
    tbody.appendChild(tr);
  }
  const own = c.section;
  const dept = c.department;
  const bits = [];
  if (own && dept) {
    for (const [key, name] of [["participation", "参与率"], ["accuracy", "正确率"]]) {
      if (num(own[key]) === null || num(dept[key]) === null) continue;
      const d = Math.round(num(own[key]) * 100) - Math.round(num(dept[key]) * 100);
      bits.push(d === 0 ? `${name}与本司持平` : `${name}${d > 0 ? "高于" : "低于"}本司 ${Math.abs(d)} 个百分点`);
    }
  }
  $("cmp-note").textContent = (bits.length ? `本处${bits.join("，")}。` : "") + "本司、全局为整体数据，不含其他处室成员的个人信息。";
}

// ---------- tasks ----------
const TASK_MEMBER = { done: ["已完成", "ok"], started: ["进行中", "warn"], none: ["未开始", "bad"] };
const MEMBER_ORDER = { none: 0, started: 1, done: 2 };

function taskItem(t, canEdit) {
  const open = t.status === "open";
  const li = el("li", { class: `sc-task ${open ? "open" : "closed"}`, dataset: { task: t.id } });
  const top = el("div", { class: "top" });
  top.appendChild(el("span", { class: "title" }, t.title || "练兵任务"));
  const pills = el("span");
  pills.appendChild(el("span", { class: open ? "sc-pill red" : "sc-pill" }, open ? "进行中" : "已结束"));
  if (open && isDay(t.due) && t.due < today()) {
    pills.appendChild(document.createTextNode(" "));
    pills.appendChild(el("span", { class: "sc-pill warn" }, "已过截止日期"));
  }
  top.appendChild(pills);
  li.appendChild(top);
  li.appendChild(el("p", { class: "meta" },
    `截止 ${fmtDay(t.due) || "—"} · ${int(t.count)} 题 · ${t.timed ? "限时" : "不限时"}`));

  const done = num(t.done) ?? 0;
  const members = num(t.members) ?? 0;
  const prog = el("div", { class: "progress" });
  prog.appendChild(el("span", {}, `完成 ${done}/${members} 人`));
  prog.appendChild(el("span", {}, `正确率 ${pct(t.accuracy)}`));
  li.appendChild(prog);
  const track = el("div", { class: "sc-track", "aria-hidden": "true" });
  const fill = el("div", { class: done >= members && members > 0 ? "sc-fill ok" : "sc-fill" });
  fill.style.transform = `scaleX(${members ? Math.min(1, done / members) : 0})`;
  track.appendChild(fill);
  li.appendChild(track);

  const per = [...(t.per_member || [])].sort((a, b) => (MEMBER_ORDER[a.status] ?? 0) - (MEMBER_ORDER[b.status] ?? 0));
  if (per.length) {
    const details = el("details", { class: "sc-details" });
    const notDone = per.filter((p) => p.status !== "done").length;
    details.appendChild(el("summary", {}, `各成员完成情况${notDone ? `（${notDone} 人未完成）` : "（全部完成）"}`));
    const ul = el("ul", { class: "sc-permember" });
    for (const p of per) {
      const [label, cls] = TASK_MEMBER[p.status] || TASK_MEMBER.none;
      const row = el("li");
      row.appendChild(el("span", { class: "n" }, p.name || ""));
      row.appendChild(el("span", { class: `sc-pill ${cls}` }, label));
      row.appendChild(el("span", { class: "r" }, p.status === "none" ? "—" : `答对 ${int(p.correct)}/${int(p.answered)}`));
      ul.appendChild(row);
    }
    details.appendChild(ul);
    li.appendChild(details);
  }
  if (canEdit && open) {
    const actions = el("div", { class: "sc-actions" });
    actions.appendChild(el("button", {
      type: "button", class: "sc-btn secondary small sc-close-task", id: `close-task-${t.id}`,
      dataset: { task: t.id }, "aria-label": `结束任务：${t.title || ""}`,
    }, "结束任务"));
    li.appendChild(actions);
  }
  return li;
}

function renderTasks(tasks, canEdit) {
  const ul = clear($("tasks-list"));
  for (const t of tasks) ul.appendChild(taskItem(t, canEdit));
  if (!tasks.length) ul.appendChild(el("li", { class: "sc-empty" }, canEdit ? "本处暂无练兵任务，可在下方布置。" : "本处暂无练兵任务。"));
  show($("task-form"), canEdit);
  if (canEdit && !$("task-due").value) {
    $("task-due").value = addDays(today(), 7);
  }
  $("task-due").min = today();
}

$("tasks-list").addEventListener("click", async (e) => {
  const b = e.target.closest("button.sc-close-task");
  if (!b) return;
  box("tasks-error", "");
  b.disabled = true;
  b.textContent = "正在结束…";
  try {
    await api(`/api/tasks/${enc(b.dataset.task)}/close`, {});
    await load({ quiet: true });
  } catch (err) {
    box("tasks-error", err.message);
    b.disabled = false;
    b.textContent = "结束任务";
  }
});

function buildTopicChecks() {
  const holder = clear($("task-topic-checks"));
  for (const [id, name] of Object.entries(TOPICS)) {
    const label = el("label", { class: "sc-check", for: `task-topic-${id}` });
    label.appendChild(el("input", { type: "checkbox", name: "task-topic", value: id, id: `task-topic-${id}` }));
    label.appendChild(el("span", {}, name));
    holder.appendChild(label);
  }
}

const splitList = (s, re) => String(s || "").split(re).map((x) => x.trim()).filter(Boolean);

$("task-questions").addEventListener("input", () => {
  $("task-form").classList.toggle("dim-topics", $("task-questions").value.trim() !== "");
});

/** What is missing from the task form, and the field to go to; null when it can be sent. */
function taskProblem(title, due, topics, tags, questionIds) {
  if (!title) return { text: "请填写任务标题", field: "task-title" };
  if (!questionIds.length && !topics.length && !tags.length) {
    return { text: "请至少选择一个专题，或填写知识点、指定题目", field: "task-topic-checks" };
  }
  if (!isDay(due)) return { text: "请选择截止日期", field: "task-due" };
  if (due < today()) return { text: "截止日期不能早于今天", field: "task-due" };
  return null;
}

$("task-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  box("task-error", "");
  note("task-status", "");
  const title = $("task-title").value.trim();
  const due = $("task-due").value;
  const topics = [...$("task-form").querySelectorAll('input[name="task-topic"]:checked')].map((c) => c.value);
  const tags = splitList($("task-tags").value, /[,，、;；\n]+/);
  const questionIds = splitList($("task-questions").value, /[\s,，、;；]+/);
  const problem = taskProblem(title, due, topics, tags, questionIds);
  if (problem) {
    box("task-error", problem.text);
    const f = $(problem.field);
    (f.matches("input, select, textarea") ? f : f.querySelector("input"))?.focus();
    return;
  }
  const body = {
    title,
    topics,
    tags,
    question_ids: questionIds,
    count: Number($("task-count").value) || 10,
    time_limit_s: Number($("task-time").value) || 0,
    due,
  };
  const btn = $("task-submit");
  btn.disabled = true;
  btn.textContent = "正在布置…";
  try {
    await api(`/api/sections/${enc(sectionId)}/tasks`, body);
    $("task-form").reset();
    $("task-form").classList.remove("dim-topics");
    $("task-due").value = addDays(today(), 7);
    note("task-status", `已布置任务“${title}”`);
    await load({ quiet: true });
  } catch (err) {
    box("task-error", err.message);
  } finally {
    btn.disabled = false;
    btn.textContent = "布置任务";
  }
});

// ---------- reviews ----------
function renderReviews(list, canEdit, period) {
  const ul = clear($("reviews-list"));
  for (const r of list) {
    const li = el("li", r.superseded ? { class: "superseded" } : {});
    li.appendChild(el("a", { class: "main", href: `/reviews/${enc(r.id)}` }, fmtRange(r.from, r.to)));
    const published = r.status === "published";
    li.appendChild(el("span", { class: published ? "sc-pill ok" : "sc-pill draft" }, published ? "已发布" : "草稿"));
    li.appendChild(el("span", { class: "sc-pill" }, `第${int(r.version ?? 1)}版`));
    if (r.superseded) li.appendChild(el("span", { class: "sc-pill" }, "已被新版本取代"));
    if (published && r.published_at) li.appendChild(el("span", { class: "sc-muted" }, `${fmtDay(r.published_at)}发布`));
    ul.appendChild(li);
  }
  if (!list.length) ul.appendChild(el("li", { class: "sc-empty" }, "暂无小结点评。"));
  show($("create-review"), canEdit);
  const hint = $("create-review-note");
  hint.textContent = canEdit ? `按当前时段（${fmtRange(period.from, period.to)}）的数据生成草稿，可修改后发布。` : "";
  show(hint, canEdit);
  $("all-reviews").href = `/section/${enc(sectionId)}/reviews`;
}

$("create-review").addEventListener("click", async () => {
  const p = state.report?.period;
  if (!p) return;
  box("review-error", "");
  const btn = $("create-review");
  btn.disabled = true;
  btn.textContent = "正在生成草稿…";
  try {
    const r = await api(`/api/sections/${enc(sectionId)}/reviews`, { from: p.from, to: p.to });
    location.href = `/reviews/${enc(r.id)}`;
  } catch (err) {
    box("review-error", err.message);
    btn.disabled = false;
    btn.textContent = "撰写小结点评";
  }
});

// ---------- weekly target ----------
function renderTarget(sec, canEdit) {
  const n = num(sec.weekly_target);
  $("target-current").textContent = n !== null ? `当前目标：每人每周练兵 ${n} 次。` : "本处尚未设置每周练兵目标。";
  show($("target-form"), canEdit);
  if (canEdit && document.activeElement !== $("target-input")) $("target-input").value = n !== null ? String(n) : "";
}

$("target-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  box("target-error", "");
  note("target-status", "");
  const raw = $("target-input").value.trim();
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > 20) {
    box("target-error", "请输入 1 到 20 之间的整数");
    $("target-input").focus();
    return;
  }
  const btn = $("target-save");
  btn.disabled = true;
  try {
    const r = await api(`/api/sections/${enc(sectionId)}/target`, { weekly_target: n });
    const saved = num(r.weekly_target) ?? n;
    $("target-input").value = String(saved);
    note("target-status", `已保存：每人每周练兵 ${saved} 次`);
    await load({ quiet: true });
  } catch (err) {
    box("target-error", err.message);
  } finally {
    btn.disabled = false;
  }
});

// ---------- charts follow the width of their boxes ----------
function widthsKey() {
  return `${$("topics-chart").clientWidth}|${$("trend-chart").clientWidth}`;
}

let resizeTimer = 0;
window.addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    const r = state.report;
    if (!r || $("report").hidden) return;
    const key = widthsKey();
    if (key === state.widths) return;
    state.widths = key;
    renderTopics(r.topics || []);
    renderTrend(r.trend || []);
  }, 200);
});

// ---------- boot ----------
buildTopicChecks();
if (!sectionId) {
  show($("loading"), false);
  box("page-error", "没有这个处室");
} else {
  syncUrl();
  load();
}
