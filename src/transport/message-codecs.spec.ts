import { describe, expect, it } from "vitest";
import { RangeResponseCodec } from "../gen/etcdserverpb/rpc_codec.js";
import { KV, Watch } from "../gen/etcdserverpb/rpc_ref.js";
import { codecOf } from "./message-codecs.js";

describe("codecOf", () => {
  it("finds the generated codec of each method's messages by name", () => {
    expect(codecOf(KV.methods.range.output)).toBe(RangeResponseCodec);
    expect(codecOf(Watch.methods.watch.input).typeName).toBe("etcdserverpb.WatchRequest");
  });

  it("names a message it has no codec for", () => {
    expect(() => codecOf({ typeName: "etcdserverpb.Nope" })).toThrow(
      "etcd-web has no codec for etcdserverpb.Nope",
    );
  });
});
