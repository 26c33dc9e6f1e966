import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { InvalidInputError } from "../errors/etcd-error.js";
import { defaultTimeouts } from "./connection-limits.js";
import { defaultLimits } from "./limits.js";
import { type BridgeServer, defaultListen, defaultServerLimits, startBridge } from "./server.js";

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
  --allow-cert-identity
                       with --etcd-cert, pass calls without a token: etcd then takes the
                       certificate's user (its CN) as the caller's, for every page.
                       Without it, such calls are refused (UNAUTHENTICATED).

Methods (closed by default). Served: KV Range, Put, DeleteRange, Txn; Watch; Lease;
Maintenance Status; Cluster MemberList; Auth Authenticate. Others answer PERMISSION_DENIED.
  --allow-method NAME  also serve NAME, e.g. etcdserverpb.Maintenance/Snapshot, or a whole
                       service, e.g. etcdserverpb.Auth/*; repeatable
  --allow-all-methods  serve every method of the six services
  --read-only          serve only Range, Watch, Status and MemberList

Limits:
  --max-request-bytes N          etcd's request limit (its --max-request-bytes); the bridge
                                 takes N plus 512 KiB per request (default ${defaultLimits.maxRequestBytes})
  --max-watch-creates N          watch creates in one Watch request (default ${defaultLimits.maxWatchCreates})
  --max-watch-body-bytes N       bytes of one Watch request (default ${defaultLimits.maxWatchBodyBytes})
  --max-watches-per-connection N watches open on one connection (default ${defaultLimits.maxWatchesPerConnection})
  --max-connections N            connections open at once (default ${defaultServerLimits.maxConnections})
  --max-concurrent-streams N     streams per HTTP/2 connection (default ${defaultServerLimits.maxConcurrentStreams})
  --headers-timeout-ms N         time to send a request's headers (default ${defaultTimeouts.headersTimeoutMs})
  --request-timeout-ms N         time to send a request's body (default ${defaultTimeouts.requestTimeoutMs})
  --idle-timeout-ms N            an HTTP/2 connection without streams closes (default ${defaultTimeouts.idleTimeoutMs})

  -h, --help           show this help
`;

const numberFlags = [
  "max-request-bytes",
  "max-watch-creates",
  "max-watch-body-bytes",
  "max-watches-per-connection",
  "max-connections",
  "max-concurrent-streams",
  "headers-timeout-ms",
  "request-timeout-ms",
  "idle-timeout-ms",
] as const;
type NumberFlag = (typeof numberFlags)[number];

/** "max-watch-creates" -> "maxWatchCreates" */
const camel = (flag: string) => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

export interface CliOptions {
  listen: string;
  etcd: string[];
  allowOrigin: string[];
  cert: string | undefined;
  key: string | undefined;
  etcdCa: string | undefined;
  etcdCert: string | undefined;
  etcdKey: string | undefined;
  allowCertIdentity: boolean;
  allowMethods: string[];
  allowAllMethods: boolean;
  readOnly: boolean;
  /** The numeric limits given, by option name (maxWatchCreates, headersTimeoutMs, ...). */
  limits: Partial<Record<string, number>>;
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
    allowCertIdentity: values["allow-cert-identity"] ?? false,
    allowMethods: values["allow-method"] ?? [],
    allowAllMethods: values["allow-all-methods"] ?? false,
    readOnly: values["read-only"] ?? false,
    limits: {},
  };
  for (const flag of numberFlags) {
    const raw = values[flag];
    if (raw === undefined) continue;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < 1) {
      throw new InvalidInputError(`--${flag}: "${raw}" must be a whole number of at least 1`, flag);
    }
    opts.limits[camel(flag)] = n;
  }
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
      "allow-cert-identity": { type: "boolean" },
      "allow-method": { type: "string", multiple: true },
      "allow-all-methods": { type: "boolean" },
      "read-only": { type: "boolean" },
      ...(Object.fromEntries(numberFlags.map((f) => [f, { type: "string" }])) as Record<
        NumberFlag,
        { type: "string" }
      >),
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
    allowCertIdentity: opts.allowCertIdentity,
    allowMethods: opts.allowMethods,
    allowAllMethods: opts.allowAllMethods,
    readOnly: opts.readOnly,
    ...opts.limits,
    log,
  });
  const origins = opts.allowOrigin.length ? opts.allowOrigin.join(", ") : "none (no page may call)";
  print(`etcd-web-bridge listening on ${server.url}`);
  print(`  etcd: ${opts.etcd.join(", ")}`);
  print(`  allowed origins: ${origins}`);
  const mode = opts.allowAllMethods ? "all" : opts.readOnly ? "read-only" : "default";
  const extra = opts.allowMethods.length ? `, and ${opts.allowMethods.join(", ")}` : "";
  print(`  methods: ${mode}${extra}`);
  return server;
}
