//! Weight formats as a user meets them: `locus models` lists each file's
//! tensor types and whether they run on locus's own kernels; a type locus
//! does not run is named in one line, with the tensor and the types it runs.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::{Sandbox, stderr, stdout};

fn tiny() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-gemma4.gguf")
}

/// A copy of the tiny Gemma 4 with `tensor`'s type id in the header set to
/// `id` (the header lists each tensor as name, dimensions, type, offset).
fn with_type(out: &Path, tensor: &str, id: u32) {
    let mut b = std::fs::read(tiny()).unwrap();
    let name = tensor.as_bytes();
    let at = b
        .windows(name.len() + 8)
        .position(|w| w[8..] == *name && w[..8] == (name.len() as u64).to_le_bytes())
        .expect("tensor in the header")
        + 8
        + name.len();
    let n_dims = u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as usize;
    let ty = at + 4 + 8 * n_dims;
    b[ty..ty + 4].copy_from_slice(&id.to_le_bytes());
    std::fs::write(out, b).unwrap();
}

#[test]
fn a_type_locus_does_not_run_is_named_in_one_line() {
    let sb = Sandbox::new();
    let model = sb.path("iq2.gguf");
    with_type(&model, "blk.0.ffn_down.weight", 16);
    let m = model.to_str().unwrap();
    let out = sb.locus_env(
        &sb.work(),
        &[
            "generate",
            "--model",
            m,
            "--raw",
            "--prompt",
            "hi",
            "--max-tokens",
            "2",
        ],
        &[("RUST_BACKTRACE", "1")],
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    for want in [
        "blk.0.ffn_down.weight",
        "IQ2_XXS",
        "does not run",
        "IQ4_XS",
        "Q4_0",
    ] {
        assert!(err.contains(want), "{want} in {err}");
    }
    assert!(!err.to_lowercase().contains("backtrace"), "{err}");

    let out = sb.locus_env(&sb.work(), &["models", "--json"], &[("LOCUS_MODEL", m)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let row = v["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["path"] == m)
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(row["fast_path"], false, "{row}");
    let iq2 = row["tensor_types"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["type"] == "IQ2_XXS")
        .unwrap_or_else(|| panic!("{row}"));
    assert_eq!(
        (iq2["runs"].clone(), iq2["tensors"].clone()),
        (Value::Bool(false), Value::from(1))
    );
    let text = stdout(&sb.locus_env(&sb.work(), &["models"], &[("LOCUS_MODEL", m)]));
    assert!(
        text.contains("IQ2_XXS ×1") && text.contains("not supported"),
        "{text}"
    );
}

#[test]
fn models_lists_tensor_types_and_the_fast_path() {
    let sb = Sandbox::new();
    let m = tiny();
    let m = m.to_str().unwrap();
    let out = sb.locus_env(&sb.work(), &["models", "--json"], &[("LOCUS_MODEL", m)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let row = &v["models"][0];
    assert_eq!(row["fast_path"], true, "{row}");
    let types = row["tensor_types"].as_array().unwrap();
    let q8 = types.iter().find(|t| t["type"] == "Q8_0").unwrap();
    assert_eq!(
        (q8["fast_path"].clone(), q8["runs"].clone()),
        (Value::Bool(true), Value::Bool(true))
    );
    assert!(q8["matrices"].as_u64().unwrap() > 10 && q8["bytes"].as_u64().unwrap() > 0);
    let f32s = types.iter().find(|t| t["type"] == "F32").unwrap();
    assert_eq!(f32s["matrices"], 0, "norms and scales only: {f32s}");
    let text = stdout(&sb.locus_env(&sb.work(), &["models"], &[("LOCUS_MODEL", m)]));
    assert!(
        text.contains("Q8_0 ×")
            && text.contains("(fast path)")
            && text.contains("norms and scales"),
        "{text}"
    );
}
