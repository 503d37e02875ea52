/** The fields of Kubernetes objects this project reads; everything else is ignored. */

export interface OwnerReference {
  apiVersion?: string;
  kind: string;
  name: string;
  uid?: string;
  controller?: boolean;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  deletionTimestamp?: string;
}

/** A Node condition (`Ready`, `MemoryPressure`, ...), as the kubelet posts it. */
export interface NodeCondition {
  type: string;
  /** "True" | "False" | "Unknown" */
  status: string;
  reason?: string;
  message?: string;
}

export interface KubeNode {
  metadata: ObjectMeta;
  spec?: { unschedulable?: boolean };
  status?: { conditions?: NodeCondition[]; nodeInfo?: { kubeletVersion?: string } };
}

export interface KubePod {
  metadata: ObjectMeta & { namespace: string };
  spec?: {
    nodeName?: string;
    volumes?: Array<{ name: string; emptyDir?: Record<string, unknown> }>;
    containers?: Array<{ name: string; image?: string }>;
  };
  status?: { phase?: string; containerStatuses?: Array<{ name: string; ready?: boolean }> };
}

/**
 * A `Status` object, as the API server answers failures (and some successes): kubernetes/apimachinery
 * v0.35.0 pkg/apis/meta/v1/types.go (Status, StatusDetails, StatusCause). A cause's type is serialized
 * under the JSON key `reason` (`Type CauseType json:"reason,omitempty"`).
 */
export interface KubeStatus {
  kind?: "Status";
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    causes?: Array<{ reason?: string; message?: string; field?: string }>;
    retryAfterSeconds?: number;
  };
}

/** What an eviction request came to. */
export type EvictionOutcome =
  | { outcome: "evicted" }
  /** The pod no longer exists (404): nothing to evict. */
  | { outcome: "gone" }
  /** 429 TooManyRequests: a PodDisruptionBudget allows no disruption now (or is still being processed); retry later. */
  | { outcome: "blocked"; budget?: string; budgetDetail?: string; message: string };
