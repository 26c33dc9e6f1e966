import { describe, expect, it } from "vitest";
import { refusal } from "../../test/fakes/refusal.js";
import { InvalidInputError } from "../errors/etcd-error.js";
import { parseEndpoint, parseEndpoints } from "./endpoint-url.js";

describe("parseEndpoint normalizes", () => {
  it.each([
    ["http://127.0.0.1:2379", "http://127.0.0.1:2379"],
    ["  https://etcd.example:2379/  ", "https://etcd.example:2379"],
    ["HTTP://ETCD:2379", "http://etcd:2379"],
    ["http://etcd:80", "http://etcd"],
    ["https://proxy/etcd/", "https://proxy/etcd"],
    ["https://proxy/a/b//", "https://proxy/a/b"],
    ["http://[::1]:2379", "http://[::1]:2379"],
  ])("%s to %s", (raw, url) => {
    expect(parseEndpoint(raw)).toBe(url);
  });
});

describe("parseEndpoint refuses", () => {
  it.each([
    ["", "non-empty"],
    ["   ", "non-empty"],
    ["127.0.0.1:2379", "is not a URL"],
    ["localhost:2379", "http: or https:"],
    ["not a url", "is not a URL"],
    ["ftp://etcd:2379", "http: or https:"],
    ["unix:///var/run/etcd.sock", "http: or https:"],
    ["http://etcd:2379/?x=1", "query or fragment"],
    ["http://etcd:2379/#top", "query or fragment"],
  ])("%j (%s)", (raw, message) => {
    const e = refusal(() => parseEndpoint(raw, "endpoints"));
    expect(e.field).toBe("endpoints");
    expect(e.message).toContain(message);
  });

  it("a non-string", () => {
    expect(refusal(() => parseEndpoint(2379)).message).toContain("non-empty URL string");
  });

  it("credentials, without echoing them in the message", () => {
    const e = refusal(() => parseEndpoint("http://root:s3cret@etcd:2379", "endpoints"));
    expect(e.message).toContain("credentials");
    expect(e.message).not.toContain("s3cret");
  });

  it("names the field it was given", () => {
    expect(refusal(() => parseEndpoint("ftp://x", "member clientURLs")).field).toBe(
      "member clientURLs",
    );
  });
});

describe("parseEndpoints", () => {
  it("normalizes each URL and keeps their order", () => {
    expect(parseEndpoints(["http://b:2379/", "http://a:2379"])).toEqual([
      "http://b:2379",
      "http://a:2379",
    ]);
  });

  it("refuses an empty list or no list", () => {
    expect(refusal(() => parseEndpoints([])).message).toContain("at least one URL");
    expect(refusal(() => parseEndpoints(undefined)).field).toBe("endpoints");
  });

  it("refuses the same endpoint twice, after normalization", () => {
    expect(refusal(() => parseEndpoints(["http://a:2379", "HTTP://A:2379/"])).message).toContain(
      "http://a:2379 twice",
    );
  });

  it("refuses the list when one URL is bad", () => {
    expect(() => parseEndpoints(["http://a:2379", "a:2379"])).toThrow(InvalidInputError);
  });
});

describe("a relative endpoint", () => {
  it.each([
    ["/etcd", "http://localhost:5173/etcd"],
    ["/etcd/", "http://localhost:5173/etcd"],
    ["./etcd", "http://localhost:5173/app/etcd"],
    ["/", "http://localhost:5173"],
  ])("%s resolves against the page's location, to %s", (raw, url) => {
    expect(parseEndpoint(raw, "endpoints", "http://localhost:5173/app/index.html")).toBe(url);
  });

  it("is refused without a page (Node), saying why", () => {
    const e = refusal(() => parseEndpoint("/etcd", "endpoints", undefined));
    expect(e.field).toBe("endpoints");
    expect(e.message).toContain('"/etcd" is a relative URL, which only a page can resolve');
  });

  it("is resolved by default against globalThis.location, as in a page", () => {
    const g = globalThis as { location?: unknown };
    expect(g.location).toBeUndefined();
    g.location = { href: "https://app.example/x", origin: "https://app.example" };
    try {
      expect(parseEndpoints(["/etcd"])).toEqual(["https://app.example/etcd"]);
    } finally {
      delete g.location;
    }
    expect(() => parseEndpoints(["/etcd"])).toThrow(/relative URL/);
  });
});
