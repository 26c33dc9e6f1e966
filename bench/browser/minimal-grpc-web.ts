// The smallest useful browser app over grpc-web (etcd-web/grpc-web): get, put and watch. Bundled for its gzip size.
import { Etcd } from "../../src/grpc-web.js";

const etcd = new Etcd({ endpoints: [`${location.origin}/etcd`], protocol: "grpc-web" });
await etcd.put("greeting", "hello");
const res = await etcd.get("greeting");
document.body.textContent = res.first?.text() ?? "";
for await (const r of etcd.watch("greeting")) {
  for (const ev of r.events) document.body.textContent = ev.kv.text();
}
