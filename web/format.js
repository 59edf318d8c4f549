// Display of curated answers (常用问答) and similar stored plain text with a small, safe Markdown
// subset, no library: paragraphs (a blank line) and line breaks, **bold**, unordered ("- " or
// "* ") and ordered ("1. ") lists, and links [text](https://…) (http and https only; they open in
// a new tab with rel="noopener noreferrer"). Everything else stays literal text. The text is
// HTML-escaped first and the subset applied to the escaped text, so no markup of the input ever
// reaches the page; `[n]` citation marks become <button class="cite" data-cite="n"> when the
// caller says n is a source. `formatHtml` is pure (unit-tested with node); `setFormatted` is the
// one place that assigns the result to innerHTML.

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Text with & < > " ' escaped (safe in element content and in quoted attributes). */
export function escapeHtml(s) {
  return String(s ?? "").replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** [text](http(s)://…) on escaped text: no parentheses, spaces or brackets in the address. */
const LINK = /\[([^[\]\n]+)\]\((https?:\/\/[^\s()[\]]+)\)/gi;
const BOLD = /\*\*(?=\S)(.+?)\*\*/g;
const CITE = /\[(\d{1,3})\]/g;
const UL_ITEM = /^\s{0,3}[-*]\s+(.*\S)\s*$/;
const OL_ITEM = /^\s{0,3}(\d{1,3})\.\s+(.*\S)\s*$/;
/** A line that continues the list item above it: indented by at least two spaces. */
const CONTINUED = /^(?: {2,}|\t)\s*(\S.*)$/;

/** Bold and citation marks on escaped text without links. */
function plain(s, cite) {
  let out = s.replace(BOLD, "<strong>$1</strong>");
  if (cite) {
    out = out.replace(CITE, (m, n) => (cite(Number(n)) ? `<button type="button" class="cite" data-cite="${n}">${n}</button>` : m));
  }
  return out;
}

/** Inline markup of one escaped line: links, then bold and citations outside the links' addresses. */
function inline(s, cite) {
  let out = "";
  let last = 0;
  for (const m of s.matchAll(LINK)) {
    out += plain(s.slice(last, m.index), cite);
    out += `<a href="${m[2]}" target="_blank" rel="noopener noreferrer">${m[1].replace(BOLD, "<strong>$1</strong>")}</a>`;
    last = m.index + m[0].length;
  }
  return out + plain(s.slice(last), cite);
}

/**
 * The HTML of `text` (plain text with the Markdown subset). `cite(n)`: whether `[n]` is a
 * citation (then a button.cite[data-cite=n]); without it `[n]` stays text. The result holds no
 * line breaks between elements (it renders the same with or without white-space: pre-wrap).
 */
export function formatHtml(text, { cite = null } = {}) {
  const lines = escapeHtml(String(text ?? "").replace(/\r\n?/g, "\n")).split("\n");
  const out = [];
  /** The open block: { kind: "p" | "ul" | "ol", items: [[line…]…] } or null. */
  let block = null;
  const close = () => {
    if (!block) return;
    const html = (ls) => ls.map((l) => inline(l, cite)).join("<br>");
    if (block.kind === "p") out.push(`<p>${html(block.items[0])}</p>`);
    else {
      const start = block.kind === "ol" && block.start !== 1 ? ` start="${block.start}"` : "";
      out.push(`<${block.kind}${start}>${block.items.map((it) => `<li>${html(it)}</li>`).join("")}</${block.kind}>`);
    }
    block = null;
  };
  /** A blank line after a list item: the list goes on only when the next line is an item of it. */
  let gap = false;
  for (const line of lines) {
    if (!line.trim()) {
      if (block && block.kind !== "p") gap = true;
      else close();
      continue;
    }
    const ul = UL_ITEM.exec(line);
    const ol = ul ? null : OL_ITEM.exec(line);
    if (gap) {
      gap = false;
      if (!block || block.kind !== (ul ? "ul" : ol ? "ol" : "p")) close();
    }
    if (ul || ol) {
      const kind = ul ? "ul" : "ol";
      if (!block || block.kind !== kind) {
        close();
        block = { kind, items: [], start: ol ? Number(ol[1]) : 1 };
      }
      block.items.push([ul ? ul[1] : ol[2]]);
      continue;
    }
    const more = block && block.kind !== "p" ? CONTINUED.exec(line) : null;
    if (more) {
      block.items[block.items.length - 1].push(more[1]);
      continue;
    }
    if (!block || block.kind !== "p") {
      close();
      block = { kind: "p", items: [[]] };
    }
    block.items[0].push(line.trim());
  }
  close();
  return out.join("");
}

/**
 * Renders `text` into `node` (its children replaced) with the subset; adds the class "fmt"
 * (normal white-space, paragraph and list spacing). Returns `node`.
 */
export function setFormatted(node, text, opts = {}) {
  node.classList.add("fmt");
  node.innerHTML = formatHtml(text, opts);
  return node;
}
