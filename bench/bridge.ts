// Section 4: the bridge's cost: etcd-web over grpc-web through etcd-web-bridge (in its own
// process, HTTP/1.1 from Node's fetch) against etcd-web over grpc straight to etcd.
import { Etcd } from "../src/node.js";
import { closedLoop } from "./lib/closed-loop.js";
import { type Cell, type Rate, summarise } from "./lib/stats.js";
import { kvKey, kvValue } from "./node-kv.js";

export interface BridgeRow {
  op: "put" | "get";
  inFlight: number;
  direct: Cell;
  bridged: Cell;
}

export async function runBridge(o: {
  etcdUrl: string;
  bridgeUrl: string;
  inFlight: readonly number[];
  durationMs: number;
  warmupMs: number;
  repeats: number;
  onStep?: (step: string) => void;
}): Promise<BridgeRow[]> {
  const direct = new Etcd({ endpoints: [o.etcdUrl], protocol: "grpc" });
  const bridged = new Etcd({ endpoints: [o.bridgeUrl], protocol: "grpc-web" });
  const rows: BridgeRow[] = [];
  try {
    await direct.put(kvKey, kvValue);
    await bridged.put(kvKey, kvValue);
    for (const op of ["put", "get"] as const) {
      for (const inFlight of o.inFlight) {
        o.onStep?.(`bridge ${op} ${inFlight} in flight`);
        const runs: Record<"direct" | "bridged", Rate[]> = { direct: [], bridged: [] };
        for (let r = 0; r < o.repeats; r++) {
          for (const [name, c] of r % 2
            ? ([
                ["bridged", bridged],
                ["direct", direct],
              ] as const)
            : ([
                ["direct", direct],
                ["bridged", bridged],
              ] as const)) {
            runs[name].push(
              await closedLoop(op === "put" ? () => c.put(kvKey, kvValue) : () => c.get(kvKey), {
                inFlight,
                durationMs: o.durationMs,
                warmupMs: o.warmupMs,
                maxCalls: 2_000_000,
              }),
            );
          }
        }
        rows.push({
          op,
          inFlight,
          direct: summarise(runs.direct),
          bridged: summarise(runs.bridged),
        });
      }
    }
  } finally {
    await direct.close();
    await bridged.close();
  }
  return rows;
}
