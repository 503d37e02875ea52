import * as fs from "fs";
import * as path from "path";
import { bringUpGraphMarkdown, graphMarkers, withSection } from "../plan/docs";
import { stackJsonSchema, stackJsonSchemaFile } from "./jsonSchema";
import { withConfigReference } from "./keyPaths";
import { clusterFromStackFile, listStacks, projectName, readStackFile } from "./stackFile";
import { clusterFacts, policyConfigFile, policyPackConfig } from "../plan/policy";

// Regenerates what is derived from code: the editors' JSON Schema, the README's config reference
// and its bring-up diagram. Tests fail when any of them is stale.
async function main(): Promise<void> {
  const root = path.resolve(__dirname, "..");
  fs.writeFileSync(path.join(root, stackJsonSchemaFile), JSON.stringify(stackJsonSchema(projectName(root)), null, 2) + "\n");
  const readme = path.join(root, "README.md");
  const text = withConfigReference(fs.readFileSync(readme, "utf8"));
  fs.writeFileSync(readme, withSection(text, graphMarkers, await bringUpGraphMarkdown()));
  for (const stack of listStacks(root)) {
    const file = path.join(root, policyConfigFile(stack));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(policyPackConfig(clusterFacts(clusterFromStackFile(readStackFile(root, stack)))), null, 2) + "\n");
  }
  console.log(`wrote ${stackJsonSchemaFile}, the README's reference and diagram, and policy/config/*.json`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
