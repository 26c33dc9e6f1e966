import { describe, expect, it } from "vitest";
import { EtcdError } from "../errors/etcd-error.js";
import { isV2Error, V2Error, V2ErrorCode } from "./v2-error.js";

describe("V2Error", () => {
  it("keeps etcd's fields, with cause as errorCause", () => {
    const e = new V2Error(100, "Key not found", {
      errorCause: "/foo",
      index: 12,
      status: 404,
      endpoint: "http://a:2379",
    });
    expect(e).toBeInstanceOf(EtcdError);
    expect(e.kind).toBe("v2");
    expect(e.name).toBe("V2Error");
    expect(e.message).toBe("Key not found");
    expect(e.errorCode).toBe(V2ErrorCode.KeyNotFound);
    expect(e.errorCause).toBe("/foo");
    expect(e.cause).toBeUndefined();
    expect(e.index).toBe(12);
    expect(e.status).toBe(404);
    expect(e.endpoint).toBe("http://a:2379");
    expect(String(e)).toBe("V2Error: 100: Key not found (/foo) [12]");
  });

  it("names the codes it knows", () => {
    expect(new V2Error(401, "x").codeName).toBe("EventIndexCleared");
    expect(new V2Error(300, "x").codeName).toBe("RaftInternal");
    expect(new V2Error(999, "x").codeName).toBeUndefined();
  });

  it("has etcd's numbers", () => {
    expect(V2ErrorCode).toMatchObject({
      KeyNotFound: 100,
      TestFailed: 101,
      NotFile: 102,
      NotDir: 104,
      NodeExist: 105,
      RootROnly: 107,
      DirNotEmpty: 108,
      RaftInternal: 300,
      LeaderElect: 301,
      WatcherCleared: 400,
      EventIndexCleared: 401,
    });
  });

  it("isV2Error checks the kind and, when given, the code", () => {
    const e = new V2Error(105, "Key already exists");
    expect(isV2Error(e)).toBe(true);
    expect(isV2Error(e, V2ErrorCode.NodeExist)).toBe(true);
    expect(isV2Error(e, V2ErrorCode.KeyNotFound)).toBe(false);
    expect(isV2Error(new Error("x"))).toBe(false);
  });
});
