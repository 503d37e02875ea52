/** Secret holding the 1Password service-account token the ClusterSecretStore signs in with. */
export const onePasswordTokenSecret = { name: "onepassword-service-account", namespace: "external-secrets", key: "token" } as const;
export const clusterSecretStoreName = "onepassword";

export function externalSecretsValues(): Record<string, unknown> {
  return { installCRDs: true, serviceMonitor: { enabled: true } };
}

/** The cluster-wide store every ExternalSecret reads: the 1Password SDK provider, one vault. */
export function onePasswordStoreSpec(vault: string): Record<string, unknown> {
  return {
    provider: {
      onepasswordSDK: {
        vault,
        auth: {
          serviceAccountSecretRef: {
            name: onePasswordTokenSecret.name,
            namespace: onePasswordTokenSecret.namespace,
            key: onePasswordTokenSecret.key,
          },
        },
      },
    },
  };
}
