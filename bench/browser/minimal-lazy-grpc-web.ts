// The same app as minimal-grpc-web.ts through "etcd-web", which loads each protocol on first use.
import { Etcd } from "../../src/index.js";

const etcd = new Etcd({ endpoints: [`${location.origin}/etcd`], protocol: "grpc-web" });
await etcd.put("greeting", "hello");
const res = await etcd.get("greeting");
document.body.textContent = res.first?.text() ?? "";
for await (const r of etcd.watch("greeting")) {
  for (const ev of r.events) document.body.textContent = ev.kv.text();
}
