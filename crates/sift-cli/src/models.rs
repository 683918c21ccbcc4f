//! `sift models` (which embedding and answer models exist, which are installed and where, which are in use)
//! and `sift models download ID` (the pinned download with a progress bar, for either kind).

use std::sync::atomic::AtomicBool;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use sift_core::download::{DownloadError, DownloadProgress};
use sift_core::generate;
use sift_core::model::{self, GeneratorSpec, HubOptions, ModelSpec, Precision};

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

/// One answer model (for `sift ask`) as `sift models` shows it: the manifest's, and installed ones it does
/// not list (the setup's test model, a user's own).
#[derive(serde::Serialize)]
struct AnswerRow {
    id: String,
    name: String,
    description: Option<String>,
    license: Option<String>,
    parameters_b: Option<f64>,
    quantization: Option<String>,
    /// Bytes to download (an estimate until the Hub is asked).
    size: Option<u64>,
    /// About how many tokens per second it writes on two x86 cores.
    approx_tokens_per_s: Option<f64>,
    downloadable: bool,
    installed: bool,
    location: Option<String>,
    /// `sift ask` uses it (the one in settings, else the largest installed).
    active: bool,
}

fn answer_rows(cli: &Cli) -> Result<Vec<AnswerRow>> {
    let installed = generate::installed();
    let chosen = settings(cli)?.answer_model;
    let active = generate::locate(chosen.as_deref())
        .or_else(|_| generate::locate(None))
        .ok();
    let where_is = |id: &str| {
        installed
            .iter()
            .find(|(c, _)| c.model_id == id)
            .map(|(_, d)| d.clone())
    };
    let mut rows: Vec<AnswerRow> = model::generators()
        .into_iter()
        .map(|g: GeneratorSpec| {
            let dir = where_is(&g.id);
            AnswerRow {
                active: dir.is_some() && dir == active,
                installed: dir.is_some(),
                location: dir.map(|d| d.display().to_string()),
                size: Some(g.download_size()),
                downloadable: true,
                description: Some(g.description),
                license: Some(g.license),
                parameters_b: Some(g.parameters_b),
                quantization: Some(g.quantization),
                approx_tokens_per_s: Some(g.approx_tokens_per_s),
                name: g.name,
                id: g.id,
            }
        })
        .collect();
    for (config, dir) in &installed {
        if rows.iter().any(|r| r.id == config.model_id) {
            continue;
        }
        rows.push(AnswerRow {
            id: config.model_id.clone(),
            name: if config.name.is_empty() {
                config.model_id.clone()
            } else {
                config.name.clone()
            },
            description: None,
            license: config.license.clone(),
            parameters_b: None,
            quantization: None,
            size: None,
            approx_tokens_per_s: None,
            downloadable: false,
            installed: true,
            location: Some(dir.display().to_string()),
            active: active.as_ref() == Some(dir),
        });
    }
    Ok(rows)
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
    let answer = answer_rows(cli)?;
    if json {
        let all = serde_json::json!({ "embedding": rows, "answer": answer });
        outln!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(());
    }
    outln!("Embedding models (search):");
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
    outln!("\nAnswer models (sift ask, the app's Ask mode):");
    for r in &answer {
        let mark = if r.active { "*" } else { " " };
        outln!("{mark} {:<24} {}", r.id, r.name);
        let mut facts = Vec::new();
        if let Some(p) = r.parameters_b {
            facts.push(format!("{p:.1} B parameters"));
        }
        if let Some(q) = &r.quantization {
            facts.push(q.clone());
        }
        if let Some(b) = r.size.filter(|_| r.downloadable) {
            facts.push(format!("download about {}", human(b)));
        }
        if let Some(t) = r.approx_tokens_per_s {
            facts.push(format!("about {t:.0} tokens/s on 2 cores"));
        }
        if let Some(l) = &r.license {
            facts.push(l.clone());
        }
        if !facts.is_empty() {
            outln!("    {}", facts.join(" · "));
        }
        if let Some(d) = &r.description {
            outln!("    {d}");
        }
        match &r.location {
            Some(dir) => outln!("    installed: {dir}"),
            None => outln!("    not installed: `sift models download {}`", r.id),
        }
    }
    outln!("\n* = in use (embedding: change it in the app's settings; answer: `sift ask --generator ID`)");
    Ok(())
}

/// A progress bar for a download, and the callback that moves it.
fn progress_bar() -> Result<ProgressBar> {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg:16} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .context("progress template")?
        .progress_chars("=> "),
    );
    Ok(bar)
}

fn show(bar: &ProgressBar, p: &DownloadProgress) {
    if let Some(total) = p.total {
        bar.set_length(total);
    }
    bar.set_position(p.bytes);
    bar.set_message(p.file.clone());
}

fn failed(e: DownloadError) -> anyhow::Error {
    tracing::error!(error = %e.details(), "download failed");
    anyhow::anyhow!("{e}")
}

/// `sift models download ID` for an answer model.
fn download_answer_model(spec: &GeneratorSpec) -> Result<()> {
    if let Some((_, dir)) = generate::installed()
        .into_iter()
        .find(|(c, _)| c.model_id == spec.id)
    {
        eprintln!("{} is already installed: {}", spec.name, dir.display());
        return Ok(());
    }
    let bar = progress_bar()?;
    let cancel = AtomicBool::new(false);
    let result =
        sift_core::download::download_generator(spec, &HubOptions::default(), &cancel, &mut |p| {
            show(&bar, p)
        });
    bar.finish_and_clear();
    let dir = result.map_err(failed)?;
    outln!(
        "{} installed in {}; ask with `sift ask --generator {} QUESTION`",
        spec.name,
        dir.display(),
        spec.id
    );
    Ok(())
}

pub(crate) fn download(cli: &Cli, id: &str) -> Result<()> {
    if let Ok(spec) = model::generator_spec(id) {
        return download_answer_model(&spec);
    }
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
    let bar = progress_bar()?;
    let cancel = AtomicBool::new(false);
    let result = sift_core::download::download(
        &spec,
        precision,
        &HubOptions::default(),
        &cancel,
        &mut |p| show(&bar, p),
    );
    bar.finish_and_clear();
    let files = result.map_err(failed)?;
    outln!(
        "{} installed in {}",
        spec.name,
        files.onnx.parent().unwrap_or(&files.onnx).display()
    );
    Ok(())
}
