/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// `npm run dev` proxies the API to a running `make run` gateway, so the dev server and the built
// console see the same origin-relative /api/v1 paths.
const gateway = process.env.FLOWPILOT_GATEWAY_URL ?? "http://localhost:8080";

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    assetsDir: "assets",
    sourcemap: false,
    // Every file name under assets/ carries a content hash: the gateway caches them for a year.
    assetsInlineLimit: 0,
  },
  server: {
    proxy: { "/api": { target: gateway, changeOrigin: false } },
  },
  test: {
    environment: "node",
    include: ["src/**/*.test.ts"],
  },
});
