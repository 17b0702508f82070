// 线上答题 (/exam/{id}), phone first: the rules and 开始答题, then one question per screen with
// a palette of question numbers, each answer saved at once (unsaved ones are kept here and
// sent again until the server has them), the server's countdown, 交卷 with a check of what is
// unanswered or marked, and the result with the review when it is shown.
// The clock is the server's: every response brings `remaining_ms` and the countdown is set
// from it again. A reload resumes from GET /api/exams/{id}/attempt.
// API: docs/api.md, “Exam rounds (初赛 / 线上答题) and teams”. Text only ever goes in with
// textContent.
import { $, KINDS, LETTERS, TOPICS, clear, el, show, showCase } from "/static/js/dom.js";
import {
  EXAM_STATUS, examPath, fmtClock, fmtSpan, fmtTime, fmtWindow, get, num, post, put, statusOf,
} from "/static/js/exam_common.js";

const EXAM = $("exam-page").dataset.exam;
const POS_KEY = `biwu.exam.${EXAM}.at`;

const S = {
  exam: null, // GET /api/exams/{id}
  attempt: null, // the attempt state while it runs
  qs: [], // its questions, with the answers given here
  cur: 0,
  pending: new Map(), // n → {response, marked, v}: given here, not yet stored by the server
  inflight: new Set(),
  version: 0,
  failed: false, // the last save did not reach the server
  retryTimer: 0,
  retryDelay: 2000,
  deadline: 0, // performance.now() at which the attempt's time is up
  ticker: 0,
  alerted: new Set(),
  over: true, // no attempt running here (not started, submitted, or time up)
  everSaved: false,
};

// ---------- views ----------
function view(name) {
  show($("loading"), name === "loading");
  show($("intro"), name === "intro");
  show($("run"), name === "run");
  show($("confirm"), name === "confirm");
  show($("result"), name === "result");
  window.scrollTo(0, 0);
}

function pageError(text, loginLink) {
  const box = clear($("page-error"));
  if (!text) {
    show(box, false);
    return;
  }
  box.appendChild(document.createTextNode(text));
  if (loginLink) {
    box.appendChild(document.createTextNode(" "));
    box.appendChild(el("a", { href: `/login?next=${encodeURIComponent(location.pathname)}` }, "重新登录"));
  }
  show(box, true);
}

function boxError(id, text) {
  const box = $(id);
  box.textContent = text || "";
  show(box, !!text);
}

const kindName = (q) => q.kind_name || KINDS[q.kind] || q.kind || "";
const topicName = (q) => q.topic_name || TOPICS[q.topic] || q.topic || "";
const isAnswered = (q) => q.response !== null && q.response !== undefined;
const durationMs = (e) => Number(e.duration_ms) || Number(e.duration_min) * 60000 || 0;

// ---------- 考试须知 ----------
function revealText(exam) {
  const reveal = exam.settings?.reveal || exam.reveal;
  return reveal === "after_close" ? "考试截止后统一公布成绩和答案" : "交卷后立即显示成绩和答案";
}

function attemptsUsed(exam) {
  return Array.isArray(exam.attempts) ? exam.attempts.length : Number(exam.attempts) || 0;
}

function renderIntro(exam) {
  $("intro-title").textContent = exam.title || "线上答题";
  $("intro-window").textContent = `考试时间：${fmtWindow(exam.opens_at, exam.closes_at)}`;
  const max = Number(exam.max_attempts) || 1;
  const used = attemptsUsed(exam);
  const left = Math.max(0, max - used);
  const rules = clear($("intro-rules"));
  const items = [
    ["答题时长", `${fmtSpan(durationMs(exam))}，从点击“开始答题”起计时，时间到自动交卷`],
    ["题目数量", `共 ${exam.questions ?? "—"} 题${exam.max_score ? `，满分 ${exam.max_score} 分` : ""}`],
    ["作答次数", max > 1 ? `可作答 ${max} 次，取最好成绩；还可作答 ${left} 次` : `限作答 1 次${left ? "" : "，已作答"}`],
    ["成绩公布", revealText(exam)],
    ["答案保存", "每道题作答后自动保存，网络中断时会自动重试"],
  ];
  for (const [k, v] of items) {
    const li = el("li");
    li.appendChild(el("b", {}, `${k}：`));
    li.appendChild(document.createTextNode(v));
    rules.appendChild(li);
  }
  const st = statusOf(exam);
  const open = st === "open";
  const start = $("start");
  start.textContent = "开始答题";
  show(start, open && left > 0);
  show($("show-result"), used > 0);
  let note = "";
  if (st === "scheduled") note = `考试尚未开始，将于 ${fmtTime(exam.opens_at)} 开放答题。`;
  else if (!open) note = `考试${(EXAM_STATUS[st] || ["已结束"])[0]}。`;
  else if (left === 0) note = "您的作答次数已用完。";
  boxError("start-error", note);
  view("intro");
}

async function startAttempt(btn) {
  boxError("start-error", "");
  pageError("");
  btn.disabled = true;
  const label = btn.textContent;
  btn.textContent = "正在准备试卷…";
  try {
    const att = await post(examPath(EXAM, "/attempts"), {});
    try { sessionStorage.removeItem(POS_KEY); } catch (_) { /* private mode */ }
    run(att, true);
  } catch (err) {
    if (err.status === 401) pageError("登录已失效，请重新登录后继续。", true);
    else if (btn.id === "again") pageError(err.message);
    else boxError("start-error", err.message);
  } finally {
    btn.disabled = false;
    btn.textContent = label;
  }
}

$("start").addEventListener("click", () => startAttempt($("start")));
$("again").addEventListener("click", () => startAttempt($("again")));
$("show-result").addEventListener("click", () => loadResult());

// ---------- the running attempt ----------
function run(att, fresh) {
  S.attempt = att;
  S.qs = (att.questions || []).map((q, i) => ({
    ...q, n: q.n ?? i, response: q.response ?? null, marked: !!q.marked,
  }));
  S.pending.clear();
  S.failed = false;
  S.over = false;
  S.alerted = new Set();
  let at = 0;
  if (!fresh) {
    try { at = Number(sessionStorage.getItem(POS_KEY)) || 0; } catch (_) { at = 0; }
  }
  S.cur = Math.min(Math.max(0, at), Math.max(0, S.qs.length - 1));
  sync(att.remaining_ms);
  startTicker();
  view("run");
  renderQuestion();
  saveState();
}

function sync(remainingMs) {
  if (remainingMs === undefined || remainingMs === null) return;
  S.deadline = performance.now() + Math.max(0, Number(remainingMs) || 0);
  tick();
}

function startTicker() {
  clearInterval(S.ticker);
  S.ticker = setInterval(tick, 250);
}

function tick() {
  if (S.over) return;
  const left = S.deadline - performance.now();
  $("clock-num").textContent = fmtClock(left);
  $("clock").classList.toggle("low", left <= 5 * 60000);
  for (const [mark, text] of [[5 * 60000, "剩余 5 分钟，请抓紧作答"], [60000, "剩余 1 分钟，时间到将自动交卷"]]) {
    if (left <= mark && left > 0 && !S.alerted.has(mark)) {
      S.alerted.add(mark);
      $("clock-alert").textContent = text;
    }
  }
  if (left <= 0) timeUp();
}

function answeredCount() {
  return S.qs.filter(isAnswered).length;
}

function renderPalette() {
  const list = clear($("palette-list"));
  S.qs.forEach((q, i) => {
    const answered = isAnswered(q);
    const states = [answered ? "已作答" : "未作答"];
    if (q.marked) states.push("已标记");
    if (i === S.cur) states.push("当前题");
    const cls = ["ex-chip", answered ? "answered" : "", q.marked ? "marked" : "", i === S.cur ? "current" : ""].filter(Boolean).join(" ");
    const b = el("button", {
      type: "button", class: cls, dataset: { n: i }, "aria-label": `第 ${i + 1} 题，${states.join("，")}`,
      "aria-current": i === S.cur ? "step" : undefined,
    }, i + 1);
    const li = el("li");
    li.appendChild(b);
    list.appendChild(li);
  });
  $("progress-text").textContent = `第 ${S.cur + 1} 题 · 已答 ${answeredCount()} / ${S.qs.length}`;
}

function legendFor(kind) {
  return {
    single: "请选择一个选项",
    multiple: "请选择全部正确选项（可多选，全部选对才得分）",
    truefalse: "请判断正误",
    fill: "请填写答案",
    numeric: "请填写数值",
    date: "请选择日期",
  }[kind] || "请作答";
}

function choiceInput(q, type, value, label, letter, checked) {
  const lab = el("label", { class: "ex-opt" });
  const input = el("input", { type, name: `q${q.n}`, value, checked });
  lab.appendChild(input);
  if (letter) lab.appendChild(el("span", { class: "letter", "aria-hidden": "true" }, letter));
  lab.appendChild(el("span", { class: "text" }, label));
  return lab;
}

function renderQuestion() {
  const q = S.qs[S.cur];
  if (!q) return;
  try { sessionStorage.setItem(POS_KEY, String(S.cur)); } catch (_) { /* private mode */ }
  $("q-pos").textContent = `第 ${S.cur + 1} / ${S.qs.length} 题`;
  $("q-kind").textContent = kindName(q);
  $("q-points").textContent = `${q.points ?? "—"} 分`;
  $("q-topic").textContent = topicName(q);
  showCase($("case"), q.case);
  $("stem").textContent = q.stem || "";
  $("answer-legend").textContent = legendFor(q.kind);

  const opts = clear($("options"));
  const r = q.response;
  if (q.kind === "single" || q.kind === "multiple") {
    const chosen = r && r.type === "choice" ? String(r.value) : "";
    (q.options || []).forEach((text, i) => {
      const l = LETTERS[i];
      opts.appendChild(choiceInput(q, q.kind === "single" ? "radio" : "checkbox", l, text, l, chosen.includes(l)));
    });
    opts.className = `ex-options ${q.kind}`;
  } else if (q.kind === "truefalse") {
    const v = r && r.type === "truefalse" ? r.value : null;
    opts.appendChild(choiceInput(q, "radio", "true", "正确", "", v === true));
    opts.appendChild(choiceInput(q, "radio", "false", "错误", "", v === false));
    opts.className = "ex-options tf";
  } else {
    opts.className = "ex-options";
  }
  show(opts, opts.childElementCount > 0);

  const input = $("text-input");
  const typed = !["single", "multiple", "truefalse"].includes(q.kind);
  show($("input-row"), typed);
  if (typed) {
    input.type = q.kind === "date" ? "date" : "text";
    input.inputMode = q.kind === "numeric" ? "decimal" : "text";
    input.maxLength = 200;
    input.value = r && r.value !== undefined && r.value !== null ? String(r.value) : "";
    $("input-label").textContent = { fill: "您的答案", numeric: "数值", date: "日期" }[q.kind] || "答案";
    $("unit").textContent = q.unit || "";
  }

  const mark = $("mark");
  mark.setAttribute("aria-pressed", String(!!q.marked));
  $("mark-text").textContent = q.marked ? "已标记" : "标记";
  $("prev").disabled = S.cur === 0;
  $("next").disabled = S.cur >= S.qs.length - 1;
  renderPalette();
  saveState();
}

function go(n) {
  if (n < 0 || n >= S.qs.length) return;
  commitTyped();
  S.cur = n;
  renderQuestion();
  window.scrollTo(0, 0);
}

$("prev").addEventListener("click", () => go(S.cur - 1));
$("next").addEventListener("click", () => go(S.cur + 1));
$("palette-list").addEventListener("click", (e) => {
  const b = e.target.closest("button[data-n]");
  if (!b) return;
  togglePalette(false);
  go(Number(b.dataset.n));
  $("q-pos").setAttribute("tabindex", "-1");
  $("q-pos").focus({ preventScroll: true });
});

function togglePalette(open) {
  const on = open ?? $("palette").hidden;
  show($("palette"), on);
  $("palette-toggle").setAttribute("aria-expanded", String(on));
}
$("palette-toggle").addEventListener("click", () => togglePalette());

$("mark").addEventListener("click", () => {
  const q = S.qs[S.cur];
  if (!q || S.over) return;
  q.marked = !q.marked;
  $("mark").setAttribute("aria-pressed", String(q.marked));
  $("mark-text").textContent = q.marked ? "已标记" : "标记";
  queue(S.cur);
});

// ---------- answers ----------
$("options").addEventListener("change", () => {
  const q = S.qs[S.cur];
  if (!q || S.over) return;
  const checked = [...$("options").querySelectorAll("input:checked")].map((i) => i.value);
  let response = null;
  if (q.kind === "truefalse") response = checked.length ? { type: "truefalse", value: checked[0] === "true" } : null;
  else if (checked.length) response = { type: "choice", value: checked.sort().join("") };
  q.response = response;
  queue(S.cur);
});

let typingTimer = 0;
/** The typed answer of the question on screen, saved when it changed. */
function commitTyped() {
  clearTimeout(typingTimer);
  const q = S.qs[S.cur];
  if (!q || S.over || ["single", "multiple", "truefalse"].includes(q.kind)) return;
  const raw = $("text-input").value.trim();
  let response = null;
  if (raw !== "") {
    if (q.kind === "numeric") {
      const n = Number(raw.replace(/[，,]/g, ""));
      if (!Number.isFinite(n)) {
        saveState("请填写数字（可带小数点）");
        return;
      }
      response = { type: "number", value: n };
    } else if (q.kind === "date") {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(raw)) return;
      response = { type: "date", value: raw };
    } else {
      response = { type: "text", value: raw };
    }
  }
  if (JSON.stringify(response) === JSON.stringify(q.response)) return;
  q.response = response;
  queue(S.cur);
}

$("text-input").addEventListener("input", () => {
  clearTimeout(typingTimer);
  typingTimer = setTimeout(commitTyped, 700);
});
$("text-input").addEventListener("change", commitTyped);
$("text-input").addEventListener("keydown", (e) => {
  if (e.key === "Enter") {
    e.preventDefault();
    commitTyped();
  }
});

function queue(n) {
  const q = S.qs[n];
  S.pending.set(n, { response: q.response, marked: q.marked, v: ++S.version });
  renderPalette();
  saveState();
  flush();
}

/** Sends every answer the server does not have yet (one request at a time per question). */
function flush() {
  if (S.over) return Promise.resolve();
  const sends = [];
  for (const [n, entry] of S.pending) {
    if (!S.inflight.has(n)) sends.push(send(n, entry));
  }
  return Promise.all(sends);
}

async function send(n, entry) {
  S.inflight.add(n);
  saveState();
  let again = false;
  try {
    const r = await put(examPath(EXAM, `/attempt/answers/${n}`), { response: entry.response, marked: entry.marked });
    if (S.pending.get(n)?.v === entry.v) S.pending.delete(n);
    else again = true; // changed meanwhile: send the newer one
    S.failed = false;
    S.everSaved = true;
    S.retryDelay = 2000;
    sync(r.remaining_ms);
  } catch (err) {
    if (err.status === 409) {
      S.inflight.delete(n);
      ended(err);
      return;
    }
    if (err.status === 422 || err.status === 400) {
      // The server will never take this one: say so and keep the rest going.
      if (S.pending.get(n)?.v === entry.v) S.pending.delete(n);
      S.inflight.delete(n);
      saveState(`第 ${n + 1} 题未能保存：${err.message}`);
      return;
    }
    S.failed = true;
    if (err.status === 401) pageError("登录已失效，答案暂存在本页，请重新登录后继续。", true);
    scheduleRetry();
  } finally {
    S.inflight.delete(n);
  }
  saveState();
  if (again) flush();
}

function scheduleRetry() {
  if (S.retryTimer || S.over) return;
  S.retryTimer = setTimeout(() => {
    S.retryTimer = 0;
    flush();
  }, S.retryDelay);
  S.retryDelay = Math.min(S.retryDelay * 2, 15000);
}

function retryNow() {
  clearTimeout(S.retryTimer);
  S.retryTimer = 0;
  S.retryDelay = 2000;
  flush();
}
$("retry").addEventListener("click", retryNow);
window.addEventListener("online", retryNow);

/** The save state under the question: 已保存, 正在保存…, or what is waiting for the network. */
function saveState(message) {
  const box = $("save-state");
  const waiting = S.pending.size;
  let text;
  let cls = "ex-save";
  if (message) {
    text = message;
    cls += " warn";
  } else if (S.failed && waiting) {
    text = `网络异常：${waiting} 道题的答案尚未保存，已暂存在本页，正在自动重试`;
    cls += " warn";
  } else if (waiting || S.inflight.size) {
    text = "正在保存…";
    cls += " busy";
  } else if (S.everSaved || isAnswered(S.qs[S.cur] || {})) {
    text = "✓ 已保存";
    cls += " ok";
  } else {
    text = "作答后自动保存";
  }
  if (box.textContent !== text) box.textContent = text;
  box.className = cls;
  show($("retry"), S.failed && waiting > 0);
}

// ---------- 交卷 ----------
function jumpList(id, ns) {
  const ul = clear($(id));
  for (const n of ns) {
    const li = el("li");
    li.appendChild(el("button", { type: "button", class: "ex-chip", dataset: { n }, "aria-label": `返回第 ${n + 1} 题` }, n + 1));
    ul.appendChild(li);
  }
  show($(`${id}-box`), ns.length > 0);
}

$("submit").addEventListener("click", () => {
  commitTyped();
  const unanswered = S.qs.map((q, i) => (isAnswered(q) ? -1 : i)).filter((i) => i >= 0);
  const marked = S.qs.map((q, i) => (q.marked ? i : -1)).filter((i) => i >= 0);
  let summary = `共 ${S.qs.length} 题，已作答 ${S.qs.length - unanswered.length} 题`;
  summary += unanswered.length ? `，还有 ${unanswered.length} 题未作答（不得分）。` : "，全部作答。";
  if (marked.length) summary += `有 ${marked.length} 题标记为待检查。`;
  $("confirm-summary").textContent = summary;
  jumpList("confirm-unanswered", unanswered);
  jumpList("confirm-marked", marked);
  boxError("confirm-error", "");
  view("confirm");
  $("confirm-title").setAttribute("tabindex", "-1");
  $("confirm-title").focus();
});

for (const id of ["confirm-unanswered", "confirm-marked"]) {
  $(id).addEventListener("click", (e) => {
    const b = e.target.closest("button[data-n]");
    if (!b) return;
    view("run");
    go(Number(b.dataset.n));
  });
}
$("confirm-back").addEventListener("click", () => {
  view("run");
  renderQuestion();
});

$("confirm-submit").addEventListener("click", async () => {
  const btn = $("confirm-submit");
  btn.disabled = true;
  boxError("confirm-error", "");
  try {
    await flush();
    if (S.over) return;
    if (S.pending.size) {
      boxError("confirm-error", `还有 ${S.pending.size} 道题的答案未能保存，请检查网络后再交卷。`);
      return;
    }
    const r = await post(examPath(EXAM, "/attempt/submit"), {});
    finish();
    showResult(r, false);
  } catch (err) {
    if (err.status === 409) ended(err);
    else if (err.status === 401) pageError("登录已失效，请重新登录后交卷。", true);
    else boxError("confirm-error", err.message);
  } finally {
    btn.disabled = false;
  }
});

function finish() {
  S.over = true;
  clearInterval(S.ticker);
  clearTimeout(S.retryTimer);
  S.retryTimer = 0;
  try { sessionStorage.removeItem(POS_KEY); } catch (_) { /* private mode */ }
}

/** The server says the attempt is over: its time is up, or it was submitted elsewhere. */
function ended(err) {
  if (err.code === "submitted") {
    if (S.over) return;
    finish();
    loadResult().then(() => pageError("本次作答已经交卷（可能在其他设备上交卷）。"));
    return;
  }
  timeUp(err.code && err.code !== "time_up" ? err.message : "");
}

/** The attempt's time is over (here or on the server): the server has submitted it. */
async function timeUp(detail) {
  if (S.over) return;
  // A last try for answers not stored yet: the server takes them until its own deadline.
  const last = [...S.pending].map(([n, e]) => put(examPath(EXAM, `/attempt/answers/${n}`), { response: e.response, marked: e.marked }).catch(() => {}));
  finish();
  $("clock-num").textContent = "00:00";
  await Promise.race([Promise.all(last), new Promise((r) => { setTimeout(r, 3000); })]);
  await loadResult({ timeUp: true, detail });
}

// ---------- leaving the page ----------
document.addEventListener("visibilitychange", async () => {
  if (S.over || !S.attempt) return;
  if (document.visibilityState === "hidden") {
    commitTyped();
    // keepalive: the request outlives the page being hidden or closed
    fetch(examPath(EXAM, "/attempt/leave"), {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": document.querySelector('meta[name="csrf-token"]')?.content ?? "" },
      body: "{}",
      credentials: "same-origin",
      keepalive: true,
    }).catch(() => {});
    return;
  }
  // Back: the server's clock decides how much time is left.
  try {
    const att = await get(examPath(EXAM, "/attempt"));
    if (S.over) return;
    sync(att.remaining_ms);
    flush();
  } catch (err) {
    if (err.status === 409) ended(err);
    else if (err.status === 404) timeUp();
  }
});

// ---------- result ----------
function responseText(r, options, kind) {
  if (r === null || r === undefined || r === "") return "未作答";
  if (typeof r !== "object") {
    const s = String(r);
    if ((kind === "single" || kind === "multiple") && /^[A-H]+$/.test(s)) return responseText({ type: "choice", value: s }, options);
    return s;
  }
  switch (r.type) {
    case "choice":
      return String(r.value).split("").map((l) => {
        const o = options?.[LETTERS.indexOf(l)];
        return o ? `${l}. ${o}` : l;
      }).join("；");
    case "truefalse":
      return r.value ? "正确" : "错误";
    default:
      return String(r.value ?? "");
  }
}


function lettersOf(v) {
  if (v && typeof v === "object") return v.type === "choice" ? String(v.value) : "";
  return /^[A-H]+$/.test(String(v ?? "")) ? String(v) : "";
}

function reviewItem(it, i) {
  const n = it.n ?? i;
  const li = el("li", { class: `ex-review-item ${it.correct ? "right" : "wrong"}` });
  const head = el("p", { class: "head" });
  head.appendChild(el("b", {}, `第 ${Number(n) + 1} 题`));
  const worth = it.max_points !== undefined ? `得 ${it.points ?? 0} / ${it.max_points} 分` : `${it.points ?? 0} 分`;
  head.appendChild(el("span", {}, ` ${it.kind_name || KINDS[it.kind] || ""} · ${worth}`));
  head.appendChild(el("span", { class: `verdict ${it.correct ? "right" : "wrong"}` }, it.correct ? "✓ 答对" : isNone(it.response) ? "✗ 未作答" : "✗ 答错"));
  li.appendChild(head);
  if (it.case) {
    // The scenario is long: folded under its title, and open on the group's first question.
    const d = el("details", { class: "case-box", open: it.case.position === 1 });
    d.appendChild(el("summary", { class: "case-head" }, `案例：${it.case.title}（第 ${it.case.position} / ${it.case.size} 小题）`));
    d.appendChild(el("p", { class: "case-text" }, it.case.scenario));
    li.appendChild(d);
  }
  li.appendChild(el("p", { class: "stem" }, it.stem || ""));
  const options = it.options || [];
  if (options.length) {
    const right = lettersOf(it.answer);
    const mine = lettersOf(it.response);
    const ul = el("ul", { class: "ex-review-opts" });
    options.forEach((o, j) => {
      const l = LETTERS[j];
      const notes = [];
      if (right.includes(l)) notes.push("正确答案");
      if (mine.includes(l)) notes.push("您的选择");
      const cls = [right.includes(l) ? "key" : "", mine.includes(l) ? "mine" : ""].filter(Boolean).join(" ");
      const row = el("li", { class: cls });
      row.appendChild(el("span", {}, `${l}. ${o}`));
      if (notes.length) row.appendChild(el("span", { class: "note" }, `（${notes.join("，")}）`));
      ul.appendChild(row);
    });
    li.appendChild(ul);
  }
  const unit = it.unit ? ` ${it.unit}` : "";
  const mineText = responseText(it.response, options, it.kind);
  li.appendChild(el("p", { class: "mine" }, `您的答案：${mineText}${isNone(it.response) ? "" : unit}`));
  li.appendChild(el("p", { class: "key" }, `正确答案：${responseText(it.answer, options, it.kind)}${unit}`));
  if (it.explanation) li.appendChild(el("p", { class: "explain" }, `解析：${it.explanation}`));
  if (it.source) li.appendChild(el("p", { class: "source" }, `出处：${it.source}`));
  return li;
}

function isNone(r) {
  return r === null || r === undefined || r === "";
}

function showResult(r, timedOut) {
  S.lastResult = r;
  view("result");
  show($("timeup-note"), !!timedOut || r.submitted_by === "clock");
  $("timeup-note").textContent = "时间到，已自动交卷";
  if (!timedOut && r.submitted_by !== "clock") show($("timeup-note"), false);
  $("result-exam").textContent = S.exam?.title || r.title || "";
  const revealed = r.revealed !== false && r.score !== undefined;
  show($("result-hidden"), !revealed);
  show($("result-shown"), revealed);
  if (!revealed) {
    $("result-hidden-text").textContent = r.opens_results_at
      ? `成绩将在考试截止后公布（${fmtTime(r.opens_results_at)}后可查看）。`
      : "成绩将在考试截止后公布。";
  } else {
    $("r-score").textContent = `${num(r.score)} / ${num(r.max_score)}`;
    $("r-correct").textContent = `${r.correct ?? 0} / ${r.total ?? S.qs.length}`;
    $("r-time").textContent = fmtSpan(r.time_used_ms);
    const rank = $("r-rank");
    rank.textContent = r.rank ? `名次：第 ${r.rank} 名` : "";
    show(rank, !!r.rank);
  }
  const by = r.submitted_by === "clock" ? "到时自动交卷" : "交卷";
  $("r-submitted").textContent = r.submitted_at ? `${fmtTime(r.submitted_at)} ${by}${r.number ? `（第 ${r.number} 次作答）` : ""}` : "";

  const topics = clear($("topics-body"));
  for (const t of (revealed && r.by_topic) || []) {
    const tr = el("tr");
    tr.appendChild(el("th", { scope: "row" }, t.topic_name || TOPICS[t.topic] || t.topic));
    tr.appendChild(el("td", {}, t.total));
    tr.appendChild(el("td", {}, t.correct));
    tr.appendChild(el("td", {}, `${num(t.score)} / ${num(t.max)}`));
    topics.appendChild(tr);
  }
  show($("topics-card"), topics.childElementCount > 0);
  const review = clear($("review-list"));
  ((revealed && r.review) || []).forEach((it, i) => review.appendChild(reviewItem(it, i)));
  show($("review-card"), review.childElementCount > 0);
  offerAgain();
}

/** 再考一次 while the window is open and attempts are left. */
async function offerAgain() {
  show($("again"), false);
  try {
    S.exam = await get(examPath(EXAM));
  } catch (_) {
    return;
  }
  const st = statusOf(S.exam);
  const left = S.lastResult?.attempts_left ?? ((Number(S.exam.max_attempts) || 1) - attemptsUsed(S.exam));
  show($("again"), st === "open" && left > 0);
  $("again").textContent = `再考一次（还可作答 ${Math.max(0, left)} 次）`;
}

async function loadResult({ timeUp: timedOut = false, detail = "" } = {}) {
  if (!timedOut) view("loading");
  // After the deadline the server submits by its clock: the result may take a moment.
  for (let i = 0; i < 12; i += 1) {
    try {
      const r = await get(examPath(EXAM, "/result"));
      showResult(r, timedOut);
      if (detail) pageError(detail);
      return;
    } catch (err) {
      if (err.status === 401) {
        pageError("登录已失效，请重新登录后查看成绩。", true);
        return;
      }
      if (err.status !== 404 && err.status !== 0) {
        pageError(err.message);
        return;
      }
      if (!timedOut) {
        pageError("还没有已交卷的成绩。");
        if (S.exam) renderIntro(S.exam);
        return;
      }
      if (i === 1) await post(examPath(EXAM, "/attempt/submit"), {}).catch(() => {});
    }
    view("result");
    show($("timeup-note"), true);
    show($("result-hidden"), true);
    $("result-hidden-text").textContent = "正在计算成绩…";
    await new Promise((r) => { setTimeout(r, 1500); });
  }
  pageError("暂时无法取得成绩，请稍后刷新页面查看。");
}

// ---------- boot ----------
async function boot() {
  view("loading");
  try {
    S.exam = await get(examPath(EXAM));
  } catch (err) {
    show($("loading"), false);
    if (err.status === 401) pageError("请先登录。", true);
    else if (err.status === 403) pageError("您不在本场考试的参加范围内。如有疑问，请联系考试组织部门。");
    else if (err.status === 404) pageError("没有这场考试。");
    else pageError(err.message);
    return;
  }
  try {
    const att = await get(examPath(EXAM, "/attempt"));
    run(att, false);
    return;
  } catch (err) {
    if (err.status === 409 && err.code === "submitted") {
      // Handed in already: the result (and 再考一次 while attempts are left).
      await loadResult();
      return;
    }
    if (err.status === 409) {
      // The time ran out while the page was closed: the server has just submitted it.
      S.over = false;
      await timeUp();
      return;
    }
    if (err.status !== 404) pageError(err.message);
  }
  renderIntro(S.exam);
}

boot();
