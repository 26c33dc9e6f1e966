import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/bridge/cli-main.js";
import { Auth, Cluster, KV, Lease, Maintenance, Watch } from "../../src/gen/etcdserverpb/rpc_pb.js";
import type { TestCerts } from "../harness/certs.js";
import { EtcdCluster } from "../harness/etcd.js";
import { startClientCertEtcd } from "../harness/tls-etcd.js";
import { bridgeStarter, enc, fetchFrom, nextWithin, oneRequestStream } from "./helpers.js";

// Which etcd methods the bridge serves, with each option; and token-less calls when the bridge
// holds a client certificate.
const page = "http://127.0.0.1:5173";
let etcd: EtcdCluster;
const bridges = bridgeStarter(() => etcd.endpoints, { allowOrigin: [page] });
const bridgeWith = bridges.start;
beforeAll(async () => {
  etcd = await EtcdCluster.start();
});
afterAll(async () => {
  await bridges.closeAll();
  await etcd?.stop();
});

/** gRPC-Web from the allowed page, gRPC-Web with no Origin (not a page), Connect JSON. */
const transports = (url: string): Array<[string, Transport]> => [
  ["gRPC-Web from the page", createGrpcWebTransport({ baseUrl: url, fetch: fetchFrom(page) })],
  ["gRPC-Web without Origin", createGrpcWebTransport({ baseUrl: url })],
  [
    "Connect JSON from the page",
    createConnectTransport({ baseUrl: url, useBinaryFormat: false, fetch: fetchFrom(page) }),
  ],
];

const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );

/** The refusal of one method, or undefined when it reached etcd (whatever etcd answered). */
async function refusal(t: Transport, name: string): Promise<ConnectError | undefined> {
  const call = async () => {
    switch (name) {
      case "etcdserverpb.Maintenance/Snapshot":
        for await (const _ of createClient(Maintenance, t).snapshot({})) break;
        return;
      case "etcdserverpb.Auth/AuthDisable":
        return createClient(Auth, t).authDisable({});
      case "etcdserverpb.Maintenance/Defragment":
        return createClient(Maintenance, t).defragment({});
      case "etcdserverpb.Cluster/MemberRemove":
        return createClient(Cluster, t).memberRemove({ ID: 1n });
      case "etcdserverpb.Auth/UserList":
        return createClient(Auth, t).userList({});
      case "etcdserverpb.KV/Put":
        return createClient(KV, t).put({ key: enc("policy/k"), value: enc("v") });
      case "etcdserverpb.KV/Range":
        return createClient(KV, t).range({ key: enc("policy/k") });
      case "etcdserverpb.Lease/LeaseGrant":
        return createClient(Lease, t).leaseGrant({ TTL: 10n });
      case "etcdserverpb.Maintenance/Status":
        return createClient(Maintenance, t).status({});
      case "etcdserverpb.Cluster/MemberList":
        return createClient(Cluster, t).memberList({});
      case "etcdserverpb.Watch/Watch": {
        const abort = new AbortController();
        const w = oneRequestStream(
          t,
          Watch.method.watch,
          { requestUnion: { case: "createRequest", value: { key: enc("policy/k") } } },
          { signal: abort.signal },
        );
        try {
          await nextWithin(w, 10_000, "the watch's created", () => "");
        } finally {
          abort.abort();
        }
        return;
      }
    }
    throw new Error(`no call for ${name}`);
  };
  const e = await failure(call());
  return e?.code === Code.PermissionDenied ? e : undefined;
}

async function expectServed(url: string, served: string[], refused: string[]) {
  for (const [how, t] of transports(url)) {
    for (const name of served) {
      expect(await refusal(t, name), `${name} over ${how}`).toBeUndefined();
    }
    for (const name of refused) {
      const e = await refusal(t, name);
      expect(e?.code, `${name} over ${how}`).toBe(Code.PermissionDenied);
      expect(e?.rawMessage).toContain(`--allow-method ${name}`);
    }
  }
}

const dangerous = [
  "etcdserverpb.Maintenance/Snapshot",
  "etcdserverpb.Auth/AuthDisable",
  "etcdserverpb.Maintenance/Defragment",
  "etcdserverpb.Cluster/MemberRemove",
];

describe("the method policy", () => {
  it("by default serves KV, Watch, Lease, Status and MemberList, and refuses the rest", async () => {
    const b = await bridgeWith();
    await expectServed(
      b.url,
      [
        "etcdserverpb.KV/Put",
        "etcdserverpb.KV/Range",
        "etcdserverpb.Watch/Watch",
        "etcdserverpb.Lease/LeaseGrant",
        "etcdserverpb.Maintenance/Status",
        "etcdserverpb.Cluster/MemberList",
      ],
      [...dangerous, "etcdserverpb.Auth/UserList"],
    );
  });

  it("serves a method named by --allow-method, and a service by Service/*", async () => {
    const b = await bridgeWith({
      allowMethods: ["etcdserverpb.Maintenance/Snapshot", "etcdserverpb.Auth/*"],
    });
    await expectServed(
      b.url,
      ["etcdserverpb.Maintenance/Snapshot", "etcdserverpb.Auth/UserList"],
      ["etcdserverpb.Maintenance/Defragment", "etcdserverpb.Cluster/MemberRemove"],
    );
  });

  it("serves everything with --allow-all-methods", async () => {
    const b = await bridgeWith({ allowAllMethods: true });
    await expectServed(
      b.url,
      [
        "etcdserverpb.Maintenance/Snapshot",
        "etcdserverpb.Auth/UserList",
        "etcdserverpb.Cluster/MemberRemove",
      ],
      [],
    );
  });

  it("serves only reads with --read-only", async () => {
    const b = await bridgeWith({ readOnly: true });
    await expectServed(
      b.url,
      [
        "etcdserverpb.KV/Range",
        "etcdserverpb.Watch/Watch",
        "etcdserverpb.Maintenance/Status",
        "etcdserverpb.Cluster/MemberList",
      ],
      ["etcdserverpb.KV/Put", "etcdserverpb.Lease/LeaseGrant", ...dangerous],
    );
  });

  it("takes the same policy from the command line", async () => {
    const out: string[] = [];
    const server = await runCli(
      [
        ...["--listen", "127.0.0.1:0", "--etcd", etcd.endpoints[0] ?? ""],
        ...["--allow-origin", page, "--read-only", "--allow-method", "etcdserverpb.Auth/UserList"],
      ],
      (line) => out.push(line),
      () => {},
    );
    try {
      expect(out).toContain("  methods: read-only, and etcdserverpb.Auth/UserList");
      await expectServed(
        server?.url ?? "",
        ["etcdserverpb.KV/Range", "etcdserverpb.Auth/UserList"],
        ["etcdserverpb.KV/Put"],
      );
    } finally {
      await server?.close();
    }
  });
});

describe("a bridge with a client certificate", () => {
  let certs: TestCerts;
  let tlsEtcd: EtcdCluster;
  let stop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    ({ etcd: tlsEtcd, certs, stop } = await startClientCertEtcd());
  });
  afterAll(() => stop?.());

  const withCert = (allowCertIdentity?: boolean) =>
    bridgeWith({
      etcd: tlsEtcd.endpoints,
      etcdTls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey },
      allowCertIdentity,
    });

  it("refuses calls without a token, which etcd would run as the certificate's user", async () => {
    const b = await withCert();
    for (const [how, t] of transports(b.url)) {
      const e = await failure(createClient(KV, t).range({ key: enc("k") }));
      expect(e?.code, how).toBe(Code.Unauthenticated);
      expect(e?.rawMessage, how).toContain("--allow-cert-identity");
      // Logging in needs no token: it reaches etcd (auth is off here, as etcd then says).
      const login = await failure(createClient(Auth, t).authenticate({ name: "u", password: "p" }));
      expect(login?.rawMessage, how).not.toContain("--allow-cert-identity");
      // A token passes on to etcd, which judges it.
      const tokened = await failure(
        createClient(KV, t).range({ key: enc("k") }, { headers: { token: "some-token" } }),
      );
      expect(tokened?.rawMessage ?? "", how).not.toContain("--allow-cert-identity");
    }
  });

  it("passes them with --allow-cert-identity", async () => {
    const b = await withCert(true);
    for (const [how, t] of transports(b.url)) {
      expect((await createClient(KV, t).range({ key: enc("k") })).kvs, how).toEqual([]);
    }
  });
});
