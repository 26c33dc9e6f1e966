// The key browser: prefix search, pages, put (with an optional lease TTL) and delete.
import type { Backend, Cursor, Entry, Page } from "./backend.js";
import { el, errorText, fill } from "./dom.js";
import { text } from "./format.js";
import { valueCell } from "./values.js";

const pageSizes = [10, 25, 50];

export class KeyBrowser {
  private backend: Backend | undefined;
  /** The start of each page shown so far; [0] is the first page (undefined: from the prefix). */
  private starts: Array<Cursor | undefined> = [undefined];
  private page: Page | undefined;
  private loading = 0;

  private readonly prefix = el("input", {
    id: "kb-prefix",
    type: "search",
    "aria-label": "Key prefix",
    autocomplete: "off",
  });
  private readonly pageSize = el(
    "select",
    { id: "kb-page-size", "aria-label": "Keys per page" },
    ...pageSizes.map((n) => el("option", { value: n }, `${n} per page`)),
  );
  private readonly rows = el("tbody");
  private readonly summary = el("span", { class: "hint", "data-testid": "kb-summary" });
  private readonly prev = el(
    "button",
    {
      type: "button",
      class: "secondary",
      "data-testid": "kb-prev",
      on: { click: () => this.go(-1) },
    },
    "‹ Previous",
  );
  private readonly next = el(
    "button",
    {
      type: "button",
      class: "secondary",
      "data-testid": "kb-next",
      on: { click: () => this.go(1) },
    },
    "Next ›",
  );
  private readonly putKey = el("input", {
    id: "put-key",
    "aria-label": "Key",
    autocomplete: "off",
    required: true,
  });
  private readonly putValue = el("textarea", { id: "put-value", "aria-label": "Value", rows: 2 });
  private readonly putTtl = el("input", {
    id: "put-ttl",
    type: "number",
    min: 1,
    step: 1,
    placeholder: "none",
    "aria-label": "Lease TTL in seconds",
  });
  private readonly status = el("p", {
    class: "status",
    role: "status",
    "data-testid": "kb-status",
  });

  constructor(root: HTMLElement) {
    fill(
      root,
      el("div", { class: "panel-head" }, el("h2", {}, "Keys")),
      el(
        "form",
        { class: "row", on: { submit: (e) => this.onSearch(e) } },
        this.prefix,
        this.pageSize,
        el("button", { type: "submit", "data-testid": "kb-search" }, "Search"),
      ),
      el(
        "div",
        { class: "table-wrap" },
        el(
          "table",
          { class: "kv" },
          el(
            "thead",
            {},
            el(
              "tr",
              {},
              ...["Key", "Value", "Revision", "Expires", ""].map((h) => el("th", {}, h)),
            ),
          ),
          this.rows,
        ),
      ),
      el("div", { class: "row pager" }, this.prev, this.summary, this.next),
      el(
        "form",
        { class: "put-form", on: { submit: (e) => this.onPut(e) } },
        el("h3", {}, "Put"),
        el("label", {}, "Key", this.putKey),
        el("label", {}, "Value", this.putValue),
        el("label", { class: "ttl" }, "Lease TTL (s)", this.putTtl),
        el("button", { type: "submit", "data-testid": "put" }, "Put"),
      ),
      this.status,
    );
  }

  show(backend: Backend): void {
    this.backend = backend;
    this.prefix.placeholder = `prefix, e.g. ${backend.keyExample.split("/").slice(0, -1).join("/")}/`;
    this.putKey.placeholder = backend.keyExample;
    this.say("");
    // Another protocol's keys are another listing (v2 keys live apart from v3).
    fill(this.rows);
    fill(this.summary);
    void this.load([undefined]);
  }

  private onSearch(e: Event): void {
    e.preventDefault();
    void this.load([undefined]);
  }

  private go(step: number): void {
    if (step > 0 && this.page?.next) void this.load([...this.starts, this.page.next]);
    if (step < 0 && this.starts.length > 1) void this.load(this.starts.slice(0, -1));
  }

  /** Loads the last page of `starts`; a newer load wins over an older one still running. */
  private async load(starts: Array<Cursor | undefined>): Promise<void> {
    const backend = this.backend;
    if (!backend) return;
    const ticket = ++this.loading;
    this.rows.setAttribute("aria-busy", "true");
    try {
      const page = await backend.list(
        this.prefix.value,
        starts[starts.length - 1],
        Number(this.pageSize.value),
      );
      if (ticket !== this.loading || backend !== this.backend) return;
      this.starts = starts;
      this.page = page;
      this.render(page);
    } catch (e) {
      if (ticket === this.loading) this.say(`Listing failed: ${errorText(e)}`, true);
    } finally {
      if (ticket === this.loading) this.rows.removeAttribute("aria-busy");
    }
  }

  private render(page: Page): void {
    fill(
      this.rows,
      ...page.entries.map((e) => this.row(e)),
      page.entries.length === 0
        ? el("tr", {}, el("td", { colspan: 5, class: "empty" }, "No keys under this prefix."))
        : null,
    );
    const n = this.starts.length;
    const total = page.total === undefined ? "" : ` of ${page.total}`;
    const at = page.revision === undefined ? "" : ` · revision ${page.revision}`;
    fill(
      this.summary,
      `Page ${n}${total === "" ? "" : ` · ${page.entries.length} shown${total}`}${at}`,
    );
    this.prev.disabled = n <= 1;
    this.next.disabled = !page.next;
  }

  private row(e: Entry): HTMLElement {
    return el(
      "tr",
      { "data-testid": "kb-row" },
      el("td", { class: "mono key", "data-testid": "key" }, e.key),
      el("td", {}, valueCell(e.value)),
      el("td", { class: "num fit" }, e.revision),
      el("td", { class: "fit hint" }, e.expiry ?? "—"),
      el(
        "td",
        { class: "actions fit" },
        el(
          "button",
          { type: "button", class: "secondary small", on: { click: () => this.edit(e) } },
          "Edit",
        ),
        el(
          "button",
          {
            type: "button",
            class: "danger small",
            "data-testid": "kb-delete",
            "aria-label": `Delete ${e.key}`,
            on: { click: () => void this.remove(e.key) },
          },
          "Delete",
        ),
      ),
    );
  }

  private edit(e: Entry): void {
    this.putKey.value = e.key;
    this.putValue.value = text(e.value);
    this.putValue.focus();
  }

  private async onPut(e: Event): Promise<void> {
    e.preventDefault();
    const backend = this.backend;
    if (!backend) return;
    const ttl = this.putTtl.value === "" ? undefined : Number(this.putTtl.value);
    try {
      const revision = await backend.put(this.putKey.value, this.putValue.value, ttl);
      this.say(
        `Put ${this.putKey.value} at revision ${revision}${ttl ? `, expiring in ${ttl} s` : ""}.`,
      );
      // Later pages read at the first page's revision: start over to see the change.
      await this.load([undefined]);
    } catch (err) {
      this.say(`Put failed: ${errorText(err)}`, true);
    }
  }

  private async remove(key: string): Promise<void> {
    const backend = this.backend;
    if (!backend) return;
    try {
      const n = await backend.remove(key);
      this.say(n ? `Deleted ${key}.` : `${key} was already gone.`);
      await this.load([undefined]);
    } catch (err) {
      this.say(`Delete failed: ${errorText(err)}`, true);
    }
  }

  private say(message: string, error = false): void {
    this.status.classList.toggle("error", error);
    fill(this.status, message);
  }
}
