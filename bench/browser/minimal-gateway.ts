// The smallest useful browser app over etcd's JSON gateway (etcd-web/gateway): get, put and watch. Bundled for its gzip size.
import { Etcd } from "../../src/gateway.js";

const etcd = new Etcd({ endpoints: ["http://127.0.0.1:2379"], protocol: "gateway" });
await etcd.put("greeting", "hello");
const res = await etcd.get("greeting");
document.body.textContent = res.first?.text() ?? "";
for await (const r of etcd.watch("greeting")) {
  for (const ev of r.events) document.body.textContent = ev.kv.text();
}
