/**
 * A unified mini-diff of Talos config patches: per changed patch, the removed and added lines with
 * one line of context, so a reviewer sees the sysctl that changed rather than "configPatches[3]".
 */
export function patchDiff(before: readonly string[], after: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < Math.max(before.length, after.length); i++) {
    const a = before[i];
    const b = after[i];
    if (a === b) continue;
    out.push(a === undefined ? `@@ patch ${i} (added) @@` : b === undefined ? `@@ patch ${i} (removed) @@` : `@@ patch ${i} @@`);
    out.push(...hunk(lines(a), lines(b)));
  }
  return out;
}

function lines(text: string | undefined): string[] {
  return text === undefined ? [] : text.trimEnd().split("\n");
}

/** Line diff by longest common subsequence, printing changes with one line of context around them. */
function hunk(a: readonly string[], b: readonly string[]): string[] {
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      const row = lcs[i] as number[];
      row[j] = a[i] === b[j] ? (lcs[i + 1]?.[j + 1] ?? 0) + 1 : Math.max(lcs[i + 1]?.[j] ?? 0, row[j + 1] ?? 0);
    }
  }
  const ops: Array<[" " | "-" | "+", string]> = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      ops.push([" ", a[i++] as string]);
      j++;
    } else if (i < a.length && (j >= b.length || (lcs[i + 1]?.[j] ?? 0) >= (lcs[i]?.[j + 1] ?? 0))) {
      // Removed lines before added ones, as unified diffs show them.
      ops.push(["-", a[i++] as string]);
    } else ops.push(["+", b[j++] as string]);
  }
  const near = (k: number) => ops.slice(Math.max(0, k - 1), k + 2).some(([op]) => op !== " ");
  const out: string[] = [];
  let skipped = false;
  ops.forEach(([op, line], k) => {
    if (op !== " " || near(k)) {
      if (skipped && out.length > 0) out.push("  ...");
      skipped = false;
      out.push(`${op} ${line}`);
    } else skipped = true;
  });
  return out;
}
