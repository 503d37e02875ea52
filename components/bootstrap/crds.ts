import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { versions } from "../../stacks/versions";
import { chartRelease } from "./release";

/**
 * Gateway API CRDs Cilium's Gateway controller needs: the standard channel's release bundle. Since
 * Gateway API v1.5 it holds TLSRoute (v1) and ListenerSet, since v1.6 TCPRoute and UDPRoute too, so
 * the experimental TLSRoute CRD is no longer installed beside it (its channel would clash).
 */
export function gatewayApiCrdUrls(version: string = versions.gatewayApi): string[] {
  return [`https://github.com/kubernetes-sigs/gateway-api/releases/download/${version}/standard-install.yaml`];
}

export function gatewayApiCrds(opts: pulumi.ComponentResourceOptions): k8s.yaml.v2.ConfigGroup {
  return new k8s.yaml.v2.ConfigGroup("gateway-api-crds", { files: gatewayApiCrdUrls() }, opts);
}

/** ServiceMonitor, PodMonitor, PrometheusRule & co., which the charts' monitors create. */
export function prometheusOperatorCrds(opts: pulumi.CustomResourceOptions): k8s.helm.v3.Release {
  return chartRelease("prometheus-operator-crds", { chart: "prometheusOperatorCrds", namespace: "kube-system", values: {} }, opts);
}
