//! Recordings at any rate, sample format and channel count, against
//! llama.cpp's mtmd: the 16 kHz mono samples locus hears in a WAV file are
//! the ones mtmd's helper decodes from it (miniaudio: format conversion,
//! channels averaged, linear resampling with its low-pass filter), so the
//! soft tokens, and the model's reading of them, agree whatever the
//! recorder wrote (scripts/ref-audio.py).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::util::llama_python;

/// A WAV file: a rising tone with some noise, `seconds` long.
pub fn recording(path: &Path, spec: hound::WavSpec, seconds: f32, seed: u32) {
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    let mut s = seed.max(1);
    let rate = spec.sample_rate as f32;
    for i in 0..(seconds * rate) as usize {
        let t = i as f32 / rate;
        for c in 0..spec.channels {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            let v = (t * (300.0 + 900.0 * t) * std::f32::consts::TAU + f32::from(c)).sin() * 0.4
                + (s % 1000) as f32 / 1000.0 * 0.1;
            match (spec.sample_format, spec.bits_per_sample) {
                (hound::SampleFormat::Float, _) => w.write_sample(v).unwrap(),
                (_, 8) => w.write_sample((v * 127.0) as i8).unwrap(),
                (_, 16) => w.write_sample((v * 32_767.0) as i16).unwrap(),
                (_, bits) => w
                    .write_sample((f64::from(v) * ((1u64 << (bits - 1)) - 1) as f64) as i32)
                    .unwrap(),
            }
        }
    }
    w.finalize().unwrap();
}

pub fn spec(rate: u32, channels: u16, bits: u16, float: bool) -> hound::WavSpec {
    hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: if float {
            hound::SampleFormat::Float
        } else {
            hound::SampleFormat::Int
        },
    }
}

fn reference(text: &Path, mmproj: &Path, files: &[PathBuf]) -> Value {
    let out = files[0].with_extension("ref.json");
    let st = Command::new(llama_python())
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/ref-audio.py"))
        .args([text, mmproj, &out])
        .args(files)
        .status()
        .unwrap();
    assert!(st.success());
    serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap()
}

#[test]
fn recordings_at_any_rate_and_format_sound_as_they_do_to_llama_cpp_mtmd() {
    let dir = tempfile::tempdir().unwrap();
    let (text, mmproj) = crate::vision::models_with_audio(dir.path(), &[]);
    let cases = [
        ("cd.wav", spec(44_100, 2, 16, false), 1.3),
        ("studio.wav", spec(48_000, 1, 24, false), 1.0),
        ("phone.wav", spec(8_000, 1, 8, false), 0.9),
        ("float.wav", spec(22_050, 1, 32, true), 0.7),
        ("int32.wav", spec(11_025, 2, 32, false), 0.6),
        ("wide.wav", spec(96_000, 3, 16, false), 0.4),
        ("native.wav", spec(16_000, 1, 16, false), 0.5),
    ];
    let mut files = Vec::new();
    for (i, (name, spec, seconds)) in cases.iter().enumerate() {
        let path = dir.path().join(name);
        recording(&path, *spec, *seconds, i as u32 + 3);
        files.push(path);
    }
    let want = reference(&text, &mmproj, &files);
    assert_eq!(want["rate"], 16_000);
    for (path, rec) in files.iter().zip(want["recordings"].as_array().unwrap()) {
        let want: Vec<f32> = rec["samples"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        let data = std::fs::read(path).unwrap();
        let got = locus::model::local::vision::audio::read_wav(path, &data).unwrap();
        let name = path.file_name().unwrap().to_string_lossy();
        assert_eq!(got.len(), want.len(), "{name}: sample count");
        // Same arithmetic in the same order (equal bit for bit here); a C
        // compiler may fuse the filter's multiply-adds elsewhere.
        let worst = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(worst < 1e-5, "{name}: samples differ by up to {worst}");
    }
}
