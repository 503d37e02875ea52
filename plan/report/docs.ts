import { record } from "../record/harness";
import { planMermaid } from "./render";

export const graphMarkers = { start: "<!-- bring-up-graph:start (npm run schema) -->", end: "<!-- bring-up-graph:end -->" } as const;

/** The page that holds the generated bring-up diagram. */
export const bringUpGraphFile = "docs/architecture.md";

/** The bring-up diagram of docs/architecture.md: the infra stack's recorded graph as Mermaid. */
export async function bringUpGraphMarkdown(): Promise<string> {
  const r = await record({ stack: "infra" });
  if (r.error) throw r.error;
  return "```mermaid\n" + planMermaid(r) + "```";
}
