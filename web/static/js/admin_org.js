// 组织机构 (/admin/org): departments with their sections, member counts and weekly targets;
// create and rename departments and sections, set a section's weekly target, and merge one
// section into another (its members, heads, tasks and reviews move; the section is deleted).
// API: GET /api/admin/org, POST /api/admin/departments[/{id}], POST /api/admin/sections[/{id}],
// POST /api/admin/sections/{id}/target, POST /api/admin/sections/{id}/merge.
import { api } from "/static/js/app.js";
import { $, clear, el } from "/static/js/dom.js";
import { fail, hide } from "/static/js/admin_common.js";

const enc = encodeURIComponent;
let org = { departments: [] };

function done(text) {
  hide($("org-error"));
  $("org-status").textContent = text;
  load();
}

function inlineForm(label, value, button, onSubmit, attrs = {}) {
  const f = el("form", { class: "ad-inline", novalidate: true });
  const input = el("input", { value, "aria-label": label, ...attrs });
  f.append(input, el("button", { type: "submit", class: "ad-btn small secondary" }, button));
  f.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await onSubmit(input.value);
    } catch (err) {
      fail($("org-error"), err);
    }
  });
  return f;
}

function sectionRow(d, s) {
  const tr = el("tr");
  tr.append(el("td", {}, s.name));
  tr.append(el("td", { class: "num" }, String(s.members)));
  const target = el("td");
  target.append(inlineForm(`${s.name}每周练兵目标`, String(s.weekly_target), "保存", async (v) => {
    await api(`/api/admin/sections/${enc(s.id)}/target`, { weekly_target: Number(v) });
    done(`${s.name}：每周目标已改为 ${v} 次`);
  }, { type: "number", min: 1, max: 20, class: "ad-num" }));
  tr.append(target);
  const rename = el("td");
  rename.append(inlineForm(`${s.name}新名称`, s.name, "改名", async (v) => {
    await api(`/api/admin/sections/${enc(s.id)}`, { name: v });
    done(`处室已改名为「${v.trim()}」`);
  }, { maxlength: 64 }));
  tr.append(rename);
  const merge = el("td");
  const f = el("form", { class: "ad-inline", novalidate: true });
  const sel = el("select", { "aria-label": `把${s.name}合并到` });
  sel.append(el("option", { value: "" }, "合并到…"));
  for (const x of org.departments) {
    for (const y of x.sections) if (y.id !== s.id) sel.append(el("option", { value: y.id }, `${x.name} / ${y.name}`));
  }
  f.append(sel, el("button", { type: "submit", class: "ad-btn small danger" }, "合并"));
  f.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!sel.value) return;
    const into = sel.options[sel.selectedIndex].textContent;
    if (!confirm(`把「${d.name} / ${s.name}」合并到「${into}」？成员、负责人、练兵任务和小结点评将移入后者，「${s.name}」将被删除，不能撤回。`)) return;
    try {
      const r = await api(`/api/admin/sections/${enc(s.id)}/merge`, { into: sel.value });
      done(`已合并：移入成员 ${r.members} 人、练兵任务 ${r.tasks} 个、小结点评 ${r.reviews} 篇`);
    } catch (err) {
      fail($("org-error"), err);
    }
  });
  merge.append(f);
  tr.append(merge);
  return tr;
}

function render() {
  const list = clear($("org-list"));
  const sel = clear($("ns-department"));
  let people = 0;
  for (const d of org.departments) {
    people += d.members;
    sel.append(el("option", { value: d.id }, d.name));
    const card = el("section", { class: "ad-dept" });
    const head = el("div", { class: "ad-dept-head" });
    head.append(el("h3", {}, `${d.name}（${d.members} 人）`));
    head.append(inlineForm(`${d.name}新名称`, d.name, "改名", async (v) => {
      await api(`/api/admin/departments/${enc(d.id)}`, { name: v });
      done(`司室已改名为「${v.trim()}」`);
    }, { maxlength: 64 }));
    card.append(head);
    if (!d.sections.length) {
      card.append(el("p", { class: "ad-muted" }, "暂无处室"));
    } else {
      const wrap = el("div", { class: "ad-scroll" });
      const t = el("table", { class: "ad-table" });
      const th = el("thead");
      const hr = el("tr");
      for (const h of ["处室", "在用人数", "每周练兵目标（次）", "改名", "合并"]) hr.append(el("th", { scope: "col" }, h));
      th.append(hr);
      const tb = el("tbody");
      for (const s of d.sections) tb.append(sectionRow(d, s));
      t.append(th, tb);
      wrap.append(t);
      card.append(wrap);
    }
    list.append(card);
  }
  $("org-summary").textContent = `共 ${org.departments.length} 个司室、${org.departments.reduce((n, d) => n + d.sections.length, 0)} 个处室、在用 ${people} 人` +
    (org.unplaced ? `；另有 ${org.unplaced} 人不属于任何处室（多为管理员）` : "");
}

async function load() {
  try {
    org = await api("/api/admin/org");
    render();
  } catch (err) {
    fail(null, err);
  }
}

$("new-department").addEventListener("submit", async (e) => {
  e.preventDefault();
  hide($("new-error"));
  try {
    await api("/api/admin/departments", { name: $("nd-name").value });
    $("nd-name").value = "";
    done("已新建司室");
  } catch (err) {
    fail($("new-error"), err);
  }
});

$("new-section").addEventListener("submit", async (e) => {
  e.preventDefault();
  hide($("new-error"));
  try {
    await api("/api/admin/sections", { department_id: $("ns-department").value, name: $("ns-name").value });
    $("ns-name").value = "";
    done("已新建处室");
  } catch (err) {
    fail($("new-error"), err);
  }
});

load();
