import { parseEndpoints } from "../endpoints/endpoint-url.js";
import type { Member as MemberPb } from "../gen/etcdserverpb/rpc_pb.js";
import type { CallOptions } from "../internal/call-options.js";
import type { Caller } from "./connection.js";
import { header, type ResponseHeader } from "./key-value.js";
import { uint64 } from "./kv.js";

export interface Member {
  id: bigint;
  /** Empty for a member added but not started yet. */
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  isLearner: boolean;
}

export interface MemberList {
  header: ResponseHeader;
  members: Member[];
}

/** Cluster membership: list, add, remove, update, promote. */
export class ClusterApi {
  /** @internal */
  constructor(private readonly caller: Caller) {}

  /** The members; `linearizable` (etcd 3.5+) reads them through the leader. */
  async memberList(options: { linearizable?: boolean } & CallOptions = {}): Promise<MemberList> {
    return this.caller.unary(options, true, async (c, a) => {
      const res = await c.cluster.memberList({ linearizable: options.linearizable ?? false }, a);
      return { header: header(res.header, "member list"), members: res.members.map(member) };
    });
  }

  /** Adds a member (as a learner with isLearner); start it afterwards with these peer URLs. */
  async memberAdd(
    peerUrls: readonly string[],
    options: { isLearner?: boolean } & CallOptions = {},
  ): Promise<{ header: ResponseHeader; member: Member | undefined; members: Member[] }> {
    const peerURLs = parseEndpoints(peerUrls, "peerUrls");
    return this.caller.unary(options, false, async (c, a) => {
      const res = await c.cluster.memberAdd({ peerURLs, isLearner: options.isLearner ?? false }, a);
      return {
        header: header(res.header, "member add"),
        member: res.member && member(res.member),
        members: res.members.map(member),
      };
    });
  }

  async memberRemove(id: number | bigint, options: CallOptions = {}): Promise<MemberList> {
    const ID = uint64(id, "id");
    return this.caller.unary(options, false, async (c, a) => {
      const res = await c.cluster.memberRemove({ ID }, a);
      return { header: header(res.header, "member remove"), members: res.members.map(member) };
    });
  }

  async memberUpdate(
    id: number | bigint,
    peerUrls: readonly string[],
    options: CallOptions = {},
  ): Promise<MemberList> {
    const ID = uint64(id, "id");
    const peerURLs = parseEndpoints(peerUrls, "peerUrls");
    return this.caller.unary(options, false, async (c, a) => {
      const res = await c.cluster.memberUpdate({ ID, peerURLs }, a);
      return { header: header(res.header, "member update"), members: res.members.map(member) };
    });
  }

  /** Promotes a learner that has caught up with the leader to a voting member. */
  async memberPromote(id: number | bigint, options: CallOptions = {}): Promise<MemberList> {
    const ID = uint64(id, "id");
    return this.caller.unary(options, false, async (c, a) => {
      const res = await c.cluster.memberPromote({ ID }, a);
      return { header: header(res.header, "member promote"), members: res.members.map(member) };
    });
  }
}

function member(m: MemberPb): Member {
  return {
    id: m.ID,
    name: m.name,
    peerUrls: m.peerURLs,
    clientUrls: m.clientURLs,
    isLearner: m.isLearner,
  };
}
