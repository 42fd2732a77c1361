//! Speech into Gemma 4: the "unified" audio projector (llama.cpp's
//! `gemma4ua`), which has no encoder: the 16 kHz mono waveform is cut into
//! 640-sample frames (40 ms; the last one padded with silence), each frame
//! goes through an RMSNorm without scale and one matrix to the text
//! model's width, and the rows stand between `<|audio>` and `<audio|>`.
//! WAV files are read by `hound` (any rate, channels averaged to mono and
//! resampled to 16 kHz as llama.cpp's mtmd resamples them: resample.rs).

use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};

use super::super::LocalError;
use super::super::gguf::Gguf;
use super::super::media::{self, Media, MediaKind};
use super::decode::MediaError;
use super::{ImageError, dense, identity};

/// The rate the model hears at.
pub const RATE: u32 = 16_000;
/// Samples per soft token.
pub const FRAME: usize = 640;
/// The longest recording read (2 minutes: 3,000 soft tokens).
pub const MAX_SECONDS: u32 = 120;
/// A recording whose every sample is below this is silent.
const SILENCE: f32 = 1e-4;
/// llama.cpp fixes the norm's epsilon for this projector.
const EPS: f32 = 1e-6;

/// The audio part of a projector file.
pub struct Hearing {
    pub path: PathBuf,
    /// [width, FRAME], f32.
    proj: Tensor,
    pub width: usize,
    identity: String,
}

/// Whether `g` has an audio part locus runs: an mmproj file's, or a model
/// file's own (`mm.a.input_projection.weight` beside the text weights,
/// with no audio encoder blocks).
pub fn has_audio(g: &Gguf) -> bool {
    if g.arch().is_ok_and(|a| a != "clip") {
        return g.has_tensor("mm.a.input_projection.weight")
            && !g.tensors.keys().any(|k| k.starts_with("a.blk."));
    }
    g.bool("clip.has_audio_encoder").unwrap_or(false)
        && g.str("clip.audio.projector_type")
            .or_else(|_| g.str("clip.projector_type"))
            .is_ok_and(|t| t == "gemma4ua")
        && g.has_tensor("mm.a.input_projection.weight")
}

impl Hearing {
    /// The audio part of the projector at `path`, if it has one.
    pub fn load(path: &Path, device: &Device) -> Result<Option<Hearing>, LocalError> {
        let g = Gguf::open(path)?;
        if !has_audio(&g) {
            return Ok(None);
        }
        let proj = dense(&g, "mm.a.input_projection.weight", device)?;
        let (width, frame) = proj.dims2()?;
        if frame != FRAME {
            return Err(LocalError::Format {
                path: path.into(),
                message: format!("mm.a.input_projection.weight takes {frame} samples, not {FRAME}"),
            });
        }
        Ok(Some(Hearing {
            path: path.into(),
            proj,
            width,
            identity: identity(path),
        }))
    }

    /// The WAV file at `path` as soft-token rows.
    pub fn encode_file(&self, path: &Path) -> Result<Media, ImageError> {
        let data = super::decode::read_limited(path)?;
        self.encode_bytes(path, &data)
    }

    /// `encode_file` of contents already read.
    pub fn encode_bytes(&self, path: &Path, data: &[u8]) -> Result<Media, ImageError> {
        let samples = read_wav(path, data)?;
        let rows = self.encode(&samples)?;
        Ok(Media::new(
            MediaKind::Audio,
            self.key(data),
            rows,
            self.width,
        ))
    }

    /// The key a recording with contents `data` gets.
    pub fn key(&self, data: &[u8]) -> [u8; 32] {
        media::key(data, &format!("audio {}", self.identity))
    }

    /// Rows for 16 kHz mono `samples`: `[ceil(n / FRAME)][width]`.
    pub fn encode(&self, samples: &[f32]) -> Result<Vec<f32>, LocalError> {
        let n = samples.len().div_ceil(FRAME);
        let mut frames = samples.to_vec();
        frames.resize(n * FRAME, 0.0);
        let x = Tensor::from_vec(frames, (n, FRAME), self.proj.device())?;
        let x = super::super::gemma::rms_norm_plain(&x, EPS)?;
        Ok(x.matmul(&self.proj.t()?)?.flatten_all()?.to_vec1::<f32>()?)
    }
}

/// The samples of a WAV file as 16 kHz mono in [-1, 1].
pub fn read_wav(path: &Path, data: &[u8]) -> Result<Vec<f32>, MediaError> {
    let bad = |message: String| MediaError::Corrupt {
        path: path.into(),
        message,
    };
    if data.len() < 12 || &data[..4] != b"RIFF" || &data[8..12] != b"WAVE" {
        return Err(MediaError::NotAudio { path: path.into() });
    }
    let mut r =
        hound::WavReader::new(std::io::Cursor::new(data)).map_err(|e| bad(e.to_string()))?;
    let spec = r.spec();
    let channels = usize::from(spec.channels.max(1));
    let seconds = r.duration() / spec.sample_rate.max(1);
    if seconds > MAX_SECONDS {
        return Err(MediaError::TooLong {
            path: path.into(),
            seconds,
        });
    }
    let interleaved: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => r
            .samples::<f32>()
            .collect::<Result<_, _>>()
            .map_err(|e| bad(e.to_string()))?,
        // Integer samples to f32 as miniaudio's WAV reader (dr_wav) scales
        // them: 8-bit is unsigned (hound gives it less 128), 32-bit divides
        // in f64.
        hound::SampleFormat::Int => {
            let bits = spec.bits_per_sample;
            r.samples::<i32>()
                .map(|s| {
                    s.map(|v| match bits {
                        8 => (v + 128) as f32 * (1.0f64 / 127.5) as f32 - 1.0,
                        16 => v as f32 * (1.0 / 32768.0),
                        b => (f64::from(v) / f64::from(1u32 << (b.clamp(2, 32) - 1))) as f32,
                    })
                })
                .collect::<Result<_, _>>()
                .map_err(|e| bad(e.to_string()))?
        }
    };
    let mono: Vec<f32> = interleaved
        .chunks(channels)
        .map(|c| c.iter().sum::<f32>() / c.len() as f32)
        .collect();
    if mono.iter().all(|s| s.abs() < SILENCE) {
        return Err(MediaError::Silent { path: path.into() });
    }
    Ok(super::resample::resample(&mono, spec.sample_rate, RATE))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav(rate: u32, channels: u16, samples: &[i16]) -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        let spec = hound::WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::new(&mut out, spec).unwrap();
        for s in samples {
            w.write_sample(*s).unwrap();
        }
        w.finalize().unwrap();
        out.into_inner()
    }

    #[test]
    fn wav_files_become_16khz_mono_and_bad_ones_one_line() {
        let p = Path::new("a.wav");
        let s = read_wav(p, &wav(16_000, 1, &[16_384, -16_384, 0])).unwrap();
        assert_eq!(s, vec![0.5, -0.5, 0.0]);
        // Stereo averaged; 32 kHz to the length miniaudio gives (the
        // resampling itself is checked against mtmd in tests/vision_audio.rs).
        let s = read_wav(p, &wav(16_000, 2, &[16_384, 0, 8_192, 8_192])).unwrap();
        assert_eq!(s, vec![0.25, 0.25]);
        let s = read_wav(
            p,
            &wav(32_000, 2, &[16_384, 0, 16_384, 0, 8_192, 8_192, 0, 0]),
        );
        assert_eq!(s.unwrap().len(), 3);
        let e = read_wav(p, &wav(16_000, 1, &[0; 100])).unwrap_err();
        assert_eq!(e.to_string(), "a.wav is silent");
        let e = read_wav(p, b"ID3 not a wav file").unwrap_err();
        assert_eq!(e.to_string(), "a.wav is not a recording locus reads (WAV)");
    }
}
