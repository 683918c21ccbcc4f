import { resolve } from "node:path";
import { defineConfig } from "vitest/config";

// Tauri loads ../ui/dist (frontendDist) and enforces a strict CSP:
// no inline scripts or styles, so the build must emit only external files.
export default defineConfig({
  base: "./",
  clearScreen: false,
  server: { port: 1420, strictPort: true },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: ["es2022", "safari15"],
    // Keep CSS as a <link>ed file and never inline assets as data: scripts.
    assetsInlineLimit: 0,
    sourcemap: false,
    // Two pages: the main window and the quick-search window (desktop.rs opens quick.html).
    rollupOptions: {
      input: {
        main: resolve(import.meta.dirname, "index.html"),
        quick: resolve(import.meta.dirname, "quick.html"),
      },
    },
  },
  test: {
    environment: "jsdom",
    include: ["tests/**/*.test.ts"],
    restoreMocks: true,
  },
});
