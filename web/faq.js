// 常用咨询 (members, no login): the category tree of the published curated Q&A with counts, a
// search box and the published pairs (question expands to the answer and its 依据). One request:
// GET /api/faq?category=&q= . A category with sub-categories shows the pairs of its whole subtree
// (fetched without `category` and filtered here); a leaf is filtered by the server. Categories
// without any published pair in their subtree are not shown. Data is rendered with textContent,
// the answers with the Markdown subset of /format.js (HTML-escaped first).
import { setFormatted } from "/format.js";

(() => {
  const $ = (id) => document.getElementById(id);

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }

  let cats = [];
  /** The chosen category's name ("" = 全部). */
  let current = "";
  let ticket = 0;

  const childrenOf = (parentId) => {
    const ids = new Set(cats.map((c) => c.id));
    return cats
      .filter((c) => (parentId == null ? c.parent_id == null || !ids.has(c.parent_id) : c.parent_id === parentId))
      .sort((a, b) => a.position - b.position || a.id - b.id);
  };

  /** Published pairs of a category and all its sub-categories. */
  function total(c, seen = new Set()) {
    if (seen.has(c.id)) return 0;
    seen.add(c.id);
    return (c.published || 0) + childrenOf(c.id).reduce((n, k) => n + total(k, seen), 0);
  }

  /** The names of a category's subtree (itself included). */
  function subtree(c, out = new Set()) {
    if (out.has(c.name)) return out;
    out.add(c.name);
    for (const k of childrenOf(c.id)) subtree(k, out);
    return out;
  }

  function catButton(name, label, count) {
    const b = el("button", "faq-cat");
    b.type = "button";
    b.dataset.name = name;
    b.append(el("span", "faq-cat-name", label), el("span", "faq-cat-count", String(count)));
    b.setAttribute("aria-pressed", String(name === current));
    if (name === current) b.classList.add("on");
    b.addEventListener("click", () => choose(name));
    return b;
  }

  function renderCats() {
    const all = el("li");
    all.append(catButton("", "全部", cats.reduce((n, c) => n + (c.published || 0), 0)));
    const build = (parentId) => {
      const lis = [];
      for (const c of childrenOf(parentId)) {
        const n = total(c);
        if (!n) continue;
        const li = el("li");
        li.append(catButton(c.name, c.name, n));
        const kids = build(c.id);
        if (kids.length) {
          const ul = el("ul");
          ul.append(...kids);
          li.append(ul);
        }
        lis.push(li);
      }
      return lis;
    };
    $("faq-cats").replaceChildren(all, ...build(null));
  }

  function item(p) {
    const li = el("li", "faq-item");
    li.dataset.id = String(p.id);
    const q = el("button", "faq-question", p.question);
    q.type = "button";
    q.setAttribute("aria-expanded", "false");
    q.id = "faq-q-" + p.id;
    const a = el("div", "faq-answer");
    a.id = "faq-a-" + p.id;
    a.hidden = true;
    a.setAttribute("role", "region");
    a.setAttribute("aria-labelledby", q.id);
    q.setAttribute("aria-controls", a.id);
    if (p.category) a.append(el("p", "meta faq-item-cat", "分类：" + p.category));
    a.append(setFormatted(el("div", "faq-answer-text"), p.answer));
    const refs = (p.source_refs || []).filter((r) => r && r.doc);
    if (refs.length) {
      const ul = el("ul", "faq-refs");
      for (const r of refs) ul.append(el("li", "faq-ref", "依据：《" + r.doc + "》" + (r.article || "")));
      a.append(ul);
    }
    q.addEventListener("click", () => {
      const open = a.hidden;
      a.hidden = !open;
      q.setAttribute("aria-expanded", String(open));
    });
    li.append(q, a);
    return li;
  }

  async function load() {
    const t = ++ticket;
    const q = $("faq-q").value.trim();
    const chosen = cats.find((c) => c.name === current);
    // Before the tree is known (a ?category= link) or for a category with sub-categories: all
    // pairs, filtered below.
    const wide = !cats.length || (chosen && childrenOf(chosen.id).length > 0);
    const params = new URLSearchParams();
    if (current && !wide) params.set("category", current);
    if (q) params.set("q", q);
    const list = $("faq-list");
    list.setAttribute("aria-busy", "true");
    let j;
    try {
      const r = await fetch("/api/faq" + (params.toString() ? "?" + params : ""), { headers: { accept: "application/json" } });
      j = await r.json().catch(() => null);
      if (!r.ok) throw new Error((j && j.message) || "常用咨询暂时无法加载，请稍后再试");
    } catch (e) {
      if (t !== ticket) return;
      list.removeAttribute("aria-busy");
      $("faq-error").textContent = e instanceof TypeError ? "网络连接失败，请检查网络后重试" : e.message;
      $("faq-error").hidden = false;
      return;
    }
    if (t !== ticket) return;
    $("faq-error").hidden = true;
    cats = j.categories || [];
    let items = j.items || [];
    if (current) {
      const again = cats.find((c) => c.name === current);
      const names = again ? subtree(again) : new Set([current]);
      items = items.filter((p) => names.has(p.category));
    }
    renderCats();
    $("faq-list-title").textContent = (current || "全部问答") + (q ? `（搜索“${q}”）` : "");
    list.replaceChildren(...items.map(item));
    $("faq-empty").hidden = items.length > 0;
    $("faq-count").textContent = items.length ? `共 ${items.length} 条` : "";
    list.removeAttribute("aria-busy");
  }

  function choose(name) {
    current = name;
    const u = new URL(location.href);
    if (name) u.searchParams.set("category", name);
    else u.searchParams.delete("category");
    history.replaceState(null, "", u);
    load();
  }

  $("faq-search").addEventListener("submit", (e) => {
    e.preventDefault();
    load();
  });
  $("faq-q").addEventListener("search", () => { if (!$("faq-q").value) load(); });

  const start = new URLSearchParams(location.search);
  current = start.get("category") || "";
  $("faq-q").value = start.get("q") || "";
  load();
})();
