import { caOutputs } from "../../components/clustermesh/clusterMesh";
import { UNKNOWN, type Json } from "./wire";

/**
 * What each provider would compute, for the offline run: the outputs a resource gains on create and
 * the results of invokes, as UNKNOWN placeholders shaped like the real ones. The values are never
 * real; their shape lets the program run on. Which Talos invoke results are secret is checked
 * against the provider schema by tests/talos-contract.test.ts.
 */
export interface ResourceModel {
  /** Outputs the provider adds to the inputs on create. */
  readonly outputs: (inputs: Record<string, Json>) => Record<string, Json>;
}

export interface InvokeModel {
  readonly result: (args: Record<string, Json>) => Record<string, Json>;
  /** Result fields the provider returns as secrets. */
  readonly secretOutputs: readonly string[];
}

const clientConfiguration = { caCertificate: UNKNOWN, clientCertificate: UNKNOWN, clientKey: UNKNOWN };
/** A base64 PEM block around the placeholder: the program decodes the Kubernetes CA (adminKubeconfig.ts) and the OS CA (osReaderCertificate.ts). */
const pemPlaceholder = (label: string) => Buffer.from(`-----BEGIN ${label}-----\n${UNKNOWN}\n-----END ${label}-----\n`).toString("base64");

export const resourceModels: Readonly<Record<string, ResourceModel>> = {
  "talos:machine/secrets:Secrets": {
    outputs: () => ({
      machineSecrets: {
        certs: {
          k8s: { cert: pemPlaceholder("CERTIFICATE"), key: pemPlaceholder("EC PRIVATE KEY") },
          // The OS CA the os:reader certificate is signed with (osReaderCertificate.ts); contents are placeholders.
          os: { cert: pemPlaceholder("CERTIFICATE"), key: pemPlaceholder("PRIVATE KEY") },
        },
        cluster: UNKNOWN,
        secrets: UNKNOWN,
        trustdinfo: UNKNOWN,
      },
      clientConfiguration,
    }),
  },
  "talos:machine/configurationApply:ConfigurationApply": {
    // resolved_apply_mode equals apply_mode unless that is staged_if_needing_reboot (terraform-provider-talos
    // v0.11.0, the one pulumi-talos 0.8.1 bridges: pkg/talos/talos_machine_configuration_apply_resource.go, handleRebootPrevention).
    outputs: (inputs) => ({
      machineConfiguration: UNKNOWN,
      resolvedApplyMode: inputs.applyMode === undefined || inputs.applyMode === "staged_if_needing_reboot" ? UNKNOWN : inputs.applyMode,
    }),
  },
  "cloudflare:index/accountToken:AccountToken": { outputs: () => ({ value: UNKNOWN }) },
  "random:index/randomBytes:RandomBytes": { outputs: () => ({ base64: UNKNOWN, hex: UNKNOWN }) },
  // The ClusterMesh CA (components/clustermesh): key and certificate exist only after create.
  "tls:index/privateKey:PrivateKey": { outputs: () => ({ privateKeyPem: UNKNOWN, publicKeyPem: UNKNOWN }) },
  "tls:index/selfSignedCert:SelfSignedCert": { outputs: () => ({ certPem: UNKNOWN, validityEndTime: UNKNOWN }) },
  // The lifecycle resources' Kubernetes credential (components/talos/lifecycle/adminKubeconfig.ts).
  "tls:index/certRequest:CertRequest": { outputs: () => ({ certRequestPem: UNKNOWN }) },
  "tls:index/locallySignedCert:LocallySignedCert": { outputs: () => ({ certPem: UNKNOWN, validityEndTime: UNKNOWN }) },
  "talos:cluster/kubeconfig:Kubeconfig": {
    outputs: () => ({ kubeconfigRaw: UNKNOWN, kubernetesClientConfiguration: { ...clientConfiguration, host: UNKNOWN } }),
  },
};

/**
 * What a `pulumi.StackReference` reads when the referenced stack's recording is not given to the
 * harness: the outputs this program's stacks export to each other (the ClusterMesh CA), unknown,
 * secret where the owner exports them as secrets. (`pulumi up` never sees unknown stack outputs, so
 * offline an unanswered reference cannot simply read as unknown.)
 */
export const stackReferenceModel: { outputs: Record<string, Json>; secretOutputNames: string[] } = {
  outputs: { [caOutputs.cert]: UNKNOWN, [caOutputs.key]: UNKNOWN },
  secretOutputNames: [caOutputs.key],
};

export const invokeModels: Readonly<Record<string, InvokeModel>> = {
  "talos:machine/getConfiguration:getConfiguration": {
    result: (args) => ({ ...args, machineConfiguration: UNKNOWN }),
    secretOutputs: ["machineConfiguration"],
  },
  "talos:client/getConfiguration:getConfiguration": {
    result: (args) => ({ ...args, talosConfig: UNKNOWN }),
    secretOutputs: ["talosConfig"],
  },
  // The provider formats these from its factory base URL (default https://factory.talos.dev) without a request
  // (terraform-provider-talos pkg/talos/talos_image_factory_urls_data_source.go); modelled for platform metal.
  "talos:imageFactory/getUrls:getUrls": {
    result: (args) => {
      const [id, version, arch] = [String(args.schematicId), String(args.talosVersion), String(args.architecture ?? "amd64")];
      const image = (file: string) => `https://factory.talos.dev/image/${id}/${version}/${file}`;
      return {
        ...args,
        urls: {
          installer: `factory.talos.dev/metal-installer/${id}:${version}`,
          iso: image(`metal-${arch}.iso`),
          pxe: `https://pxe.factory.talos.dev/pxe/${id}/${version}/metal-${arch}`,
          diskImage: image(`metal-${arch}.raw.zst`),
        },
      };
    },
    secretOutputs: [],
  },
  "cloudflare:index/getAccountApiTokenPermissionGroupsList:getAccountApiTokenPermissionGroupsList": {
    // The group's real id is looked up at deploy time; offline it reads as the group's name.
    result: (args) => ({
      ...args,
      results: [
        {
          id: `(id of ${decodeURIComponent(String(args.name))})`,
          name: decodeURIComponent(String(args.name)),
          scopes: [String(args.scope)],
        },
      ],
    }),
    secretOutputs: [],
  },
  "cloudflare:index/getZeroTrustTunnelCloudflaredToken:getZeroTrustTunnelCloudflaredToken": {
    result: (args) => ({ ...args, token: UNKNOWN }),
    secretOutputs: ["token"],
  },
};

export { UNKNOWN };
