import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../errors/etcd-error.js";
import { bridgedMethods } from "./etcd-methods.js";
import { defaultMethods, MethodPolicy, readOnlyMethods } from "./method-policy.js";

const known = bridgedMethods().map((m) => m.path.slice(1));
const served = (p: MethodPolicy) => known.filter((n) => p.check(n) === undefined);

describe("MethodPolicy", () => {
  it("serves the default set, and names the flag in each refusal", () => {
    const p = new MethodPolicy({}, known);
    expect(served(p)).toEqual(known.filter((n) => defaultMethods.includes(n)));
    expect(served(p)).toHaveLength(defaultMethods.length);
    const e = p.check("etcdserverpb.Maintenance/Snapshot");
    expect(e?.code).toBe(Code.PermissionDenied);
    expect(e?.rawMessage).toContain("--allow-method etcdserverpb.Maintenance/Snapshot");
  });

  it("adds methods by name and by service, serves all, or only reads", () => {
    const p = new MethodPolicy(
      { allowMethods: ["etcdserverpb.Maintenance/Snapshot", "etcdserverpb.Auth/*"] },
      known,
    );
    expect(p.check("etcdserverpb.Maintenance/Snapshot")).toBeUndefined();
    expect(p.check("etcdserverpb.Auth/AuthDisable")).toBeUndefined();
    expect(p.check("etcdserverpb.Maintenance/Defragment")).toBeDefined();
    expect(served(new MethodPolicy({ allowAllMethods: true }, known))).toEqual(known);
    expect(served(new MethodPolicy({ readOnly: true }, known)).sort()).toEqual(
      [...readOnlyMethods].sort(),
    );
  });

  it("refuses unknown names and contradictory options", () => {
    for (const opts of [
      { allowMethods: ["etcdserverpb.KV/Nope"] },
      { allowMethods: ["KV/*"] },
      { readOnly: true, allowAllMethods: true },
    ]) {
      expect(() => new MethodPolicy(opts, known)).toThrow(InvalidInputError);
    }
  });
});
