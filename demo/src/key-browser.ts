// The key browser: a live view of the keys under a prefix (rows change as keys change, with
// no search), in pages; put (with an optional lease TTL), edit and delete.
import type { Backend, Entry, LiveKeys } from "./backend.js";
import { el, errorText, fill } from "./dom.js";
import { text } from "./format.js";
import { countEvent } from "./rate.js";
import { valueCell } from "./values.js";

const pageSizes = [10, 25, 50];
/** Typing in the prefix box opens a new view once the typing pauses this long. */
const typingPauseMs = 250;

export class KeyBrowser {
  private backend: Backend | undefined;
  /** Ends the current live view. */
  private viewing: AbortController | undefined;
  private keys: LiveKeys | undefined;
  private pageIndex = 0;
  private frame: number | undefined;
  private typing: ReturnType<typeof setTimeout> | undefined;

  private readonly prefix = el("input", {
    id: "kb-prefix",
    type: "search",
    "aria-label": "Key prefix",
    autocomplete: "off",
    on: { input: () => this.onTyping() },
  });
  private readonly pageSize = el(
    "select",
    {
      id: "kb-page-size",
      "aria-label": "Keys per page",
      on: { change: () => this.go(-this.pageIndex) },
    },
    ...pageSizes.map((n) => el("option", { value: n }, `${n} per page`)),
  );
  private readonly live = el(
    "span",
    { class: "badge listing", "data-testid": "kb-live", title: "the live view's state" },
    "listing",
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
      el("div", { class: "panel-head" }, el("h2", {}, "Keys"), this.live),
      el(
        "form",
        { class: "row", on: { submit: (e) => this.onSearch(e) } },
        this.prefix,
        this.pageSize,
        el("button", { type: "submit", "data-testid": "kb-search" }, "Show"),
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
    this.open();
  }

  private onSearch(e: Event): void {
    e.preventDefault();
    this.open();
  }

  private onTyping(): void {
    clearTimeout(this.typing);
    this.typing = setTimeout(() => this.open(), typingPauseMs);
  }

  /** Ends the current view and opens one on the prefix in the box. */
  private open(): void {
    clearTimeout(this.typing);
    this.viewing?.abort();
    const backend = this.backend;
    if (!backend) return;
    const viewing = new AbortController();
    this.viewing = viewing;
    this.keys = undefined;
    this.pageIndex = 0;
    this.rows.setAttribute("aria-busy", "true");
    fill(this.rows);
    fill(this.summary);
    backend.live(this.prefix.value, viewing.signal, {
      update: (keys) => {
        if (viewing !== this.viewing) return;
        this.keys = keys;
        this.schedule();
      },
      changed: countEvent,
    });
  }

  private go(step: number): void {
    this.pageIndex = Math.max(0, this.pageIndex + step);
    this.schedule();
  }

  /** One render per frame, however many changes arrive in it. */
  private schedule(): void {
    this.frame ??= requestAnimationFrame(() => {
      this.frame = undefined;
      this.render();
    });
  }

  private render(): void {
    const keys = this.keys;
    if (!keys) return;
    const state = keys.state;
    this.live.className = `badge ${state}`;
    this.live.dataset.state = state;
    fill(this.live, state === "watching" ? "live" : state);
    if (state === "failed") this.say(`The live view failed: ${errorText(keys.error)}`, true);
    if (state === "listing") return;
    this.rows.removeAttribute("aria-busy");
    const size = Number(this.pageSize.value);
    const pages = Math.max(1, Math.ceil(keys.size / size));
    // Keys deleted from under the last page move it back.
    this.pageIndex = Math.min(this.pageIndex, pages - 1);
    const start = this.pageIndex * size;
    const entries = keys.slice(start, start + size);
    fill(
      this.rows,
      ...entries.map((e) => this.row(e)),
      entries.length === 0
        ? el("tr", {}, el("td", { colspan: 5, class: "empty" }, "No keys under this prefix."))
        : null,
    );
    const at = keys.revision === undefined ? "" : ` · revision ${keys.revision}`;
    fill(this.summary, `Page ${this.pageIndex + 1} · ${entries.length} shown of ${keys.size}${at}`);
    this.prev.disabled = this.pageIndex === 0;
    this.next.disabled = this.pageIndex >= pages - 1;
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
      // The live view shows the new row by itself.
      this.say(
        `Put ${this.putKey.value} at revision ${revision}${ttl ? `, expiring in ${ttl} s` : ""}.`,
      );
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
    } catch (err) {
      this.say(`Delete failed: ${errorText(err)}`, true);
    }
  }

  private say(message: string, error = false): void {
    this.status.classList.toggle("error", error);
    fill(this.status, message);
  }
}
