// 我的 (/me): practice streak, this week against the section's target, accuracy per topic
// (an inline SVG bar chart), drill and competition history, own awards, notebook counts and
// the drill leaderboards (本周/本月/本季度 × 本处/全局).
// API: docs/api.md (GET /api/me/home, GET /api/leaderboards/drills). Text goes in with
// textContent only.
import { api } from "/static/js/app.js";
import { $, MODES, TOPICS, clear, el, show } from "/static/js/dom.js";

const PERIODS = { week: "本周", month: "本月", quarter: "本季度" };
const SCOPES = { section: "本处", agency: "全局" };
const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

const pct = (r) => (r === null || r === undefined ? "—" : `${Math.round(r * 100)}%`);

/** Dates on the users' clock (UTC+8), as the server counts days. */
const cst = (ms) => new Date(Number(ms) + 8 * 3600 * 1000);
const pad = (n) => String(n).padStart(2, "0");

function fmtDate(v) {
  if (v === null || v === undefined || v === "") return "";
  const s = String(v);
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(s);
  if (m) return `${Number(m[1])}年${Number(m[2])}月${Number(m[3])}日`;
  const d = /^\d+$/.test(s) ? cst(s) : new Date(s);
  if (Number.isNaN(d.getTime())) return s;
  return `${d.getUTCFullYear()}年${d.getUTCMonth() + 1}月${d.getUTCDate()}日`;
}

function fmtShort(ms) {
  const d = cst(ms);
  if (Number.isNaN(d.getTime())) return "";
  return `${d.getUTCMonth() + 1}月${d.getUTCDate()}日 ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
}

function empty(ul, text) {
  ul.appendChild(el("li", { class: "empty" }, text));
}

function pageError(text) {
  const box = $("page-error");
  box.textContent = text || "";
  show(box, !!text);
}

// ---------- home ----------
function renderHome(h) {
  if (h.name) $("me-name").textContent = h.name;
  $("me-section").textContent = h.section || "未分配处室";
  $("streak-days").textContent = String(Number(h.streak_days) || 0);
  $("streak").classList.toggle("hot", Number(h.streak_days) >= 3);

  const done = Number(h.week?.drills) || 0;
  const target = Number(h.week?.target) || 0;
  const bar = $("week-bar");
  if (target > 0) {
    $("week-text").textContent = `${done} / ${target} 次`;
    $("week-fill").style.transform = `scaleX(${Math.min(1, done / target)})`;
    bar.setAttribute("aria-valuemax", String(target));
    bar.setAttribute("aria-valuenow", String(Math.min(done, target)));
    $("week-note").textContent = done >= target ? "已完成本处本周练兵目标，继续保持！" : `距本处本周目标还差 ${target - done} 次`;
    $("week").classList.toggle("met", done >= target);
  } else {
    $("week-text").textContent = `${done} 次`;
    $("week-fill").style.transform = `scaleX(${done > 0 ? 1 : 0})`;
    $("week-note").textContent = "本处未设置每周目标";
  }

  renderChart(h.accuracy_by_topic || []);

  $("nb-total").textContent = String(Number(h.notebook?.total) || 0);
  $("nb-due").textContent = String(Number(h.notebook?.due) || 0);
  $("nb-mastered").textContent = String(Number(h.notebook?.mastered) || 0);

  const hist = clear($("history"));
  for (const d of h.drills || []) {
    const li = el("li", {});
    const a = el("a", { href: `/drill?id=${encodeURIComponent(d.id)}` });
    const top = el("span", { class: "line1" });
    top.appendChild(el("b", {}, MODES[d.mode] || "练习"));
    top.appendChild(el("span", { class: d.finished_at ? "dr-pill" : "dr-pill due" }, d.finished_at ? "已完成" : "未完成"));
    a.appendChild(top);
    const acc = Number(d.answered) > 0 ? Number(d.correct) / Number(d.answered) : null;
    a.appendChild(el("span", { class: "line2" },
      `${fmtShort(d.started_at)} · 答对 ${d.correct} / ${d.answered}（共 ${d.count} 题）· 正确率 ${pct(acc)}`));
    li.appendChild(a);
    hist.appendChild(li);
  }
  if (!(h.drills || []).length) empty(hist, "还没有练习记录，去练兵吧。");

  const comps = clear($("competitions"));
  for (const c of h.competitions || []) {
    const li = el("li", {});
    const top = el("span", { class: "line1" });
    top.appendChild(el("b", {}, c.title || "业务比武"));
    if (c.rank !== null && c.rank !== undefined) top.appendChild(el("span", { class: "dr-pill" }, `第 ${c.rank} 名`));
    li.appendChild(top);
    const bits = [fmtDate(c.date)];
    if (c.points !== null && c.points !== undefined) bits.push(`${Number(c.points).toLocaleString("zh-CN")} 分`);
    li.appendChild(el("span", { class: "line2" }, bits.filter(Boolean).join(" · ")));
    comps.appendChild(li);
  }
  if (!(h.competitions || []).length) empty(comps, "还没有参加过业务比武。");

  const aw = clear($("awards"));
  for (const a of h.awards || []) {
    const li = el("li", {});
    li.appendChild(el("span", { class: "medal", "aria-hidden": "true" }, "★"));
    const body = el("span", { class: "body" });
    body.appendChild(el("b", {}, a.title || "业务标兵"));
    const bits = [a.competition, a.rank ? `第 ${a.rank} 名` : "", fmtDate(a.date)].filter(Boolean);
    body.appendChild(el("span", { class: "line2" }, bits.join(" · ")));
    li.appendChild(body);
    aw.appendChild(li);
  }
  if (!(h.awards || []).length) empty(aw, "暂无表彰。在业务比武中取得好成绩，即可评为“业务标兵”。");
}

/** Horizontal bars, one per topic: name, bar (accuracy), percentage and right/total. */
function renderChart(rows) {
  const box = clear($("accuracy-chart"));
  const data = rows.filter((r) => Number(r.total) > 0);
  if (!data.length) {
    box.appendChild(el("p", { class: "dr-muted" }, "还没有答题记录。"));
    return;
  }
  const W = 340;
  const rowH = 40;
  const labelW = 72;
  const valueW = 96;
  const barW = W - labelW - valueW - 8;
  const H = data.length * rowH + 22;
  const s = svg("svg", {
    viewBox: `0 0 ${W} ${H}`, width: "100%", role: "img", class: "dr-svg",
    "aria-label": "各专题正确率：" + data.map((r) => `${r.name || TOPICS[r.topic] || r.topic} ${pct(r.right / r.total)}`).join("，"),
  });
  // 60% and 100% guides
  const x0 = labelW;
  for (const g of [0.6, 1]) {
    const x = x0 + barW * g;
    s.appendChild(svg("line", { x1: x, x2: x, y1: 4, y2: H - 18, class: g === 1 ? "guide" : "guide pass" }));
    s.appendChild(svg("text", { x, y: H - 4, "text-anchor": "middle", class: "axis" }, `${g * 100}%`));
  }
  data.forEach((r, i) => {
    const y = i * rowH + 6;
    const acc = Number(r.right) / Number(r.total);
    const name = r.name || TOPICS[r.topic] || r.topic || "";
    s.appendChild(svg("text", { x: 0, y: y + 20, class: "label" }, name));
    s.appendChild(svg("rect", { x: x0, y: y + 4, width: barW, height: 22, rx: 4, class: "track" }));
    const bar = svg("rect", {
      x: x0, y: y + 4, width: Math.max(acc > 0 ? 3 : 0, barW * acc), height: 22, rx: 4,
      class: acc < 0.6 ? "bar weak" : "bar",
    });
    bar.appendChild(svg("title", {}, `${name}：答对 ${r.right} / ${r.total}`));
    s.appendChild(bar);
    s.appendChild(svg("text", { x: x0 + barW + 8, y: y + 20, class: "value" }, `${pct(acc)} (${r.right}/${r.total})`));
  });
  box.appendChild(s);
  const weak = data.filter((r) => Number(r.right) / Number(r.total) < 0.6).map((r) => r.name || TOPICS[r.topic] || r.topic);
  if (weak.length) {
    const p = el("p", { class: "dr-muted" }, `薄弱专题：${weak.join("、")}。可在练兵页选择“我的薄弱点”针对练习。`);
    box.appendChild(p);
  }
}

// ---------- leaderboard ----------
const board = { period: "week", scope: "section", seq: 0, me: null };

function selectTabs() {
  for (const b of $("board-periods").querySelectorAll("button")) b.setAttribute("aria-selected", String(b.dataset.period === board.period));
  for (const b of $("board-scopes").querySelectorAll("button")) b.setAttribute("aria-selected", String(b.dataset.scope === board.scope));
}

async function loadBoard() {
  selectTabs();
  const mine = ++board.seq;
  const list = clear($("board-list"));
  list.appendChild(el("li", { class: "empty" }, "正在加载…"));
  try {
    const r = await api(`/api/leaderboards/drills?period=${board.period}&scope=${board.scope}`);
    if (mine !== board.seq) return;
    renderBoard(r);
  } catch (err) {
    if (mine !== board.seq) return;
    clear(list);
    list.appendChild(el("li", { class: "empty" }, err.message));
  }
}

function renderBoard(r) {
  const from = Number(r.from);
  const to = Number(r.to);
  const label = `${PERIODS[r.period] || ""}${SCOPES[r.scope] || ""}排行`;
  $("board-range").textContent = Number.isFinite(from) && Number.isFinite(to) && to > from
    ? `${label}：${fmtDate(from)} 至 ${fmtDate(to - 1)}`
    : label;
  $("board-rule").textContent = r.rule ? `计分规则：${r.rule}` : "";
  const me = r.me;
  $("board-me").textContent = me
    ? `我的名次：第 ${me.rank} 名 · ${me.points} 分 · 答对 ${me.correct} 题 · 练习 ${me.days} 天`
    : "本期您还没有练习成绩。";

  const list = clear($("board-list"));
  for (const line of r.top || []) {
    const isMe = !!line.member && ((board.me && line.member === board.me) || (me && me.member === line.member));
    const li = el("li", { class: `${isMe ? "me " : ""}r${line.rank}` });
    li.appendChild(el("span", { class: "rank" }, String(line.rank)));
    const who = el("span", { class: "who" });
    who.appendChild(el("b", {}, line.name));
    if (r.scope === "agency" && line.section) who.appendChild(el("small", {}, line.section));
    li.appendChild(who);
    const pts = el("span", { class: "pts" });
    pts.appendChild(el("b", {}, `${line.points} 分`));
    pts.appendChild(el("small", {}, `答对 ${line.correct} · ${line.days} 天`));
    li.appendChild(pts);
    list.appendChild(li);
  }
  if (!(r.top || []).length) empty(list, "本期还没有人练习，快来争当第一！");
}

$("board-periods").addEventListener("click", (e) => {
  const b = e.target.closest("button[data-period]");
  if (!b || b.dataset.period === board.period) return;
  board.period = b.dataset.period;
  loadBoard();
});
$("board-scopes").addEventListener("click", (e) => {
  const b = e.target.closest("button[data-scope]");
  if (!b || b.dataset.scope === board.scope) return;
  board.scope = b.dataset.scope;
  loadBoard();
});

// ---------- boot ----------
async function boot() {
  const who = api("/api/me").then((m) => { board.me = (m.member || m).id || null; }).catch(() => {});
  try {
    renderHome(await api("/api/me/home"));
  } catch (err) {
    pageError(err.status === 401 ? "登录已失效，请重新登录。" : err.message);
  }
  await who;
  loadBoard();
}

boot();
