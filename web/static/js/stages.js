// 决赛 (/stages): a host's finals, with the ways into each seat, the report and the awards;
// and the set-up form (teams, judges, rounds with their rules). Text goes in with textContent.
import { api } from "/static/js/app.js";
import { $, TOPICS, clear, el, show } from "/static/js/dom.js";

const KIND_NAMES = { compulsory: "必答题", buzzer: "抢答题", risk: "风险题", judged: "评分题" };
const STATUS = { setup: "未开始", running: "进行中", ended: "已结束" };

function pageError(text) {
  $("page-error").textContent = text || "";
}

async function load() {
  const list = clear($("list"));
  let finals = [];
  try {
    finals = await api("/api/stages");
  } catch (e) {
    pageError(e.message);
    return;
  }
  show($("empty"), finals.length === 0);
  for (const f of finals) {
    const li = el("li");
    li.appendChild(el("strong", {}, f.title));
    li.appendChild(el("span", { class: "st-status" }, `　${STATUS[f.status] || f.status}`));
    const links = el("span", { class: "st-links" });
    const id = encodeURIComponent(f.id);
    for (const [href, text] of [[`/stage/${id}/host`, "主持台"], [`/stage/${id}/screen`, "投影屏"], [`/api/stages/${id}/report.xlsx`, "成绩表"]]) {
      links.appendChild(el("a", { href }, text));
    }
    if (f.status === "ended") {
      const b = el("button", { type: "button" }, "确认表彰");
      b.addEventListener("click", async () => {
        try {
          const r = await api(`/api/stages/${id}/awards`, {});
          b.replaceWith(el("span", {}, `已确认：优胜团队 ${r.team_awards.length} 个，业务标兵 ${r.awards.length} 人`));
        } catch (e) {
          pageError(e.message);
        }
      });
      links.appendChild(b);
    }
    li.appendChild(links);
    list.appendChild(li);
  }
}

let roundNo = 0;
function field(row, label, input) {
  const id = `r${row}-${input.dataset.key}`;
  input.id = id;
  const wrap = el("span", { class: "st-field" });
  wrap.appendChild(el("label", { for: id }, label));
  wrap.appendChild(input);
  return wrap;
}

function addRound(kind = "compulsory") {
  const n = ++roundNo;
  const li = el("li", { class: "st-round-row" });
  const select = el("select", { dataset: { key: "kind" } });
  for (const [k, name] of Object.entries(KIND_NAMES)) {
    const o = el("option", { value: k }, name);
    if (k === kind) o.selected = true;
    select.appendChild(o);
  }
  const num = (key, value, min, max) => el("input", { type: "number", value: String(value), min: String(min), max: String(max), inputmode: "numeric", dataset: { key } });
  li.appendChild(field(n, "题型", select));
  li.appendChild(field(n, "名称（可空）", el("input", { dataset: { key: "title" }, maxlength: "20" })));
  const topic = el("select", { dataset: { key: "topic" } });
  topic.appendChild(el("option", { value: "" }, "全部专题"));
  for (const [k, name] of Object.entries(TOPICS)) topic.appendChild(el("option", { value: k }, name));
  const parts = {
    count: field(n, "题量（风险题：每队次数）", num("count", 6, 1, 200)),
    topic: field(n, "专题", topic),
    right: field(n, "答对得分", num("right", 10, 0, 10000)),
    wrong: field(n, "答错扣分", num("wrong", 0, 0, 10000)),
    answer_s: field(n, "答题时间（秒）", num("answer_s", 30, 5, 600)),
    false_start: field(n, "抢跑扣分", num("false_start", 5, 0, 10000)),
    pass: field(n, "答错后转给下一队", el("input", { type: "checkbox", dataset: { key: "pass_on_wrong" } })),
    device: field(n, "代表队在平板上作答（自动判分）", el("input", { type: "checkbox", dataset: { key: "on_device" } })),
    stakes: field(n, "分值档（逗号分隔）", el("input", { value: "10,20,30", dataset: { key: "stakes" } })),
    criteria: field(n, "评分标准（每行：名称 满分 权重）", el("textarea", { rows: "3", dataset: { key: "criteria" } })),
    contestants: field(n, "上场选手工号（按代表队顺序每队一人，可空：评整队）", el("input", { dataset: { key: "contestants" } })),
  };
  parts.criteria.querySelector("textarea").value = "政策把握 10 40\n沟通表达 10 30\n处置规范 10 30";
  for (const p of Object.values(parts)) li.appendChild(p);
  const remove = el("button", { type: "button" }, "删除此轮");
  remove.addEventListener("click", () => li.remove());
  li.appendChild(remove);
  const sync = () => {
    const k = select.value;
    show(parts.count, k !== "judged");
    show(parts.topic, k !== "judged");
    show(parts.right, k === "compulsory" || k === "buzzer");
    show(parts.wrong, k === "compulsory" || k === "buzzer");
    show(parts.false_start, k === "buzzer");
    show(parts.pass, k === "buzzer");
    show(parts.stakes, k === "risk");
    show(parts.criteria, k === "judged");
    show(parts.contestants, k === "judged");
    show(parts.device, k !== "judged");
  };
  select.addEventListener("change", sync);
  sync();
  $("rounds").appendChild(li);
}

function value(li, key) {
  const e = li.querySelector(`[data-key="${key}"]`);
  if (!e) return undefined;
  if (e.type === "checkbox") return e.checked;
  return e.value.trim();
}

/** The form as the API's body; a problem the API would name is named here first. */
function body() {
  const teams = $("s-teams").value.split("\n").map((l) => l.trim()).filter(Boolean).map((line) => {
    const [name, rest = ""] = line.split(/[:：]/, 2);
    return {
      name: name.trim(),
      base_score: Number($("s-base").value) || 0,
      members: rest.split(/[\s,，、]+/).filter(Boolean),
    };
  });
  const rounds = [...$("rounds").children].map((li) => {
    const kind = value(li, "kind");
    const r = { kind, answer_s: Number(value(li, "answer_s")) };
    const title = value(li, "title");
    if (title) r.title = title;
    if (kind !== "judged") {
      r.count = Number(value(li, "count"));
      const t = value(li, "topic");
      if (t) r.topics = [t];
    }
    if (kind !== "judged" && value(li, "on_device")) r.on_device = true;
    if (kind === "compulsory" || kind === "buzzer") {
      r.right = Number(value(li, "right"));
      r.wrong = Number(value(li, "wrong"));
    }
    if (kind === "buzzer") {
      r.false_start = Number(value(li, "false_start"));
      r.pass_on_wrong = value(li, "pass_on_wrong");
    }
    if (kind === "risk") r.stakes = value(li, "stakes").split(/[,，\s]+/).filter(Boolean).map(Number);
    if (kind === "judged") {
      r.criteria = value(li, "criteria").split("\n").map((l) => l.trim()).filter(Boolean).map((l) => {
        const [name, max, weight] = l.split(/\s+/);
        return { name, max: Number(max), weight: Number(weight) };
      });
      const who = value(li, "contestants").split(/[\s,，、]+/).filter(Boolean);
      if (who.length) r.contestants = who;
    }
    return r;
  });
  const exam = $("s-exam").value;
  return {
    ...(exam ? { exam_id: exam } : {}),
    title: $("s-title").value.trim(),
    teams,
    judges: $("s-judges").value.split(/[\s,，、]+/).filter(Boolean),
    rounds,
    settings: {
      team_winners: Number($("s-winners").value) || 1,
      hide_judge_totals: $("s-hide").checked,
      audience: $("s-audience").checked,
    },
  };
}

$("add-round").addEventListener("click", () => addRound());
$("setup").addEventListener("submit", async (e) => {
  e.preventDefault();
  pageError("");
  try {
    const made = await api("/api/stages", body());
    const tbody = clear($("codes-body"));
    for (const t of made.teams) {
      const tr = el("tr");
      tr.appendChild(el("td", {}, t.name));
      tr.appendChild(el("td", { class: "st-code-text" }, t.device_code));
      tr.appendChild(el("td", {}, `${location.origin}/stage/${made.id}/team`));
      tbody.appendChild(tr);
    }
    const pin = $("audience-pin");
    show(pin, Boolean(made.audience_pin));
    pin.textContent = made.audience_pin ? `观众互动 PIN：${made.audience_pin}（观众手机打开 ${location.origin}/play 输入；投影屏也会显示）` : "";
    show($("codes"), true);
    $("codes").scrollIntoView();
    await load();
  } catch (err) {
    pageError(err.message);
  }
});

// Finalists carried over from a closed exam: listed in their ranking, and dealt into the
// teams in a snake (1st, 2nd, 3rd to teams 1, 2, 3, then 4th to team 3 …) on request.
const carried = { finalists: [] };
async function loadExams() {
  try {
    const exams = await api("/api/exams");
    for (const e of exams.filter((x) => x.status === "closed")) $("s-exam").appendChild(el("option", { value: e.id }, e.title));
  } catch (e) {
    pageError(e.message);
  }
}
$("s-exam").addEventListener("change", async () => {
  const id = $("s-exam").value;
  carried.finalists = [];
  $("s-finalists").textContent = "";
  show($("s-split"), false);
  if (!id) return;
  try {
    const r = await api(`/api/exams/${encodeURIComponent(id)}/results`);
    carried.finalists = r.ranking.filter((row) => row.finalist);
    $("s-finalists").textContent = carried.finalists.length
      ? `晋级选手 ${carried.finalists.length} 人：${carried.finalists.map((f) => `${f.name}（${f.staff_no}）`).join("、")}`
      : "这场初赛没有晋级选手";
    show($("s-split"), carried.finalists.length > 0);
  } catch (e) {
    pageError(e.message);
  }
});
$("s-split").addEventListener("click", () => {
  const lines = $("s-teams").value.split("\n").map((l) => l.split(/[:：]/)[0].trim()).filter(Boolean);
  const names = lines.length >= 2 ? lines : ["第一代表队", "第二代表队", "第三代表队"];
  const teams = names.map(() => []);
  carried.finalists.forEach((f, i) => {
    const round = Math.floor(i / names.length);
    const k = i % names.length;
    teams[round % 2 === 0 ? k : names.length - 1 - k].push(f.staff_no);
  });
  $("s-teams").value = names.map((n, i) => `${n}：${teams[i].join(" ")}`).join("\n");
});

for (const k of ["compulsory", "buzzer", "risk", "judged"]) addRound(k);
loadExams();
load();
