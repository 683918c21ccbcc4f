import "./styles.css";
import { createTauriApi, insideTauri, type SiftApi } from "./api";
import { mountApp } from "./app";

async function start(): Promise<void> {
  const root = document.getElementById("app");
  if (!root) return;
  let api: SiftApi;
  let demo = false;
  if (insideTauri()) {
    api = createTauriApi();
  } else {
    // Plain browser (npm run dev / preview): sample data so the UI can be worked on without the engine.
    const { createDemoApi } = await import("./demo");
    api = createDemoApi();
    demo = true;
  }
  mountApp(root, api, { demo });
}

void start();
