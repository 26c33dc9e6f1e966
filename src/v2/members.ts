import type { CallOptions } from "../internal/call-options.js";
import type { Clock } from "../internal/clock.js";
import { withDeadline } from "../internal/deadline.js";
import { decodeMember, decodeMembers, type RawAnswer } from "./decode.js";
import type { V2Http, V2Request } from "./http.js";
import type { V2Member } from "./types.js";

/** The cluster's members, from /v2/members. Reads only; they move between endpoints freely. */
export class MembersAPI {
  constructor(
    private readonly http: V2Http,
    private readonly defaultTimeoutMs: number,
    private readonly clock: Clock,
  ) {}

  async list(opts: CallOptions = {}): Promise<V2Member[]> {
    return decodeMembers(await this.get("/v2/members", opts));
  }

  /** The member that leads now. */
  async leader(opts: CallOptions = {}): Promise<V2Member> {
    const answer = await this.get("/v2/members/leader", opts);
    return decodeMember(answer.json, "the answer", answer);
  }

  private get(path: string, opts: CallOptions): Promise<RawAnswer> {
    const req: V2Request = { method: "GET", path, oneShot: false };
    return withDeadline(
      { signal: opts.signal, timeoutMs: opts.timeoutMs ?? this.defaultTimeoutMs },
      (deadline) => this.http.send(req, deadline),
      this.clock,
    );
  }
}
