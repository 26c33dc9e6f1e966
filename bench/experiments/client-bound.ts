// Scratch: the upper bound of what a cheaper EtcdClient.unary could save: no deadline, no
// failover, no pool bookkeeping; the call straight on the pinned endpoint's connection.

import { EtcdClient } from "../../src/v3/client.js";
import type { Connection } from "../../src/v3/connection.js";

export class BareClient extends EtcdClient {
  override unary<T>(
    _options: unknown,
    _idempotent: boolean,
    call: (c: Connection, attempt: { signal: AbortSignal }) => Promise<T>,
  ): Promise<T> {
    const self = this as unknown as {
      pool: { pinned: string };
      connection(e: string): Connection;
      closing: AbortController;
    };
    return call(self.connection(self.pool.pinned), { signal: self.closing.signal });
  }
}
