// Projector page (/screen/{id}): lobby with QR and PIN, question with countdown and live
// answer count, reveal with distribution, leaderboard with animated rank changes, podium.
import {
  $, api, answerText, clear, Countdown, el, fmtPoints, KINDS, LETTERS, letterSet, LiveSocket,
  PHASES, PROTOCOL, rulingText, show, showCase, teamHeading, toast, truthOf,
} from "./common.js";

const competition = document.body.dataset.competition;
const state = {
  phase: "connecting",
  paused: false,
  total: 0,
  players: 0,
  questions: new Map(), // position → question frame
  current: null,
  teamRule: null, // settings.teams of the competition
};

const views = {
  lobby: $("view-lobby"),
  question: $("view-question"),
  reveal: $("view-question"),
  leaderboard: $("view-leaderboard"),
  podium: $("view-podium"),
};

const countdown = new Countdown($("countdown"));

function setPhase(phase) {
  state.phase = phase;
  const target = views[phase];
  for (const v of new Set(Object.values(views))) show(v, v === target);
  show($("screen-msg"), false);
  phaseLabel();
}

function phaseLabel() {
  let text = PHASES[state.phase] || state.phase;
  if (state.phase === "question" && state.paused) text = "已暂停";
  $("phase").textContent = text;
}

function message(text) {
  for (const v of new Set(Object.values(views))) show(v, false);
  const m = $("screen-msg");
  m.textContent = text;
  show(m, true);
}

// ---------- lobby ----------
function renderLobby(m) {
  if (m.pin) $("pin").textContent = m.pin;
  if (m.join_url) $("join-url").textContent = m.join_url;
  state.players = Number(m.players) || 0;
  $("players-count").textContent = String(state.players);
  const names = $("names");
  const have = new Set([...names.children].map((li) => li.textContent));
  const want = Array.isArray(m.names) ? m.names : [];
  // keep the existing chips (no re-animation), add the new ones, drop those who left
  for (const li of [...names.children]) if (!want.includes(li.textContent)) li.remove();
  for (const n of want) if (!have.has(n)) names.appendChild(el("li", {}, n));
}

// ---------- question ----------
function renderQuestion(q) {
  state.current = q;
  state.questions.set(q.position, q);
  state.paused = !!q.paused;
  $("q-pos").textContent = `第 ${q.position + 1} / ${q.total || state.total} 题`;
  $("q-kind").textContent = KINDS[q.kind] || "";
  showCase($("case"), q.case);
  const stem = $("stem");
  stem.textContent = q.stem;
  stem.classList.toggle("long", !!q.case || String(q.stem).length > 60);
  const list = clear($("screen-options"));
  list.classList.remove("revealed");
  $("view-question").classList.remove("revealing", ...FIT_STEPS);
  const opts = q.kind === "truefalse" ? ["正确", "错误"] : Array.isArray(q.options) ? q.options : [];
  const longest = opts.reduce((n, o) => Math.max(n, String(o).length), 0);
  list.classList.toggle("one-col", q.kind === "truefalse" ? false : longest > 14);
  opts.forEach((o, i) => {
    const li = el("li", { dataset: { index: String(i) } });
    li.appendChild(el("span", { class: "dist" }));
    if (q.kind !== "truefalse") li.appendChild(el("span", { class: "letter" }, LETTERS[i]));
    li.appendChild(el("span", { class: "text" }, o));
    li.appendChild(el("span", { class: "count" }));
    list.appendChild(li);
  });
  show(list, opts.length > 0);
  const hint = $("unit-hint");
  if (q.kind === "numeric") hint.textContent = q.unit ? `请在手机上填写数值（单位：${q.unit}）` : "请在手机上填写数值";
  else if (q.kind === "fill") hint.textContent = "请在手机上填写答案";
  else if (q.kind === "date") hint.textContent = "请在手机上选择日期";
  show(hint, ["numeric", "fill", "date"].includes(q.kind));
  clear($("reveal"));
  show($("reveal"), false);
  $("answer-count").textContent = `已作答 0 / ${state.players}`;
  show($("countdown"), true);
  countdown.set(q.remaining_ms, q.time_limit_ms, q.paused);
  phaseLabel();
  fitQuestion();
}

const QUESTION_FIT = ["snug", "snugger", "two-col", "no-case-head"];

/** A running question that overflows the projector (a case group's scenario with a long stem
 *  and options) is tightened step by step, never below 40 px. */
function fitQuestion() {
  const view = $("view-question");
  view.classList.remove(...QUESTION_FIT);
  if (view.classList.contains("revealing")) return;
  const room = view.parentElement.clientHeight;
  for (const step of QUESTION_FIT) {
    if (view.scrollHeight <= room) return;
    view.classList.add(step);
  }
}

// ---------- reveal ----------
function renderReveal(m) {
  countdown.stop();
  let q = state.questions.get(m.position);
  if (!q) {
    // joined during the reveal: the question frame was not seen
    q = { position: m.position, kind: null, stem: `第 ${m.position + 1} 题`, options: [] };
    $("q-pos").textContent = `第 ${m.position + 1} / ${state.total} 题`;
    $("q-kind").textContent = "";
    showCase($("case"), null);
    $("stem").textContent = "";
    clear($("screen-options"));
    show($("unit-hint"), false);
  }
  const dist = Array.isArray(m.distribution) ? m.distribution.map((n) => Number(n) || 0) : [];
  const sum = dist.reduce((a, b) => a + b, 0);
  // the last answer_count may predate the final answers: for kinds where each answer counts
  // once in the distribution, its sum is the final count
  if (q.kind === "single" || q.kind === "truefalse") {
    const shown = Number(($("answer-count").textContent.match(/\d+/) || ["0"])[0]);
    if (sum > shown) $("answer-count").textContent = `已作答 ${sum} / ${state.players}`;
  }
  const box = clear($("reveal"));
  const list = $("screen-options");
  show($("unit-hint"), false);

  if (m.voided) box.appendChild(el("div", { class: "voided" }, "本题已作废，不计分"));

  const items = [...list.children];
  if (items.length > 0) {
    list.classList.add("revealed");
    let right;
    if (q.kind === "truefalse") {
      const b = truthOf(m.answer);
      right = new Set(b === null ? [] : [b ? 0 : 1]);
    } else {
      right = new Set([...letterSet(m.answer)].map((l) => LETTERS.indexOf(l)));
      for (const alt of m.also_accepted || []) for (const l of letterSet(alt)) right.add(LETTERS.indexOf(l));
    }
    items.forEach((li, i) => {
      const n = dist[i] ?? 0;
      li.classList.toggle("right", right.has(i) && !m.voided);
      li.querySelector(".count").textContent = `${n} 人`;
      const bar = li.querySelector(".dist");
      bar.style.width = "0";
      requestAnimationFrame(() => requestAnimationFrame(() => {
        bar.style.width = sum > 0 ? `${(100 * n) / sum}%` : "0";
      }));
    });
  }

  const ans = el("div", { class: "reveal-answer" }, "正确答案：");
  ans.appendChild(el("span", { class: "val" }, answerText(q.kind, m.answer, q.unit)));
  if (m.also_accepted && m.also_accepted.length) {
    ans.appendChild(el("span", {}, `　也认可：${m.also_accepted.map((a) => answerText(q.kind, a, q.unit)).join("、")}`));
  }
  box.appendChild(ans);

  if (items.length === 0 && dist.length >= 2) {
    const split = el("div", { class: "reveal-split" });
    split.appendChild(el("span", { class: "right" }, `答对 ${dist[0]} 人`));
    split.appendChild(el("span", { class: "wrong" }, `答错 ${dist[1]} 人`));
    box.appendChild(split);
  }

  if (m.explanation || m.source) {
    const ex = el("div", { class: "explain" });
    if (m.explanation) {
      const p = el("p");
      p.appendChild(el("span", { class: "k" }, "解析"));
      p.appendChild(document.createTextNode(m.explanation));
      ex.appendChild(p);
    }
    if (m.source) {
      const p = el("p");
      p.appendChild(el("span", { class: "k" }, "出处"));
      p.appendChild(document.createTextNode(m.source));
      ex.appendChild(p);
    }
    box.appendChild(ex);
  }
  show(box, true);
  show($("countdown"), false);
  // The question has been read: it steps back so that the answer, the explanation and the
  // source fit on the projector, however long the explanation.
  $("view-question").classList.add("revealing");
  fitReveal();
}

const FIT_STEPS = ["no-case", "tight-stem", "compact-options", "bare-options", "no-stem"];

/** Room is made for the answer, the explanation and the source by stepping the question back
 *  (a case group's scenario first, then the stem to one line, then the wrong options to
 *  letters and counts, then all options, then the stem itself — all read while the question
 *  ran),
 *  never by text below 40 px: the projector is read from the back of the hall. */
function fitReveal() {
  const view = $("view-question");
  view.classList.remove(...FIT_STEPS);
  if (!view.classList.contains("revealing")) return;
  const room = view.parentElement.clientHeight;
  for (const step of FIT_STEPS) {
    if (view.scrollHeight <= room) return;
    view.classList.add(step);
  }
}
window.addEventListener("resize", () => {
  fitQuestion();
  fitReveal();
});

// ---------- leaderboard ----------
function changeLabel(c) {
  if (c > 0) return ["up", `▲${c}`];
  if (c < 0) return ["down", `▼${-c}`];
  return ["same", "–"];
}

function renderLeaderboard(m) {
  const ol = clear($("leaderboard"));
  const top = Array.isArray(m.top) ? m.top.slice(0, 10) : [];
  if (top.length === 0) {
    ol.appendChild(el("li", {}, "暂无成绩"));
  }
  const rows = top.map((line, i) => {
    const li = el("li", { class: `rank-${line.rank}`, dataset: { participant: line.participant } });
    li.appendChild(el("span", { class: "rk" }, line.rank));
    li.appendChild(el("span", { class: "nm" }, line.name));
    li.appendChild(el("span", { class: "pt" }, fmtPoints(line.points)));
    const [cls, txt] = changeLabel(Number(line.change) || 0);
    li.appendChild(el("span", { class: `ch ${cls}` }, txt));
    ol.appendChild(li);
    return [li, Number(line.change) || 0, i];
  });
  $("board-foot").textContent = `共 ${m.players ?? state.players} 人参赛`;
  renderTeamBoard(Array.isArray(m.teams) ? m.teams : []);
  // Animate from the previous rank: `change` = previous rank − rank now (positive: moved up).
  const first = rows[0]?.[0];
  if (!first) return;
  const step = first.getBoundingClientRect().height + parseFloat(getComputedStyle(first).marginBottom || "0");
  for (const [li, change, i] of rows) {
    if (change === 0) continue;
    const from = Math.max(-i - 1, Math.min(change, top.length - i + 1));
    li.style.transition = "none";
    li.style.transform = `translateY(${from * step}px)`;
    if (change > 0) li.style.zIndex = "2";
  }
  ol.getBoundingClientRect(); // flush
  requestAnimationFrame(() => {
    for (const [li, change, i] of rows) {
      if (change === 0) continue;
      li.style.transition = "";
      li.style.transitionDelay = `${0.25 + i * 0.04}s`;
      li.style.transform = "";
    }
  });
}

// Team standings beside the individual board (only when the competition ranks teams).
function renderTeamBoard(teams) {
  const aside = $("team-board");
  show(aside, teams.length > 0);
  $("view-leaderboard").classList.toggle("with-teams", teams.length > 0);
  if (!teams.length) return;
  $("team-board-title").textContent = teamHeading(state.teamRule);
  const ol = clear($("team-list"));
  for (const t of teams.slice(0, 10)) {
    const li = el("li", { class: t.rank ? `rank-${t.rank}` : "unranked" });
    li.appendChild(el("span", { class: "rk" }, t.rank ?? "—"));
    li.appendChild(el("span", { class: "nm" }, t.name));
    li.appendChild(el("span", { class: "pt" }, t.score_milli == null ? "—" : t.score));
    li.appendChild(el("span", { class: "sz" }, `${t.took_part}/${t.size}人`));
    ol.appendChild(li);
  }
}

// ---------- podium ----------
function renderPodium(m) {
  countdown.stop();
  const pod = clear($("podium"));
  const top = Array.isArray(m.top) ? m.top : [];
  const cls = ["gold", "silver", "bronze"];
  // Nobody stands on the podium with 0 points (the proposed pacesetters exclude them too).
  const winners = top.filter((line) => Number(line.points) > 0);
  winners.slice(0, 3).forEach((line, i) => {
    const step = el("div", { class: `step ${cls[i]}` });
    step.appendChild(el("div", { class: "who" }, line.name));
    step.appendChild(el("div", { class: "pts" }, `${fmtPoints(line.points)} 分`));
    step.appendChild(el("div", { class: "block" }, line.rank));
    pod.appendChild(step);
  });
  if (winners.length === 0) pod.appendChild(el("div", { class: "screen-msg" }, "本场暂无得分者"));
  const ps = clear($("pacesetters"));
  const proposed = Array.isArray(m.proposed) ? m.proposed : [];
  ps.appendChild(el("span", { class: "k" }, m.awards_confirmed ? "业务标兵" : "拟表彰业务标兵"));
  if (proposed.length === 0) ps.appendChild(el("span", {}, "本场无符合条件的人选"));
  for (const p of proposed) ps.appendChild(el("span", { class: "nm" }, p.name));
  ps.appendChild(el("span", { class: "state" }, m.awards_confirmed ? "✔ 已确认表彰" : "（待主持人确认）"));
  ps.appendChild(el("span", { class: "rule" }, "按名册人员排名，并列者一并列入；访客和 0 分者不参加评选"));
  const teams = Array.isArray(m.teams) ? m.teams.filter((t) => t.rank != null).slice(0, 3) : [];
  const box = clear($("podium-teams"));
  show(box, teams.length > 0);
  if (teams.length) {
    box.appendChild(el("span", { class: "k" }, teamHeading(state.teamRule)));
    for (const t of teams) box.appendChild(el("span", { class: "nm" }, `${t.rank}. ${t.name} ${t.score}`));
  }
}

// ---------- socket ----------
let fatal = false;
let titleSet = false;
let afterRuling = false;
const live = new LiveSocket({
  hello: () => ({ type: "hello", protocol: PROTOCOL, role: "screen", competition }),
  onState: (s) => show($("conn"), s === "closed" && !fatal),
  onMessage(m) {
    switch (m.type) {
      case "welcome":
        state.total = Number(m.total_questions) || 0;
        if (m.title) {
          titleSet = true;
          $("title").textContent = m.title;
          document.title = `${m.title} · 投影屏`;
        }
        $("total-q").textContent = state.total ? `共 ${state.total} 题` : "";
        state.paused = false;
        setPhase(m.phase);
        break;
      case "lobby":
        renderLobby(m);
        if (state.phase === "lobby") setPhase("lobby");
        break;
      case "question":
        setPhase("question");
        renderQuestion(m);
        break;
      case "answer_count":
        state.players = Number(m.players) || state.players;
        if (!state.current || state.current.position === m.position) {
          $("answer-count").textContent = `已作答 ${m.answered} / ${m.players}`;
        }
        break;
      case "paused":
        state.paused = true;
        countdown.sync(m.remaining_ms, true);
        phaseLabel();
        break;
      case "resumed":
        state.paused = false;
        countdown.sync(m.remaining_ms, false);
        phaseLabel();
        break;
      case "time":
        countdown.sync(m.remaining_ms);
        break;
      case "reveal":
        state.paused = false;
        setPhase("reveal");
        renderReveal(m);
        break;
      case "leaderboard":
        state.players = Number(m.players) || state.players;
        // after a ruling the leaderboard is recomputed, but the phase stays (reveal, podium…)
        if (afterRuling && state.phase !== "leaderboard") {
          afterRuling = false;
          break;
        }
        afterRuling = false;
        setPhase("leaderboard");
        renderLeaderboard(m);
        break;
      case "ruling":
        afterRuling = true;
        toast(rulingText(m), 8000);
        break;
      case "podium":
        setPhase("podium");
        renderPodium(m);
        break;
      case "error":
        if (["not_found", "not_allowed", "version"].includes(m.code)) {
          fatal = true;
          live.stop();
          message(m.message || "无法打开投影屏");
          $("phase").textContent = "无法连接";
        } else {
          toast(m.message || m.code);
        }
        break;
      default:
        break;
    }
  },
});

// The PIN and join link also come from the JSON API (useful before the first lobby frame).
api(`/api/competitions/${encodeURIComponent(competition)}`)
  .then((c) => {
    if (c.pin && $("pin").textContent.startsWith("-")) $("pin").textContent = c.pin;
    if (c.join_url && !$("join-url").textContent) $("join-url").textContent = c.join_url;
    if (c.title && !titleSet) $("title").textContent = c.title;
    if (c.settings && c.settings.teams) {
      state.teamRule = c.settings.teams;
      $("team-board-title").textContent = teamHeading(state.teamRule);
    }
  })
  .catch(() => {});

live.connect();
