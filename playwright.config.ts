// The dashboard's browser tests (e2e/), in Debian's Chromium. Playwright's webServer runs
// e2e/server.mjs: a 3-member etcd, the bridge and the built demo on http://127.0.0.1:4173.
//
// E2E_BASE_URL=http://localhost:5173 targets a demo that is already running instead, such as
// the docker-compose stack; the tests that need the local control endpoint (killing a member,
// the bridge's counters) are skipped there.
import { defineConfig } from "@playwright/test";

const external = process.env.E2E_BASE_URL;
const port = Number(process.env.E2E_PORT ?? 4173);

export default defineConfig({
  testDir: "e2e",
  outputDir: "test-results",
  // The tests share one cluster, and one of them kills a member: one at a time.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  timeout: 30_000,
  expect: { timeout: 10_000 },
  reporter: [["list"]],
  use: {
    baseURL: external ?? `http://127.0.0.1:${port}`,
    browserName: "chromium",
    viewport: { width: 1360, height: 900 },
    launchOptions: {
      // Playwright's own browser download does not work here; Debian's chromium package does.
      executablePath: process.env.E2E_CHROMIUM ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
  },
  webServer: external
    ? []
    : {
        command: "node e2e/server.mjs",
        url: `http://127.0.0.1:${port}/demo-config.json`,
        env: { E2E_PORT: String(port) },
        timeout: 60_000,
        reuseExistingServer: false,
        stdout: "pipe",
        stderr: "pipe",
        gracefulShutdown: { signal: "SIGTERM", timeout: 10_000 },
      },
});
