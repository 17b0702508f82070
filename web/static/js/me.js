// 我的 (/me): practice streak, this week against the section's target, the section's open
// 练兵任务 (links to /drill?task=ID), the published 小结点评 with the head's comment addressed to
// me, accuracy per topic (an inline SVG bar chart), drill and competition history, own awards,
// notebook counts and the drill leaderboards (本周/本月/本季度 × 本处/全局).
// API: docs/api.md (GET /api/me/home, GET /api/leaderboards/drills), GET /api/tasks,
// GET /api/me/reviews. Text goes in with textContent only.
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
    if (a.certificate) body.appendChild(el("a", { href: a.certificate, class: "line2" }, "荣誉证书"));
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

// ---------- 练兵任务 ----------
const TASK_STATES = { none: ["未开始", "sc-pill"], started: ["进行中", "sc-pill warn"], done: ["已完成", "sc-pill ok"] };
const TASK_LINKS = { none: "开始", started: "继续", done: "查看结果" };

async function loadTasks() {
  let list = [];
  try {
    const r = await api("/api/tasks");
    list = Array.isArray(r) ? r : r.tasks || [];
  } catch (_) {
    list = []; // no section, or not logged in: no card
  }
  const ul = clear($("my-tasks"));
  for (const t of list) {
    const status = TASK_STATES[t.status] ? t.status : "none";
    const li = el("li", { class: `sc-mtask ${status}`, dataset: { task: t.id } });
    const info = el("div");
    info.appendChild(el("span", { class: "title" }, t.title || "练兵任务"));
    const meta = [t.due ? `截止 ${fmtDate(t.due).replace(/^\d{4}年/, "")}` : "", `${Number(t.count) || 0} 题`, t.timed ? "限时" : ""];
    info.appendChild(el("span", { class: "meta" }, meta.filter(Boolean).join(" · ")));
    const st = el("span", { class: "state" });
    const [label, cls] = TASK_STATES[status];
    st.appendChild(el("span", { class: cls }, label));
    if (status === "done") st.appendChild(el("span", { class: "sc-pill" }, `答对 ${Number(t.correct) || 0} / ${Number(t.answered) || 0}`));
    if (t.overdue && status !== "done") st.appendChild(el("span", { class: "sc-pill bad" }, "已过截止日期"));
    info.appendChild(st);
    li.appendChild(info);
    if (status !== "done" || t.drill_id) {
      const text = TASK_LINKS[status];
      li.appendChild(el("a", {
        class: status === "done" ? "sc-btn secondary small sc-mtask-go" : "sc-btn small sc-mtask-go",
        href: `/drill?task=${encodeURIComponent(t.id)}`, "aria-label": `${text}：${t.title || "练兵任务"}`,
      }, text));
    }
    ul.appendChild(li);
  }
  show($("my-tasks-card"), list.length > 0);
}

// ---------- 小结点评 ----------
const EXCERPT = 200;

/** "2026年11月23日至29日" / "…至12月6日": a review's period, the repeated parts left out. */
function fmtRange(from, to) {
  const a = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(from ?? ""));
  const b = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(to ?? ""));
  if (!a || !b) return `${fmtDate(from)}至${fmtDate(to)}`;
  if (a[1] !== b[1]) return `${fmtDate(from)}至${fmtDate(to)}`;
  const end = a[2] === b[2] ? `${Number(b[3])}日` : `${Number(b[2])}月${Number(b[3])}日`;
  return `${fmtDate(from)}至${end}`;
}

function reviewItem(r, i) {
  const li = el("li", { class: "sc-mreview", dataset: { review: r.id } });
  li.appendChild(el("h3", {}, `${r.section ? `${r.section} · ` : ""}${fmtRange(r.from, r.to)}`));
  const meta = [`第${Number(r.version) || 1}版`, r.published_at ? `${fmtDate(r.published_at)}发布` : ""];
  li.appendChild(el("p", { class: "meta" }, meta.filter(Boolean).join(" · ")));

  const mine = r.my_comment;
  const praise = (mine?.praise || "").trim();
  const improve = (mine?.improve || "").trim();
  if (praise || improve) {
    const box = el("div", { class: "sc-mycomment" });
    box.appendChild(el("h4", {}, "对我的点评"));
    for (const [text, key, label] of [[praise, "praise", "肯定成绩"], [improve, "improve", "指出不足"]]) {
      if (!text) continue;
      const p = el("p");
      p.appendChild(el("span", { class: `lab ${key}` }, `${label}：`));
      p.appendChild(document.createTextNode(text));
      box.appendChild(p);
    }
    li.appendChild(box);
  }

  const full = String(r.body || "").trim();
  const chars = Array.from(full);
  const long = chars.length > EXCERPT;
  const short = long ? `${chars.slice(0, EXCERPT).join("")}…` : full;
  const bodyId = `my-review-body-${i}`;
  const body = el("p", { class: "sc-mbody", id: bodyId }, short || "（无正文）");
  li.appendChild(body);
  if (long) {
    const more = el("button", { type: "button", class: "sc-link sc-more", "aria-expanded": "false", "aria-controls": bodyId }, "展开全文");
    more.addEventListener("click", () => {
      const open = more.getAttribute("aria-expanded") !== "true";
      body.textContent = open ? full : short;
      more.setAttribute("aria-expanded", String(open));
      more.textContent = open ? "收起" : "展开全文";
    });
    li.appendChild(more);
  }

  const remarks = r.remarks || [];
  if (remarks.length) {
    const ul = el("ul", { class: "sc-mremarks", "aria-label": "领导点评" });
    for (const m of remarks) {
      const item = el("li");
      item.appendChild(el("span", { class: "by" }, [m.author ? `${m.author}点评` : "点评", fmtDate(m.at)].filter(Boolean).join(" · ")));
      item.appendChild(document.createTextNode(m.body || ""));
      ul.appendChild(item);
    }
    li.appendChild(ul);
  }
  return li;
}

async function loadReviews() {
  const holder = $("my-reviews");
  try {
    const r = await api("/api/me/reviews");
    const list = (Array.isArray(r) ? r : r.reviews || [])
      .map((x, i) => ({ x, i }))
      .sort((a, b) => {
        const ka = String(a.x.published_at || a.x.to || "");
        const kb = String(b.x.published_at || b.x.to || "");
        return ka < kb ? 1 : ka > kb ? -1 : a.i - b.i;
      })
      .map((o) => o.x);
    clear(holder);
    if (!list.length) {
      holder.appendChild(el("p", { class: "dr-muted" }, "暂无小结点评"));
      return;
    }
    const ul = el("ul", { class: "sc-mreviews", id: "my-reviews-list" });
    list.forEach((x, i) => ul.appendChild(reviewItem(x, i)));
    holder.appendChild(ul);
  } catch (err) {
    clear(holder);
    holder.appendChild(el("p", { class: "dr-muted" }, err.status === 401 ? "登录后可查看小结点评。" : err.message));
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
  loadTasks();
  loadReviews();
  try {
    renderHome(await api("/api/me/home"));
  } catch (err) {
    pageError(err.status === 401 ? "登录已失效，请重新登录。" : err.message);
  }
  await who;
  loadBoard();
}

boot();
