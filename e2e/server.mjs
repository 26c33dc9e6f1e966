#!/usr/bin/env node
// Playwright's webServer: a 3-member etcd cluster, the demo's production build served by
// `vite preview` with one bridge per member, and a control endpoint for the tests:
//   POST /__test/members/<name>/kill      SIGKILL that member
//   POST /__test/members/<name>/restart   start it again and wait until it is healthy
//   POST /__test/bridges/restart          drop every connection the bridges are serving, as
//                                         a proxy that restarts does (they serve again at once)
// The control endpoint answers loopback requests without an Origin header only, so no page
// (not even the dashboard) can call it. SIGTERM (Playwright's gracefulShutdown) or Ctrl-C
// stops everything and removes etcd's data.
import { closeOnSignals, startDemo } from "../demo/server/launch.mjs";

const port = Number(process.env.E2E_PORT ?? 4173);

const demo = await startDemo({
  size: 3,
  port,
  strictPort: true,
  mode: "preview",
  healthIntervalMs: 1000,
  logLevel: "warn",
  plugins: (etcd) => [control(etcd)],
}).catch((e) => {
  console.error(`e2e server did not start: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
});
closeOnSignals(demo.close);
console.log(`e2e: the demo is at ${demo.url}`);

function control(etcd) {
  return {
    name: "etcd-web-e2e-control",
    configurePreviewServer(server) {
      // The sockets with a bridge call in flight (the bridges are mounted under /etcd/).
      const serving = new Set();
      server.httpServer?.on("request", (req, res) => {
        if (!(req.url ?? "").startsWith("/etcd/")) return;
        serving.add(req.socket);
        res.once("close", () => serving.delete(req.socket));
      });
      server.middlewares.use(async (req, res, next) => {
        const path = (req.url ?? "").split("?")[0];
        const m = /^\/__test\/members\/([\w-]+)\/(kill|restart)$/.exec(path);
        const bridges = path === "/__test/bridges/restart";
        if (!m && !bridges) return next();
        const local = ["127.0.0.1", "::1", "::ffff:127.0.0.1"].includes(req.socket.remoteAddress);
        if (req.method !== "POST" || req.headers.origin !== undefined || !local) {
          res.writeHead(403, { "content-type": "text/plain" }).end("forbidden\n");
          return;
        }
        if (bridges) {
          const dropped = serving.size;
          for (const socket of serving) socket.destroy();
          serving.clear();
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ dropped }));
          return;
        }
        try {
          const member = etcd.member(m[1]);
          await (m[2] === "kill" ? member.kill() : member.restart());
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ member: member.name, running: member.running }));
        } catch (e) {
          res.writeHead(500, { "content-type": "text/plain" }).end(`${e}\n`);
        }
      });
    },
  };
}
