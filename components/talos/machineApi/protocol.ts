/**
 * The subset of the Talos machine API this project calls, written here from field names and numbers.
 *
 * Checked against siderolabs/talos `api/common/common.proto`, `api/machine/machine.proto`,
 * `api/machine/lifecycle.proto`, `api/machine/image.proto`, `api/cluster/cluster.proto` and
 * `api/vendor/google/rpc/status.proto` at every tag v1.11.0–v1.11.6, v1.12.0–v1.12.11 and v1.13.0–v1.13.9:
 * every message below is identical at all of them, except
 * - `RebootRequest.Mode.FORCE = 2` exists from v1.12.0 on (older nodes reject it);
 * - `MachineService/Upgrade` is deprecated from v1.13.0 (removal announced for v1.18) in favour of
 *   `LifecycleService/Upgrade` + `ImageService/Pull`, which exist only from v1.13.0 (with
 *   `common.ContainerdInstance`); v1.11/v1.12 nodes answer them with UNIMPLEMENTED.
 * - `MachineService/EtcdStatus`, `/EtcdLeaveCluster`, `/EtcdRemoveMemberByID` and `/EtcdForfeitLeadership` exist under
 *   those names at all three minors (`EtcdForfeitLeadership { Metadata metadata = 1; string member = 2; }`:
 *   api/machine/machine.proto at v1.11.6, v1.12.11, v1.13.9).
 *
 * Names are kept exactly (package, service, message, field), so requests and responses are wire-compatible;
 * unused fields are omitted (protobuf skips unknown fields), except in requests we may send.
 */

const wellKnown = `
syntax = "proto3";
package google.protobuf;
message Any { string type_url = 1; bytes value = 2; }
message Duration { int64 seconds = 1; int32 nanos = 2; }
message Timestamp { int64 seconds = 1; int32 nanos = 2; }
message Empty {}
`;

const googleRpc = `
syntax = "proto3";
package google.rpc;
message Status { int32 code = 1; string message = 2; repeated google.protobuf.Any details = 3; }
`;

const common = `
syntax = "proto3";
package common;
message Metadata {
  string hostname = 1;
  string error = 2;
  google.rpc.Status status = 3;
}
message Data { Metadata metadata = 1; bytes bytes = 2; }
enum ContainerDriver { CONTAINERD = 0; CRI = 1; }
enum ContainerdNamespace { NS_UNKNOWN = 0; NS_SYSTEM = 1; NS_CRI = 2; }
message ContainerdInstance { ContainerDriver driver = 1; ContainerdNamespace namespace = 2; }
`;

const machine = `
syntax = "proto3";
package machine;

service MachineService {
  rpc EtcdMemberList(EtcdMemberListRequest) returns (EtcdMemberListResponse);
  rpc EtcdRemoveMemberByID(EtcdRemoveMemberByIDRequest) returns (EtcdRemoveMemberByIDResponse);
  rpc EtcdLeaveCluster(EtcdLeaveClusterRequest) returns (EtcdLeaveClusterResponse);
  rpc EtcdForfeitLeadership(EtcdForfeitLeadershipRequest) returns (EtcdForfeitLeadershipResponse);
  rpc EtcdStatus(google.protobuf.Empty) returns (EtcdStatusResponse);
  rpc Read(ReadRequest) returns (stream common.Data);
  rpc Reboot(RebootRequest) returns (RebootResponse);
  rpc Reset(ResetRequest) returns (ResetResponse);
  rpc ServiceList(google.protobuf.Empty) returns (ServiceListResponse);
  rpc Upgrade(UpgradeRequest) returns (UpgradeResponse);
  rpc Version(google.protobuf.Empty) returns (VersionResponse);
}

service LifecycleService {
  rpc Upgrade(LifecycleServiceUpgradeRequest) returns (stream LifecycleServiceUpgradeResponse);
}

service ImageService {
  rpc Pull(ImageServicePullRequest) returns (stream ImageServicePullResponse);
}

message VersionInfo { string tag = 1; string sha = 2; string built = 3; string go_version = 4; string os = 5; string arch = 6; }
message PlatformInfo { string name = 1; string mode = 2; }
message FeaturesInfo { bool rbac = 1; }
message Version { common.Metadata metadata = 1; VersionInfo version = 2; PlatformInfo platform = 3; FeaturesInfo features = 4; }
message VersionResponse { repeated Version messages = 1; }

message ServiceEvent { string msg = 1; string state = 2; google.protobuf.Timestamp ts = 3; }
message ServiceEvents { repeated ServiceEvent events = 1; }
message ServiceHealth { bool unknown = 1; bool healthy = 2; string last_message = 3; google.protobuf.Timestamp last_change = 4; }
message ServiceInfo { string id = 1; string state = 2; ServiceEvents events = 3; ServiceHealth health = 4; }
message ServiceList { common.Metadata metadata = 1; repeated ServiceInfo services = 2; }
message ServiceListResponse { repeated ServiceList messages = 1; }

message EtcdMemberListRequest { bool query_local = 1; }
message EtcdMember { uint64 id = 2; string hostname = 3; repeated string peer_urls = 4; repeated string client_urls = 5; bool is_learner = 6; }
message EtcdMembers { common.Metadata metadata = 1; repeated string legacy_members = 2; repeated EtcdMember members = 3; }
message EtcdMemberListResponse { repeated EtcdMembers messages = 1; }

message EtcdMemberStatus {
  string protocol_version = 1;
  int64 db_size = 2;
  int64 db_size_in_use = 3;
  uint64 leader = 4;
  uint64 raft_index = 5;
  uint64 raft_term = 6;
  uint64 raft_applied_index = 7;
  repeated string errors = 8;
  bool is_learner = 9;
  uint64 member_id = 10;
  string storage_version = 11;
}
message EtcdStatus { common.Metadata metadata = 1; EtcdMemberStatus member_status = 2; }
message EtcdStatusResponse { repeated EtcdStatus messages = 1; }

message EtcdLeaveClusterRequest {}
message EtcdLeaveCluster { common.Metadata metadata = 1; }
message EtcdLeaveClusterResponse { repeated EtcdLeaveCluster messages = 1; }

message EtcdForfeitLeadershipRequest {}
message EtcdForfeitLeadership { common.Metadata metadata = 1; string member = 2; }
message EtcdForfeitLeadershipResponse { repeated EtcdForfeitLeadership messages = 1; }

message EtcdRemoveMemberByIDRequest { uint64 member_id = 1; }
message EtcdRemoveMemberByID { common.Metadata metadata = 1; }
message EtcdRemoveMemberByIDResponse { repeated EtcdRemoveMemberByID messages = 1; }

message ReadRequest { string path = 1; }

message RebootRequest {
  enum Mode { DEFAULT = 0; POWERCYCLE = 1; FORCE = 2; }
  Mode mode = 1;
}
message Reboot { common.Metadata metadata = 1; string actor_id = 2; }
message RebootResponse { repeated Reboot messages = 1; }

message ResetPartitionSpec { string label = 1; bool wipe = 2; }
message ResetRequest {
  enum WipeMode { ALL = 0; SYSTEM_DISK = 1; USER_DISKS = 2; }
  bool graceful = 1;
  bool reboot = 2;
  repeated ResetPartitionSpec system_partitions_to_wipe = 3;
  repeated string user_disks_to_wipe = 4;
  WipeMode mode = 5;
}
message Reset { common.Metadata metadata = 1; string actor_id = 2; }
message ResetResponse { repeated Reset messages = 1; }

message UpgradeRequest {
  enum RebootMode { DEFAULT = 0; POWERCYCLE = 1; }
  string image = 1;
  bool preserve = 2;
  bool stage = 3;
  bool force = 4;
  RebootMode reboot_mode = 5;
}
message Upgrade { common.Metadata metadata = 1; string ack = 2; string actor_id = 3; }
message UpgradeResponse { repeated Upgrade messages = 1; }

message InstallArtifactsSource { string image_name = 1; }
message LifecycleServiceInstallProgress {
  oneof response {
    string message = 1;
    int32 exit_code = 2;
  }
}
message LifecycleServiceUpgradeRequest { common.ContainerdInstance containerd = 1; InstallArtifactsSource source = 2; }
message LifecycleServiceUpgradeResponse { LifecycleServiceInstallProgress progress = 1; }

message ImageServicePullRequest { common.ContainerdInstance containerd = 1; string image_ref = 3; }
message ImageServicePullLayerProgress {
  enum Status { DOWNLOADING = 0; DOWNLOAD_COMPLETE = 1; EXTRACTING = 2; EXTRACT_COMPLETE = 3; ALREADY_EXISTS = 4; }
  Status status = 1;
  google.protobuf.Duration elapsed = 2;
  int64 offset = 3;
  int64 total = 4;
}
message ImageServicePullProgress { string layer_id = 1; ImageServicePullLayerProgress progress = 2; }
message ImageServicePullResponse {
  oneof response {
    string name = 1;
    ImageServicePullProgress pull_progress = 2;
  }
}
`;

const cluster = `
syntax = "proto3";
package cluster;

service ClusterService {
  rpc HealthCheck(HealthCheckRequest) returns (stream HealthCheckProgress);
}

message ClusterInfo { repeated string control_plane_nodes = 1; repeated string worker_nodes = 2; string force_endpoint = 3; }
message HealthCheckRequest { google.protobuf.Duration wait_timeout = 1; ClusterInfo cluster_info = 2; }
message HealthCheckProgress { common.Metadata metadata = 1; string message = 2; }
`;

/** One .proto text per package, in dependency order. */
export const protoSources: readonly string[] = [wellKnown, googleRpc, common, machine, cluster];
