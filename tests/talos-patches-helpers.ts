import Ajv2020, { type ErrorObject, type ValidateFunction } from "ajv/dist/2020";
import { parseAllDocuments } from "yaml";
import {
  isTypedDoc,
  mergeDocuments,
  nodePatches,
  renderPatches,
  talosContracts,
  type ConfigDocument,
  type PatchDoc,
  type TalosContract,
} from "../components/talos/patches";
import type { ClusterConfig } from "../stacks/load";
import type { ClusterNode } from "../stacks/schema";
import { fixture, readContract, stacks } from "./support";

/** Shared by the tests/talos-patches*.test.ts files: schemas, rendering round trip, node variants. */

interface TalosSchema {
  $id: string;
  $defs: Record<string, { properties?: Record<string, { enum?: unknown[] }> }>;
}

const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
const schemas = new Map<TalosContract, TalosSchema>(
  talosContracts.map((c) => {
    const schema = readContract<TalosSchema>(`talos/config.schema.${c}.json`);
    ajv.addSchema(schema);
    return [c, schema];
  }),
);

function schemaOf(contract: TalosContract): TalosSchema {
  const schema = schemas.get(contract);
  if (!schema) throw new Error(`no schema for ${contract}`);
  return schema;
}

function compiled(contract: TalosContract, def?: string): ValidateFunction {
  const ref = `${schemaOf(contract).$id}${def === undefined ? "" : `#/$defs/${def}`}`;
  const validate = ajv.getSchema(ref);
  if (!validate) throw new Error(`no schema ${ref}`);
  return validate;
}

/**
 * The `$defs` entry the schema's top-level `oneOf` selects for a typed document: the one whose
 * `apiVersion` and `kind` enums hold the document's.
 */
export function kindDef(contract: TalosContract, apiVersion: string, kind: string): string | undefined {
  return Object.entries(schemaOf(contract).$defs).find(
    ([, def]) => def.properties?.kind?.enum?.includes(kind) && def.properties?.apiVersion?.enum?.includes(apiVersion),
  )?.[0];
}

/**
 * Schema errors of one document under a contract: a typed document against its kind's entry and
 * against the whole schema (whose `oneOf` must then pick exactly that entry), a v1alpha1 document
 * against `v1alpha1.Config`. An empty list means valid.
 */
export function schemaErrors(contract: TalosContract, doc: ConfigDocument): Array<ErrorObject | string> {
  if (!isTypedDoc(doc)) {
    const validate = compiled(contract, "v1alpha1.Config");
    return validate(doc) ? [] : [...(validate.errors ?? [])];
  }
  const def = kindDef(contract, doc.apiVersion, doc.kind);
  if (def === undefined) return [`Talos ${contract} has no document ${doc.apiVersion}/${doc.kind}`];
  const byKind = compiled(contract, def);
  if (!byKind(doc)) return [...(byKind.errors ?? [])];
  const root = compiled(contract);
  return root(doc) ? [] : [...(root.errors ?? [])];
}

/** A node's patches as Talos receives them: rendered to YAML, then parsed back, one list per patch. */
export function renderedPatches(cluster: ClusterConfig, node: ClusterNode, contract: TalosContract): ConfigDocument[][] {
  return renderPatches(nodePatches(cluster, node, "abc123", contract)).map((text) =>
    parseAllDocuments(text).map((d) => {
      if (d.errors.length > 0) throw new Error(d.errors.join("; "));
      return d.toJS() as ConfigDocument;
    }),
  );
}

/**
 * The generated configuration the patches merge into, reduced to what matters here: the v1alpha1
 * document and, from 1.12, the `HostnameConfig { auto: stable }` that generate adds
 * (pkg/machinery/config/generate/network.go at siderolabs/talos v1.13.0).
 */
export function generatedBase(contract: TalosContract, role: string): ConfigDocument[] {
  const v1alpha1 = { version: "v1alpha1", machine: { type: role } } as PatchDoc;
  return contract === "v1.11" ? [v1alpha1] : [v1alpha1, { apiVersion: "v1alpha1", kind: "HostnameConfig", auto: "stable" }];
}

/** A node's whole configuration after every patch is merged into the generated base. */
export function mergedConfig(cluster: ClusterConfig, node: ClusterNode, contract: TalosContract): ConfigDocument[] {
  return mergeDocuments(generatedBase(contract, node.role), renderedPatches(cluster, node, contract).flat());
}

export const load = (stack: string): ClusterConfig => fixture(stack);

export function firstControlPlane(cluster: ClusterConfig): ClusterNode {
  const node = cluster.nodes.find((n) => n.role === "controlplane");
  if (!node) throw new Error("fixture without a control plane");
  return node;
}

/** Nodes built in code from the infra fixture, for settings the fixtures do not exercise. */
export function variants(): Array<{ label: string; cluster: ClusterConfig; node: ClusterNode }> {
  const cluster = load("infra");
  const cp = firstControlPlane(cluster);
  const worker: ClusterNode = {
    ...cp,
    name: "infra-w1",
    ip: "10.25.11.40",
    role: "worker",
    labels: { gpu: "true" },
    taints: [
      { key: "gpu", value: "true", effect: "NoSchedule" },
      { key: "dedicated", effect: "NoExecute" },
    ],
  };
  return [
    { label: "worker with labels and taints", cluster, node: worker },
    { label: "per-node install disk", cluster, node: { ...cp, installDisk: { disk: "/dev/nvme0n1" } } },
    { label: "exact NIC address, no driver", cluster, node: { ...cp, nics: { hardwareAddr: "f8:f2:1e:20:57:a0" } } },
    { label: "spegel off", cluster: { ...cluster, spegel: { enabled: false } }, node: cp },
    {
      label: "two VLANs, one without MTU",
      cluster: { ...cluster, network: { ...cluster.network, vlans: [{ id: 2512, mtu: 1500, routeMetric: 4096 }, { id: 30 }] } },
      node: cp,
    },
    {
      label: "no VLAN, no sysctls",
      cluster: { ...cluster, network: { ...cluster.network, vlans: [] }, talos: { ...cluster.talos, sysctls: {} } },
      node: cp,
    },
  ];
}

/** Every fixture node and every variant, labelled. */
export function allNodes(): Array<{ label: string; cluster: ClusterConfig; node: ClusterNode }> {
  return [
    ...stacks.flatMap((stack) => {
      const cluster = load(stack);
      return cluster.nodes.map((node) => ({ label: `${stack}/${node.name}`, cluster, node }));
    }),
    ...variants(),
  ];
}
