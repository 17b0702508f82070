// 成员管理 (/admin/members): find members by name or 工号, department, section, role and state;
// change one member's role, section, what they head and whether they are active; reset a
// password (a one-time password and a login slip). The server refuses to demote or deactivate
// the last active admin and audits every change.
// API: GET /api/admin/org, GET /api/admin/members/search, GET/POST /api/admin/members/{id},
// POST /api/admin/members/{id}/reset.
import { api } from "/static/js/app.js";
import { $, clear, el } from "/static/js/dom.js";
import { ROLES, fail, fillTable, hide } from "/static/js/admin_common.js";

const enc = encodeURIComponent;
let org = { departments: [] };
let editing = null;

function option(value, text) {
  return el("option", { value }, text);
}

function sectionsOf(departmentId) {
  return org.departments
    .filter((d) => !departmentId || d.id === departmentId)
    .flatMap((d) => d.sections.map((s) => ({ ...s, department: d.name })));
}

function fillSectionFilter() {
  const sel = $("f-section");
  const keep = sel.value;
  clear(sel).append(option("", "全部"));
  for (const s of sectionsOf($("f-department").value)) sel.append(option(s.id, `${s.department} / ${s.name}`));
  sel.value = [...sel.options].some((o) => o.value === keep) ? keep : "";
}

async function search() {
  const f = new FormData($("search-form"));
  const q = new URLSearchParams();
  for (const k of ["q", "department", "section", "role", "active"]) q.set(k, f.get(k) ?? "");
  $("search-status").textContent = "查找中…";
  try {
    const r = await api(`/api/admin/members/search?${q}`);
    const list = r.members;
    $("search-status").textContent = list.length >= r.limit ? `显示前 ${r.limit} 人，请缩小范围` : `共 ${list.length} 人`;
    fillTable($("members-table"), list.map((m) => {
      const b = el("button", { type: "button", class: "ad-btn small secondary" }, "编辑");
      b.addEventListener("click", () => openEditor(m.id));
      return [m.staff_no, m.name, m.department ?? "", m.section ?? "", ROLES[m.role] ?? m.role, m.active ? "在用" : "已停用", b];
    }), "没有找到成员");
  } catch (err) {
    $("search-status").textContent = "";
    fail(null, err);
  }
}

function checks(box, items, chosen, name) {
  clear(box);
  for (const it of items) {
    const id = `${name}-${it.id}`;
    const input = el("input", { type: "checkbox", id, value: it.id, checked: chosen.includes(it.id) ? true : undefined });
    const label = el("label", { for: id, class: "ad-check" });
    label.append(input, document.createTextNode(` ${it.label}`));
    box.append(label);
  }
}

function checked(box) {
  return [...box.querySelectorAll("input:checked")].map((i) => i.value);
}

function showHeads() {
  const head = $("e-role").value === "section_head";
  $("e-heads").hidden = !head;
  $("e-depts").hidden = !head;
}

async function openEditor(id) {
  hide($("edit-error"), $("reset-result"));
  $("edit-status").textContent = "";
  try {
    const d = await api(`/api/admin/members/${enc(id)}`);
    editing = d.member;
    const m = d.member;
    $("editor-who").textContent = `${m.name}（工号 ${m.staff_no}）${m.active ? "" : "· 已停用"}`;
    $("e-role").value = m.role;
    const sel = clear($("e-section"));
    sel.append(option("", "（无，仅限管理员）"));
    for (const s of sectionsOf("")) sel.append(option(s.id, `${s.department} / ${s.name}`));
    sel.value = m.section_id ?? "";
    checks($("e-head-sections"), sectionsOf("").map((s) => ({ id: s.id, label: `${s.department} / ${s.name}` })), d.head_sections, "hs");
    checks($("e-head-departments"), org.departments.map((x) => ({ id: x.id, label: x.name })), d.head_departments, "hd");
    $("e-active").checked = !!m.active;
    showHeads();
    $("editor").hidden = false;
    $("editor").scrollIntoView({ block: "start" });
  } catch (err) {
    fail(null, err);
  }
}

$("e-role").addEventListener("change", showHeads);
$("close-editor").addEventListener("click", () => { $("editor").hidden = true; editing = null; });

$("edit-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (!editing) return;
  hide($("edit-error"));
  const role = $("e-role").value;
  const body = {
    role,
    section_id: $("e-section").value || null,
    head_sections: role === "section_head" ? checked($("e-head-sections")) : [],
    head_departments: role === "section_head" ? checked($("e-head-departments")) : [],
    active: $("e-active").checked,
  };
  if (!body.active && editing.active && !confirm(`确认停用 ${editing.name}？停用后立即退出登录。`)) return;
  try {
    const r = await api(`/api/admin/members/${enc(editing.id)}`, body);
    editing = r.member;
    $("edit-status").textContent = r.changes.length ? "已保存" : "没有变化";
    search();
  } catch (err) {
    fail($("edit-error"), err);
  }
});

$("reset-button").addEventListener("click", async () => {
  if (!editing) return;
  if (!confirm(`确认为 ${editing.name} 重置密码？其当前登录将立即失效。`)) return;
  hide($("edit-error"));
  try {
    const r = await api(`/api/admin/members/${enc(editing.id)}/reset`, {});
    $("reset-password").textContent = r.password;
    $("reset-slip").href = `/admin/slips/${enc(r.slips)}`;
    $("reset-result").hidden = false;
  } catch (err) {
    fail($("edit-error"), err);
  }
});

$("search-form").addEventListener("submit", (e) => { e.preventDefault(); search(); });
$("f-department").addEventListener("change", fillSectionFilter);

(async () => {
  try {
    org = await api("/api/admin/org");
    for (const d of org.departments) $("f-department").append(option(d.id, d.name));
    fillSectionFilter();
    search();
  } catch (err) {
    fail(null, err);
  }
})();
