// The live parts of the dashboard: the watches panel opening watches by prefix, a hundred of
// them at once with a bounded number of rows each, and the events/s chart drawn by uPlot.
import { expect, test } from "./fixtures.js";

test("the watches panel opens one watch per prefix typed", async ({
  dashboard,
  writer,
  unique,
}) => {
  const w = writer("gateway");
  await dashboard.open("gateway");
  const form = dashboard.page.getByRole("region", { name: "Watches" });
  await form.locator("#watch-key").fill(`${unique}a/ ${unique}b/  ${unique}c/`);
  await expect(form.locator("#watch-prefix")).toBeChecked();
  await form.getByTestId("watch-add").click();
  const card = (p: string) =>
    dashboard.page.locator(`[data-testid="watch"][data-key="${unique}${p}/"]`);
  for (const p of ["a", "b", "c"]) await expect(card(p)).toHaveAttribute("data-state", "watching");
  await expect(dashboard.watchCards()).toHaveCount(3);

  const rev = await w.put(`${unique}b/x`, "under b");
  await expect(card("b").getByTestId("watch-event")).toHaveAttribute("data-revision", rev);
  await expect(card("b").getByTestId("watch-event").getByTestId("key")).toHaveText(`${unique}b/x`);
  // A prefix watch sees only its prefix.
  const last = await w.put(`${unique}c/y`, "under c");
  await expect(card("c").getByTestId("watch-event")).toHaveAttribute("data-revision", last);
  await expect(card("a").getByTestId("watch-event")).toHaveCount(0);
  await expect(card("b").getByTestId("watch-event")).toHaveCount(1);
});

test("holds 120 watches, each with at most 20 rendered events", async ({
  config,
  dashboard,
  v3,
  unique,
}) => {
  // One shared WebSocket carries every gateway watch; grpc-web over HTTP/1.1 holds one
  // connection per watch, and Chromium opens 6 per origin.
  test.skip(!config.protocols.gateway?.length, "this demo does not offer the gateway");
  await dashboard.open("gateway");
  const prefixes = Array.from(
    { length: 120 },
    (_, i) => `${unique}w${String(i).padStart(3, "0")}/`,
  );
  const form = dashboard.page.getByRole("region", { name: "Watches" });
  await form.locator("#watch-key").fill(prefixes.join(" "));
  await form.getByTestId("watch-add").click();
  await expect(dashboard.watchCards()).toHaveCount(120);
  await expect(dashboard.page.locator('[data-testid="watch"][data-state="watching"]')).toHaveCount(
    120,
    { timeout: 20_000 },
  );
  await expect(dashboard.page.getByTestId("watch-summary")).toHaveText("120 open");

  // One write under each of a few prefixes, and 30 under one.
  for (const i of [0, 59, 119]) await v3.put(`${prefixes[i]}k`, `to ${i}`);
  const busy = prefixes[7] ?? "";
  for (let n = 0; n < 30; n++) await v3.put(`${busy}k`, `n${n}`);
  const card = (p: string) => dashboard.page.locator(`[data-testid="watch"][data-key="${p}"]`);
  for (const i of [0, 59, 119]) {
    await expect(
      card(prefixes[i] ?? "")
        .getByTestId("watch-event")
        .getByTestId("value"),
    ).toHaveText(`to ${i}`);
  }
  await expect(card(busy).getByText("30 events, last 20 shown")).toBeVisible();
  await expect(card(busy).getByTestId("watch-event")).toHaveCount(20);
  await expect(card(busy).getByTestId("watch-event").first().getByTestId("value")).toHaveText(
    "n29",
  );

  await dashboard.page.getByTestId("watch-cancel-all").click();
  await expect(dashboard.page.locator('[data-testid="watch"][data-state="closed"]')).toHaveCount(
    120,
  );
  await expect(dashboard.page.getByTestId("watch-summary")).toHaveText("");
});

test("the events/s chart is drawn by uPlot and follows the events", async ({
  dashboard,
  writer,
  unique,
}) => {
  const w = writer("gateway");
  await dashboard.open("gateway");
  const chart = dashboard.page.getByTestId("rate-chart");
  // uPlot draws on a canvas inside its own .uplot root.
  await expect(chart.locator(".uplot canvas")).toHaveCount(1);
  await expect
    .poll(async () => Number(await chart.getAttribute("data-samples")))
    .toBeGreaterThan(1);
  const before = Number(await chart.getAttribute("data-total"));
  await dashboard.watch(unique, { prefix: true });
  for (let i = 0; i < 5; i++) await w.put(`${unique}k${i}`, String(i));
  // Five watch events, counted on the next sample.
  await expect
    .poll(async () => Number(await chart.getAttribute("data-total")))
    .toBeGreaterThanOrEqual(before + 5);
  await expect.poll(async () => Number(await chart.getAttribute("data-peak"))).toBeGreaterThan(0);
});
