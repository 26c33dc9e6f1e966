// Live watches, on each protocol the demo offers: writes from Node arrive within a second with
// their revisions and previous values, history from a revision, and Cancel stops the stream.
import { protocolNames } from "../demo/src/config.js";
import { expect, external, keyOn, test } from "./fixtures.js";

for (const protocol of protocolNames) {
  test.describe(protocol, () => {
    test.beforeEach(({ config }) => {
      test.skip(!config.protocols[protocol]?.length, `this demo does not offer ${protocol}`);
    });

    test("a value written from Node appears in the watch within a second", async ({
      dashboard,
      writer,
      unique,
    }) => {
      const w = writer(protocol);
      const key = keyOn(protocol, `${unique}greeting`);
      await dashboard.open(protocol);
      const card = await dashboard.watch(key);
      const events = card.getByTestId("watch-event");

      const first = await w.put(key, "hello");
      // Newest on top: the first row is the last event.
      await expect(events.first(), "PUT within a second").toHaveAttribute("data-revision", first, {
        timeout: 1000,
      });
      await expect(events.first()).toHaveAttribute("data-type", "PUT");
      await expect(events.first().getByTestId("value")).toHaveText("hello");

      const second = await w.put(key, "world");
      await expect(events.first()).toHaveAttribute("data-revision", second, { timeout: 1000 });
      await expect(events.first().getByTestId("value")).toHaveText("world");
      await expect(events.first().getByTestId("prev-value")).toHaveText("hello");

      const deleted = await w.delete(key);
      await expect(events.first()).toHaveAttribute("data-revision", deleted, { timeout: 1000 });
      await expect(events.first()).toHaveAttribute("data-type", "DELETE");
      await expect(events.first().getByTestId("prev-value")).toHaveText("world");
      await expect(events).toHaveCount(3);
    });

    test("a prefix watch from a revision replays the history first", async ({
      dashboard,
      writer,
      unique,
    }) => {
      const w = writer(protocol);
      const dir = keyOn(protocol, `${unique}dir`);
      const from = await w.put(`${dir}/a`, "1");
      await w.put(`${dir}/b`, "2");
      await w.put(keyOn(protocol, `${unique}other`), "not under the prefix");
      await dashboard.open(protocol);
      const card = await dashboard.watch(protocol === "v2" ? dir : `${dir}/`, {
        prefix: true,
        from,
      });
      const events = card.getByTestId("watch-event");
      await expect(events).toHaveCount(2);
      await expect(events.getByTestId("key")).toHaveText([`${dir}/b`, `${dir}/a`]);
      await expect(events.nth(1)).toHaveAttribute("data-revision", from);
      await w.put(`${dir}/c`, "3");
      await expect(events).toHaveCount(3, { timeout: 1000 });
    });

    test("Cancel closes the watch and no update arrives after it", async ({
      dashboard,
      writer,
      unique,
    }) => {
      const w = writer(protocol);
      const key = keyOn(protocol, `${unique}k`);
      await dashboard.open(protocol);
      const cancelled = await dashboard.watch(key);
      const live = await dashboard.watch(key);

      await cancelled.getByTestId("watch-cancel").click();
      await expect(cancelled).toHaveAttribute("data-state", "closed");
      await w.put(key, "after cancel");
      const rev = await w.put(key, "and again");
      // The live watch on the same key proves both writes reached the watchers...
      await expect(live.getByTestId("watch-event").first()).toHaveAttribute("data-revision", rev);
      await expect(live.getByTestId("watch-event")).toHaveCount(2);
      // ...and the cancelled one got neither.
      await expect(cancelled.getByTestId("watch-event")).toHaveCount(0);
      await expect(live).toHaveAttribute("data-state", "watching");
    });
  });
}

test("the bridge carries the page's watches on one stream, and closes it after the last cancel", async ({
  dashboard,
  config,
  request,
  unique,
}) => {
  test.skip(external || !config.bridgeStatsPath, "the bridge runs elsewhere");
  const path = config.bridgeStatsPath ?? "";
  const open = async () =>
    ((await (await request.get(path)).json()) as { openUpstreamStreams: number })
      .openUpstreamStreams;
  // Watches of earlier tests end when their pages close.
  await expect.poll(open).toBe(0);

  await dashboard.open("grpc-web");
  // The key browser's live view watches through the shared request too.
  await expect(dashboard.page.getByTestId("kb-live")).toHaveAttribute("data-state", "watching");
  await expect.poll(open).toBe(1);
  const a = await dashboard.watch(`${unique}a`);
  await expect.poll(open).toBe(1);
  const b = await dashboard.watch(`${unique}b`);
  // Both watches share one request (re-issued with b's create, then the old one closed).
  await expect.poll(open).toBe(1);
  await expect(dashboard.page.getByTestId("bridge-stats")).toHaveAttribute(
    "data-open-streams",
    "1",
  );

  await a.getByTestId("watch-cancel").click();
  await expect(a).toHaveAttribute("data-state", "closed");
  await expect(b).toHaveAttribute("data-state", "watching");
  await expect.poll(open).toBe(1);
  await b.getByTestId("watch-cancel").click();
  await expect.poll(open).toBe(1);
  await expect(dashboard.page.getByTestId("bridge-stats")).toHaveAttribute(
    "data-open-streams",
    "1",
  );
});
