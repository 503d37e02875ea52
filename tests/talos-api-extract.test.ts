import { parse, Root } from "protobufjs";
import { format, prune } from "../contracts/extractTalosApi";
import { readDescriptor, talosMinors, descriptorFile } from "./fakes/talosDescriptor";
import * as fs from "fs";

/**
 * contracts/extractTalosApi.ts without the upstream clone: what it keeps of protobufjs's JSON, and that the
 * vendored descriptors are exactly what it writes (not edited by hand).
 */

// Written here, shaped like siderolabs/talos api/common/common.proto (option extensions) and machine.proto
// (a deprecated method, a oneof): the parts of the upstream files the pruning has to handle.
const sample = `
syntax = "proto3";
package demo;
import "google/protobuf/descriptor.proto";
option go_package = "example.com/demo";
extend google.protobuf.MethodOptions { string remove_deprecated_method = 93117; }
// A comment that must not survive.
service Demo {
  rpc Old(Req) returns (Res) {
    option (demo.remove_deprecated_method) = "v9";
    option deprecated = true;
  }
  rpc New(Req) returns (stream Res);
}
message Req { repeated int64 ids = 1 [packed = false]; string old_name = 2 [deprecated = true]; }
message Res { oneof response { string message = 1; int32 exit_code = 2; } }
enum Mode { DEFAULT = 0; FORCE = 1 [deprecated = true]; }
`;

describe("contracts/extractTalosApi.ts", () => {
  it("keeps services, messages, oneofs, enums and the wire-relevant options; drops comments, extensions and code-generation options", () => {
    const root = new Root();
    parse(sample, root, { keepCase: true, alternateCommentMode: true });
    expect(prune(root.toJSON({ keepComments: true }))).toEqual({
      nested: {
        demo: {
          nested: {
            Demo: {
              methods: {
                Old: { requestType: "Req", responseType: "Res", options: { deprecated: true } },
                New: { requestType: "Req", responseType: "Res", responseStream: true },
              },
            },
            Req: {
              fields: {
                ids: { rule: "repeated", type: "int64", id: 1, options: { packed: false } },
                old_name: { type: "string", id: 2, options: { deprecated: true } },
              },
            },
            Res: {
              oneofs: { response: { oneof: ["message", "exit_code"] } },
              fields: { message: { type: "string", id: 1 }, exit_code: { type: "int32", id: 2 } },
            },
            Mode: { values: { DEFAULT: 0, FORCE: 1 }, valuesOptions: { FORCE: { deprecated: true } } },
          },
        },
      },
    });
  });

  it.each(talosMinors)("the Talos %s descriptor is exactly what the script writes, and loads on its own", (minor) => {
    const text = fs.readFileSync(descriptorFile(minor), "utf8");
    expect(text).toBe(format(JSON.parse(text)) + "\n");
    expect(() => Root.fromJSON({ nested: readDescriptor(minor).nested }).resolveAll()).not.toThrow();
  });
});
