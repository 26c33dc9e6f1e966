// The page's one origin: the bench page and etcd-web-bridge (under /etcd) on one node:http
// server. It runs in a child process of the bench, so that the bridge's CPU and memory are
// not counted as the client's. Browsers speak HTTP/1.1 to an http:// origin, as in production
// without TLS.
import { createServer } from "node:http";
import { createBridge } from "../../src/bridge/index.js";

export const bridgePrefix = "/etcd";

const page = (script: string) => `<!doctype html>
<html><head><meta charset="utf-8"><title>etcd-web bench</title></head>
<body><p id="status">loading</p><script type="module">${script.replace(/<\/script/g, "<\\/script")}</script></body></html>`;

/** Serves until killed. argv: port, etcd URL; the page's script comes on stdin. */
export async function serve(port: number, etcdUrl: string): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const html = page(Buffer.concat(chunks).toString("utf8"));
  const origin = `http://127.0.0.1:${port}`;
  let failures = 0;
  const bridge = createBridge({
    etcd: [etcdUrl],
    pathPrefix: bridgePrefix,
    allowOrigin: [origin],
    // Watches the bench cancels end as failed calls; count them rather than print each.
    log: () => {
      failures++;
    },
  });
  const server = createServer((req, res) => {
    if (req.url?.startsWith(`${bridgePrefix}/`)) {
      bridge.handle(req, res);
      return;
    }
    if (req.url === "/" || req.url === "/index.html") {
      res.writeHead(200, {
        "content-type": "text/html; charset=utf-8",
        "cache-control": "no-store",
      });
      res.end(html);
      return;
    }
    if (req.url === "/stats") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          ...bridge.stats(),
          loggedFailures: failures,
          memory: process.memoryUsage(),
        }),
      );
      return;
    }
    res.writeHead(404);
    res.end();
  });
  // Many concurrent watches from Node arrive as one HTTP/1.1 connection each.
  server.maxConnections = 5000;
  server.keepAliveTimeout = 60_000;
  server.listen(port, "127.0.0.1", () => process.stdout.write(`listening ${origin}\n`));
  const stop = () => {
    bridge.close();
    server.closeAllConnections();
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  // The bench's end (or crash) closes our stdin pipe only once; the parent pid check covers a kill.
  const parent = process.ppid;
  setInterval(() => {
    try {
      process.kill(parent, 0);
    } catch {
      stop();
    }
  }, 1000).unref();
}
