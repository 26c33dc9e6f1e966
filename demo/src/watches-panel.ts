// Live watches: each on a key or prefix, optionally from a revision, on the protocol chosen
// when it was added; several at once from one line of keys or prefixes. Events arrive with
// their revisions and previous values; Cancel aborts the watch's AbortController, which
// closes its stream. Each card keeps only its newest events, so a hundred watches stay cheap.
import type { Backend, WatchEventView, WatchStateView } from "./backend.js";
import type { ProtocolName } from "./config.js";
import { el, errorText, fill } from "./dom.js";
import { countEvent } from "./rate.js";
import { valueCell } from "./values.js";

/** Events kept per watch; older ones drop off. */
const maxEvents = 20;

// Each grpc-web watch is one HTTP/1.1 request held open to this origin, and each v2 watch one
// to its member; Chromium opens at most 6 connections per origin (docs/demo.md).
const heldConnections: Partial<Record<ProtocolName, string>> = {
  "grpc-web": "this page's origin",
  v2: "the member",
};

export class WatchesPanel {
  private readonly key = el("input", {
    id: "watch-key",
    "aria-label": "Watch keys or prefixes, separated by spaces",
    autocomplete: "off",
    required: true,
  });
  private readonly prefix = el("input", { id: "watch-prefix", type: "checkbox", checked: true });
  private readonly from = el("input", {
    id: "watch-from",
    type: "number",
    min: 1,
    step: 1,
    placeholder: "now",
    "aria-label": "From revision",
  });
  private readonly list = el("div", { class: "watch-list" });
  private readonly warning = el("p", { class: "hint warn", "data-testid": "watch-warning" });
  private readonly summary = el("span", { class: "hint", "data-testid": "watch-summary" });
  private readonly cancelAll = el(
    "button",
    {
      type: "button",
      class: "secondary small",
      "data-testid": "watch-cancel-all",
      on: { click: () => this.closeAll() },
    },
    "Cancel all",
  );
  /** The open watches' AbortControllers. */
  private readonly controllers = new Map<HTMLElement, AbortController>();
  private readonly open = new Map<HTMLElement, ProtocolName>();
  private added = 0;

  constructor(
    root: HTMLElement,
    private readonly backend: () => Backend,
  ) {
    fill(
      root,
      el("div", { class: "panel-head" }, el("h2", {}, "Watches"), this.summary, this.cancelAll),
      el(
        "form",
        { class: "row watch-form", on: { submit: (e) => this.onAdd(e) } },
        this.key,
        el("label", { class: "check" }, this.prefix, "prefix"),
        el("label", { class: "from" }, "from rev.", this.from),
        el("button", { type: "submit", "data-testid": "watch-add" }, "Watch"),
      ),
      this.warning,
      this.list,
    );
  }

  /** The key input's placeholder follows the protocol's key style. */
  protocolChanged(): void {
    this.key.placeholder = `keys or prefixes, e.g. ${this.backend().keyExample}`;
  }

  private onAdd(e: Event): void {
    e.preventDefault();
    const from = this.from.value === "" ? undefined : Number(this.from.value);
    // Several keys or prefixes, separated by spaces, open one watch each.
    for (const key of this.key.value.split(/\s+/).filter(Boolean)) {
      this.add(key, this.prefix.checked, from);
    }
  }

  private closeAll(): void {
    for (const c of [...this.controllers.values()]) c.abort();
  }

  private add(key: string, prefix: boolean, fromRevision: number | undefined): void {
    const backend = this.backend();
    const controller = new AbortController();
    const state = el(
      "span",
      { class: "badge connecting", "data-testid": "watch-state" },
      "connecting",
    );
    const error = el("p", { class: "error-text", "data-testid": "watch-error" });
    const events = el("tbody");
    const count = el("span", { class: "hint" }, "no events yet");
    let seen = 0;
    const cancel = el(
      "button",
      { type: "button", class: "danger small", "data-testid": "watch-cancel" },
      "Cancel",
    );
    const card = el(
      "article",
      {
        class: "watch",
        "data-testid": "watch",
        "data-watch-id": ++this.added,
        "data-key": key,
        "data-protocol": backend.protocol,
        "data-state": "connecting",
      },
      el(
        "header",
        {},
        el("span", { class: "tag" }, backend.protocol),
        el("span", { class: "mono watch-key" }, key),
        prefix ? el("span", { class: "tag" }, "prefix") : null,
        fromRevision === undefined ? null : el("span", { class: "tag" }, `from ${fromRevision}`),
        state,
        cancel,
      ),
      error,
      el(
        "div",
        { class: "table-wrap" },
        el(
          "table",
          { class: "events" },
          el(
            "thead",
            {},
            el(
              "tr",
              {},
              ...["", "Key", "Value", "Rev.", "Previous value"].map((h) => el("th", {}, h)),
            ),
          ),
          events,
        ),
      ),
      count,
    );
    let ended = false;
    cancel.addEventListener("click", () => {
      if (ended) card.remove();
      controller.abort();
    });
    this.list.prepend(card);
    this.open.set(card, backend.protocol);
    this.controllers.set(card, controller);
    this.updateWarning();

    const setState = (s: WatchStateView, cause?: unknown) => {
      if (cause !== undefined) fill(error, errorText(cause));
      // The first end wins: a failed watch stays failed when Remove aborts it.
      if (ended) return;
      card.dataset.state = s;
      state.className = `badge ${s}`;
      fill(state, s);
      if (s === "closed" || s === "failed") {
        ended = true;
        fill(cancel, "Remove");
        cancel.classList.replace("danger", "secondary");
        this.open.delete(card);
        this.controllers.delete(card);
        this.updateWarning();
      }
    };
    const onEvent = (ev: WatchEventView) => {
      countEvent();
      events.prepend(eventRow(ev));
      while (events.childElementCount > maxEvents) events.lastElementChild?.remove();
      seen++;
      fill(
        count,
        `${seen} event${seen === 1 ? "" : "s"}${seen > maxEvents ? `, last ${maxEvents} shown` : ""}`,
      );
    };
    try {
      backend.watch(
        { key, prefix, fromRevision, signal: controller.signal },
        { event: onEvent, state: setState },
      );
    } catch (e) {
      setState("failed", e);
    }
  }

  private updateWarning(): void {
    const n = this.open.size;
    fill(this.summary, n === 0 ? "" : `${n} open`);
    this.summary.dataset.open = String(n);
    const counts = new Map<ProtocolName, number>();
    for (const p of this.open.values()) counts.set(p, (counts.get(p) ?? 0) + 1);
    // The key browser's live view holds one more.
    const crowded = [...counts].filter(([p, n]) => heldConnections[p] && n >= 4);
    fill(
      this.warning,
      ...crowded.map(
        ([p, n]) =>
          `${n} ${p} watches and the key browser's live view each hold a connection to ${heldConnections[p]}; Chromium opens at most 6 per origin over HTTP/1.1, so more watches and calls will wait. `,
      ),
    );
  }
}

function eventRow(ev: WatchEventView): HTMLElement {
  return el(
    "tr",
    { "data-testid": "watch-event", "data-type": ev.type, "data-revision": ev.revision },
    el("td", { class: "fit" }, el("span", { class: `badge ${ev.type.toLowerCase()}` }, ev.type)),
    el("td", { class: "mono key", "data-testid": "key" }, ev.key),
    el("td", {}, valueCell(ev.value)),
    el("td", { class: "num fit", "data-testid": "revision" }, ev.revision),
    el("td", {}, valueCell(ev.prevValue, "prev-value")),
  );
}
