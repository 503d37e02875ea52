import { z } from "zod";
import { defaults } from "./defaults";
import { clusterSchema } from "./schema";

/**
 * JSON Schema for a whole `Pulumi.<stack>.yaml`, generated from the zod schema, so editors
 * (yaml-language-server) check stack files as they are typed. Regenerate with `npm run schema`.
 */
export function stackJsonSchema(project: string): Record<string, unknown> {
  const cluster = z.toJSONSchema(clusterSchema, { io: "input", unrepresentable: "any" });
  delete cluster.$schema;
  const secure = { type: "object", properties: { secure: { type: "string" } }, required: ["secure"], additionalProperties: false };
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    title: `Pulumi stack file of ${project}`,
    type: "object",
    properties: {
      config: {
        type: "object",
        properties: { [`${project}:${defaults.configKey}`]: cluster },
        required: [`${project}:${defaults.configKey}`],
        // Credentials referenced as config:<key> (secure: values) and provider settings.
        additionalProperties: { anyOf: [{ type: "string" }, { type: "number" }, { type: "boolean" }, secure] },
      },
      secretsprovider: { type: "string" },
      encryptedkey: { type: "string" },
      encryptionsalt: { type: "string" },
    },
    required: ["config"],
  };
}

export const stackJsonSchemaFile = "stacks/stack.schema.json";
