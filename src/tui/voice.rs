//! Dictation (feature `voice`): Ctrl-R starts recording from the default
//! microphone (cpal), Ctrl-R again stops; the recording is saved as a WAV
//! in locus's state folder and attached as the question's audio (asked at
//! once when the composer is empty), for the local model to hear. Without
//! the feature, Ctrl-R says how to get it.

use std::path::{Path, PathBuf};

/// A recording in progress.
pub struct Recorder {
    #[cfg(feature = "voice")]
    inner: imp::Recording,
}

/// Start recording from the default input device.
pub fn start() -> Result<Recorder, String> {
    #[cfg(feature = "voice")]
    {
        Ok(Recorder {
            inner: imp::Recording::start()?,
        })
    }
    #[cfg(not(feature = "voice"))]
    {
        Err("this build of locus records nothing (feature `voice`); attach a WAV with /image PATH.wav or `--audio`".into())
    }
}

impl Recorder {
    /// Stop, and save what was heard under `dir`; the file.
    pub fn stop(self, dir: &Path) -> Result<PathBuf, String> {
        #[cfg(feature = "voice")]
        {
            let (samples, rate, channels) = self.inner.stop();
            save(dir, &samples, rate, channels)
        }
        #[cfg(not(feature = "voice"))]
        {
            let _ = dir;
            Err("no recording".into())
        }
    }
}

/// `samples` (interleaved, `channels`, at `rate`) as a 16-bit WAV in `dir`.
#[cfg_attr(not(feature = "voice"), allow(dead_code))]
pub fn save(dir: &Path, samples: &[f32], rate: u32, channels: u16) -> Result<PathBuf, String> {
    if samples.is_empty() {
        return Err("nothing was heard".into());
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot save the recording: {e}"))?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let path = dir.join(format!("recording-{stamp}.wav"));
    let spec = hound::WavSpec {
        channels: channels.max(1),
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let fail = |e: hound::Error| format!("cannot save the recording: {e}");
    let mut w = hound::WavWriter::create(&path, spec).map_err(fail)?;
    for s in samples {
        w.write_sample((s.clamp(-1.0, 1.0) * 32_767.0) as i16)
            .map_err(fail)?;
    }
    w.finalize().map_err(fail)?;
    Ok(path)
}

#[cfg(feature = "voice")]
mod imp {
    use std::sync::{Arc, Mutex};

    use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};

    pub struct Recording {
        stream: cpal::Stream,
        samples: Arc<Mutex<Vec<f32>>>,
        rate: u32,
        channels: u16,
    }

    impl Recording {
        pub fn start() -> Result<Recording, String> {
            let device = cpal::default_host()
                .default_input_device()
                .ok_or("no microphone here")?;
            let config = device
                .default_input_config()
                .map_err(|e| format!("the microphone cannot record: {e}"))?;
            let (rate, channels) = (config.sample_rate().0, config.channels());
            let samples = Arc::new(Mutex::new(Vec::new()));
            let into = samples.clone();
            let on_error = |e| tracing::warn!("recording: {e}");
            let push = move |data: &mut dyn Iterator<Item = f32>| {
                into.lock().unwrap_or_else(|e| e.into_inner()).extend(data);
            };
            let stream = match config.sample_format() {
                cpal::SampleFormat::F32 => device.build_input_stream(
                    &config.into(),
                    move |d: &[f32], _: &_| push(&mut d.iter().copied()),
                    on_error,
                    None,
                ),
                cpal::SampleFormat::I16 => device.build_input_stream(
                    &config.into(),
                    move |d: &[i16], _: &_| push(&mut d.iter().map(|&s| f32::from(s) / 32_768.0)),
                    on_error,
                    None,
                ),
                cpal::SampleFormat::U16 => device.build_input_stream(
                    &config.into(),
                    move |d: &[u16], _: &_| {
                        push(&mut d.iter().map(|&s| (f32::from(s) - 32_768.0) / 32_768.0))
                    },
                    on_error,
                    None,
                ),
                other => {
                    return Err(format!(
                        "the microphone's sample format {other:?} is not read"
                    ));
                }
            }
            .map_err(|e| format!("cannot record: {e}"))?;
            stream.play().map_err(|e| format!("cannot record: {e}"))?;
            Ok(Recording {
                stream,
                samples,
                rate,
                channels,
            })
        }

        /// The samples heard, their rate and channels.
        pub fn stop(self) -> (Vec<f32>, u32, u16) {
            drop(self.stream);
            let samples =
                std::mem::take(&mut *self.samples.lock().unwrap_or_else(|e| e.into_inner()));
            (samples, self.rate, self.channels)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_recording_is_saved_as_a_wav_locus_reads() {
        let dir = tempfile::tempdir().unwrap();
        // 0.1 s of a 440 Hz tone, stereo at 48 kHz.
        let samples: Vec<f32> = (0..4800)
            .flat_map(|i| {
                let v = (i as f32 / 48_000.0 * 440.0 * std::f32::consts::TAU).sin() * 0.5;
                [v, v]
            })
            .collect();
        let path = super::save(dir.path(), &samples, 48_000, 2).unwrap();
        let data = std::fs::read(&path).unwrap();
        let heard = crate::model::local::vision::audio::read_wav(&path, &data).unwrap();
        // A third, plus the frame miniaudio's decoder (so mtmd) counts at
        // 48 kHz (vision/resample.rs).
        assert_eq!(heard.len(), 1601, "16 kHz mono");
        assert!(heard.iter().any(|s| s.abs() > 0.4));
        assert_eq!(
            super::save(dir.path(), &[], 16_000, 1).unwrap_err(),
            "nothing was heard"
        );
    }
}
