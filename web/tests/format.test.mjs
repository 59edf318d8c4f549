// Unit tests of web/format.js (the safe Markdown subset of curated answers on the chat page, 常用咨询
// and the 常用问答 editor's preview). Plain node, no browser or server:
//
//   node --test web/tests/format.test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import { escapeHtml, formatHtml } from "../format.js";

test("plain text: escaped, one paragraph per blank-line block, single line breaks as <br>", () => {
  assert.equal(formatHtml(""), "");
  assert.equal(formatHtml(null), "");
  assert.equal(formatHtml("党员的党龄从预备期满转为正式党员之日算起。"), "<p>党员的党龄从预备期满转为正式党员之日算起。</p>");
  assert.equal(formatHtml("第一行\n第二行\r\n\r\n\n第二段"), "<p>第一行<br>第二行</p><p>第二段</p>");
  assert.equal(escapeHtml(`<a href="x">'&'</a>`), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
});

test("HTML in the text is shown, never interpreted", () => {
  const html = formatHtml('<script>alert("x")</script>\n<img src=x onerror=alert(1)> & <b>粗</b>');
  assert.equal(html, "<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;<br>&lt;img src=x onerror=alert(1)&gt; &amp; &lt;b&gt;粗&lt;/b&gt;</p>");
  assert.ok(!/<(script|img|b)\b/i.test(html), "no element of the input survives");
  // Markup inside the subset's own syntax is escaped as well.
  assert.equal(formatHtml("**<i>x</i>**"), "<p><strong>&lt;i&gt;x&lt;/i&gt;</strong></p>");
  assert.equal(formatHtml("- <script>1</script>"), "<ul><li>&lt;script&gt;1&lt;/script&gt;</li></ul>");
});

test("**bold**", () => {
  assert.equal(formatHtml("按期**足额**交纳党费。"), "<p>按期<strong>足额</strong>交纳党费。</p>");
  assert.equal(formatHtml("**甲**和**乙**"), "<p><strong>甲</strong>和<strong>乙</strong></p>");
  assert.equal(formatHtml("没有闭合的**星号"), "<p>没有闭合的**星号</p>", "an unclosed ** stays text");
  assert.equal(formatHtml("** 空格 **"), "<p>** 空格 **</p>", "** followed by a space is not bold");
  assert.equal(formatHtml("****"), "<p>****</p>");
});

test("unordered and ordered lists", () => {
  assert.equal(formatHtml("党员的义务：\n- 认真学习\n- 贯彻执行\n* 服从组织"), "<p>党员的义务：</p><ul><li>认真学习</li><li>贯彻执行</li><li>服从组织</li></ul>");
  assert.equal(formatHtml("1. 提出申请\n2. 确定积极分子\n3. **发展对象**"), "<ol><li>提出申请</li><li>确定积极分子</li><li><strong>发展对象</strong></li></ol>");
  assert.equal(formatHtml("3. 第三步\n4. 第四步"), '<ol start="3"><li>第三步</li><li>第四步</li></ol>', "an ordered list keeps its first number");
  assert.equal(formatHtml("1. 甲\n\n2. 乙\n\n之后的段落"), "<ol><li>甲</li><li>乙</li></ol><p>之后的段落</p>", "blank lines between items keep one list");
  assert.equal(formatHtml("- 甲\n  甲的第二行\n- 乙"), "<ul><li>甲<br>甲的第二行</li><li>乙</li></ul>", "an indented line continues its item");
  assert.equal(formatHtml("- 甲\n1. 一"), "<ul><li>甲</li></ul><ol><li>一</li></ol>");
  assert.equal(formatHtml("-不是列表\n1.5倍\n2023. 年"), "<p>-不是列表<br>1.5倍<br>2023. 年</p>", "no space after the marker (or a year): not a list");
});

test("links: http and https only, new tab, rel=noopener", () => {
  assert.equal(
    formatHtml("详见[党章全文](https://www.12371.cn/special/zggcdzc/?a=1&b=2)。"),
    '<p>详见<a href="https://www.12371.cn/special/zggcdzc/?a=1&amp;b=2" target="_blank" rel="noopener noreferrer">党章全文</a>。</p>',
  );
  assert.equal(formatHtml("[**加粗的链接**](http://example.cn/x)"), '<p><a href="http://example.cn/x" target="_blank" rel="noopener noreferrer"><strong>加粗的链接</strong></a></p>');
  assert.equal(formatHtml("[地址里的星号](https://e.cn/**x**)"), '<p><a href="https://e.cn/**x**" target="_blank" rel="noopener noreferrer">地址里的星号</a></p>', "bold is not applied inside an address");
});

test("javascript:, data: and other links are refused (left as text)", () => {
  for (const href of ["javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,<script>alert(1)</script>", "vbscript:x", "//evil.example/x", "ftp://e.cn/x", " javascript:alert(1)"]) {
    const html = formatHtml(`[点我](${href})`);
    assert.ok(!html.includes("<a"), `${href} must not become a link: ${html}`);
    assert.ok(html.startsWith("<p>[点我]("), `the text stays as typed: ${html}`);
  }
  // A quote cannot end the attribute: it is escaped inside the address.
  const html = formatHtml('[x](https://e.cn/"onmouseover="alert(1))');
  assert.ok(!/<a [^>]*onmouseover/.test(html), html);
  const quoted = formatHtml('[x](https://e.cn/"onmouseover=y)');
  assert.equal(quoted, '<p><a href="https://e.cn/&quot;onmouseover=y" target="_blank" rel="noopener noreferrer">x</a></p>');
});

test("citation marks [n] become buttons only when the caller knows source n", () => {
  const cite = (n) => n === 1 || n === 2;
  assert.equal(
    formatHtml("答案见第七条。\n\n（常用问答，依据：《中国共产党章程》第七条[1]、第九条[3]）", { cite }),
    '<p>答案见第七条。</p><p>（常用问答，依据：《中国共产党章程》第七条<button type="button" class="cite" data-cite="1">1</button>、第九条[3]）</p>',
  );
  assert.equal(formatHtml("没有来源[1]"), "<p>没有来源[1]</p>", "without `cite` the mark stays text");
  assert.equal(formatHtml("- 要点[2]", { cite }), '<ul><li>要点<button type="button" class="cite" data-cite="2">2</button></li></ul>');
});
