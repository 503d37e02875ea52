import { invokeModels } from "../plan/record/providerModel";
import { contract, type FunctionContract, type ResourceContract } from "../components/talos/provider";
import { versions } from "../stacks/versions";
import { readContract, recordFixture } from "./support";

interface SchemaProperty {
  secret?: boolean;
  $ref?: string;
  items?: SchemaProperty;
  additionalProperties?: SchemaProperty;
}
interface ProviderSchema {
  resources: Record<
    string,
    { inputProperties?: Record<string, SchemaProperty>; properties?: Record<string, SchemaProperty>; requiredInputs?: string[] }
  >;
  functions: Record<
    string,
    {
      inputs: { properties?: Record<string, SchemaProperty>; required?: string[] };
      outputs: { properties?: Record<string, SchemaProperty> };
    }
  >;
  types: Record<string, { properties?: Record<string, SchemaProperty> }>;
}

/** A property is secret if the schema marks it, or any property of its type (transitively) is. */
function holdsSecret(schema: ProviderSchema, prop: SchemaProperty, seen = new Set<string>()): boolean {
  if (prop.secret) return true;
  const nested = prop.items ?? prop.additionalProperties;
  if (nested && holdsSecret(schema, nested, seen)) return true;
  const ref = prop.$ref?.replace(/^#\/?types\//, "");
  if (!ref || seen.has(ref)) return false;
  seen.add(ref);
  return Object.values(schema.types[ref]?.properties ?? {}).some((p) => holdsSecret(schema, p, seen));
}

/** Problems of one binding entry against the provider schema; empty when it matches. */
export function resourceProblems(schema: ProviderSchema, c: ResourceContract): string[] {
  const r = schema.resources[c.token];
  if (!r) return [`${c.token}: no such resource`];
  const problems = [
    ...c.inputs.filter((i) => !(i in (r.inputProperties ?? {}))).map((i) => `${c.token}: unknown input ${i}`),
    ...c.outputs.filter((o) => !(o in (r.properties ?? {}))).map((o) => `${c.token}: unknown output ${o}`),
    ...(r.requiredInputs ?? []).filter((i) => !c.inputs.includes(i)).map((i) => `${c.token}: required input ${i} is not bound`),
  ];
  if (c.timeouts) {
    const ref = r.inputProperties?.timeouts?.$ref?.replace(/^#\/?types\//, "");
    const allowed = Object.keys((ref && schema.types[ref]?.properties) || {});
    if (!ref) problems.push(`${c.token}: binds timeouts keys but the resource has no timeouts input`);
    else problems.push(...c.timeouts.filter((k) => !allowed.includes(k)).map((k) => `${c.token}: unknown timeouts key ${k}`));
  }
  for (const [name, prop] of Object.entries(r.properties ?? {})) {
    if (c.outputs.includes(name) && holdsSecret(schema, prop) && !c.secretOutputs.includes(name))
      problems.push(`${c.token}: output ${name} holds secrets but is not in additionalSecretOutputs`);
  }
  return problems;
}

export function functionProblems(schema: ProviderSchema, c: FunctionContract): string[] {
  const f = schema.functions[c.token];
  if (!f) return [`${c.token}: no such function`];
  return [
    ...c.inputs.filter((i) => !(i in (f.inputs.properties ?? {}))).map((i) => `${c.token}: unknown input ${i}`),
    ...c.outputs.filter((o) => !(o in (f.outputs.properties ?? {}))).map((o) => `${c.token}: unknown output ${o}`),
    ...(f.inputs.required ?? []).filter((i) => !c.inputs.includes(i)).map((i) => `${c.token}: required input ${i} is not bound`),
  ];
}

describe("Talos provider binding against the provider schema 0.8.1", () => {
  const schema = readContract<ProviderSchema>(`pulumi-talos/schema.v${versions.talosProvider}.json`);

  it("binds the tokens the design names", () => {
    expect([...contract.resources.map((r) => r.token), ...contract.functions.map((f) => f.token)].sort()).toEqual(
      [
        "talos:machine/secrets:Secrets",
        "talos:machine/configurationApply:ConfigurationApply",
        "talos:machine/bootstrap:Bootstrap",
        "talos:cluster/kubeconfig:Kubeconfig",
        "talos:imageFactory/schematic:Schematic",
        "talos:machine/getConfiguration:getConfiguration",
        "talos:client/getConfiguration:getConfiguration",
        "talos:imageFactory/getUrls:getUrls",
      ].sort(),
    );
  });

  it("binds the timeouts keys of every resource that has a timeouts input", () => {
    expect(Object.fromEntries(contract.resources.filter((c) => c.timeouts).map((c) => [c.token, c.timeouts]))).toEqual({
      "talos:machine/configurationApply:ConfigurationApply": ["create", "update", "delete"],
      "talos:machine/bootstrap:Bootstrap": ["create"],
      "talos:cluster/kubeconfig:Kubeconfig": ["create", "update"],
    });
  });

  it.each(contract.resources.map((r) => [r.token, r] as const))(
    "%s: names, required inputs, secrets and timeouts keys match",
    (_token, c) => {
      expect(resourceProblems(schema, c)).toEqual([]);
    },
  );

  it.each(contract.functions.map((f) => [f.token, f] as const))("%s: names and required inputs match", (_token, c) => {
    expect(functionProblems(schema, c)).toEqual([]);
  });

  it("fails on a misspelt property, a missing required input and an undeclared secret", () => {
    const apply = contract.resources.find((r) => r.token.endsWith("ConfigurationApply"))!;
    expect(resourceProblems(schema, { ...apply, inputs: [...apply.inputs, "configPatchs"] })).toContain(
      "talos:machine/configurationApply:ConfigurationApply: unknown input configPatchs",
    );
    expect(resourceProblems(schema, { ...apply, inputs: apply.inputs.filter((i) => i !== "node") })).toContain(
      "talos:machine/configurationApply:ConfigurationApply: required input node is not bound",
    );
    expect(resourceProblems(schema, { ...apply, timeouts: ["create", "read"] })).toEqual([
      "talos:machine/configurationApply:ConfigurationApply: unknown timeouts key read",
    ]);
    const bootstrap = contract.resources.find((r) => r.token.endsWith("Bootstrap"))!;
    expect(resourceProblems(schema, { ...bootstrap, timeouts: ["create", "update"] })).toEqual([
      "talos:machine/bootstrap:Bootstrap: unknown timeouts key update",
    ]);
    expect(resourceProblems(schema, { ...apply, secretOutputs: [] })).toContain(
      "talos:machine/configurationApply:ConfigurationApply: output machineConfiguration holds secrets but is not in additionalSecretOutputs",
    );
  });

  it("the offline model returns exactly the invoke results the schema marks secret", () => {
    for (const [token, model] of Object.entries(invokeModels).filter(([t]) => t.startsWith("talos:"))) {
      const outputs = schema.functions[token]?.outputs.properties ?? {};
      const secret = Object.entries(outputs)
        .filter(([, p]) => p.secret)
        .map(([n]) => n);
      expect({ token, secret: [...model.secretOutputs].sort() }).toEqual({ token, secret: secret.sort() });
    }
  });
});

describe("every Talos resource and invoke pins the plugin", () => {
  it.each(["infra", "apps"])("%s", async (stack) => {
    const r = await recordFixture({ stack });
    const talos = [...r.resources.filter((x) => x.type.startsWith("talos:")), ...r.invokes.filter((i) => i.token.startsWith("talos:"))];
    expect(talos.length).toBeGreaterThan(0);
    for (const item of talos)
      expect({ version: item.version, url: item.pluginDownloadURL }).toEqual({
        version: versions.talosProvider,
        url: "github://api.github.com/pulumiverse",
      });
  });
});
