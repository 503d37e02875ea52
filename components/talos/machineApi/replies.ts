/**
 * Typed views of decoded replies. Talos wraps every reply in `messages`, one per answering node, each
 * with `metadata` (hostname, error): apid reports a failure on the proxied node there rather than as
 * a gRPC status, so a metadata error must become a thrown error.
 */

type Loose = Record<string, unknown>;

function record(value: unknown): Loose {
  return value !== null && typeof value === "object" ? (value as Loose) : {};
}
function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}
function flag(value: unknown): boolean {
  return value === true;
}
function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export interface ReplyMetadata {
  hostname: string;
  error: string;
}

export function metadataOf(message: unknown): ReplyMetadata {
  const metadata = record(record(message).metadata);
  const rpcStatus = record(metadata.status);
  return { hostname: text(metadata.hostname), error: text(metadata.error) || text(rpcStatus.message) };
}

/** The single node's message of a unary reply; throws the node's own error when metadata carries one. */
export function singleMessage(reply: Loose): Loose {
  const messages = list(reply.messages);
  if (messages.length !== 1) throw new Error(`expected one message in the reply, got ${messages.length}`);
  const failure = metadataOf(messages[0]).error;
  if (failure) throw new Error(`node reported: ${failure}`);
  return record(messages[0]);
}

export interface VersionReply {
  hostname: string;
  tag: string;
  sha: string;
  arch: string;
  platform: string;
}

export function versionReply(message: Loose): VersionReply {
  const version = record(message.version);
  return {
    hostname: metadataOf(message).hostname,
    tag: text(version.tag),
    sha: text(version.sha),
    arch: text(version.arch),
    platform: text(record(message.platform).name),
  };
}

export interface ServiceState {
  id: string;
  /** `Running`, `Waiting`, `Preparing`, `Finished`, `Failed`, ... as machined names them. */
  state: string;
  healthy: boolean;
  /** True when the service has no health check or has not reported yet. */
  healthUnknown: boolean;
  lastHealthMessage: string;
}

export function serviceStates(message: Loose): ServiceState[] {
  return list(message.services).map((raw) => {
    const service = record(raw);
    const health = record(service.health);
    return {
      id: text(service.id),
      state: text(service.state),
      healthy: flag(health.healthy),
      healthUnknown: flag(health.unknown),
      lastHealthMessage: text(health.lastMessage),
    };
  });
}

export interface EtcdMemberInfo {
  /** uint64 as a decimal string. */
  id: string;
  hostname: string;
  isLearner: boolean;
  peerUrls: string[];
}

export function etcdMembers(message: Loose): EtcdMemberInfo[] {
  return list(message.members).map((raw) => {
    const member = record(raw);
    return {
      id: text(member.id),
      hostname: text(member.hostname),
      isLearner: flag(member.isLearner),
      peerUrls: list(member.peerUrls).map(text),
    };
  });
}

export interface EtcdStatusInfo {
  memberId: string;
  leader: string;
  isLearner: boolean;
  errors: string[];
}

export function etcdStatus(message: Loose): EtcdStatusInfo {
  const status = record(message.memberStatus);
  return {
    memberId: text(status.memberId),
    leader: text(status.leader),
    isLearner: flag(status.isLearner),
    errors: list(status.errors).map(text),
  };
}

/** Stream messages (common.Data, HealthCheckProgress) carry metadata each; the first error ends the stream. */
export function streamFailure(messages: readonly unknown[]): string | undefined {
  for (const message of messages) {
    const failure = metadataOf(message).error;
    if (failure) return `node reported: ${failure}`;
  }
  return undefined;
}

export function dataBytes(messages: readonly unknown[]): Buffer {
  return Buffer.concat(messages.map((m) => record(m).bytes).filter((b): b is Uint8Array => b instanceof Uint8Array));
}

export function healthMessages(messages: readonly unknown[]): string[] {
  return messages.map((m) => text(record(m).message));
}

/** LifecycleService and ImageService replies carry progress, not `messages`; a non-zero exit code is the failure. */
export function lifecycleExitCode(messages: readonly unknown[]): number | undefined {
  let exitCode: number | undefined;
  for (const message of messages) {
    const progress = record(record(message).progress);
    if (typeof progress.exitCode === "number" && progress.response === "exitCode") exitCode = progress.exitCode;
  }
  return exitCode;
}

/** EtcdForfeitLeadership: the member that leads now, or "" when this node did not lead. */
export function forfeitedTo(message: Loose): string {
  return text(message.member);
}
