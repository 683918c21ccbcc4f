import "./styles.css";
import { createDesktopApi, createTauriApi, insideTauri, type DesktopApi, type SiftApi } from "./api";
import { mountApp } from "./app";

async function start(): Promise<void> {
  const root = document.getElementById("app");
  if (!root) return;
  let api: SiftApi;
  let desktop: DesktopApi | undefined;
  let demo = false;
  if (insideTauri()) {
    api = createTauriApi();
    desktop = createDesktopApi();
  } else {
    // Plain browser (npm run dev / preview): sample data so the UI can be worked on without the engine.
    const { createDemoApi } = await import("./demo");
    api = createDemoApi();
    demo = true;
  }
  mountApp(root, api, { demo, desktop });
}

void start();
