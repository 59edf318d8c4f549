// Admin home: greeting, the viewer's roles, links to the sections.
import { $, el, initAdmin } from "/admin/admin.js";
const me = await initAdmin();
if (me) {
  $("welcome").textContent = "您好，" + (me.display_name || me.username);
  const ul = $("my-roles");
  for (const r of me.roles || []) ul.append(el("li", "", (r.role_label || r.role) + (r.org_name ? " · " + r.org_name : "")));
  if (!ul.children.length) ul.append(el("li", "", "无"));
}
