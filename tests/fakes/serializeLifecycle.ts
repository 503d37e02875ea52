/**
 * Run as a child process under ts-node (as `pulumi up` runs a TypeScript program): registers one
 * dynamic resource of the project against Pulumi mocks and writes the inputs the engine would
 * receive, `__provider` included (the text `runtime.serializeFunction` made).
 * Usage: ts-node serializeLifecycle.ts <kind|all> <args.json> <out.json>, kind one of `dynamicKinds`.
 */
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { OnePasswordWriteBack, type WriteBackArgs } from "../../components/secrets/writeBack";
import { ClusterHealth, type ClusterHealthArgs } from "../../components/talos/lifecycle/clusterHealth";
import { ClusterReady, type ClusterReadyArgs } from "../../components/talos/lifecycle/clusterReady";
import { NodeGate, type NodeGateArgs } from "../../components/talos/lifecycle/nodeGate";
import { NodeMembership, type NodeMembershipArgs } from "../../components/talos/lifecycle/nodeMembership";
import { OsUpgrade, type OsUpgradeArgs } from "../../components/talos/lifecycle/osUpgradeResource";
import { VersionGuard, type VersionGuardArgs } from "../../components/talos/lifecycle/versionGuard";

const [kind, argsFile, outFile] = process.argv.slice(2);

/** Every dynamic resource of the project, by the type token it registers. */
const dynamicKinds: Record<string, { type: string; register(args: unknown): void }> = {
  NodeGate: { type: "pulumi-nodejs:dynamic/talos:NodeGate", register: (args) => new NodeGate("gate", args as NodeGateArgs) },
  ClusterReady: {
    type: "pulumi-nodejs:dynamic/talos:ClusterReady",
    register: (args) => new ClusterReady("ready", args as ClusterReadyArgs),
  },
  ClusterHealth: {
    type: "pulumi-nodejs:dynamic/talos:ClusterHealth",
    register: (args) => new ClusterHealth("health", args as ClusterHealthArgs),
  },
  NodeMembership: {
    type: "pulumi-nodejs:dynamic/talos:NodeMembership",
    register: (args) => new NodeMembership("membership", args as NodeMembershipArgs),
  },
  OsUpgrade: { type: "pulumi-nodejs:dynamic/talos:OsUpgrade", register: (args) => new OsUpgrade("upgrade", args as OsUpgradeArgs) },
  VersionGuard: {
    type: "pulumi-nodejs:dynamic/talos:VersionGuard",
    register: (args) => new VersionGuard("guard", args as VersionGuardArgs),
  },
  // Registered without a module or type name: the SDK's default token (dynamic/index.ts).
  OnePasswordWriteBack: {
    type: "pulumi-nodejs:dynamic:Resource",
    register: (args) => new OnePasswordWriteBack("write-back", args as WriteBackArgs),
  },
};

// `all`: the args file maps kinds to args, the out file maps kinds to inputs.
const args = JSON.parse(fs.readFileSync(argsFile as string, "utf8")) as Record<string, unknown>;
const argsByKind = kind === "all" ? args : { [kind ?? ""]: args };
for (const name of Object.keys(argsByKind)) if (!dynamicKinds[name]) throw new Error(`unknown kind ${name}`);
const seen: Record<string, unknown> = {};

pulumi.runtime.setMocks(
  {
    newResource: (resource) => {
      const name = Object.keys(argsByKind).find((k) => dynamicKinds[k]?.type === resource.type);
      if (name) {
        seen[name] = resource.inputs;
        fs.writeFileSync(outFile as string, JSON.stringify(kind === "all" ? seen : resource.inputs));
      }
      return { id: `${resource.name}-id`, state: resource.inputs };
    },
    call: () => ({}),
  },
  "project",
  "stack",
  false,
);

for (const [name, value] of Object.entries(argsByKind)) dynamicKinds[name]?.register(value);
