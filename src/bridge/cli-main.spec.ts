import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../errors/etcd-error.js";
import { parseCliArgs } from "./cli-main.js";
import { parseListen } from "./server.js";

describe("parseCliArgs", () => {
  it("has defaults for a local etcd and no allowed origin", () => {
    expect(parseCliArgs([])).toMatchObject({
      listen: "127.0.0.1:8080",
      etcd: ["http://127.0.0.1:2379"],
      allowOrigin: [],
    });
  });

  it("repeats --etcd and --allow-origin", () => {
    const o = parseCliArgs([
      "--etcd=http://a:2379",
      "--etcd",
      "http://b:2379",
      "--allow-origin",
      "http://localhost:5173",
      "--allow-origin=*",
      "--listen",
      "0.0.0.0:9000",
    ]);
    expect(o).toMatchObject({
      listen: "0.0.0.0:9000",
      etcd: ["http://a:2379", "http://b:2379"],
      allowOrigin: ["http://localhost:5173", "*"],
    });
  });

  it("reads the method policy, cert identity and the limits", () => {
    const o = parseCliArgs([
      "--allow-method",
      "etcdserverpb.Maintenance/Snapshot",
      "--allow-method=etcdserverpb.Auth/*",
      "--read-only",
      "--allow-cert-identity",
      "--max-watch-creates",
      "50",
      "--headers-timeout-ms=250",
    ]);
    expect(o).toMatchObject({
      allowMethods: ["etcdserverpb.Maintenance/Snapshot", "etcdserverpb.Auth/*"],
      allowAllMethods: false,
      readOnly: true,
      allowCertIdentity: true,
      limits: { maxWatchCreates: 50, headersTimeoutMs: 250 },
    });
    for (const bad of ["0", "-1", "1.5", "many"]) {
      expect(() => parseCliArgs(["--max-request-bytes", bad]), bad).toThrow(InvalidInputError);
    }
  });

  it("returns undefined for --help", () => {
    expect(parseCliArgs(["--help"])).toBeUndefined();
    expect(parseCliArgs(["-h"])).toBeUndefined();
  });

  it("refuses unknown flags, positionals and a lone --cert", () => {
    for (const argv of [["--nope"], ["extra"], ["--cert", "c.pem"], ["--etcd-key", "k.pem"]]) {
      expect(() => parseCliArgs(argv), argv.join(" ")).toThrow(InvalidInputError);
    }
  });
});

describe("parseListen", () => {
  it("reads host:port, [v6]:port and :port", () => {
    expect(parseListen("0.0.0.0:8080")).toEqual({ host: "0.0.0.0", port: 8080 });
    expect(parseListen("[::1]:0")).toEqual({ host: "::1", port: 0 });
    expect(parseListen(":9000")).toEqual({ host: "127.0.0.1", port: 9000 });
  });

  it("refuses anything else", () => {
    for (const bad of ["8080", "host", "host:99999", "http://host:80"]) {
      expect(() => parseListen(bad), bad).toThrow(InvalidInputError);
    }
  });
});
