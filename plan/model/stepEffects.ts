import type { Json } from "../record/wire";
import { valueAt } from "./inputDiff";
import type { Step } from "./steps";

/**
 * The plain effect of a step that no specific rule (plan/model/effects.ts) describes: what it waits
 * for, what it writes or deletes, and where. Every step that does something gets one line, so an
 * operator never has to guess what an `update` of a resource type means.
 */
export function plainEffect(step: Step): string | undefined {
  if (step.op === "same") return undefined;
  const inputs: Json = step.next?.inputs ?? step.old?.inputs ?? null;
  const at = (path: string) => {
    const value = valueAt(inputs, path);
    return value === undefined || value === null ? "?" : String(value);
  };
  const kubeName = () => {
    const ns = valueAt(inputs, "metadata.namespace");
    return `${typeof ns === "string" ? `${ns}/` : ""}${at("metadata.name")}`;
  };
  const kind = step.type.split(":").pop() ?? step.type;
  const goes = step.op === "delete";

  switch (step.type) {
    case "pulumi-nodejs:dynamic/talos:NodeGate":
      if (goes) return "forgets the gate: nothing runs on the machine";
      if (step.op === "create") return `records ${at("node")}'s config fingerprint: no wait (its apply is the node's first)`;
      return (
        `waits for ${at("node")} to be back on its new config: Talos services, then its Kubernetes components` +
        ` (up to ${at("timeoutSeconds")}s); the next node waits for it`
      );
    case "pulumi-nodejs:dynamic/talos:ClusterReady": {
      const nodes = valueAt(inputs, "nodes");
      const count = Array.isArray(nodes) ? nodes.length : "?";
      return `waits for all ${count} nodes to be ready on Talos ${at("talosVersion")} (services, etcd members; up to ${at("timeoutSeconds")}s)`;
    }
    case "pulumi-nodejs:dynamic/talos:NodeMembership": {
      if (step.op === "create") return `records ${at("nodeName")} as a member: its delete will drain it, reset it and delete its Node`;
      // The update sees the old outputs (nodeMembershipProvider.ts renameUpdate): the name recorded last.
      const was = valueAt(step.old?.outputs ?? step.old?.inputs ?? null, "nodeName");
      if (step.op === "update" && typeof was === "string" && was !== at("nodeName"))
        return (
          `renamed at the same address: waits until Node ${at("nodeName")} is Ready and no kubelet posts ${was} (Unknown),` +
          ` then deletes the old Node object ${was}; after ${at("renameTimeoutSeconds")}s without that the step fails and ${was} is kept`
        );
      return `records new settings for ${at("nodeName")}'s later removal (control-plane list, drain): no call to the node`;
    }
    case "pulumi-nodejs:dynamic/talos:OsUpgrade":
      return "forgets the upgrade record: a node is never downgraded or touched by it";
    case "pulumi-nodejs:dynamic/talos:VersionGuard":
      return `records Talos ${at("talosVersion")} and Kubernetes ${at("kubernetesVersion")} as the stack's versions (its diff judged the move)`;
    case "pulumi-nodejs:dynamic/talos:ClusterHealth":
      return goes ? "forgets the health record" : "runs Talos' cluster health check";
    case "pulumi-nodejs:dynamic:Resource":
      return goes ? "forgets the 1Password item (it stays in the vault)" : `writes the 1Password item ${at("vault")}/${at("title")}`;
    case "talos:machine/configurationApply:ConfigurationApply":
      if (step.op === "create") return `applies the machine config to ${at("node")} (a machine in maintenance mode installs and boots it)`;
      return goes
        ? `forgets the apply of ${at("node")}: the machine is not touched by it`
        : `re-applies the machine config to ${at("node")}`;
    case "talos:machine/secrets:Secrets":
      return "updates the machine secrets' recorded Talos version in place: the PKI stays";
    // siderolabs/terraform-provider-talos pkg/talos/talos_machine_bootstrap_resource.go: Update sets state only.
    case "talos:machine/bootstrap:Bootstrap":
      return "updates the bootstrap record in state: etcd is bootstrapped only when it is created";
    case "talos:cluster/kubeconfig:Kubeconfig":
      return "reads the admin kubeconfig again from the node (the stack output follows)";
    case "kubernetes:helm.sh/v3:Release":
      if (goes) return `helm uninstall ${at("name")} from ${at("namespace")}: its workloads stop`;
      return `helm upgrade ${at("name")} in ${at("namespace")} (chart ${at("chart")} ${at("version")}): its pods roll as the chart says`;
    case "kubernetes:core/v1:Namespace":
      return goes ? `deletes Namespace ${kubeName()} and everything in it` : `${step.op}s Namespace ${kubeName()}`;
    case "kubernetes:core/v1:Secret":
    case "kubernetes:core/v1:ConfigMap":
      return goes
        ? `deletes ${kind} ${kubeName()}`
        : `${step.op === "create" ? "creates" : "writes"} ${kind} ${kubeName()}: Flux, cert-manager and external-secrets read it on their next reconcile; a pod that takes it as environment needs a restart`;
    case "tls:index/privateKey:PrivateKey":
      return goes ? "drops the key from state" : "generates a private key, kept in state as a secret";
    case "tls:index/selfSignedCert:SelfSignedCert":
    case "tls:index/locallySignedCert:LocallySignedCert":
      return goes ? "drops the certificate from state" : "issues a certificate, kept in state";
    case "tls:index/certRequest:CertRequest":
      return goes ? "drops the request from state" : "writes a certificate request (in state only)";
  }
  if (step.type.startsWith("kubernetes:")) {
    const verb = { create: "creates", update: "updates", replace: "replaces", delete: "deletes" }[step.op];
    return `${verb} ${kind} ${kubeName()} in the cluster`;
  }
  return undefined;
}
