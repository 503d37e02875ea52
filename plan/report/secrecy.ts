import { leaves } from "../../policy/values";
import type { Recording } from "../record/harness";

/** Property names that carry credentials in this program's resources and outputs. */
const credentialName =
  /(password|token|privateKey|clientKey|secret|secrets|kubeconfig|talosconfig|clientConfiguration|identity|apiKey|tunnelSecret|credential)$/i;
/** Names that point at a Secret rather than hold one. */
const referenceName = /(SecretRef|SecretName|TokenSecret|^pullSecret|secretsNamespace)$/i;

function leafPaths(value: unknown): string[] {
  // A bare value at the root has the path "", which names no credential.
  return leaves(value).map(([path]) => path);
}

function isCovered(path: string, secretPaths: readonly string[]): boolean {
  return secretPaths.some((s) => s === "" || path === s || path.startsWith(`${s}.`) || path.startsWith(`${s}[`));
}

function carriesCredential(type: string, path: string): boolean {
  if (type === "kubernetes:core/v1:Secret" && /^(data|stringData)\b/.test(path)) return true;
  return path.split(/[.[]/).some((segment) => credentialName.test(segment) && !referenceName.test(segment));
}

/**
 * Every resource input and stack output that carries a credential but is not a Pulumi secret,
 * as `<urn or "outputs">: <path>`. Empty when the graph keeps every credential secret.
 */
export function exposedCredentials(recording: Recording): string[] {
  const exposed: string[] = [];
  for (const r of recording.resources) {
    for (const path of leafPaths(recording.plainInputs(r.urn))) {
      if (carriesCredential(r.type, path) && !isCovered(path, r.secretPaths)) exposed.push(`${r.urn}: ${path}`);
    }
  }
  for (const path of leafPaths(recording.plainOutputs())) {
    if (carriesCredential("", path) && !isCovered(path, recording.outputSecretPaths)) exposed.push(`outputs: ${path}`);
  }
  return exposed;
}
