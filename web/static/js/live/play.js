// Phone page (/play?pin=NNNNNN): join with the PIN (guests with a nickname), wait in the lobby,
// answer each question (a single choice is tapped, then confirmed), see the result with one's
// own answer and rank. The rejoin token is kept per PIN in localStorage, so a refresh or a
// network blip lands the player back where the room is, own answer included (the server sends
// it back in the rejoin `question` and in `result`).
import {
  $, answerText, answerPad, clear, Countdown, el, fmtPoints, KINDS, LETTERS, letterSet, LiveSocket,
  PHASES, PROTOCOL, rulingText, show, showCase, truthOf,
} from "./common.js";

const isMember = document.body.dataset.member === "1";
const tokenKey = (pin) => `biwu.live.token.${pin}`;
const NAME_KEY = "biwu.live.name";

const store = {
  get(k) {
    try { return localStorage.getItem(k); } catch (_) { return null; }
  },
  set(k, v) {
    try { localStorage.setItem(k, v); } catch (_) { /* private mode */ }
  },
  del(k) {
    try { localStorage.removeItem(k); } catch (_) { /* private mode */ }
  },
};

const state = {
  pin: "",
  name: "",
  token: null,
  me: null, // participant id
  myName: "",
  total: 0,
  phase: "lobby",
  q: null, // current question frame
  answered: false, // committed (ack, or the server says so)
  pending: false, // sent, waiting for ack
  timeUp: false,
  selected: new Set(),
  rank: null,
  players: 0,
};
// The answer pad: its buttons send through `send`; lock/unlock every control.
const { lock, unlock } = answerPad(state, canAnswer, send, { confirmSingle: true });

const countdown = new Countdown($("countdown"), {
  onZero() {
    state.timeUp = true;
    if (!state.answered && !state.pending && state.phase === "question") {
      lock();
      status("时间到，等待揭晓", "warn");
    }
  },
});

// ---------- small view helpers ----------
function status(text, cls = "") {
  const s = $("status");
  s.textContent = text;
  s.className = cls;
}

function notice(text) {
  const n = $("notice");
  n.textContent = text || "";
  show(n, !!text);
}

function joinError(text, loginLink) {
  const box = clear($("join-error"));
  if (!text) {
    show(box, false);
    return;
  }
  box.appendChild(document.createTextNode(text));
  if (loginLink) {
    const p = el("div");
    p.appendChild(el("a", { href: loginHref(), id: "login-to-play" }, "登录后参加 →"));
    box.appendChild(p);
  }
  show(box, true);
}

function loginHref() {
  const next = state.pin ? `/play?pin=${state.pin}` : "/play";
  return `/login?next=${encodeURIComponent(next)}`;
}

function updateMe() {
  const me = clear($("me"));
  if (state.myName) me.appendChild(document.createTextNode(state.myName + " · "));
  me.appendChild(document.createTextNode("总分 "));
  me.appendChild(el("b", {}, fmtPoints(state.total)));
}

function setRank(rank, players) {
  if (rank === undefined || rank === null) return;
  state.rank = rank;
  state.players = players ?? state.players;
  const r = $("rank");
  r.textContent = `第 ${rank} 名 / 共 ${state.players} 人`;
  show(r, true);
  show($("result-card"), true);
}

/** The lobby's waiting card: who I am, how many have joined. */
function showLobby(players) {
  $("lobby-name").textContent = state.myName ? `${state.myName}，您已加入` : "您已加入";
  if (players !== undefined) $("lobby-players").textContent = String(Number(players) || 0);
  show($("lobby-card"), true);
  show($("q-card"), false);
  show($("board-card"), false);
  show($("result-card"), false);
}

/** A sent answer as people read it (the shapes of docs/protocol.md). */
function responseText(r, unit) {
  if (!r || typeof r !== "object") return "";
  switch (r.type) {
    case "choice":
      return String(r.value ?? "");
    case "truefalse":
      return r.value ? "正确" : "错误";
    case "number":
      return unit ? `${r.value} ${unit}` : String(r.value ?? "");
    default:
      return String(r.value ?? "");
  }
}

/** Marks the player's own answer on the pad (after a rejoin, and at the reveal). */
function markMine(r) {
  if (!r || typeof r !== "object") return;
  if (r.type === "choice") {
    const mine = letterSet(r.value);
    for (const b of $("options").children) b.setAttribute("aria-pressed", String(mine.has(b.dataset.letter)));
  } else if (r.type === "truefalse") {
    $("tf-true").setAttribute("aria-pressed", String(r.value === true));
    $("tf-false").setAttribute("aria-pressed", String(r.value === false));
  } else if (r.type === "text") {
    $("text-answer").value = String(r.value ?? "");
  } else if (r.type === "number") {
    $("number-answer").value = String(r.value ?? "");
  } else if (r.type === "date") {
    $("date-answer").value = String(r.value ?? "");
  }
}

function showJoin(on) {
  show($("join-card"), on);
  show($("game"), !on);
  if (on) $("join").disabled = false;
}

// ---------- answering ----------

function canAnswer() {
  return state.phase === "question" && state.q && !state.answered && !state.pending;
}

function send(answer) {
  if (!canAnswer()) return;
  const ok = live.send({ type: "answer", position: state.q.position, answer });
  if (!ok) {
    status("网络中断，正在重连，请稍后再提交", "warn");
    return;
  }
  state.pending = true;
  lock();
  status("正在提交…");
}

function renderQuestion(q) {
  const same = state.q && state.q.position === q.position;
  state.q = q;
  state.phase = "question";
  state.timeUp = false;
  if (!same) state.pending = false;
  state.answered = q.answered === true || (same && state.answered);
  if (q.answered === false) {
    state.answered = false;
    state.pending = false;
  }
  state.selected = new Set();
  show($("lobby-card"), false);
  show($("q-card"), true);
  show($("board-card"), false);
  show($("reveal-info"), false);
  show($("result"), false);
  show($("result-card"), false);
  notice("");
  $("q-pos").textContent = `第 ${q.position + 1} / ${q.total} 题`;
  $("q-kind").textContent = KINDS[q.kind] || "";
  showCase($("case"), q.case);
  $("stem").textContent = q.stem;

  const opts = clear($("options"));
  const choice = q.kind === "single" || q.kind === "multiple";
  show(opts, choice);
  if (choice) {
    (q.options || []).forEach((text, i) => {
      const b = el("button", { type: "button", class: "opt-btn", "aria-pressed": "false", dataset: { letter: LETTERS[i] } });
      b.appendChild(el("span", { class: "letter" }, LETTERS[i]));
      b.appendChild(el("span", { class: "text" }, text));
      opts.appendChild(b);
    });
  }
  show($("tf-row"), q.kind === "truefalse");
  $("tf-true").setAttribute("aria-pressed", "false");
  $("tf-false").setAttribute("aria-pressed", "false");
  $("tf-true").classList.remove("right");
  $("tf-false").classList.remove("right");
  show($("text-row"), q.kind === "fill");
  show($("number-row"), q.kind === "numeric");
  show($("date-row"), q.kind === "date");
  $("text-answer").value = "";
  $("number-answer").value = "";
  $("date-answer").value = "";
  $("unit").textContent = q.unit || "";
  show($("submit"), ["single", "multiple", "fill", "numeric", "date"].includes(q.kind));
  $("submit").textContent = q.kind === "multiple" ? "提交（可多选）" : "提交";
  if (q.your_answer) markMine(q.your_answer);

  countdown.set(q.remaining_ms, q.time_limit_ms, q.paused);
  if (state.answered) {
    lock();
    const mine = responseText(q.your_answer, q.unit);
    status(mine ? `已提交（您的答案：${mine}），等待揭晓` : "已提交，等待揭晓", "good");
  } else if (Number(q.remaining_ms) <= 0 && !q.paused) {
    lock();
    status("时间到，等待揭晓", "warn");
  } else {
    unlock();
    status(q.paused ? "主持人已暂停计时" : HINTS[q.kind] || "请作答");
  }
}

const HINTS = {
  single: "点选一项，再点一次或按“提交”确认",
  multiple: "请选择全部正确选项后提交",
};

$("answer-form").addEventListener("submit", (e) => {
  e.preventDefault();
  if (!canAnswer()) return;
  const q = state.q;
  switch (q.kind) {
    case "single": {
      if (state.selected.size === 0) return status("请先选择一个选项", "warn");
      return send({ type: "choice", value: [...state.selected][0] });
    }
    case "multiple": {
      if (state.selected.size === 0) return status("请至少选择一个选项", "warn");
      const value = [...state.selected].sort().join("");
      return send({ type: "choice", value });
    }
    case "fill": {
      const v = $("text-answer").value.trim();
      if (!v) return status("请填写答案", "warn");
      return send({ type: "text", value: v });
    }
    case "numeric": {
      const raw = $("number-answer").value.trim();
      const n = Number(raw);
      if (raw === "" || !Number.isFinite(n)) return status("请填写数字", "warn");
      return send({ type: "number", value: n });
    }
    case "date": {
      const v = $("date-answer").value;
      if (!/^\d{4}-\d{2}-\d{2}$/.test(v)) return status("请选择日期", "warn");
      return send({ type: "date", value: v });
    }
    default:
      return undefined;
  }
});

// ---------- reveal, result, boards ----------
function renderReveal(m) {
  countdown.stop();
  state.phase = "reveal";
  state.pending = false;
  lock();
  const q = state.q && state.q.position === m.position ? state.q : null;
  const kind = q ? q.kind : null;
  if (!q) {
    // joined during the reveal: the question itself was not seen
    $("q-pos").textContent = `第 ${Number(m.position) + 1} 题`;
    $("q-kind").textContent = "";
    showCase($("case"), null);
    $("stem").textContent = m.stem || "";
    for (const id of ["options", "tf-row", "text-row", "number-row", "date-row"]) show($(id), false);
    show($("countdown"), false);
  }
  // Nothing more to submit: the spent button goes.
  show($("submit"), false);
  show($("my-answer"), false);
  show($("lobby-card"), false);
  if (q && (kind === "single" || kind === "multiple")) {
    const right = letterSet(m.answer);
    for (const alt of m.also_accepted || []) for (const l of letterSet(alt)) right.add(l);
    for (const b of $("options").children) b.classList.toggle("right", right.has(b.dataset.letter));
  } else if (q && kind === "truefalse") {
    const t = truthOf(m.answer);
    $("tf-true").classList.toggle("right", t === true);
    $("tf-false").classList.toggle("right", t === false);
  }
  show($("q-card"), true);
  let text = `正确答案：${answerText(kind, m.answer, q && q.unit)}`;
  if (m.also_accepted && m.also_accepted.length) {
    text += `（也认可：${m.also_accepted.map((a) => answerText(kind, a, q && q.unit)).join("、")}）`;
  }
  $("right-answer").textContent = text;
  const ex = $("explain");
  ex.textContent = [m.explanation && `解析：${m.explanation}`, m.source && `出处：${m.source}`].filter(Boolean).join("\n");
  ex.style.whiteSpace = "pre-line";
  show(ex, !!(m.explanation || m.source));
  show($("reveal-info"), true);
  show($("countdown"), false);
  status("揭晓答案");
  window.scrollTo(0, 0);
  notice(m.voided ? "本题已作废，不计分" : "");
}

function renderResult(m) {
  const q = state.q && state.q.position === m.position ? state.q : null;
  const mine = $("my-answer");
  mine.textContent = m.your_answer ? `您的答案：${responseText(m.your_answer, q && q.unit)}` : "您的答案：未作答";
  show(mine, true);
  if (q && m.your_answer) markMine(m.your_answer);
  const r = clear($("result"));
  let cls = "none";
  let verdict = "未作答";
  if (m.answered) {
    cls = m.correct ? "right" : "wrong";
    verdict = m.correct ? "回答正确" : "回答错误";
  }
  r.className = cls;
  r.appendChild(el("div", { class: "verdict" }, verdict));
  r.appendChild(el("div", { class: "gain" }, `本题得分 +${fmtPoints(m.points)}`));
  const extra = m.correct && m.streak > 1 ? `　连续答对 ${m.streak} 题` : "";
  r.appendChild(el("div", {}, `总分 ${fmtPoints(m.total)}${extra}`));
  show(r, true);
  state.total = Number(m.total) || 0;
  updateMe();
  setRank(m.rank, m.players);
}

function renderBoard(top, title) {
  $("board-title").textContent = title;
  const ol = clear($("board"));
  for (const line of top || []) {
    const li = el("li", { value: String(line.rank), class: line.participant === state.me ? "me" : "" },
      `${line.name}　${fmtPoints(line.points)} 分`);
    ol.appendChild(li);
  }
  if (!top || top.length === 0) ol.appendChild(el("li", {}, "暂无成绩"));
  show($("board-card"), true);
}

function renderPodium(m) {
  countdown.stop();
  state.phase = "podium";
  show($("q-card"), false);
  show($("result"), false);
  show($("my-answer"), false);
  const mine = (m.top || []).find((l) => l.participant === state.me);
  if (mine) {
    state.total = Number(mine.points) || state.total;
    setRank(mine.rank, state.players);
    updateMe();
  }
  renderBoard((m.top || []).slice(0, 10), "最终排名");
  const proposed = (m.proposed || []).some((l) => l.participant === state.me);
  status("比赛结束，感谢参与！", "good");
  if (proposed) notice(m.awards_confirmed ? "恭喜！您被评为本场业务标兵。" : "恭喜！您被提名为本场业务标兵（待主持人确认）。");
  else notice("");
  show($("result-card"), state.rank !== null);
}

// ---------- socket ----------
let welcomed = false;
let afterRuling = false;
let sentToken = false;

const live = new LiveSocket({
  hello() {
    const h = { type: "hello", protocol: PROTOCOL, role: "player", pin: state.pin };
    state.token = store.get(tokenKey(state.pin));
    sentToken = !!state.token;
    if (state.token) h.token = state.token;
    else if (!isMember && state.name) h.name = state.name;
    return h;
  },
  onState(s) {
    if (s === "closed" && welcomed) show($("conn"), true);
    if (s === "open") show($("conn"), false);
  },
  onMessage: handle,
});

function handle(m) {
  switch (m.type) {
    case "welcome": {
      welcomed = true;
      joinError("");
      showJoin(false);
      $("game-title").textContent = m.title || "";
      document.title = `${m.title || "业务比武"} · 参加比武`;
      if (m.you) {
        state.me = m.you.participant;
        state.myName = m.you.name;
        state.total = Number(m.you.points) || 0;
        if (m.you.token) store.set(tokenKey(state.pin), m.you.token);
      }
      updateMe();
      state.phase = m.phase;
      if (m.phase === "lobby") {
        status("");
        showLobby();
      } else status(PHASES[m.phase] || "");
      break;
    }
    case "lobby":
      if (state.phase === "lobby") showLobby(m.players);
      break;
    case "question":
      renderQuestion(m);
      break;
    case "ack":
      if (state.q && m.position === state.q.position) {
        state.pending = false;
        state.answered = true;
        lock();
        status("已提交，等待揭晓", "good");
      }
      break;
    case "paused":
      countdown.sync(m.remaining_ms, true);
      if (canAnswer()) status("主持人已暂停计时");
      break;
    case "resumed":
    case "time":
      countdown.sync(m.remaining_ms, m.type === "resumed" ? false : undefined);
      state.timeUp = false;
      if (canAnswer()) {
        unlock();
        status(m.type === "time" ? "主持人延长了作答时间，请作答" : "请作答");
      }
      break;
    case "reveal":
      renderReveal(m);
      break;
    case "result":
      // Players get the reveal inside their own result frame (one frame per player).
      if (m.reveal) renderReveal(m.reveal);
      renderResult(m);
      break;
    case "leaderboard":
      // after a ruling the leaderboard is recomputed, but the phase stays (reveal, podium…)
      if (afterRuling && state.phase !== "leaderboard") {
        afterRuling = false;
        break;
      }
      afterRuling = false;
      state.phase = "leaderboard";
      state.players = Number(m.players) || state.players;
      renderBoard(m.top, "排行榜（前 10 名）");
      show($("q-card"), false);
      status("排行榜");
      break;
    case "standing":
      state.total = Number(m.total) || 0;
      updateMe();
      setRank(m.rank, m.players);
      break;
    case "ruling":
      afterRuling = true;
      notice(rulingText(m));
      break;
    case "podium":
      renderPodium(m);
      break;
    case "removed":
      live.stop();
      store.del(tokenKey(state.pin));
      countdown.stop();
      show($("q-card"), false);
      show($("lobby-card"), false);
      show($("board-card"), false);
      show($("result-card"), false);
      show($("conn"), false);
      status("您已被主持人移出本场比赛", "warn");
      notice("");
      break;
    case "error":
      onError(m);
      break;
    default:
      break;
  }
}

function onError(m) {
  const text = m.message || m.code;
  if (!live.welcomed) {
    // refused at hello: the server closes the socket
    if (m.code === "not_found" && sentToken) {
      // the stored token is no longer valid: join afresh
      store.del(tokenKey(state.pin));
      state.token = null;
      if (isMember || state.name) return; // the reconnect will send a plain hello
      live.stop();
      showJoin(true);
      joinError("原参赛记录已失效，请重新加入。");
      return;
    }
    if (m.code === "elsewhere") {
      // the room is moving to another server (its conductor died): the reconnect tries again
      return;
    }
    if (m.code === "moved" && /^\/stage\/[\w-]+\/audience$/.test(m.message || "")) {
      // the PIN of a stage final's audience: its own page, with the nickname typed here
      live.stop();
      if (state.name) sessionStorage.setItem("biwu.stage.nickname", state.name);
      location.href = m.message;
      return;
    }
    live.stop();
    welcomed = false;
    show($("conn"), false);
    showJoin(true);
    if (m.code === "not_allowed") {
      joinError(text || "本场比赛只允许本单位人员参加，请先登录。", !isMember);
    } else if (m.code === "not_found") {
      joinError(text || "PIN 码不存在或比赛已结束，请核对。");
    } else if (m.code === "not_entrant") {
      // a final limited to the finalists of an exam
      joinError(text || "本场比武仅限晋级选手参加");
    } else if (m.code === "version") {
      joinError("页面版本已更新，请刷新页面。");
    } else {
      joinError(text);
    }
    return;
  }
  switch (m.code) {
    case "duplicate_answer":
      state.pending = false;
      state.answered = true;
      lock();
      status("已提交，等待揭晓", "good");
      break;
    case "late_answer":
      state.pending = false;
      state.answered = true; // cannot answer any more
      lock();
      status(text || "本题作答时间已过", "warn");
      break;
    case "bad_answer":
      state.pending = false;
      if (state.phase === "question" && !state.timeUp) unlock();
      status(text, "warn");
      break;
    case "wrong_phase":
      state.pending = false;
      status(text, "warn");
      break;
    default:
      status(text, "warn");
      break;
  }
}

// ---------- join ----------
function join() {
  const pin = $("pin").value.replace(/\D/g, "");
  $("pin").value = pin;
  if (!/^\d{6}$/.test(pin)) {
    joinError("请输入 6 位数字 PIN 码");
    return;
  }
  if (!isMember) {
    const name = $("name").value.trim();
    if (!name && !store.get(tokenKey(pin))) {
      joinError("请填写昵称，或登录后参加");
      return;
    }
    state.name = name;
    if (name) store.set(NAME_KEY, name);
  }
  state.pin = pin;
  joinError("");
  $("join").disabled = true;
  const url = new URL(location.href);
  url.searchParams.set("pin", pin);
  history.replaceState(null, "", url.pathname + url.search);
  const link = $("login-link");
  if (link) link.href = loginHref();
  welcomed = false;
  live.restart();
  setTimeout(() => { if (!welcomed) $("join").disabled = false; }, 4000);
}

$("join-form").addEventListener("submit", (e) => {
  e.preventDefault();
  join();
});

$("pin").addEventListener("input", () => {
  const v = $("pin").value.replace(/\D/g, "").slice(0, 6);
  if (v !== $("pin").value) $("pin").value = v;
});

// start: prefill and, with a stored token for this PIN, rejoin straight away
(function init() {
  live.stopped = true; // nothing until the player joins
  if (!isMember && $("name")) $("name").value = store.get(NAME_KEY) || "";
  const pin = $("pin").value.replace(/\D/g, "");
  state.pin = pin;
  const link = $("login-link");
  if (link) link.href = loginHref();
  if (/^\d{6}$/.test(pin) && (store.get(tokenKey(pin)) || isMember)) {
    // rejoin (token) or a logged-in member coming from the QR code: join at once
    if (!isMember) state.name = $("name") ? $("name").value.trim() : "";
    status("正在连接…");
    showJoin(false);
    live.restart();
  } else {
    showJoin(true);
    ($("pin").value ? ($("name") || $("join")) : $("pin")).focus();
  }
})();
