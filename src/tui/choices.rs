//! What the worker shows, built from the workbench: the context panel,
//! the model picker and the first-run screen.

use std::path::PathBuf;

use super::context_panel::{ContextPanel, PanelPart};
use super::setup::{FoundModel, FoundProvider, SetupView};
use crate::config::Settings;
use crate::model::local::discovery::{self, SearchPaths};
use crate::model::local::pull;
use crate::session::models;
use crate::session::{Task, Workbench};

/// The context panel for `question`: the parts of the prompt an ask would
/// send now (with the local model's token counts), the pins, the removed
/// files.
pub fn panel(wb: &mut Workbench, question: &str) -> ContextPanel {
    let excluded = wb.session.excluded.clone();
    let pinned = wb.pinned.clone();
    let ctx = match wb.context_draft(Task::Ask, question) {
        Ok(c) => c,
        Err(e) => {
            return ContextPanel {
                note: Some(e.to_string()),
                ..ContextPanel::default()
            };
        }
    };
    let Some(ctx) = ctx else {
        return ContextPanel {
            parts: pinned
                .iter()
                .map(|p| PanelPart {
                    label: p.clone(),
                    path: Some(p.clone()),
                    tokens: 0,
                    pinned: true,
                })
                .collect(),
            excluded,
            note: Some("no local model: the parts and their tokens show once one is loaded".into()),
            ..ContextPanel::default()
        };
    };
    let parts = ctx
        .parts
        .iter()
        .map(|p| {
            let label = match (&p.path, p.lines) {
                (Some(path), Some([a, b])) => format!("{path}:{a}-{b}"),
                (Some(path), None) => path.clone(),
                _ => format!("{:?}", p.kind).to_lowercase(),
            };
            PanelPart {
                label,
                pinned: p.path.as_ref().is_some_and(|x| pinned.contains(x)),
                path: p.path.clone(),
                tokens: p.tokens,
            }
        })
        .collect();
    // Files the user asked for that did not fit whole are said at the top.
    let cut: Vec<String> = ctx
        .cut
        .iter()
        .map(|c| match c.kept_lines {
            Some([a, b]) => format!(
                "{} cut: lines {a}-{b} of {} sent ({})",
                c.path, c.total_lines, c.reason
            ),
            None => format!("{} left out ({})", c.path, c.reason),
        })
        .collect();
    ContextPanel {
        parts,
        excluded,
        total: ctx.total_tokens,
        budget: ctx.budget,
        note: (!cut.is_empty()).then(|| cut.join("; ")),
        at: 0,
    }
}

/// The model picker: the GGUFs found (what each is, whether it fits in
/// memory, whether locus can run it in-process) and the providers (the
/// local servers can be the model; the cloud ones are reached with Ctrl-E).
pub fn picker(wb: &Workbench) -> SetupView {
    let settings = &wb.settings;
    let configured = settings.model.path.as_ref().map(PathBuf::from);
    let memory = total_memory();
    let found = discovery::discover(&SearchPaths::from_env(configured))
        .into_iter()
        .map(|f| {
            let info = crate::model::local::gguf::Gguf::open(&f.path)
                .map_err(|e| e.to_string())
                .and_then(|g| crate::model::local::info::inspect(&g).map_err(|e| e.to_string()));
            match info {
                Ok(i) => {
                    let fits = match memory {
                        Some(m) if i.estimated_peak_bytes <= m => "fits in memory".to_string(),
                        Some(m) => format!(
                            "needs {:.1} GB of {:.1} GB: too big",
                            i.estimated_peak_bytes as f64 / 1e9,
                            m as f64 / 1e9
                        ),
                        None => {
                            format!("needs about {:.1} GB", i.estimated_peak_bytes as f64 / 1e9)
                        }
                    };
                    FoundModel {
                        label: format!(
                            "{}  ({} {}, {:.1} GB, {fits}; {})",
                            f.name,
                            i.arch,
                            i.quantization,
                            i.file_bytes as f64 / 1e9,
                            f.source
                        ),
                        path: f.path,
                        problem: None,
                    }
                }
                Err(e) => FoundModel {
                    label: format!("{}  (cannot run in-process: {e})", f.name),
                    path: f.path,
                    problem: Some(format!("{} cannot run in-process: {e}", f.name)),
                },
            }
        })
        .collect();
    let providers = settings
        .providers
        .iter()
        .map(|(name, p)| {
            if p.is_local() {
                FoundProvider {
                    label: format!(
                        "provider:{name}  ({} at {}, local server)",
                        p.model,
                        p.base()
                    ),
                    usable: Some(name.clone()),
                }
            } else {
                FoundProvider {
                    label: format!(
                        "{name}  ({} at {}, cloud: Ctrl-E escalates to it)",
                        p.model,
                        p.base()
                    ),
                    usable: None,
                }
            }
        })
        .collect();
    let now = wb
        .model()
        .map(|m| format!("Now: {}.", models::name(m)))
        .unwrap_or_else(|| "No model is loaded.".into());
    SetupView {
        providers,
        picker: true,
        ..setup_base(
            settings,
            format!("{now} Enter takes the selected one; this repository remembers it."),
            found,
        )
    }
}

/// What the first-run screen and the picker share: the download offered
/// and the cloud provider escalation would use.
fn setup_base(settings: &Settings, why: String, found: Vec<FoundModel>) -> SetupView {
    SetupView {
        why,
        found,
        download: (
            pull::DEFAULT_MODEL.to_string(),
            pull::DEFAULT_MODEL_SIZE.to_string(),
        ),
        cloud: crate::route::escalation_target(settings, None)
            .ok()
            .map(|(name, p)| format!("{name} ({})", p.model)),
        ..SetupView::default()
    }
}

/// This machine's memory in bytes, when it can be read.
fn total_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The first-run screen: why there is no model, the ones found elsewhere,
/// the default download, the cloud provider if one is set up.
pub fn setup_view(settings: &Settings, why: &str) -> SetupView {
    let configured = settings.model.path.as_ref().map(PathBuf::from);
    let found = discovery::discover(&SearchPaths::from_env(configured))
        .into_iter()
        .map(|f| {
            let size = std::fs::metadata(&f.path)
                .map(|m| format!("{:.1} GB", m.len() as f64 / 1e9))
                .unwrap_or_default();
            FoundModel {
                label: format!("{}  ({}, {size})", f.name, f.source),
                path: f.path,
                problem: None,
            }
        })
        .collect();
    setup_base(settings, why.to_string(), found)
}
