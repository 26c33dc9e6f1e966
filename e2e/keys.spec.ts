// The key browser: a live view of a prefix on each protocol (writes from elsewhere show with
// no search), create, read and delete, a lease TTL, the value views, and pages of keys.
import { protocolNames } from "../demo/src/config.js";
import { expect, keyOn, test } from "./fixtures.js";

for (const protocol of protocolNames) {
  test.describe(protocol, () => {
    test.beforeEach(({ config }) => {
      test.skip(!config.protocols[protocol]?.length, `this demo does not offer ${protocol}`);
    });

    test("create, read and delete through the key browser", async ({
      dashboard,
      writer,
      unique,
    }) => {
      const w = writer(protocol);
      const prefix = keyOn(protocol, unique);
      const key = `${prefix}settings`;
      const value = '{"replicas":3,"name":"api"}';
      await dashboard.open(protocol);
      await dashboard.search(prefix);
      await expect(dashboard.page.getByText("No keys under this prefix.")).toBeVisible();

      await dashboard.put(key, value);
      const row = dashboard.row(key);
      await expect(row.getByTestId("value")).toHaveText(value);
      expect(await w.get(key), "Node reads what the page wrote").toEqual({ value, expires: false });

      // The same bytes as JSON and as hex.
      await dashboard.page.getByText("JSON", { exact: true }).click();
      await expect(row.getByTestId("value")).toHaveText(JSON.stringify(JSON.parse(value), null, 2));
      await dashboard.page.getByText("Hex", { exact: true }).click();
      await expect(row.getByTestId("value")).toHaveText(/^7b 22 72 65 70 6c/);
      await dashboard.page.getByText("Text", { exact: true }).click();

      // A write from elsewhere shows by itself: the key browser is a live view.
      await w.put(`${prefix}other`, "from node");
      await expect(dashboard.keyRows().getByTestId("key")).toHaveText([`${prefix}other`, key]);

      await row.getByTestId("kb-delete").click();
      await expect(row).toHaveCount(0);
      await expect(dashboard.page.getByTestId("kb-status")).toHaveText(`Deleted ${key}.`);
      expect(await w.get(key), "Node no longer finds it").toBeUndefined();
    });

    test("rows change as keys change elsewhere, without a search", async ({
      dashboard,
      writer,
      unique,
    }) => {
      const w = writer(protocol);
      const prefix = keyOn(protocol, unique);
      await w.put(`${prefix}a`, "1");
      await dashboard.open(protocol);
      await dashboard.search(prefix);
      await expect(dashboard.keyRows().getByTestId("key")).toHaveText([`${prefix}a`]);
      await expect(dashboard.page.getByTestId("kb-live")).toHaveAttribute("data-state", "watching");
      // From here on, no search: every change below comes from Node.

      await w.put(`${prefix}b`, "2");
      await expect(dashboard.keyRows().getByTestId("key")).toHaveText([`${prefix}a`, `${prefix}b`]);
      await w.put(`${prefix}a`, "changed");
      await expect(dashboard.row(`${prefix}a`).getByTestId("value")).toHaveText("changed");
      const revision = await w.delete(`${prefix}b`);
      await expect(dashboard.keyRows().getByTestId("key")).toHaveText([`${prefix}a`]);
      if (protocol !== "v2") {
        await expect(dashboard.page.getByTestId("kb-summary")).toContainText(
          `1 shown of 1 · revision ${revision}`,
        );
      }
      await w.delete(`${prefix}a`);
      await expect(dashboard.page.getByText("No keys under this prefix.")).toBeVisible();
    });

    test("put with a lease TTL", async ({ dashboard, writer, unique }) => {
      const key = keyOn(protocol, `${unique}session`);
      await dashboard.open(protocol);
      await dashboard.put(key, "expires", 60);
      await dashboard.search(keyOn(protocol, unique));
      const expiry = protocol === "v2" ? /^ttl \d+ s$/ : /^lease [0-9a-f]+$/;
      await expect(dashboard.row(key).locator("td").nth(3)).toHaveText(expiry);
      expect(await writer(protocol).get(key)).toEqual({ value: "expires", expires: true });
    });

    test("pages through the keys under a prefix", async ({ dashboard, writer, unique }) => {
      const w = writer(protocol);
      const prefix = keyOn(protocol, unique);
      const keys = Array.from({ length: 12 }, (_, i) => `${prefix}k${String(i).padStart(2, "0")}`);
      for (const k of keys) await w.put(k, `value ${k}`);
      await dashboard.open(protocol);
      await dashboard.search(prefix);
      const shown = dashboard.keyRows().getByTestId("key");
      await expect(shown).toHaveText(keys.slice(0, 10));
      await expect(dashboard.page.getByTestId("kb-summary")).toContainText(
        "Page 1 · 10 shown of 12",
      );
      await expect(dashboard.page.getByTestId("kb-prev")).toBeDisabled();
      await dashboard.page.getByTestId("kb-next").click();
      await expect(shown).toHaveText(keys.slice(10));
      await expect(dashboard.page.getByTestId("kb-next")).toBeDisabled();
      // A key written elsewhere lands on the page it sorts into.
      await w.put(`${prefix}k10a`, "late");
      await expect(shown).toHaveText([...keys.slice(10, 11), `${prefix}k10a`, ...keys.slice(11)]);
      await expect(dashboard.page.getByTestId("kb-summary")).toContainText("3 shown of 13");
      await dashboard.page.getByTestId("kb-prev").click();
      await expect(shown).toHaveText(keys.slice(0, 10));
    });
  });
}
