// Summarises a V8 .cpuprofile (node --cpu-prof): the functions with the most self time and
// the most inclusive time. Usage, from the repository root:
//   npx esbuild bench/experiments/profile-summary.ts --bundle --platform=node --format=esm \
//     --outfile=node_modules/.cache/etcd-web/profile-summary.mjs \
//     && node node_modules/.cache/etcd-web/profile-summary.mjs FILE.cpuprofile [rows]
import { readFileSync } from "node:fs";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
const profile = JSON.parse(readFileSync(process.argv[2] ?? "", "utf8")) as {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
};
const rows = Number(process.argv[3] ?? 30);
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const name = (n: Node) =>
  `${n.callFrame.functionName || "(anonymous)"} ${n.callFrame.url.split("/").slice(-2).join("/")}:${n.callFrame.lineNumber}`;
const self = new Map<string, number>();
const inclusive = new Map<string, number>();
let total = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  total += dt;
  const node = byId.get(id);
  if (!node) return;
  self.set(name(node), (self.get(name(node)) ?? 0) + dt);
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const n = byId.get(cur);
    if (!n || seen.has(name(n))) continue;
    seen.add(name(n));
    inclusive.set(name(n), (inclusive.get(name(n)) ?? 0) + dt);
  }
});
const top = (m: Map<string, number>) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, rows)
    .map(([k, t]) => `${((100 * t) / total).toFixed(1).padStart(5)}%  ${k}`)
    .join("\n");
console.log(
  `${(total / 1000).toFixed(0)} ms sampled\n--- self\n${top(self)}\n--- inclusive\n${top(inclusive)}`,
);
