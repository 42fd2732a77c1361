//! A decoding step a GPU can replay: every token runs the same operations
//! on the same buffers, so CUDA records the step once as a graph and then
//! launches it as one (not some 50 kernel launches a layer, and no
//! per-token allocations: the graph holds its own; cuda_graph.rs). What
//! differs from token to token lives in small device buffers written in
//! place before each step: the token id, its position (the RoPE row), and
//! per window kind the cache row its key and value go to, a sliding kind's
//! window rows (gathered from its ring) and the mask over the keys read
//! (a full layer reads every row its cache holds, the mask hiding what the
//! query does not see). New buffers, and a new recording, when a cache
//! regrows (its tensors are new) or the RoPE tables double.
//!
//! On candle's CPU backend (and Metal) the same step runs op by op: that
//! is how tests/device_step.rs holds it to the device pass's own step, and
//! where `LOCUS_DEVICE_REPLAY=1` puts it. On CUDA it is the decoding step
//! unless `LOCUS_DEVICE_REPLAY=0`.

use std::sync::atomic::{AtomicU64, Ordering};

use candle_core::{CpuStorage, DType, InplaceOp1, Layout, Tensor};

use super::super::LocalError;
use super::Gemma;
use super::device_kv::{DevLayer, DeviceCache};
use super::device_pass::attend;

/// Counts device work other than replayed steps (prompt chunks, drafted
/// batches): candle's quantized products keep workspaces that such work
/// may regrow, and a recording made before would read the old ones.
static EPOCH: AtomicU64 = AtomicU64::new(0);

/// Says that the device ran other work than a replayed step.
pub(super) fn other_work() {
    EPOCH.fetch_add(1, Ordering::Relaxed);
}

/// How much other work the device has run.
#[cfg_attr(not(feature = "cuda"), allow(dead_code))]
pub(super) fn epoch() -> u64 {
    EPOCH.load(Ordering::Relaxed)
}

/// One window kind's per-token inputs: every layer of the kind shares its
/// cache layout.
struct Kind {
    window: Option<usize>,
    /// The first layer of the kind (whose cache layout every layer of the
    /// kind shares).
    layer: usize,
    /// `[1]` u32: the ring row the step's entry goes to.
    row: Tensor,
    /// A sliding kind's `[window]` u32: the ring rows of the window's
    /// positions, oldest first (attention gathers them: a ring holds the
    /// prefix cache's slack and a prompt chunk beside the window). `None`
    /// for full layers, whose attention reads every row.
    gather: Option<Tensor>,
    /// `[1, keys]` f32 over the gathered rows or every row: 0 where the
    /// query sees the entry, -inf elsewhere (and where nothing is held).
    mask: Tensor,
}

pub struct Replay {
    /// What the buffers were made for: each layer's allocation and the RoPE
    /// tables' rows.
    key: Vec<u64>,
    /// `[1]` u32 each: the token and its position.
    token: Tensor,
    pos: Tensor,
    kinds: Vec<Kind>,
    /// Each layer's index into `kinds`.
    kind_of: Vec<usize>,
    /// Each layer's whole RoPE tables.
    ropes: Vec<(Tensor, Tensor)>,
    /// `[1, vocab]` f32: the step's logits.
    out: Tensor,
    /// One kind's mask and gathered rows, built on the host.
    host_mask: Vec<f32>,
    host_rows: Vec<u32>,
    #[cfg(feature = "cuda")]
    graph: super::cuda_graph::Recording,
}

impl Gemma {
    /// One decoding step of `token` through the replayable step (see the
    /// module): its logits `[1, vocab]`, the cache extended by it.
    pub fn step_device(&self, token: u32, cache: &mut DeviceCache) -> Result<Tensor, LocalError> {
        let pos = cache.tokens.len();
        let dev = self.device().clone();
        for (layer, l) in self.layers.iter().zip(cache.layers.iter_mut()) {
            l.reserve_one(layer.cfg.n_kv_head, layer.cfg.head_dim, &dev)?;
        }
        let ropes = (0..self.layers.len())
            .map(|i| self.rope_table(&mut cache.ropes, i, pos + 1))
            .collect::<Result<Vec<_>, _>>()?;
        let mut key = Vec::with_capacity(2 * ropes.len());
        for (l, (c, _)) in cache.layers.iter().zip(&ropes) {
            key.push(l.tensors().map_or(0, |(_, _, a)| a));
            key.push(c.dim(0)? as u64);
        }
        let replay = match cache.replay.take() {
            Some(r) if r.key == key => r,
            _ => Box::new(Replay::new(self, &cache.layers, key, ropes)?),
        };
        let replay = cache.replay.insert(replay);
        replay.write_inputs(self, token, pos, &cache.layers)?;
        replay.run(self, &cache.layers)?;
        for l in &mut cache.layers {
            l.commit_one();
        }
        cache.tokens.push(token);
        Ok(replay.out.clone())
    }
}

impl Replay {
    fn new(
        model: &Gemma,
        layers: &[DevLayer],
        key: Vec<u64>,
        ropes: Vec<(Tensor, Tensor)>,
    ) -> Result<Replay, LocalError> {
        let dev = model.device();
        let mut kinds: Vec<Kind> = Vec::new();
        let mut kind_of = Vec::with_capacity(layers.len());
        for (i, l) in layers.iter().enumerate() {
            let at = match kinds.iter().position(|k| k.window == l.window) {
                Some(at) => at,
                None => {
                    let keys = l.window.unwrap_or(l.layout().cap);
                    kinds.push(Kind {
                        window: l.window,
                        layer: i,
                        row: Tensor::zeros(1, DType::U32, dev)?,
                        gather: match l.window {
                            Some(w) => Some(Tensor::zeros(w, DType::U32, dev)?),
                            None => None,
                        },
                        mask: Tensor::zeros((1, keys), DType::F32, dev)?,
                    });
                    kinds.len() - 1
                }
            };
            kind_of.push(at);
        }
        Ok(Replay {
            key,
            token: Tensor::zeros(1, DType::U32, dev)?,
            pos: Tensor::zeros(1, DType::U32, dev)?,
            kinds,
            kind_of,
            ropes,
            out: Tensor::zeros((1, model.cfg.vocab), DType::F32, dev)?,
            host_mask: Vec::new(),
            host_rows: Vec::new(),
            #[cfg(feature = "cuda")]
            graph: Default::default(),
        })
    }

    /// The step's inputs into their buffers: `token` at `pos`, each kind's
    /// row (reserved already) and mask.
    fn write_inputs(
        &mut self,
        model: &Gemma,
        token: u32,
        pos: usize,
        layers: &[DevLayer],
    ) -> Result<(), LocalError> {
        let pos32 = u32::try_from(pos)
            .map_err(|_| candle_core::Error::Msg(format!("position {pos} past u32")))?;
        write(&self.token, Host::U32(&[token]))?;
        write(&self.pos, Host::U32(&[pos32]))?;
        for kind in &self.kinds {
            let i = kind.layer;
            let layout = layers[i].layout();
            let ring_row = |p: usize| (layout.head + p - layout.start) % layout.cap;
            write(&kind.row, Host::U32(&[ring_row(pos) as u32]))?;
            // Positions held once the step's entry is counted.
            let held = layout.start..pos + 1;
            let shape = model.attention_shape(&model.layers[i].cfg, pos);
            let seen = |p: Option<usize>| match p {
                Some(p) if held.contains(&p) && shape.sees(pos, p) => 0.0,
                _ => f32::NEG_INFINITY,
            };
            self.host_mask.clear();
            match (&kind.gather, kind.window) {
                (Some(gather), Some(w)) => {
                    // Positions pos + 1 - w ..= pos; those before the first
                    // held read row 0, hidden.
                    let p = |j: usize| (j + pos + 1).checked_sub(w);
                    self.host_rows.clear();
                    self.host_rows.extend((0..w).map(|j| {
                        p(j).filter(|p| held.contains(p))
                            .map_or(0, |p| ring_row(p) as u32)
                    }));
                    self.host_mask.extend((0..w).map(|j| seen(p(j))));
                    write(gather, Host::U32(&self.host_rows))?;
                }
                _ => {
                    // Every ring row, by the position it holds.
                    self.host_mask.extend((0..layout.cap).map(|r| {
                        let offset = (r + layout.cap - layout.head) % layout.cap;
                        seen(Some(layout.start + offset))
                    }));
                }
            }
            write(&kind.mask, Host::F32(&self.host_mask))?;
        }
        Ok(())
    }

    /// The step: a CUDA graph's launch where one is recorded (or can be),
    /// else op by op.
    fn run(&mut self, model: &Gemma, layers: &[DevLayer]) -> Result<(), LocalError> {
        #[cfg(feature = "cuda")]
        if let candle_core::Device::Cuda(dev) = model.device() {
            let mut graph = std::mem::take(&mut self.graph);
            let out = || Ok(self.out.flatten_all()?.to_vec1::<f32>()?);
            let done = graph.run(dev, || self.ops(model, layers), out);
            self.graph = graph;
            return done;
        }
        self.ops(model, layers)
    }

    /// The step's operations, reading only the buffers (the same every
    /// token, as a recording needs).
    fn ops(&self, model: &Gemma, layers: &[DevLayer]) -> Result<(), LocalError> {
        let scale = (model.cfg.hidden as f64).sqrt();
        let mut x = (model.embed.embedding(&self.token)?.to_dtype(DType::F32)? * scale)?;
        // Each kind's row, as scatter's indices for a layer's shape.
        let mut indices: Vec<((usize, usize, usize), Tensor)> = Vec::new();
        // Each RoPE table's row for the position (layers of one rotation
        // share a table).
        let mut rows: Vec<(candle_core::TensorId, Tensor, Tensor)> = Vec::new();
        for (i, (layer, l)) in model.layers.iter().zip(layers).enumerate() {
            let (nkv, hd) = (layer.cfg.n_kv_head, layer.cfg.head_dim);
            let kind = self.kind_of[i];
            let (q, k, v) = model.qkv(layer, &x)?;
            let (c, s) = &self.ropes[i];
            let at = match rows.iter().position(|(id, _, _)| *id == c.id()) {
                Some(at) => at,
                None => {
                    let (cos, sin) = (c.index_select(&self.pos, 0)?, s.index_select(&self.pos, 0)?);
                    rows.push((c.id(), cos, sin));
                    rows.len() - 1
                }
            };
            let (_, cos, sin) = &rows[at];
            let (q, k) = model.rotate(&q, &k, cos, sin)?;
            let at = match indices.iter().position(|(key, _)| *key == (kind, nkv, hd)) {
                Some(at) => at,
                None => {
                    let row = self.kinds[kind].row.reshape((1, 1, 1))?;
                    indices.push((
                        (kind, nkv, hd),
                        row.broadcast_as((nkv, 1, hd))?.contiguous()?,
                    ));
                    indices.len() - 1
                }
            };
            let idx = &indices[at].1;
            let (kt, vt, _) = l.tensors().expect("room was made");
            kt.scatter_set(idx, &k.to_dtype(DType::F16)?.reshape((nkv, 1, hd))?, 1)?;
            vt.scatter_set(idx, &v.to_dtype(DType::F16)?.reshape((nkv, 1, hd))?, 1)?;
            let kind = &self.kinds[kind];
            let attn = match &kind.gather {
                Some(g) => attend(
                    &q,
                    &kt.index_select(g, 1)?,
                    &vt.index_select(g, 1)?,
                    Some(&kind.mask),
                )?,
                None => attend(&q, kt, vt, Some(&kind.mask))?,
            };
            x = model.after_attention(layer, &attn, &x)?;
        }
        let logits = model.logits(x, false)?;
        self.out.slice_set(&logits, 0, 0)?;
        Ok(())
    }
}

/// Host values for a device buffer.
#[derive(Clone, Copy)]
enum Host<'a> {
    U32(&'a [u32]),
    F32(&'a [f32]),
}

/// `data` into the buffer `dst` in place (its allocation kept: a recorded
/// step reads it there). Metal takes a copy through a new tensor.
fn write(dst: &Tensor, data: Host<'_>) -> Result<(), LocalError> {
    if dst.device().is_metal() {
        let src = match data {
            Host::U32(d) => Tensor::from_slice(d, dst.shape(), dst.device())?,
            Host::F32(d) => Tensor::from_slice(d, dst.shape(), dst.device())?,
        };
        return Ok(dst.slice_set(&src, 0, 0)?);
    }
    Ok(dst.inplace_op1(&Upload(data))?)
}

struct Upload<'a>(Host<'a>);

impl Upload<'_> {
    fn mismatch(&self) -> candle_core::Error {
        candle_core::Error::Msg("a step input of another type or size".into())
    }
}

impl InplaceOp1 for Upload<'_> {
    fn name(&self) -> &'static str {
        "locus-upload"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> candle_core::Result<()> {
        let (a, b) = layout.contiguous_offsets().ok_or_else(|| self.mismatch())?;
        match (storage, self.0) {
            (CpuStorage::U32(v), Host::U32(d)) if d.len() == b - a => v[a..b].copy_from_slice(d),
            (CpuStorage::F32(v), Host::F32(d)) if d.len() == b - a => v[a..b].copy_from_slice(d),
            _ => return Err(self.mismatch()),
        }
        Ok(())
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        storage: &mut candle_core::CudaStorage,
        layout: &Layout,
    ) -> candle_core::Result<()> {
        use candle_core::cuda_backend::WrapErr;
        let (a, b) = layout.contiguous_offsets().ok_or_else(|| self.mismatch())?;
        // Straight onto the stream: candle's own upload would keep every
        // token's values in its recording cache.
        let stream = storage.device.cuda_stream();
        match self.0 {
            Host::U32(d) if d.len() == b - a => {
                let dst = storage.as_cuda_slice_mut::<u32>()?;
                stream.memcpy_htod(d, &mut dst.slice_mut(a..b)).w()
            }
            Host::F32(d) if d.len() == b - a => {
                let dst = storage.as_cuda_slice_mut::<f32>()?;
                stream.memcpy_htod(d, &mut dst.slice_mut(a..b)).w()
            }
            _ => Err(self.mismatch()),
        }
    }
}
