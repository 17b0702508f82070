// 名册导入 (/admin): upload a roster (.xlsx/.csv) → preview what would change (added, renamed,
// moved, role changes, reactivated, missing; bad rows with row and column) → apply, with the
// missing members deactivated only when the box is ticked → the new members' one-time
// passwords, shown once, with links to print the login slips.
// API: POST /api/admin/roster/preview?name=… (the file's bytes), POST /api/admin/roster/apply.
import { api } from "/static/js/app.js";
import { $, clear, el } from "/static/js/dom.js";
import { fail, fillTable, hide } from "/static/js/admin_common.js";

const MAX = 5 * 1024 * 1024;
const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content ?? "";
let token = null;

const KINDS = [
  ["added", "新增成员", "新增", (c) => c.to],
  ["updated", "姓名变更", "改名", (c) => `${c.from} → ${c.to}`],
  ["moved", "调整处室", "调整处室", (c) => `${c.from} → ${c.to}`],
  ["roles", "角色变化", "角色变化", (c) => `${c.from} → ${c.to}`],
  ["reactivated", "恢复在用", "恢复", () => "已停用 → 在用"],
  ["missing", "不在名册中（保留）", "不在名册中", (c) => c.from],
];

async function upload(file) {
  let res;
  try {
    res = await fetch(`/api/admin/roster/preview?name=${encodeURIComponent(file.name)}`, {
      method: "POST",
      headers: { "X-CSRF-Token": csrf(), "Content-Type": "application/octet-stream" },
      body: file,
      credentials: "same-origin",
    });
  } catch (_) {
    const err = new Error("网络异常，请检查网络后重试");
    err.status = 0;
    throw err;
  }
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const err = new Error(res.status === 413 ? "文件超过 5 MB" : data.message || `上传失败（${res.status}）`);
    err.status = res.status;
    throw err;
  }
  return data;
}

function showPreview(p, name) {
  token = p.token;
  $("preview-file").textContent = `文件：${name}`;
  const counts = clear($("preview-counts"));
  for (const [key, title] of KINDS) {
    counts.append(el("li", {}, `${title}：${p[key].length} 人`));
  }
  counts.append(el("li", { class: p.errors.length ? "bad" : "" }, `问题：${p.errors.length} 处`));

  $("preview-errors").hidden = p.errors.length === 0;
  fillTable($("errors-table"), p.errors.map((e) => [`第 ${e.row} 行`, e.column, e.message]));

  const lists = clear($("preview-lists"));
  for (const [key, title, , detail] of KINDS) {
    const items = p[key];
    if (!items.length) continue;
    const d = el("details", { class: "ad-details", open: items.length <= 20 ? true : undefined });
    d.append(el("summary", {}, `${title}（${items.length}）`));
    const wrap = el("div", { class: "ad-scroll" });
    const t = el("table", { class: "ad-table" });
    const head = el("thead");
    const hr = el("tr");
    for (const h of ["行", "工号", "姓名", "变化"]) hr.append(el("th", { scope: "col" }, h));
    head.append(hr);
    t.append(head, el("tbody"));
    fillTable(t, items.map((c) => [c.row ? `第 ${c.row} 行` : "—", c.staff_no, c.name, detail(c)]));
    wrap.append(t);
    d.append(wrap);
    lists.append(d);
  }

  const missing = p.missing.length;
  $("deactivate-label").hidden = missing === 0;
  $("deactivate-missing").checked = false;
  $("deactivate-text").textContent = `同时停用不在名册中的 ${missing} 名成员（停用后立即退出登录，历史记录保留）`;
  $("apply-button").disabled = !p.can_apply;
  $("apply-button").textContent = p.can_apply ? "确认导入" : "请先修正问题后重新上传";
  $("preview").hidden = false;
  hide($("apply-error"), $("result"));
}

$("upload-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  hide($("upload-error"), $("preview"), $("result"));
  const file = $("roster-file").files[0];
  if (!file) return fail($("upload-error"), new Error("请选择名册文件"));
  if (!/\.(xlsx|csv)$/i.test(file.name)) return fail($("upload-error"), new Error("请上传 .xlsx 或 .csv 文件"));
  if (file.size > MAX) return fail($("upload-error"), new Error("文件超过 5 MB"));
  $("upload-status").textContent = "正在读取名册…";
  try {
    showPreview(await upload(file), file.name);
    $("upload-status").textContent = "";
  } catch (err) {
    $("upload-status").textContent = "";
    fail($("upload-error"), err);
  }
});

$("apply-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (!token) return;
  const deactivate = $("deactivate-missing").checked;
  if (deactivate && !confirm("确认停用不在名册中的成员？")) return;
  $("apply-button").disabled = true;
  try {
    const r = await api("/api/admin/roster/apply", { token, deactivate_missing: deactivate });
    token = null;
    showResult(r);
  } catch (err) {
    $("apply-button").disabled = false;
    fail($("apply-error"), err);
  }
});

function showResult(r) {
  const a = r.applied;
  const counts = clear($("result-counts"));
  for (const [k, label] of [
    ["added", "新增"], ["renamed", "改名"], ["moved", "调整处室"], ["roles", "角色变化"],
    ["reactivated", "恢复"], ["deactivated", "停用"], ["kept", "不在名册中（保留）"],
  ]) {
    counts.append(el("li", {}, `${label}：${a[k]} 人`));
  }
  $("result-passwords").hidden = !r.passwords.length;
  if (r.slips) {
    $("slips-link").href = `/admin/slips/${encodeURIComponent(r.slips)}`;
    $("slips-xlsx").href = `/api/admin/slips/${encodeURIComponent(r.slips)}.xlsx`;
  }
  fillTable($("passwords-table"), r.passwords.map((p) => {
    const pw = el("span", { class: "ad-mono" }, p.password);
    return [p.staff_no, p.name, pw];
  }));
  hide($("preview"));
  $("result").hidden = false;
  $("roster-file").value = "";
  $("result").scrollIntoView({ block: "start" });
}
