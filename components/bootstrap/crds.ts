import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { versions } from "../../stacks/versions";
import { chartRelease } from "./release";

/** Gateway API CRDs Cilium's Gateway controller needs: the standard channel plus TLSRoute. */
export function gatewayApiCrdUrls(version: string = versions.gatewayApi): string[] {
  return [
    `https://github.com/kubernetes-sigs/gateway-api/releases/download/${version}/standard-install.yaml`,
    `https://raw.githubusercontent.com/kubernetes-sigs/gateway-api/${version}/config/crd/experimental/gateway.networking.k8s.io_tlsroutes.yaml`,
  ];
}

export function gatewayApiCrds(opts: pulumi.ComponentResourceOptions): k8s.yaml.v2.ConfigGroup {
  return new k8s.yaml.v2.ConfigGroup("gateway-api-crds", { files: gatewayApiCrdUrls() }, opts);
}

/** ServiceMonitor, PodMonitor, PrometheusRule & co., which the charts' monitors create. */
export function prometheusOperatorCrds(opts: pulumi.CustomResourceOptions): k8s.helm.v3.Release {
  return chartRelease("prometheus-operator-crds", { chart: "prometheusOperatorCrds", namespace: "kube-system", values: {} }, opts);
}
