//! `sift models` (which models exist, which are installed and where, which is active) and
//! `sift models download ID` (the pinned download with a progress bar).

use std::sync::atomic::AtomicBool;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use sift_core::model::{self, HubOptions, ModelSpec, Precision};

use crate::Cli;

/// One model as `sift models` shows it.
#[derive(serde::Serialize)]
struct Row {
    id: String,
    name: String,
    description: String,
    languages: String,
    dim: usize,
    /// Bytes to download at the precision shown, when the manifest knows them.
    size: Option<u64>,
    precision: Precision,
    bundled: bool,
    downloadable: bool,
    installed: bool,
    /// Where the files were found ("setup cache", "bundled with Sift", …) and their folder.
    source: Option<String>,
    location: Option<String>,
    active: bool,
}

fn precision_for(cli: &Cli, spec: &ModelSpec, active: &sift_core::Settings) -> Result<Precision> {
    if let Some(p) = &cli.precision {
        return Ok(p.parse()?);
    }
    Ok(if spec.id == active.model {
        active.precision.unwrap_or(spec.default_precision)
    } else {
        spec.default_precision
    })
}

fn settings(cli: &Cli) -> Result<sift_core::Settings> {
    let data_dir = cli
        .data_dir
        .clone()
        .unwrap_or_else(sift_core::paths::default_data_dir);
    Ok(sift_core::Settings::load(&data_dir)?)
}

fn rows(cli: &Cli) -> Result<Vec<Row>> {
    let active = settings(cli)?;
    let mut rows = Vec::new();
    for spec in model::models() {
        let precision = precision_for(cli, &spec, &active)?;
        let found = model::locate(&spec, precision, cli.model_dir.as_deref()).ok();
        rows.push(Row {
            active: spec.id == active.model,
            size: spec.download_size(precision),
            downloadable: spec.downloadable(precision),
            installed: found.is_some(),
            source: found.as_ref().map(|f| f.source.to_string()),
            location: found
                .as_ref()
                .and_then(|f| f.onnx.parent().map(|p| p.display().to_string())),
            precision,
            bundled: spec.bundled,
            dim: spec.dim,
            languages: spec.languages,
            description: spec.description,
            name: spec.name,
            id: spec.id,
        });
    }
    Ok(rows)
}

/// "133 MB" (decimal, as download sizes are usually given).
fn human(bytes: u64) -> String {
    if bytes >= 1_000_000 {
        format!("{:.0} MB", bytes as f64 / 1e6)
    } else {
        format!("{:.0} kB", (bytes as f64 / 1e3).max(1.0))
    }
}

pub(crate) fn list(cli: &Cli, json: bool) -> Result<()> {
    let rows = rows(cli)?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    for r in &rows {
        let mark = if r.active { "*" } else { " " };
        outln!("{mark} {:<24} {}", r.id, r.name);
        let size = match (r.size, r.bundled) {
            (_, true) => "bundled".to_string(),
            (Some(b), false) => format!("download {}", human(b)),
            (None, false) => "download size not listed".to_string(),
        };
        outln!(
            "    {} · {} dimensions · {} · {}",
            r.languages,
            r.dim,
            r.precision,
            size
        );
        outln!("    {}", r.description);
        match (&r.source, &r.location) {
            (Some(source), Some(dir)) => outln!("    installed ({source}): {dir}"),
            _ if r.downloadable => outln!("    not installed: `sift models download {}`", r.id),
            _ => outln!("    not installed (not downloadable yet)"),
        }
    }
    outln!("\n* = active model (change it in the app's settings)");
    Ok(())
}

pub(crate) fn download(cli: &Cli, id: &str) -> Result<()> {
    let spec = model::spec(id)?;
    let precision = precision_for(cli, &spec, &settings(cli)?)?;
    if let Ok(found) = model::locate(&spec, precision, cli.model_dir.as_deref()) {
        eprintln!(
            "{} is already installed ({}): {}",
            spec.name,
            found.source,
            found.onnx.parent().unwrap_or(&found.onnx).display()
        );
        return Ok(());
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg:16} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .context("progress template")?
        .progress_chars("=> "),
    );
    let cancel = AtomicBool::new(false);
    let result = sift_core::download::download(
        &spec,
        precision,
        &HubOptions::default(),
        &cancel,
        &mut |p| {
            if let Some(total) = p.total {
                bar.set_length(total);
            }
            bar.set_position(p.bytes);
            bar.set_message(p.file.clone());
        },
    );
    bar.finish_and_clear();
    match result {
        Ok(files) => {
            outln!(
                "{} installed in {}",
                spec.name,
                files.onnx.parent().unwrap_or(&files.onnx).display()
            );
            Ok(())
        }
        Err(e) => {
            tracing::error!(error = %e.details(), "download failed");
            Err(anyhow::anyhow!("{e}"))
        }
    }
}
