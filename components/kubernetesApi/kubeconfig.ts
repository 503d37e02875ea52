import { parse } from "yaml";

/**
 * What a call to the API server needs from a kubeconfig: the server URL, the CA that signed its
 * certificate, and the client's credentials. Talos' admin kubeconfig carries client certificate data
 * (`client-certificate-data` / `client-key-data`, base64 PEM); a bearer token is accepted too.
 */
export interface KubeCredentials {
  server: string;
  /** PEM; absent when the server's certificate is trusted by the system roots. */
  ca?: string;
  clientCertificate?: string;
  clientKey?: string;
  token?: string;
}

type Loose = Record<string, unknown>;

function record(value: unknown): Loose {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Loose) : {};
}

function named(list: unknown, name: string | undefined, what: string): Loose {
  const entries = Array.isArray(list) ? list.map(record) : [];
  const found = name === undefined ? entries[0] : entries.find((e) => e.name === name);
  if (!found) throw new Error(`kubeconfig: no ${what}${name === undefined ? "" : ` named ${name}`}`);
  return record(found[what]);
}

function decoded(value: unknown, key: string): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string") throw new Error(`kubeconfig: ${key} is not a string`);
  const text = Buffer.from(value, "base64").toString("utf8");
  if (!text.includes("-----BEGIN ")) throw new Error(`kubeconfig: ${key} is not base64-encoded PEM`);
  return text;
}

/** The current context's (or the named context's) cluster and user, resolved to what a request needs. */
export function parseKubeconfig(text: string, contextName?: string): KubeCredentials {
  const config = record(parse(text));
  const name = contextName ?? (typeof config["current-context"] === "string" ? config["current-context"] : undefined);
  const context = named(config.contexts, name, "context");
  const cluster = named(config.clusters, typeof context.cluster === "string" ? context.cluster : undefined, "cluster");
  const user = named(config.users, typeof context.user === "string" ? context.user : undefined, "user");
  if (typeof cluster.server !== "string" || !/^https:\/\//.test(cluster.server)) {
    throw new Error("kubeconfig: the cluster's server must be an https:// URL");
  }
  const credentials: KubeCredentials = {
    server: cluster.server.replace(/\/+$/, ""),
    ca: decoded(cluster["certificate-authority-data"], "certificate-authority-data"),
    clientCertificate: decoded(user["client-certificate-data"], "client-certificate-data"),
    clientKey: decoded(user["client-key-data"], "client-key-data"),
    token: typeof user.token === "string" && user.token !== "" ? user.token : undefined,
  };
  if (!credentials.token && !(credentials.clientCertificate && credentials.clientKey)) {
    throw new Error("kubeconfig: the user has neither client certificate data and key data nor a token");
  }
  return credentials;
}
