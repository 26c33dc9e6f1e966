import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { InvalidInputError } from "../errors/etcd-error.js";
import { type BridgeServer, defaultListen, startBridge } from "./server.js";

export const usage = `Usage: etcd-web-bridge [options]

Serves etcd's KV, Watch, Lease, Cluster, Maintenance and Auth services to browsers over
gRPC-Web and the Connect protocol, and forwards each call to etcd over HTTP/2 gRPC.

Options:
  --listen HOST:PORT   where to listen (default ${defaultListen})
  --etcd URL           an etcd client URL; repeat for each member (default http://127.0.0.1:2379)
  --allow-origin URL   a page origin allowed to call, e.g. http://localhost:5173; repeatable.
                       "*" allows any page and must be given explicitly. Without it, only
                       callers that are not pages (no Origin header) get through.
  --cert FILE          PEM certificate: serve HTTPS, with HTTP/2 for browsers
  --key FILE           PEM private key for --cert
  --etcd-ca FILE       PEM CA bundle to verify https:// etcd URLs
  --etcd-cert FILE     PEM client certificate for etcd
  --etcd-key FILE      PEM client key for --etcd-cert
  -h, --help           show this help
`;

export interface CliOptions {
  listen: string;
  etcd: string[];
  allowOrigin: string[];
  cert: string | undefined;
  key: string | undefined;
  etcdCa: string | undefined;
  etcdCert: string | undefined;
  etcdKey: string | undefined;
}

/** The command line, checked; undefined for --help. File paths are returned, not read. */
export function parseCliArgs(argv: readonly string[]): CliOptions | undefined {
  let values: ReturnType<typeof parse>["values"];
  try {
    values = parse(argv).values;
  } catch (e) {
    throw new InvalidInputError(e instanceof Error ? e.message : String(e), "argv");
  }
  if (values.help) return undefined;
  const opts: CliOptions = {
    listen: values.listen ?? defaultListen,
    etcd: values.etcd ?? ["http://127.0.0.1:2379"],
    allowOrigin: values["allow-origin"] ?? [],
    cert: values.cert,
    key: values.key,
    etcdCa: values["etcd-ca"],
    etcdCert: values["etcd-cert"],
    etcdKey: values["etcd-key"],
  };
  if ((opts.cert === undefined) !== (opts.key === undefined)) {
    throw new InvalidInputError("--cert and --key go together", "cert");
  }
  if ((opts.etcdCert === undefined) !== (opts.etcdKey === undefined)) {
    throw new InvalidInputError("--etcd-cert and --etcd-key go together", "etcd-cert");
  }
  return opts;
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      listen: { type: "string" },
      etcd: { type: "string", multiple: true },
      "allow-origin": { type: "string", multiple: true },
      cert: { type: "string" },
      key: { type: "string" },
      "etcd-ca": { type: "string" },
      "etcd-cert": { type: "string" },
      "etcd-key": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
}

/**
 * Starts the bridge from a command line and prints where it listens; undefined after --help.
 * Bad arguments throw InvalidInputError.
 */
export async function runCli(
  argv: readonly string[],
  print: (line: string) => void = (line) => console.log(line),
  log?: (line: string) => void,
): Promise<BridgeServer | undefined> {
  const opts = parseCliArgs(argv);
  if (!opts) {
    print(usage);
    return undefined;
  }
  const read = (file: string | undefined) => (file === undefined ? undefined : readFileSync(file));
  const cert = read(opts.cert);
  const key = read(opts.key);
  const etcdTls = {
    ...(opts.etcdCa && { ca: read(opts.etcdCa) }),
    ...(opts.etcdCert && { cert: read(opts.etcdCert), key: read(opts.etcdKey) }),
  };
  const server = await startBridge({
    listen: opts.listen,
    etcd: opts.etcd,
    allowOrigin: opts.allowOrigin,
    tls: cert && key ? { cert, key } : undefined,
    etcdTls,
    log,
  });
  const origins = opts.allowOrigin.length ? opts.allowOrigin.join(", ") : "none (no page may call)";
  print(`etcd-web-bridge listening on ${server.url}`);
  print(`  etcd: ${opts.etcd.join(", ")}`);
  print(`  allowed origins: ${origins}`);
  return server;
}
