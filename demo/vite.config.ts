// The demo dashboard. `npm run demo` starts etcd and then this (scripts/demo.mjs); on its own,
// `npx vite demo` expects etcd at http://127.0.0.1:2379 (see demo/server/plugin.ts for the
// environment variables that point it elsewhere).
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";
import { demoServer, optionsFromEnv } from "./server/plugin.js";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  plugins: [demoServer(optionsFromEnv(process.env))],
  build: { outDir: "dist", emptyOutDir: true, target: "es2022" },
  server: { host: "127.0.0.1", port: 5173 },
  preview: { host: "127.0.0.1", port: 4173 },
});
