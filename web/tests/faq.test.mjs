// Headless-browser tests of 分类管理 on 常用问答 (admin/qa.html) and of the public 常用咨询 page
// (faq.html), against a live `dangwutong serve` with the demo accounts (every demo password is
// Dwt#Demo2026). scripts/web-test.sh starts such a server on a fresh data dir.
//
//   DWT_TEST_BASE_URL=http://127.0.0.1:8080 node --test web/tests/faq.test.mjs
//
// Every category and pair a test creates carries STAMP in its name / question and answer. After
// the last test the pairs are retired and moved out of their category (category ""), and every
// category named with STAMP is deleted (sub-categories first), so a later run starts clean.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { ANSWER_TIMEOUT, apiResponse, apiSession, BASE, bodyOf, loginViaPage as login, path, STAMP, useBrowser, createPair, retirePairs, visible, waitUntil } from "./support.mjs";

// Saving a pair reloads the FAQ matcher: slow on a busy 2-core machine.
const SAVE_TIMEOUT = ANSWER_TIMEOUT;

const browser = useBrowser({
  probe: async () => {
    const r = await fetch(BASE + "/api/faq");
    assert.equal(r.status, 200, `GET ${BASE}/api/faq answered ${r.status}: this server has no public 常用咨询 API yet`);
  },
});

// --- API helpers ---------------------------------------------------------------------------------

async function categories(admin) {
  const r = await admin.call("GET", "/api/admin/qa/categories");
  assert.equal(r.status, 200, `GET /api/admin/qa/categories: ${JSON.stringify(r.json)}`);
  return r.json.items || [];
}


after(async () => {
  if (!BASE) return;
  const admin = await apiSession("sysadmin");
  try {
    await retirePairs(admin, STAMP);
    // A category holding pairs (even retired ones) cannot be deleted: take the pairs out of it.
    const again = await admin.call("GET", "/api/admin/qa?" + new URLSearchParams({ q: STAMP }));
    for (const p of again.json.items || []) {
      if (!p.category.includes(STAMP)) continue;
      const { question, similar, answer, source_refs, effective_from, effective_to, version } = p;
      await admin.call("PUT", `/api/admin/qa/${p.id}`, { question, similar, answer, source_refs, effective_from, effective_to, version, category: "", force: true });
    }
    // Sub-categories first: repeat while something could be deleted.
    for (let round = 0; round < 5; round++) {
      const left = (await categories(admin)).filter((c) => c.name.includes(STAMP));
      if (!left.length) break;
      const parents = new Set(left.map((c) => c.parent_id));
      for (const c of left) if (!parents.has(c.id)) await admin.call("DELETE", `/api/admin/qa/categories/${c.id}`);
    }
  } finally {
    await admin.dispose();
  }
});

// --- page helpers --------------------------------------------------------------------------------

/** Waits until the category panel has loaded (and shows category `id` when given). */
async function waitCats(page, id = null, what = "the category panel should load") {
  await waitUntil(
    page,
    (id) => {
      const box = document.getElementById("qa-cats");
      return !!box && !box.hasAttribute("aria-busy") && (id === null || !!document.querySelector(`#qa-cat-tree li.qa-cat[data-cat-id="${id}"]`));
    },
    id === null ? null : String(id),
    what,
  );
}

/** A category's own controls (not those of its sub-categories). */
const catCtl = (page, id, cls) => page.locator(`#qa-cat-tree li.qa-cat[data-cat-id="${id}"] > .qa-cat-row ${cls}`);

/** The ids of the children of `parentId` (null: the top level), in the panel's order. */
async function childIds(page, parentId) {
  return page.evaluate((pid) => {
    const ul = pid === null ? document.getElementById("qa-cat-tree") : document.querySelector(`li.qa-cat[data-cat-id="${pid}"] > ul.qa-cat-children`);
    return ul ? [...ul.children].filter((li) => li.matches("li.qa-cat")).map((li) => Number(li.dataset.catId)) : [];
  }, parentId);
}

async function addCategory(page, name) {
  await page.locator("#qa-cat-name").fill(name);
  await page.locator("#qa-cat-parent").selectOption("");
  const resp = apiResponse(page, "POST", /^\/api\/admin\/qa\/categories$/);
  await page.locator("#qa-cat-add").click();
  const r = await resp;
  const body = await bodyOf(r);
  assert.equal(r.status(), 201, `新增分类 ${name}: ${JSON.stringify(body)}`);
  assert.deepEqual(r.request().postDataJSON(), { name });
  await waitCats(page, body.id, `the new category ${name} should be listed`);
  assert.equal(await catCtl(page, body.id, ".qa-cat-name").textContent(), name);
  assert.equal(await catCtl(page, body.id, ".qa-cat-count").textContent(), "0 / 0", "a new category holds no pairs");
  return body.id;
}

/** The next reload of the category tree (after a change the panel lists it again). */
const reloaded = (page) => apiResponse(page, "GET", /^\/api\/admin\/qa\/categories$/);

/** Clicks a category button and waits for the move request and the reloaded panel. */
async function moveBy(page, id, cls, expectStatus = 200) {
  const resp = apiResponse(page, "POST", new RegExp(`^/api/admin/qa/categories/${id}/move$`));
  const reload = reloaded(page);
  await catCtl(page, id, cls).click();
  const r = await resp;
  assert.equal(r.status(), expectStatus, `move ${id}: ${JSON.stringify(await bodyOf(r))}`);
  if (expectStatus === 200) {
    await reload;
    await waitCats(page, id);
  }
  return r;
}

async function moveTo(page, id, parentId, expectStatus = 200) {
  await catCtl(page, id, ".qa-cat-move").click();
  const select = page.locator(`#qa-cat-tree li.qa-cat[data-cat-id="${id}"] > .qa-cat-move-box select.qa-cat-move-to`);
  await select.selectOption(parentId === null ? "" : String(parentId));
  const resp = apiResponse(page, "POST", new RegExp(`^/api/admin/qa/categories/${id}/move$`));
  const reload = expectStatus === 200 ? reloaded(page) : null;
  await page.locator(`#qa-cat-tree li.qa-cat[data-cat-id="${id}"] > .qa-cat-move-box .qa-cat-move-ok`).click();
  const r = await resp;
  const body = await bodyOf(r);
  assert.equal(r.status(), expectStatus, `移到 ${parentId}: ${JSON.stringify(body)}`);
  if (reload) {
    await reload;
    await waitCats(page, id);
  }
  return { r, body };
}

async function deleteCategory(page, id) {
  await catCtl(page, id, ".qa-cat-delete").click();
  await visible(page, "#confirm-dialog", "deleting a category asks first");
  const resp = apiResponse(page, "DELETE", new RegExp(`^/api/admin/qa/categories/${id}$`));
  await page.locator("#confirm-ok").click();
  const r = await resp;
  assert.equal(r.status(), 200, `删除 ${id}: ${JSON.stringify(await bodyOf(r))}`);
  await waitUntil(page, (id) => !document.querySelector(`li.qa-cat[data-cat-id="${id}"]`) && !document.getElementById("qa-cats").hasAttribute("aria-busy"), String(id), `category ${id} should be gone`);
}

// --- (a) 分类管理 ---------------------------------------------------------------------------------

test("分类管理: add two categories, 上移, rename, 移到 a sub-category, the cycle refusal, delete", { timeout: 300_000 }, async () => {
  const { context, page, problems, rejected } = await browser.newPage({ desktop: true });
  const nameA = `测试分类甲${STAMP}`;
  const nameB = `测试分类乙${STAMP}`;
  const nameC = `测试分类丙${STAMP}`;
  try {
    await login(page, "sysadmin", { next: "/admin/qa.html", requireOk: true });
    assert.equal(path(page), "/admin/qa.html");
    await waitCats(page);

    const a = await addCategory(page, nameA);
    const b = await addCategory(page, nameB);
    let top = await childIds(page, null);
    assert.ok(top.indexOf(a) >= 0 && top.indexOf(b) === top.indexOf(a) + 1, `乙 is added right after 甲 at the top level: ${top}`);
    assert.ok(await catCtl(page, b, ".qa-cat-down").isDisabled(), "the last category cannot move down");

    // 上移: 乙 above 甲.
    const up = await moveBy(page, b, ".qa-cat-up");
    assert.deepEqual(up.request().postDataJSON(), { parent_id: null, position: top.indexOf(a) }, "上移 sends the place among the siblings");
    top = await childIds(page, null);
    assert.equal(top.indexOf(b) + 1, top.indexOf(a), `after 上移 乙 comes right before 甲: ${top}`);

    // The list's category filter offers the tree's names.
    const filterNames = await page.locator("#qa-f-category option").evaluateAll((os) => os.map((o) => o.value));
    assert.ok(filterNames.includes(nameA) && filterNames.includes(nameB), "the category filter offers the new categories");

    // 重命名 甲 → 丙.
    await catCtl(page, a, ".qa-cat-rename").click();
    const input = page.locator(`#qa-cat-tree li.qa-cat[data-cat-id="${a}"] > .qa-cat-rename-box .qa-cat-rename-input`);
    await input.fill(nameC);
    const ren = apiResponse(page, "PUT", new RegExp(`^/api/admin/qa/categories/${a}$`));
    await page.locator(`#qa-cat-tree li.qa-cat[data-cat-id="${a}"] > .qa-cat-rename-box .qa-cat-rename-ok`).click();
    const rr = await ren;
    assert.equal(rr.status(), 200, `rename: ${JSON.stringify(await bodyOf(rr))}`);
    assert.deepEqual(rr.request().postDataJSON(), { name: nameC });
    await waitUntil(page, ([id, n]) => document.querySelector(`li.qa-cat[data-cat-id="${id}"] > .qa-cat-row .qa-cat-name`)?.textContent === n, [String(a), nameC], "the renamed category shows its new name");
    assert.ok((await page.locator("#qa-f-category option").evaluateAll((os) => os.map((o) => o.value))).includes(nameC), "the filter follows the rename");

    // 移到: 丙 under 乙.
    await moveTo(page, a, b);
    assert.deepEqual(await childIds(page, b), [a], "丙 is now the sub-category of 乙");
    assert.ok(!(await childIds(page, null)).includes(a), "丙 left the top level");

    // 乙 into its own sub-category 丙: refused with the server's Chinese message.
    const { body } = await moveTo(page, b, a, 400);
    assert.equal(body.code, "qa.category_cycle");
    await visible(page, "#qa-cat-msg", "the refusal is shown in the panel");
    const msg = await page.locator("#qa-cat-msg").textContent();
    assert.equal(msg, body.message, "the panel shows the server's message");
    assert.match(msg, /[\u4e00-\u9fff]/, "the message is Chinese");
    await waitCats(page, b);
    assert.deepEqual(await childIds(page, b), [a], "the tree is unchanged after the refusal");

    // 乙 is not empty (it holds 丙); 丙 is and goes, then 乙.
    await deleteCategory(page, a);
    await deleteCategory(page, b);

    assert.deepEqual(problems, [], "no page errors or server errors");
    assert.deepEqual(rejected, [`POST /api/admin/qa/categories/${b}/move → 400`], "only the cycle was refused");
  } finally {
    await context.close();
  }
});

// --- (b) 常用咨询 for an anonymous visitor ----------------------------------------------------------

test("常用咨询 (faq.html): a published pair is listed under its category for an anonymous visitor, expands, and is found by search; a draft is not", { timeout: 600_000 }, async () => {
  const admin = await apiSession("sysadmin");
  const category = `测试咨询${STAMP}`;
  const marker = `FAQ页测试${STAMP}`;
  const question = `测试专用：常用咨询页上的这个问题能看到吗？（${STAMP}）`;
  const draftQuestion = `测试专用：草稿不应出现在常用咨询页（${STAMP}）`;
  const { context, page, problems } = await browser.newPage({ strictApi: true });
  try {
    const created = await admin.call("POST", "/api/admin/qa/categories", { name: category });
    assert.equal(created.status, 201, `POST /api/admin/qa/categories: ${JSON.stringify(created.json)}`);
    const pub = await createPair(admin, {
      question, similar: [], answer: `${marker}：能看到，这条答案仅用于自动化测试。`, category,
      source_refs: [{ doc: "中国共产党章程", article: "第七条" }], status: "published", force: true,
    });
    await createPair(admin, { question: draftQuestion, similar: [], answer: `草稿${marker}`, category, source_refs: [], status: "draft", force: true });

    // The chat page links 常用咨询.
    await page.goto(BASE + "/");
    assert.equal(await page.locator("#faq-link").getAttribute("href"), "/faq.html", "the chat header links 常用咨询");

    await page.goto(BASE + "/faq.html");
    const cat = page.locator(`#faq-cats .faq-cat[data-name="${category}"]`);
    await visible(page, `#faq-cats .faq-cat[data-name="${category}"]`, "the category with a published pair is listed");
    assert.equal(await cat.locator(".faq-cat-count").textContent(), "1", "it counts the published pair only");

    const byCat = page.waitForResponse((r) => new URL(r.url()).pathname === "/api/faq" && new URL(r.url()).searchParams.get("category") === category, { timeout: SAVE_TIMEOUT });
    await cat.click();
    await byCat;
    await waitUntil(page, () => !document.getElementById("faq-list").hasAttribute("aria-busy"), undefined, "the list loads");
    assert.equal(await cat.getAttribute("aria-pressed"), "true", "the chosen category is marked");
    const questions = await page.locator("#faq-list .faq-item .faq-question").allTextContents();
    assert.deepEqual(questions, [question], "the category lists its published pair only (no draft)");

    const item = page.locator(`#faq-list .faq-item[data-id="${pub.id}"]`);
    assert.ok(await item.locator(".faq-answer").isHidden(), "the answer is folded at first");
    await item.locator(".faq-question").click();
    await visible(page, `#faq-list .faq-item[data-id="${pub.id}"] .faq-answer`, "clicking the question expands its answer");
    assert.equal(await item.locator(".faq-question").getAttribute("aria-expanded"), "true");
    const answer = await item.locator(".faq-answer").textContent();
    assert.ok(answer.includes(marker), `the answer is shown: ${answer}`);
    assert.ok(answer.includes("《中国共产党章程》第七条"), `the 依据 is shown: ${answer}`);

    // Search from 全部.
    await page.locator('#faq-cats .faq-cat[data-name=""]').click();
    await page.locator("#faq-q").fill(marker);
    const searched = page.waitForResponse((r) => new URL(r.url()).pathname === "/api/faq" && new URL(r.url()).searchParams.get("q") === marker);
    await page.locator("#faq-q").press("Enter");
    await searched;
    await waitUntil(page, (q) => !document.getElementById("faq-list").hasAttribute("aria-busy") && [...document.querySelectorAll("#faq-list .faq-question")].map((b) => b.textContent).join("|") === q, question, "the search finds the published pair only");
    assert.equal(await page.locator('#faq-cats .faq-cat[data-name=""]').getAttribute("aria-pressed"), "true", "全部 is chosen");

    await page.locator("#faq-q").fill(draftQuestion);
    await page.locator("#faq-q").press("Enter");
    await visible(page, "#faq-empty", "searching the draft finds nothing");
    assert.equal(await page.locator("#faq-list .faq-item").count(), 0);

    assert.deepEqual(problems, [], "no page errors or failed API calls");
  } finally {
    await context.close();
    await admin.dispose();
  }
});
