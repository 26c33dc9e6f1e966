#!/usr/bin/env node
// The etcd-web-bridge command. Everything but process handling is in cli-main.ts.
import { InvalidInputError } from "../errors/etcd-error.js";
import { optionalDependency } from "../optional-dependency.node.js";

function fail(e: unknown, usage?: string): never {
  const bad = e instanceof InvalidInputError && usage !== undefined;
  console.error(`etcd-web-bridge: ${e instanceof Error ? e.message : String(e)}`);
  if (bad) console.error(`\n${usage}`);
  process.exit(bad ? 2 : 1);
}

// The bridge runs on connect-node, an optional peer dependency of etcd-web: without it, say so.
const { runCli, usage } = await optionalDependency(
  "@connectrpc/connect-node",
  () => import("./cli-main.js"),
  "etcd-web-bridge",
  "@connectrpc/connect-node@2.2.0",
).catch((e: unknown) => fail(e));

try {
  const server = await runCli(process.argv.slice(2));
  if (server) {
    const stop = () => {
      server.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  }
} catch (e) {
  fail(e, usage);
}
