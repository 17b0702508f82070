// Shared page behaviour: JSON calls with the session's CSRF token, login, logout, password.

const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content ?? "";

/** JSON call; a body makes it a POST. Errors carry `status` (0: network) and the server's `code`. */
export async function api(path, body) {
  let res;
  try {
    res = await fetch(path, {
      method: body === undefined ? "GET" : "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch (_) {
    const err = new Error("网络异常，请检查网络后重试");
    err.status = 0;
    throw err;
  }
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const err = new Error(data.message || `请求失败（${res.status}）`);
    err.status = res.status;
    err.code = data.error;
    throw err;
  }
  return data;
}

/** A path on this site to go to after a form, or "/": one leading slash, no scheme, no `//`,
 *  no backslash (browsers read `/\\host` as another site). */
export function safeNext(next) {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.includes("\\") || /[\u0000-\u001f]/.test(next)) return "/";
  return next;
}

function showError(el, err) {
  el.textContent = err.message;
  el.hidden = false;
}

const login = document.getElementById("login-form");
if (login) {
  login.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = new FormData(login);
    try {
      const r = await api("/api/login", { staff_no: f.get("staff_no"), password: f.get("password") });
      const next = safeNext(new URLSearchParams(location.search).get("next"));
      location.href = r.member.must_change_password ? `/account?next=${encodeURIComponent(next)}` : next;
    } catch (err) {
      showError(document.getElementById("login-error"), err);
    }
  });
}

const pw = document.getElementById("password-form");
if (pw) {
  pw.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = new FormData(pw);
    const out = document.getElementById("password-error");
    if (f.get("new_password") !== f.get("confirm")) {
      showError(out, new Error(pw.dataset.mismatch));
      return;
    }
    try {
      await api("/api/account/password", { old_password: f.get("old_password"), new_password: f.get("new_password") });
      out.className = "ok";
      out.textContent = pw.dataset.done;
      out.hidden = false;
      pw.reset();
      // A forced change came from another page: go on to it.
      const next = new URLSearchParams(location.search).get("next");
      if (next) setTimeout(() => { location.href = safeNext(next); }, 800);
    } catch (err) {
      out.className = "error";
      showError(out, err);
    }
  });
}

document.getElementById("logout")?.addEventListener("click", async () => {
  await api("/api/logout", {}).catch(() => {});
  location.href = "/";
});
