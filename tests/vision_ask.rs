//! `locus ask --image`: to the local Gemma 4 with its projector beside it
//! (a tiny random pair generated here), the image kept with its turn for
//! the follow-up; one clear line for a model that cannot see and for a
//! file that is not an image; and escalated, the image in each provider's
//! own format, previewed first, and never sent from a never-send path
//! (a loopback server records what arrives).

use std::path::{Path, PathBuf};

use base64::Engine as _;
use image::ImageFormat;
use locus::config::ProviderKind;
use locus::model::attach::Attachment;
use locus::model::cloud::{inline_media, request};
use locus::model::{Message, Role};
use serde_json::Value;

use crate::cloud::{Reply, Server, openai_answer, provider};
use crate::gate::{assert_clean, gate_repo};
use crate::util::{Sandbox, git_init, stderr, stdout};
use crate::vision::{models, noise};

const KEY_ENV: (&str, &str) = ("LOCUS_TEST_TEAM_KEY", "sk-team-key-999");

fn screenshot(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    noise(120, 70, 7)
        .save_with_format(path, ImageFormat::Png)
        .unwrap();
}

/// A repository with a screenshot in it, and the tiny model (with its
/// projector beside it unless `projector` is false) in `models/`.
fn repo(sb: &Sandbox, projector: bool) -> (PathBuf, PathBuf) {
    let root = sb.path("work/repo");
    git_init(&root);
    std::fs::write(root.join("add.py"), "def add(a, b):\n    return a + b\n").unwrap();
    screenshot(&root.join("shot.png"));
    let dir = sb.path("models");
    std::fs::create_dir_all(&dir).unwrap();
    let (text, mmproj) = models(&dir);
    if projector {
        std::fs::rename(&mmproj, dir.join("mmproj-tiny-f16.gguf")).unwrap();
    } else {
        std::fs::remove_file(&mmproj).unwrap();
    }
    sb.write(
        "config/locus/config.toml",
        "[model]\ncontext = 2048\nimage_tokens = 70\n\n[context]\nanswer_tokens = 8\n",
    );
    (root, text)
}

fn json(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "{}", stderr(out));
    serde_json::from_str(&stdout(out)).unwrap()
}

#[test]
fn ask_with_an_image_on_the_local_model_and_a_follow_up_about_it() {
    let sb = Sandbox::new();
    let (root, model) = repo(&sb, true);
    let env = [("LOCUS_MODEL", model.to_str().unwrap())];
    let args = ["--json", "--no-tools"];
    let plain = json(&sb.locus_env(
        &root,
        &[&["ask", "What is shown?"], &args[..]].concat(),
        &env,
    ));
    let seen = json(&sb.locus_env(
        &root,
        &[&["ask", "What is shown?", "--image", "shot.png"], &args[..]].concat(),
        &env,
    ));
    let with = seen["stats"]["prompt_tokens"].as_u64().unwrap();
    let without = plain["stats"]["prompt_tokens"].as_u64().unwrap();
    // 120 x 70 at 70 soft tokens of 12 pixels: at least 70 rows and the
    // two markers.
    assert!(with >= without + 72, "{with} vs {without}");
    assert_eq!(seen["context"]["attachments"][0]["name"], "shot.png");
    assert_eq!(seen["context"]["attachments"][0]["width"], 120);
    // The follow-up carries the image from its turn.
    let id = seen["session"].as_str().unwrap();
    let follow = json(&sb.locus_env(
        &root,
        &[&["ask", "And its colours?", "--session", id], &args[..]].concat(),
        &env,
    ));
    // Its prompt holds the first question with the image, its answer and
    // the new question.
    assert!(
        follow["stats"]["prompt_tokens"].as_u64().unwrap() > with,
        "{follow}"
    );
}

#[test]
fn a_model_that_cannot_see_and_a_file_that_is_not_an_image_get_one_line() {
    let sb = Sandbox::new();
    let (root, model) = repo(&sb, false);
    let env = [("LOCUS_MODEL", model.to_str().unwrap())];
    let out = sb.locus_env(
        &root,
        &["ask", "What is shown?", "--image", "shot.png", "--no-tools"],
        &env,
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("shot.png: the local model has no vision projector (mmproj)"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let out = sb.locus_env(
        &root,
        &["ask", "What is shown?", "--image", "add.py", "--no-tools"],
        &env,
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("add.py is not an image locus reads (PNG, JPEG, WebP, GIF)"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn an_escalated_image_is_previewed_sent_as_a_data_url_and_never_from_a_never_send_path() {
    let server = Server::start(vec![
        Reply::sse(&openai_answer("A chart."), 40),
        Reply::sse(&openai_answer("Nothing."), 40),
    ]);
    let sb = Sandbox::new();
    let root = gate_repo(&sb, &server, "");
    screenshot(&root.join("shot.png"));
    screenshot(&root.join("secrets/board.png"));
    let out = sb.locus_env(
        &root,
        &[
            "ask",
            "What does the chart show?",
            "--image",
            "shot.png",
            "--cloud",
            "--yes",
            "--no-tools",
        ],
        &[KEY_ENV],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    let bytes = std::fs::read(root.join("shot.png")).unwrap();
    assert!(
        err.contains(&format!(
            "attached shot.png · image 120 x 70 · {}",
            human(bytes.len())
        )),
        "the preview names the image: {err}"
    );
    let sent = server.requests();
    assert_eq!(sent.len(), 1);
    let body: Value = serde_json::from_str(&sent[0].body).unwrap();
    let question = body["messages"].as_array().unwrap().last().unwrap().clone();
    let url = format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(&bytes)
    );
    assert_eq!(question["content"][0]["type"], "image_url");
    assert_eq!(question["content"][0]["image_url"]["url"], url);
    assert_eq!(question["content"][1]["type"], "text");

    // From a never-send path: left out, said so, not sent.
    let board = std::fs::read(root.join("secrets/board.png")).unwrap();
    let out = sb.locus_env(
        &root,
        &[
            "ask",
            "What is on the board?",
            "--image",
            "secrets/board.png",
            "--cloud",
            "--yes",
            "--no-tools",
        ],
        &[KEY_ENV],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("left out: secrets/board.png"),
        "{}",
        stderr(&out)
    );
    let sent = server.requests();
    assert_eq!(sent.len(), 2);
    assert_clean(&sent);
    let b64 = base64::engine::general_purpose::STANDARD.encode(&board);
    assert!(
        !sent[1].body.contains(&b64[..64]),
        "the never-send image left"
    );
    assert!(!sent[1].body.contains("image_url"), "{}", sent[1].body);
}

fn human(b: usize) -> String {
    if b >= 1024 {
        format!("{:.1} KiB", b as f64 / 1024.0)
    } else {
        format!("{b} bytes")
    }
}

#[test]
fn each_provider_gets_the_image_in_its_own_format() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("shot.png");
    screenshot(&p);
    let b64 = base64::engine::general_purpose::STANDARD.encode(std::fs::read(&p).unwrap());
    let mut q = Message::new(Role::User, "What is it?");
    q.attachments
        .push(Attachment::image(&p, dir.path()).unwrap());
    let messages = vec![Message::new(Role::System, "Be brief."), q];
    let media = inline_media(&messages).unwrap();
    let body = |kind| {
        request(
            &provider(kind, "http://127.0.0.1:9".into()),
            &messages,
            &media,
            &[],
            16,
            0.0,
            None,
        )
        .body
    };

    let a = body(ProviderKind::Anthropic);
    let block = &a["messages"][0]["content"][0];
    assert_eq!(block["type"], "image");
    assert_eq!(block["source"]["type"], "base64");
    assert_eq!(block["source"]["media_type"], "image/png");
    assert_eq!(block["source"]["data"], b64);
    assert_eq!(a["messages"][0]["content"][1]["text"], "What is it?");

    let g = body(ProviderKind::Gemini);
    let parts = &g["contents"][0]["parts"];
    assert_eq!(parts[0]["inlineData"]["mimeType"], "image/png");
    assert_eq!(parts[0]["inlineData"]["data"], b64);
    assert_eq!(parts[1]["text"], "What is it?");

    let o = body(ProviderKind::Openai);
    assert_eq!(
        o["messages"][1]["content"][0]["image_url"]["url"],
        format!("data:image/png;base64,{b64}")
    );

    // A file changed since it was attached is not sent.
    std::fs::write(&p, b"changed").unwrap();
    let e = inline_media(&messages).err().unwrap().to_string();
    assert!(e.contains("changed since it was attached"), "{e}");
}

#[test]
fn a_recording_needs_a_projector_that_hears_and_a_wav_with_sound() {
    let sb = Sandbox::new();
    let (root, model) = repo(&sb, true);
    let env = [("LOCUS_MODEL", model.to_str().unwrap())];
    let wav = root.join("say.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&wav, spec).unwrap();
    for i in 0..8000 {
        w.write_sample(((i % 50) * 300) as i16).unwrap();
    }
    w.finalize().unwrap();
    let out = sb.locus_env(
        &root,
        &["ask", "What did I say?", "--audio", "say.wav", "--no-tools"],
        &env,
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("say.wav: the local model's projector")
            && err.contains("has no audio part (gemma4ua)"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let mut w = hound::WavWriter::create(root.join("quiet.wav"), spec).unwrap();
    for _ in 0..8000 {
        w.write_sample(0i16).unwrap();
    }
    w.finalize().unwrap();
    let out = sb.locus_env(
        &root,
        &[
            "ask",
            "What did I say?",
            "--audio",
            "quiet.wav",
            "--no-tools",
        ],
        &env,
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("quiet.wav is silent"),
        "{}",
        stderr(&out)
    );
}
