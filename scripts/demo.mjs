#!/usr/bin/env node
// `npm run demo`: starts a local etcd (v2 on, CORS for the page's origin) on 127.0.0.1, the
// demo dashboard on Vite's dev server with etcd-web's bridge mounted in it, and prints the URL.
// Ctrl-C stops everything and removes etcd's data.
//
//   npm run demo                 one member
//   npm run demo -- --cluster    three members (kill one to see its badge turn red)
//   npm run demo -- --port=5180  another port for the page (default 5173, or a free one)
//   npm run demo -- --preview    the production build, served by `vite preview`
//   npm run demo -- --etcd=3.5   another etcd version: 3.4 (the default, etcd on PATH), 3.5
//                                (the newest 3.5 setup fetched), or an exact one such as 3.5.16
import { closeOnSignals, startDemo } from "../demo/server/launch.mjs";

const args = process.argv.slice(2);
const usage = "usage: npm run demo -- [--cluster] [--port=N] [--preview] [--etcd=VERSION]";
if (args.includes("--help")) {
  console.log(usage);
  process.exit(0);
}
const unknown = args.filter((a) => !/^--(cluster|preview|port=\d+|etcd=\d+(\.\d+){0,2})$/.test(a));
if (unknown.length) {
  console.error(`unknown option ${unknown.join(" ")}\n${usage}`);
  process.exit(2);
}
const port = Number(args.find((a) => a.startsWith("--port="))?.slice(7) ?? 5173);

let demo;
try {
  demo = await startDemo({
    size: args.includes("--cluster") ? 3 : 1,
    port,
    mode: args.includes("--preview") ? "preview" : "dev",
    preferredPorts: true,
    etcdVersion: args.find((a) => a.startsWith("--etcd="))?.slice(7),
    logLevel: "warn",
  });
} catch (e) {
  console.error(`the demo did not start: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
}
closeOnSignals(demo.close);

const members = demo.etcd.members;
const urls = members.map((m) => m.clientUrl);
console.log(`
  etcd-web dashboard:  ${demo.url}
  etcd ${demo.etcd.version}

  etcd ${members.length === 1 ? "member" : "members"} (v3 gRPC and JSON gateway, v2 keys API):
${members.map((m) => `    ${m.name}  ${m.clientUrl}   bridge: ${demo.url}etcd/${m.name}`).join("\n")}

  Node:     new Etcd({ endpoints: ${JSON.stringify(urls)} })                     // grpc
  Browser:  new Etcd({ endpoints: ${JSON.stringify(urls)}, protocol: "gateway" })
  v2:       new V2Client({ endpoints: ${JSON.stringify(urls)} })

Press Ctrl-C to stop.`);
