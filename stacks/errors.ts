/** One problem in a stack file, located by file and key path. */
export interface ConfigIssue {
  readonly file: string;
  /** Dotted key path from the config key, e.g. `cluster.nodes[2].ip`. */
  readonly path: string;
  readonly message: string;
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
  }

  static isInstance(error: unknown): error is StackConfigError {
    return error instanceof Error && error.name === "StackConfigError" && Array.isArray((error as StackConfigError).issues);
  }
}

export function formatIssue(issue: ConfigIssue): string {
  return `${issue.file}: ${issue.path}: ${issue.message}`;
}
