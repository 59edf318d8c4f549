// Login page: username/password → (first login) SMS code → redirect to ?next= (same-origin path
// only), the admin console for administrators, or the chat page. Also the forgotten-password
// flow (username → SMS code → new password). Server messages are shown verbatim.
import { $, api, errorText, homeFor, countdown } from "/admin/admin.js";

const params = new URLSearchParams(location.search);
const next = params.get("next");
let challenge = null;

function show(section) {
  for (const id of ["login-section", "sms-section", "reset-section"]) $(id).hidden = id !== section;
}

function setMsg(id, text) {
  $(id).textContent = text || "";
  $(id).hidden = !text;
}

function done(result) {
  const user = result.user;
  if (user && user.must_change_password) {
    const dest = homeFor(user, next);
    location.replace("/password.html?next=" + encodeURIComponent(dest));
  } else {
    location.replace(homeFor(user, next));
  }
}

$("login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const username = $("username").value.trim();
  const password = $("password").value;
  if (!username || !password) { setMsg("login-error", "请输入用户名和密码"); return; }
  setMsg("login-error", "");
  $("login-btn").disabled = true;
  try {
    const r = await api("POST", "/api/auth/login", { username, password }, { noRedirect: true });
    if (r.status === "sms_required") {
      challenge = r.challenge;
      $("sms-hint").textContent = `首次登录需要短信验证，验证码已发送至 ${r.phone_masked || "绑定手机"}。`;
      $("sms-code").value = "";
      setMsg("sms-error", "");
      show("sms-section");
      $("sms-code").focus();
    } else {
      done(r);
    }
  } catch (err) {
    setMsg("login-error", errorText(err));
    $("password").select();
  } finally {
    $("login-btn").disabled = false;
  }
});

$("sms-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const code = $("sms-code").value.trim();
  if (!/^\d{6}$/.test(code)) { setMsg("sms-error", "请输入6位数字验证码"); return; }
  setMsg("sms-error", "");
  $("sms-btn").disabled = true;
  try {
    done(await api("POST", "/api/auth/login/sms", { challenge, code }, { noRedirect: true }));
  } catch (err) {
    setMsg("sms-error", errorText(err));
  } finally {
    $("sms-btn").disabled = false;
  }
});

$("sms-back").addEventListener("click", () => { challenge = null; show("login-section"); });

// --- forgotten password ---------------------------------------------------------------------------

$("forgot-link").addEventListener("click", () => {
  $("reset-username").value = $("username").value.trim();
  setMsg("reset-error", "");
  setMsg("reset-ok", "");
  show("reset-section");
  $("reset-username").focus();
});
$("reset-back").addEventListener("click", () => show("login-section"));

$("reset-send").addEventListener("click", async () => {
  const username = $("reset-username").value.trim();
  setMsg("reset-ok", "");
  if (!username) { setMsg("reset-error", "请先输入用户名"); return; }
  setMsg("reset-error", "");
  $("reset-send").disabled = true;
  try {
    const r = await api("POST", "/api/auth/sms/send", { purpose: "password_reset", username }, { noRedirect: true });
    const mins = Math.round((r && r.expires_in ? r.expires_in : 300) / 60);
    setMsg("reset-ok", `验证码已发送，${mins}分钟内有效。`);
    countdown($("reset-send"));
    $("reset-code").focus();
  } catch (err) {
    setMsg("reset-error", errorText(err));
    $("reset-send").disabled = false;
  }
});

$("reset-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const username = $("reset-username").value.trim();
  const code = $("reset-code").value.trim();
  const pw = $("reset-new").value;
  setMsg("reset-ok", "");
  if (!username) { setMsg("reset-error", "请输入用户名"); return; }
  if (!/^\d{6}$/.test(code)) { setMsg("reset-error", "请输入6位数字验证码"); return; }
  if (!pw) { setMsg("reset-error", "请输入新密码"); return; }
  if (pw !== $("reset-new2").value) { setMsg("reset-error", "两次输入的新密码不一致"); return; }
  setMsg("reset-error", "");
  $("reset-submit").disabled = true;
  try {
    await api("POST", "/api/auth/password/reset", { username, code, new_password: pw }, { noRedirect: true });
    $("reset-code").value = "";
    $("reset-new").value = "";
    $("reset-new2").value = "";
    $("username").value = username;
    $("password").value = "";
    show("login-section");
    setMsg("login-error", "");
    const ok = $("login-ok") || document.createElement("p");
    ok.id = "login-ok";
    ok.className = "ok";
    ok.setAttribute("role", "status");
    ok.textContent = "密码已重置，请使用新密码登录。";
    $("login-form").prepend(ok);
    $("password").focus();
  } catch (err) {
    setMsg("reset-error", errorText(err));
  } finally {
    $("reset-submit").disabled = false;
  }
});

$("username").focus();
