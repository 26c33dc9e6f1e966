import { EventEmitter } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2Session } from "node:http2";
import type { Socket } from "node:net";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { closeWhenIdle, HeadersDeadline } from "./connection-limits.js";

class FakeSocket extends EventEmitter {
  destroyed = false;
  destroy() {
    this.destroyed = true;
    this.emit("close");
  }
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("HeadersDeadline", () => {
  it("drops a connection without complete headers, and rearms after each response", () => {
    const d = new HeadersDeadline(100);
    const socket = new FakeSocket();
    const s = socket as unknown as Socket;
    d.arm(s);
    vi.advanceTimersByTime(99);
    expect(socket.destroyed).toBe(false);
    const res = new EventEmitter();
    d.requestStarted({ socket: s } as IncomingMessage, res as unknown as ServerResponse);
    vi.advanceTimersByTime(1_000);
    expect(socket.destroyed).toBe(false);
    for (let i = 0; i < 20; i++) d.arm(s);
    expect(socket.listenerCount("close")).toBe(1);
    res.emit("finish");
    vi.advanceTimersByTime(100);
    expect(socket.destroyed).toBe(true);
  });
});

describe("closeWhenIdle", () => {
  class FakeSession extends EventEmitter {
    closed = false;
    destroyed = false;
    close() {
      this.closed = true;
    }
    destroy() {
      this.destroyed = true;
    }
  }

  it("closes a session with no stream open for the idle time, never one with a stream", () => {
    const session = new FakeSession();
    closeWhenIdle(session as unknown as Http2Session, 100);
    vi.advanceTimersByTime(50);
    const stream = new EventEmitter();
    session.emit("stream", stream);
    vi.advanceTimersByTime(10_000);
    expect(session.closed).toBe(false);
    stream.emit("close");
    vi.advanceTimersByTime(99);
    expect(session.closed).toBe(false);
    vi.advanceTimersByTime(1);
    expect(session.closed).toBe(true);
    vi.advanceTimersByTime(1_000);
    expect(session.destroyed).toBe(true);
  });
});
