import type { ClusterConfig } from "../../stacks/load";
import { lbAnnouncement } from "../../stacks/mesh";
import { apiServerAccess } from "../bootstrap/cilium";
import { bondName } from "../talos/patches/network";

/**
 * `flux-system/cluster-settings`: the values the GitOps tree substitutes (`${CLUSTER}`, ...),
 * computed from the one stack config so nothing is typed twice. Only values of objects Flux owns
 * (components/ownership.ts): no `CILIUM_VERSION` or `COREDNS_*`, since Cilium and CoreDNS are
 * Pulumi's releases alone; a HelmRelease in Git reading them would manage the same release twice.
 *
 * A feature that is off leaves its keys out rather than writing empty values: CLUSTERMESH_IP without
 * cilium.clustermesh, CILIUM_BGP_* without cilium.bgp, SECRET_DOMAIN without domain. Flux substitutes
 * an undefined `${VAR}` with the empty string, or fails the Kustomization under strict substitution
 * (fluxcd/kustomize-controller docs/spec/v1/kustomizations.md, "Post build variable substitution";
 * feature gate StrictPostBuildSubstitutions). An empty ASN or peer address would be applied silently,
 * so a tree that references these keys on a cluster without the feature should fail loudly, or give
 * them a default (`${CILIUM_BGP_PEER_ADDRESS:=}`) where it means to run without them.
 */
export function clusterSettings(cluster: ClusterConfig): Record<string, string> {
  const api = apiServerAccess(cluster);
  return {
    CLUSTER: cluster.name,
    CLUSTER_ID: String(cluster.id),
    POD_CIDR: JSON.stringify([cluster.network.podCidr]),
    POD_CIDR_STRING: cluster.network.podCidr,
    SERVICE_CIDR: JSON.stringify([cluster.network.serviceCidr]),
    K8S_SERVICE_HOST: api.host,
    K8S_SERVICE_PORT: String(api.port),
    ...(cluster.cilium.clustermeshIp !== undefined ? { CLUSTERMESH_IP: cluster.cilium.clustermeshIp } : {}),
    CILIUM_GATEWAY_LB_IP: cluster.cilium.gatewayIp,
    ...(cluster.cilium.bgp
      ? {
          CILIUM_BGP_LOCAL_ASN: String(cluster.cilium.bgp.localAsn),
          CILIUM_BGP_PEER_ASN: String(cluster.cilium.bgp.peerAsn),
          CILIUM_BGP_PEER_ADDRESS: cluster.cilium.bgp.peerAddress,
        }
      : {}),
    CILIUM_LB_POOL_START: cluster.cilium.loadBalancerPool.start,
    CILIUM_LB_POOL_END: cluster.cilium.loadBalancerPool.end,
    // The tree's CiliumL2AnnouncementPolicy (a Cilium CRD, registered by the operator at runtime, so
    // Flux's and not Pulumi's) announces LoadBalancer IPs on the bond when the pool lies in the node
    // subnet: `spec.loadBalancerIPs: ${CILIUM_L2_ANNOUNCEMENTS}`, `spec.interfaces: [${CILIUM_L2_INTERFACE}]`.
    CILIUM_L2_ANNOUNCEMENTS: String(lbAnnouncement(cluster) === "l2"),
    CILIUM_L2_INTERFACE: `^${bondName}$`,
    ...(cluster.domain !== undefined ? { SECRET_DOMAIN: cluster.domain } : {}),
    LETSENCRYPT_EMAIL: cluster.certManager.email,
  };
}
