//! The replayable decoding step (device_step.rs) recorded as a CUDA graph:
//! the first steps on a set of buffers run op by op with candle's upload
//! cache on (every kernel parameter the step needs then lies on the
//! device, and the quantized products' workspaces have their size), the
//! next is recorded (stream capture), run op by op and launched on the same
//! inputs (its logits must equal the op-by-op step's, bit for bit), the
//! rest are launched. Where recording, that check or a launch fails, the
//! step runs op by op from then on, said once in the log;
//! `LOCUS_CUDA_GRAPH=0` turns recording off.

use std::sync::atomic::{AtomicBool, Ordering};

use candle_core::cuda_backend::CudaDevice;
use candle_core::cuda_backend::cudarc::driver::{CudaGraph, DriverError, sys};

use super::super::LocalError;
use super::device_step::epoch;

/// Op-by-op steps on one set of buffers before a recording is made: the
/// first fills candle's upload cache and the quantized products'
/// workspaces; a step that follows other device work is not recorded.
const EAGER_STEPS: u32 = 2;

pub struct Recording {
    state: State,
    /// `device_step::epoch()` when the state was set.
    epoch: u64,
}

enum State {
    /// This many steps run op by op (since the buffers were made or other
    /// device work ran).
    Eager(u32),
    Recorded(Graph),
    /// Recording failed (or is turned off): op by op.
    Declined,
}

impl Default for Recording {
    fn default() -> Recording {
        Recording {
            state: State::Eager(0),
            epoch: epoch(),
        }
    }
}

/// A recorded step. cudarc's graph is neither Send nor Sync (CUDA's graph
/// objects are not synchronized internally); the conversation's cache owns
/// this one and only `&mut` access launches it, so it is used from one
/// thread at a time, which is what CUDA asks.
pub struct Graph(CudaGraph);

// SAFETY: see `Graph`: access is exclusive (through `&mut Recording`), and
// the driver's calls bind the context to whichever thread makes them.
unsafe impl Send for Graph {}

fn driver(e: DriverError) -> LocalError {
    LocalError::Candle(candle_core::Error::Msg(format!("CUDA graph: {e}")))
}

impl Recording {
    /// The step: `ops` op by op, recorded, or the recording launched
    /// (`out` reads the step's result). Other work on the device since (a
    /// prompt chunk, a drafted batch) may have moved the workspaces a
    /// recording reads, so it is made again.
    pub fn run(
        &mut self,
        dev: &CudaDevice,
        ops: impl Fn() -> Result<(), LocalError>,
        out: impl Fn() -> Result<Vec<f32>, LocalError>,
    ) -> Result<(), LocalError> {
        let now = epoch();
        if self.epoch != now && !matches!(self.state, State::Declined) {
            (self.state, self.epoch) = (State::Eager(0), now);
        }
        static OFF: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        if *OFF.get_or_init(|| std::env::var("LOCUS_CUDA_GRAPH").is_ok_and(|v| v == "0")) {
            self.state = State::Declined;
        }
        let eager = match &self.state {
            State::Recorded(g) => match g.0.launch() {
                Ok(()) => return Ok(()),
                Err(e) => {
                    decline(&format!("launching the recorded step failed ({e})"));
                    self.state = State::Declined;
                    return ops();
                }
            },
            State::Declined => return ops(),
            State::Eager(n) => *n,
        };
        let _cache = dev.enable_cuda_graph_htod_cache();
        if eager < EAGER_STEPS {
            ops()?;
            self.state = State::Eager(eager + 1);
            return Ok(());
        }
        // Recorded (nothing runs), then the step op by op, then the
        // recording launched on the same inputs: it rewrites the same cache
        // row with the same entry and must give the same logits, bit for
        // bit (the same kernels), before it replaces the op-by-op step.
        let recorded = record(dev, &ops);
        ops()?;
        let graph = match recorded {
            Ok(g) => g,
            Err(e) => {
                decline(&format!("recording a CUDA graph failed ({e})"));
                self.state = State::Declined;
                return Ok(());
            }
        };
        let want = out()?;
        let same = graph.launch().map_err(driver).and_then(|()| out());
        self.state = match same {
            Ok(got) if got == want => State::Recorded(Graph(graph)),
            Ok(_) => {
                decline("the recorded step's logits differ from the op-by-op step's");
                // The launch rewrote the cache row and the logits: the
                // op-by-op step's again.
                ops()?;
                State::Declined
            }
            Err(e) => {
                decline(&format!("launching the recorded step failed ({e})"));
                ops()?;
                State::Declined
            }
        };
        Ok(())
    }
}

/// Says once in the log why decoding steps run op by op.
fn decline(why: &str) {
    static SAID: AtomicBool = AtomicBool::new(false);
    if !SAID.swap(true, Ordering::Relaxed) {
        tracing::warn!("decoding steps run op by op on the GPU: {why}");
    }
}

/// `ops` recorded on the device's stream (not run: a recording computes
/// nothing until launched).
fn record(
    dev: &CudaDevice,
    ops: &impl Fn() -> Result<(), LocalError>,
) -> Result<CudaGraph, LocalError> {
    let stream = dev.cuda_stream();
    let _cache = dev.enable_cuda_graph_htod_cache();
    stream
        .begin_capture(sys::CUstreamCaptureMode::CU_STREAM_CAPTURE_MODE_RELAXED)
        .map_err(driver)?;
    // The capture always ends, so the stream leaves it even where an
    // operation failed.
    let ran = ops();
    let graph = stream.end_capture(sys::CUgraphInstantiate_flags(0));
    let recorded = ran.and_then(|()| {
        graph.map_err(driver)?.ok_or_else(|| {
            driver(DriverError(
                sys::CUresult::CUDA_ERROR_STREAM_CAPTURE_INVALIDATED,
            ))
        })
    });
    if recorded.is_err() {
        // Frees that failed inside the broken capture leave an error in
        // cudarc's context, which its next call would return: taken here,
        // so the op-by-op step that follows starts clean.
        if let Err(e) = stream.context().check_err() {
            tracing::debug!("left by the failed recording: {e}");
        }
    }
    recorded
}
