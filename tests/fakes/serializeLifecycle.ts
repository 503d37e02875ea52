/**
 * Run as a child process under ts-node (as `pulumi up` runs a TypeScript program): registers one
 * lifecycle resource (NodeGate, ClusterReady, ClusterHealth) against Pulumi mocks and writes the
 * inputs the engine would receive, `__provider` included (the text `runtime.serializeFunction` made).
 * Usage: ts-node serializeLifecycle.ts <NodeGate|ClusterReady|ClusterHealth> <args.json> <out.json>
 */
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { ClusterHealth, type ClusterHealthArgs } from "../../components/talos/lifecycle/clusterHealth";
import { ClusterReady, type ClusterReadyArgs } from "../../components/talos/lifecycle/clusterReady";
import { NodeGate, type NodeGateArgs } from "../../components/talos/lifecycle/nodeGate";

const [kind, argsFile, outFile] = process.argv.slice(2);

pulumi.runtime.setMocks(
  {
    newResource: (resource) => {
      if (resource.type === `pulumi-nodejs:dynamic/talos:${kind}`) fs.writeFileSync(outFile, JSON.stringify(resource.inputs));
      return { id: `${resource.name}-id`, state: resource.inputs };
    },
    call: () => ({}),
  },
  "project",
  "stack",
  false,
);

const args: unknown = JSON.parse(fs.readFileSync(argsFile, "utf8"));
if (kind === "NodeGate") new NodeGate("gate", args as NodeGateArgs);
else if (kind === "ClusterReady") new ClusterReady("ready", args as ClusterReadyArgs);
else if (kind === "ClusterHealth") new ClusterHealth("health", args as ClusterHealthArgs);
else throw new Error(`unknown kind ${kind}`);
