/** One problem in a stack file, located by file and key path. */
export interface ConfigIssue {
  readonly file: string;
  /** Dotted key path from the config key, e.g. `cluster.nodes[2].ip`. */
  readonly path: string;
  readonly message: string;
  /** 1-based line in the file, when the problem could be located there. */
  readonly line?: number;
}

export type PathSegment = string | number;

export function formatPath(segments: readonly PathSegment[]): string {
  return segments.reduce<string>((acc, segment) => {
    if (typeof segment === "number") return `${acc}[${segment}]`;
    return acc === "" ? segment : `${acc}.${segment}`;
  }, "");
}

/** Every problem found in one run, reported together, thrown before any resource is registered. */
export class StackConfigError extends Error {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], headline = "invalid stack configuration") {
    super(`${headline} (${issues.length} problem${issues.length === 1 ? "" : "s"}):\n` + issues.map(formatIssue).join("\n"));
    this.name = "StackConfigError";
    this.issues = issues;
    // A configuration error is the user's to fix in the file it names: its message is all there is to
    // say, so whatever prints `error.stack` (a CLI's last-resort handler) prints no trace either.
    this.stack = `${this.name}: ${this.message}`;
  }

  static isInstance(error: unknown): error is StackConfigError {
    return error instanceof Error && error.name === "StackConfigError" && Array.isArray((error as StackConfigError).issues);
  }
}

/** `file[:line]: key: message` (no key when the problem is not below one). */
export function formatIssue(issue: ConfigIssue): string {
  return `${issue.file}${issue.line === undefined ? "" : `:${issue.line}`}: ${issue.path ? `${issue.path}: ` : ""}${issue.message}`;
}
