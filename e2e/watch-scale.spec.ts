// 100 watches in one tab, on the page's plain HTTP/1.1 origin, where Chromium opens at most 6
// connections: all are confirmed, a get beside them answers, every put reaches its watch once,
// and after going offline while the proxy (or a member) restarts and writes land, every watch
// resumes exactly once. The client is etcd-web's browser bundle, loaded into a page of the
// demo's origin that runs nothing else (the dashboard's own watches would share the
// connections): the demo's config JSON. (A page that Playwright fulfils itself counts as
// public to Chromium, which then refuses its requests to the loopback members.)
import type { Page } from "@playwright/test";
import { build } from "esbuild";
import { Etcd } from "../src/node.js";
import { expect, external, test } from "./fixtures.js";

const n = 100;

let bundle: Promise<string> | undefined;
function clientBundle(): Promise<string> {
  bundle ??= build({
    entryPoints: ["src/index.ts"],
    bundle: true,
    platform: "browser",
    format: "iife",
    globalName: "EtcdWeb",
    target: "es2022",
    write: false,
    logLevel: "warning",
  }).then((out) => out.outputFiles.map((f) => f.text).join("\n"));
  return bundle;
}

/** A page of the demo's origin with only the client loaded, and n watches open. */
async function openWatches(
  page: Page,
  protocol: "grpc-web" | "gateway",
  endpoints: string[],
  prefix: string,
): Promise<void> {
  await page.goto("/demo-config.json");
  await page.addScriptTag({ content: await clientBundle() });
  await page.evaluate(
    async ({ protocol, endpoints, prefix, n }) => {
      type Api = typeof import("../src/index.js");
      const { Etcd } = (globalThis as unknown as { EtcdWeb: Api }).EtcdWeb;
      const etcd = new Etcd({
        endpoints: endpoints.map((e) => new URL(e, location.href).href),
        protocol,
        health: { intervalMs: 1000 },
        retry: { backoff: { baseMs: 50, maxMs: 500 } },
      });
      const seen: Record<string, string[]> = {};
      const watchers = Array.from({ length: n }, (_, i) => etcd.watch(`${prefix}${i}`));
      for (const w of watchers) {
        void (async () => {
          for await (const res of w) {
            for (const e of res.events) {
              seen[e.kv.keyText] = [...(seen[e.kv.keyText] ?? []), String(e.kv.modRevision)];
            }
          }
        })();
      }
      Object.assign(globalThis, { scale: { etcd, seen, watchers } });
      await Promise.all(watchers.map((w) => w.ready({ timeoutMs: 15_000 }))).catch((e) => {
        const states: Record<string, number> = {};
        for (const w of watchers) states[w.state] = (states[w.state] ?? 0) + 1;
        throw new Error(
          `${e}; ${JSON.stringify(states)} ${JSON.stringify(etcd.endpointStates().map((s) => [s.url, s.health, s.lastError?.message]))}`,
        );
      });
    },
    { protocol, endpoints, prefix, n },
  );
}

interface Scale {
  etcd: Etcd;
  seen: Record<string, string[]>;
  watchers: { state: string }[];
}
const seen = (page: Page) =>
  page.evaluate(() => (globalThis as unknown as { scale: Scale }).scale.seen);

/** Puts every key once from Node; returns what each watch should have seen so far. */
async function putAll(v3: Etcd, prefix: string, expected: Record<string, string[]>) {
  for (let i = 0; i < n; i++) {
    const key = `${prefix}${i}`;
    const rev = String((await v3.put(key, `v${i}`)).header.revision);
    expected[key] = [...(expected[key] ?? []), rev];
  }
  return { ...expected };
}

for (const protocol of ["grpc-web", "gateway"] as const) {
  test(`${protocol}: ${n} watches in one tab are confirmed, each put arrives once, and each resumes once after offline and a restart`, async ({
    page,
    config,
    request,
    unique,
  }) => {
    test.skip(external, "needs the local control endpoint");
    const endpoints = config.protocols[protocol]?.map((e) => e.url) ?? [];
    test.skip(endpoints.length === 0, `this demo does not offer ${protocol}`);
    const errors: Error[] = [];
    page.on("pageerror", (e) => errors.push(e));
    // Writes go to the members other than m0, which the gateway test kills: a write in flight
    // on a connection that dies may have been applied, and must not be guessed at.
    const members = (config.protocols.gateway ?? []).map((m) => m.url);
    test.skip(members.length < 2, "needs a cluster");
    const v3 = new Etcd({ endpoints: members.slice(1), protocol: "grpc", health: false });
    try {
      const prefix = `${unique}w`;
      const streams = async () =>
        config.bridgeStatsPath
          ? (
              (await (await request.get(config.bridgeStatsPath)).json()) as {
                openUpstreamStreams: number;
              }
            ).openUpstreamStreams
          : 0;
      // Watches of earlier tests end when their pages close.
      await expect.poll(streams).toBe(0);

      await openWatches(page, protocol, endpoints, prefix);
      if (protocol === "grpc-web") expect(await streams()).toBe(1);
      const got = await page.evaluate(async (key) => {
        const { etcd } = (globalThis as unknown as { scale: Scale }).scale;
        return String((await etcd.get(key, { timeoutMs: 5000 })).count);
      }, `${prefix}0`);
      expect(got).toBe("0");

      const expected: Record<string, string[]> = {};
      await expect.poll(() => seen(page)).toEqual(await putAll(v3, prefix, expected));

      await page.context().setOffline(true);
      await expect
        .poll(() =>
          page.evaluate(() =>
            (globalThis as unknown as { scale: Scale }).scale.etcd
              .endpointStates()
              .every((s) => s.health === "unhealthy"),
          ),
        )
        .toBe(true);
      if (protocol === "grpc-web") {
        expect((await request.post("/__test/bridges/restart")).ok()).toBe(true);
      } else {
        expect((await request.post("/__test/members/m0/kill")).ok()).toBe(true);
        // m0 may have led: write once the others have a leader again (a linearizable read
        // answers then), so that no write times out with an unknown outcome.
        await expect
          .poll(
            () =>
              v3.get("x", { timeoutMs: 2000 }).then(
                () => true,
                () => false,
              ),
            { timeout: 20_000 },
          )
          .toBe(true);
      }
      await putAll(v3, prefix, expected);
      if (protocol === "gateway") {
        expect((await request.post("/__test/members/m0/restart")).ok()).toBe(true);
      }
      await page.context().setOffline(false);
      await expect.poll(() => seen(page), { timeout: 20_000 }).toEqual({ ...expected });
      await expect
        .poll(() =>
          page.evaluate(() =>
            (globalThis as unknown as { scale: Scale }).scale.watchers.every(
              (w) => w.state === "watching",
            ),
          ),
        )
        .toBe(true);
      // A third round: a watch that repeated an event would show it before these.
      await expect.poll(() => seen(page)).toEqual(await putAll(v3, prefix, expected));
      if (protocol === "grpc-web") expect(await streams()).toBeLessThanOrEqual(2);
      expect(errors).toEqual([]);
    } finally {
      await v3.close();
    }
  });
}
