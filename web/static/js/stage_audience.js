// The audience of a stage final (/stage/{id}/audience): join with a nickname (or as the
// logged-in member), answer each question the teams are asked, see the answer and one's own
// standing when the host rules, and the audience's board at the podium. The teams' scores
// are on the projector; nothing here changes them. Text only ever goes in with textContent.
import { $, LETTERS, answerPad, clear, el, KINDS, show } from "/static/js/dom.js";

const stageId = document.body.dataset.stage;
const tokenKey = `biwu.stage.audience.${stageId}`;
const state = { q: null, selected: new Set(), answered: false, name: null, socket: null, retry: 0, stopped: false };

function send(response) {
  const q = state.q;
  if (!q || state.answered || !state.socket || state.socket.readyState !== WebSocket.OPEN) return;
  state.answered = true;
  lock();
  step("正在提交…");
  state.socket.send(JSON.stringify({ type: "answer", round: q.round, index: q.index, response }));
}

const canAnswer = () => Boolean(state.q) && !state.answered;
const { lock, unlock } = answerPad(state, canAnswer, send, { confirmSingle: true });

const step = (text) => { $("aud-step").textContent = text; };
const error = (text) => { $("aud-error").textContent = text || ""; };

function connect() {
  const token = localStorage.getItem(tokenKey);
  if (!token && !state.name && !document.body.dataset.member) {
    show($("join-form"), true);
    $("nickname").focus();
    return;
  }
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${proto}://${location.host}/ws/stage/${encodeURIComponent(stageId)}`);
  state.socket = ws;
  ws.addEventListener("open", () => {
    state.retry = 0;
    state.joined = false;
    show($("conn"), false);
    const hello = { type: "hello", role: "audience" };
    if (token) hello.token = token;
    if (state.name) hello.name = state.name;
    ws.send(JSON.stringify(hello));
  });
  ws.addEventListener("message", (e) => onFrame(JSON.parse(e.data)));
  ws.addEventListener("close", () => {
    if (state.stopped) return;
    show($("conn"), true);
    state.retry = Math.min(state.retry + 1, 5);
    setTimeout(connect, 500 * state.retry);
  });
}

function onFrame(m) {
  switch (m.type) {
    case "seat":
      state.joined = true;
      if (m.token) localStorage.setItem(tokenKey, m.token);
      show($("join-form"), false);
      show($("aud"), true);
      $("aud-me").textContent = `观众：${m.name}`;
      if (m.title) $("title").textContent = `${m.title} · 观众互动`;
      break;
    case "ask": return drawAsk(m);
    case "ack":
      if (state.q && state.q.round === m.round && state.q.index === m.index) step("已提交，等待主持人公布答案");
      break;
    case "result": return drawResult(m);
    case "idle":
      state.q = null;
      show($("answer-form"), false);
      show($("aud-result"), false);
      step(m.message);
      break;
    case "podium": return drawPodium(m);
    case "error": return onError(m);
    default: break;
  }
  return undefined;
}

function onError(m) {
  if (!state.joined) {
    // refused at hello: the server closes the socket
    state.stopped = true;
    if (m.code === "not_allowed" || m.code === "internal") {
      error(m.message);
      return;
    }
    localStorage.removeItem(tokenKey);
    state.name = null;
    show($("join-form"), true);
    $("join-error").textContent = m.message;
    return;
  }
  if (m.code === "bad_answer" || m.code === "internal") {
    // the answer was not taken: the pad opens again
    state.answered = false;
    unlock();
  }
  error(m.message);
}

function drawAsk(m) {
  const same = state.q && state.q.round === m.round && state.q.index === m.index;
  state.q = m;
  if (!same) state.selected = new Set();
  state.answered = Boolean(m.answered);
  error("");
  show($("aud-result"), false);
  show($("aud-top"), false);
  show($("answer-form"), true);
  $("stem").textContent = `${m.round_title} · ${KINDS[m.kind] || ""}　${m.stem}`;
  const opts = clear($("options"));
  const choice = m.kind === "single" || m.kind === "multiple";
  show(opts, choice);
  if (choice) {
    (m.options || []).forEach((text, i) => {
      const b = el("button", { type: "button", "aria-pressed": "false", dataset: { letter: LETTERS[i] } });
      b.textContent = `${LETTERS[i]}．${text}`;
      opts.appendChild(b);
    });
  }
  show($("tf-row"), m.kind === "truefalse");
  show($("text-row"), m.kind === "fill");
  show($("number-row"), m.kind === "numeric");
  show($("date-row"), m.kind === "date");
  $("unit").textContent = m.unit || "";
  show($("submit"), m.kind !== "truefalse");
  if (state.answered) {
    lock();
    step(m.your_answer ? `已提交（您的答案：${m.your_answer}），等待公布答案` : "已提交，等待公布答案");
  } else {
    unlock();
    step("请作答：主持人判定前都可以提交");
  }
}

function drawResult(m) {
  state.q = null;
  show($("answer-form"), false);
  show($("aud-result"), true);
  show($("aud-top"), false);
  const verdict = m.correct === true ? "答对了" : m.correct === false ? "答错了" : "未作答";
  step(`${verdict}　累计 ${m.points} 分　第 ${m.rank} 名 / ${m.players} 人`);
  $("aud-answer").textContent = `答案：${m.answer ?? ""}${m.your_answer ? `　您的答案：${m.your_answer}` : ""}`;
  $("aud-explain").textContent = m.explanation || "";
  $("aud-source").textContent = m.source ? `出处：${m.source}` : "";
}

function drawPodium(m) {
  state.q = null;
  show($("answer-form"), false);
  show($("aud-result"), false);
  step(`决赛结束　您得 ${m.you.points} 分，第 ${m.you.rank} 名 / ${m.players} 人`);
  const ol = clear($("aud-top"));
  for (const row of m.top) ol.appendChild(el("li", {}, `第${row.rank}名　${row.name}　${row.points} 分`));
  show(ol, true);
}

$("answer-form").addEventListener("submit", (e) => {
  e.preventDefault();
  if (!canAnswer()) return;
  const q = state.q;
  switch (q.kind) {
    case "single":
    case "multiple":
      if (state.selected.size === 0) return error("请先选择选项");
      return send({ type: "choice", value: [...state.selected].sort().join("") });
    case "fill": {
      const v = $("text-answer").value.trim();
      return v ? send({ type: "text", value: v }) : error("请填写答案");
    }
    case "numeric": {
      const raw = $("number-answer").value.trim();
      const n = Number(raw);
      return raw !== "" && Number.isFinite(n) ? send({ type: "number", value: n }) : error("请填写数字");
    }
    case "date": {
      const v = $("date-answer").value;
      return /^\d{4}-\d{2}-\d{2}$/.test(v) ? send({ type: "date", value: v }) : error("请选择日期");
    }
    default:
      return undefined;
  }
});

$("join-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const name = $("nickname").value.trim();
  if (!name) {
    $("join-error").textContent = "请填写昵称";
    return;
  }
  state.name = name;
  state.stopped = false;
  $("join-error").textContent = "";
  show($("join-form"), false);
  connect();
});

// A nickname typed on the play page, which sent the phone here with the final's PIN.
const carried = sessionStorage.getItem("biwu.stage.nickname");
if (carried) {
  sessionStorage.removeItem("biwu.stage.nickname");
  if (!localStorage.getItem(tokenKey)) state.name = carried;
}
connect();
