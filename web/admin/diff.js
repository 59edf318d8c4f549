// A small text diff for the version histories of 常用问答 and 知识库维护 (no library): Myers'
// O((N+M)·D) algorithm over Unicode code points (Chinese text has no spaces to split words on),
// with a line-level first pass for long texts and a cap on the edit distance. When the texts are
// too long or too different the changed part is reported as one replacement (delete the old,
// insert the new) instead. `diffText` is pure (unit-tested with node); `diffNodes` renders its
// result as DOM nodes (<del>/<ins> with text for screen readers), text set with textContent only.

/** Texts longer than this (code points, after the common prefix and suffix) skip the character pass. */
export const LINE_PASS_OVER = 3000;
/** Texts longer than this are never diffed: one replacement. */
export const MAX_LENGTH = 100_000;
/** The most edits the character pass looks for (beyond it: a replacement, or the line pass). */
export const MAX_EDITS = 800;

/**
 * Myers' shortest edit script between token arrays `a` and `b` (compared with ===), or null when
 * it needs more than `maxD` edits. Resolves to [op, token] pairs, op "=", "-" or "+".
 */
function myers(a, b, maxD) {
  const n = a.length;
  const m = b.length;
  const limit = Math.min(n + m, maxD);
  const offset = limit + 1;
  const v = new Int32Array(2 * limit + 3);
  // trace[d]: v before step d, for k in [-d-1, d+1] (what the backtrack at step d reads).
  const trace = [];
  for (let d = 0; d <= limit; d++) {
    trace.push(v.slice(offset - d - 1, offset + d + 2));
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1] < v[offset + k + 1]) ? v[offset + k + 1] : v[offset + k - 1] + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) { x++; y++; }
      v[offset + k] = x;
      if (x >= n && y >= m) return backtrack(a, b, trace, n, m);
    }
  }
  return null;
}

function backtrack(a, b, trace, n, m) {
  const out = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d >= 0; d--) {
    const snap = trace[d];
    const at = (k) => snap[k + d + 1];
    const k = x - y;
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = d === 0 ? 0 : at(prevK);
    const prevY = d === 0 ? 0 : prevX - prevK;
    while (x > prevX && y > prevY) out.push(["=", a[--x]]), y--;
    if (d > 0) {
      if (x === prevX) out.push(["+", b[--y]]);
      else out.push(["-", a[--x]]);
    }
    x = prevX;
    y = prevY;
  }
  return out.reverse();
}

/** [op, token] pairs → parts with adjacent same ops joined. */
function join(pairs) {
  const parts = [];
  for (const [op, t] of pairs) {
    const last = parts[parts.length - 1];
    if (last && last.op === op) last.text += t;
    else parts.push({ op, text: t });
  }
  return parts;
}

const chars = (s) => Array.from(s);
/** Lines with their line break kept (so that joining them gives the text back). */
const splitLines = (s) => s.match(/[^\n]*\n|[^\n]+$/g) || [];
const len = (s) => chars(s).length;

/**
 * Runs of equal text and of changes: { eq } or { del, ins }. A change run is one deletion and
 * one insertion, in that order (either may be empty).
 */
function toRuns(parts) {
  const runs = [];
  for (const p of parts) {
    if (!p.text) continue;
    const last = runs[runs.length - 1];
    if (p.op === "=") {
      if (last && "eq" in last) last.eq += p.text;
      else runs.push({ eq: p.text });
    } else {
      const r = last && !("eq" in last) ? last : (runs.push({ del: "", ins: "" }), runs[runs.length - 1]);
      if (p.op === "-") r.del += p.text;
      else r.ins += p.text;
    }
  }
  return runs;
}

/**
 * Folds short equalities caught between two changes into them (as diff-match-patch's semantic
 * clean-up does): 从[-预备期满转为正式-][+入+]党[-员-]之日 reads better as one replacement.
 */
function cleanup(runs) {
  for (let i = 1; i < runs.length - 1;) {
    const r = runs[i];
    const before = runs[i - 1];
    const after = runs[i + 1];
    const n = "eq" in r && !("eq" in before) && !("eq" in after) ? len(r.eq) : -1;
    if (n >= 0 && n <= Math.max(len(before.del), len(before.ins)) && n <= Math.max(len(after.del), len(after.ins))) {
      runs.splice(i - 1, 3, { del: before.del + r.eq + after.del, ins: before.ins + r.eq + after.ins });
      // The equality before the joined change may fold now.
      i = Math.max(1, i - 2);
    } else {
      i++;
    }
  }
  return runs;
}

function fromRuns(runs) {
  const parts = [];
  for (const r of runs) {
    if ("eq" in r) parts.push({ op: "equal", text: r.eq });
    else {
      if (r.del) parts.push({ op: "delete", text: r.del });
      if (r.ins) parts.push({ op: "insert", text: r.ins });
    }
  }
  return parts;
}

/** Diffs the middles (no common prefix or suffix) as pairs of [op, text]. */
function diffMiddle(a, b, maxEdits) {
  if (!a || !b) return [["-", a], ["+", b]];
  const ca = chars(a);
  const cb = chars(b);
  if (ca.length + cb.length <= 2 * LINE_PASS_OVER) {
    const r = myers(ca, cb, maxEdits);
    if (r) return r;
  }
  // Long or very different: lines first, then characters inside each changed block of lines.
  const la = splitLines(a);
  const lb = splitLines(b);
  if (la.length > 1 || lb.length > 1) {
    const byLine = myers(la, lb, maxEdits);
    if (byLine) {
      const out = [];
      for (const r of toRuns(join(byLine))) {
        if ("eq" in r) out.push(["=", r.eq]);
        else if (r.del && r.ins && len(r.del) + len(r.ins) <= 2 * LINE_PASS_OVER) {
          out.push(...(myers(chars(r.del), chars(r.ins), maxEdits) || [["-", r.del], ["+", r.ins]]));
        } else out.push(["-", r.del], ["+", r.ins]);
      }
      return out;
    }
  }
  return [["-", a], ["+", b]];
}

/**
 * The differences between `before` and `after` (strings; null/undefined count as ""), as
 * [{ op: "equal" | "delete" | "insert", text }]: joining the equal and delete parts gives
 * `before`, the equal and insert parts `after`. Within a change a deletion comes before its
 * insertion. Identical texts give one equal part ([] when both are empty). Options: `maxEdits`
 * (default MAX_EDITS), `maxLength` (default MAX_LENGTH): beyond them the changed part is one
 * replacement.
 */
export function diffText(before, after, { maxEdits = MAX_EDITS, maxLength = MAX_LENGTH } = {}) {
  const a = before == null ? "" : String(before);
  const b = after == null ? "" : String(after);
  if (a === b) return a ? [{ op: "equal", text: a }] : [];
  const ca = chars(a);
  const cb = chars(b);
  let p = 0;
  while (p < ca.length && p < cb.length && ca[p] === cb[p]) p++;
  let s = 0;
  while (s < ca.length - p && s < cb.length - p && ca[ca.length - 1 - s] === cb[cb.length - 1 - s]) s++;
  const prefix = ca.slice(0, p).join("");
  const suffix = s ? ca.slice(ca.length - s).join("") : "";
  const midA = ca.slice(p, ca.length - s).join("");
  const midB = cb.slice(p, cb.length - s).join("");
  const middle = ca.length > maxLength || cb.length > maxLength ? [["-", midA], ["+", midB]] : diffMiddle(midA, midB, maxEdits);
  const runs = cleanup(toRuns(join([["=", prefix], ...middle, ["=", suffix]].filter(([, t]) => t))));
  return fromRuns(runs);
}

/** True when the parts hold a change. */
export const hasChange = (parts) => parts.some((x) => x.op !== "equal");

/** Characters deleted and inserted: { deleted, inserted }. */
export function diffSize(parts) {
  let deleted = 0;
  let inserted = 0;
  for (const x of parts) {
    if (x.op === "delete") deleted += len(x.text);
    else if (x.op === "insert") inserted += len(x.text);
  }
  return { deleted, inserted };
}

/**
 * Unchanged stretches longer than `keep` × 2 + 20 code points cut to their ends around "……"
 * (`{ op: "equal", text, cut: true }` marks a cut one), so that a one-character edit of a long
 * text shows where it is without the whole text. The first and last parts keep `keep` points
 * next to the change only.
 */
export function elide(parts, keep = 40) {
  return parts.map((x, i) => {
    if (x.op !== "equal") return x;
    const c = chars(x.text);
    const first = i === 0;
    const last = i === parts.length - 1;
    if (c.length <= keep * (first || last ? 1 : 2) + 20) return x;
    const head = first ? "" : c.slice(0, keep).join("");
    const tail = last ? "" : c.slice(c.length - keep).join("");
    return { op: "equal", text: head + "……" + tail, cut: true };
  });
}

/**
 * The parts as DOM nodes: text for equal parts, <del class="diff-del"> and <ins class="diff-ins">
 * for changes, each starting with a visually hidden 删除：/新增： (and titled so) for screen
 * readers and tooltips. Line breaks stay in the text (render inside white-space: pre-wrap).
 */
export function diffNodes(parts, doc = globalThis.document) {
  const nodes = [];
  for (const x of parts) {
    if (x.op === "equal") {
      const span = doc.createElement("span");
      span.className = "diff-eq" + (x.cut ? " diff-cut" : "");
      span.textContent = x.text;
      nodes.push(span);
      continue;
    }
    const del = x.op === "delete";
    const e = doc.createElement(del ? "del" : "ins");
    e.className = del ? "diff-del" : "diff-ins";
    e.title = del ? "删除" : "新增";
    const sr = doc.createElement("span");
    sr.className = "sr-only";
    sr.textContent = del ? "［删除：" : "［新增：";
    const end = doc.createElement("span");
    end.className = "sr-only";
    end.textContent = "］";
    const t = doc.createElement("span");
    t.className = "diff-text";
    t.textContent = x.text;
    e.append(sr, t, end);
    nodes.push(e);
  }
  return nodes;
}

/**
 * The fields that differ between two versions (objects; `before` null for the first version):
 * [{ key, label, kind, before, after }] in the order of `fields`. A field is { key, label,
 * kind: "text" | "value", get(obj) → string }: "text" fields are diffed, "value" fields shown as
 * 旧值 → 新值 (their `get` gives the display text, "" for none).
 */
export function changedFields(before, after, fields) {
  if (!before) return [];
  const out = [];
  for (const f of fields) {
    const a = String(f.get(before) ?? "");
    const b = String(f.get(after) ?? "");
    if (a !== b) out.push({ key: f.key, label: f.label, kind: f.kind, before: a, after: b });
  }
  return out;
}

/**
 * The changes of `changedFields` as a list (<ul class="diff-list">, one li.diff-field[data-field]
 * per field): a text field's diff (unchanged stretches shortened, see `elide`), a value as
 * <span class="diff-old">旧值</span> → <span class="diff-new">新值</span> (an empty one: （空）).
 */
export function changesList(changes, doc = globalThis.document) {
  const mk = (tag, cls, text) => {
    const e = doc.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const ul = mk("ul", "diff-list");
  for (const c of changes) {
    const li = mk("li", "diff-field diff-kind-" + c.kind);
    li.dataset.field = c.key;
    li.append(mk("span", "diff-label", c.label + "："));
    if (c.kind === "text") {
      const body = mk("div", "diff-body");
      body.append(...diffNodes(elide(diffText(c.before, c.after)), doc));
      li.append(body);
    } else {
      const old = mk("del", "diff-old", c.before || "（空）");
      old.title = "旧值";
      const neu = mk("ins", "diff-new", c.after || "（空）");
      neu.title = "新值";
      const arrow = mk("span", "diff-arrow", " → ");
      arrow.setAttribute("aria-hidden", "true");
      li.append(mk("span", "sr-only", "旧值："), old, arrow, mk("span", "sr-only", "，新值："), neu);
    }
    ul.append(li);
  }
  return ul;
}

/**
 * One version's box in a history list: what changed against the previous version (`prev` =
 * {version, content} or null for the oldest), as a <div class="diff-box {cls}">.
 */
export function versionDiffBox(prev, content, fields, cls, doc = globalThis.document) {
  const mk = (tag, c, text) => {
    const e = doc.createElement(tag);
    e.className = c;
    e.textContent = text;
    return e;
  };
  const box = doc.createElement("div");
  box.className = "diff-box " + cls;
  if (prev) {
    const changes = changedFields(prev.content, content, fields);
    box.dataset.against = String(prev.version);
    box.append(mk("p", "meta diff-caption", `与版本 ${prev.version} 相比：`));
    box.append(changes.length ? changesList(changes, doc) : mk("p", "meta diff-none", "内容没有变化。"));
  } else {
    box.append(mk("p", "meta diff-caption diff-first", "最早的版本，没有可比较的上一版本。"));
  }
  return box;
}
