//! Prompts with images against llama.cpp's mtmd (scripts/ref-vision-prompt.py,
//! which decodes each image as llama.cpp's server does: one batch, with
//! Gemma 4's bidirectional attention on the sliding layers). On a tiny
//! random Gemma 4 and projector generated here, with two images of odd
//! sizes (a PNG, a still GIF) at two budgets: the text tokens around the
//! `<__media__>` markers, the logits at every text position
//! (teacher-forced) and the greedy continuation of `locus generate --raw
//! --image`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use candle_core::Device;
use image::ImageFormat;
use locus::model::local::LocalModel;
use locus::model::local::media::Media;
use locus::model::local::vision::Projector;
use serde_json::Value;

use crate::util::{Sandbox, ids, llama_python, stderr, stdout};
use crate::vision::{models_with, noise};

/// Largest difference allowed on a logit: F32 weights, so the two differ
/// in summation order and where each rounds to f16 (the key/value cache,
/// queries, attention weights, GELU's table): measured worst 0.0096.
const TOL: f32 = 0.05;
/// A different top-1 is an error only where llama.cpp's own top-2 margin
/// is above this (twice the tolerance: always, but for a near tie).
const MARGIN: f32 = 0.1;

const PROMPT: &str = "the fn <__media__> in there <__media__> thin";

fn reference(text: &Path, mmproj: &Path, max: usize, images: &[PathBuf], n_gen: usize) -> Value {
    let out = images[0].with_file_name(format!("prompt-{max}.json"));
    let o = Command::new(llama_python())
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/ref-vision-prompt.py"))
        .args([text, mmproj])
        .arg(max.to_string())
        .arg(PROMPT)
        .arg(n_gen.to_string())
        .arg(&out)
        .args(images)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap()
}

fn images(dir: &Path) -> Vec<PathBuf> {
    let a = dir.join("wide.png");
    noise(410, 263, 3)
        .save_with_format(&a, ImageFormat::Png)
        .unwrap();
    let b = dir.join("tall.gif");
    noise(30, 83, 5)
        .save_with_format(&b, ImageFormat::Gif)
        .unwrap();
    vec![a, b]
}

#[test]
fn a_prompt_with_images_matches_llama_cpp_mtmd() {
    let dir = tempfile::tempdir().unwrap();
    let (text, mmproj) = models_with(dir.path(), &[("TINY_F32", "1")]);
    let images = images(dir.path());
    let model = LocalModel::load(&text, &Device::Cpu).unwrap();
    // The device pass (what a GPU runs) on candle's CPU backend too.
    let mut on_device = LocalModel::load(&text, &Device::Cpu).unwrap();
    on_device.use_device_pass();
    let proj = Projector::load(&mmproj, &Device::Cpu).unwrap();
    let window = model.model.cfg.window;
    let sandbox = Sandbox::new();
    let mut sizes = Vec::new();
    for max in [70, 280] {
        let want = reference(&text, &mmproj, max, &images, 16);
        let media: Vec<_> = images
            .iter()
            .map(|p| Arc::new(proj.encode_image(p, max).unwrap()))
            .collect();
        assert!(
            media.iter().all(|m| m.len() > window),
            "each image is longer than the sliding window"
        );
        sizes.push(media[0].len());
        let worst = compare(&model, &media, &want);
        assert!(worst < TOL, "logits differ by {worst} at {max} tokens");
        let worst = compare(&on_device, &media, &want);
        assert!(worst < TOL, "the device pass's logits differ by {worst}");
        eprintln!("{max} soft tokens: worst logit difference {worst}");

        // The command: the same greedy continuation.
        let mut args: Vec<&str> = Vec::new();
        for p in &images {
            args.extend(["--image", p.to_str().unwrap()]);
        }
        let v = generate(&sandbox, dir.path(), &text, &mmproj, max, &args);
        assert_eq!(
            v["text"], want["greedy_text"],
            "greedy continuation at {max}"
        );
        assert_eq!(v["images"][1]["tokens"], media[1].len());
    }
    assert!(
        sizes[0] < sizes[1],
        "the budget changes the soft tokens: {sizes:?}"
    );
}

/// `PROMPT` with `media` through `model`, teacher-forced, walked along
/// mtmd's chunks: the media chunks are as long, the text chunks' tokens
/// are the same, and at each of their positions the top-1 agrees (but for
/// a near tie); the largest logit difference.
fn compare(model: &LocalModel, media: &[Arc<Media>], want: &Value) -> f32 {
    let (tokens, set) = model.encode_raw_media(PROMPT, media).unwrap();
    let logits: Vec<Vec<f32>> = model
        .logits_all_media(&tokens, &set)
        .unwrap()
        .to_vec2()
        .unwrap();
    let lens: Vec<usize> = media.iter().map(|m| m.len()).collect();
    let (mut at, mut worst, mut seen) = (0, 0f32, 0);
    for c in want["chunks"].as_array().unwrap() {
        if c["type"] != "text" {
            let n = c["n_tokens"].as_u64().unwrap() as usize;
            assert_eq!(n, lens[seen], "soft tokens of media {seen}");
            seen += 1;
            at += n;
            continue;
        }
        let want_ids = ids(&c["tokens"]);
        assert_eq!(tokens[at..at + want_ids.len()], want_ids[..], "text tokens");
        for (i, row) in c["logits"].as_array().unwrap().iter().enumerate() {
            let row: Vec<f32> = row
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect();
            let got = &logits[at + i];
            for (a, b) in got.iter().zip(&row) {
                worst = worst.max((a - b).abs());
            }
            let (top, margin) = top2(&row);
            if margin > MARGIN {
                assert_eq!(argmax(got), top, "top-1 at position {}", at + i);
            }
        }
        at += want_ids.len();
    }
    assert_eq!((seen, at), (lens.len(), tokens.len()));
    worst
}

/// `locus generate --raw` on `PROMPT` with `media` (its --image and
/// --audio arguments), greedy, as JSON.
fn generate(
    sandbox: &Sandbox,
    dir: &Path,
    text: &Path,
    mmproj: &Path,
    max: usize,
    media: &[&str],
) -> Value {
    let mut args = vec!["--mmproj", mmproj.to_str().unwrap()];
    args.extend(media);
    generate_with(sandbox, dir, text, max, &args)
}

/// `locus generate --raw` of `PROMPT` on `text` with `args` added.
fn generate_with(sandbox: &Sandbox, dir: &Path, text: &Path, max: usize, media: &[&str]) -> Value {
    let max_s = max.to_string();
    let mut args = vec![
        "generate",
        "--model",
        text.to_str().unwrap(),
        "--raw",
        "--prompt",
        PROMPT,
        "--max-tokens",
        "16",
        "--image-tokens",
        &max_s,
        "--json",
    ];
    args.extend(media);
    let o = sandbox.locus(dir, &args);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_str(&stdout(&o)).unwrap()
}

fn argmax(row: &[f32]) -> usize {
    top2(row).0
}

/// The index of the largest value and its margin over the second.
fn top2(row: &[f32]) -> (usize, f32) {
    let mut idx: Vec<usize> = (0..row.len()).collect();
    idx.sort_by(|a, b| row[*b].total_cmp(&row[*a]).then(a.cmp(b)));
    (idx[0], row[idx[0]] - row[idx[1]])
}

#[test]
fn a_follow_up_about_the_same_image_reuses_its_cache_and_another_image_does_not() {
    use locus::model::local::{GenerateRequest, SamplerConfig};
    use locus::model::{Cancel, Event};
    let dir = tempfile::tempdir().unwrap();
    let (text, mmproj) = models_with(dir.path(), &[]);
    let images = images(dir.path());
    let model = LocalModel::load(&text, &Device::Cpu).unwrap();
    let proj = Projector::load(&mmproj, &Device::Cpu).unwrap();
    let run = |image: &Path, question: &str| {
        let m = Arc::new(proj.encode_image(image, 70).unwrap());
        let n = m.len();
        let (tokens, media) = model
            .encode_raw_media(&format!("look <__media__> {question}"), &[m])
            .unwrap();
        let first_row = tokens.iter().position(|&t| media.row(t).is_some()).unwrap();
        let req = GenerateRequest {
            tokens,
            max_tokens: 3,
            sampler: SamplerConfig::default(),
            split_thinking: false,
            draft: Default::default(),
            stable_prefix: 0,
            media,
        };
        let mut stats = None;
        model
            .generate(&req, &Cancel::new(), &mut |e| {
                if let Event::Done(s) = e {
                    stats = Some(s);
                }
            })
            .unwrap();
        (
            stats.unwrap().reused_prefix_tokens,
            first_row + n,
            first_row,
        )
    };
    let (reused, _, _) = run(&images[0], "what is it");
    assert_eq!(reused, 0);
    let (reused, image_end, _) = run(&images[0], "and the colours");
    assert!(
        reused > image_end,
        "the image came from the cache: {reused} tokens reused"
    );
    let (reused, _, first_row) = run(&images[1], "and the colours");
    assert_eq!(
        reused, first_row,
        "another image is computed anew: only the text before it is reused"
    );
}

#[test]
fn a_prompt_with_a_recording_and_an_image_matches_llama_cpp_mtmd() {
    let dir = tempfile::tempdir().unwrap();
    let (text, mmproj) = crate::vision::models_with_audio(dir.path(), &[("TINY_F32", "1")]);
    let image = images(dir.path()).remove(1);
    let wav = dir.path().join("say.wav");
    // 1.23 s recorded at 44.1 kHz in stereo (resampled to 16 kHz as mtmd
    // does: tests/vision_audio.rs): 31 frames, the last one padded.
    let spec = crate::vision_audio::spec(44_100, 2, 16, false);
    crate::vision_audio::recording(&wav, spec, 1.23, 9);
    let want = reference(&text, &mmproj, 70, &[image.clone(), wav.clone()], 16);
    assert_eq!(want["chunks"][3]["type"], "audio");
    assert_eq!(want["chunks"][3]["n_tokens"], 31);
    let model = LocalModel::load(&text, &Device::Cpu).unwrap();
    let proj = Projector::load(&mmproj, &Device::Cpu).unwrap();
    let hearing = locus::model::local::vision::audio::Hearing::load(&mmproj, &Device::Cpu)
        .unwrap()
        .expect("an audio part");
    let media = vec![
        Arc::new(proj.encode_image(&image, 70).unwrap()),
        Arc::new(hearing.encode_file(&wav).unwrap()),
    ];
    assert_eq!(media[1].len(), 31);
    let worst = compare(&model, &media, &want);
    assert!(worst < TOL, "logits differ by {worst}");
    // The command, with the recording given by --audio.
    let args = [
        "--image",
        image.to_str().unwrap(),
        "--audio",
        wav.to_str().unwrap(),
    ];
    let v = generate(&Sandbox::new(), dir.path(), &text, &mmproj, 70, &args);
    assert_eq!(v["text"], want["greedy_text"]);

    // The model and its projector in one file, as Ollama's single-blob
    // models keep them (no clip metadata: the patch size comes from the
    // tensors, the epsilon from the model), in a folder with no mmproj:
    // it sees and hears without --mmproj, and says so in `locus models`.
    let blob_dir = dir.path().join("blob");
    std::fs::create_dir_all(&blob_dir).unwrap();
    let merged = blob_dir.join("gemma4-blob.gguf");
    let st = Command::new(llama_python())
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/merge-gguf-projector.py"))
        .args([&text, &mmproj, &merged])
        .status()
        .unwrap();
    assert!(st.success());
    let sb = Sandbox::new();
    let v = generate_with(&sb, dir.path(), &merged, 70, &args);
    assert_eq!(v["text"], want["greedy_text"], "the single-file model");
    sb.write(
        "work/.locus/config.toml",
        &format!("[model]\npath = {merged:?}\n"),
    );
    let o = sb.locus(&sb.work(), &["models", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let m = &v["models"][0];
    assert_eq!(m["mmproj"], merged.to_str().unwrap(), "{v}");
    assert_eq!(m["vision"], true, "{v}");
    assert_eq!(m["audio"], true, "{v}");

    // A model whose own vision tensors are an encoder's: text only, said.
    let st = Command::new(llama_python())
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/merge-gguf-projector.py"))
        .args([&text, &mmproj, &merged])
        .env("MERGE_ENCODER", "1")
        .status()
        .unwrap();
    assert!(st.success());
    let o = sb.locus(&sb.work(), &["models", "--json"]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let m = &v["models"][0];
    assert_eq!(m["vision"], false, "{v}");
    let why = m["vision_problem"].as_str().unwrap_or_default();
    assert!(why.contains("an encoder locus does not run"), "{v}");
}
