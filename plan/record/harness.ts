import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import type { ProgramDeps } from "../../program";
import { defaults } from "../../stacks/defaults";
import { digest, secretDigests } from "./digest";
import { isDynamic, offlineOutputs } from "./dynamicProvider";
import { containsSecure, isSecure, readStackFile } from "../../stacks/stackFile";
import { offlineDeps } from "./offline";
import { invokeModels, resourceModels, stackReferenceModel } from "./providerModel";
import { renew, renewedId, type Renewal } from "./renewal";
import { decode, isSecretWire, SECRET_MASK, wrapSecret, type Json } from "./wire";

/**
 * The recording harness: runs the real program (index.ts) in-process for one stack under Pulumi's
 * mock runtime, with the config of the real `Pulumi.<stack>.yaml`, and keeps everything the program
 * asked the engine to do. Tests assert on it; the offline plan prints it.
 */

export interface RecordedResource {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  readonly custom: boolean;
  readonly parent?: string;
  /** URN of the explicit provider resource, when one was passed. */
  readonly provider?: string;
  /** Inputs with secret values replaced by "[secret]". */
  readonly inputs: Json;
  readonly secretPaths: readonly string[];
  /** Digest of each secret input by its path: tells a changed secret without showing it (plan/record/digest.ts). */
  readonly secretDigests: Readonly<Record<string, string>>;
  /** Everything the resource waits for: explicit dependsOn and every resource whose output feeds an input. */
  readonly dependsOn: readonly string[];
  /** Per input property, the resources its value came from. */
  readonly propertyDependencies: Readonly<Record<string, readonly string[]>>;
  readonly protect: boolean;
  readonly retainOnDelete: boolean;
  readonly deleteBeforeReplace: boolean;
  /** The program set `deleteBeforeReplace` (true or false): it then overrides the provider's choice. */
  readonly deleteBeforeReplaceDefined?: true;
  readonly ignoreChanges: readonly string[];
  readonly replaceOnChanges: readonly string[];
  /** URNs the engine also looks this resource up by in the old state (`aliases`, resolved as the engine does). */
  readonly aliases: readonly string[];
  readonly additionalSecretOutputs: readonly string[];
  readonly customTimeouts?: { create?: string; update?: string; delete?: string };
  readonly version?: string;
  readonly pluginDownloadURL?: string;
  /**
   * Outputs known offline, secrets masked: a dynamic provider's `outputsOf` (plan/record/dynamicProvider.ts),
   * what its create would return and the engine would pass its diff next time. Absent otherwise.
   */
  readonly outputs?: Json;
}

export interface RecordedInvoke {
  readonly token: string;
  readonly args: Json;
  readonly secretPaths: readonly string[];
  readonly secretDigests: Readonly<Record<string, string>>;
  readonly provider?: string;
  readonly version?: string;
  readonly pluginDownloadURL?: string;
}

export interface Recording {
  readonly stack: string;
  readonly project: string;
  /** Registered resources in registration order, without the root Stack. */
  readonly resources: readonly RecordedResource[];
  readonly invokes: readonly RecordedInvoke[];
  /** Stack outputs, secrets masked. */
  readonly outputs: Json;
  readonly outputSecretPaths: readonly string[];
  /** Everything the program logged (pulumi.log.*), secrets never unmasked by the harness. */
  readonly logs: readonly string[];
  /** Why the program failed, if it did; resources registered before the failure are still listed. */
  readonly error?: Error;
  /** Unmasked inputs of a resource, for assertions; the plan never prints these. */
  plainInputs(urn: string): Json;
  /** Unmasked stack outputs, for assertions. */
  plainOutputs(): Json;
}

export interface RecordOptions {
  readonly stack: string;
  /** Folder holding Pulumi.yaml and the stack files; defaults to this repository. */
  readonly projectDir?: string;
  /** Rewrites the stack's cluster value (parsed YAML) before the run: bad-input tests, scaling. */
  readonly cluster?: (raw: unknown) => unknown;
  /** Extra or replaced top-level config keys; `{ secret }` values count as `secure:` ones. */
  readonly config?: Readonly<Record<string, string | { secret: string }>>;
  /** Services the program uses (1Password client, ...); offline placeholders unless a test injects fakes. */
  readonly deps?: ProgramDeps;
  /** Module exporting the program function; this repository's index.ts (whatever projectDir) unless a test needs a fixture. */
  readonly entry?: string;
  /** Run as `pulumi preview` (computed outputs unknown) instead of `pulumi up`. */
  readonly preview?: boolean;
  /**
   * Under `preview`: URNs already in the stack's state and kept by this run (same or updated). The
   * engine knows their ids and outputs, so the SDK runs invokes that wait on them; without this,
   * the preview is a stack's first.
   */
  readonly existing?: ReadonlySet<string>;
  /** Values this run changes upstream (plan/record/renewal.ts), so they show as new wherever they flow. */
  readonly renewal?: Renewal;
  /**
   * Outputs of other stacks, by fully qualified name (`organization/<project>/<stack>`), answering the
   * program's `pulumi.StackReference` reads as the engine's builtin provider does; a reference not
   * given here reads plan/record/providerModel.ts's `stackReferenceModel` (known after apply). `stackOutputsOf`
   * turns a recording into one.
   */
  readonly stackReferences?: Readonly<Record<string, StackOutputs>>;
}

/** A stack's outputs as a StackReference sees them: plain values, and which top-level outputs are secret. */
export interface StackOutputs {
  readonly outputs: Readonly<Record<string, Json>>;
  readonly secretOutputNames: readonly string[];
}

/** The organization offline runs use: a self-managed backend's (`organization/<project>/<stack>`). */
export const offlineOrganization = "organization";

/** What another stack's StackReference to this recording reads. */
export function stackOutputsOf(recording: Recording): StackOutputs {
  const outputs = (recording.plainOutputs() ?? {}) as Record<string, Json>;
  const secret = new Set(recording.outputSecretPaths.map((p) => p.split(/[.[]/)[0] ?? p));
  return { outputs, secretOutputNames: Object.keys(outputs).filter((k) => secret.has(k) || secret.has("")) };
}

const repoRoot = path.resolve(__dirname, "..", "..");

export async function record(options: RecordOptions): Promise<Recording> {
  const projectDir = options.projectDir ?? repoRoot;
  const stackFile = readStackFile(projectDir, options.stack);
  const { project } = stackFile;

  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [key, value] of Object.entries(stackFile.config)) {
    const effective = key === defaults.configKey && options.cluster ? options.cluster(value) : value;
    if (effective === undefined) continue;
    // As the CLI does: a secure: value anywhere inside a key makes the whole key secret.
    if (containsSecure(effective)) secretKeys.push(`${project}:${key}`);
    config[`${project}:${key}`] = typeof effective === "string" ? effective : JSON.stringify(maskSecure(effective));
  }
  for (const [key, value] of Object.entries(options.config ?? {})) {
    config[`${project}:${key}`] = typeof value === "string" ? value : value.secret;
    if (typeof value !== "string") secretKeys.push(`${project}:${key}`);
  }

  const monitor = new RecordingMonitor(project, options.stack, options.existing, options.renewal, options.stackReferences ?? {});
  pulumi.runtime.setAllConfig(config, secretKeys);
  pulumi.runtime.setMockOptions(monitor, project, options.stack, options.preview ?? false, offlineOrganization);
  enableMonitorFeatures(projectDir);

  const logs: string[] = [];
  const stopCollecting = collectStrayFailures();
  // HARNESS_DEBUG=1 leaves the console alone, to see what a failing program printed.
  const restoreConsole = process.env.HARNESS_DEBUG ? () => undefined : captureConsole(logs);
  let error: Error | undefined;
  try {
    // Loaded here, after the runtime is set up, exactly as the Pulumi language host loads it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const main = require(options.entry ?? path.join(repoRoot, "index")) as (deps?: ProgramDeps) => Promise<Record<string, unknown>>;
    // The program's own failure is caught inside the stack's init: thrown through it, the SDK would
    // also reject an internal promise nobody awaits (the language host swallows that; we need not).
    await pulumi.runtime.runInPulumiStack(async () => {
      try {
        return await main(options.deps ?? offlineDeps());
      } catch (e) {
        error = e instanceof Error ? e : new Error(String(e));
        return {};
      }
    });
  } catch (e) {
    error = e instanceof Error ? e : new Error(String(e));
  } finally {
    try {
      await pulumi.runtime.disconnect();
    } catch (e) {
      error ??= e instanceof Error ? e : new Error(String(e));
    }
    restoreConsole();
  }
  // A failure inside an apply or a registration rejects a promise the program never awaits; under
  // `pulumi up` the language host reports it and fails the update, so the recording does too.
  const stray = await stopCollecting();
  if (error === undefined && stray !== undefined) error = stray;
  return monitor.recording(options.stack, project, logs, error);
}

function collectStrayFailures(): () => Promise<Error | undefined> {
  const seen: unknown[] = [];
  const onFailure = (reason: unknown) => void seen.push(reason);
  process.on("unhandledRejection", onFailure);
  process.on("uncaughtException", onFailure);
  return async () => {
    await new Promise((resolve) => setImmediate(resolve));
    process.off("unhandledRejection", onFailure);
    process.off("uncaughtException", onFailure);
    const first = seen[0];
    return first === undefined ? undefined : first instanceof Error ? first : new Error(String(first));
  };
}

/** Offline there is no key to decrypt secure: values; the program sees a placeholder instead. */
function maskSecure(value: unknown): unknown {
  // Named after its ciphertext (not secret: it is in the stack file), so a changed value diffs as changed.
  if (isSecure(value)) return `${SECRET_MASK} ${digest(value.secure)}`;
  if (Array.isArray(value)) return value.map(maskSecure);
  if (typeof value === "object" && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskSecure(v)]));
  return value;
}

/**
 * What `setMocks` switches on; `setMockOptions` (needed to pass our own monitor) resets them. The
 * project folder is what `pulumi.runtime.getRootDirectory()` returns, as the language host's
 * `--root-directory` does under `pulumi up` (the program reads the mesh peers' stack files there).
 */
function enableMonitorFeatures(projectDir: string): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const state = require("@pulumi/pulumi/runtime/state") as {
    getStore(): Record<string, unknown> & { settings: { options: Record<string, unknown> } };
  };
  state.getStore().settings.options.rootDirectory = projectDir;
  Object.assign(state.getStore(), {
    supportsSecrets: true,
    supportsResourceReferences: true,
    supportsOutputValues: false,
    supportsDeletedWith: true,
    supportsAliasSpecs: true,
    supportsTransforms: false,
  });
}

function captureConsole(into: string[]): () => void {
  const original = { log: console.log, info: console.info, warn: console.warn, error: console.error };
  const keep =
    (level: string) =>
    (...args: unknown[]) =>
      into.push(`${level}: ${args.map(String).join(" ")}`);
  console.log = keep("info");
  console.info = keep("info");
  console.warn = keep("warning");
  console.error = keep("error");
  return () => Object.assign(console, original);
}

interface Stored {
  readonly resource: RecordedResource;
  readonly plain: Json;
}

type Callback = (err: unknown, response: unknown) => void;

/**
 * A MockMonitor that records requests instead of answering with user mocks, and behaves like the
 * engine where plain mocks do not: engine-style URNs, inputs echoed back with their secrecy,
 * provider-computed outputs (plan/record/providerModel.ts), additionalSecretOutputs returned as secrets.
 */
class RecordingMonitor extends MockMonitor {
  private readonly stored: Stored[] = [];
  private readonly invokesSeen: RecordedInvoke[] = [];
  private stackOutputs: unknown = {};
  private stackUrn = "";

  constructor(
    private readonly project: string,
    private readonly stackName: string,
    private readonly existing: ReadonlySet<string> | undefined,
    private readonly renewal: Renewal | undefined,
    private readonly stackReferences: Readonly<Record<string, StackOutputs>>,
  ) {
    super({
      newResource: () => {
        throw new Error("RecordingMonitor answers registrations itself");
      },
      call: () => {
        throw new Error("RecordingMonitor answers invokes itself");
      },
    });
  }

  /** As the engine builds URNs: the parent's full type chain, the root stack left out. */
  private urnOf(parent: string, type: string, name: string, project = this.project, stack = this.stackName): string {
    let qualified = type;
    if (parent && parent !== this.stackUrn) {
      const parentType = parent.split("::")[2];
      qualified = `${parentType}$${type}`;
    }
    return `urn:pulumi:${stack}::${project}::${qualified}::${name}`;
  }

  /** Each registered URN's alias URNs, for the children that inherit them. */
  private readonly aliasesOf = new Map<string, readonly string[]>();

  /**
   * As the engine's `collapseAliasToUrn`: an alias spec's blanks default to the resource's own name, type
   * and parent. A child also answers to its URN under each of its parent's aliases, its name's parent
   * prefix renamed with it (`inheritedChildAlias`, pulumi/pulumi sdk/go/pulumi/context.go collapseAliases;
   * the engine does the same for alias specs).
   */
  private aliasUrns(o: ReturnType<RegisterRequest["toObject"]>): string[] {
    const own = (o.aliasesList ?? []).map((alias) => {
      if (alias.urn) return alias.urn;
      const spec = alias.spec ?? {};
      const parent = spec.noparent ? "" : spec.parenturn || o.parent;
      return this.urnOf(parent, spec.type || o.type, spec.name || o.name, spec.project || this.project, spec.stack || this.stackName);
    });
    const parentName = o.parent.slice(o.parent.lastIndexOf("::") + 2);
    const inherited = (this.aliasesOf.get(o.parent) ?? []).map((parentAlias) => {
      const aliasParentName = parentAlias.slice(parentAlias.lastIndexOf("::") + 2);
      const name = o.name.startsWith(parentName) ? aliasParentName + o.name.slice(parentName.length) : o.name;
      return this.urnOf(parentAlias, o.type, name);
    });
    return [...own, ...inherited];
  }

  override async registerResource(req: RegisterRequest, callback: Callback): Promise<void> {
    try {
      const o = req.toObject();
      const urn = this.urnOf(o.parent, o.type, o.name);
      const raw = (req.getObject()?.toJavaScript() ?? {}) as Record<string, unknown>;
      if (o.type === "pulumi:pulumi:Stack") {
        this.stackUrn = urn;
        callback(null, this.response(urn, "", {}));
        return;
      }
      const decoded = decode(raw);
      const aliases = this.aliasUrns(o);
      this.aliasesOf.set(urn, aliases);
      const propertyDependencies: Record<string, string[]> = {};
      for (const [prop, deps] of o.propertydependenciesMap) propertyDependencies[prop] = [...deps.urnsList];
      const timeouts = o.customtimeouts;
      const resource: RecordedResource = {
        urn,
        type: o.type,
        name: o.name,
        custom: o.custom,
        parent: o.parent && o.parent !== this.stackUrn ? o.parent : undefined,
        provider: o.provider ? providerUrn(o.provider) : undefined,
        inputs: decoded.masked,
        secretPaths: decoded.secretPaths,
        secretDigests: secretDigests(raw),
        dependsOn: [...new Set(o.dependenciesList ?? [])],
        propertyDependencies,
        protect: o.protect ?? false,
        retainOnDelete: o.retainondelete ?? false,
        deleteBeforeReplace: o.deletebeforereplace,
        ...(o.deletebeforereplacedefined ? { deleteBeforeReplaceDefined: true as const } : {}),
        ignoreChanges: o.ignorechangesList ?? [],
        replaceOnChanges: o.replaceonchangesList ?? [],
        aliases,
        additionalSecretOutputs: o.additionalsecretoutputsList ?? [],
        customTimeouts:
          timeouts && (timeouts.create || timeouts.update || timeouts.pb_delete)
            ? { create: timeouts.create || undefined, update: timeouts.update || undefined, delete: timeouts.pb_delete || undefined }
            : undefined,
        version: o.version || undefined,
        pluginDownloadURL: o.plugindownloadurl || undefined,
        outputs: this.dynamicOutputs(o.type, decoded.plain),
      };
      this.stored.push({ resource, plain: decoded.plain });

      // IDs are assigned by providers on create; offline they read as a placeholder naming the resource.
      // Under preview the engine knows no id of a resource to be created (an empty id reads as unknown).
      const known = !pulumi.runtime.isDryRun() || (this.existing?.has(urn) ?? false);
      const renewed = this.renewal?.resources.has(urn) ?? false;
      const id = !o.custom || !known ? "" : renewed ? renewedId(o.name) : `(${o.name} id)`;
      const state = o.custom ? this.engineState(o.type, raw, decoded.plain, resource.additionalSecretOutputs, known, renewed) : {};
      this.resources.set(urn, { urn, id, state });
      callback(null, this.response(urn, id, state));
    } catch (err) {
      callback(err, undefined);
    }
  }

  /**
   * Reads: only `pulumi:pulumi:StackReference`, answered as the engine's builtin provider does
   * (pulumi/pulumi pkg/resource/deploy/builtins.go readStackReference: `name`, `outputs` with secret
   * values kept secret, `secretOutputNames`), from the outputs given to the harness, else the model.
   */
  override async readResource(req: ReadRequest, callback: Callback): Promise<void> {
    try {
      const type = req.getType();
      if (type !== "pulumi:pulumi:StackReference") throw new Error(`the recording harness reads no ${type}`);
      const name = req.getId();
      const urn = this.urnOf(req.getParent(), type, req.getName());
      const given = this.stackReferences[name] ?? stackReferenceModel;
      const outputs = Object.fromEntries(
        Object.entries(given.outputs).map(([k, v]) => [k, given.secretOutputNames.includes(k) ? wrapSecret(v) : v]),
      );
      const state: Record<string, unknown> = { name, outputs, secretOutputNames: [...given.secretOutputNames] };
      const inputs = decode({ name });
      this.stored.push({
        resource: {
          urn,
          type,
          name: req.getName(),
          custom: true,
          parent: req.getParent() && req.getParent() !== this.stackUrn ? req.getParent() : undefined,
          inputs: inputs.masked,
          secretPaths: [],
          dependsOn: [],
          propertyDependencies: {},
          protect: false,
          retainOnDelete: false,
          deleteBeforeReplace: false,
          ignoreChanges: [],
          additionalSecretOutputs: [],
          secretDigests: {},
          replaceOnChanges: [],
          aliases: [],
        },
        plain: inputs.plain,
      });
      this.resources.set(urn, { urn, id: name, state });
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const resproto = require("@pulumi/pulumi/proto/resource_pb") as ResourceProto;
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const structproto = require("google-protobuf/google/protobuf/struct_pb") as StructProto;
      const response = new resproto.ReadResourceResponse();
      response.setUrn(urn);
      response.setProperties(structproto.Struct.fromJavaScript(state));
      callback(null, response);
    } catch (err) {
      callback(err, undefined);
    }
  }

  /** Inputs come back as outputs with their secrecy (as the engine does), plus what the provider computes. */
  private engineState(
    type: string,
    raw: Record<string, unknown>,
    plain: Json,
    secretOutputs: readonly string[],
    known: boolean,
    renewed: boolean,
  ): Record<string, unknown> {
    const model = resourceModels[type];
    const modelled = model && known ? model.outputs(plain as Record<string, Json>) : {};
    const computed = renewed ? (renew(modelled) as Record<string, Json>) : modelled;
    const state: Record<string, unknown> = { ...raw, ...computed };
    for (const name of secretOutputs) {
      const value = state[name];
      if (value !== undefined && !isSecretWire(value)) state[name] = wrapSecret(value as Json);
    }
    return state;
  }

  private dynamicOutputs(type: string, plain: Json): Json | undefined {
    if (!isDynamic(type) || pulumi.runtime.isDryRun()) return undefined;
    const outputs = offlineOutputs(plain as Record<string, Json>);
    return outputs === undefined ? undefined : decode(outputs).masked;
  }

  private response(urn: string, id: string, state: Record<string, unknown>) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const resproto = require("@pulumi/pulumi/proto/resource_pb") as ResourceProto;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const structproto = require("google-protobuf/google/protobuf/struct_pb") as StructProto;
    const response = new resproto.RegisterResourceResponse();
    response.setUrn(urn);
    response.setId(id);
    response.setObject(structproto.Struct.fromJavaScript(state));
    return response;
  }

  override async invoke(req: InvokeRequest, callback: Callback): Promise<void> {
    try {
      const token = req.getTok();
      const raw = (req.getArgs()?.toJavaScript() ?? {}) as Record<string, unknown>;
      if (token === "pulumi:pulumi:getResource") {
        await super.invoke(req, callback);
        return;
      }
      // The SDK strips secret markers from invoke arguments before they reach the engine (it marks the
      // result secret itself), so secrecy cannot be read off the wire here: mask by name instead.
      const masked = maskCredentialArgs(raw);
      const decoded = decode(masked);
      const digests = secretDigests(masked);
      this.invokesSeen.push({
        token,
        args: decoded.masked,
        secretPaths: decoded.secretPaths,
        secretDigests: digests,
        provider: req.getProvider() ? providerUrn(req.getProvider()) : undefined,
        version: req.getVersion() || undefined,
        pluginDownloadURL: req.getPlugindownloadurl() || undefined,
      });
      const model = invokeModels[token];
      const args = decoded.plain as Record<string, Json>;
      const result: Record<string, unknown> = model ? model.result(args) : {};
      // Called with arguments the base run did not use: what the provider computes is new.
      if (this.renewal && !this.renewal.invokeSeen(token, decoded.masked, digests)) {
        for (const [k, v] of Object.entries(result)) if (!(k in args)) result[k] = renew(v as Json);
      }
      for (const name of model?.secretOutputs ?? []) {
        if (result[name] !== undefined) result[name] = wrapSecret(result[name] as Json);
      }
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const provproto = require("@pulumi/pulumi/proto/provider_pb") as ProviderProto;
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const structproto = require("google-protobuf/google/protobuf/struct_pb") as StructProto;
      const response = new provproto.InvokeResponse();
      response.setReturn(structproto.Struct.fromJavaScript(result));
      callback(null, response);
    } catch (err) {
      callback(err, undefined);
    }
  }

  override registerResourceOutputs(req: OutputsRequest, callback: Callback): void {
    if (req.getUrn() === this.stackUrn) this.stackOutputs = req.getOutputs()?.toJavaScript() ?? {};
    callback(null, {});
  }

  recording(stack: string, project: string, logs: string[], error: Error | undefined): Recording {
    const outputs = decode(this.stackOutputs);
    const byUrn = new Map(this.stored.map((s) => [s.resource.urn, s.plain]));
    return {
      stack,
      project,
      resources: this.stored.map((s) => s.resource),
      invokes: [...this.invokesSeen],
      outputs: outputs.masked,
      outputSecretPaths: outputs.secretPaths,
      logs,
      error,
      plainInputs: (urn) => {
        const plain = byUrn.get(urn);
        if (plain === undefined) throw new Error(`no resource ${urn} was recorded`);
        return plain;
      },
      plainOutputs: () => outputs.plain,
    };
  }
}

/** Argument names that carry credentials in the providers this program uses (Talos secrets, tokens, keys). */
const credentialArgName = /secret|token|password|private|.key$|certificate|configuration$/i;

function maskCredentialArgs(args: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(args).map(([k, v]) => [k, credentialArgName.test(k) && !isSecretWire(v) ? wrapSecret(v as Json) : v]),
  );
}

/** A provider reference is `<provider urn>::<provider id>`. */
function providerUrn(reference: string): string {
  return reference.slice(0, reference.lastIndexOf("::"));
}

/* Minimal shapes of the generated protobuf classes this file touches (they ship without typings). */
interface StructLike {
  toJavaScript(): unknown;
}
interface RegisterRequest {
  getObject(): StructLike | undefined;
  toObject(): {
    type: string;
    name: string;
    parent: string;
    custom: boolean;
    protect?: boolean;
    dependenciesList?: string[];
    provider: string;
    propertydependenciesMap: Array<[string, { urnsList: string[] }]>;
    deletebeforereplace: boolean;
    deletebeforereplacedefined?: boolean;
    version: string;
    ignorechangesList?: string[];
    replaceonchangesList?: string[];
    aliasesList?: Array<{
      urn?: string;
      spec?: { name?: string; type?: string; stack?: string; project?: string; parenturn?: string; noparent?: boolean };
    }>;
    additionalsecretoutputsList?: string[];
    customtimeouts?: { create: string; update: string; pb_delete: string };
    plugindownloadurl: string;
    retainondelete?: boolean;
  };
}
interface ReadRequest {
  getType(): string;
  getName(): string;
  getId(): string;
  getParent(): string;
}
interface InvokeRequest {
  getTok(): string;
  getArgs(): StructLike | undefined;
  getProvider(): string;
  getVersion(): string;
  getPlugindownloadurl(): string;
}
interface OutputsRequest {
  getUrn(): string;
  getOutputs(): StructLike | undefined;
}
interface ResourceProto {
  RegisterResourceResponse: new () => { setUrn(u: string): void; setId(i: string): void; setObject(o: unknown): void };
  ReadResourceResponse: new () => { setUrn(u: string): void; setProperties(o: unknown): void };
}
interface ProviderProto {
  InvokeResponse: new () => { setReturn(r: unknown): void };
}
interface StructProto {
  Struct: { fromJavaScript(o: unknown): unknown };
}
