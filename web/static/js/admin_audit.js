// 审计日志 (/admin/audit): entries filtered by actor (工号), action (a prefix) and dates, newest
// first; the same filter exports an .xlsx. The filter is kept in the address.
// API: GET /api/admin/audit/search, GET /api/admin/audit/export.xlsx (a plain link).
import { api } from "/static/js/app.js";
import { $ } from "/static/js/dom.js";
import { fail, fillTable } from "/static/js/admin_common.js";

const FIELDS = ["actor", "action", "from", "to"];
const ACTIONS = {
  "roster.import": "名册导入", "roster.added": "名册：新增", "roster.renamed": "名册：改名",
  "roster.moved": "名册：调整处室", "roster.roles": "名册：角色变化", "roster.reactivated": "名册：恢复",
  "member.deactivate": "停用成员", "member.reactivate": "恢复成员", "member.role": "修改角色",
  "member.section": "调整处室", "member.heads": "调整负责范围", "member.password_reset": "重置密码",
  "department.create": "新建司室", "department.rename": "司室改名", "section.create": "新建处室",
  "section.rename": "处室改名", "section.target": "每周目标", "section.merge": "合并处室",
  "award.revoke": "撤销表彰",
};
const form = $("audit-form");

function query() {
  const f = new FormData(form);
  const q = new URLSearchParams();
  for (const k of FIELDS) if (f.get(k)) q.set(k, String(f.get(k)).trim());
  return q;
}

function detail(text) {
  try {
    const v = JSON.parse(text);
    return Object.keys(v).length ? JSON.stringify(v) : "";
  } catch (_) {
    return text;
  }
}

async function load() {
  const q = query();
  $("audit-export").href = `/api/admin/audit/export.xlsx?${q}`;
  history.replaceState(null, "", q.toString() ? `?${q}` : location.pathname);
  $("audit-status").textContent = "查询中…";
  try {
    const r = await api(`/api/admin/audit/search?${q}`);
    const n = r.entries.length;
    $("audit-status").textContent = n >= r.limit ? `显示最新 ${r.limit} 条，请缩小范围` : `共 ${n} 条`;
    fillTable($("audit-table"), r.entries.map((e) => [
      e.when,
      e.actor_staff_no ? `${e.actor_name}（${e.actor_staff_no}）` : "（系统）",
      ACTIONS[e.action] ? `${ACTIONS[e.action]}（${e.action}）` : e.action,
      e.subject,
      detail(e.detail),
    ]), "没有符合条件的记录");
  } catch (err) {
    $("audit-status").textContent = "";
    fail(null, err);
  }
}

const initial = new URLSearchParams(location.search);
for (const k of FIELDS) if (initial.get(k)) form.elements[k].value = initial.get(k);
form.addEventListener("submit", (e) => { e.preventDefault(); load(); });
load();
