import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from "yaml";
import type { PathSegment } from "./errors";

/**
 * A YAML file parsed with its positions kept, so that a problem found in the data (a parser error,
 * a zod issue) can be reported at its line. yaml 2.9.1 (eemeli/yaml src/compose/resolve-block-map.ts)
 * reports a repeated map key as DUPLICATE_KEY (`uniqueKeys` defaults to true) and a tab in an
 * indentation as TAB_AS_INDENT (src/parse/lexer.ts); every error carries `pos` offsets into the text.
 */
export interface YamlSource {
  /** The data, as far as the parser could build it (only meaningful when `errors` is empty). */
  readonly value: unknown;
  /** Parser errors, each at its line and below the deepest key that encloses it. */
  readonly errors: ReadonlyArray<{ readonly line: number; readonly path: readonly PathSegment[]; readonly message: string }>;
  /** The 1-based line of the key at `path` or, when it is absent, of its deepest present ancestor. */
  lineOf(path: readonly PathSegment[]): number | undefined;
}

export function parseYamlSource(text: string): YamlSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const lineAt = (offset: number) => lineCounter.linePos(offset).line;
  return {
    value: doc.errors.length === 0 ? (doc.toJS() as unknown) : undefined,
    // After the first error the parser's reading of the rest is a guess (a tab breaks every mapping
    // below it), so that error alone is reported, with any repeated keys: those stand on their own.
    errors: doc.errors
      .filter((e, i) => i === 0 || e.code === "DUPLICATE_KEY")
      .map((e) => ({
        line: lineAt(e.pos[0]),
        path: e.code === "DUPLICATE_KEY" ? pathAt(doc, e.pos[0], lineAt) : pathByIndent(text, lineAt(e.pos[0])),
        message: e.message,
      })),
    lineOf: (path) => {
      const offset = offsetOf(doc.contents, path);
      return offset === undefined ? undefined : lineAt(offset);
    },
  };
}

/** The start offset of the key (for a map entry) or item (for a list entry) at `path`, or of its deepest present ancestor. */
function offsetOf(node: unknown, path: readonly PathSegment[]): number | undefined {
  let current = node;
  let found: number | undefined;
  for (const segment of path) {
    if (isMap(current)) {
      const pair = current.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) break;
      found = (pair.key as Node).range?.[0] ?? found;
      current = pair.value;
    } else if (isSeq(current) && typeof segment === "number") {
      const item = current.items[segment] as Node | undefined;
      if (!item) break;
      found = item.range?.[0] ?? found;
      current = item;
    } else break;
  }
  return found;
}

/**
 * The key path of the deepest entry that contains `offset`; for an offset outside every entry (a tab
 * before a key, say), the entry that starts on the same line.
 */
function pathAt(doc: Document, offset: number, lineAt: (offset: number) => number): PathSegment[] {
  const path: PathSegment[] = [];
  let current: unknown = doc.contents;
  for (;;) {
    const entries: Array<{ segment: PathSegment; start: number; end: number; value: unknown }> = [];
    if (isMap(current)) {
      for (const pair of current.items) {
        if (!isPair(pair) || !isScalar(pair.key) || !pair.key.range) continue;
        const value = pair.value as Node | null;
        entries.push({
          segment: String(pair.key.value),
          start: pair.key.range[0],
          end: value?.range?.[2] ?? pair.key.range[2],
          value,
        });
      }
    } else if (isSeq(current)) {
      current.items.forEach((item, i) => {
        const range = (item as Node | null)?.range;
        if (range) entries.push({ segment: i, start: range[0], end: range[2], value: item });
      });
    }
    const hit = entries.find((e) => e.start <= offset && offset < e.end) ?? entries.find((e) => lineAt(e.start) === lineAt(offset));
    if (!hit) return path;
    path.push(hit.segment);
    current = hit.value;
  }
}

/**
 * The key path of a line read from the indentation of the block-style lines above it, for an error
 * that left the document's structure unreliable. A line indented with a tab is taken as a child of
 * the key line before it when that key opens a block (nothing after its colon), else as its sibling.
 */
function pathByIndent(text: string, line: number): PathSegment[] {
  const stack: Array<{ indent: number; key: PathSegment }> = [];
  /** How many list items were seen under the entry at each depth (for `[i]`). */
  const items = new Map<string, number>();
  let previousIndent = 0;
  let previousOpens = false;
  const lines = text.split("\n").slice(0, line);
  const popTo = (indent: number) => {
    while (stack.length > 0 && stack[stack.length - 1]!.indent >= indent) stack.pop();
  };
  lines.forEach((raw, i) => {
    const m = /^([ \t]*)(- +)?(?:([^\s#'"{[-][^#]*?|"[^"]*"|'[^']*'):(?:\s|$))?/.exec(raw)!;
    const tabbed = i === lines.length - 1 && m[1]!.includes("\t");
    let indent = tabbed ? previousIndent + (previousOpens ? 1 : 0) : m[1]!.length;
    if (m[2] !== undefined) {
      popTo(indent);
      const parent = stack.map((e) => String(e.key)).join(".");
      const index = items.get(parent) ?? 0;
      items.set(parent, index + 1);
      stack.push({ indent, key: index });
      indent += m[2].length;
    }
    if (m[3] === undefined) return;
    popTo(indent);
    stack.push({ indent, key: m[3].replace(/^["']|["']$/g, "") });
    previousIndent = indent;
    previousOpens = /:\s*(#.*)?$/.test(raw);
  });
  return stack.map((e) => e.key);
}
