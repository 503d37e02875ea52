import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ClusterConfig } from "../../stacks/load";
import { managedLabels } from "../bootstrap/labels";
import { chartRelease } from "../bootstrap/release";
import { bootstrapSecret } from "../bootstrap/secret";
import type { Credentials } from "../secrets/resolver";
import { clusterSettings } from "./clusterSettings";
import { fluxInstanceAwait, handoverMessage } from "./handoverCriteria";
import { fluxInstanceSpec, fluxOperatorValues, gitCredentialsSecret } from "./fluxInstance";

export interface FluxHandoverArgs {
  readonly config: ClusterConfig;
  readonly credentials: Credentials;
  readonly provider: k8s.Provider;
  readonly namespace: k8s.core.v1.Namespace;
  /** What must run before Flux's images are pulled: CoreDNS, Spegel, the monitoring CRDs. */
  readonly after: pulumi.Resource[];
}

/**
 * flux-operator, the Git credentials, cluster-settings and the FluxInstance: from here Flux owns the
 * rest. `pulumi up` ends only when the hand-over criteria (handoverCriteria.ts) hold. Everything here
 * is `retainOnDelete`: flux-operator's chart installs the FluxInstance/ResourceSet/FluxReport CRDs
 * (`installCRDs: true`, each annotated `helm.sh/resource-policy: keep`, controlplaneio-fluxcd/charts
 * charts/flux-operator/templates/crds.yaml), and deleting the FluxInstance makes flux-operator
 * uninstall Flux; removing them from the program (or the stack) leaves Flux running.
 */
export class FluxHandover extends pulumi.ComponentResource {
  readonly instance: k8s.apiextensions.CustomResource;

  constructor(name: string, args: FluxHandoverArgs, opts?: pulumi.ComponentResourceOptions) {
    super("talos-gitops:flux:FluxHandover", name, {}, opts);
    const { config, credentials } = args;
    const child = { parent: this, provider: args.provider, retainOnDelete: true };
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
        metadata: { name: "flux", namespace: "flux-system", annotations: fluxInstanceAwait() },
        spec: fluxInstanceSpec(config),
      },
      { ...child, dependsOn: [operator, gitSecret, settings] },
    );
    pulumi.log.info(handoverMessage(), this.instance);
    this.registerOutputs({});
  }
}
