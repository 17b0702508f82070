// 考试管理 (/host/exams/{id}), for hosts and admins: the exam's settings; during the window the
// progress (refreshed every 5 s) with each taker's leavings of the page; after it the ranking,
// the score distribution, per-question statistics, team standings and finalists, and the
// actions: 下载成绩, 确认表彰, 晋级选手导入比武, 提前截止.
// API: docs/api.md, “Exam rounds (初赛 / 线上答题) and teams”. Text only ever goes in with
// textContent.
import { $, KINDS, LETTERS, TOPICS, clear, el, show } from "/static/js/dom.js";
import {
  EXAM_STATUS, examPath, fmtSpan, fmtTime, fmtWindow, get, num, post, statusOf,
} from "/static/js/exam_common.js";

const EXAM = $("exam-host").dataset.exam;
const H = { exam: null, results: null, timer: 0, skew: 0 };

const TAKER_STATUS = { in_progress: "答题中", submitted: "已交卷", not_started: "未开始", no_attempts_left: "已交卷" };
const TEAM_BY = { none: "不计团体成绩", section: "以处室为单位", department: "以司室为单位", named: "按代表队" };

function pageError(text) {
  const box = $("page-error");
  box.textContent = text || "";
  show(box, !!text);
}

function say(text, bad = false) {
  const m = $("action-msg");
  m.textContent = text || "";
  m.className = `ex-action-msg${bad ? " warn" : ""}`;
}

const pct = (x) => (Number.isFinite(Number(x)) ? `${Math.round(Number(x) * 100)}%` : "—");
const durationMs = (e) => Number(e.duration_ms) || Number(e.duration_min) * 60000 || 0;

// ---------- settings ----------
function ruleText(rule, unit) {
  if (!rule) return null;
  if (rule.top_n !== undefined) return `成绩前 ${rule.top_n} 名`;
  const min = rule.min_score ?? rule.min_points;
  if (min !== undefined) return `得分不低于 ${min} ${unit}`;
  return null;
}

function renderSettings(e) {
  const s = e.settings || {};
  const rows = [
    ["考试时间", fmtWindow(e.opens_at, e.closes_at)],
    ["答题时长", fmtSpan(durationMs(e))],
    ["题量", `${e.questions ?? "—"} 题，满分 ${e.max_score ?? "—"} 分`],
    ["作答次数", `每人 ${e.max_attempts ?? 1} 次${Number(e.max_attempts) > 1 ? "，取最好成绩" : ""}`],
    ["成绩公布", (s.reveal || e.reveal) === "after_close" ? "考试截止后统一公布" : "交卷后立即显示"],
  ];
  const mix = s.paper?.mix || [];
  if (mix.length) rows.push(["组卷", mix.map((m) => `${TOPICS[m.topic] || m.topic} ${m.count} 题`).join("，")]);
  if (s.paper?.question_ids?.length) rows.push(["组卷", `指定题目 ${s.paper.question_ids.length} 道`]);
  const only = s.paper?.kinds || [];
  rows.push(["题型", only.length ? only.map((k) => KINDS[k] || k).join("、") : "不限"]);
  if (s.points) {
    const kinds = Object.keys(KINDS).filter((k) => s.points[k] !== undefined);
    rows.push(["每题分值", kinds.map((k) => `${KINDS[k]} ${s.points[k]} 分`).join("，")]);
  }
  rows.push(["晋级决赛", ruleText(s.qualify, "分") || "不设晋级"]);
  rows.push(["业务标兵", ruleText(s.award_rule, "分") || "不评选"]);
  const t = s.teams || {};
  let teams = TEAM_BY[t.by || "none"] || t.by;
  if (t.by && t.by !== "none") {
    teams += `，${t.score === "sum" ? "总分" : "平均分"}排名`;
    if (t.absent_as_zero) teams += "，未参加的人员按 0 分计";
    if (Number(t.winners)) teams += `，评选优胜团队 ${t.winners} 个`;
  }
  rows.push(["团体成绩", teams]);
  const scope = s.scope || {};
  const n = (scope.departments?.length || 0) + (scope.sections?.length || 0) + (scope.members?.length || 0);
  rows.push(["参加范围", n ? "指定的司室、处室或人员" : "全体人员"]);
  const dl = clear($("settings"));
  for (const [k, v] of rows) {
    const div = el("div");
    div.appendChild(el("dt", {}, k));
    div.appendChild(el("dd", {}, v));
    dl.appendChild(div);
  }
}

function renderOverview(e) {
  $("exam-title").textContent = e.title || "考试";
  document.title = `${e.title || "考试"} · 考试管理`;
  const st = statusOf(e, Date.now() + H.skew);
  const [label, cls] = EXAM_STATUS[st] || [st, "wait"];
  const pill = $("exam-status");
  pill.textContent = label;
  pill.className = `ex-status ${cls}`;
  renderSettings(e);
  $("download-xlsx").href = examPath(EXAM, "/report.xlsx");
  $("download-csv").href = examPath(EXAM, "/report.csv");
  $("take-link").href = `/exam/${encodeURIComponent(EXAM)}`;
  show($("take-link"), st === "open" || st === "closing");
  show($("cancel"), st === "open" || st === "scheduled");
  if (!(st === "open" || st === "scheduled")) show($("cancel-confirm"), false);
  show($("overview"), true);
}

// ---------- progress ----------
function renderProgress(p) {
  $("p-eligible").textContent = p.eligible ?? 0;
  $("p-started").textContent = p.started ?? 0;
  $("p-running").textContent = p.in_progress ?? 0;
  $("p-submitted").textContent = p.submitted ?? 0;
  const body = clear($("takers-body"));
  for (const t of p.takers || []) {
    const tr = el("tr", { class: Number(t.leaves) > 0 ? "left" : "" });
    tr.appendChild(el("th", { scope: "row" }, t.name || t.staff_no || ""));
    tr.appendChild(el("td", {}, [t.department, t.section].filter(Boolean).join(" ")));
    tr.appendChild(el("td", {}, TAKER_STATUS[t.status] || t.status || ""));
    tr.appendChild(el("td", {}, t.answered ?? 0));
    tr.appendChild(el("td", { class: Number(t.leaves) > 0 ? "warn" : "" }, t.leaves ?? 0));
    tr.appendChild(el("td", {}, t.score === null || t.score === undefined ? "—" : num(t.score)));
    tr.appendChild(el("td", {}, t.attempts ?? ""));
    body.appendChild(tr);
  }
  show($("takers-empty"), body.childElementCount === 0);
  const st = statusOf(H.exam, Date.now() + H.skew);
  $("progress-note").textContent = st === "open" || st === "closing"
    ? `考试进行中，每 5 秒自动刷新（${fmtTime(Date.now())}）。`
    : st === "scheduled" ? `考试将于 ${fmtTime(H.exam.opens_at)} 开始。` : "考试已结束。";
  show($("progress"), true);
}

// ---------- results ----------
function renderRanking(r) {
  const body = clear($("ranking-body"));
  for (const row of r.ranking || []) {
    const tr = el("tr", { class: row.finalist ? "finalist" : "" });
    tr.appendChild(el("td", {}, row.rank ?? ""));
    tr.appendChild(el("th", { scope: "row" }, row.name || row.staff_no || ""));
    tr.appendChild(el("td", {}, [row.department, row.section].filter(Boolean).join(" ")));
    tr.appendChild(el("td", {}, num(row.score)));
    tr.appendChild(el("td", {}, row.correct ?? ""));
    tr.appendChild(el("td", {}, fmtSpan(row.time_used_ms)));
    tr.appendChild(el("td", {}, row.attempts ?? ""));
    tr.appendChild(el("td", { class: Number(row.leaves) > 0 ? "warn" : "" }, row.leaves ?? 0));
    tr.appendChild(el("td", {}, row.finalist ? "✓ 晋级" : ""));
    tr.appendChild(el("td", {}, row.proposed ? "★ 业务标兵" : ""));
    body.appendChild(tr);
  }
  show($("ranking-empty"), body.childElementCount === 0);
}

function renderHistogram(r) {
  const list = clear($("histogram"));
  const bands = r.histogram || [];
  const top = Math.max(1, ...bands.map((b) => Number(b.count) || 0));
  bands.forEach((b, i) => {
    const last = i === bands.length - 1;
    const range = `${num(b.from)}–${num(b.to)}${last ? "" : "（不含）"}`;
    const li = el("li", { "aria-label": `${range} 分：${b.count} 人` });
    li.appendChild(el("span", { class: "count", "aria-hidden": "true" }, b.count));
    const bar = el("span", { class: "bar", "aria-hidden": "true" });
    bar.style.transform = `scaleY(${(Number(b.count) || 0) / top})`;
    const track = el("span", { class: "track", "aria-hidden": "true" });
    track.appendChild(bar);
    li.appendChild(track);
    li.appendChild(el("span", { class: "range", "aria-hidden": "true" }, `${num(b.from)}–${num(b.to)}`));
    list.appendChild(li);
  });
}

function renderQuestions(r) {
  const list = clear($("question-stats"));
  for (const q of r.questions || []) {
    const li = el("li", { class: "ex-qstat" });
    const head = el("p", { class: "head" });
    head.appendChild(el("b", {}, `第 ${Number(q.position) + 1} 题`));
    head.appendChild(el("span", {}, ` ${KINDS[q.kind] || q.kind || ""} · ${TOPICS[q.topic] || q.topic || ""} · ${q.question_id || ""}`));
    li.appendChild(head);
    li.appendChild(el("p", { class: "stem" }, q.stem || ""));
    const share = Number(q.share_right);
    const line = el("div", { class: "share" });
    line.appendChild(el("span", {}, `答对率 ${pct(q.share_right)}（${q.right ?? 0} / ${q.answered ?? 0}）`));
    const track = el("span", { class: "track", "aria-hidden": "true" });
    const fill = el("span", { class: `fill${share < 0.4 ? " low" : ""}` });
    fill.style.width = `${Math.round((Number.isFinite(share) ? share : 0) * 100)}%`;
    track.appendChild(fill);
    line.appendChild(track);
    li.appendChild(line);
    if ((q.options || []).length) {
      const ul = el("ul", { class: "picks" });
      q.options.forEach((o, j) => {
        const letter = o.letter || LETTERS[j];
        const row = el("li", { class: o.key ? "key" : "" });
        row.appendChild(el("span", {}, `${letter}. ${o.text ?? ""}`));
        row.appendChild(el("span", { class: "n" }, `${o.picked ?? 0} 人${o.key ? "（正确答案）" : ""}`));
        ul.appendChild(row);
      });
      li.appendChild(ul);
    }
    list.appendChild(li);
  }
}

function renderTeams(r) {
  const teams = r.teams || [];
  const body = clear($("teams-body"));
  for (const t of teams) {
    const tr = el("tr");
    tr.appendChild(el("td", {}, t.rank ?? "—"));
    tr.appendChild(el("th", { scope: "row" }, t.name || ""));
    tr.appendChild(el("td", {}, t.score === null || t.score === undefined ? "—" : num(t.score)));
    tr.appendChild(el("td", {}, `${t.took_part ?? 0} / ${t.size ?? 0}`));
    body.appendChild(tr);
  }
  show($("teams-card"), teams.length > 0);
}

function renderFinalists(r) {
  const names = new Map((r.ranking || []).map((x) => [x.member_id, x]));
  const ids = r.finalists || [];
  const ul = clear($("finalists"));
  for (const id of ids) {
    const x = names.get(id);
    ul.appendChild(el("li", {}, x ? `${x.name}（${x.section || x.department || ""}，${num(x.score)} 分）` : id));
  }
  show($("finalists-empty"), ids.length === 0);
  show($("carry-box"), ids.length > 0);
  if (ids.length) loadCompetitions();
}

function renderAwards(r) {
  const proposed = (r.ranking || []).filter((x) => x.proposed).map((x) => x.name);
  const done = !!(r.awards_confirmed ?? H.exam?.awards_confirmed);
  $("awards-note").textContent = done
    ? "本场考试的表彰已确认，可在光荣榜查看并打印荣誉证书。"
    : proposed.length
      ? `按评选规则，拟表彰业务标兵 ${proposed.length} 名：${proposed.join("、")}。确认后写入光荣榜，并生成荣誉证书。`
      : "按评选规则没有拟表彰的人员；如设团体成绩，确认后表彰优胜团队。";
  $("awards").disabled = done;
}

function renderResults(r) {
  H.results = r;
  renderRanking(r);
  renderHistogram(r);
  renderQuestions(r);
  renderTeams(r);
  renderFinalists(r);
  renderAwards(r);
  show($("results"), true);
}

// ---------- loading and the 5-second refresh ----------
async function loadExam() {
  const e = await get(examPath(EXAM));
  if (Number.isFinite(Number(e.now))) H.skew = Number(e.now) - Date.now();
  H.exam = e;
  renderOverview(e);
  return e;
}

async function refresh() {
  try {
    const e = await loadExam();
    const st = statusOf(e, Date.now() + H.skew);
    const p = await get(examPath(EXAM, "/progress"));
    renderProgress(p);
    if (st === "closed" || st === "cancelled" || st === "closing") {
      const r = await get(examPath(EXAM, "/results"));
      if (r.closed !== false) {
        renderResults(r);
        // Attempts still running after the close are handed in at their own deadlines:
        // keep following until every one is in.
        if (st === "closed" || Number(p.in_progress) === 0) {
          stopPolling();
          return true;
        }
      }
    }
    pageError("");
  } catch (err) {
    if (err.status === 401) pageError("登录已失效，请重新登录。");
    else if (err.status !== 0) pageError(err.message);
  } finally {
    show($("loading"), false);
  }
  return false;
}

function startPolling() {
  stopPolling();
  H.timer = setInterval(() => {
    if (document.visibilityState === "visible") refresh();
  }, 5000);
}

function stopPolling() {
  clearInterval(H.timer);
  H.timer = 0;
}

// ---------- actions ----------
$("cancel").addEventListener("click", () => {
  show($("cancel-confirm"), true);
  $("cancel-no").focus();
});
$("cancel-no").addEventListener("click", () => {
  show($("cancel-confirm"), false);
  $("cancel").focus();
});
$("cancel-yes").addEventListener("click", async () => {
  const btn = $("cancel-yes");
  btn.disabled = true;
  try {
    await post(examPath(EXAM, "/cancel"), {});
    show($("cancel-confirm"), false);
    say("考试已截止，不能再开始答题。正在答题的人员到各自的答题时间结束时自动交卷。");
    const final = await refresh();
    if (!final && H.timer === 0) startPolling();
  } catch (err) {
    say(err.message, true);
  } finally {
    btn.disabled = false;
  }
});

$("awards").addEventListener("click", async () => {
  if (!window.confirm("确认表彰后将写入光荣榜并生成荣誉证书，且只能确认一次。确定吗？")) return;
  const btn = $("awards");
  btn.disabled = true;
  try {
    const r = await post(examPath(EXAM, "/awards"), {});
    const a = (r.awards || []).length;
    const t = (r.team_awards || []).length;
    $("awards-note").textContent = `已确认表彰：业务标兵 ${a} 名${t ? `，优胜团队 ${t} 个` : ""}。可在光荣榜查看并打印荣誉证书。`;
    say("表彰已确认。");
  } catch (err) {
    if (err.status === 409) {
      $("awards-note").textContent = "本场考试的表彰已经确认过，可在光荣榜查看。";
    } else {
      btn.disabled = false;
      say(err.message, true);
    }
  }
});

let competitionsLoaded = false;
async function loadCompetitions() {
  if (competitionsLoaded) return;
  competitionsLoaded = true;
  const sel = clear($("carry-competition"));
  try {
    const list = await get("/api/competitions");
    const waiting = (Array.isArray(list) ? list : list.competitions || []).filter((c) => !c.status || c.status === "lobby");
    for (const c of waiting) {
      sel.appendChild(el("option", { value: c.id }, `${c.title}（口令 ${c.pin}，${fmtTime(c.created_at)} 创建）`));
    }
    if (!waiting.length) sel.appendChild(el("option", { value: "" }, "没有尚未开始的比武，请先在“主持”页面创建"));
    $("carry").disabled = waiting.length === 0;
  } catch (err) {
    competitionsLoaded = false;
    say(err.message, true);
  }
}

$("carry").addEventListener("click", async () => {
  const id = $("carry-competition").value;
  if (!id) return;
  const btn = $("carry");
  btn.disabled = true;
  try {
    await post(examPath(EXAM, "/finalists/carry"), { competition_id: id });
    const n = (H.results?.finalists || []).length;
    const title = $("carry-competition").selectedOptions[0]?.textContent || "";
    say(`已将 ${n} 名晋级选手导入“${title.replace(/（.*$/, "")}”。该场比武只允许晋级选手参加。`);
  } catch (err) {
    say(err.message, true);
  } finally {
    btn.disabled = false;
  }
});

// ---------- boot ----------
(async () => {
  if (!(await refresh())) startPolling();
})();
