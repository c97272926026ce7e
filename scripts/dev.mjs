// `npm run dev`: the server from source with reload (tsx watch) on :3000 and
// Vite's dev server with hot reload on :5173, which proxies /api and /ws to
// it. Open http://localhost:5173. Ctrl+C stops both.
import { spawn } from "node:child_process";

const procs = [
  spawn("npx", ["tsx", "watch", "src/server/main.ts", "--public-url", "http://localhost:5173", "--allowed-origins", "http://localhost:3000"], { stdio: "inherit" }),
  spawn("npx", ["vite", "--config", "vite.config.ts"], { stdio: "inherit" }),
];
const stop = () => procs.forEach((p) => p.kill("SIGTERM"));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
for (const p of procs) p.on("exit", stop);
