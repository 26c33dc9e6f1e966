import { describe, expect, it } from "vitest";
import { InvalidInputError } from "./errors/etcd-error.js";
import { isMissing, optionalDependency } from "./optional-dependency.node.js";

const absent = "etcd-web-no-such-package";

describe("optionalDependency", () => {
  it("loads a package that is there", async () => {
    const m = await optionalDependency("ws", () => import("ws"), "x", "ws");
    expect(typeof m.WebSocket).toBe("function");
  });

  it("says which feature needs a missing package, and how to install it", async () => {
    const e = await optionalDependency(
      absent,
      () => import(/* @vite-ignore */ absent),
      'grpcClient "connect-node"',
      `${absent}@1.0.0`,
    ).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InvalidInputError);
    expect((e as InvalidInputError).message).toBe(
      `grpcClient "connect-node" needs the package ${absent}, which is not installed: npm install ${absent}@1.0.0`,
    );
  });

  it("passes on any other failure, and a missing package that the package itself imports", async () => {
    const broken = new Error("boom");
    await expect(optionalDependency("ws", () => Promise.reject(broken), "x", "ws")).rejects.toBe(
      broken,
    );
    const inner = Object.assign(new Error("Cannot find package 'other' imported from ws"), {
      code: "ERR_MODULE_NOT_FOUND",
    });
    expect(isMissing(inner, "ws")).toBe(false);
    expect(isMissing(inner, "other")).toBe(true);
  });
});
