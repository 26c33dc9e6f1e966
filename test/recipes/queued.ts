import type { Etcd } from "../../src/node.js";
import { eventually } from "../harness/wait.js";

/**
 * Waits until `n` keys (a lock's holder and waiters, an election's leader and candidates)
 * exist under the prefix: the point where a waiter is queued, rather than a guessed sleep.
 */
export async function queued(etcd: Etcd, prefix: string, n: number): Promise<void> {
  let seen = 0n;
  await eventually(
    async () => {
      seen = (await etcd.get(prefix, { prefix: true, countOnly: true })).count;
      return seen === BigInt(n);
    },
    10_000,
    () => `${seen} keys under ${prefix}, waiting for ${n}`,
  );
}
