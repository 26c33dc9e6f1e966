// What the dashboard tests share: the demo's config, Node-side clients that write to the same
// etcd the page reads, the control endpoint of e2e/server.mjs, and a page helper.
import { test as base, expect, type Locator, type Page } from "@playwright/test";
import type { DemoConfig, ProtocolName } from "../demo/src/config.js";
import { Etcd } from "../src/node.js";
import { V2Client } from "../src/v2/index.js";

/** Set when the tests target a demo that runs elsewhere (docker-compose), without control. */
export const external = process.env.E2E_BASE_URL !== undefined;

/** Writes from Node through the API the page's protocol reads (v2 keys live apart from v3). */
export interface Writer {
  /** Resolves with the write's revision (v3) or index (v2), as the page shows it. */
  put(key: string, value: string): Promise<string>;
  delete(key: string): Promise<string>;
  get(key: string): Promise<{ value: string; expires: boolean } | undefined>;
}

interface WorkerFixtures {
  config: DemoConfig;
  v3: Etcd;
  v2: V2Client | undefined;
}

interface TestFixtures {
  dashboard: Dashboard;
  /** A key prefix of this test's own: "e2e/<random>/" (v2 adds the leading slash). */
  unique: string;
  writer: (protocol: ProtocolName) => Writer;
}

export const test = base.extend<TestFixtures, WorkerFixtures>({
  config: [
    async ({ playwright }, use, workerInfo) => {
      const request = await playwright.request.newContext({
        baseURL: String(workerInfo.project.use.baseURL),
      });
      const res = await request.get("/demo-config.json");
      expect(res.ok(), "the demo serves /demo-config.json").toBe(true);
      await use((await res.json()) as DemoConfig);
      await request.dispose();
    },
    { scope: "worker" },
  ],
  v3: [
    async ({ config }, use, workerInfo) => {
      // Straight to the members over gRPC when they are reachable; else through the page's
      // own gRPC-Web proxy (Envoy in docker-compose).
      const base = String(workerInfo.project.use.baseURL);
      const members = config.protocols.gateway?.map((e) => e.url);
      const proxies = config.protocols["grpc-web"]?.map((e) => new URL(e.url, base).href) ?? [];
      const etcd = members
        ? new Etcd({ endpoints: members, protocol: "grpc", health: false })
        : new Etcd({ endpoints: proxies, protocol: "grpc-web", health: false });
      await use(etcd);
      await etcd.close();
    },
    { scope: "worker" },
  ],
  v2: [
    async ({ config }, use) => {
      const members = config.protocols.v2?.map((e) => e.url);
      await use(members ? new V2Client({ endpoints: members, timeoutMs: 10_000 }) : undefined);
    },
    { scope: "worker" },
  ],
  writer: async ({ v3, v2 }, use) => {
    await use((protocol) => (protocol === "v2" ? v2Writer(v2) : v3Writer(v3)));
  },
  // biome-ignore lint/correctness/noEmptyPattern: Playwright reads a fixture's needs from this pattern.
  unique: async ({}, use) => {
    await use(`e2e/${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}/`);
  },
  dashboard: async ({ page }, use) => {
    // A script error anywhere on the page fails the test.
    const errors: Error[] = [];
    page.on("pageerror", (e) => errors.push(e));
    await use(new Dashboard(page));
    expect(errors, "uncaught errors in the page").toEqual([]);
  },
});

export { expect };

function v3Writer(etcd: Etcd): Writer {
  return {
    put: async (key, value) => String((await etcd.put(key, value)).header.revision),
    delete: async (key) => String((await etcd.delete(key)).header.revision),
    get: async (key) => {
      const kv = (await etcd.get(key)).first;
      return kv && { value: kv.text(), expires: kv.lease !== 0n };
    },
  };
}

function v2Writer(client: V2Client | undefined): Writer {
  if (!client) throw new Error("this demo does not offer v2");
  return {
    put: async (key, value) => String((await client.keys.set(key, value)).node.modifiedIndex),
    delete: async (key) => String((await client.keys.delete(key)).node.modifiedIndex),
    get: async (key) => {
      try {
        const { node } = await client.keys.get(key);
        return { value: node.value ?? "", expires: node.ttl !== undefined };
      } catch {
        return undefined;
      }
    },
  };
}

/** The key as written on a protocol: v2 keys are paths. */
export function keyOn(protocol: ProtocolName, key: string): string {
  return protocol === "v2" ? `/${key}` : key;
}

/** The dashboard, as a person uses it. */
export class Dashboard {
  constructor(readonly page: Page) {}

  async open(protocol: ProtocolName): Promise<void> {
    await this.page.goto(`/?protocol=${protocol}`);
    await expect(this.page.getByTestId(`protocol-${protocol}`)).toBeChecked();
  }

  /** Switches the protocol with the header's switch. */
  async choose(protocol: ProtocolName): Promise<void> {
    await this.page.getByText(labels[protocol], { exact: true }).click();
    await expect(this.page.getByTestId(`protocol-${protocol}`)).toBeChecked();
  }

  endpoint(name: string): Locator {
    return this.page.locator(`[data-testid="endpoint"][data-name="${name}"]`);
  }

  /** Adds a watch and waits until it is watching; returns its card. */
  async watch(key: string, options: { prefix?: boolean; from?: string } = {}): Promise<Locator> {
    const form = this.page.getByRole("region", { name: "Watches" });
    await form.locator("#watch-key").fill(key);
    await form.locator("#watch-prefix").setChecked(options.prefix ?? false);
    await form.locator("#watch-from").fill(options.from ?? "");
    const before = await this.watchCards().count();
    await form.getByTestId("watch-add").click();
    await expect(this.watchCards()).toHaveCount(before + 1);
    // Cards are added on top; pin this one by its id, since later cards push it down.
    const id = await this.watchCards().first().getAttribute("data-watch-id");
    const card = this.page.locator(`[data-testid="watch"][data-watch-id="${id}"]`);
    await expect(card).toHaveAttribute("data-key", key);
    await expect(card).toHaveAttribute("data-state", "watching");
    return card;
  }

  watchCards(): Locator {
    return this.page.getByTestId("watch");
  }

  keyRows(): Locator {
    return this.page.getByRole("region", { name: "Keys" }).getByTestId("kb-row");
  }

  row(key: string): Locator {
    return this.keyRows().filter({
      has: this.page.getByTestId("key").getByText(key, { exact: true }),
    });
  }

  async search(prefix: string): Promise<void> {
    await this.page.locator("#kb-prefix").fill(prefix);
    await this.page.getByTestId("kb-search").click();
  }

  async put(key: string, value: string, ttlSeconds?: number): Promise<void> {
    await this.page.locator("#put-key").fill(key);
    await this.page.locator("#put-value").fill(value);
    await this.page.locator("#put-ttl").fill(ttlSeconds === undefined ? "" : String(ttlSeconds));
    await this.page.getByTestId("put").click();
    await expect(this.page.getByTestId("kb-status")).toContainText(`Put ${key} at revision`);
  }
}

const labels: Record<ProtocolName, string> = {
  "grpc-web": "gRPC-Web via bridge",
  gateway: "etcd gateway",
  v2: "v2 keys API",
};
