//! One IPC round trip through Tauri's mock runtime, as the web UI makes it: a command with JSON arguments,
//! its JSON answer or error. Shared by the app's IPC test binaries (`#[path]`).

use serde_json::Value;
use tauri::test::{get_ipc_response, MockRuntime, INVOKE_KEY};
use tauri::WebviewWindow;

pub fn invoke(
    webview: &WebviewWindow<MockRuntime>,
    cmd: &str,
    args: Value,
) -> Result<Value, Value> {
    get_ipc_response(
        webview,
        tauri::webview::InvokeRequest {
            cmd: cmd.into(),
            callback: tauri::ipc::CallbackFn(0),
            error: tauri::ipc::CallbackFn(1),
            // Not http://tauri.localhost: on Linux that is a remote origin to the ACL.
            url: "tauri://localhost".parse().unwrap(),
            body: tauri::ipc::InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|body| body.deserialize::<Value>().unwrap())
}
