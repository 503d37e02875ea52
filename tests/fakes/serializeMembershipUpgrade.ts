/**
 * Run as a child process under ts-node (as `pulumi up` runs a TypeScript program): registers one
 * lifecycle dynamic resource (NodeMembership or OsUpgrade) against Pulumi mocks and writes what the
 * engine would receive: the inputs (`__provider` text included, secrets as secret values) and the
 * RegisterResource request's `additionalSecretOutputs`, read off the real request object.
 * Usage: ts-node serializeMembershipUpgrade.ts <NodeMembership|OsUpgrade> <args.json> <out.json>
 */
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { NodeMembership, type NodeMembershipArgs } from "../../components/talos/lifecycle/nodeMembership";
import { OsUpgrade, type OsUpgradeArgs } from "../../components/talos/lifecycle/osUpgradeResource";

const [kind, argsFile, outFile] = process.argv.slice(2);

const seen: { inputs?: unknown; additionalSecretOutputs?: string[] } = {};

pulumi.runtime.setMocks(
  {
    newResource: (resource) => {
      if (resource.type === `pulumi-nodejs:dynamic/talos:${kind}`) seen.inputs = resource.inputs;
      return { id: `${resource.name}-id`, state: resource.inputs };
    },
    call: () => ({}),
  },
  "project",
  "stack",
  false,
);

interface RegisterRequest {
  getType(): string;
  getAdditionalsecretoutputsList(): string[];
}
type Callback = (error: unknown, response: unknown) => void;
type Monitor = { registerResource(req: RegisterRequest, callback: Callback): void };

const monitor = pulumi.runtime.getMonitor() as unknown as Monitor;
const register = monitor.registerResource.bind(monitor);
monitor.registerResource = (req, callback) => {
  if (req.getType() !== `pulumi-nodejs:dynamic/talos:${kind}`) return register(req, callback);
  seen.additionalSecretOutputs = req.getAdditionalsecretoutputsList();
  register(req, (error, response) => {
    fs.writeFileSync(outFile, JSON.stringify(seen));
    callback(error, response);
  });
};

const args = JSON.parse(fs.readFileSync(argsFile, "utf8")) as unknown;
if (kind === "NodeMembership") new NodeMembership("membership", args as NodeMembershipArgs);
else new OsUpgrade("upgrade", args as OsUpgradeArgs);
