// The only file that constructs the pack: constructing it starts the analyzer's gRPC server.
import { PolicyPack } from "@pulumi/policy";
import { networkPolicies } from "./network";
import { platformPolicies } from "./platform";
import { secretPolicies } from "./secrets";

new PolicyPack("talos-gitops", { policies: [...networkPolicies, ...secretPolicies, ...platformPolicies] });
