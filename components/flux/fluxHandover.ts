import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ClusterConfig } from "../../stacks/load";
import { managedLabels } from "../bootstrap/labels";
import { chartRelease } from "../bootstrap/release";
import { bootstrapSecret } from "../bootstrap/secret";
import type { Credentials } from "../secrets/resolver";
import { clusterSettings } from "./clusterSettings";
import { fluxInstanceSpec, fluxOperatorValues, gitCredentialsSecret } from "./fluxInstance";

export interface FluxHandoverArgs {
  readonly config: ClusterConfig;
  readonly credentials: Credentials;
  readonly provider: k8s.Provider;
  readonly namespace: k8s.core.v1.Namespace;
  /** What must run before Flux's images are pulled: CoreDNS, Spegel, the monitoring CRDs. */
  readonly after: pulumi.Resource[];
}

/** flux-operator, the Git credentials, cluster-settings and the FluxInstance: from here Flux owns the rest. */
export class FluxHandover extends pulumi.ComponentResource {
  readonly instance: k8s.apiextensions.CustomResource;

  constructor(name: string, args: FluxHandoverArgs, opts?: pulumi.ComponentResourceOptions) {
    super("talos-gitops:flux:FluxHandover", name, {}, opts);
    const { config, credentials } = args;
    const child = { parent: this, provider: args.provider };
    const inNamespace = { ...child, dependsOn: [args.namespace] };

    const operator = chartRelease(
      "flux-operator",
      { chart: "fluxOperator", namespace: "flux-system", values: fluxOperatorValues() },
      { ...child, dependsOn: [...args.after, args.namespace] },
    );
    const privateKey = credentials.require("flux.auth.privateKey");
    const auth = config.flux.auth;
    const gitSecret = bootstrapSecret(
      "flux-git-credentials",
      gitCredentialsSecret,
      auth.type === "ssh"
        ? { identity: privateKey, known_hosts: auth.knownHosts }
        : { githubAppID: auth.appId, githubAppInstallationID: auth.installationId, githubAppPrivateKey: privateKey },
      inNamespace,
    );
    const settings = new k8s.core.v1.ConfigMap(
      "cluster-settings",
      { metadata: { name: "cluster-settings", namespace: "flux-system", labels: { ...managedLabels } }, data: clusterSettings(config) },
      inNamespace,
    );
    this.instance = new k8s.apiextensions.CustomResource(
      "flux",
      {
        apiVersion: "fluxcd.controlplane.io/v1",
        kind: "FluxInstance",
        metadata: { name: "flux", namespace: "flux-system" },
        spec: fluxInstanceSpec(config),
      },
      { ...child, dependsOn: [operator, gitSecret, settings] },
    );
    this.registerOutputs({});
  }
}
