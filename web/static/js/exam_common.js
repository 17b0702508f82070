// What the exam pages share: JSON calls with any method (answers are saved with PUT), times
// on the users' clock (UTC+8) and the Chinese names of an exam's states.
// API: docs/api.md, “Exam rounds (初赛 / 线上答题) and teams”.
import { cst, toDate } from "/static/js/dom.js";

const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content ?? "";

/** A JSON call. Errors carry `status` (0: the network failed) and the server's `code`. */
export async function call(method, path, body) {
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch (_) {
    const err = new Error("网络异常，请检查网络后重试");
    err.status = 0;
    throw err;
  }
  if (res.status === 204) return {};
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const err = new Error(data.message || `请求失败（${res.status}）`);
    err.status = res.status;
    err.code = data.error;
    throw err;
  }
  return data;
}

export const get = (path) => call("GET", path);
export const post = (path, body = {}) => call("POST", path, body);
export const put = (path, body) => call("PUT", path, body);

export const examPath = (id, rest = "") => `/api/exams/${encodeURIComponent(id)}${rest}`;

const pad = (n) => String(n).padStart(2, "0");

/** 12月3日 18:30 (with the year when it is not this year's). */
export function fmtTime(v) {
  const d0 = toDate(v);
  if (!d0) return "";
  const d = cst(d0);
  const thisYear = cst(new Date()).getUTCFullYear();
  const year = d.getUTCFullYear() === thisYear ? "" : `${d.getUTCFullYear()}年`;
  return `${year}${d.getUTCMonth() + 1}月${d.getUTCDate()}日 ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
}

/** The window “12月3日 09:00 至 12月5日 18:00”. */
export function fmtWindow(opens, closes) {
  return `${fmtTime(opens)} 至 ${fmtTime(closes)}`;
}

/** A span of time as people say it: 1小时5分、12分30秒、45秒. */
export function fmtSpan(ms) {
  const s = Math.max(0, Math.round(Number(ms) / 1000) || 0);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h) return `${h}小时${m ? `${m}分` : ""}`;
  if (m) return sec ? `${m}分${sec}秒` : `${m}分钟`;
  return `${sec}秒`;
}

/** The clock face of a countdown: 09:58, or 1:02:03 past an hour. */
export function fmtClock(ms) {
  const s = Math.max(0, Math.ceil(Number(ms) / 1000) || 0);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h ? `${h}:${pad(m)}:${pad(sec)}` : `${pad(m)}:${pad(sec)}`;
}

/** A `datetime-local` value read as Beijing time, in epoch ms (NaN when empty). */
export function localInputToMs(value) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(String(value || ""));
  if (!m) return NaN;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5])) - 8 * 3600 * 1000;
}

/** Epoch ms as a `datetime-local` value in Beijing time. */
export function msToLocalInput(ms) {
  const d = cst(new Date(ms));
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
}

export const EXAM_STATUS = {
  scheduled: ["未开始", "wait"],
  open: ["进行中", "open"],
  closing: ["即将结束", "open"],
  closed: ["已结束", "done"],
  cancelled: ["已提前截止", "done"],
};

export const MY_STATUS = {
  not_started: "尚未作答",
  in_progress: "答题中",
  submitted: "已交卷",
  no_attempts_left: "已交卷",
};

/** An exam's state when the server did not name it: from its window and `now`. */
export function statusOf(exam, now = Date.now()) {
  if (exam.status) return exam.status;
  if (exam.cancelled_at) return "cancelled";
  if (now < Number(exam.opens_at)) return "scheduled";
  if (now < Number(exam.closes_at)) return "open";
  return "closed";
}

/** Numbers as people read them: at most two decimals. */
export function num(v) {
  const n = Number(v);
  if (!Number.isFinite(n)) return "—";
  return String(Math.round(n * 100) / 100);
}
