import { importsOf, localImports, tsFiles } from "./imports";

/**
 * plan/ is one way down: cli.ts → report/ → model/ → record/. A file may import its own room and the
 * rooms below it, never a room above, and the files of plan/ import each other without a circle.
 * tools/ may import plan/; plan/ never imports tools/. Read from the sources, so a new import that
 * breaks the order fails here.
 */
const rank: Readonly<Record<string, number>> = { "plan/record": 0, "plan/model": 1, "plan/report": 2, plan: 3 };

const roomOf = (file: string) => file.slice(0, file.lastIndexOf("/"));

/** Imports that point up or sideways out of plan/'s order, as "from → to". */
function wrongWay(graph: ReadonlyMap<string, readonly string[]>): string[] {
  const wrong: string[] = [];
  for (const [file, targets] of graph) {
    for (const target of targets) {
      if (target.startsWith("tools/")) wrong.push(`${file} → ${target}`);
      if (!target.startsWith("plan/")) continue;
      const from = rank[roomOf(file)];
      const to = rank[roomOf(target)];
      if (from === undefined || to === undefined || to > from) wrong.push(`${file} → ${target}`);
    }
  }
  return wrong;
}

/** One circle through the graph, if there is one (depth-first search). */
function cycle(graph: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === "done") return undefined;
    if (state.get(node) === "open") return [...stack.slice(stack.indexOf(node)), node];
    state.set(node, "open");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const found = visit(next);
      if (found) return found;
    }
    stack.pop();
    state.set(node, "done");
    return undefined;
  };
  for (const node of graph.keys()) {
    const found = visit(node);
    if (found) return found;
  }
  return undefined;
}

const planGraph = () => new Map(tsFiles("plan").map((f) => [f, importsOf(f)] as const));

describe("plan/ rooms", () => {
  it("has no .ts file at its root but cli.ts, and every other file in a room", () => {
    const files = tsFiles("plan");
    expect(files.filter((f) => roomOf(f) === "plan")).toEqual(["plan/cli.ts"]);
    expect(files.filter((f) => rank[roomOf(f)] === undefined)).toEqual([]);
  });

  it("imports one way down, cli → report → model → record, and nothing from tools/", () => {
    const graph = planGraph();
    expect(graph.size).toBeGreaterThan(20);
    expect(wrongWay(graph)).toEqual([]);
  });

  it("has no circle of imports", () => {
    expect(cycle(planGraph())).toBeUndefined();
  });

  it("catches a report file importing the CLI, a record file importing the model, and a circle", () => {
    const graph = new Map(planGraph());
    graph.set("plan/report/render.ts", [...(graph.get("plan/report/render.ts") ?? []), "plan/cli.ts"]);
    graph.set("plan/record/harness.ts", [...(graph.get("plan/record/harness.ts") ?? []), "plan/model/steps.ts"]);
    expect(wrongWay(graph).sort()).toEqual(["plan/record/harness.ts → plan/model/steps.ts", "plan/report/render.ts → plan/cli.ts"].sort());
    expect(cycle(graph)).toBeDefined();
  });

  it("reads relative imports of every form, resolved to files", () => {
    const text = 'import { a } from "../model/steps";\nimport type { B } from "./wire";\nconst c = require("../../stacks/defaults");';
    expect(localImports("plan/record/harness.ts", text)).toEqual(["plan/model/steps.ts", "plan/record/wire.ts", "stacks/defaults.ts"]);
  });

  it("is imported by tools/, which plan/ never imports", () => {
    const tools = tsFiles("tools").flatMap(importsOf);
    expect(tools.some((t) => t.startsWith("plan/"))).toBe(true);
  });
});
