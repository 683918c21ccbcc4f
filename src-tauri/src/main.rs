// Release builds on Windows: no console window next to the app.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    // Started as the extraction worker (see `sift_core::worker`): read documents, nothing else.
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == sift_core::worker::WORKER_ARG)
    {
        std::process::exit(sift_core::worker::serve());
    }
    // Before any thread starts and before ONNX Runtime loads: Sift never sends anything off the machine.
    sift_core::runtime::disable_telemetry();
    sift_app_lib::run()
}
