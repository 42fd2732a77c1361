//! Which model answers: a GGUF run in-process, or a server the user runs on
//! their own machine (a provider whose placement is local). A provider off
//! the machine is never the default model: it is only reached through the
//! escalation gate. The choice made with `--model` or `/model` is
//! remembered per repository.

use std::path::{Path, PathBuf};

use crate::config::Settings;
use crate::model::chat::ChatModel;
use crate::model::cloud::{CloudError, CloudModel};
use crate::model::local::choose::{self, ChooseError};

#[derive(Debug, thiserror::Error)]
pub enum ModelChoiceError {
    #[error(transparent)]
    Choose(#[from] ChooseError),
    #[error(transparent)]
    Cloud(#[from] CloudError),
    #[error("no provider named {0} in the config (`locus doctor` lists the settings)")]
    UnknownProvider(String),
    #[error(
        "provider {0} runs off this machine, so it is not a local model; use --cloud --provider {0} (its requests are previewed), or set placement = \"local\" if it is yours"
    )]
    NotLocal(String),
}

/// What the user asked for: a GGUF (path or name) or a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSpec {
    Gguf(String),
    Provider(String),
}

impl ModelSpec {
    /// `provider:NAME` is a provider; a name that is a configured provider
    /// and not a file is one too; anything else is a GGUF path or name.
    pub fn parse(spec: &str, settings: &Settings) -> ModelSpec {
        if let Some(name) = spec.strip_prefix("provider:") {
            return ModelSpec::Provider(name.to_string());
        }
        if settings.providers.contains_key(spec) && !Path::new(spec).is_file() {
            return ModelSpec::Provider(spec.to_string());
        }
        ModelSpec::Gguf(spec.to_string())
    }

    /// As the user would write it again.
    pub fn label(&self) -> String {
        match self {
            ModelSpec::Gguf(s) => s.clone(),
            ModelSpec::Provider(n) => format!("provider:{n}"),
        }
    }
}

/// Where downloaded models go: the Hugging Face cache, or locus's own
/// cache when there is no home to find it in.
pub fn hub_dir(dirs: &crate::config::Dirs) -> PathBuf {
    crate::model::local::discovery::SearchPaths::from_env(None)
        .hf_hub
        .unwrap_or_else(|| dirs.cache.join("hub"))
}

/// Where the model choice for one repository is remembered.
pub fn remembered_file(state_dir: &Path) -> PathBuf {
    state_dir.join("model")
}

/// The model this repository last chose, if any.
pub fn remembered(state_dir: &Path) -> Option<String> {
    std::fs::read_to_string(remembered_file(state_dir))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Remember `spec` as this repository's model.
pub fn remember(state_dir: &Path, spec: &ModelSpec) -> std::io::Result<()> {
    std::fs::create_dir_all(state_dir)?;
    std::fs::write(remembered_file(state_dir), spec.label())
}

/// The spec in force: the one asked for, else the repository's remembered
/// choice, else `[model] provider`, else the configured or only GGUF.
pub fn effective(spec: Option<&str>, settings: &Settings, state_dir: &Path) -> Option<ModelSpec> {
    if let Some(s) = spec {
        return Some(ModelSpec::parse(s, settings));
    }
    // A model named in the environment for this run beats the remembered one.
    if std::env::var_os("LOCUS_MODEL").is_none()
        && let Some(s) = remembered(state_dir)
    {
        return Some(ModelSpec::parse(&s, settings));
    }
    settings.model.provider.clone().map(ModelSpec::Provider)
}

/// A model ready to answer, and how the status line names it.
pub struct Chosen {
    pub model: Box<dyn ChatModel>,
    /// The model's name, with its file for a GGUF (two quantizations of one
    /// model read the same otherwise).
    pub label: String,
    /// Said once when the model is ready: why it computes on the CPU when a
    /// GPU was looked for and not found (a GPU build on a machine without
    /// one).
    pub notice: Option<String>,
}

/// Load the model `spec` names (none: the configured or only GGUF).
/// `kv_dir`: where prefix snapshots are kept (`Workspace::kv_dir`).
pub fn load(
    spec: Option<&ModelSpec>,
    settings: &Settings,
    kv_dir: &Path,
) -> Result<Chosen, ModelChoiceError> {
    match spec {
        Some(ModelSpec::Provider(name)) => {
            let p = settings
                .providers
                .get(name)
                .ok_or_else(|| ModelChoiceError::UnknownProvider(name.clone()))?;
            if !p.is_local() {
                return Err(ModelChoiceError::NotLocal(name.clone()));
            }
            let model: Box<dyn ChatModel> = Box::new(CloudModel::new(name, p.clone())?);
            let label = self::name(&*model);
            Ok(Chosen {
                model,
                label,
                notice: None,
            })
        }
        Some(ModelSpec::Gguf(s)) => load_gguf(Some(s), settings, kv_dir),
        None => load_gguf(None, settings, kv_dir),
    }
}

fn load_gguf(
    spec: Option<&str>,
    settings: &Settings,
    kv_dir: &Path,
) -> Result<Chosen, ModelChoiceError> {
    let configured = settings.model.path.as_ref().map(PathBuf::from);
    let path = choose::resolve(configured, spec)?;
    let (chat, device) = choose::load_chat(
        &path,
        settings.model.threads,
        settings.model.context,
        &settings.model.device,
    )?;
    if device.why.is_some() {
        tracing::info!("local model on {}", device.line());
    }
    let model: Box<dyn ChatModel> = Box::new(
        chat.drafting(settings.model.draft, settings.model.draft_max)
            .snapshots(kv_dir, settings.cache.kv_snapshot_bytes)
            .assistant(settings.model.drafter.as_deref().map(Path::new))
            .vision(
                choose::projector(
                    &path,
                    None,
                    settings.model.path.as_deref().map(Path::new),
                    settings.model.mmproj.as_deref().map(Path::new),
                ),
                settings.model.image_tokens,
            ),
    );
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let label = format!("{} · {file} · {}", name(&*model), device.short);
    Ok(Chosen {
        model,
        label,
        notice: device
            .fallback()
            .map(|why| format!("the model runs on the CPU: {why}")),
    })
}

/// The model's name as the status line shows it.
pub fn name(model: &dyn ChatModel) -> String {
    match model.placement() {
        crate::model::chat::Placement::Local { model } => model,
        crate::model::chat::Placement::Cloud { provider, model } => format!("{provider} ({model})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_and_the_remembered_choice() {
        let settings: Settings = toml::from_str(
            "[model]\nprovider = \"ollama\"\n[providers.ollama]\nkind = \"openai\"\nbase_url = \"http://localhost:11434/v1\"\nmodel = \"gemma\"\n[providers.openai]\nkind = \"openai\"\nmodel = \"gpt\"\n",
        )
        .unwrap();
        assert_eq!(
            ModelSpec::parse("provider:x", &settings),
            ModelSpec::Provider("x".into())
        );
        assert_eq!(
            ModelSpec::parse("ollama", &settings),
            ModelSpec::Provider("ollama".into())
        );
        assert_eq!(
            ModelSpec::parse("gemma-3", &settings),
            ModelSpec::Gguf("gemma-3".into())
        );
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            effective(None, &settings, dir.path()),
            Some(ModelSpec::Provider("ollama".into()))
        );
        remember(dir.path(), &ModelSpec::Gguf("small".into())).unwrap();
        assert_eq!(
            effective(None, &settings, dir.path()),
            Some(ModelSpec::Gguf("small".into()))
        );
        assert_eq!(
            effective(Some("provider:openai"), &settings, dir.path()),
            Some(ModelSpec::Provider("openai".into()))
        );
        let err = load(
            Some(&ModelSpec::Provider("openai".into())),
            &settings,
            Path::new("kv"),
        )
        .err()
        .unwrap();
        assert!(matches!(err, ModelChoiceError::NotLocal(_)), "{err}");
        let m = load(
            Some(&ModelSpec::Provider("ollama".into())),
            &settings,
            Path::new("kv"),
        )
        .unwrap()
        .model;
        assert!(matches!(
            m.placement(),
            crate::model::chat::Placement::Local { .. }
        ));
        assert!(m.gate().is_none());
    }
}
