// 小结点评记录 (/section/{id}/reviews): every weekly review of one section, newest first, grouped
// by period; each version with its status, author, publication date, whether a newer version
// replaced it, and links to read it (/reviews/{id}) and, once published, to print it.
// API: GET /api/sections/{id}/reviews; GET /api/sections for the section's name (optional).
// Text goes in with textContent only.
import { api } from "/static/js/app.js";
import { $, clear, el, show } from "/static/js/dom.js";

function pathId(n) {
  const raw = location.pathname.split("/")[n] || "";
  try { return decodeURIComponent(raw); } catch (_) { return raw; }
}
const sectionId = pathId(2);
const enc = encodeURIComponent;

function parseDay(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(s ?? ""));
  return m ? { y: Number(m[1]), m: Number(m[2]), d: Number(m[3]) } : null;
}

function fmtFull(s) {
  const p = parseDay(s);
  return p ? `${p.y}年${p.m}月${p.d}日` : (s ? String(s) : "");
}

function fmtRange(from, to) {
  const a = parseDay(from);
  const b = parseDay(to);
  if (!a || !b) return `${from || ""} 至 ${to || ""}`;
  if (a.y === b.y) return `${a.y}年${a.m}月${a.d}日至${b.m}月${b.d}日`;
  return `${fmtFull(from)}至${fmtFull(to)}`;
}

function pageError(text, loginLink) {
  const box = clear($("page-error"));
  if (!text) {
    show(box, false);
    return;
  }
  box.appendChild(document.createTextNode(text));
  if (loginLink) {
    box.appendChild(document.createTextNode(" "));
    box.appendChild(el("a", { href: `/login?next=${enc(location.pathname)}` }, "去登录"));
  }
  show(box, true);
}

/** Reviews in the server's order (newest first), grouped by their period. */
function groups(list) {
  const byKey = new Map();
  for (const r of list) {
    const key = `${r.from}|${r.to}`;
    if (!byKey.has(key)) byKey.set(key, { from: r.from, to: r.to, items: [] });
    byKey.get(key).items.push(r);
  }
  return [...byKey.values()];
}

function item(r) {
  const published = r.status === "published";
  const version = Number(r.version) || 1;
  const li = el("li", { class: r.superseded ? "superseded" : "", dataset: { review: r.id } });
  const line1 = el("div", { class: "line1" });
  line1.appendChild(el("span", {}, `第${version}版`));
  line1.appendChild(el("span", { class: published ? "sc-pill ok" : "sc-pill draft" }, published ? "已发布" : "草稿"));
  if (r.superseded) line1.appendChild(el("span", { class: "sc-pill" }, "被新版本取代"));
  li.appendChild(line1);
  const bits = [];
  if (r.author) bits.push(`撰写人：${r.author}`);
  bits.push(published && r.published_at ? `发布于 ${fmtFull(r.published_at)}` : "尚未发布");
  if (Number(r.remarks) > 0) bits.push(`点评 ${r.remarks} 条`);
  li.appendChild(el("div", { class: "line2" }, bits.join(" · ")));
  const links = el("div", { class: "links" });
  links.appendChild(el("a", { href: `/reviews/${enc(r.id)}` }, published ? `查看第${version}版` : `打开第${version}版草稿`));
  if (published) links.appendChild(el("a", { href: `/reviews/${enc(r.id)}/print` }, `打印第${version}版`));
  li.appendChild(links);
  return li;
}

function render(list) {
  const holder = clear($("review-groups"));
  groups(list).forEach((g, i) => {
    const sec = el("section", { class: "sc-card", "aria-labelledby": `group-${i}` });
    sec.appendChild(el("h2", { id: `group-${i}` }, fmtRange(g.from, g.to)));
    const ul = el("ul", { class: "sc-history" });
    for (const r of g.items) ul.appendChild(item(r));
    sec.appendChild(ul);
    holder.appendChild(sec);
  });
  show($("reviews-empty"), list.length === 0);
}

async function boot() {
  $("back-link").href = `/section/${enc(sectionId)}`;
  const named = api("/api/sections")
    .then((all) => (Array.isArray(all) ? all : []).find((s) => String(s.id) === sectionId))
    .catch(() => null);
  try {
    const list = await api(`/api/sections/${enc(sectionId)}/reviews`);
    render(Array.isArray(list) ? list : list.reviews || []);
    const s = await named;
    if (s && s.name) {
      $("page-title").textContent = `${s.name} · 小结点评记录`;
      $("back-link").textContent = `‹ 返回${s.name}练兵情况`;
      document.title = `${s.name} · ${document.title}`;
    }
  } catch (err) {
    if (err.status === 401) pageError("登录已失效，请重新登录。", true);
    else if (err.status === 403) pageError("您无权查看这个处室");
    else if (err.status === 404) pageError("没有这个处室");
    else pageError(err.message);
  } finally {
    show($("loading"), false);
  }
}

if (sectionId) {
  boot();
} else {
  show($("loading"), false);
  pageError("没有这个处室");
}
