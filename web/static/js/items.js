// 题目统计 (/admin/items): every answered question's share right, average time, discrimination
// and flags; a row opens to show how often each wrong option was chosen. API: GET
// /api/admin/items. Text goes in with textContent only.
import { api } from "/static/js/app.js";
import { $, clear, el } from "/static/js/dom.js";

const pct = (v) => (v === null || v === undefined ? "—" : `${(v * 100).toFixed(1)}%`);
const num = (v, d = 2) => (v === null || v === undefined ? "—" : Number(v).toFixed(d));

let items = [];
let sortKey = null;
let ascending = true;

function detail(item) {
  const box = el("div", { class: "items-detail" });
  box.appendChild(el("p", {}, item.stem));
  if (item.options && item.options.length) {
    const ul = el("ul", {});
    for (const o of item.options) {
      const line = `${o.letter}. ${o.text}${o.key ? "（正确答案）" : ""} — 答错时被选 ${o.chosen_when_wrong} 次` +
        (o.share_of_wrong === null || o.share_of_wrong === undefined ? "" : `（占答错的 ${pct(o.share_of_wrong)}）`);
      ul.appendChild(el("li", { class: o.key ? "key" : "" }, line));
    }
    box.appendChild(ul);
  }
  if (item.label_agrees === false) box.appendChild(el("p", { class: "error" }, `难度标注（${item.difficulty}）与实际答对率不符`));
  box.appendChild(el("a", { href: `/questions/${encodeURIComponent(item.id)}` }, "查看答案、解析和出处"));
  return box;
}

function render() {
  const body = clear($("items-body"));
  let list = $("flagged-only").checked ? items.filter((i) => i.flags.length) : items.slice();
  if (sortKey) {
    list.sort((a, b) => {
      const x = a[sortKey] ?? -Infinity;
      const y = b[sortKey] ?? -Infinity;
      const c = x < y ? -1 : x > y ? 1 : 0;
      return ascending ? c : -c;
    });
  }
  for (const i of list) {
    const tr = el("tr", { class: i.flags.length ? "flagged" : "", dataset: { item: i.id } });
    const open = el("button", { type: "button", class: "link", "aria-expanded": "false" }, i.id);
    tr.appendChild(el("td", {})).appendChild(open);
    for (const v of [i.topic_name, i.kind_name, String(i.difficulty), String(i.answers), pct(i.share_right), `${num(i.average_s, 1)} 秒`, num(i.discrimination)]) {
      tr.appendChild(el("td", {}, v));
    }
    tr.appendChild(el("td", { class: "flags" }, i.flags.join("；")));
    body.appendChild(tr);
    const more = el("tr", { class: "items-more", hidden: true });
    const cell = el("td", { colspan: "9" });
    more.appendChild(cell);
    body.appendChild(more);
    open.addEventListener("click", () => {
      const show = more.hidden;
      if (show && !cell.firstChild) cell.appendChild(detail(i));
      more.hidden = !show;
      open.setAttribute("aria-expanded", String(show));
    });
  }
  $("items-status").textContent = `共 ${list.length} 道题有作答记录${$("flagged-only").checked ? "（有提示）" : ""}。`;
}

for (const b of document.querySelectorAll("#items-table th button[data-sort]")) {
  b.addEventListener("click", () => {
    const key = b.dataset.sort;
    ascending = sortKey === key ? !ascending : true;
    sortKey = key;
    for (const th of document.querySelectorAll("#items-table th")) th.removeAttribute("aria-sort");
    b.parentElement.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    render();
  });
}
$("flagged-only").addEventListener("change", render);

api("/api/admin/items")
  .then((r) => {
    items = r.items || [];
    $("min-answers").textContent = String(r.min_answers);
    render();
  })
  .catch((err) => {
    $("items-status").textContent = "";
    const box = $("items-error");
    box.textContent = err.status === 403 ? "只有管理员可以查看题目统计" : err.message;
    box.hidden = false;
  });
