import type { DiffOutcome, DiffReport } from "../model/diff";
import { formatIssue, type ConfigIssue } from "../../stacks/errors";
import { diffDetailLines, opCounts, rolloutLines } from "./diffRender";

/**
 * `plan --diff --markdown`: the summary of the text form as GitHub-flavoured Markdown for a
 * pull-request comment (refusals first, warnings, counts, versions, roll-out order, protection), then the text
 * detail, code-fenced in a collapsed `<details>`. Same report, same order as diffText.
 */

/**
 * GitHub refuses a comment longer than 65536 characters (the REST API's 422 "Body is too long
 * (maximum is 65536 characters)" on POST /repos/{owner}/{repo}/issues/{number}/comments). A document
 * stays under its budget (counted in code points: at most 4 UTF-8 bytes each) by cutting detail
 * lines, never the summary; the default leaves room for the workflow's own lines around it.
 */
export const defaultMarkdownBudget = 60_000;

export interface MarkdownOptions {
  /** Characters the whole document may take. */
  readonly budget: number;
  /** The command that prints everything, named when detail lines are cut. */
  readonly fullCommand: string;
}

export function diffMarkdown(outcome: DiffOutcome, options: MarkdownOptions): string {
  const summary = summaryMarkdown(outcome.report);
  const detail = diffDetailLines(outcome);
  // The text form opens each section with an empty line; in a code block that is only a gap.
  while (detail[0] === "") detail.shift();
  return [...summary, "", ...detailsBlock(detail, options.budget - length(summary.join("\n")) - 2, options.fullCommand)].join("\n") + "\n";
}

/** A run that failed before anything could be diffed (invalid config): the issues, as the text form lists them. */
export function failedRunMarkdown(stack: string, base: string, issues: readonly ConfigIssue[]): string {
  const lines = [heading(stack, base), "", "**The program refuses the stack's config: nothing to diff.**", ""];
  for (const issue of issues) lines.push(`- ${text(formatIssue(issue))}`);
  return lines.join("\n") + "\n";
}

function heading(stack: string, base: string): string {
  return `### \`plan --diff\` of stack ${code(stack)} against ${code(base)}`;
}

function summaryMarkdown(report: DiffReport): string[] {
  const lines = [heading(report.stack, report.base), ""];
  if (report.errors.length > 0) {
    lines.push(`**Refused: \`pulumi up\` would fail** (${report.errors.length})`, "");
    for (const e of report.errors) lines.push(`- ${text(e.message)}`);
    lines.push("");
  }
  if (report.warnings.length === 0) lines.push("**Warnings:** none", "");
  else {
    lines.push(`**Warnings** (${report.warnings.length})`, "");
    for (const w of report.warnings) lines.push(`- ${text(w.message)}`);
    lines.push("");
  }
  lines.push(`**Changes:** ${text(opCounts(report))}`);
  if (report.versions.length > 0) {
    lines.push("", "| Version of | From → to |", "| --- | --- |");
    for (const v of report.versions) lines.push(`| ${text(v.what)} | ${text(v.from)} → ${text(v.to)} |`);
  }
  if (report.rollout.length > 0) {
    lines.push("", "**Roll-out order** (nodes on one line roll together)", "");
    rolloutLines(report).forEach((line, i) => lines.push(`${i + 1}. ${text(line)}`));
  }
  if (report.protection.length > 0) {
    const changes = report.protection.map((p) => `${p.protect ? "protect" : "unprotect"} ${text(p.name)}`);
    lines.push("", `**Protection** (state only, no provider call): ${changes.join(", ")}`);
  }
  return lines;
}

/**
 * The detail, collapsed and fenced, cut to `room` characters at a line boundary when it is longer;
 * the cut says how many lines went and which command prints them.
 */
function detailsBlock(detail: readonly string[], room: number, fullCommand: string): string[] {
  const fence = "`".repeat(Math.max(3, longestBacktickRun(detail) + 1));
  const open = (shown: number) => [
    `<details><summary>Every step in execution order, the Talos patch lines, the preview's calls (${shownOf(shown, detail.length)})</summary>`,
    "",
    `${fence}text`,
  ];
  const close = (cut: number) => [
    fence,
    ...(cut > 0 ? ["", `${cut} of ${detail.length} lines cut to fit a pull-request comment: ${code(fullCommand)} prints them all.`] : []),
    "",
    "</details>",
  ];
  // The frame at its longest (a cut leaves at most all but one line, so that count is the widest), so whatever is kept fits with it.
  let left = room - length([...open(Math.max(0, detail.length - 1)), ...close(detail.length)].join("\n")) - 1;
  let shown = 0;
  for (const line of detail) {
    const cost = length(line) + 1;
    if (cost > left) break;
    left -= cost;
    shown++;
  }
  return [...open(shown), ...detail.slice(0, shown), ...close(detail.length - shown)];
}

function shownOf(shown: number, total: number): string {
  return shown === total ? `${total} lines` : `${shown} of ${total} lines`;
}

/** Code points: GitHub counts characters, and one astral character is two UTF-16 units. */
function length(s: string): number {
  return Array.from(s).length;
}

function longestBacktickRun(lines: readonly string[]): number {
  return Math.max(0, ...lines.flatMap((l) => (l.match(/`+/g) ?? []).map((run) => run.length)));
}

/**
 * Running text and table cells: every character Markdown or GitHub's HTML would read as syntax is
 * backslash-escaped (CommonMark: any ASCII punctuation may be; GFM splits table cells on unescaped
 * pipes only), so a `|` in a name keeps the table whole and a `<` opens no tag. One line each.
 */
export function text(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, " ").replace(/[\\`*_[\]<>|~&#]/g, (c) => `\\${c}`);
}

/** A code span that holds any text: its backtick fence is longer than any run inside (CommonMark code spans). */
export function code(s: string): string {
  const flat = s.replace(/[\r\n]+/g, " ");
  const fence = "`".repeat(longestBacktickRun([flat]) + 1);
  const pad = flat.startsWith("`") || flat.endsWith("`") ? " " : "";
  return `${fence}${pad}${flat}${pad}${fence}`;
}
