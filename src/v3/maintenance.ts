import { AlarmRequest_AlarmAction, AlarmType } from "../gen/etcdserverpb/rpc_ref.js";
import type { CallOptions } from "../internal/call-options.js";
import type { Caller } from "./connection.js";
import { header, optionalHeader, type ResponseHeader } from "./key-value.js";
import { int64, uint64 } from "./kv.js";

export interface MemberStatus {
  header: ResponseHeader;
  version: string;
  dbSize: bigint;
  dbSizeInUse: bigint;
  /** The leader's member ID; 0n when the member sees no leader. */
  leader: bigint;
  raftIndex: bigint;
  raftTerm: bigint;
  raftAppliedIndex: bigint;
  errors: string[];
  isLearner: boolean;
}

export type AlarmName = "none" | "nospace" | "corrupt";

export interface Alarm {
  memberId: bigint;
  alarm: AlarmName;
}

const alarmNames: Record<AlarmType, AlarmName> = {
  [AlarmType.NONE]: "none",
  [AlarmType.NOSPACE]: "nospace",
  [AlarmType.CORRUPT]: "corrupt",
};

/**
 * Maintenance: status, alarms, defragment and hashes. They act on the member the client is
 * on (the pinned endpoint); pass a client built with that one endpoint to aim at a member.
 */
export class MaintenanceApi {
  /** @internal */
  constructor(private readonly caller: Caller) {}

  async status(options: CallOptions = {}): Promise<MemberStatus> {
    return this.caller.unary(options, true, async (c, a) => {
      const s = await c.maintenance.status({}, a);
      return {
        header: header(s.header, "status"),
        version: s.version,
        dbSize: s.dbSize,
        dbSizeInUse: s.dbSizeInUse,
        leader: s.leader,
        raftIndex: s.raftIndex,
        raftTerm: s.raftTerm,
        raftAppliedIndex: s.raftAppliedIndex,
        errors: s.errors,
        isLearner: s.isLearner,
      };
    });
  }

  /** The cluster's active alarms. */
  async alarms(options: CallOptions = {}): Promise<Alarm[]> {
    return this.alarm(AlarmRequest_AlarmAction.GET, 0n, AlarmType.NONE, options, true);
  }

  /** Clears an alarm (e.g. "nospace" after freeing space); memberId 0 for every member. */
  async disarm(
    alarm: AlarmName,
    options: { memberId?: number | bigint } & CallOptions = {},
  ): Promise<Alarm[]> {
    const type = Number(Object.entries(alarmNames).find(([, n]) => n === alarm)?.[0] ?? 0);
    return this.alarm(
      AlarmRequest_AlarmAction.DEACTIVATE,
      uint64(options.memberId ?? 0, "memberId"),
      type,
      options,
      true,
    );
  }

  /** Defragments the member's backend, giving freed space back to the file system. */
  async defragment(options: CallOptions = {}): Promise<{ header: ResponseHeader | undefined }> {
    return this.caller.unary(options, true, async (c, a) => ({
      header: optionalHeader((await c.maintenance.defragment({}, a)).header),
    }));
  }

  /** The hash of the member's whole backend (for testing; prefer hashKV). */
  async hash(options: CallOptions = {}): Promise<{ header: ResponseHeader; hash: number }> {
    return this.caller.unary(options, true, async (c, a) => {
      const res = await c.maintenance.hash({}, a);
      return { header: header(res.header, "hash"), hash: res.hash };
    });
  }

  /** The hash of the key-value store up to revision (0 for the newest), for consistency checks. */
  async hashKV(
    options: { revision?: number | bigint } & CallOptions = {},
  ): Promise<{ header: ResponseHeader; hash: number; compactRevision: bigint }> {
    const revision = int64(options.revision, "revision");
    return this.caller.unary(options, true, async (c, a) => {
      const res = await c.maintenance.hashKV({ revision }, a);
      return {
        header: header(res.header, "hashKV"),
        hash: res.hash,
        compactRevision: res.compactRevision,
      };
    });
  }

  private async alarm(
    action: AlarmRequest_AlarmAction,
    memberID: bigint,
    alarm: AlarmType,
    options: CallOptions,
    idempotent: boolean,
  ): Promise<Alarm[]> {
    return this.caller.unary(options, idempotent, async (c, a) => {
      const res = await c.maintenance.alarm({ action, memberID, alarm }, a);
      return res.alarms.map((m) => ({
        memberId: m.memberID,
        alarm: alarmNames[m.alarm] ?? "none",
      }));
    });
  }
}
