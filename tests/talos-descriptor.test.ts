import {
  Server,
  ServerCredentials,
  status,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
  type UntypedHandleCall,
} from "@grpc/grpc-js";
import { createMachineClient, isTalosApiError, type MachineClient } from "../components/talos/machineApi";
import { createTestPki, type TestPki } from "./fakes/pki";
import { loadTalosApi, type Plain, type TalosMinor } from "./fakes/talosDescriptor";

/**
 * The fake-server building blocks of tests/fakes/talosDescriptor.ts, driven by our real client over mutual TLS on
 * 127.0.0.1: method definitions come from the vendored upstream descriptors (contracts/talos-api/), so a server
 * for a minor serves exactly that minor's services, methods, fields and enum values.
 */

let pki: TestPki;
const servers: Server[] = [];
const clients: MachineClient[] = [];

beforeAll(() => {
  pki = createTestPki();
});

afterEach(() => {
  for (const client of clients.splice(0)) client.close();
  for (const server of servers.splice(0)) server.forceShutdown();
});

/** A server for `minor` with the given handlers per service; services without handlers are still served (UNIMPLEMENTED). */
async function serve(minor: TalosMinor, handlers: Record<string, Record<string, UntypedHandleCall>>): Promise<number> {
  const api = loadTalosApi(minor);
  const server = new Server();
  for (const name of Object.keys(handlers)) {
    const { definition, implementation } = api.service(name, handlers[name] ?? {});
    server.addService(definition, implementation);
  }
  const credentials = ServerCredentials.createSsl(
    Buffer.from(pki.ca.cert),
    [{ cert_chain: Buffer.from(pki.server.cert), private_key: Buffer.from(pki.server.key) }],
    true,
  );
  servers.push(server);
  return new Promise((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", credentials, (error, port) => (error ? reject(error) : resolve(port))),
  );
}

function clientOn(port: number): MachineClient {
  const client = createMachineClient({
    endpoint: "127.0.0.1",
    port,
    clientConfiguration: { caCertificate: pki.ca.cert, clientCertificate: pki.client.cert, clientKey: pki.client.key },
    callTimeoutMs: 5000,
  });
  clients.push(client);
  return client;
}

const unary =
  (reply: (request: Plain) => Plain, seen: Plain[] = []) =>
  (call: ServerUnaryCall<Plain, Plain>, callback: sendUnaryData<Plain>) => {
    seen.push(call.request);
    callback(null, reply(call.request));
  };

const streaming = (messages: Plain[]) => (call: ServerWritableStream<Plain, Plain>) => {
  for (const message of messages) call.write(message);
  call.end();
};

/**
 * machined's Version: one message with version, platform and features, no metadata when not proxied
 * (siderolabs/talos v1.12.11 `internal/app/machined/internal/server/v1alpha1/v1alpha1_server.go`, `Version`).
 */
const versionReply = () => ({
  messages: [
    {
      version: { tag: "v1.12.11", sha: "2e80771b", built: "", goVersion: "go1.24.11", os: "linux", arch: "amd64" },
      platform: { name: "metal", mode: "metal" },
      features: { rbac: true },
    },
  ],
});

describe("fake Talos servers built from the upstream descriptors", () => {
  it("a Talos 1.12 server answers MachineService/Version over mutual TLS and the client decodes it", async () => {
    const requests: Plain[] = [];
    const port = await serve("1.12", { "machine.MachineService": { Version: unary(versionReply, requests) } });
    await expect(clientOn(port).version()).resolves.toEqual({
      hostname: "",
      tag: "v1.12.11",
      sha: "2e80771b",
      arch: "amd64",
      platform: "metal",
    });
    expect(requests).toEqual([{}]);
  });

  it("decodes requests as the client's schema does: camel-cased fields, 64-bit ids as decimal strings", async () => {
    const requests: Plain[] = [];
    const port = await serve("1.12", {
      "machine.MachineService": { EtcdRemoveMemberByID: unary(() => ({ messages: [{ metadata: { hostname: "cp-1" } }] }), requests) },
    });
    await clientOn(port).etcdRemoveMemberById("9223372036854775809");
    expect(requests).toEqual([{ memberId: "9223372036854775809" }]);
  });

  it("a Talos 1.12 server has no ImageService or LifecycleService: lifecycleUpgrade gets UNIMPLEMENTED", async () => {
    const api = loadTalosApi("1.12");
    expect(api.hasMethod("machine.ImageService/Pull")).toBe(false);
    expect(api.hasMethod("machine.LifecycleService/Upgrade")).toBe(false);
    expect(() => api.service("machine.LifecycleService", {})).toThrow("Talos v1.12.11 machine.LifecycleService: no such service");
    const port = await serve("1.12", { "machine.MachineService": { Version: unary(versionReply) }, "cluster.ClusterService": {} });
    const failure = await clientOn(port)
      .lifecycleUpgrade("ghcr.io/siderolabs/installer:v1.13.9")
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(isTalosApiError(failure) && failure.code).toBe(status.UNIMPLEMENTED);
  });

  it("a Talos 1.13 server built the same way serves ImagePull and LifecycleService/Upgrade (oneof replies)", async () => {
    // api/machine/lifecycle.proto (v1.13.9): progress is a oneof of message and exit_code; a non-zero exit
    // code is reported in the stream, not as an error status.
    const port = await serve("1.13", {
      "machine.ImageService": { Pull: streaming([{ name: "ghcr.io/siderolabs/installer:v1.13.9" }]) },
      "machine.LifecycleService": { Upgrade: streaming([{ progress: { message: "installing" } }, { progress: { exitCode: 0 } }]) },
    });
    await expect(clientOn(port).lifecycleUpgrade("ghcr.io/siderolabs/installer:v1.13.9")).resolves.toBeUndefined();
  });

  it("lists the services each minor defines: ImageService and LifecycleService only from 1.13", () => {
    const services = (minor: TalosMinor) => loadTalosApi(minor).services().sort();
    expect(services("1.11")).toEqual(["cluster.ClusterService", "machine.MachineService"]);
    expect(services("1.12")).toEqual(["cluster.ClusterService", "machine.MachineService"]);
    expect(services("1.13")).toEqual([
      "cluster.ClusterService",
      "machine.ImageService",
      "machine.LifecycleService",
      "machine.MachineService",
    ]);
  });

  it("refuses to serve what the minor does not define", () => {
    // MachineService/GenerateConfiguration: in machine.proto until v1.12, removed in v1.13.
    const handler = unary(() => ({}));
    expect(() => loadTalosApi("1.12").service("machine.MachineService", { toString: handler })).toThrow("no such method");
    expect(() => loadTalosApi("1.12").service("machine.MachineService", { GenerateConfiguration: handler })).not.toThrow();
    expect(() => loadTalosApi("1.13").service("machine.MachineService", { GenerateConfiguration: handler })).toThrow(
      "Talos v1.13.9 machine.MachineService/GenerateConfiguration: no such method, a fake must not serve it",
    );
    // RebootRequest.Mode.FORCE exists from v1.12.0; an unknown field is never on the wire.
    const reboot = (minor: TalosMinor) => loadTalosApi(minor).method("machine.MachineService/Reboot");
    expect(() => reboot("1.11").requestSerialize({ mode: "FORCE" })).toThrow("machine.RebootRequest.Mode has no value FORCE");
    expect(reboot("1.12").requestDeserialize(reboot("1.12").requestSerialize({ mode: "FORCE" }))).toEqual({ mode: "FORCE" });
    expect(() => reboot("1.13").responseSerialize({ messages: [{ actorId: "a", rebooted: true }] })).toThrow(
      "machine.Reboot has no field rebooted",
    );
  });
});
