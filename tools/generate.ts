import * as fs from "fs";
import * as path from "path";
import { policyCopies, policyCopyText } from "../lib/policyCopy";
import { stackJsonSchema, stackJsonSchemaFile } from "../stacks/jsonSchema";
import { configReferenceFile, withConfigReference, withSection } from "../stacks/keyPaths";
import { clusterFromStackFile, listStacks, projectName, readStackFile } from "../stacks/stackFile";
import { bringUpGraphFile, bringUpGraphMarkdown, graphMarkers } from "../plan/report/docs";
import { clusterFacts, policyConfigFile, policyPackConfig } from "../plan/report/policy";

// `npm run schema` regenerates everything derived from code and the stack files: the editors' JSON
// Schema, the config reference (docs/configuration.md) and bring-up diagram (docs/architecture.md),
// policy/config/<stack>.json, and policy/'s copies of lib/. Tests fail when any of them is stale.
async function main(): Promise<void> {
  const root = path.resolve(__dirname, "..");
  fs.writeFileSync(path.join(root, stackJsonSchemaFile), JSON.stringify(stackJsonSchema(projectName(root)), null, 2) + "\n");
  const reference = path.join(root, configReferenceFile);
  fs.writeFileSync(reference, withConfigReference(fs.readFileSync(reference, "utf8")));
  const graph = path.join(root, bringUpGraphFile);
  fs.writeFileSync(graph, withSection(fs.readFileSync(graph, "utf8"), graphMarkers, await bringUpGraphMarkdown()));
  for (const stack of listStacks(root)) {
    const file = path.join(root, policyConfigFile(stack));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(
      file,
      JSON.stringify(policyPackConfig(clusterFacts(clusterFromStackFile(readStackFile(root, stack)))), null, 2) + "\n",
    );
  }
  for (const { source, copy } of policyCopies) {
    fs.writeFileSync(path.join(root, copy), policyCopyText(source, fs.readFileSync(path.join(root, source), "utf8")));
  }
  console.log(
    `wrote ${stackJsonSchemaFile}, ${configReferenceFile}'s reference, ${bringUpGraphFile}'s diagram, policy/config/*.json and policy/'s copies of lib/`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
