// Unit tests of web/admin/diff.js (the character diff of the version histories on 常用问答 and
// 知识库维护). Plain node, no browser or server:
//
//   node --test web/tests/diff.test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import { changedFields, changesList, diffNodes, diffSize, diffText, elide, hasChange, LINE_PASS_OVER, MAX_EDITS } from "../admin/diff.js";

/** The texts a diff describes: [before, after]. */
function sides(parts) {
  return [
    parts.filter((p) => p.op !== "insert").map((p) => p.text).join(""),
    parts.filter((p) => p.op !== "delete").map((p) => p.text).join(""),
  ];
}

const compact = (parts) => parts.map((p) => (p.op === "equal" ? p.text : p.op === "delete" ? `[-${p.text}-]` : `{+${p.text}+}`)).join("");

/** A deterministic pseudo-random string of `n` CJK characters. */
function cjk(n, seed) {
  let x = seed;
  let s = "";
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    s += String.fromCharCode(0x4e00 + (x % 2000));
  }
  return s;
}

test("an insertion in Chinese text is found by character", () => {
  const parts = diffText("党员的党龄从预备期满之日算起。", "党员的党龄从预备期满转为正式党员之日算起。");
  assert.deepEqual(parts, [
    { op: "equal", text: "党员的党龄从预备期满" },
    { op: "insert", text: "转为正式党员" },
    { op: "equal", text: "之日算起。" },
  ]);
  assert.deepEqual(diffSize(parts), { deleted: 0, inserted: 6 });
  assert.ok(hasChange(parts));
});

test("a deletion in Chinese text is found by character", () => {
  const parts = diffText("党员必须履行下列义务：认真学习。", "党员必须履行义务：认真学习。");
  assert.deepEqual(parts, [
    { op: "equal", text: "党员必须履行" },
    { op: "delete", text: "下列" },
    { op: "equal", text: "义务：认真学习。" },
  ]);
});

test("a replacement is one deletion then one insertion; a stray common character does not split it", () => {
  // 入党 and 正式党员 share 党: the diff still reads as one replacement.
  const parts = diffText("党员的党龄，从预备期满转为正式党员之日算起。", "党员的党龄，从入党之日算起。");
  assert.equal(compact(parts), "党员的党龄，从[-预备期满转为正式党员-]{+入党+}之日算起。");
  assert.deepEqual(sides(parts), ["党员的党龄，从预备期满转为正式党员之日算起。", "党员的党龄，从入党之日算起。"]);
});

test("several separate edits keep the text between them", () => {
  const parts = diffText("第一条 甲乙丙。第二条 丁戊己。第三条 庚辛壬。", "第一条 甲乙丙丁。第二条 丁己。第三条 庚辛壬癸。");
  assert.equal(compact(parts), "第一条 甲乙丙{+丁+}。第二条 丁[-戊-]己。第三条 庚辛壬{+癸+}。");
});

test("characters outside the BMP are never split", () => {
  const parts = diffText("党𠀀员", "党𠀁员");
  assert.deepEqual(parts, [
    { op: "equal", text: "党" },
    { op: "delete", text: "𠀀" },
    { op: "insert", text: "𠀁" },
    { op: "equal", text: "员" },
  ]);
});

test("empty and missing inputs", () => {
  assert.deepEqual(diffText("", ""), []);
  assert.deepEqual(diffText(null, undefined), []);
  assert.deepEqual(diffText("", "新增的相似问法"), [{ op: "insert", text: "新增的相似问法" }]);
  assert.deepEqual(diffText("删掉的答案", ""), [{ op: "delete", text: "删掉的答案" }]);
  assert.deepEqual(diffText(undefined, "甲"), [{ op: "insert", text: "甲" }]);
  assert.deepEqual(diffText("相同", "相同"), [{ op: "equal", text: "相同" }]);
  assert.equal(hasChange(diffText("相同", "相同")), false);
});

test("multi-line text: a changed line is diffed inside, the other lines stay equal", () => {
  const before = "一、坚持党的领导\n二、坚持人民至上\n三、坚持理论创新";
  const after = "一、坚持党的全面领导\n二、坚持人民至上\n三、坚持理论创新\n四、坚持独立自主";
  const parts = diffText(before, after);
  assert.equal(compact(parts), "一、坚持党的{+全面+}领导\n二、坚持人民至上\n三、坚持理论创新{+\n四、坚持独立自主+}");
  assert.deepEqual(sides(parts), [before, after]);
});

test("long texts: a line-level first pass, then characters inside the changed lines", () => {
  const lines = Array.from({ length: 400 }, (_, i) => `第${i}行：${cjk(20, i + 1)}`);
  const before = lines.join("\n");
  const changed = [...lines];
  changed[100] = changed[100].replace("行：", "行（修改）：");
  changed[300] = changed[300].slice(0, -3);
  const after = changed.join("\n");
  assert.ok(before.length > 2 * LINE_PASS_OVER, "the text is long enough to skip the character pass");
  const t0 = Date.now();
  const parts = diffText(before, after);
  const ms = Date.now() - t0;
  assert.deepEqual(sides(parts), [before, after]);
  const changes = parts.filter((p) => p.op !== "equal");
  assert.deepEqual(changes, [{ op: "insert", text: "（修改）" }, { op: "delete", text: lines[300].slice(-3) }], "only the edits are marked");
  assert.ok(ms < 2000, `the diff of a long text is quick (${ms} ms)`);
});

test("very different or very long texts fall back to one replacement of the whole field", () => {
  const a = cjk(3000, 7);
  const b = cjk(3000, 8);
  const t0 = Date.now();
  const parts = diffText(a, b);
  assert.ok(Date.now() - t0 < 2000, "the fallback is quick");
  assert.deepEqual(parts, [{ op: "delete", text: a }, { op: "insert", text: b }]);

  // Beyond maxEdits even a short text is one replacement (after its common prefix and suffix).
  const capped = diffText("前缀甲乙丙丁戊己庚辛后缀", "前缀子丑寅卯辰巳午未后缀", { maxEdits: 4 });
  assert.deepEqual(capped, [
    { op: "equal", text: "前缀" },
    { op: "delete", text: "甲乙丙丁戊己庚辛" },
    { op: "insert", text: "子丑寅卯辰巳午未" },
    { op: "equal", text: "后缀" },
  ]);

  // Beyond maxLength nothing is diffed at all.
  const big = diffText("甲" + a, "乙" + a, { maxLength: 100 });
  assert.deepEqual(big, [{ op: "delete", text: "甲" }, { op: "insert", text: "乙" }, { op: "equal", text: a }], "the common suffix is still kept");
  assert.ok(MAX_EDITS > 0);
});

test("random edits: the parts always give both texts back", () => {
  const alphabet = "党员组织支部甲乙\n";
  let x = 42;
  const rnd = (n) => { x = (x * 1103515245 + 12345) & 0x7fffffff; return x % n; };
  const word = () => Array.from({ length: rnd(40) }, () => alphabet[rnd(alphabet.length)]).join("");
  for (let i = 0; i < 300; i++) {
    const a = word();
    const b = word();
    const parts = diffText(a, b, { maxEdits: i % 4 === 0 ? 3 : MAX_EDITS });
    assert.deepEqual(sides(parts), [a, b], `diff of ${JSON.stringify(a)} → ${JSON.stringify(b)}`);
    for (let j = 1; j < parts.length; j++) {
      assert.ok(!(parts[j].op === parts[j - 1].op), "adjacent parts differ in op");
      assert.ok(!(parts[j].op === "delete" && parts[j - 1].op === "insert"), "a deletion comes before its insertion");
    }
  }
});

test("elide shortens long unchanged stretches around the changes", () => {
  const head = "甲".repeat(200);
  const tail = "乙".repeat(200);
  const parts = elide(diffText(head + "旧" + tail, head + "新" + tail), 10);
  assert.deepEqual(parts, [
    { op: "equal", text: "……" + "甲".repeat(10), cut: true },
    { op: "delete", text: "旧" },
    { op: "insert", text: "新" },
    { op: "equal", text: "乙".repeat(10) + "……", cut: true },
  ]);
  const short = diffText("甲乙丙", "甲丁丙");
  assert.deepEqual(elide(short, 10), short, "short texts are kept whole");
});

// --- DOM helpers, with a minimal stand-in for document ---------------------------------------------

class FakeNode {
  constructor(tag) {
    this.tagName = tag.toUpperCase();
    this.children = [];
    this.className = "";
    this.title = "";
    this.dataset = {};
    this.attrs = {};
    this._text = "";
  }
  set textContent(t) { this.children = []; this._text = String(t); }
  get textContent() { return this._text + this.children.map((c) => c.textContent).join(""); }
  append(...nodes) { this.children.push(...nodes); }
  setAttribute(k, v) { this.attrs[k] = String(v); }
}
const fakeDoc = { createElement: (tag) => new FakeNode(tag) };
const find = (node, pred, out = []) => {
  if (pred(node)) out.push(node);
  for (const c of node.children) find(c, pred, out);
  return out;
};

test("diffNodes: <del>/<ins> with 删除/新增 for screen readers; text is only ever textContent", () => {
  const nodes = diffNodes(diffText("答案<b>旧</b>", "答案<b>新</b>"), fakeDoc);
  const tags = nodes.map((n) => n.tagName);
  assert.deepEqual(tags, ["SPAN", "DEL", "INS", "SPAN"]);
  const [, del, ins] = nodes;
  assert.equal(del.className, "diff-del");
  assert.equal(del.title, "删除");
  assert.equal(ins.title, "新增");
  assert.equal(del.textContent, "［删除：旧］");
  assert.equal(ins.textContent, "［新增：新］");
  assert.equal(find(del, (n) => n.className === "diff-text")[0].textContent, "旧");
  assert.equal(nodes[0].textContent, "答案<b>", "markup in the text stays text");
});

test("changedFields and changesList: text fields diffed, values as 旧值 → 新值", () => {
  const fields = [
    { key: "answer", label: "答案", kind: "text", get: (s) => s.answer },
    { key: "status", label: "状态", kind: "value", get: (s) => s.status },
    { key: "category", label: "分类", kind: "value", get: (s) => s.category },
  ];
  const before = { answer: "旧答案", status: "草稿", category: "" };
  const after = { answer: "新答案", status: "已发布", category: "" };
  assert.deepEqual(changedFields(null, after, fields), [], "the first version has nothing to compare with");
  const changes = changedFields(before, after, fields);
  assert.deepEqual(changes.map((c) => c.key), ["answer", "status"], "unchanged fields are left out");
  const ul = changesList(changes, fakeDoc);
  assert.equal(ul.tagName, "UL");
  const [answer, status] = ul.children;
  assert.equal(answer.dataset.field, "answer");
  assert.deepEqual(find(answer, (n) => n.tagName === "DEL").map((n) => n.textContent), ["［删除：旧］"]);
  assert.deepEqual(find(answer, (n) => n.tagName === "INS").map((n) => n.textContent), ["［新增：新］"]);
  assert.equal(find(status, (n) => n.className === "diff-old")[0].textContent, "草稿");
  assert.equal(find(status, (n) => n.className === "diff-new")[0].textContent, "已发布");
  assert.match(status.textContent, /状态：旧值：草稿 → ，新值：已发布/);
  const empty = changesList(changedFields({ category: "" }, { category: "测试" }, fields.slice(2)), fakeDoc);
  assert.equal(find(empty, (n) => n.className === "diff-old")[0].textContent, "（空）", "an empty value is shown as （空）");
});
