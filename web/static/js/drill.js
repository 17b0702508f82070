// 岗位练兵 (/drill): start a drill, answer it one question at a time, then read the summary.
// /drill?id=ID resumes that drill where it stopped. The id of the drill in progress is kept in
// localStorage so that opening /drill again offers “继续上次练习”.
// 练兵任务: the tasks the section head assigned are listed at the top of the start form
// (GET /api/tasks); 开始/继续 asks POST /api/tasks/{id}/start for the task's drill and runs it like
// any other, 查看结果 opens its finished drill. /drill?task=ID starts or continues that task at once.
// API: docs/api.md, “Drills (岗位练兵), notebook (错题本), member home”. The server owns the
// clock of a timed drill; this page only animates remaining_ms. User and server text is only
// ever inserted with textContent.
import { api } from "/static/js/app.js";
import {
  $, KINDS, LETTERS, MODES, TOPICS, answerPad, clear, cst, el, show, showCase, toDate, truthOf,
} from "/static/js/dom.js";

const STORE_KEY = "biwu.drill.current";

// ---------- small helpers ----------
const store = {
  get() {
    try { return localStorage.getItem(STORE_KEY); } catch (_) { return null; }
  },
  set(v) {
    try { localStorage.setItem(STORE_KEY, v); } catch (_) { /* private mode */ }
  },
  del(only) {
    try {
      if (!only || localStorage.getItem(STORE_KEY) === only) localStorage.removeItem(STORE_KEY);
    } catch (_) { /* private mode */ }
  },
};

const pct = (x) => (x === null || x === undefined || !Number.isFinite(Number(x)) ? "—" : `${Math.round(Number(x) * 100)}%`);
const ratio = (right, total) => (Number(total) > 0 ? Number(right) / Number(total) : null);

const pad = (n) => String(n).padStart(2, "0");

function fmtDateTime(v) {
  const d0 = toDate(v);
  if (!d0) return "";
  const d = cst(d0);
  return `${d.getUTCMonth() + 1}月${d.getUTCDate()}日 ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
}

function fmtDuration(ms) {
  const s = Math.max(0, Math.round(Number(ms) / 1000) || 0);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h) return `${h}小时${m}分`;
  if (m) return `${m}分${pad(sec)}秒`;
  return `${sec}秒`;
}

const topicName = (id, name) => name || TOPICS[id] || id || "";

// ---------- countdown (animates the server's remaining_ms) ----------
class Countdown {
  constructor(onZero) {
    this.box = $("countdown");
    this.num = $("countdown-num");
    this.fill = $("countdown-fill");
    this.onZero = onZero;
    this.deadline = 0;
    this.total = 1;
    this.raf = 0;
    this.timer = 0;
    this.running = false;
  }

  set(remainingMs, totalMs) {
    this.stop();
    if (remainingMs === null || remainingMs === undefined) {
      show(this.box, false);
      return;
    }
    const rem = Math.max(0, Number(remainingMs) || 0);
    this.total = Math.max(Number(totalMs) || rem, 1);
    this.deadline = performance.now() + rem;
    show(this.box, true);
    this.running = true;
    this.draw();
    // rAF for the animation, plus a timer so zero also fires when frames are throttled
    this.timer = setTimeout(() => this.draw(), rem + 20);
  }

  left() {
    return Math.max(0, this.deadline - performance.now());
  }

  draw() {
    if (!this.running) return;
    const ms = this.left();
    this.num.textContent = String(Math.ceil(ms / 1000));
    this.fill.style.transform = `scaleX(${Math.min(1, ms / this.total)})`;
    this.box.classList.toggle("low", ms <= 5000);
    if (ms <= 0) {
      this.running = false;
      this.box.classList.add("done");
      this.num.textContent = "0";
      this.onZero();
      return;
    }
    cancelAnimationFrame(this.raf);
    this.raf = requestAnimationFrame(() => this.draw());
  }

  stop() {
    this.running = false;
    cancelAnimationFrame(this.raf);
    clearTimeout(this.timer);
    this.box.classList.remove("low", "done");
  }
}

// ---------- state ----------
const state = {
  id: null,
  drill: null, // last GET of the drill
  q: null, // current question
  selected: new Set(),
  busy: false, // an answer is on its way
  done: false, // this question is settled (answered, timed out)
  finished: false, // the drill is finished (after the last answer)
  answered: 0,
  correct: 0,
};
// The answer pad: its buttons send through `send`; lock/unlock every control.
const { lock, unlock } = answerPad(state, canAnswer, send);

const countdown = new Countdown(onTimeUp);

// ---------- views ----------
function view(name) {
  show($("start-form"), name === "start");
  show($("resume-box"), false);
  show($("run"), name === "run");
  show($("summary"), name === "summary");
  show($("loading"), name === "loading");
  if (name !== "run") countdown.stop();
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
    const next = location.pathname + location.search;
    box.appendChild(el("a", { href: `/login?next=${encodeURIComponent(next)}` }, "去登录"));
  }
  show(box, true);
}

function setUrl(id) {
  const url = id ? `/drill?id=${encodeURIComponent(id)}` : "/drill";
  if (location.pathname + location.search !== url) history.replaceState(null, "", url);
}

function handleLoadError(err, id) {
  if (err.status === 401) {
    pageError("登录已失效，请重新登录。", true);
  } else if (err.status === 403 || err.status === 404) {
    store.del(id);
    pageError("找不到这次练习，或它不属于您。可以开始新的练习。");
  } else {
    pageError(err.message);
  }
}

// ---------- start ----------
const form = $("start-form");

function syncMode() {
  const mode = form.querySelector('input[name="mode"]:checked')?.value || "topics";
  $("topics-box").classList.toggle("off", mode !== "topics");
}

for (const r of form.querySelectorAll('input[name="mode"]')) r.addEventListener("change", syncMode);
// ticking a topic also chooses “按专题练习”
let topicsTouched = false;
$("topics-box").addEventListener("change", (e) => {
  if (e.target.name !== "topic") return;
  topicsTouched = true;
  topicsNote();
  if (e.target.checked && !$("mode-topics").checked) {
    $("mode-topics").checked = true;
    syncMode();
  }
});

/** Says which topics are ticked, so a preselection is not a surprise. */
function topicsNote(weakest) {
  const ticked = [...form.querySelectorAll('input[name="topic"]:checked')];
  const all = form.querySelectorAll('input[name="topic"]').length;
  let text = ticked.length === all ? "已选全部专题" : `已选 ${ticked.length} 个专题`;
  if (weakest) text = `已选您正确率最低的专题：${weakest}`;
  $("topics-note").textContent = text;
}

/**
 * The first tap on 开始练习 works: the page opens with every topic ticked (全部), and narrows it
 * to the member's weakest topic (lowest accuracy among those practised) once that is known,
 * unless the member has ticked something meanwhile.
 */
async function preselectTopics() {
  let by;
  try {
    by = (await api("/api/me/home")).accuracy_by_topic || [];
  } catch (_) {
    return;
  }
  const rate = (t) => Number(t.right) / Number(t.total);
  const weakest = by.filter((t) => Number(t.total) > 0 && rate(t) < 1).sort((a, b) => rate(a) - rate(b))[0];
  if (!weakest || topicsTouched) return;
  const box = form.querySelector(`input[name="topic"][value="${CSS.escape(weakest.topic)}"]`);
  if (!box) return;
  for (const c of form.querySelectorAll('input[name="topic"]')) c.checked = c === box;
  topicsNote(topicName(weakest.topic, weakest.name));
}

function startError(text) {
  const box = $("start-error");
  box.textContent = text || "";
  show(box, !!text);
}

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  startError("");
  pageError("");
  const mode = form.querySelector('input[name="mode"]:checked')?.value || "topics";
  const body = {
    mode,
    count: Number($("count").value) || 10,
    time_limit_s: Number($("time").value) || 0,
  };
  if (mode === "topics") {
    const topics = [...form.querySelectorAll('input[name="topic"]:checked')].map((c) => c.value);
    if (topics.length === 0) {
      startError("请至少选择一个专题");
      return;
    }
    body.topics = topics;
  }
  const btn = $("start");
  btn.disabled = true;
  btn.textContent = "正在出题…";
  try {
    const d = await api("/api/drills", body);
    state.id = d.id;
    store.set(d.id);
    setUrl(d.id);
    renderDrill(d);
  } catch (err) {
    if (err.status === 401) pageError("请先登录。", true);
    else startError(err.message);
  } finally {
    btn.disabled = false;
    btn.textContent = "开始练习";
  }
});

async function offerResume() {
  const id = store.get();
  if (!id) return;
  // The list, not GET /api/drills/{id}: fetching a drill starts its current question's clock.
  try {
    const list = await api("/api/drills?limit=20");
    const d = (Array.isArray(list) ? list : list.drills || []).find((x) => x.id === id);
    if (d && d.finished_at) {
      store.del(id);
      return;
    }
    if (!$("run").hidden || !$("summary").hidden) return;
    const when = d ? fmtDateTime(d.started_at) : "";
    $("resume-info").textContent = d
      ? `${MODES[d.mode] || "练习"}，共 ${d.count} 题，已答 ${d.answered} 题，答对 ${d.correct} 题` + (when ? `（${when} 开始）` : "")
      : "您有一次练习尚未完成。";
    $("resume").onclick = () => openDrill(id);
    show($("resume-box"), true);
  } catch (err) {
    if (err.status === 403 || err.status === 404) store.del(id);
  }
}

// ---------- 练兵任务 ----------
const TASK_STATES = { none: ["未开始", "sc-pill"], started: ["进行中", "sc-pill warn"], done: ["已完成", "sc-pill ok"] };
const TASK_BUTTONS = { none: "开始", started: "继续", done: "查看结果" };
let tasks = [];

function fmtDay(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(s ?? ""));
  return m ? `${Number(m[2])}月${Number(m[3])}日` : String(s ?? "");
}

/** The open tasks of my section (done ones last); none, or not logged in: no card. */
async function loadTasks() {
  try {
    const list = await api("/api/tasks");
    tasks = Array.isArray(list) ? list : list.tasks || [];
  } catch (_) {
    tasks = [];
  }
  renderTasks();
  return tasks;
}

function taskItem(t) {
  const status = TASK_STATES[t.status] ? t.status : "none";
  const li = el("li", { class: `sc-mtask ${status}`, dataset: { task: t.id } });
  const info = el("div");
  info.appendChild(el("span", { class: "title" }, t.title || "练兵任务"));
  const meta = [t.due ? `截止 ${fmtDay(t.due)}` : "", `${Number(t.count) || 0} 题`, t.timed ? "限时" : ""];
  info.appendChild(el("span", { class: "meta" }, meta.filter(Boolean).join(" · ")));
  const st = el("span", { class: "state" });
  const [label, cls] = TASK_STATES[status];
  st.appendChild(el("span", { class: cls }, label));
  if (status === "started") st.appendChild(el("span", { class: "sc-pill" }, `已答 ${Number(t.answered) || 0} 题`));
  if (status === "done") st.appendChild(el("span", { class: "sc-pill" }, `答对 ${Number(t.correct) || 0} / ${Number(t.answered) || 0}`));
  if (t.overdue && status !== "done") st.appendChild(el("span", { class: "sc-pill bad" }, "已过截止日期"));
  info.appendChild(st);
  li.appendChild(info);
  if (status !== "done" || t.drill_id) {
    const text = TASK_BUTTONS[status];
    li.appendChild(el("button", {
      type: "button", class: status === "done" ? "sc-btn secondary small sc-task-go" : "sc-btn small sc-task-go",
      id: `task-go-${t.id}`, dataset: { task: t.id }, "aria-label": `${text}：${t.title || "练兵任务"}`,
    }, text));
  }
  return li;
}

function renderTasks() {
  const ul = clear($("task-list"));
  for (const t of tasks) ul.appendChild(taskItem(t));
  show($("task-box"), tasks.length > 0);
}

/** Starts (or continues) a task's drill and runs it like any other. */
async function startTask(id) {
  pageError("");
  startError("");
  view("loading");
  try {
    const d = await api(`/api/tasks/${encodeURIComponent(id)}/start`, {});
    state.id = d.id;
    store.set(d.id);
    setUrl(d.id);
    renderDrill(d);
  } catch (err) {
    if (err.status === 401) pageError("请先登录。", true);
    else pageError(err.message);
    setUrl(null);
    view("start");
    loadTasks();
  }
}

/** /drill?task=ID: a done task shows its result, any other starts or continues. */
async function openTask(id) {
  view("loading");
  const list = await loadTasks();
  const t = list.find((x) => String(x.id) === String(id));
  if (t && t.status === "done") {
    if (t.drill_id) {
      openDrill(t.drill_id);
    } else {
      setUrl(null);
      view("start");
    }
    return;
  }
  await startTask(id);
}

$("task-list").addEventListener("click", (e) => {
  const b = e.target.closest("button[data-task]");
  if (!b || b.disabled) return;
  const t = tasks.find((x) => String(x.id) === b.dataset.task);
  if (t && t.status === "done") {
    if (t.drill_id) openDrill(t.drill_id);
    return;
  }
  b.disabled = true;
  b.textContent = "正在出题…";
  startTask(b.dataset.task).finally(renderTasks);
});

$("resume-dismiss").addEventListener("click", () => {
  store.del();
  show($("resume-box"), false);
});

// ---------- running ----------
async function openDrill(id) {
  pageError("");
  view("loading");
  state.id = id;
  try {
    const d = await api(`/api/drills/${encodeURIComponent(id)}`);
    setUrl(id);
    renderDrill(d);
  } catch (err) {
    handleLoadError(err, id);
    setUrl(null);
    view("start");
    offerResume();
  }
}

function renderDrill(d) {
  state.drill = d;
  state.id = d.id || state.id;
  state.answered = Number(d.answered) || 0;
  state.correct = Number(d.correct) || 0;
  if (d.finished || !d.current) {
    store.del(state.id);
    loadSummary();
    return;
  }
  store.set(state.id);
  view("run");
  renderQuestion(d.current);
}

function updateTally(total) {
  const n = Number(total) || Number(state.drill?.count) || 0;
  $("tally").textContent = `已答 ${state.answered} · 答对 ${state.correct}`;
  $("progress-fill").style.transform = `scaleX(${n ? Math.min(1, state.answered / n) : 0})`;
}

function status(text, cls = "") {
  const s = $("status");
  s.textContent = text || "";
  s.className = `dr-status ${cls}`;
}

function renderQuestion(q) {
  state.q = q;
  state.selected = new Set();
  state.busy = false;
  state.done = false;
  state.finished = false;

  const pos = Number(q.position);
  const total = Number(q.total) || Number(state.drill?.count) || 0;
  $("pos").textContent = `第 ${pos + 1} / ${total} 题`;
  updateTally(total);

  $("q-topic").textContent = topicName(q.topic, q.topic_name);
  $("q-kind").textContent = KINDS[q.kind] || q.kind || "";
  const tags = clear($("q-tags"));
  for (const t of q.tags || []) tags.appendChild(el("span", { class: "dr-tag" }, t));
  showCase($("case"), q.case);
  $("stem").textContent = q.stem || "";

  const choice = q.kind === "single" || q.kind === "multiple";
  const opts = clear($("options"));
  show(opts, choice);
  if (choice) {
    // Shown in this drill's own order, lettered by place; the button carries the bank's
    // letter, which is what the server is sent and answers with.
    displayOrder(q).forEach((i, shown) => {
      const b = el("button", { type: "button", class: "dr-opt", "aria-pressed": "false", dataset: { letter: LETTERS[i] } });
      b.appendChild(el("span", { class: "letter" }, LETTERS[shown]));
      b.appendChild(el("span", { class: "text" }, q.options[i]));
      opts.appendChild(b);
    });
  }
  show($("tf-row"), q.kind === "truefalse");
  for (const id of ["tf-true", "tf-false"]) {
    $(id).setAttribute("aria-pressed", "false");
    $(id).classList.remove("right", "wrong");
  }
  show($("text-row"), q.kind === "fill");
  show($("number-row"), q.kind === "numeric");
  show($("date-row"), q.kind === "date");
  $("text-answer").value = "";
  $("number-answer").value = "";
  $("date-answer").value = "";
  $("unit").textContent = q.unit || "";
  show($("submit"), ["multiple", "fill", "numeric", "date"].includes(q.kind));
  $("submit").textContent = q.kind === "multiple" ? "提交（可多选）" : "提交";

  show($("question"), true);
  show($("reveal-card"), false);
  show($("finish"), true);
  unlock();
  status(q.kind === "multiple" ? "请选择全部正确选项后提交" : q.kind === "single" ? "点选一个选项即提交" : "");
  window.scrollTo(0, 0);

  countdown.set(q.remaining_ms, state.drill?.time_limit_ms);
}

function canAnswer() {
  return !!state.q && !state.busy && !state.done;
}

async function send(answer) {
  if (!canAnswer()) return;
  state.busy = true;
  lock();
  status("正在提交…");
  const q = state.q;
  try {
    const r = await api(`/api/drills/${encodeURIComponent(state.id)}/answers`, { position: q.position, answer });
    if (state.q !== q) return;
    state.busy = false;
    state.done = true;
    countdown.stop();
    show($("countdown"), false);
    renderFeedback(r, answer);
  } catch (err) {
    if (state.q !== q) return;
    state.busy = false;
    if (err.status === 409) {
      // already answered, no longer the current question, or the drill is over: settle and move on
      state.done = true;
      countdown.stop();
      renderSettled("本题已作答或已结束", err.message);
    } else if (err.status === 401) {
      pageError("登录已失效，请重新登录后继续本次练习。", true);
      unlock();
      status("");
    } else {
      if (!countdown.running && state.drill?.time_limit_ms) {
        // time ran out while sending: let the server decide
        state.done = true;
        renderSettled("时间到", err.message);
        return;
      }
      unlock();
      status(err.message, "warn");
    }
  }
}

/** Bank indices of the options in the order this drill shows them. */
function displayOrder(q) {
  const n = (q?.options || []).length;
  const order = Array.isArray(q?.option_order) && q.option_order.length === n ? q.option_order : [...Array(n).keys()];
  return order;
}

/** A bank letter as the member saw it: the letter of its place on screen, and its text. */
function shownOption(l) {
  const q = state.q;
  const i = LETTERS.indexOf(l);
  const o = q?.options?.[i];
  if (o === undefined) return l;
  return `${LETTERS[displayOrder(q).indexOf(i)]}. ${o}`;
}

/** Bank letters in the order of their places on screen. */
function byPlace(letters) {
  const order = displayOrder(state.q);
  return [...letters].sort((a, b) => order.indexOf(LETTERS.indexOf(a)) - order.indexOf(LETTERS.indexOf(b)));
}

function displayAnswer(a) {
  if (!a) return "";
  switch (a.type) {
    case "choice":
      return byPlace(a.value.split("")).map(shownOption).join("；");
    case "truefalse": return a.value ? "正确" : "错误";
    case "number": return `${a.value}${state.q?.unit ? ` ${state.q.unit}` : ""}`;
    default: return String(a.value);
  }
}

/** Letters of the right answer if the display text starts with them (“B”, “ACD”, “B．…”). */
function rightLetters(text) {
  const m = /^\s*([A-H](?:\s*[、,，]?\s*[A-H])*)(?![A-Za-z])/.exec(String(text || ""));
  return m ? new Set(m[1].replace(/[^A-H]/g, "").split("")) : new Set();
}

/** The server's display text of the right answer, with option texts and the unit added. */
function rightText(kind, text) {
  const q = state.q;
  if ((kind === "single" || kind === "multiple") && q && Array.isArray(q.options)) {
    const letters = [...rightLetters(text)];
    if (letters.length) return byPlace(letters).map(shownOption).join("；");
  }
  if (kind === "numeric" && q?.unit && !String(text).endsWith(q.unit)) return `${text} ${q.unit}`;
  return String(text);
}

const NOTEBOOK_NOTES = {
  added: "已加入错题本，将按期安排复习",
  mastered: "已掌握，移出错题本",
};

function renderFeedback(r, mine) {
  lock();
  status("");
  state.finished = !!r.finished;
  state.answered += 1;
  if (r.correct && !r.timed_out) state.correct += 1;
  updateTally(state.q?.total);

  const fb = $("feedback");
  let cls = "wrong";
  let verdict = "回答错误";
  if (r.timed_out) {
    cls = "timeout";
    verdict = "超时";
  } else if (r.correct) {
    cls = "right";
    verdict = "回答正确";
  }
  fb.textContent = verdict;
  fb.className = `dr-verdict ${cls}`;

  const my = $("my-answer");
  my.textContent = mine ? `您的答案：${displayAnswer(mine)}` : "";
  show(my, !!mine && !r.correct);

  const kind = state.q?.kind;
  const right = $("right-answer");
  right.textContent = r.answer !== undefined && r.answer !== null && r.answer !== "" ? `正确答案：${rightText(kind, r.answer)}` : "";
  show(right, !!right.textContent);

  // mark the options
  if (kind === "single" || kind === "multiple") {
    const ok = rightLetters(r.answer);
    for (const b of $("options").children) {
      b.classList.toggle("right", ok.has(b.dataset.letter));
      b.classList.toggle("wrong", !ok.has(b.dataset.letter) && b.getAttribute("aria-pressed") === "true");
    }
  } else if (kind === "truefalse") {
    const t = truthOf(r.answer);
    $("tf-true").classList.toggle("right", t === true);
    $("tf-false").classList.toggle("right", t === false);
  }

  $("explanation").textContent = r.explanation ? `解析：${r.explanation}` : "";
  $("source").textContent = r.source ? `出处：${r.source}` : "";
  show($("explanation"), !!r.explanation);
  show($("source"), !!r.source);
  show($("explain-box"), !!(r.explanation || r.source));

  let note = NOTEBOOK_NOTES[r.notebook] || "";
  if (r.notebook === "reviewed") {
    note = r.correct && !r.timed_out
      ? "错题复习：本次答对，连续答对 3 次即为掌握"
      : "错题复习：本次未答对，仍留在错题本中";
  }
  const nb = $("nb-note");
  nb.textContent = note;
  nb.className = `dr-nb ${r.notebook || ""}`;
  show(nb, !!note);

  $("next").textContent = state.finished ? "查看小结" : "下一题";
  show($("finish"), !state.finished);
  show($("reveal-card"), true);
  $("reveal-card").scrollIntoView({ behavior: "smooth", block: "start" });
  $("next").focus({ preventScroll: true });
}

/** The question is over without a result to show (time up with nothing chosen, or a 409). */
function renderSettled(verdict, detail) {
  lock();
  countdown.stop();
  status("");
  const fb = $("feedback");
  fb.textContent = verdict;
  fb.className = "dr-verdict timeout";
  for (const id of ["my-answer", "right-answer", "explain-box"]) show($(id), false);
  const nb = $("nb-note");
  nb.textContent = detail || "";
  nb.className = "dr-nb";
  show(nb, !!detail);
  $("next").textContent = "下一题";
  state.finished = false;
  show($("reveal-card"), true);
  $("reveal-card").scrollIntoView({ behavior: "smooth", block: "start" });
}

function pendingAnswer() {
  const q = state.q;
  if (!q) return null;
  switch (q.kind) {
    case "multiple":
      return state.selected.size ? { type: "choice", value: [...state.selected].sort().join("") } : null;
    case "fill": {
      const v = $("text-answer").value.trim();
      return v ? { type: "text", value: v } : null;
    }
    case "numeric": {
      const raw = $("number-answer").value.trim();
      const n = Number(raw);
      return raw !== "" && Number.isFinite(n) ? { type: "number", value: n } : null;
    }
    case "date": {
      const v = $("date-answer").value;
      return /^\d{4}-\d{2}-\d{2}$/.test(v) ? { type: "date", value: v } : null;
    }
    default:
      return null;
  }
}

function onTimeUp() {
  if (!state.q || state.done || state.busy) return;
  const a = pendingAnswer();
  if (a) {
    status("时间到，正在提交已填写的答案…", "warn");
    send(a);
  } else {
    state.done = true;
    renderSettled("时间到", "本题未作答，按超时处理，记入错题本。点“下一题”继续。");
  }
}

$("answer-form").addEventListener("submit", (e) => {
  e.preventDefault();
  if (!canAnswer()) return;
  const a = pendingAnswer();
  if (a) {
    send(a);
    return;
  }
  const hints = { multiple: "请至少选择一个选项", fill: "请填写答案", numeric: "请填写数字", date: "请选择日期" };
  status(hints[state.q.kind] || "请作答", "warn");
});

$("next").addEventListener("click", async () => {
  const btn = $("next");
  btn.disabled = true;
  try {
    if (state.finished) {
      await loadSummary();
    } else {
      const d = await api(`/api/drills/${encodeURIComponent(state.id)}`);
      renderDrill(d);
    }
  } catch (err) {
    if (err.status === 401) pageError("登录已失效，请重新登录后继续本次练习。", true);
    else pageError(err.message);
  } finally {
    btn.disabled = false;
  }
});

$("finish").addEventListener("click", async () => {
  if (!state.id) return;
  const left = (Number(state.drill?.count) || 0) - state.answered;
  const msg = left > 0 ? `还有 ${left} 题未作答，确定结束本次练习吗？未作答的题目不计入成绩。` : "确定结束本次练习吗？";
  if (!window.confirm(msg)) return;
  const btn = $("finish");
  btn.disabled = true;
  try {
    const s = await api(`/api/drills/${encodeURIComponent(state.id)}/finish`, {});
    store.del(state.id);
    renderSummary(s);
  } catch (err) {
    if (err.status === 409) await loadSummary();
    else pageError(err.message);
  } finally {
    btn.disabled = false;
  }
});

// A phone that slept through a timed question: ask the server where the drill is.
document.addEventListener("visibilitychange", async () => {
  if (document.visibilityState !== "visible" || !state.q || state.done || state.busy) return;
  if (!state.drill?.time_limit_ms || $("run").hidden) return;
  const q = state.q;
  try {
    const d = await api(`/api/drills/${encodeURIComponent(state.id)}`);
    if (state.q !== q || state.done || state.busy) return;
    if (d.current && d.current.position === q.position) {
      countdown.set(d.current.remaining_ms, d.time_limit_ms);
    } else {
      // the server already closed this question as timed out
      state.drill = d;
      state.done = true;
      renderSettled("时间到", "本题作答时间已过，按超时处理。点“下一题”继续。");
    }
  } catch (_) { /* keep the local clock */ }
});

// ---------- summary ----------
async function loadSummary() {
  view("loading");
  try {
    const s = await api(`/api/drills/${encodeURIComponent(state.id)}/summary`);
    store.del(state.id);
    renderSummary(s);
  } catch (err) {
    handleLoadError(err, state.id);
    view("start");
  }
}

function barRow(label, right, total) {
  const r = ratio(right, total);
  const li = el("li", {});
  const head = el("div", { class: "row" });
  head.appendChild(el("span", { class: "name" }, label));
  head.appendChild(el("span", { class: "val" }, `${right} / ${total}　${pct(r)}`));
  li.appendChild(head);
  const track = el("div", { class: "dr-track" });
  const fill = el("div", { class: `dr-fill${r !== null && r < 0.6 ? " weak" : ""}` });
  fill.style.transform = `scaleX(${r ?? 0})`;
  track.appendChild(fill);
  li.appendChild(track);
  return li;
}

function fillList(ul, items) {
  clear(ul);
  for (const it of items) ul.appendChild(el("li", {}, it.stem || it.question_id || ""));
  return items.length > 0;
}

function renderSummary(s) {
  pageError("");
  view("summary");
  state.q = null;
  setUrl(s.id || state.id);
  $("summary-score").textContent = String(s.score ?? 0);
  $("summary-accuracy").textContent = pct(s.accuracy);
  $("summary-time").textContent = fmtDuration(s.duration_ms);
  $("summary-correct").textContent = `答对 ${s.correct ?? 0} / 已答 ${s.answered ?? 0}（共 ${s.count ?? 0} 题）`;

  const prev = s.previous;
  let cmp = "这是您的第一次练习，继续保持！";
  if (prev && Number(prev.drills) > 0 && prev.accuracy !== null && prev.accuracy !== undefined) {
    cmp = `此前 ${prev.drills} 次练习平均正确率 ${pct(prev.accuracy)}`;
    if (s.accuracy !== null && s.accuracy !== undefined && Number(s.answered) > 0) {
      const diff = Math.round(Number(s.accuracy) * 100) - Math.round(Number(prev.accuracy) * 100);
      if (diff > 0) cmp += `，本次提高 ${diff} 个百分点 ↑`;
      else if (diff < 0) cmp += `，本次降低 ${-diff} 个百分点 ↓`;
      else cmp += "，本次与以往持平";
    }
  }
  const cmpEl = $("summary-previous");
  cmpEl.textContent = cmp;

  const topics = clear($("summary-topics"));
  for (const t of s.by_topic || []) topics.appendChild(barRow(topicName(t.topic, t.name), t.right, t.total));
  show($("summary-topics-card"), (s.by_topic || []).length > 0);

  const tags = clear($("summary-tags"));
  for (const t of s.by_tag || []) tags.appendChild(barRow(t.tag, t.right, t.total));
  show($("summary-tags-card"), (s.by_tag || []).length > 0);

  const added = fillList($("summary-added"), s.notebook_added || []);
  const mastered = fillList($("summary-mastered"), s.notebook_mastered || []);
  show($("summary-added-box"), added);
  show($("summary-mastered-box"), mastered);
  show($("summary-notebook-none"), !added && !mastered);
  window.scrollTo(0, 0);
}

$("again").addEventListener("click", () => {
  state.id = null;
  state.q = null;
  setUrl(null);
  pageError("");
  view("start");
  loadTasks();
});

// ---------- boot ----------
syncMode();
const params = new URLSearchParams(location.search);
const wanted = params.get("id");
const wantedTask = params.get("task");
if (wanted) {
  openDrill(wanted);
  loadTasks();
} else if (wantedTask) {
  openTask(wantedTask);
} else {
  view("start");
  offerResume();
  loadTasks();
  preselectTopics();
}
