// 错题本 (/notebook): the member's wrong-answer notebook, filtered by topic, tag and due, 40
// entries a page; each entry opens to its answer, explanation and source (no drill needed);
// “复习到期错题” starts a drill in mode notebook and goes to /drill?id=….
// API: docs/api.md (GET /api/notebook, POST /api/drills). Text goes in with textContent only.
import { api } from "/static/js/app.js";
import { $, LETTERS, TOPICS, clear, cst, el, show, toDate } from "/static/js/dom.js";

const ORIGINS = { drill: "练兵", competition: "比武", exam: "考试" };
/** Entries a page: a long notebook stays quick to scroll on a phone. */
const PAGE_SIZE = 40;
const DRILL_KEY = "biwu.drill.current";

function fmtDate(v) {
  const d0 = toDate(v);
  if (!d0) return "";
  const d = cst(d0);
  const now = cst(new Date());
  const md = `${d.getUTCMonth() + 1}月${d.getUTCDate()}日`;
  return d.getUTCFullYear() === now.getUTCFullYear() ? md : `${d.getUTCFullYear()}年${md}`;
}

function pageError(text) {
  const box = clear($("page-error"));
  if (text) box.textContent = text;
  show(box, !!text);
}

let streakRule = 3;
const knownTags = new Set();

function setRule(n) {
  streakRule = Number(n) || 3;
  $("rule").textContent = `答错或超时的题目自动记入错题本，按期安排复习；连续答对 ${streakRule} 次即为掌握。`;
}

function fillTags(entries) {
  let added = false;
  for (const e of entries) {
    for (const t of e.tags || []) {
      if (!knownTags.has(t)) {
        knownTags.add(t);
        added = true;
      }
    }
  }
  if (!added) return;
  const sel = $("filter-tag");
  const keep = sel.value;
  clear(sel);
  sel.appendChild(el("option", { value: "" }, "全部知识点"));
  for (const t of [...knownTags].sort((a, b) => a.localeCompare(b, "zh-CN"))) sel.appendChild(el("option", { value: t }, t));
  sel.value = keep;
}

function setCounts(entries) {
  $("count-total").textContent = String(entries.length);
  $("count-due").textContent = String(entries.filter((e) => e.due).length);
  $("count-mastered").textContent = String(entries.filter((e) => e.mastered).length);
  const open = entries.filter((e) => !e.mastered).length;
  $("review-due").disabled = open === 0;
  const due = entries.filter((e) => e.due).length;
  // pick the smallest length that covers today's due entries
  $("review-count").value = due > 20 ? "50" : due > 10 ? "20" : "10";
}

function entryItem(e) {
  const li = el("li", { class: `dr-entry${e.due ? " due" : ""}${e.mastered ? " mastered" : ""}`, dataset: { question: e.question_id } });
  const head = el("div", { class: "dr-meta" });
  head.appendChild(el("span", { class: "dr-pill topic" }, e.topic_name || TOPICS[e.topic] || e.topic || ""));
  if (e.mastered) head.appendChild(el("span", { class: "dr-pill ok" }, "已掌握"));
  else if (e.due) head.appendChild(el("span", { class: "dr-pill due" }, "到期"));
  for (const t of e.tags || []) head.appendChild(el("span", { class: "dr-tag" }, t));
  li.appendChild(head);
  li.appendChild(el("p", { class: "stem" }, e.stem || ""));
  li.appendChild(answerDetails(e));

  const streak = Math.max(0, Math.min(Number(e.right_streak) || 0, streakRule));
  // The text beside the dots says the same: the dots are decoration for screen readers.
  const dots = el("span", { class: "dots", "aria-hidden": "true" });
  for (let i = 0; i < streakRule; i++) dots.appendChild(el("span", { class: i < streak ? "dot on" : "dot" }));
  const foot = el("div", { class: "foot" });
  const s = el("span", {}, `连续答对 ${Number(e.right_streak) || 0} / ${streakRule}`);
  s.prepend(dots);
  foot.appendChild(s);
  const bits = [`来自${ORIGINS[e.origin] || e.origin || ""}`];
  const added = fmtDate(e.added_at);
  if (added) bits.push(`${added}记入`);
  if (!e.mastered) {
    const due = fmtDate(e.due_at);
    if (e.due) bits.push("今日应复习");
    else if (due) bits.push(`${due}复习`);
  }
  foot.appendChild(el("span", { class: "dr-muted" }, bits.join(" · ")));
  li.appendChild(foot);
  return li;
}

/** The entry's answer, explanation and source, folded: opened with a tap, no drill started. */
function answerDetails(e) {
  const d = el("details", { class: "dr-answer" });
  d.appendChild(el("summary", {}, "查看答案和解析"));
  if (Array.isArray(e.options) && e.options.length) {
    const ol = el("ol", { class: "dr-opts" });
    e.options.forEach((o, i) => ol.appendChild(el("li", {}, `${LETTERS[i]}. ${o}`)));
    d.appendChild(ol);
  }
  const line = (k, v) => {
    if (!v) return;
    const p = el("p");
    p.appendChild(el("b", {}, `${k}：`));
    p.appendChild(document.createTextNode(v));
    d.appendChild(p);
  };
  line("正确答案", e.answer);
  line("解析", e.explanation);
  line("出处", e.source);
  return d;
}

let entriesShown = [];
let page = 0;

/** Shows one page of the (sorted) entries and the pager under them. */
function renderPage(n) {
  const pages = Math.max(1, Math.ceil(entriesShown.length / PAGE_SIZE));
  page = Math.max(0, Math.min(n, pages - 1));
  const ul = clear($("entries"));
  for (const e of entriesShown.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE)) ul.appendChild(entryItem(e));
  show($("pager"), pages > 1);
  $("page-info").textContent = `第 ${page + 1} / ${pages} 页`;
  $("page-prev").disabled = page === 0;
  $("page-next").disabled = page >= pages - 1;
}

for (const [id, step] of [["page-prev", -1], ["page-next", 1]]) {
  $(id).addEventListener("click", () => {
    renderPage(page + step);
    $("list-info").scrollIntoView({ block: "start" });
  });
}

let seq = 0;
async function load() {
  const topic = $("filter-topic").value;
  const tag = $("filter-tag").value;
  const due = $("filter-due").checked;
  const qs = new URLSearchParams();
  if (topic) qs.set("topic", topic);
  if (tag) qs.set("tag", tag);
  if (due) qs.set("due", "1");
  const mine = ++seq;
  $("list-info").textContent = "正在加载…";
  try {
    const r = await api(`/api/notebook${qs.toString() ? `?${qs}` : ""}`);
    if (mine !== seq) return;
    pageError("");
    setRule(r.mastery_streak);
    const entries = r.entries || [];
    fillTags(entries);
    if (!topic && !tag && !due) setCounts(entries);
    // due first, then open, then mastered; newest first within each
    const rank = (e) => (e.mastered ? 2 : e.due ? 0 : 1);
    entries.sort((a, b) => rank(a) - rank(b) || Number(b.added_at) - Number(a.added_at));
    entriesShown = entries;
    renderPage(0);
    const filtered = topic || tag || due;
    $("list-info").textContent = entries.length
      ? `${filtered ? "符合条件的" : "共"} ${entries.length} 题`
      : filtered ? "没有符合条件的错题" : "错题本是空的。答错或超时的题目会自动记入这里。";
  } catch (err) {
    if (mine !== seq) return;
    $("list-info").textContent = "";
    pageError(err.status === 401 ? "登录已失效，请重新登录。" : err.message);
  }
}

async function loadCounts() {
  try {
    const r = await api("/api/notebook");
    setRule(r.mastery_streak);
    fillTags(r.entries || []);
    setCounts(r.entries || []);
  } catch (_) { /* the list shows the error */ }
}

for (const id of ["filter-topic", "filter-tag", "filter-due"]) $(id).addEventListener("change", load);
$("filters").addEventListener("submit", (e) => { e.preventDefault(); load(); });

$("review-due").addEventListener("click", async () => {
  const btn = $("review-due");
  const out = $("review-error");
  show(out, false);
  btn.disabled = true;
  btn.textContent = "正在出题…";
  try {
    const d = await api("/api/drills", { mode: "notebook", count: Number($("review-count").value) || 10, time_limit_s: 0 });
    try { localStorage.setItem(DRILL_KEY, d.id); } catch (_) { /* private mode */ }
    location.href = `/drill?id=${encodeURIComponent(d.id)}`;
  } catch (err) {
    out.textContent = err.message;
    show(out, true);
    btn.disabled = false;
    btn.textContent = "复习到期错题";
  }
});

// ?due=1 opens the due list directly (links from the member home)
if (new URLSearchParams(location.search).get("due") === "1") $("filter-due").checked = true;
load().then(() => {
  if ($("filter-due").checked) loadCounts();
});
