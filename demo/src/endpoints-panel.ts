// Endpoints: each one's health badge, latency and last error, live from the client's probe,
// and the bridge's counters when the bridge runs in this server.
import type { Backend, EndpointView } from "./backend.js";
import type { BridgeStatsView } from "./config.js";
import { el, errorText, fill } from "./dom.js";
import { ago, duration } from "./format.js";

export class EndpointsPanel {
  private backend: Backend | undefined;
  private unsubscribe: () => void = () => {};
  private readonly list = el("div", { class: "endpoint-list" });
  private readonly note = el("p", { class: "hint" });
  private readonly stats = el("p", { class: "bridge-stats", "data-testid": "bridge-stats" });
  private readonly checkButton = el(
    "button",
    { type: "button", class: "secondary", on: { click: () => this.checkNow() } },
    "Check now",
  );

  constructor(
    root: HTMLElement,
    private readonly statsPath: string | undefined,
  ) {
    fill(
      root,
      el("div", { class: "panel-head" }, el("h2", {}, "Endpoints"), this.checkButton),
      this.note,
      this.list,
      statsPath ? this.stats : null,
    );
    // "checked 3 s ago" ages; the bridge's counters change without events.
    setInterval(() => {
      this.render();
      void this.refreshStats();
    }, 1000);
  }

  show(backend: Backend): void {
    this.unsubscribe();
    this.backend = backend;
    this.unsubscribe = backend.onEndpointChange(() => this.render());
    this.render();
  }

  private async checkNow(): Promise<void> {
    this.checkButton.disabled = true;
    try {
      await this.backend?.checkHealth();
    } catch {
      // The states show what failed.
    } finally {
      this.checkButton.disabled = false;
      this.render();
    }
  }

  private render(): void {
    if (!this.backend) return;
    fill(this.note, this.backend.healthNote);
    const now = Date.now();
    fill(this.list, ...this.backend.endpoints().map((e) => card(e, now)));
  }

  private async refreshStats(): Promise<void> {
    if (!this.statsPath) return;
    try {
      const s = (await (await fetch(this.statsPath)).json()) as BridgeStatsView;
      this.stats.dataset.openStreams = String(s.openUpstreamStreams);
      fill(
        this.stats,
        el("strong", {}, "Bridge: "),
        `${s.openUpstreamStreams} stream${s.openUpstreamStreams === 1 ? "" : "s"} open to etcd · `,
        `${s.openCalls} call${s.openCalls === 1 ? "" : "s"} in flight · `,
        `${s.calls} served, ${s.failedCalls} failed`,
      );
    } catch (e) {
      fill(this.stats, el("strong", {}, "Bridge: "), `no counters (${errorText(e)})`);
    }
  }
}

function card(e: EndpointView, now: number): HTMLElement {
  return el(
    "article",
    {
      class: `endpoint ${e.health}`,
      "data-testid": "endpoint",
      "data-name": e.name,
      "data-health": e.health,
    },
    el(
      "header",
      {},
      el("span", { class: "endpoint-name" }, e.name),
      el("span", { class: `badge ${e.health}`, "data-testid": "health" }, e.health),
    ),
    el("div", { class: "endpoint-url mono" }, e.url),
    el(
      "dl",
      {},
      el("dt", {}, "latency"),
      el(
        "dd",
        { "data-testid": "latency" },
        e.latencyMs === undefined ? "—" : duration(e.latencyMs),
      ),
      el("dt", {}, "checked"),
      el("dd", {}, e.checkedAt === undefined ? "not yet" : ago(e.checkedAt, now)),
      el("dt", {}, "last error"),
      el(
        "dd",
        {
          class: e.lastError ? "error-text" : "none-yet",
          "data-testid": "last-error",
          title: e.lastError,
        },
        e.lastError ?? "none",
      ),
    ),
  );
}
