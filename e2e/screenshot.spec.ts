// A picture of the dashboard in use, saved with the test results (test-results/ and the
// report's attachments).
import { expect, test } from "./fixtures.js";

test("screenshot of the dashboard", async ({ config, dashboard, writer, unique }, testInfo) => {
  const w = writer("grpc-web");
  const app = `${unique}app/`;
  await w.put(`${app}config`, JSON.stringify({ replicas: 3, image: "api:1.4.2", debug: false }));
  await w.put(`${app}feature/dark-mode`, "on");
  await w.put(`${app}leader`, "node-b");
  await dashboard.open("grpc-web");
  await dashboard.search(app);
  await expect(dashboard.keyRows()).toHaveCount(3);
  const card = await dashboard.watch(app, { prefix: true });
  await dashboard.watch(`${app}leader`);
  await w.put(`${app}feature/dark-mode`, "off");
  await w.put(`${app}leader`, "node-c");
  await w.delete(`${app}feature/dark-mode`);
  await expect(card.getByTestId("watch-event")).toHaveCount(3);
  for (const name of (config.protocols["grpc-web"] ?? []).map((e) => e.name)) {
    await expect(dashboard.endpoint(name)).toHaveAttribute("data-health", "healthy");
  }
  const path = testInfo.outputPath("dashboard.png");
  await dashboard.page.screenshot({ path, fullPage: true });
  await testInfo.attach("dashboard", { path, contentType: "image/png" });
});
