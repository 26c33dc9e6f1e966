// Keys, values and error text reach the page as text: markup in them shows as written and
// runs nothing, in the key browser and in watch events, in every value view.
import { protocolNames } from "../demo/src/config.js";
import { expect, keyOn, test } from "./fixtures.js";

const markup = '<img src=x onerror="window.__xss=1">';
const markupKey = "<img src=x onerror=window.__xss=2>";

for (const protocol of protocolNames) {
  test(`${protocol}: markup in keys and values renders as text and runs nothing`, async ({
    config,
    dashboard,
    writer,
    unique,
  }) => {
    test.skip(!config.protocols[protocol]?.length, `this demo does not offer ${protocol}`);
    const page = dashboard.page;
    const fetched: string[] = [];
    page.on("request", (r) => {
      if (new URL(r.url()).pathname.endsWith("/x")) fetched.push(r.url());
    });
    page.on("dialog", (d) => {
      fetched.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    const prefix = keyOn(protocol, unique);
    const key = `${prefix}${markupKey}`;
    await dashboard.open(protocol);
    const card = await dashboard.watch(protocol === "v2" ? prefix.slice(0, -1) : prefix, {
      prefix: true,
    });

    await writer(protocol).put(key, markup);
    const event = card.getByTestId("watch-event").first();
    await expect(event.getByTestId("key")).toHaveText(key);
    await expect(event.getByTestId("value")).toHaveText(markup);

    // Written through the page's own form too.
    const formKey = `${prefix}form<script>window.__xss=3</script>`;
    await dashboard.put(formKey, '<svg onload="window.__xss=4"></svg>');
    await dashboard.search(prefix);
    await expect(dashboard.row(key).getByTestId("value")).toHaveText(markup);
    await expect(dashboard.row(formKey).getByTestId("value")).toHaveText(
      '<svg onload="window.__xss=4"></svg>',
    );
    for (const view of ["JSON", "Hex", "Text"]) {
      await page.getByText(view, { exact: true }).click();
    }
    await expect(dashboard.row(key).getByTestId("value")).toHaveText(markup);

    expect(await page.locator("#app img, #app script, #app svg").count()).toBe(0);
    expect(await page.evaluate(() => (window as { __xss?: unknown }).__xss)).toBeUndefined();
    expect(fetched, "no image load or dialog came from the data").toEqual([]);
  });
}
