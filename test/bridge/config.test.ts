import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  allowedMethods,
  allowedRequestHeaders,
  bridgedMethods,
  defaultLimits,
  defaultListen,
  defaultMethods,
  defaultServerLimits,
  defaultTimeouts,
  exposedResponseHeaders,
  MethodPolicy,
  parseListen,
  preflightMaxAgeSeconds,
} from "../../src/bridge/index.js";

// No Docker engine or Envoy binary runs here, so envoy/envoy.yaml and docker-compose.yml are
// checked as data: they parse, and they agree with each other and with the bridge.

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML is walked by path and asserted on.
type Yaml = any;
const root = join(import.meta.dirname, "..", "..");
const load = (file: string): Yaml => parse(readFileSync(join(root, file), "utf8"), { merge: true });
const envoy = load("envoy/envoy.yaml");
const compose = load("docker-compose.yml");

const listener = envoy.static_resources.listeners[0];
const hcm = listener.filter_chains[0].filters[0].typed_config;
const vhost = hcm.route_config.virtual_hosts[0];
const corsPolicy = vhost.typed_per_filter_config["envoy.filters.http.cors"];
const cluster = envoy.static_resources.clusters.find((c: Yaml) => c.name === "etcd");
const etcdServiceNames = Object.keys(compose.services).filter((s) => s.startsWith("etcd-"));
const known = bridgedMethods().map((m) => m.path.slice(1));
const list = (csv: string) => csv.split(",").map((s) => s.trim().toLowerCase());

describe("envoy/envoy.yaml", () => {
  it("runs grpc_web, cors and router, in that order", () => {
    expect(hcm["@type"]).toMatch(/http_connection_manager\.v3\.HttpConnectionManager$/);
    expect(hcm.http_filters.map((f: Yaml) => f.name)).toEqual([
      "envoy.filters.http.grpc_web",
      "envoy.filters.http.cors",
      "envoy.filters.http.router",
    ]);
    for (const f of hcm.http_filters)
      expect(f.typed_config["@type"]).toMatch(/^type\.googleapis\.com\/envoy\./);
  });

  /** The first route that matches path, as Envoy picks it. */
  const routeFor = (path: string) =>
    vhost.routes.find((r: Yaml) =>
      r.match.path !== undefined ? r.match.path === path : path.startsWith(r.match.prefix),
    );

  it("routes to etcd exactly the methods the bridge serves by default, and 403s the others", () => {
    const policy = new MethodPolicy({}, known);
    for (const name of known) {
      const r = routeFor(`/${name}`);
      if (policy.check(name) === undefined) {
        expect(r?.route?.cluster, name).toBe("etcd");
      } else {
        expect(r?.direct_response?.status, name).toBe(403);
      }
    }
    const served = vhost.routes.filter((r: Yaml) => r.route);
    expect(served.map((r: Yaml) => r.match.path)).toEqual(defaultMethods.map((m) => `/${m}`));
    expect(routeFor("/other")).toEqual({
      match: { prefix: "/" },
      direct_response: { status: 404 },
    });
  });

  it("gives every etcd route no timeout for watch streams, and retries only what never reached etcd", () => {
    for (const r of vhost.routes.filter((x: Yaml) => x.route)) {
      expect(r.route.timeout).toBe("0s");
      expect(r.route.idle_timeout).toBe("0s");
      expect(list(r.route.retry_policy.retry_on)).toEqual(["connect-failure", "refused-stream"]);
      // etcd takes `authorization` as a token too; only `token` may carry it, as in the bridge.
      expect(r.request_headers_to_remove).toEqual(
        expect.arrayContaining(["cookie", "authorization"]),
      );
    }
  });

  it("passes a Watch body of several requests to etcd as it came", () => {
    // grpc_web turns gRPC-Web frames into gRPC frames one for one; nothing buffers or caps the
    // body below the bridge's maxWatchBodyBytes.
    const names = hcm.http_filters.map((f: Yaml) => f.name);
    expect(names).not.toContain("envoy.filters.http.buffer");
    const watch = routeFor("/etcdserverpb.Watch/Watch");
    expect(watch.route.cluster).toBe("etcd");
    expect(watch.typed_per_filter_config).toBeUndefined();
    const perConnection = listener.per_connection_buffer_limit_bytes;
    if (perConnection !== undefined) {
      expect(perConnection).toBeGreaterThanOrEqual(defaultLimits.maxWatchBodyBytes);
    }
  });

  it("bounds headers, bodies, idle connections, streams and connections as the bridge does", () => {
    const seconds = (ms: number) => `${ms / 1000}s`;
    expect(hcm.request_headers_timeout).toBe(seconds(defaultTimeouts.headersTimeoutMs));
    expect(hcm.request_timeout).toBe(seconds(defaultTimeouts.requestTimeoutMs));
    expect(hcm.common_http_protocol_options.idle_timeout).toBe(
      seconds(defaultTimeouts.idleTimeoutMs),
    );
    expect(hcm.http2_protocol_options.max_concurrent_streams).toBe(
      defaultServerLimits.maxConcurrentStreams,
    );
    const runtime = envoy.layered_runtime.layers[0].static_layer;
    expect(runtime.overload.global_downstream_max_connections).toBe(
      defaultServerLimits.maxConnections,
    );
  });

  it("warns that it must point at members, not at etcd's grpc-proxy", () => {
    expect(readFileSync(join(root, "envoy/envoy.yaml"), "utf8")).toMatch(
      /point Envoy at etcd members, not at etcd's grpc-proxy/,
    );
  });

  it("allows and exposes the same headers as the bridge, for exact origins only", () => {
    expect(corsPolicy["@type"]).toMatch(/cors\.v3\.CorsPolicy$/);
    expect(list(corsPolicy.allow_headers).sort()).toEqual([...allowedRequestHeaders].sort());
    expect(list(corsPolicy.expose_headers).sort()).toEqual([...exposedResponseHeaders].sort());
    expect(list(corsPolicy.allow_methods)).toEqual(allowedMethods.map((m) => m.toLowerCase()));
    expect(corsPolicy.max_age).toBe(String(preflightMaxAgeSeconds));
    for (const m of corsPolicy.allow_origin_string_match) {
      expect(Object.keys(m)).toEqual(["exact"]);
      expect(m.exact).not.toContain("*");
    }
  });

  it("speaks HTTP/2 to etcd", () => {
    const opts =
      cluster.typed_extension_protocol_options[
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
      ];
    expect(opts["@type"]).toMatch(/upstreams\.http\.v3\.HttpProtocolOptions$/);
    expect(opts.explicit_http_config.http2_protocol_options).toBeDefined();
    expect(cluster.health_checks[0].grpc_health_check).toBeDefined();
  });
});

describe("docker-compose.yml", () => {
  it("runs three etcd members of one pinned official image, as one cluster", () => {
    expect(etcdServiceNames).toEqual(["etcd-1", "etcd-2", "etcd-3"]);
    const initial: string[] = [];
    for (const name of etcdServiceNames) {
      const s = compose.services[name];
      expect(s.image).toMatch(/^gcr\.io\/etcd-development\/etcd:v\d+\.\d+\.\d+$/);
      expect(s.environment.ETCD_NAME).toBe(name);
      expect(s.environment.ETCD_ADVERTISE_CLIENT_URLS).toBe(`http://${name}:2379`);
      initial.push(`${name}=${s.environment.ETCD_INITIAL_ADVERTISE_PEER_URLS}`);
    }
    for (const name of etcdServiceNames) {
      expect(compose.services[name].environment.ETCD_INITIAL_CLUSTER).toBe(initial.join(","));
    }
  });

  it("puts Envoy in front of exactly those members, on the bridge's port", () => {
    const endpoints = cluster.load_assignment.endpoints[0].lb_endpoints.map(
      (e: Yaml) =>
        `http://${e.endpoint.address.socket_address.address}:${e.endpoint.address.socket_address.port_value}`,
    );
    expect(endpoints).toEqual(
      etcdServiceNames.map((n) => compose.services[n].environment.ETCD_ADVERTISE_CLIENT_URLS),
    );

    const envoyService = compose.services.envoy;
    expect(envoyService.image).toMatch(/^envoyproxy\/envoy:v\d+\.\d+\.\d+$/);
    expect(envoyService.volumes).toContain("./envoy/envoy.yaml:/etc/envoy/envoy.yaml:ro");
    const port = listener.address.socket_address.port_value;
    expect(port).toBe(parseListen(defaultListen).port);
    expect(envoyService.ports).toContain(`${port}:${port}`);
  });

  it("serves the demo from an origin Envoy allows, calling Envoy's published port", () => {
    const demo = compose.services.demo;
    const [hostPort] = String(demo.ports[0]).split(":");
    const origins = corsPolicy.allow_origin_string_match.map((m: Yaml) => m.exact);
    expect(origins).toContain(`http://localhost:${hostPort}`);
    const envoyHostPort = String(compose.services.envoy.ports[0]).split(":")[0];
    expect(demo.environment.VITE_ETCD_GRPC_WEB_URL).toBe(`http://localhost:${envoyHostPort}`);
  });
});
