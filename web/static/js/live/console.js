// Host console (/host/{id}): drives the room (start, next, pause, resume, extend, skip, end),
// removes players, rules on questions (void / accept), confirms the pacesetter awards.
import {
  $, api, answerText, clear, Countdown, el, fmtPoints, KINDS, LETTERS, letterSet, LiveSocket,
  PHASES, PROTOCOL, responseFor, rulingText, show, showCase, teamHeading, teamText, truthOf,
} from "./common.js";

const competition = $("console").dataset.competition;
const state = {
  phase: "connecting",
  paused: false,
  total: 0,
  current: null, // position of the current question
  questions: new Map(), // position → question frame
  awardsConfirmed: false,
  players: 0,
  connected: false,
};

const countdown = new Countdown($("countdown"));

// ---------- errors and notes ----------
function report(text, cls = "") {
  const ul = $("errors");
  const now = new Date();
  const hh = String(now.getHours()).padStart(2, "0");
  const mm = String(now.getMinutes()).padStart(2, "0");
  const ss = String(now.getSeconds()).padStart(2, "0");
  const li = el("li", { class: cls }, `${hh}:${mm}:${ss}　${text}`);
  if (cls === "note") li.style.cssText = "background:#fff8e1;color:#5d4300;border-left-color:#d4a017";
  ul.insertBefore(li, ul.firstChild);
  while (ul.children.length > 6) ul.removeChild(ul.lastChild);
}

// ---------- phase and buttons ----------
function setPhase(phase) {
  state.phase = phase;
  refresh();
}

function refresh() {
  const p = state.phase;
  let label = PHASES[p] || p;
  if (p === "question" && state.paused) label = "已暂停";
  if (p === "podium") label = state.awardsConfirmed ? "颁奖（已确认表彰）" : "颁奖";
  $("phase").textContent = label;
  const on = state.connected;
  const enable = {
    start: p === "lobby",
    next: p === "reveal" || p === "leaderboard",
    pause: p === "question" && !state.paused,
    resume: p === "question" && state.paused,
    extend: p === "question",
    skip: p === "question",
    end: ["lobby", "question", "reveal", "leaderboard"].includes(p),
    "confirm-awards": p === "podium" && !state.awardsConfirmed,
    void: ["reveal", "leaderboard", "podium"].includes(p),
    accept: ["reveal", "leaderboard", "podium"].includes(p),
  };
  for (const [id, yes] of Object.entries(enable)) $(id).disabled = !(on && yes);
  for (const b of $("players").querySelectorAll("button")) b.disabled = !on || p === "podium";
  $("next").textContent = p === "leaderboard" && state.current !== null && state.current + 1 >= state.total ? "下一步（颁奖）" : "下一步";
  show($("countdown"), p === "question");
}

function command(msg) {
  if (!live.send(msg)) report("未连接到服务器，正在重连，请稍后再试");
}

$("start").addEventListener("click", () => command({ type: "start" }));
$("next").addEventListener("click", () => command({ type: "next" }));
$("pause").addEventListener("click", () => command({ type: "pause" }));
$("resume").addEventListener("click", () => command({ type: "resume" }));
$("extend").addEventListener("click", () => command({ type: "extend", seconds: 10 }));
$("skip").addEventListener("click", () => {
  if (confirm("立即结束本题作答并揭晓答案？")) command({ type: "skip" });
});
$("end").addEventListener("click", () => {
  if (confirm("确定结束比赛并进入颁奖环节？未进行的题目将不再作答。")) command({ type: "end" });
});
$("confirm-awards").addEventListener("click", () => {
  if (confirm("确认表彰本场业务标兵？确认后将记入光荣榜。")) command({ type: "confirm_awards" });
});

// ---------- ruling ----------
function fillPositions() {
  const sel = $("ruling-position");
  const keep = sel.value;
  clear(sel);
  for (let i = 0; i < state.total; i += 1) {
    sel.appendChild(el("option", { value: String(i) }, `第 ${i + 1} 题`));
  }
  if (keep !== "" && Number(keep) < state.total) sel.value = keep;
  syncKind();
}

function syncKind() {
  const q = state.questions.get(Number($("ruling-position").value));
  if (q && q.kind) $("ruling-kind").value = q.kind;
}

$("ruling-position").addEventListener("change", syncKind);

function rulingBase() {
  const position = Number($("ruling-position").value);
  const reason = $("ruling-reason").value.trim();
  if (!Number.isInteger(position) || $("ruling-position").value === "") {
    report("请选择题目");
    return null;
  }
  if (!reason) {
    report("请填写裁定理由");
    $("ruling-reason").focus();
    return null;
  }
  return { position, reason };
}

$("void").addEventListener("click", () => {
  const b = rulingBase();
  if (!b) return;
  if (!confirm(`确定作废第 ${b.position + 1} 题？所有人本题不计分。`)) return;
  command({ type: "void", position: b.position, reason: b.reason });
});

$("accept").addEventListener("click", () => {
  const b = rulingBase();
  if (!b) return;
  const raw = $("ruling-answer").value.trim();
  if (!raw) {
    report("请填写要认可的答案");
    $("ruling-answer").focus();
    return;
  }
  let answer;
  try {
    answer = responseFor($("ruling-kind").value, raw);
  } catch (err) {
    report(err.message);
    return;
  }
  if (answer.type === "choice" && !answer.value) {
    report("请填写选项字母，如 B 或 ACD");
    return;
  }
  if (!confirm(`确定认可第 ${b.position + 1} 题的答案“${raw}”？`)) return;
  command({ type: "accept", position: b.position, answer, reason: b.reason });
});

$("ruling-form").addEventListener("submit", (e) => e.preventDefault());

// ---------- players ----------
function renderPlayers(list) {
  const ul = clear($("players"));
  $("players-count").textContent = String(list.length);
  const sorted = [...list].sort((a, b) => (b.points - a.points) || String(a.name).localeCompare(String(b.name), "zh-CN"));
  for (const p of sorted) {
    const li = el("li");
    li.appendChild(el("span", { class: `dot${p.connected ? " on" : ""}`, title: p.connected ? "在线" : "离线" }));
    li.appendChild(el("span", { class: "pname" }, p.name));
    li.appendChild(el("span", { class: "pts" }, `${fmtPoints(p.points)} 分`));
    const b = el("button", { type: "button", class: "live-btn secondary small" }, "移出");
    b.addEventListener("click", () => {
      if (confirm(`确定将“${p.name}”移出本场比赛？`)) command({ type: "remove", participant: p.participant });
    });
    li.appendChild(b);
    ul.appendChild(li);
  }
  if (list.length === 0) ul.appendChild(el("li", { class: "muted" }, "暂无人员加入"));
  refresh();
}

// ---------- question, reveal, boards ----------
function renderQuestion(q) {
  state.questions.set(q.position, q);
  state.current = q.position;
  state.paused = !!q.paused;
  $("q-pos").textContent = `第 ${q.position + 1} / ${q.total || state.total} 题`;
  $("q-meta").textContent = `第 ${q.position + 1} 题 · ${KINDS[q.kind] || q.kind}${q.unit ? ` · 单位：${q.unit}` : ""} · 限时 ${Math.round(q.time_limit_ms / 1000)} 秒`;
  showCase($("case"), q.case);
  $("stem").textContent = q.stem;
  const ol = clear($("opts"));
  const opts = q.kind === "truefalse" ? ["正确", "错误"] : q.options || [];
  opts.forEach((o, i) => ol.appendChild(el("li", {}, q.kind === "truefalse" ? o : `${LETTERS[i]}. ${o}`)));
  $("answer").textContent = "";
  $("explain").textContent = "";
  $("answer-count").textContent = `0 / ${state.players}`;
  countdown.set(q.remaining_ms, q.time_limit_ms, q.paused);
  $("ruling-position").value = String(q.position);
  syncKind();
}

function renderReveal(m) {
  countdown.stop();
  state.paused = false;
  state.current = m.position;
  const known = state.questions.get(m.position);
  const q = known && !known.ahead ? known : null;
  const kind = known ? known.kind : null;
  if (!q) {
    $("q-meta").textContent = `第 ${m.position + 1} 题${kind ? ` · ${KINDS[kind] || kind}` : ""}`;
    showCase($("case"), known ? known.case : null);
    $("stem").textContent = known ? known.stem || "" : "";
    clear($("opts"));
  }
  const items = [...$("opts").children];
  const dist = m.distribution || [];
  if (q && items.length) {
    let right;
    if (kind === "truefalse") {
      const b = truthOf(m.answer);
      right = new Set(b === null ? [] : [b ? 0 : 1]);
    } else {
      right = new Set([...letterSet(m.answer)].map((l) => LETTERS.indexOf(l)));
    }
    items.forEach((li, i) => {
      li.classList.toggle("right", right.has(i));
      const base = kind === "truefalse" ? (i === 0 ? "正确" : "错误") : `${LETTERS[i]}. ${q.options[i]}`;
      li.textContent = `${base}　（${dist[i] ?? 0} 人）`;
    });
  }
  if (kind === "single" || kind === "truefalse") {
    const sum = dist.reduce((a, b) => a + (Number(b) || 0), 0);
    const shown = Number(($("answer-count").textContent.match(/\d+/) || ["0"])[0]);
    if (sum > shown) $("answer-count").textContent = `${sum} / ${state.players}`;
  }
  let text = `正确答案：${answerText(kind, m.answer, q && q.unit)}`;
  if (m.also_accepted && m.also_accepted.length) text += `；也认可：${m.also_accepted.join("、")}`;
  if (!items.length && dist.length >= 2) text += `（答对 ${dist[0]} 人，答错 ${dist[1]} 人）`;
  if (m.voided) text += "（本题已作废）";
  $("answer").textContent = text;
  $("explain").textContent = [m.explanation && `解析：${m.explanation}`, m.source && `出处：${m.source}`].filter(Boolean).join("　");
  $("ruling-position").value = String(m.position);
  syncKind();
}

function renderBoard(top) {
  const ol = clear($("board"));
  for (const l of top || []) {
    const c = Number(l.change) || 0;
    const ch = c > 0 ? `　▲${c}` : c < 0 ? `　▼${-c}` : "";
    ol.appendChild(el("li", { value: String(l.rank) }, `${l.name}　${fmtPoints(l.points)} 分　用时 ${(l.total_ms / 1000).toFixed(1)} 秒${ch}`));
  }
  if (!top || !top.length) ol.appendChild(el("li", {}, "暂无成绩"));
}

// Team standings under the board (only when the competition ranks teams).
function renderTeams(teams) {
  const list = Array.isArray(teams) ? teams : [];
  show($("teams-card"), list.length > 0);
  const ol = clear($("team-board"));
  for (const t of list) ol.appendChild(el("li", {}, teamText(t)));
}

function renderPodium(m) {
  countdown.stop();
  state.awardsConfirmed = !!m.awards_confirmed;
  renderBoard(m.top);
  renderTeams(m.teams);
  const names = (m.proposed || []).map((l) => `${l.name}（第 ${l.rank} 名，${fmtPoints(l.points)} 分）`);
  $("proposed").textContent = (state.awardsConfirmed ? "已确认表彰业务标兵：" : "拟表彰业务标兵：") + (names.length ? names.join("、") : "无符合条件的人选");
  $("confirm-awards").textContent = state.awardsConfirmed ? "已确认表彰" : "确认表彰业务标兵";
}

// ---------- socket ----------
let fatal = false;
let afterRuling = false;
const live = new LiveSocket({
  hello: () => ({ type: "hello", protocol: PROTOCOL, role: "host", competition }),
  onState(s) {
    state.connected = s === "open";
    $("conn").textContent = s === "open" ? "已连接" : s === "connecting" ? "正在连接…" : fatal ? "" : "连接中断，正在重连…";
    refresh();
  },
  onMessage(m) {
    switch (m.type) {
      case "welcome":
        state.total = Number(m.total_questions) || 0;
        if (m.title) {
          $("title").textContent = m.title;
          document.title = `${m.title} · 主持台`;
        }
        state.paused = false;
        fillPositions();
        setPhase(m.phase);
        break;
      case "lobby":
        state.players = Number(m.players) || 0;
        if (m.pin) $("pin").textContent = m.pin;
        if (m.join_url) setJoinUrl(m.join_url);
        if (state.phase === "lobby") $("answer-count").textContent = `— / ${state.players}`;
        break;
      case "question":
        setPhase("question");
        renderQuestion(m);
        refresh();
        break;
      case "answer_count":
        state.players = Number(m.players) || 0;
        if (state.current === null || m.position === state.current) $("answer-count").textContent = `${m.answered} / ${m.players}`;
        break;
      case "paused":
        state.paused = true;
        countdown.sync(m.remaining_ms, true);
        refresh();
        break;
      case "resumed":
        state.paused = false;
        countdown.sync(m.remaining_ms, false);
        refresh();
        break;
      case "time":
        countdown.sync(m.remaining_ms);
        break;
      case "reveal":
        setPhase("reveal");
        renderReveal(m);
        break;
      case "leaderboard":
        state.players = Number(m.players) || state.players;
        renderBoard(m.top);
        renderTeams(m.teams);
        // after a ruling the leaderboard is recomputed, but the phase stays (reveal, podium…)
        if (!afterRuling) setPhase("leaderboard");
        afterRuling = false;
        break;
      case "ruling":
        afterRuling = true;
        report(rulingText(m), "note");
        break;
      case "podium":
        renderPodium(m);
        setPhase("podium");
        break;
      case "players":
        renderPlayers(Array.isArray(m.players) ? m.players : []);
        break;
      case "error":
        report(m.message || m.code);
        if (!live.welcomed && ["not_found", "not_allowed", "version"].includes(m.code)) {
          fatal = true;
          live.stop();
          $("phase").textContent = "无法连接";
        }
        break;
      default:
        break;
    }
  },
});

function setJoinUrl(url) {
  const a = $("join-url");
  a.textContent = url;
  if (/^https?:\/\//i.test(url)) a.href = url;
}

api(`/api/competitions/${encodeURIComponent(competition)}`)
  .then((c) => {
    if (c.title && $("title").textContent === "主持台") $("title").textContent = c.title;
    if (c.settings && c.settings.teams) $("teams-title").textContent = teamHeading(c.settings.teams);
    if (c.pin) $("pin").textContent = c.pin;
    if (c.join_url) setJoinUrl(c.join_url);
    if (c.join_warning) {
      const w = $("join-warning");
      w.textContent = c.join_warning;
      w.hidden = false;
    }
    // kinds known ahead, for the ruling form (question frames replace these as they come)
    for (const q of Array.isArray(c.question_list) ? c.question_list : []) {
      if (!state.questions.has(q.position)) state.questions.set(q.position, { position: q.position, kind: q.kind, stem: q.stem, options: [], ahead: true });
    }
    syncKind();
    const n = Array.isArray(c.questions) ? c.questions.length : Number(c.questions);
    if (!state.total && n) {
      state.total = n;
      fillPositions();
    }
  })
  .catch((err) => report(err.message));

refresh();
live.connect();
