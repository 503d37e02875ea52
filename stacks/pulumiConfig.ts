import * as pulumi from "@pulumi/pulumi";
import { defaults } from "./defaults";
import { StackConfigError, type PathSegment } from "./errors";
import { parseClusterConfig, type ClusterConfig } from "./load";
import { nestedSecureMessage, readStackFile } from "./stackFile";

// Not in the SDK's typings, but exported by the runtime; it is how `Config.getSecret` decides too.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const runtimeConfig = require("@pulumi/pulumi/runtime/config") as { isConfigSecret(fullKey: string): boolean };

/** Reads and validates this stack's cluster from the Pulumi runtime's config (what `pulumi up` passes in). */
export function loadClusterConfig(): ClusterConfig {
  const project = pulumi.getProject();
  const file = `Pulumi.${pulumi.getStack()}.yaml`;
  const config = new pulumi.Config();
  if (runtimeConfig.isConfigSecret(`${project}:${defaults.configKey}`)) {
    throw new StackConfigError([{ file, path: defaults.configKey, message: nestedSecureMessage }]);
  }
  return parseClusterConfig({
    file,
    raw: config.getObject<unknown>(defaults.configKey),
    configKey: (key) => {
      if (config.get(key) === undefined) return "missing";
      return runtimeConfig.isConfigSecret(`${project}:${key}`) ? "secret" : "plaintext";
    },
    lineOf: stackFileLines(pulumi.getStack()),
  });
}

/**
 * Lines of this stack's file in the project folder (the language host's root directory), to point
 * messages at them. Only a locator: the values always come from the engine's config, and a file
 * that cannot be read leaves messages without lines.
 */
function stackFileLines(stack: string): ((path: readonly PathSegment[]) => number | undefined) | undefined {
  try {
    return readStackFile(pulumi.runtime.getRootDirectory(), stack).lineOf;
  } catch {
    return undefined;
  }
}
