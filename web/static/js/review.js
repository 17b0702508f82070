// 小结点评 (/reviews/{id}): one weekly review of a section. A draft its author may edit is an
// editor — the period's numbers (read-only), the drafted body in a textarea, 肯定成绩 / 指出不足
// for each member, 保存草稿 and 发布 (which saves first). Anything else is read-only: the body
// in paragraphs, the members' comments, the department head's remarks, a notice when a newer
// version replaced it, 打印, 修订（生成新版本） and, for the department head, 添加点评.
// API: GET /api/reviews/{id}, POST /api/reviews/{id} (save), POST /api/reviews/{id}/publish,
// POST /api/reviews/{id}/revise, POST /api/reviews/{id}/remarks. Text goes in with textContent.
import { api } from "/static/js/app.js";
import { $, clear, el, show } from "/static/js/dom.js";

function pathId(n) {
  const raw = location.pathname.split("/")[n] || "";
  try { return decodeURIComponent(raw); } catch (_) { return raw; }
}
const reviewId = pathId(2);
const enc = encodeURIComponent;
const baseTitle = document.title;

// ---------- small helpers ----------
const num = (v) => (v === null || v === undefined || v === "" || !Number.isFinite(Number(v)) ? null : Number(v));
const pct = (r) => (num(r) === null ? "—" : `${Math.round(num(r) * 100)}%`);
const pad = (n) => String(n).padStart(2, "0");

function fmtFull(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(s ?? ""));
  return m ? `${Number(m[1])}年${Number(m[2])}月${Number(m[3])}日` : (s ? String(s) : "");
}

function clock() {
  const d = new Date(Date.now() + 8 * 3600 * 1000);
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
}

function alertBox(id, text, loginLink) {
  const b = clear($(id));
  if (!text) {
    show(b, false);
    return;
  }
  b.appendChild(document.createTextNode(text));
  if (loginLink) {
    b.appendChild(document.createTextNode(" "));
    b.appendChild(el("a", { href: `/login?next=${enc(location.pathname)}` }, "去登录"));
  }
  show(b, true);
}

function apiError(id, err) {
  if (err.status === 401) alertBox(id, "登录已失效，请重新登录（未保存的内容请先复制保存）。", true);
  else alertBox(id, err.message);
}

/** Text as paragraphs: blank lines and line breaks both end one. */
function paragraphs(holder, text) {
  clear(holder);
  const parts = String(text || "").split(/\n+/).map((p) => p.trim()).filter(Boolean);
  for (const p of parts) holder.appendChild(el("p", {}, p));
  if (!parts.length) holder.appendChild(el("p", { class: "sc-muted" }, "（无正文）"));
}

// ---------- state ----------
const state = { review: null, busy: false, dirty: false };

// ---------- loading ----------
async function load() {
  show($("loading"), true);
  try {
    const r = await api(`/api/reviews/${enc(reviewId)}`);
    alertBox("page-error", "");
    render(r);
  } catch (err) {
    show($("review"), false);
    if (err.status === 401) alertBox("page-error", "登录已失效，请重新登录。", true);
    else if (err.status === 403) alertBox("page-error", "您无权查看这份小结点评");
    else if (err.status === 404) alertBox("page-error", "没有这份小结点评");
    else alertBox("page-error", err.message);
  } finally {
    show($("loading"), false);
  }
}

// ---------- rendering ----------
function render(r) {
  state.review = r;
  const sec = r.section || {};
  const title = `${sec.name || ""} 小结点评（${r.from || ""} 至 ${r.to || ""}）`.trim();
  $("review-title").textContent = title;
  document.title = `${title} · ${baseTitle}`;
  if (sec.id !== undefined && sec.id !== null) {
    $("back-link").href = `/section/${enc(sec.id)}`;
    $("back-link").textContent = `‹ 返回${sec.name || "处室"}练兵情况`;
  }

  const published = r.status === "published";
  const status = $("review-status");
  status.textContent = published ? "已发布" : "草稿";
  status.className = published ? "sc-pill ok" : "sc-pill draft";
  $("review").dataset.status = published ? "published" : "draft";
  $("review-version").textContent = `第${num(r.version) ?? 1}版`;
  $("review-author").textContent = r.author ? `撰写人：${r.author}` : "";
  $("review-date").textContent = published && r.published_at
    ? `发布于 ${fmtFull(r.published_at)}`
    : r.created_at ? `起草于 ${fmtFull(r.created_at)}` : "";

  const newer = r.superseded_by;
  show($("superseded"), newer !== null && newer !== undefined && newer !== "");
  if (newer) $("superseded-link").href = `/reviews/${enc(newer)}`;

  renderFacts(r.facts || {});

  const editing = !published && !!r.can_edit;
  // the numbers beside the draft while it is written; after the text once it is read
  if (editing) $("review-editor").before($("facts-card"));
  else $("remarks-card").before($("facts-card"));
  show($("review-editor"), editing);
  show($("review-read"), !editing);
  if (editing) renderEditor(r);
  else renderRead(r);
  show($("review"), true);
}

function factList(ul, items, text, emptyText) {
  clear(ul);
  for (const it of items) ul.appendChild(el("li", {}, text(it)));
  if (!items.length) ul.appendChild(el("li", { class: "sc-muted" }, emptyText));
}

function renderFacts(f) {
  $("fact-participation").textContent = pct(f.participation);
  $("fact-active").textContent = num(f.members) !== null ? `${num(f.active) ?? 0} / ${num(f.members)} 人参练` : "";
  $("fact-accuracy").textContent = pct(f.accuracy);
  let change = "上期无可比数据";
  if (num(f.accuracy) !== null && num(f.previous_accuracy) !== null) {
    const d = Math.round(num(f.accuracy) * 100) - Math.round(num(f.previous_accuracy) * 100);
    change = d > 0 ? `较上期 ↑ ${d} 个百分点` : d < 0 ? `较上期 ↓ ${-d} 个百分点` : "与上期持平";
  }
  const ch = $("fact-accuracy-change");
  ch.textContent = change;
  ch.className = `d ${change.includes("↑") ? "up" : change.includes("↓") ? "down" : ""}`;
  $("fact-members").textContent = `${num(f.active) ?? 0} / ${num(f.members) ?? 0}`;
  factList($("fact-progress"), f.progress || [], (p) => `${p.name}：正确率 ${pct(p.from)} → ${pct(p.to)}`, "无");
  factList($("fact-weak"), f.weak_topics || [], (t) => `${t.name}：正确率 ${pct(t.accuracy)}`, "无");
  factList($("fact-laggards"), f.laggards || [], (m) => `${m.name}：练兵 ${num(m.drills) ?? 0} 次`, "无");
}

// ---------- editor ----------
function commentField(c, kind, label) {
  const id = `${kind}-${c.member_id}`;
  const wrap = el("div", { class: "sc-field" });
  wrap.appendChild(el("label", { for: id }, label));
  const ta = el("textarea", { id, name: kind, class: `sc-${kind}`, rows: "3", dataset: { member: c.member_id } });
  ta.value = c[kind] || "";
  wrap.appendChild(ta);
  return wrap;
}

function renderEditor(r) {
  $("review-body").value = r.body || "";
  const holder = clear($("comment-fields"));
  for (const c of r.comments || []) {
    const fs = el("fieldset", { class: "sc-member-fs", id: `comment-${c.member_id}`, dataset: { member: c.member_id } });
    fs.appendChild(el("legend", {}, c.name || ""));
    fs.appendChild(commentField(c, "praise", "肯定成绩"));
    fs.appendChild(commentField(c, "improve", "指出不足"));
    holder.appendChild(fs);
  }
  if (!(r.comments || []).length) holder.appendChild(el("p", { class: "sc-muted" }, "本处暂无成员。"));
  show($("publish"), !!r.can_publish);
  state.dirty = false;
  saveStatus("");
}

function collect() {
  const comments = [...$("comment-fields").querySelectorAll("fieldset[data-member]")].map((fs) => ({
    member_id: fs.dataset.member,
    praise: fs.querySelector("textarea.sc-praise").value.trim(),
    improve: fs.querySelector("textarea.sc-improve").value.trim(),
  }));
  return { body: $("review-body").value, comments };
}

function saveStatus(text, dirty = false) {
  const s = $("save-status");
  s.textContent = text;
  s.classList.toggle("dirty", dirty);
}

function setBusy(on) {
  state.busy = on;
  $("save-draft").disabled = on;
  $("publish").disabled = on;
}

async function save() {
  const r = await api(`/api/reviews/${enc(reviewId)}`, collect());
  state.review = r;
  state.dirty = false;
  saveStatus(`已保存（${clock()}）`);
  return r;
}

$("review-editor").addEventListener("input", () => {
  if (state.dirty || state.busy) return;
  state.dirty = true;
  saveStatus("有未保存的修改", true);
});

$("review-editor").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (state.busy) return;
  alertBox("editor-error", "");
  setBusy(true);
  saveStatus("正在保存…");
  try {
    await save();
  } catch (err) {
    saveStatus(state.dirty ? "有未保存的修改" : "", state.dirty);
    apiError("editor-error", err);
  } finally {
    setBusy(false);
  }
});

$("publish").addEventListener("click", async () => {
  if (state.busy) return;
  if (!window.confirm("发布后不可修改，确定发布？")) return;
  alertBox("editor-error", "");
  setBusy(true);
  let saved = false;
  try {
    saveStatus("正在保存…");
    await save();
    saved = true;
    saveStatus("正在发布…");
    const r = await api(`/api/reviews/${enc(reviewId)}/publish`, {});
    render(r);
    $("read-status").textContent = "已发布，本处成员可在“我的”页查看。";
    window.scrollTo(0, 0);
    $("review-title").focus({ preventScroll: true });
  } catch (err) {
    if (saved) saveStatus(`草稿已保存（${clock()}），尚未发布`);
    else saveStatus(state.dirty ? "有未保存的修改" : "", state.dirty);
    apiError("editor-error", err);
  } finally {
    setBusy(false);
  }
});

// ---------- read-only ----------
function renderRead(r) {
  $("read-status").textContent = "";
  paragraphs($("review-text"), r.body);

  const list = clear($("comments-view"));
  const said = (r.comments || []).filter((c) => (c.praise || "").trim() || (c.improve || "").trim());
  for (const c of said) {
    const li = el("li", { dataset: { member: c.member_id } });
    li.appendChild(el("div", { class: "who" }, c.name || ""));
    for (const [key, label] of [["praise", "肯定成绩"], ["improve", "指出不足"]]) {
      const text = (c[key] || "").trim();
      if (!text) continue;
      const p = el("p");
      p.appendChild(el("span", { class: `lab ${key}` }, `${label}：`));
      p.appendChild(document.createTextNode(text));
      li.appendChild(p);
    }
    list.appendChild(li);
  }
  show($("comments-card"), said.length > 0);

  renderRemarks(r);

  const published = r.status === "published";
  show($("print-link"), published);
  $("print-link").href = `/reviews/${enc(r.id ?? reviewId)}/print`;
  show($("revise"), !!r.can_revise);
  show($("read-actions"), published || !!r.can_revise);
}

function renderRemarks(r) {
  const remarks = r.remarks || [];
  const ul = clear($("remarks-view"));
  for (const m of remarks) {
    const li = el("li");
    li.appendChild(el("div", { class: "by" }, [m.author, fmtFull(m.at)].filter(Boolean).join(" · ")));
    li.appendChild(el("p", {}, m.body || ""));
    ul.appendChild(li);
  }
  if (!remarks.length) ul.appendChild(el("li", { class: "sc-empty" }, "暂无点评。"));
  const canRemark = !!r.can_remark && r.status === "published";
  show($("remark-form"), canRemark);
  show($("remarks-card"), remarks.length > 0 || canRemark);
}

$("remark-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  alertBox("remark-error", "");
  const body = $("remark-body").value.trim();
  if (!body) {
    alertBox("remark-error", "请填写点评内容");
    $("remark-body").focus();
    return;
  }
  const btn = $("remark-submit");
  btn.disabled = true;
  try {
    await api(`/api/reviews/${enc(reviewId)}/remarks`, { body });
    $("remark-body").value = "";
    const r = await api(`/api/reviews/${enc(reviewId)}`);
    render(r);
    $("read-status").textContent = "点评已提交。";
  } catch (err) {
    apiError("remark-error", err);
  } finally {
    btn.disabled = false;
  }
});

$("revise").addEventListener("click", async () => {
  alertBox("read-error", "");
  const btn = $("revise");
  btn.disabled = true;
  btn.textContent = "正在生成新版本…";
  try {
    const r = await api(`/api/reviews/${enc(reviewId)}/revise`, {});
    location.href = `/reviews/${enc(r.id)}`;
  } catch (err) {
    apiError("read-error", err);
    btn.disabled = false;
    btn.textContent = "修订（生成新版本）";
  }
});

// ---------- boot ----------
if (reviewId) {
  load();
} else {
  show($("loading"), false);
  alertBox("page-error", "没有这份小结点评");
}
