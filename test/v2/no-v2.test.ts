import { afterAll, beforeAll, expect, it } from "vitest";
import { ResponseError, V2Client } from "../../src/v2/index.js";
import { EtcdCluster } from "../harness/etcd.js";

// etcd 3.4 without --enable-v2 answers /v2 with Go's "404 page not found", as etcd 3.6 does.
let etcd: EtcdCluster;
beforeAll(async () => {
  etcd = await EtcdCluster.start({ enableV2: false });
});
afterAll(() => etcd?.stop());

it("says the server does not serve v2, and how to get it", async () => {
  const client = new V2Client({ endpoints: etcd.endpoints });
  for (const call of [
    () => client.keys.get("/k"),
    () => client.keys.create("/k", "v"),
    () => client.members.list(),
  ]) {
    const e = await call().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ResponseError);
    expect(e).toMatchObject({ status: 404, endpoint: etcd.endpoints[0] });
    expect((e as Error).message).toMatch(/does not serve etcd's v2 API.*--enable-v2=true.*3\.6/);
  }
  // The server itself is there: /version does not depend on v2.
  await expect(client.version()).resolves.toMatchObject({ server: expect.stringMatching(/^3\./) });
});
