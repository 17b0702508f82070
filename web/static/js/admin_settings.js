// 设置 (/admin/settings): the agency's name. API: GET/POST /api/admin/settings.
import { api } from "/static/js/app.js";
import { $ } from "/static/js/dom.js";
import { fail } from "/static/js/admin_common.js";

async function load() {
  try {
    const s = await api("/api/admin/settings");
    $("agency-name").value = s.agency_name;
    $("public-url").textContent = s.public_url
      ? `当前：${s.public_url}`
      : "未设置：加入链接使用主持人浏览器访问本系统时的地址。";
  } catch (err) {
    fail(null, err);
  }
}

$("settings-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  try {
    const r = await api("/api/admin/settings", { agency_name: $("agency-name").value });
    $("settings-status").textContent = `已保存：${r.agency_name}`;
  } catch (err) {
    $("settings-status").textContent = err.message;
  }
});

load();
