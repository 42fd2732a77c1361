//! `locus generate`: run the local model on one prompt. Completion to stdout
//! as it is produced, stats to stderr (or everything as one JSON object).
//! The benchmarks and the correctness tests drive the runtime through this.

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Context as _;
use serde_json::json;

use crate::cli::{DraftArg, GenerateArgs};
use crate::model::attach::Attachment;
use crate::model::local::gemma::mtp::discover;
use crate::model::local::media::Media;
use crate::model::local::vision::Projector;
use crate::model::local::vision::audio::Hearing;
use crate::model::local::{DraftConfig, DraftKind, GenerateRequest, LocalModel, SamplerConfig};
use crate::model::{Event, GenStats, Message, Role};
use crate::workspace::Workspace;

use super::models::resolve_model;

pub fn run(ws: &Workspace, args: &GenerateArgs) -> anyhow::Result<ExitCode> {
    let configured = ws.settings().map(|l| l.settings.model).unwrap_or_default();
    crate::model::local::threads::init(if args.threads > 0 {
        args.threads
    } else {
        configured.threads
    });
    let path = resolve_model(ws, args.model.as_deref())?;
    let device = crate::model::local::device::select(&configured.device)?.device;
    let loading = std::time::Instant::now();
    let mut model = LocalModel::load(&path, &device)
        .with_context(|| format!("cannot load {}", path.display()))?;
    let draft = match args.draft {
        DraftArg::None => DraftConfig::default(),
        DraftArg::Lookup => DraftConfig {
            max: args.draft_max,
            ..DraftConfig::lookup()
        },
        DraftArg::Mtp => {
            let configured = ws
                .settings()
                .ok()
                .and_then(|l| l.settings.model.drafter)
                .map(std::path::PathBuf::from);
            // Off when there is none (said, not an error); one named but
            // unusable is an error.
            match args.drafter.clone().or(configured) {
                Some(named) => model.load_assistant(&named).with_context(|| {
                    format!("cannot use {} as the MTP assistant", named.display())
                })?,
                None => match discover(&path) {
                    Some(found) => model.load_assistant(&found).with_context(|| {
                        format!("cannot use {} as the MTP assistant", found.display())
                    })?,
                    None => errln!(
                        "no Gemma 4 assistant (MTP) model: none named with --drafter or [model] drafter, and no *assistant*.gguf beside {}; decoding without drafts",
                        path.display()
                    ),
                },
            }
            DraftConfig {
                kind: DraftKind::Mtp,
                max: args.draft_max,
                ..DraftConfig::default()
            }
        }
    };
    let load_ms = loading.elapsed().as_secs_f64() * 1000.0;
    let (media, images) = encode_images(ws, &path, args, &model)?;
    let (tokens, media) = if args.raw {
        model.encode_raw_media(&args.prompt, &media)?
    } else {
        let mut m = Message::new(Role::User, args.prompt.clone());
        for p in &args.image {
            m.attachments.push(Attachment::image(p, &ws.root)?);
        }
        for p in &args.audio {
            m.attachments.push(Attachment::audio(p, &ws.root)?);
        }
        model.encode_chat_media(&[m], false, &[], &media)?
    };
    let req = GenerateRequest {
        media,
        tokens,
        max_tokens: args.max_tokens,
        sampler: SamplerConfig {
            temperature: args.temperature,
            seed: args.seed,
            ..SamplerConfig::default()
        },
        split_thinking: !args.raw && model.arch() == crate::model::local::config::Arch::Gemma4,
        draft,
        stable_prefix: 0,
    };
    let cancel = super::interrupt();
    let mut progress = super::Waiting::default();
    let mut text = String::new();
    let mut thinking = String::new();
    let mut stats = GenStats::default();
    let mut failure = None;
    let mut stdout = std::io::stdout().lock();
    model.generate(&req, &cancel, &mut |e| match e {
        Event::Text(t) => {
            progress.clear();
            if !args.json {
                let _ = stdout.write_all(crate::terminal::visible(&t).as_bytes());
                let _ = stdout.flush();
            }
            text.push_str(&t);
        }
        Event::Thinking(t) => thinking.push_str(&t),
        Event::Done(s) => stats = s,
        Event::Error(e) => failure = Some(e),
        Event::Prefill { done, total } => progress.prefill(done, total),
        Event::ToolCall(_) | Event::BadToolCall { .. } => {}
    })?;
    if let Some(e) = failure {
        anyhow::bail!(e);
    }
    if args.json {
        let mut v = serde_json::to_value(&stats)?;
        v["text"] = json!(text);
        if !thinking.is_empty() {
            v["thinking"] = json!(thinking);
        }
        v["model"] = json!(path);
        v["load_ms"] = json!(load_ms);
        if !images.is_empty() {
            v["images"] = json!(images);
        }
        writeln!(stdout, "{v}")?;
    } else {
        writeln!(stdout)?;
        errln!(
            "model loaded in {load_ms:.0} ms; prompt {} tokens ({} reused) at {:.1} tok/s, {} generated at {:.1} tok/s, first token {:.0} ms after the prompt ({:.0} ms with the load), peak RSS {:.0} MiB",
            stats.prompt_tokens,
            stats.reused_prefix_tokens,
            stats.prefill_tokens_per_s,
            stats.generated_tokens,
            stats.decode_tokens_per_s,
            stats.ttft_ms,
            load_ms + stats.ttft_ms,
            stats.peak_rss_bytes as f64 / (1024.0 * 1024.0)
        );
        if stats.drafted_tokens > 0 {
            errln!(
                "drafted {} tokens, {} kept",
                stats.drafted_tokens,
                stats.accepted_tokens
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The `--image` files encoded by the model's projector, in order, and
/// for the JSON report each one's soft tokens and encoding time.
fn encode_images(
    ws: &Workspace,
    model_path: &std::path::Path,
    args: &GenerateArgs,
    model: &LocalModel,
) -> anyhow::Result<(Vec<std::sync::Arc<Media>>, Vec<serde_json::Value>)> {
    if args.image.is_empty() && args.audio.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let settings = ws.settings().ok().map(|l| l.settings.model);
    let configured_model = settings
        .as_ref()
        .and_then(|m| m.path.clone())
        .map(std::path::PathBuf::from);
    let configured = settings
        .as_ref()
        .and_then(|m| m.mmproj.clone())
        .map(std::path::PathBuf::from);
    let Some(mmproj) = crate::model::local::choose::projector(
        model_path,
        args.mmproj.as_deref(),
        configured_model.as_deref(),
        configured.as_deref(),
    ) else {
        anyhow::bail!(
            "{} has no vision projector (mmproj): pass --mmproj PATH, set [model] mmproj, or put one beside the model",
            model_path.display()
        );
    };
    if model.arch() != crate::model::local::config::Arch::Gemma4 {
        anyhow::bail!(
            "{} is not a Gemma 4 model: locus shows images to Gemma 4 only",
            model_path.display()
        );
    }
    let mut media = Vec::new();
    let mut report = Vec::new();
    let mut push = |p: &std::path::Path, m: Media, t: std::time::Instant| {
        report.push(json!({"path": p, "tokens": m.len(),
            "encode_ms": t.elapsed().as_secs_f64() * 1000.0}));
        media.push(std::sync::Arc::new(m));
    };
    if !args.image.is_empty() {
        let projector = Projector::load(&mmproj, model.model.device())
            .with_context(|| format!("cannot use {} as the vision projector", mmproj.display()))?;
        for p in &args.image {
            let t = std::time::Instant::now();
            push(
                p,
                projector.encode_image(p, usize::from(args.image_tokens))?,
                t,
            );
        }
    }
    if !args.audio.is_empty() {
        let Some(hearing) = Hearing::load(&mmproj, model.model.device())? else {
            anyhow::bail!(
                "{} has no audio part (gemma4ua): the model hears nothing",
                mmproj.display()
            );
        };
        for p in &args.audio {
            let t = std::time::Instant::now();
            push(p, hearing.encode_file(p)?, t);
        }
    }
    Ok((media, report))
}
