import * as fs from "fs";
import * as path from "path";
import { bringUpGraphMarkdown, graphMarkers, withSection } from "../plan/docs";
import { stackJsonSchema, stackJsonSchemaFile } from "./jsonSchema";
import { withConfigReference } from "./keyPaths";
import { projectName } from "./stackFile";

// Regenerates what is derived from code: the editors' JSON Schema, the README's config reference
// and its bring-up diagram. Tests fail when any of them is stale.
async function main(): Promise<void> {
  const root = path.resolve(__dirname, "..");
  fs.writeFileSync(path.join(root, stackJsonSchemaFile), JSON.stringify(stackJsonSchema(projectName(root)), null, 2) + "\n");
  const readme = path.join(root, "README.md");
  const text = withConfigReference(fs.readFileSync(readme, "utf8"));
  fs.writeFileSync(readme, withSection(text, graphMarkers, await bringUpGraphMarkdown()));
  console.log(`wrote ${stackJsonSchemaFile} and the README's reference and diagram`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
