//! The replayable decoding step (device_step.rs) recorded as a CUDA graph:
//! the first step on a set of buffers runs op by op with candle's upload
//! cache on (every kernel parameter the step needs then lies on the
//! device), the second is recorded (stream capture) and launched, the rest
//! are launched. Where recording fails, the step runs op by op from then
//! on, said once in the log; `LOCUS_CUDA_GRAPH=0` turns recording off.

use std::sync::atomic::{AtomicBool, Ordering};

use candle_core::cuda_backend::CudaDevice;
use candle_core::cuda_backend::cudarc::driver::{CudaGraph, DriverError, sys};

use super::super::LocalError;

#[derive(Default)]
pub enum Recording {
    /// Nothing run on these buffers yet.
    #[default]
    Cold,
    /// Run once op by op: the parameters are on the device.
    Warm,
    Recorded(Graph),
    /// Recording failed (or is turned off): op by op.
    Declined,
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
    /// The step: `ops` op by op, recorded, or the recording launched.
    pub fn run(
        &mut self,
        dev: &CudaDevice,
        ops: impl Fn() -> Result<(), LocalError>,
    ) -> Result<(), LocalError> {
        match self {
            Recording::Recorded(g) => g.0.launch().map_err(driver),
            Recording::Declined => ops(),
            Recording::Cold if std::env::var("LOCUS_CUDA_GRAPH").is_ok_and(|v| v == "0") => {
                *self = Recording::Declined;
                ops()
            }
            Recording::Cold => {
                let _cache = dev.enable_cuda_graph_htod_cache();
                ops()?;
                *self = Recording::Warm;
                Ok(())
            }
            Recording::Warm => match record(dev, &ops) {
                Ok(g) => {
                    g.launch().map_err(driver)?;
                    *self = Recording::Recorded(Graph(g));
                    Ok(())
                }
                Err(e) => {
                    static SAID: AtomicBool = AtomicBool::new(false);
                    if !SAID.swap(true, Ordering::Relaxed) {
                        tracing::warn!(
                            "decoding steps run op by op: recording a CUDA graph failed ({e})"
                        );
                    }
                    *self = Recording::Declined;
                    ops()
                }
            },
        }
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
    ran?;
    graph.map_err(driver)?.ok_or_else(|| {
        driver(DriverError(
            sys::CUresult::CUDA_ERROR_STREAM_CAPTURE_INVALIDATED,
        ))
    })
}
