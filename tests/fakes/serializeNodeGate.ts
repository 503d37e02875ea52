/**
 * Run as a child process under ts-node (as `pulumi up` runs a TypeScript program): registers a NodeGate
 * against Pulumi mocks and writes the inputs the engine would receive, `__provider` included: the
 * provider text that `pulumi.dynamic.Resource` produced with `runtime.serializeFunction`.
 * Usage: ts-node serializeNodeGate.ts <args.json> <out.json>
 */
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { NodeGate, type NodeGateArgs } from "../../components/talos/lifecycle/nodeGate";

const [argsFile, outFile] = process.argv.slice(2);

pulumi.runtime.setMocks(
  {
    newResource: (resource) => {
      if (resource.type === "pulumi-nodejs:dynamic/talos:NodeGate") fs.writeFileSync(outFile, JSON.stringify(resource.inputs));
      return { id: `${resource.name}-id`, state: resource.inputs };
    },
    call: () => ({}),
  },
  "project",
  "stack",
  false,
);

const args = JSON.parse(fs.readFileSync(argsFile, "utf8")) as NodeGateArgs;
new NodeGate("gate", args);
