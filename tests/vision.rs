//! Images into Gemma 4 against llama.cpp's mtmd: a tiny random Gemma 4 and
//! vision projector generated here (scripts/make-tiny-gemma4.py with the
//! media tokens, scripts/make-tiny-gemma4-mmproj.py), images of odd sizes
//! and aspect ratios written as PNG and GIF, and each image's soft-token
//! count and projected rows compared with what mtmd computes from the same
//! files (scripts/ref-vision.py).

use std::path::{Path, PathBuf};
use std::process::Command;

use candle_core::Device;
use image::{ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use locus::model::local::vision::{self, Projector};
use serde_json::Value;

use crate::util::llama_python;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The tiny text model and projector, written into `dir`.
pub fn models(dir: &Path) -> (PathBuf, PathBuf) {
    models_with(dir, &[])
}

/// `models_with`, the projector with an audio part too.
pub fn models_with_audio(dir: &Path, env: &[(&str, &str)]) -> (PathBuf, PathBuf) {
    models_full(dir, env, &[("TINY_AUDIO", "1")])
}

/// `models` with the text model's generator run with `env`.
pub fn models_with(dir: &Path, env: &[(&str, &str)]) -> (PathBuf, PathBuf) {
    models_full(dir, env, &[])
}

fn models_full(
    dir: &Path,
    env: &[(&str, &str)],
    projector_env: &[(&str, &str)],
) -> (PathBuf, PathBuf) {
    let py = llama_python();
    let (text, mmproj) = (dir.join("text.gguf"), dir.join("mmproj.gguf"));
    let st = Command::new(&py)
        .arg(root().join("scripts/make-tiny-gemma4.py"))
        .arg(&text)
        .env("TINY_MEDIA", "1")
        .envs(env.iter().copied())
        .status()
        .unwrap();
    assert!(st.success());
    let st = Command::new(&py)
        .arg(root().join("scripts/make-tiny-gemma4-mmproj.py"))
        .arg(&mmproj)
        .envs(projector_env.iter().copied())
        .status()
        .unwrap();
    assert!(st.success());
    (text, mmproj)
}

/// Seeded noise with some structure (a gradient), so resampling matters.
pub fn noise(w: u32, h: u32, seed: u32) -> RgbImage {
    let mut s = seed.wrapping_mul(2_654_435_761).max(1);
    RgbImage::from_fn(w, h, |x, y| {
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s % 96) as u8
        };
        let g = ((x * 160 / w.max(1)) + (y * 64 / h.max(1))) as u8;
        Rgb([g + next(), 255 - g - next(), next() * 2])
    })
}

fn reference(text: &Path, mmproj: &Path, max: usize, images: &[PathBuf]) -> Value {
    let out = images[0].with_file_name(format!("ref-{max}.json"));
    let o = Command::new(llama_python())
        .arg(root().join("scripts/ref-vision.py"))
        .arg(text)
        .arg(mmproj)
        .arg(max.to_string())
        .arg(&out)
        .args(images)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap()
}

#[test]
fn image_rows_match_llama_cpp_mtmd_on_odd_sizes_and_budgets() {
    let dir = tempfile::tempdir().unwrap();
    let (text, mmproj) = models(dir.path());
    let mut images = Vec::new();
    // Small (scaled up to the 70-token floor), tall, a sliver, larger than
    // the budget, one pixel, square.
    for (i, (w, h)) in [(37, 23), (23, 101), (500, 7), (300, 200), (1, 1), (96, 96)]
        .into_iter()
        .enumerate()
    {
        let p = dir.path().join(format!("img{i}.png"));
        noise(w, h, i as u32 + 1)
            .save_with_format(&p, ImageFormat::Png)
            .unwrap();
        images.push(p);
    }
    // Transparency (dropped, as stb_image drops it) and a still GIF.
    let rgba = RgbaImage::from_fn(41, 29, |x, y| {
        Rgba([(x * 6) as u8, (y * 8) as u8, 90, (x * y % 256) as u8])
    });
    let p = dir.path().join("alpha.png");
    rgba.save_with_format(&p, ImageFormat::Png).unwrap();
    images.push(p);
    let p = dir.path().join("still.gif");
    noise(50, 31, 9)
        .save_with_format(&p, ImageFormat::Gif)
        .unwrap();
    images.push(p);

    let proj = Projector::load(&mmproj, &Device::Cpu).unwrap();
    assert_eq!((proj.side, proj.width), (12, 64));
    for max in [70, vision::DEFAULT_TOKENS, 1120] {
        let want = reference(&text, &mmproj, max, &images);
        for (path, r) in images.iter().zip(want["images"].as_array().unwrap()) {
            let img = vision::decode_image(path).unwrap();
            let patches = vision::prep::patches(&img, proj.budget(max));
            let n = r["n_tokens"].as_u64().unwrap() as usize;
            assert_eq!(
                patches.cols * patches.rows,
                n,
                "{path:?} at {max} tokens: soft tokens"
            );
            let got = proj.encode(&patches).unwrap().to_vec2::<f32>().unwrap();
            let mut worst = 0f32;
            for (g, w) in got.iter().zip(r["embeddings"].as_array().unwrap()) {
                for (a, b) in g.iter().zip(w.as_array().unwrap()) {
                    worst = worst.max((a - b.as_f64().unwrap() as f32).abs());
                }
            }
            // F32 weights: the two differ only in summation order.
            assert!(
                worst < 2e-3,
                "{path:?} at {max} tokens: rows differ by {worst}"
            );
        }
    }
}

#[test]
fn bad_images_and_projectors_get_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = d.join("notes.png");
    std::fs::write(&text, "not an image").unwrap();
    let e = vision::decode_image(&text).unwrap_err().to_string();
    assert!(
        e.ends_with("is not an image locus reads (PNG, JPEG, WebP, GIF)"),
        "{e}"
    );
    let e = vision::decode_image(&d.join("missing.png"))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("cannot read ") && !e.contains('\n'), "{e}");
    // An animation: two frames.
    let gif = d.join("anim.gif");
    {
        let f = std::fs::File::create(&gif).unwrap();
        let mut enc = image::codecs::gif::GifEncoder::new(f);
        let frames = (0..2)
            .map(|i| image::Frame::new(RgbaImage::from_pixel(8, 8, Rgba([i * 200, 0, 0, 255]))));
        enc.encode_frames(frames).unwrap();
    }
    let e = vision::decode_image(&gif).unwrap_err().to_string();
    assert!(
        e.ends_with("is an animation; attach one frame saved as PNG"),
        "{e}"
    );
    // Past the pixel limit (a PNG header claims 20000 x 20000).
    let huge = d.join("huge.png");
    let big = RgbImage::new(1, 1);
    big.save_with_format(&huge, ImageFormat::Png).unwrap();
    let mut bytes = std::fs::read(&huge).unwrap();
    // IHDR's width and height (big-endian, bytes 16..24) and its CRC.
    bytes[16..20].copy_from_slice(&20_000u32.to_be_bytes());
    bytes[20..24].copy_from_slice(&20_000u32.to_be_bytes());
    let crc = crc32(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    std::fs::write(&huge, &bytes).unwrap();
    let e = vision::decode_image(&huge).unwrap_err().to_string();
    assert!(
        e.ends_with("huge.png is 20000 x 20000 pixels; images up to 50 million pixels are read"),
        "{e}"
    );
    // A text model given as the projector.
    let e = Projector::load(
        &root().join("tests/fixtures/tiny-gemma4.gguf"),
        &Device::Cpu,
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("is not a vision projector (mmproj)"), "{e}");
}

/// PNG's CRC-32 (ISO 3309).
fn crc32(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}
