// The stage final (决赛) on every seat: projector (screen), host console (host), team device
// (team) and judge's phone (judge). One socket; every change arrives as a whole `state`
// frame, which this page draws. Text is only ever inserted with textContent.
import { $, LETTERS, clear, el, show } from "/static/js/dom.js";

const stageId = document.body.dataset.stage;
const seat = document.body.dataset.seat;
const codeKey = `biwu.stage.code.${stageId}`;
const state = { me: null, last: null, skew: 0, socket: null, retry: 0 };

function send(frame) {
  if (state.socket && state.socket.readyState === WebSocket.OPEN) state.socket.send(JSON.stringify(frame));
}

function connect() {
  const code = seat === "team" ? sessionStorage.getItem(codeKey) : null;
  if (seat === "team" && !code) {
    show($("code-form"), true);
    return;
  }
  const proto = location.protocol === "https:" ? "wss" : "ws";
  // A team device buzzes through the buzzer listener when the server has one.
  const buzzer = seat === "team" ? document.body.dataset.buzzer : null;
  const where = buzzer ? `${location.hostname}:${buzzer}` : location.host;
  const ws = new WebSocket(`${proto}://${where}/ws/stage/${encodeURIComponent(stageId)}`);
  state.socket = ws;
  ws.addEventListener("open", () => {
    state.retry = 0;
    show($("conn"), false);
    ws.send(JSON.stringify(seat === "team" ? { type: "hello", role: "team", code } : { type: "hello", role: seat }));
  });
  ws.addEventListener("message", (e) => {
    const m = JSON.parse(e.data);
    if (m.type === "seat") state.me = m;
    else if (m.type === "state") draw(m);
    else if (m.type === "error") fail(m);
  });
  ws.addEventListener("close", () => {
    if (state.stopped) return;
    show($("conn"), true);
    state.retry = Math.min(state.retry + 1, 5);
    setTimeout(connect, 500 * state.retry);
  });
}

function fail(m) {
  if (m.code === "bad_code") {
    state.stopped = true;
    sessionStorage.removeItem(codeKey);
    show($("code-form"), true);
    $("code-error").textContent = m.message;
    return;
  }
  const box = $("host-error") || $("team-error") || $("marks-note");
  if (box) box.textContent = m.message || "操作未成功";
}

const teamName = (s, i) => (s.teams[i] ? s.teams[i].name : `第 ${i + 1} 队`);
// The team being judged, with its contestant when the round judges one per team.
const judgedName = (s, i) => (s.contestant ? `${teamName(s, i)} · ${s.contestant}` : teamName(s, i));
const fmt = (n) => (Math.round(n * 1000) / 1000).toLocaleString("zh-CN");

function drawBoard(s) {
  const ol = clear($("board"));
  for (const row of s.standings) {
    const li = el("li");
    li.style.setProperty("--c", row.colour);
    li.appendChild(el("span", { class: "rk" }, `第${row.rank}名`));
    li.appendChild(el("span", { class: "nm" }, row.name));
    li.appendChild(el("span", { class: "sc" }, fmt(row.score)));
    if (row.last_delta !== null && row.last_delta !== undefined && row.last_delta !== 0) {
      const up = row.last_delta > 0;
      li.appendChild(el("span", { class: `dl ${up ? "up" : "down"}` }, `${up ? "+" : ""}${fmt(row.last_delta)}`));
    }
    ol.appendChild(li);
  }
}

function stepText(s) {
  const st = s.step || {};
  switch (st.step) {
    case "waiting": return "决赛即将开始";
    case "intro": {
      const r = s.round.rules;
      const parts = [`第 ${s.round.index + 1} / ${s.round.total} 轮：${s.round.title}`];
      if (s.round.kind === "risk") parts.push(`可选分值 ${r.stakes.join(" / ")} 分`);
      else if (s.round.kind === "judged") parts.push(`评分标准：${r.criteria.map((c) => `${c.name}（满分${c.max}，权重${c.weight}）`).join("、")}`);
      else parts.push(`答对 +${r.right}${r.wrong ? `，答错 −${r.wrong}` : ""}${r.false_start ? `，抢跑 −${r.false_start}` : ""}`);
      return parts.join("　");
    }
    case "ready": return "请准备抢答（抢答开始前按下视为抢跑）";
    case "open": return "抢答开始！";
    case "choosing": return `${teamName(s, st.team)} 选择分值`;
    case "answering": return `${teamName(s, st.team)} 作答${st.stake ? `（${st.stake} 分）` : ""}`;
    case "ruled": return st.ruling === "right" ? `${teamName(s, st.team)} 答对` : st.team === null || st.team === undefined ? "本题无人作答" : `${teamName(s, st.team)} ${st.ruling === "timeout" ? "超时" : "答错"}`;
    case "judging": return `评委评分：${judgedName(s, st.team)}`;
    case "judged": return `${judgedName(s, st.team)} 得分 ${fmt(st.panel_milli / 1000)}`;
    case "podium": {
      const top = s.standings.filter((r) => r.rank === 1).map((r) => r.name);
      const p = s.proposed || { teams: [], pacesetters: [] };
      const parts = [`决赛结束　冠军：${top.join("、")}`];
      if (p.teams.length) parts.push(`优胜团队：${p.teams.join("、")}`);
      if (p.pacesetters.length) parts.push(`业务标兵：${p.pacesetters.join("、")}`);
      return parts.join("　");
    }
    default: return "";
  }
}

function drawQuestion(s) {
  const q = s.question;
  show($("question"), !!q);
  if (!q) return;
  $("stem").textContent = q.stem;
  const ol = clear($("options"));
  (q.options || []).forEach((o, i) => ol.appendChild(el("li", {}, `${LETTERS[i]}. ${o}`)));
  show(ol, (q.options || []).length > 0);
  const a = $("answer");
  show(a, !!q.answer);
  if (q.answer) a.textContent = `答案：${q.answer}${seat === "host" && q.explanation ? `　${q.explanation}` : ""}`;
}

function drawBuzzes(s) {
  const ol = clear($("buzzes"));
  const shown = s.round && s.round.kind === "buzzer" && s.buzzes.length > 0;
  show(ol, shown);
  if (!shown) return;
  for (const b of [...s.buzzes].sort((x, y) => x.at_us - y.at_us || x.seq - y.seq)) {
    const early = b.at_us < 0;
    ol.appendChild(el("li", { class: early ? "false" : "" }, `${teamName(s, b.team)}　${early ? "抢跑 " : ""}${(b.at_us / 1000).toFixed(3)} 毫秒`));
  }
}

function drawJudges(s) {
  const ul = clear($("judges"));
  const judging = ["judging", "judged"].includes(s.step.step);
  show(ul, judging);
  if (!judging) return;
  for (const j of s.judges) {
    let text = j.marked ? `${j.name} ✓${j.total !== null && j.total !== undefined ? ` ${fmt(j.total)}` : ""}` : `${j.name} 未评`;
    // The console sees every judge's marks, criterion by criterion.
    if (j.marks && s.round.rules.criteria) {
      text += `（${j.marks.map((m, i) => `${s.round.rules.criteria[i] ? s.round.rules.criteria[i].name : ""} ${m}`).join("，")}）`;
    }
    ul.appendChild(el("li", { class: j.marked ? "done" : "" }, text));
  }
}

// The audience's corner (host console and projector): how to join, how many joined, and at
// the podium the audience's own board.
function drawAudience(s) {
  const a = s.audience;
  const box = $("audience");
  if (!box) return;
  show(box, Boolean(a) && (seat === "screen" || seat === "host"));
  if (!a) return;
  const qr = $("audience-qr");
  if (qr && !qr.getAttribute("src")) qr.setAttribute("src", `/api/stages/${encodeURIComponent(stageId)}/qr.svg`);
  const podium = s.step.step === "podium";
  // At the podium the projector gives the corner to the audience's board.
  if (qr) show(qr, !podium);
  $("audience-join").textContent = podium && seat === "screen"
    ? `观众互动　${a.players} 人参加`
    : `观众互动：手机打开 ${location.host}/play 输入 PIN ${a.pin}　已加入 ${a.players} 人`;
  const ol = clear($("audience-top"));
  const board = podium || seat === "host";
  show(ol, board && a.top.length > 0);
  if (seat === "screen" && board) ol.appendChild(el("li", { class: "head" }, "观众榜"));
  for (const row of a.top) ol.appendChild(el("li", {}, `第${row.rank}名　${row.name}　${row.points} 分`));
}

let ticker = null;
function drawClock(s) {
  clearInterval(ticker);
  const st = s.step;
  const clock = $("clock");
  const limit = s.round && s.round.rules ? s.round.rules.answer_s * 1000 : 0;
  if (st.step !== "answering" || !limit) {
    show(clock, false);
    return;
  }
  state.skew = Date.now() - s.now;
  const tick = () => {
    const left = Math.max(0, limit - (Date.now() - state.skew - st.since_ms));
    clock.textContent = `剩余 ${Math.ceil(left / 1000)} 秒`;
  };
  tick();
  show(clock, true);
  ticker = setInterval(tick, 250);
}

function drawHost(s) {
  const st = s.step.step;
  $("open").disabled = st !== "ready";
  for (const id of ["right", "wrong"]) $(id).disabled = st !== "answering";
  $("timeout").disabled = !(st === "answering" || st === "open");
  $("next").disabled = ["answering", "open", "ready", "choosing", "podium"].includes(st);
  const box = clear($("host-stakes"));
  if (st === "choosing") {
    for (const stake of s.round.rules.stakes) {
      const b = el("button", { type: "button" }, `代选 ${stake} 分`);
      b.addEventListener("click", () => send({ type: "stake", stake }));
      box.appendChild(b);
    }
  }
  $("host-error").textContent = "";
}

function drawTeam(s) {
  const me = state.me && state.me.team;
  $("me").textContent = state.me ? `本机：${state.me.name}` : "";
  const st = s.step;
  const buzzer = s.round && s.round.kind === "buzzer" && ["ready", "open"].includes(st.step);
  show($("buzz"), buzzer);
  const box = clear($("stakes"));
  if (st.step === "choosing" && st.team === me) {
    for (const stake of s.round.rules.stakes) {
      const b = el("button", { type: "button" }, `${stake} 分`);
      b.addEventListener("click", () => send({ type: "stake", stake }));
      box.appendChild(b);
    }
  }
  drawDeviceAnswer(s, me);
  $("team-error").textContent = "";
}

// The answer pad of a round that answers on the device: shown to the team whose turn it is.
const pad = { key: null, picked: new Set() };
function drawDeviceAnswer(s, me) {
  const st = s.step;
  const form = $("dev-answer");
  const q = s.question;
  const on = st.step === "answering" && st.team === me && s.round && s.round.rules.on_device && q;
  show(form, Boolean(on));
  if (!on) {
    pad.key = null;
    return;
  }
  const key = `${s.round.index}:${q.index}:${st.team}`;
  if (pad.key === key) return;
  pad.key = key;
  pad.picked = new Set();
  $("dev-stem").textContent = q.stem;
  const box = clear($("dev-options"));
  const choices = q.kind === "truefalse" ? ["正确", "错误"] : q.kind === "single" || q.kind === "multiple" ? q.options : [];
  choices.forEach((text, i) => {
    const letter = q.kind === "truefalse" ? (i === 0 ? "T" : "F") : LETTERS[i];
    const b = el("button", { type: "button", "aria-pressed": "false", dataset: { letter } });
    b.textContent = q.kind === "truefalse" ? text : `${letter}．${text}`;
    b.addEventListener("click", () => {
      if (q.kind !== "multiple") pad.picked.clear();
      if (pad.picked.has(letter)) pad.picked.delete(letter);
      else pad.picked.add(letter);
      for (const o of box.children) o.setAttribute("aria-pressed", String(pad.picked.has(o.dataset.letter)));
    });
    box.appendChild(b);
  });
  const typed = ["fill", "numeric", "date"].includes(q.kind);
  show($("dev-input-row"), typed);
  const input = $("dev-input");
  input.value = "";
  input.type = q.kind === "numeric" ? "number" : q.kind === "date" ? "date" : "text";
  $("dev-unit").textContent = q.unit || "";
}

function deviceResponse(q) {
  const v = $("dev-input").value.trim();
  switch (q.kind) {
    case "single":
    case "multiple":
      return pad.picked.size ? { type: "choice", value: [...pad.picked].sort().join("") } : null;
    case "truefalse":
      return pad.picked.size ? { type: "truefalse", value: pad.picked.has("T") } : null;
    case "fill": return v ? { type: "text", value: v } : null;
    case "numeric": return v !== "" && Number.isFinite(Number(v)) ? { type: "number", value: Number(v) } : null;
    case "date": return /^\d{4}-\d{2}-\d{2}$/.test(v) ? { type: "date", value: v } : null;
    default: return null;
  }
}

function drawJudge(s) {
  const st = s.step;
  const form = $("marks-form");
  const on = s.round && s.round.kind === "judged" && ["judging", "judged"].includes(st.step);
  show(form, on);
  if (!on) return;
  if (form.dataset.for !== `${s.round.index}:${st.team}`) {
    form.dataset.for = `${s.round.index}:${st.team}`;
    $("marks-for").textContent = `为 ${judgedName(s, st.team)} 评分`;
    const box = clear($("criteria"));
    s.round.rules.criteria.forEach((c, i) => {
      const id = `crit-${i}`;
      box.appendChild(el("label", { for: id }, `${c.name}（0–${c.max} 分，权重 ${c.weight}）`));
      box.appendChild(el("input", { id, type: "number", min: "0", max: String(c.max), step: "1", required: true, inputmode: "numeric" }));
    });
    $("reason").value = "";
    $("marks-note").textContent = "";
  }
}

function draw(s) {
  state.last = s;
  $("title").textContent = `${s.title} · 决赛`;
  $("round").textContent = !s.round ? "" : s.round.title === s.round.kind_name ? s.round.title : `${s.round.title}（${s.round.kind_name}）`;
  $("step").textContent = stepText(s);
  drawBoard(s);
  drawQuestion(s);
  drawBuzzes(s);
  drawJudges(s);
  drawClock(s);
  drawAudience(s);
  if (seat === "host") drawHost(s);
  if (seat === "team") drawTeam(s);
  if (seat === "judge") drawJudge(s);
}

if (seat === "host") {
  $("next").addEventListener("click", () => send({ type: "next" }));
  $("open").addEventListener("click", () => send({ type: "open" }));
  for (const ruling of ["right", "wrong", "timeout"]) $(ruling).addEventListener("click", () => send({ type: "rule", ruling }));
}
if (seat === "team") {
  // A touch buzzes on pointerdown, without waiting for the finger to lift; the click that
  // follows it is not a second buzz. A keyboard (Enter, space) buzzes by its click.
  let pressedAt = 0;
  $("buzz").addEventListener("pointerdown", (e) => {
    e.preventDefault();
    pressedAt = Date.now();
    send({ type: "buzz" });
  });
  $("buzz").addEventListener("click", () => {
    if (Date.now() - pressedAt > 1000) send({ type: "buzz" });
  });
  $("dev-answer").addEventListener("submit", (e) => {
    e.preventDefault();
    const q = state.last && state.last.question;
    const response = q && deviceResponse(q);
    if (!response) {
      $("team-error").textContent = "请先作答";
      return;
    }
    send({ type: "answer", response });
  });
  $("code-form").addEventListener("submit", (e) => {
    e.preventDefault();
    sessionStorage.setItem(codeKey, $("code").value.trim());
    state.stopped = false;
    show($("code-form"), false);
    $("code-error").textContent = "";
    connect();
  });
}
if (seat === "judge") {
  $("marks-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const s = state.last;
    const marks = s.round.rules.criteria.map((_, i) => Number($(`crit-${i}`).value));
    const reason = $("reason").value.trim();
    send({ type: "marks", team: s.step.team, marks, ...(reason ? { reason } : {}) });
    $("marks-note").textContent = "已提交";
  });
}
connect();
