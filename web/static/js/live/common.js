// Shared code for the live competition pages: JSON calls, the live-room socket
// (docs/protocol.md, version 1), a server-driven countdown, Chinese labels and DOM helpers.
// User-provided text is only ever inserted with textContent.

import { el, truthOf } from "/static/js/dom.js";

export const PROTOCOL = 1;

export const PHASES = {
  connecting: "正在连接",
  lobby: "等待开始",
  question: "答题中",
  reveal: "揭晓答案",
  leaderboard: "排行榜",
  podium: "颁奖",
};

export const STATUS = { lobby: "筹备中", running: "进行中", ended: "已结束" };

/** JSON calls with the CSRF header: the one helper all pages share. */
export { api } from "/static/js/app.js";

/** Labels and DOM helpers shared with the other pages. */
export { $, KINDS, LETTERS, TOPICS, answerPad, clear, el, show, showCase, truthOf } from "/static/js/dom.js";

export const fmtPoints = (n) => (Number(n) || 0).toLocaleString("zh-CN");

// The heading of the team standings: 团体排名（平均分）or（总分）, from the competition's
// team rule (`settings.teams` of GET /api/competitions/{id}); without one, just 团体排名.
export function teamHeading(rule) {
  if (!rule || !rule.by || rule.by === "none") return "团体排名";
  return `团体排名（${rule.score === "sum" ? "总分" : "平均分"}）`;
}

// A team line of `leaderboard.teams` / `podium.teams` as text: 第 1 名 文秘处 1462.5 分（4/6 人）.
export function teamText(t) {
  const rank = t.rank == null ? "—" : `第 ${t.rank} 名`;
  const score = t.score_milli == null ? "暂无成绩" : `${t.score} 分`;
  return `${rank}　${t.name}　${score}（${t.took_part}/${t.size} 人）`;
}

/** Letters of a choice answer as a set ("ACD" → {A,C,D}). */
export function letterSet(s) {
  return new Set(String(s ?? "").toUpperCase().replace(/[^A-H]/g, "").split("").filter(Boolean));
}

/** The answer object for a kind, from what a person typed (host rulings). */
export function responseFor(kind, raw) {
  const s = String(raw ?? "").trim();
  switch (kind) {
    case "single":
    case "multiple":
      return { type: "choice", value: s.toUpperCase().replace(/[^A-H]/g, "") };
    case "truefalse": {
      const b = truthOf(s);
      if (b === null) throw new Error("判断题请填写“正确”或“错误”");
      return { type: "truefalse", value: b };
    }
    case "numeric": {
      const n = Number(s.replace(/[,，\s]/g, ""));
      if (!Number.isFinite(n) || s === "") throw new Error("请填写数字");
      return { type: "number", value: n };
    }
    case "date":
      if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) throw new Error("日期格式应为 YYYY-MM-DD");
      return { type: "date", value: s };
    default:
      return { type: "text", value: s };
  }
}

/**
 * The live-room socket: connects, sends `hello` (built fresh on every attempt, so a rejoin
 * token learned later is used), hands parsed frames to `onMessage`, and reconnects with
 * exponential backoff when the socket closes — until `stop()` is called.
 */
export class LiveSocket {
  constructor({ hello, onMessage, onState }) {
    this.hello = hello;
    this.onMessage = onMessage;
    this.onState = onState || (() => {});
    this.ws = null;
    this.stopped = false;
    this.attempt = 0;
    this.timer = null;
    this.welcomed = false;
    const wake = () => {
      if (!this.stopped && (!this.ws || this.ws.readyState === WebSocket.CLOSED)) {
        clearTimeout(this.timer);
        this.connect();
      }
    };
    window.addEventListener("online", wake);
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") wake();
    });
  }

  url() {
    return (location.protocol === "https:" ? "wss" : "ws") + "://" + location.host + "/ws";
  }

  connect() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.welcomed = false;
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch (_) {
      this.schedule();
      return;
    }
    this.ws = ws;
    this.onState("connecting");
    ws.addEventListener("open", () => {
      if (this.ws !== ws) return;
      ws.send(JSON.stringify(this.hello()));
    });
    ws.addEventListener("message", (ev) => {
      if (this.ws !== ws || typeof ev.data !== "string") return;
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch (_) {
        return;
      }
      if (!msg || typeof msg.type !== "string") return;
      if (msg.type === "welcome") {
        this.welcomed = true;
        this.attempt = 0;
        this.onState("open");
      }
      this.onMessage(msg);
    });
    ws.addEventListener("close", (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped) {
        this.onState("stopped");
        return;
      }
      this.onState("closed", ev);
      this.schedule(ev.code === 1008 ? 5000 : 0);
    });
    ws.addEventListener("error", () => {
      /* a close event follows */
    });
  }

  schedule(min = 0) {
    if (this.stopped) return;
    const base = Math.min(15000, 500 * 2 ** Math.min(this.attempt, 5));
    const delay = Math.max(min, base) * (0.75 + Math.random() * 0.5);
    this.attempt += 1;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  /** Sends a frame; false when the socket is not open (the caller tells the user). */
  send(obj) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN || !this.welcomed) return false;
    this.ws.send(JSON.stringify(obj));
    return true;
  }

  /** No more reconnects (after `removed` or a refusal at hello). */
  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) {
      try {
        this.ws.close(1000);
      } catch (_) {
        /* already closed */
      }
    }
  }

  /** Restart after stop() (e.g. the player joins again). */
  restart() {
    this.stopped = false;
    this.attempt = 0;
    this.connect();
  }
}

/**
 * A countdown driven only by the server's remaining_ms: every frame resets it; between
 * frames it runs down locally from the moment the frame arrived.
 */
export class Countdown {
  constructor(root, { onZero } = {}) {
    this.root = root;
    this.num = root.querySelector(".num");
    this.fill = root.querySelector(".bar-fill");
    this.onZero = onZero;
    this.base = 0;
    this.at = 0;
    this.limit = 1;
    this.paused = false;
    this.running = false;
    this.zeroed = false;
    this.raf = 0;
    this.tick = this.tick.bind(this);
  }

  /** A question frame: remaining and limit, paused or not. */
  set(remainingMs, limitMs, paused) {
    this.limit = Math.max(1, Number(limitMs) || 0, Number(remainingMs) || 0);
    this.sync(remainingMs, paused);
  }

  /** paused / resumed / time frames. `paused` undefined keeps the current state. */
  sync(remainingMs, paused) {
    this.base = Math.max(0, Number(remainingMs) || 0);
    this.at = performance.now();
    if (paused !== undefined) this.paused = !!paused;
    if (this.base > this.limit) this.limit = this.base;
    this.zeroed = false;
    this.running = true;
    this.root.hidden = false;
    this.draw();
    cancelAnimationFrame(this.raf);
    this.raf = requestAnimationFrame(this.tick);
  }

  remaining() {
    if (this.paused) return this.base;
    return Math.max(0, this.base - (performance.now() - this.at));
  }

  /** The question is over (reveal): show zero, stop animating. */
  stop() {
    this.running = false;
    cancelAnimationFrame(this.raf);
    this.base = 0;
    this.paused = false;
    this.draw();
  }

  tick() {
    if (!this.running) return;
    this.draw();
    if (!this.paused && this.remaining() <= 0) {
      if (!this.zeroed) {
        this.zeroed = true;
        if (this.onZero) this.onZero();
      }
      return;
    }
    this.raf = requestAnimationFrame(this.tick);
  }

  draw() {
    const ms = this.running ? this.remaining() : 0;
    const secs = Math.ceil(ms / 1000);
    if (this.num) this.num.textContent = this.paused ? "暂停" : String(secs);
    if (this.fill) this.fill.style.transform = `scaleX(${Math.min(1, ms / this.limit)})`;
    this.root.classList.toggle("low", !this.paused && this.running && ms > 0 && ms <= 5000);
    this.root.classList.toggle("paused", this.paused);
    this.root.setAttribute("aria-label", this.paused ? "已暂停" : `剩余 ${secs} 秒`);
  }
}

/** Shows a transient message box at the bottom of the page. */
export function toast(text, ms = 6000) {
  let t = document.querySelector(".toast");
  if (!t) {
    t = el("div", { class: "toast", role: "status" });
    document.body.appendChild(t);
  }
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (t.hidden = true), ms);
}

/** Human text of a ruling frame. */
export function rulingText(m) {
  const what = m.ruling === "void" ? "作废" : m.ruling === "accept" ? "认可其他答案" : m.ruling;
  return `主持人裁定：第 ${Number(m.position) + 1} 题${what}` + (m.reason ? `（理由：${m.reason}）` : "");
}

/** Text of a revealed answer for a kind, with the unit for numbers. */
export function answerText(kind, answer, unit) {
  const a = String(answer ?? "");
  if (kind === "truefalse") {
    const b = truthOf(a);
    return b === null ? a : b ? "正确" : "错误";
  }
  if (kind === "numeric" && unit && !a.endsWith(unit)) return `${a} ${unit}`;
  return a;
}
