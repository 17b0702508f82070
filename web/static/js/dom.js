// What every page script shares: the Chinese labels of the bank's topics and kinds, DOM
// helpers (text only ever goes in with textContent), and dates on the users' clock.

export const TOPICS = {
  "party-constitution": "党章",
  "party-regulations": "党规",
  "speeches": "系列讲话",
  "petition-work": "信访业务",
  "learning-plan": "学习方案",
  "skills": "业务技能",
};

export const KINDS = {
  single: "单选题",
  multiple: "多选题",
  truefalse: "判断题",
  fill: "填空题",
  numeric: "数值题",
  date: "日期题",
};

export const MODES = { topics: "专题练习", weak: "薄弱点练习", notebook: "错题复习" };

export const LETTERS = "ABCDEFGH";

export const $ = (id) => document.getElementById(id);

/** Creates an element; `text` goes in with textContent. */
export function el(tag, attrs = {}, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "dataset") Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

export function show(node, on = true) {
  if (node) node.hidden = !on;
}

/** Shows a case group's scenario (案例材料) in `box` above the question, with the question's
 *  place in the group; hides the box for an ordinary question. */
export function showCase(box, c) {
  if (!box) return;
  clear(box);
  box.hidden = !c;
  if (!c) return;
  box.appendChild(el("p", { class: "case-head" }, `案例：${c.title}（第 ${c.position} / ${c.size} 小题）`));
  box.appendChild(el("p", { class: "case-text" }, c.scenario));
}

/** A time from the API (epoch ms, as a number or digits, or an ISO string) as a Date. */
export function toDate(v) {
  if (v === null || v === undefined || v === "") return null;
  const d = typeof v === "number" || /^\d+$/.test(String(v)) ? new Date(Number(v)) : new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** A Date moved to the users' clock (UTC+8), read with the getUTC… methods. */
export const cst = (d) => new Date(d.getTime() + 8 * 3600 * 1000);

/** A true/false answer as a boolean (the server shows 正确/错误); null when it is neither. */
export function truthOf(s) {
  const v = String(s ?? "").trim().toLowerCase();
  if (["正确", "对", "是", "true", "√", "✓", "t", "1"].includes(v)) return true;
  if (["错误", "错", "否", "false", "×", "✗", "f", "0"].includes(v)) return false;
  return null;
}

/**
 * The answer pad the drill and live phone pages share (`#options` of `button[data-letter]`,
 * `#tf-true`, `#tf-false`, `#text-answer`, `#number-answer`, `#date-answer`, `#submit`).
 * Binds the buttons: single choice and true/false are sent at once, multiple choice toggles
 * letters in `state.selected` until submitted (`state.q` is the question on screen). With
 * `confirmSingle` (the live game, where a slip costs points) a single-choice tap only selects:
 * a second tap on the same option, or 提交, sends it. Returns `lock` and `unlock` for every
 * control.
 */
export function answerPad(state, canAnswer, send, { confirmSingle = false } = {}) {
  $("options").addEventListener("click", (e) => {
    const b = e.target.closest("button[data-letter]");
    if (!b || b.disabled || !canAnswer()) return;
    const letter = b.dataset.letter;
    if (state.q.kind === "single" && confirmSingle && !state.selected.has(letter)) {
      state.selected = new Set([letter]);
      for (const o of $("options").children) o.setAttribute("aria-pressed", String(o === b));
      $("submit").disabled = false;
    } else if (state.q.kind === "single") {
      for (const o of $("options").children) o.setAttribute("aria-pressed", String(o === b));
      send({ type: "choice", value: letter });
    } else {
      if (state.selected.has(letter)) state.selected.delete(letter);
      else state.selected.add(letter);
      b.setAttribute("aria-pressed", String(state.selected.has(letter)));
      $("submit").disabled = state.selected.size === 0;
    }
  });
  for (const [id, value] of [["tf-true", true], ["tf-false", false]]) {
    $(id).addEventListener("click", () => {
      if (!canAnswer()) return;
      $("tf-true").setAttribute("aria-pressed", String(value));
      $("tf-false").setAttribute("aria-pressed", String(!value));
      send({ type: "truefalse", value });
    });
  }
  const controls = () => [
    ...$("options").querySelectorAll("button"),
    $("tf-true"), $("tf-false"), $("text-answer"), $("number-answer"), $("date-answer"), $("submit"),
  ];
  return {
    lock() {
      for (const c of controls()) c.disabled = true;
    },
    unlock() {
      for (const c of controls()) c.disabled = false;
      const choice = state.q && (state.q.kind === "multiple" || (confirmSingle && state.q.kind === "single"));
      if (choice) $("submit").disabled = state.selected.size === 0;
    },
  };
}
