import { record } from "./harness";
import { planMermaid } from "./render";

export const graphMarkers = { start: "<!-- bring-up-graph:start (npm run schema) -->", end: "<!-- bring-up-graph:end -->" } as const;

/** The README's bring-up diagram: the infra stack's recorded graph as Mermaid. */
export async function bringUpGraphMarkdown(): Promise<string> {
  const r = await record({ stack: "infra" });
  if (r.error) throw r.error;
  return "```mermaid\n" + planMermaid(r) + "```";
}

export function withSection(text: string, markers: { start: string; end: string }, body: string): string {
  const start = text.indexOf(markers.start);
  const end = text.indexOf(markers.end);
  if (start < 0 || end < start) throw new Error(`README.md lacks the markers ${markers.start}`);
  return text.slice(0, start + markers.start.length) + "\n" + body + "\n" + text.slice(end);
}
