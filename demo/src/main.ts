// The etcd-web dashboard: endpoints and their health, a protocol switch, a key browser and
// live watches. Plain DOM; every key, value and error reaches the page as text (dom.ts).
import type { Backend } from "./backend.js";
import { type DemoConfig, type ProtocolName, protocolNames } from "./config.js";
import { byId, el, errorText, fill } from "./dom.js";
import { EndpointsPanel } from "./endpoints-panel.js";
import { type ValueView, valueViews } from "./format.js";
import { KeyBrowser } from "./key-browser.js";
import { RateChart } from "./rate-chart.js";
import { V2Backend } from "./v2-backend.js";
import { V3Backend } from "./v3-backend.js";
import { setValueView } from "./values.js";
import { WatchesPanel } from "./watches-panel.js";

const labels: Record<ProtocolName, string> = {
  "grpc-web": "gRPC-Web via bridge",
  gateway: "etcd gateway",
  v2: "v2 keys API",
};

const app = byId("app", HTMLDivElement);

try {
  start((await (await fetch("/demo-config.json")).json()) as DemoConfig);
} catch (e) {
  fill(app, el("p", { class: "status error" }, `The dashboard could not start: ${errorText(e)}`));
}

function start(config: DemoConfig): void {
  const offered = protocolNames.filter((p) => config.protocols[p]?.length);
  const asked = new URLSearchParams(location.search).get("protocol") as ProtocolName | null;
  let protocol: ProtocolName =
    asked && offered.includes(asked) ? asked : (offered[0] ?? "grpc-web");
  // One client per protocol, made when first chosen and kept: open watches stay on theirs.
  const backends = new Map<ProtocolName, Backend>();
  const backend = (p: ProtocolName): Backend => {
    let b = backends.get(p);
    if (!b) {
      const endpoints = config.protocols[p] ?? [];
      b =
        p === "v2"
          ? new V2Backend(
              endpoints,
              config.protocols.gateway ? (backend("gateway") as V3Backend) : undefined,
            )
          : new V3Backend(p, endpoints, config.healthIntervalMs);
      backends.set(p, b);
    }
    return b;
  };

  const endpointsRoot = el("section", { class: "panel endpoints", "aria-label": "Endpoints" });
  const keysRoot = el("section", { class: "panel keys", "aria-label": "Keys" });
  const watchesRoot = el("section", { class: "panel watches", "aria-label": "Watches" });
  const rateRoot = el("section", { class: "panel rate", "aria-label": "Events per second" });
  fill(
    app,
    el(
      "header",
      { class: "top" },
      el("h1", {}, "etcd-web", el("span", { class: "subtitle" }, " dashboard")),
      segmented(
        "Protocol",
        "protocol",
        protocolNames.map((p) => ({ value: p, label: labels[p], disabled: !offered.includes(p) })),
        protocol,
        (p) => choose(p as ProtocolName),
      ),
      segmented(
        "Values as",
        "view",
        valueViews.map((v) => ({
          value: v,
          label: v === "json" ? "JSON" : v === "hex" ? "Hex" : "Text",
          disabled: false,
        })),
        "text",
        (v) => setValueView(v as ValueView),
      ),
    ),
    el("main", { class: "grid" }, endpointsRoot, keysRoot, rateRoot, watchesRoot),
  );

  const endpoints = new EndpointsPanel(endpointsRoot, config.bridgeStatsPath);
  const keys = new KeyBrowser(keysRoot);
  const watches = new WatchesPanel(watchesRoot, () => backend(protocol));
  new RateChart(rateRoot);

  function choose(p: ProtocolName): void {
    protocol = p;
    const url = new URL(location.href);
    url.searchParams.set("protocol", p);
    history.replaceState(null, "", url);
    document.body.dataset.protocol = p;
    endpoints.show(backend(p));
    keys.show(backend(p));
    watches.protocolChanged();
  }
  choose(protocol);
}

/** A row of radio buttons; a disabled one says why in its title. */
function segmented(
  legend: string,
  name: string,
  options: Array<{ value: string; label: string; disabled: boolean }>,
  checked: string,
  onChange: (value: string) => void,
): HTMLElement {
  return el(
    "fieldset",
    { class: "segmented" },
    el("legend", {}, legend),
    ...options.map((o) =>
      el(
        "label",
        { title: o.disabled ? "not offered by this server" : undefined },
        el("input", {
          type: "radio",
          name,
          value: o.value,
          "data-testid": `${name}-${o.value}`,
          checked: o.value === checked,
          disabled: o.disabled,
          on: { change: () => onChange(o.value) },
        }),
        el("span", {}, o.label),
      ),
    ),
  );
}
