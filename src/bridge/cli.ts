#!/usr/bin/env node
// The etcd-web-bridge command. Everything but process handling is in cli-main.ts.
import { InvalidInputError } from "../errors/etcd-error.js";
import { runCli, usage } from "./cli-main.js";

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
  const bad = e instanceof InvalidInputError;
  console.error(`etcd-web-bridge: ${e instanceof Error ? e.message : String(e)}`);
  if (bad) console.error(`\n${usage}`);
  process.exit(bad ? 2 : 1);
}
