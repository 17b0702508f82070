// 比武与表彰 (/admin/awards): every competition with its status and report links; every award
// with its revocation, and a revoke form (a reason is required; an award is revoked once).
// API: GET /api/admin/competitions, GET /api/admin/awards, POST /api/awards/{id}/revoke.
import { api } from "/static/js/app.js";
import { $, el } from "/static/js/dom.js";
import { fail, fillTable, hide } from "/static/js/admin_common.js";

const STATUS = { lobby: "候场中", running: "进行中", paused: "已暂停", ended: "已结束" };
const enc = encodeURIComponent;

function links(c) {
  const span = el("span", { class: "ad-links" });
  span.append(el("a", { href: c.report_xlsx }, "Excel"), document.createTextNode(" · "), el("a", { href: c.report_csv }, "CSV"));
  return span;
}

function revokeForm(a) {
  const f = el("form", { class: "ad-inline", novalidate: true });
  const reason = el("input", { "aria-label": `撤销${a.name}的「${a.title}」的理由`, placeholder: "撤销理由（必填）", maxlength: 200 });
  f.append(reason, el("button", { type: "submit", class: "ad-btn small danger" }, "撤销"));
  f.addEventListener("submit", async (e) => {
    e.preventDefault();
    hide($("awards-error"));
    if (!reason.value.trim()) return fail($("awards-error"), new Error("撤销须写明理由"));
    if (!confirm(`撤销 ${a.name} 的「${a.title}」？撤销会另行记录，不能恢复。`)) return;
    try {
      await api(`/api/awards/${enc(a.id)}/revoke`, { reason: reason.value.trim() });
      $("awards-status").textContent = `已撤销 ${a.name} 的「${a.title}」`;
      loadAwards();
    } catch (err) {
      fail($("awards-error"), err);
    }
  });
  return f;
}

/** An award in force: its certificate to print, and the revoke form. */
function inForce(a) {
  const box = document.createElement("div");
  const link = document.createElement("a");
  link.href = `/awards/${encodeURIComponent(a.id)}/certificate`;
  link.textContent = "荣誉证书";
  box.appendChild(link);
  box.appendChild(revokeForm(a));
  return box;
}

async function loadAwards() {
  try {
    const list = await api("/api/admin/awards");
    fillTable($("awards-table"), list.map((a) => [
      a.date, a.name, a.staff_no, a.title, a.competition ?? "", a.standing_rank ?? "",
      a.revoked_by ? `已撤销：${a.revoked_reason ?? ""}` : inForce(a),
    ]), "暂无表彰");
  } catch (err) {
    fail(null, err);
  }
}

(async () => {
  try {
    const list = await api("/api/admin/competitions");
    fillTable($("competitions-table"), list.map((c) => [
      c.created, c.title, STATUS[c.status] ?? c.status, c.players, c.questions, links(c),
    ]), "暂无比武");
  } catch (err) {
    fail(null, err);
  }
})();
loadAwards();
