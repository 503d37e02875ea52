/** Spegel on Talos: containerd's registry config lives under /etc/cri/conf.d/hosts. */
export function spegelValues(): Record<string, unknown> {
  return {
    spegel: { containerdRegistryConfigPath: "/etc/cri/conf.d/hosts" },
    serviceMonitor: { enabled: true },
  };
}
