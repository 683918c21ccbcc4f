// Release builds on Windows: no console window next to the app.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    // Before any thread starts and before ONNX Runtime loads: Sift never sends anything off the machine.
    sift_core::runtime::disable_telemetry();
    sift_app_lib::run()
}
