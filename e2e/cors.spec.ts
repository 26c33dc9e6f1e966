// A page whose origin etcd (--cors) and the bridge (--allow-origin) do not allow: fetch says
// only "Failed to fetch", so etcd-web's error must name the page's origin and the likely
// causes. The page is served (by page.route) from http://127.0.0.1:4299, a port that neither
// etcd nor the bridge lists, and calls the real members and bridges of e2e/server.mjs.
import { build } from "esbuild";
import { expect, external, test } from "./fixtures.js";

const pageOrigin = "http://127.0.0.1:4299";

async function etcdWebIife(): Promise<string> {
  const out = await build({
    entryPoints: ["src/index.ts"],
    bundle: true,
    format: "iife",
    globalName: "EtcdWeb",
    platform: "browser",
    write: false,
    logLevel: "silent",
  });
  return out.outputFiles[0]?.text ?? "";
}

test("a CORS refusal names the page's origin, --cors and --allow-origin", async ({
  page,
  config,
  baseURL,
}) => {
  test.skip(external, "needs to know which origins the local etcd and bridge allow");
  const members = (config.protocols.gateway ?? []).map((e) => e.url);
  const bridges = (config.protocols["grpc-web"] ?? []).map((e) => new URL(e.url, baseURL).href);
  expect(members.length).toBeGreaterThan(0);
  expect(bridges.length).toBeGreaterThan(0);
  const code = await etcdWebIife();
  await page.route(`${pageOrigin}/**`, (route) =>
    route.fulfill({ contentType: "text/html", body: "<!doctype html><title>cors</title>" }),
  );
  await page.goto(`${pageOrigin}/`);
  await page.addScriptTag({ content: code });

  const attempt = (protocol: string, endpoint: string) =>
    page.evaluate(
      async ({ protocol, endpoint }) => {
        const { Etcd } = (globalThis as unknown as { EtcdWeb: typeof import("../src/index.js") })
          .EtcdWeb;
        const etcd = new Etcd({
          endpoints: [endpoint],
          protocol: protocol as "gateway" | "grpc-web",
          health: false,
          retry: { maxAttempts: 1 },
        });
        try {
          await etcd.get("cors-probe");
          return { ok: true, message: "" };
        } catch (e) {
          const inner = (e as { errors?: Array<{ error: Error }> }).errors?.[0]?.error;
          return {
            ok: false,
            message: inner?.message ?? String(e),
            code: (inner as { code?: number } | undefined)?.code,
          };
        } finally {
          await etcd.close();
        }
      },
      { protocol, endpoint },
    );

  for (const [protocol, endpoint] of [
    ["gateway", members[0] ?? ""],
    ["grpc-web", bridges[0] ?? ""],
  ] as const) {
    const target = new URL(endpoint).origin;
    const r = await attempt(protocol, endpoint);
    expect(r.ok, `${protocol}: the call should have been refused`).toBe(false);
    expect(r.code, `${protocol}: ${r.message}`).toBe(14);
    expect(r.message).toContain("Failed to fetch");
    expect(r.message).toContain(
      `(from a page on ${pageOrigin}: either ${target} is down, or it does not allow this origin through CORS: etcd's --cors, or etcd-web-bridge's --allow-origin, must list ${pageOrigin})`,
    );
  }
});
