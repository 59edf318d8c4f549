// Change password: old password + SMS code (purpose password_change) + new password twice.
// Also the forced change after a first login (must_change_password). Server policy messages
// are shown verbatim.
import { $, api, errorText, currentUser, homeFor, countdown } from "/admin/admin.js";

const next = new URLSearchParams(location.search).get("next");
let me = null;

function setMsg(id, text) {
  $(id).textContent = text || "";
  $(id).hidden = !text;
}

$("send-code").addEventListener("click", async () => {
  setMsg("password-error", "");
  $("send-code").disabled = true;
  try {
    const r = await api("POST", "/api/auth/sms/send", { purpose: "password_change" });
    const mins = Math.round((r && r.expires_in ? r.expires_in : 300) / 60);
    $("code-hint").textContent = `验证码已发送至 ${me && me.phone_masked ? me.phone_masked : "绑定手机"}，${mins}分钟内有效。`;
    countdown($("send-code"));
    $("code").focus();
  } catch (e) {
    setMsg("password-error", errorText(e));
    $("send-code").disabled = false;
  }
});

$("password-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  setMsg("password-ok", "");
  const old_password = $("old-password").value;
  const code = $("code").value.trim();
  const new_password = $("new-password").value;
  if (!old_password) { setMsg("password-error", "请输入原密码"); return; }
  if (!/^\d{6}$/.test(code)) { setMsg("password-error", "请输入6位数字短信验证码"); return; }
  if (!new_password) { setMsg("password-error", "请输入新密码"); return; }
  if (new_password !== $("new-password2").value) { setMsg("password-error", "两次输入的新密码不一致"); return; }
  if (new_password === old_password) { setMsg("password-error", "新密码不能与原密码相同"); return; }
  setMsg("password-error", "");
  $("password-submit").disabled = true;
  try {
    await api("POST", "/api/auth/password/change", { old_password, new_password, code });
    for (const id of ["old-password", "code", "new-password", "new-password2"]) $(id).value = "";
    $("must-change").hidden = true;
    const dest = homeFor(me, next);
    setMsg("password-ok", "密码已修改，正在跳转……");
    setTimeout(() => location.replace(dest), 1200);
  } catch (err) {
    setMsg("password-error", errorText(err));
    $("password-submit").disabled = false;
  }
});

(async () => {
  try {
    me = await currentUser({ allowPasswordChange: true });
  } catch (e) {
    setMsg("password-error", errorText(e));
    return;
  }
  $("me-name").textContent = me.display_name || me.username;
  $("must-change").hidden = !me.must_change_password;
  $("back-link").href = homeFor(me, next);
  $("old-password").focus();
})();
