//! Finding models where users keep them, and `locus models` reporting them.

use std::path::Path;

use locus::model::local::discovery::{SearchPaths, discover, resolve};
use serde_json::Value;

use crate::util::{Sandbox, stderr, stdout};

fn tiny() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-gemma4.gguf")
}

/// A tiny Gemma 4 vision projector (scripts/make-tiny-gemma4-mmproj.py with
/// TINY_POS=16 TINY_VISION=8 TINY_PATCH=2).
fn tiny_mmproj() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-gemma4-mmproj.gguf")
}

/// Lay out a Hugging Face cache, an Ollama store and an LM Studio folder as
/// those tools do, each holding a copy of the tiny model.
fn stores(sb: &Sandbox) {
    let bytes = std::fs::read(tiny()).unwrap();
    let blob = sb.path("hf/hub/models--acme--tiny-GGUF/blobs/abc123");
    std::fs::create_dir_all(blob.parent().unwrap()).unwrap();
    std::fs::write(&blob, &bytes).unwrap();
    let snap = sb.path("hf/hub/models--acme--tiny-GGUF/snapshots/0123abcd");
    std::fs::create_dir_all(&snap).unwrap();
    std::os::unix::fs::symlink("../../blobs/abc123", snap.join("tiny-q8_0.gguf")).unwrap();
    // Its vision projectors, as the Gemma repositories ship them: not models,
    // paired with the model (the F16 one preferred).
    std::fs::copy(tiny_mmproj(), blob.with_file_name("def456")).unwrap();
    for p in ["mmproj-tiny-bf16.gguf", "mmproj-tiny-f16.gguf"] {
        std::os::unix::fs::symlink("../../blobs/def456", snap.join(p)).unwrap();
    }

    let digest = "sha256-5f1e";
    std::fs::create_dir_all(sb.path("ollama/blobs")).unwrap();
    std::fs::write(sb.path(&format!("ollama/blobs/{digest}")), &bytes).unwrap();
    // Ollama's projector layer: here a text model, which `locus models`
    // says is not a projector.
    std::fs::write(sb.path("ollama/blobs/sha256-77aa"), &bytes).unwrap();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "layers": [
            {"mediaType": "application/vnd.ollama.image.template", "digest": "sha256:0000"},
            {"mediaType": "application/vnd.ollama.image.model", "digest": "sha256:5f1e", "size": bytes.len()},
            {"mediaType": "application/vnd.ollama.image.projector", "digest": "sha256:77aa", "size": bytes.len()}
        ]
    });
    sb.write(
        "ollama/manifests/registry.ollama.ai/library/tinygemma/latest",
        &manifest.to_string(),
    );

    std::fs::create_dir_all(sb.path(".lmstudio/models/acme/tiny")).unwrap();
    std::fs::write(sb.path(".lmstudio/models/acme/tiny/tiny-lm.gguf"), &bytes).unwrap();
    sb.write(
        ".lmstudio/models/acme/tiny/notes.gguf",
        "not really a model",
    );
}

#[test]
fn discovers_huggingface_ollama_and_lmstudio() {
    let sb = Sandbox::new();
    stores(&sb);
    let paths = SearchPaths {
        configured: None,
        env: Some(tiny()),
        hf_hub: Some(sb.path("hf/hub")),
        ollama: Some(sb.path("ollama")),
        lmstudio: Some(sb.path(".lmstudio/models")),
    };
    let found = discover(&paths);
    let names: Vec<(&str, &str)> = found.iter().map(|f| (f.name.as_str(), f.source)).collect();
    assert_eq!(
        names,
        vec![
            ("tiny-gemma4", "env"),
            ("acme/tiny-GGUF:tiny-q8_0", "huggingface"),
            ("tinygemma:latest", "ollama"),
            ("tiny-lm", "lmstudio"),
        ]
    );
    assert_eq!(
        resolve("tinygemma:latest", &found),
        Some(sb.path("ollama/blobs/sha256-5f1e"))
    );
    assert_eq!(
        resolve("tiny-lm", &found),
        Some(sb.path(".lmstudio/models/acme/tiny/tiny-lm.gguf"))
    );
    assert_eq!(resolve("nothing", &found), None);
    let mmproj: Vec<Option<std::path::PathBuf>> = found.iter().map(|f| f.mmproj.clone()).collect();
    assert_eq!(
        mmproj,
        vec![
            // The fixtures' folder holds a projector too.
            Some(tiny_mmproj()),
            Some(sb.path("hf/hub/models--acme--tiny-GGUF/snapshots/0123abcd/mmproj-tiny-f16.gguf")),
            Some(sb.path("ollama/blobs/sha256-77aa")),
            None,
        ]
    );
}

#[test]
fn models_command_lists_arch_quantization_and_memory() {
    let sb = Sandbox::new();
    stores(&sb);
    let out = sb.locus_env(
        &sb.work(),
        &["models", "--json"],
        &[
            ("HF_HOME", sb.path("hf").to_str().unwrap()),
            ("OLLAMA_MODELS", sb.path("ollama").to_str().unwrap()),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let models = v["models"].as_array().unwrap();
    assert_eq!(models.len(), 3, "{v}");
    for m in models {
        assert_eq!(m["arch"], "gemma4", "{m}");
        assert_eq!(m["quantization"], "Q8_0");
        assert!(m["size_bytes"].as_u64().unwrap() > 10_000);
        assert_eq!(m["context_length"], 4096);
        assert_eq!(m["vision"], m["source"] == "huggingface", "{m}");
        assert_eq!(m["mmproj"].is_null(), m["source"] == "lmstudio", "{m}");
        let est = m["estimated_memory_bytes"].as_u64().unwrap();
        assert!(est > m["weight_bytes"].as_u64().unwrap() + m["kv_bytes_8k"].as_u64().unwrap());
    }
    let out = sb.locus_env(
        &sb.work(),
        &["models"],
        &[("OLLAMA_MODELS", sb.path("ollama").to_str().unwrap())],
    );
    let text = stdout(&out);
    assert!(
        text.contains("tinygemma:latest  (ollama)") && text.contains("gemma4 Q8_0"),
        "{text}"
    );
    assert!(text.contains("at 8k context"), "{text}");
    assert!(
        text.contains("  vision   text only: model ")
            && text.contains(
                "sha256-77aa is not usable: architecture `gemma4` is not a vision projector (mmproj)"
            ),
        "{text}"
    );
    let out = sb.locus_env(
        &sb.work(),
        &["models"],
        &[("HF_HOME", sb.path("hf").to_str().unwrap())],
    );
    let text = stdout(&out);
    assert!(
        text.contains("  vision   sees images (projector ")
            && text.contains("mmproj-tiny-f16.gguf)"),
        "{text}"
    );
}

#[test]
fn the_configured_projector_pairs_with_the_configured_model() {
    let sb = Sandbox::new();
    let dir = sb.path("elsewhere");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(tiny(), dir.join("m.gguf")).unwrap();
    std::fs::copy(tiny_mmproj(), sb.path("vision.gguf")).unwrap();
    sb.write(
        "work/.locus/config.toml",
        &format!(
            "[model]\npath = {:?}\nmmproj = {:?}\n",
            dir.join("m.gguf"),
            sb.path("vision.gguf")
        ),
    );
    let out = sb.locus(&sb.work(), &["models", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let m = &v["models"][0];
    assert_eq!(m["source"], "config", "{v}");
    assert_eq!(m["mmproj"], sb.path("vision.gguf").to_str().unwrap(), "{v}");
    assert_eq!(m["vision"], true, "{v}");
}

#[test]
fn no_models_is_a_clear_message() {
    let sb = Sandbox::new();
    let out = sb.locus(&sb.work(), &["models"]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("no models found"), "{}", stdout(&out));
    let out = sb.locus(&sb.work(), &["generate", "--prompt", "hi"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no local model found"),
        "{}",
        stderr(&out)
    );
}
