// What the console's pages share: the tab bar (the current page marked), labels, and how an
// error is shown. Text only ever goes in with textContent.
import { $, clear, el } from "/static/js/dom.js";

export const ROLES = { member: "党员", section_head: "处室负责人", host: "主持人", admin: "管理员" };

const TABS = {
  "/admin": "tab-roster",
  "/admin/members": "tab-members",
  "/admin/org": "tab-org",
  "/admin/audit": "tab-audit",
  "/admin/awards": "tab-awards",
};
const current = $(TABS[location.pathname.replace(/\/$/, "")] || "");
if (current) current.setAttribute("aria-current", "page");

/** Shows an error in `box` (an .ad-alert); a 401 sends to the login page, a 403 explains. */
export function fail(box, err) {
  if (err && err.status === 401) {
    location.href = `/login?next=${encodeURIComponent(location.pathname)}`;
    return;
  }
  const b = box || $("page-error");
  b.textContent = err && err.status === 403 ? "只有管理员（机关党委）可以使用管理控制台。" : (err?.message || String(err));
  b.hidden = false;
}

export function ok(node, text) {
  node.textContent = text;
}

export function hide(...nodes) {
  for (const n of nodes) if (n) n.hidden = true;
}

/** Fills a table body with rows of cells (strings or nodes). */
export function fillTable(table, rows, empty = "没有记录") {
  const body = clear(table.tBodies[0]);
  if (!rows.length) {
    const cols = table.tHead.rows[0].cells.length;
    body.append(el("tr", {}, null));
    body.lastChild.append(el("td", { colspan: cols, class: "ad-empty" }, empty));
    return;
  }
  for (const cells of rows) {
    const tr = el("tr");
    for (const c of cells) {
      const td = el("td");
      if (c instanceof Node) td.append(c);
      else td.textContent = c === null || c === undefined ? "" : String(c);
      tr.append(td);
    }
    body.append(tr);
  }
}

/** Departments and their sections, for the selects. */
export async function organisation(api) {
  return api("/api/admin/org");
}
