// 处室练兵工作台 (/section): the sections the viewer heads (or, for a department head or an
// admin, may see), one card each — name, department, members, weekly target — linking to
// /section/{id}. API: GET /api/sections (403 for plain members). Text goes in with textContent.
import { api } from "/static/js/app.js";
import { $, clear, el, show } from "/static/js/dom.js";

const num = (v) => (v === null || v === undefined || v === "" || !Number.isFinite(Number(v)) ? null : Number(v));

function pageError(text, loginLink) {
  const box = clear($("page-error"));
  if (!text) {
    show(box, false);
    return;
  }
  box.appendChild(document.createTextNode(text));
  if (loginLink) {
    box.appendChild(document.createTextNode(" "));
    box.appendChild(el("a", { href: `/login?next=${encodeURIComponent(location.pathname)}` }, "去登录"));
  }
  show(box, true);
}

function card(s) {
  const li = el("li", { class: "sc-card" });
  const h2 = el("h2");
  h2.appendChild(el("a", { class: "sc-section-link", href: `/section/${encodeURIComponent(s.id)}` }, s.name || "处室"));
  li.appendChild(h2);
  if (s.department) li.appendChild(el("p", { class: "sc-muted" }, s.department));
  const bits = [];
  if (num(s.members) !== null) bits.push(`成员 ${s.members} 人`);
  if (num(s.weekly_target) !== null) bits.push(`每周目标 ${s.weekly_target} 次`);
  if (bits.length) li.appendChild(el("p", {}, bits.join(" · ")));
  const roles = [];
  if (s.can_edit) roles.push("可布置任务、撰写小结");
  if (s.can_remark) roles.push("可点评");
  if (!s.can_edit && !s.can_remark) roles.push("只读");
  li.appendChild(el("p", { class: "sc-muted" }, roles.join("，")));
  li.appendChild(el("p", { class: "go", "aria-hidden": "true" }, "查看练兵情况 ›"));
  return li;
}

async function boot() {
  try {
    const list = await api("/api/sections");
    const sections = Array.isArray(list) ? list : list.sections || [];
    const ul = clear($("section-list"));
    for (const s of sections) ul.appendChild(card(s));
    show($("section-empty"), sections.length === 0);
  } catch (err) {
    if (err.status === 401) pageError("登录已失效，请重新登录。", true);
    else if (err.status === 403) show($("section-empty"), true); // a plain member heads no section
    else pageError(err.message);
  } finally {
    show($("loading"), false);
  }
}

boot();
