import * as pulumi from "@pulumi/pulumi";
import { versions } from "../../stacks/versions";

/**
 * A typed binding to the Pulumiverse Talos provider plugin (`@pulumiverse/talos` is not on the
 * registry this project installs from). Names follow that package (`machine.Secrets`,
 * `cluster.Kubeconfig`, ...) so moving to it is an import change. Every resource and invoke
 * pins the plugin version and download URL, so `pulumi up` installs the plugin itself.
 *
 * `contract` lists every token and property name used here; tests/talos-contract.test.ts checks it
 * against the provider's schema.
 */

const plugin = { version: versions.talosProvider, pluginDownloadURL: versions.talosProviderDownloadUrl };

export interface ClientConfiguration {
  caCertificate: string;
  clientCertificate: string;
  clientKey: string;
}
/** The cluster PKI and tokens; opaque to this program, passed from Secrets to getConfiguration. */
export type MachineSecrets = Record<string, unknown>;

type Inputs<T> = { [K in keyof T]: pulumi.Input<T[K]> };

/** What a binding uses of the provider schema; `inputs` must name every key of its args type. */
export interface ResourceContract {
  readonly token: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** Outputs this binding returns as secrets (additionalSecretOutputs). */
  readonly secretOutputs: readonly string[];
  /**
   * Keys of the resource's own `timeouts` input this binding may set. The bridged Talos resources ignore
   * Pulumi's custom-timeouts resource option (pulumi-terraform-bridge issue 827: plugin-framework resources), so this
   * input is the only timeout that takes effect; the keys differ per resource.
   */
  readonly timeouts?: readonly string[];
}
export interface FunctionContract {
  readonly token: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
}

/** Lists the args keys at compile time: a key missing from (or extra to) the args type fails `tsc`. */
function keysOf<T>(keys: Record<keyof T, true>): Array<keyof T & string> {
  return Object.keys(keys) as Array<keyof T & string>;
}

type TimeoutKeys<Args> = Args extends { timeouts?: infer T } ? Record<keyof NonNullable<T>, true> : never;

function resource<Args>(
  token: string,
  inputs: Record<keyof Args, true>,
  outputs: readonly string[],
  secretOutputs: readonly string[],
  timeouts?: TimeoutKeys<Args>,
): ResourceContract {
  return { token, inputs: keysOf<Args>(inputs), outputs, secretOutputs, ...(timeouts ? { timeouts: Object.keys(timeouts) } : {}) };
}

/** Builds the property bag: declared inputs from args, every output slot left for the engine to fill. */
function props(contract: ResourceContract, args: object): pulumi.Inputs {
  const bag: pulumi.Inputs = {};
  for (const name of contract.outputs) bag[name] = undefined;
  for (const name of contract.inputs) bag[name] = (args as Record<string, unknown>)[name];
  return bag;
}

function options(contract: ResourceContract, opts: pulumi.CustomResourceOptions | undefined): pulumi.CustomResourceOptions {
  return pulumi.mergeOptions(opts, { ...plugin, additionalSecretOutputs: [...contract.secretOutputs] });
}

function invoke<Result>(contract: FunctionContract, args: object, opts?: pulumi.InvokeOutputOptions): pulumi.Output<Result> {
  const picked: pulumi.Inputs = {};
  for (const name of contract.inputs) picked[name] = (args as Record<string, unknown>)[name];
  return pulumi.runtime.invokeOutput<Result>(contract.token, picked, { ...plugin, ...opts });
}

// ---------------------------------------------------------------- machine

export interface SecretsArgs {
  talosVersion?: string;
}
const secretsContract = resource<SecretsArgs>(
  "talos:machine/secrets:Secrets",
  { talosVersion: true },
  ["machineSecrets", "clientConfiguration", "talosVersion"],
  // Not marked secret at the top level of the schema, but both hold private keys.
  ["machineSecrets", "clientConfiguration"],
);
class Secrets extends pulumi.CustomResource {
  declare readonly machineSecrets: pulumi.Output<MachineSecrets>;
  declare readonly clientConfiguration: pulumi.Output<ClientConfiguration>;
  declare readonly talosVersion: pulumi.Output<string>;
  constructor(name: string, args: Inputs<SecretsArgs> = {}, opts?: pulumi.CustomResourceOptions) {
    super(secretsContract.token, name, props(secretsContract, args), options(secretsContract, opts));
  }
}

export interface ConfigurationApplyArgs {
  node: string;
  endpoint?: string;
  clientConfiguration: ClientConfiguration;
  machineConfigurationInput: string;
  configPatches?: string[];
  applyMode?: "auto" | "no_reboot" | "reboot" | "staged" | "staged_if_needing_reboot";
  onDestroy?: { graceful?: boolean; reboot?: boolean; reset?: boolean };
  timeouts?: { create?: string; update?: string; delete?: string };
}
const configurationApplyContract = resource<ConfigurationApplyArgs>(
  "talos:machine/configurationApply:ConfigurationApply",
  {
    node: true,
    endpoint: true,
    clientConfiguration: true,
    machineConfigurationInput: true,
    configPatches: true,
    applyMode: true,
    onDestroy: true,
    timeouts: true,
  },
  [
    "node",
    "endpoint",
    "machineConfiguration",
    "machineConfigurationInput",
    "configPatches",
    "applyMode",
    "resolvedApplyMode",
    "clientConfiguration",
  ],
  ["machineConfiguration", "machineConfigurationInput", "clientConfiguration"],
  { create: true, update: true, delete: true },
);
class ConfigurationApply extends pulumi.CustomResource {
  declare readonly node: pulumi.Output<string>;
  declare readonly machineConfiguration: pulumi.Output<string>;
  declare readonly resolvedApplyMode: pulumi.Output<string>;
  constructor(name: string, args: Inputs<ConfigurationApplyArgs>, opts?: pulumi.CustomResourceOptions) {
    super(configurationApplyContract.token, name, props(configurationApplyContract, args), options(configurationApplyContract, opts));
  }
}

export interface BootstrapArgs {
  node: string;
  endpoint?: string;
  clientConfiguration: ClientConfiguration;
  timeouts?: { create?: string };
}
const bootstrapContract = resource<BootstrapArgs>(
  "talos:machine/bootstrap:Bootstrap",
  { node: true, endpoint: true, clientConfiguration: true, timeouts: true },
  ["node", "endpoint", "clientConfiguration"],
  ["clientConfiguration"],
  { create: true },
);
class Bootstrap extends pulumi.CustomResource {
  declare readonly node: pulumi.Output<string>;
  constructor(name: string, args: Inputs<BootstrapArgs>, opts?: pulumi.CustomResourceOptions) {
    super(bootstrapContract.token, name, props(bootstrapContract, args), options(bootstrapContract, opts));
  }
}

export interface GetMachineConfigurationArgs {
  clusterName: string;
  clusterEndpoint: string;
  machineType: "controlplane" | "worker";
  machineSecrets: MachineSecrets;
  talosVersion?: string;
  kubernetesVersion?: string;
  configPatches?: string[];
  docs?: boolean;
  examples?: boolean;
}
const getMachineConfigurationContract: FunctionContract = {
  token: "talos:machine/getConfiguration:getConfiguration",
  inputs: keysOf<GetMachineConfigurationArgs>({
    clusterName: true,
    clusterEndpoint: true,
    machineType: true,
    machineSecrets: true,
    talosVersion: true,
    kubernetesVersion: true,
    configPatches: true,
    docs: true,
    examples: true,
  }),
  outputs: ["machineConfiguration"],
};
function getMachineConfigurationOutput(args: Inputs<GetMachineConfigurationArgs>, opts?: pulumi.InvokeOutputOptions) {
  return invoke<{ machineConfiguration: string }>(getMachineConfigurationContract, args, opts);
}

export const machine = { Secrets, ConfigurationApply, Bootstrap, getConfigurationOutput: getMachineConfigurationOutput };

// ---------------------------------------------------------------- client

export interface GetClientConfigurationArgs {
  clusterName: string;
  clientConfiguration: ClientConfiguration;
  endpoints?: string[];
  nodes?: string[];
}
const getClientConfigurationContract: FunctionContract = {
  token: "talos:client/getConfiguration:getConfiguration",
  inputs: keysOf<GetClientConfigurationArgs>({ clusterName: true, clientConfiguration: true, endpoints: true, nodes: true }),
  outputs: ["talosConfig"],
};
export const client = {
  getConfigurationOutput: (args: Inputs<GetClientConfigurationArgs>, opts?: pulumi.InvokeOutputOptions) =>
    invoke<{ talosConfig: string }>(getClientConfigurationContract, args, opts),
};

// ---------------------------------------------------------------- cluster

export interface KubeconfigArgs {
  node: string;
  endpoint?: string;
  clientConfiguration: ClientConfiguration;
  timeouts?: { create?: string; update?: string };
}
const kubeconfigContract = resource<KubeconfigArgs>(
  "talos:cluster/kubeconfig:Kubeconfig",
  { node: true, endpoint: true, clientConfiguration: true, timeouts: true },
  ["kubeconfigRaw", "kubernetesClientConfiguration", "node", "endpoint", "clientConfiguration"],
  ["kubeconfigRaw", "kubernetesClientConfiguration", "clientConfiguration"],
  { create: true, update: true },
);
class Kubeconfig extends pulumi.CustomResource {
  declare readonly kubeconfigRaw: pulumi.Output<string>;
  declare readonly kubernetesClientConfiguration: pulumi.Output<ClientConfiguration & { host: string }>;
  constructor(name: string, args: Inputs<KubeconfigArgs>, opts?: pulumi.CustomResourceOptions) {
    super(kubeconfigContract.token, name, props(kubeconfigContract, args), options(kubeconfigContract, opts));
  }
}

// Cluster health is no invoke here: an invoke runs on every `pulumi up`, a health wait should run only
// when something changed (lifecycle/clusterReady.ts, lifecycle/clusterHealth.ts).
export const cluster = { Kubeconfig };

// ---------------------------------------------------------------- imageFactory

export interface SchematicArgs {
  /** The schematic as YAML (customization.extraKernelArgs, customization.systemExtensions). */
  schematic: string;
}
const schematicContract = resource<SchematicArgs>("talos:imageFactory/schematic:Schematic", { schematic: true }, ["schematic"], []);
/** The Image Factory schematic; its id (the resource id) is the content hash the installer URL uses. */
class Schematic extends pulumi.CustomResource {
  declare readonly schematic: pulumi.Output<string>;
  constructor(name: string, args: Inputs<SchematicArgs>, opts?: pulumi.CustomResourceOptions) {
    super(schematicContract.token, name, props(schematicContract, args), options(schematicContract, opts));
  }
}

export interface GetUrlsArgs {
  schematicId: string;
  talosVersion: string;
  platform?: string;
  architecture?: string;
}
const getUrlsContract: FunctionContract = {
  token: "talos:imageFactory/getUrls:getUrls",
  inputs: keysOf<GetUrlsArgs>({ schematicId: true, talosVersion: true, platform: true, architecture: true }),
  outputs: ["urls"],
};
export const imageFactory = {
  Schematic,
  getUrlsOutput: (args: Inputs<GetUrlsArgs>, opts?: pulumi.InvokeOutputOptions) =>
    invoke<{ urls: { installer: string; iso: string; pxe: string; diskImage: string } }>(getUrlsContract, args, opts),
};

/** Everything this binding uses of the provider, for the contract test. */
export const contract = {
  resources: [secretsContract, configurationApplyContract, bootstrapContract, kubeconfigContract, schematicContract],
  functions: [getMachineConfigurationContract, getClientConfigurationContract, getUrlsContract],
  plugin,
} as const;
