// 题库 (/admin/bank): the bank check, an import previewed row by row, the export, and a
// browser of the questions in use with answer, explanation and source.
// API: GET /api/admin/bank/check, POST /api/admin/bank/import-preview?name=, GET
// /api/admin/bank/questions. Text goes in with textContent only.
import { api } from "/static/js/app.js";
import { $, KINDS, TOPICS, clear, el } from "/static/js/dom.js";

function fail(err) {
  const box = $("bank-error");
  box.textContent = err.status === 403 ? "只有管理员可以管理题库" : err.message;
  box.hidden = false;
}

for (const [id, name] of Object.entries(TOPICS)) $("f-topic").appendChild(el("option", { value: id }, name));
for (const [id, name] of Object.entries(KINDS)) $("f-kind").appendChild(el("option", { value: id }, name));

api("/api/admin/bank/check")
  .then((c) => {
    const parts = Object.entries(c.by_topic).map(([k, v]) => `${k} ${v}`).join("，");
    $("check-summary").textContent = c.problems.length
      ? `题目 ${c.questions} 道（${parts}）；发现 ${c.problems.length} 处问题：`
      : `题目 ${c.questions} 道（${parts}），检查通过。`;
    const ul = clear($("check-problems"));
    for (const p of c.problems) {
      ul.appendChild(el("li", { class: "error" }, `${p.file}:${p.line}${p.id ? ` [${p.id}]` : ""} ${p.message}`));
    }
  })
  .catch(fail);

/** Sends the chosen file to the bank API; the answer's JSON, or an Error with the message. */
async function upload(path, file) {
  const res = await fetch(`${path}?name=${encodeURIComponent(file.name)}`, {
    method: "POST",
    headers: { "X-CSRF-Token": document.querySelector('meta[name="csrf-token"]')?.content ?? "" },
    body: file,
    credentials: "same-origin",
  });
  const r = await res.json().catch(() => ({}));
  if (!res.ok) throw Object.assign(new Error(r.message || `请求失败（${res.status}）`), { status: res.status });
  return r;
}

$("import-apply").addEventListener("click", async () => {
  const file = $("import-file").files[0];
  if (!file) return;
  $("import-apply").hidden = true;
  try {
    const r = await upload("/api/admin/bank/import", file);
    $("import-status").textContent = `已导入 ${r.imported} 道题目：${r.files.join("，")}`;
  } catch (err) {
    $("import-status").textContent = err.message;
  }
});

$("import-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const file = $("import-file").files[0];
  if (!file) return;
  $("import-status").textContent = "检查中…";
  $("import-apply").hidden = true;
  clear($("import-errors"));
  clear($("import-questions"));
  try {
    const r = await upload("/api/admin/bank/import-preview", file);
    $("import-status").textContent = r.errors.length
      ? `${r.errors.length} 处问题，修正后请重新选择文件检查；可导入的题目 ${r.questions.length} 道。`
      : r.builtin
        ? `检查通过：${r.questions.length} 道题目。当前使用内置题库，不能写入；请用 --bank-dir 指定题库目录，或在服务器上运行 ${r.command}`
        : `检查通过：将加入 ${r.questions.length} 道题目。`;
    $("import-apply").hidden = !r.can_import;
    for (const x of r.errors) $("import-errors").appendChild(el("li", { class: "error" }, `第 ${x.row} 行：${x.message}`));
    for (const q of r.questions) $("import-questions").appendChild(el("li", {}, `${q.id} ${q.topic_name} ${q.kind_name}：${q.stem}（答案：${q.answer}）`));
  } catch (err) {
    $("import-status").textContent = "";
    fail(err);
  }
});

async function browse() {
  const q = new URLSearchParams();
  for (const [k, id] of [["topic", "f-topic"], ["kind", "f-kind"], ["difficulty", "f-difficulty"], ["tag", "f-tag"], ["q", "f-q"]]) {
    const v = $(id).value.trim();
    if (v) q.set(k, v);
  }
  $("browse-status").textContent = "查找中…";
  try {
    const r = await api(`/api/admin/bank/questions?${q}`);
    $("browse-status").textContent = `找到 ${r.matched} 道${r.matched > r.questions.length ? `，显示前 ${r.questions.length} 道` : ""}。`;
    const list = clear($("browse-list"));
    for (const x of r.questions) {
      const li = el("li", { class: "bank-question", dataset: { question: x.id } });
      li.appendChild(el("p", { class: "muted" }, `${x.id} · ${x.topic_name} · ${x.kind_name} · 难度 ${x.difficulty}${x.tags.length ? ` · ${x.tags.join("、")}` : ""}`));
      li.appendChild(el("p", { class: "stem" }, x.stem));
      if (x.options && x.options.length) {
        const ol = el("ol", { type: "A" });
        for (const o of x.options) ol.appendChild(el("li", {}, o));
        li.appendChild(ol);
      }
      li.appendChild(el("p", {}, `答案：${x.answer}`));
      li.appendChild(el("p", {}, `解析：${x.explanation}`));
      li.appendChild(el("p", { class: "muted" }, `出处：${x.source}`));
      list.appendChild(li);
    }
  } catch (err) {
    $("browse-status").textContent = "";
    fail(err);
  }
}

$("browse-form").addEventListener("submit", (e) => {
  e.preventDefault();
  browse();
});
browse();
