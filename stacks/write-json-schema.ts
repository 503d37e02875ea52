import * as fs from "fs";
import * as path from "path";
import { stackJsonSchema, stackJsonSchemaFile } from "./jsonSchema";
import { withConfigReference } from "./keyPaths";
import { projectName } from "./stackFile";

// Regenerates what is derived from the zod schema: the editors' JSON Schema and the README's reference.
const root = path.resolve(__dirname, "..");
fs.writeFileSync(path.join(root, stackJsonSchemaFile), JSON.stringify(stackJsonSchema(projectName(root)), null, 2) + "\n");
const readme = path.join(root, "README.md");
fs.writeFileSync(readme, withConfigReference(fs.readFileSync(readme, "utf8")));
console.log(`wrote ${stackJsonSchemaFile} and the README's configuration reference`);
