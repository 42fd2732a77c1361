//! The key/value cache of the device pass, resident where the model
//! computes (CUDA, Metal, or candle's CPU backend), in f16: per layer one
//! key and one value tensor `[kv heads, rows, head dim]`, written in place
//! (`slice_set`) so a step appends without copying what is cached. Sliding
//! layers keep a ring of the window, the host cache's slack for rollbacks
//! and the chunk being added; full layers grow (doubling, up to the
//! model's context) with use. The bookkeeping is the host cache's (kv.rs):
//! the oldest entry's absolute position and ring row, and how many are held.

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};

use candle_core::{DType, Device, Tensor};
use half::f16;

use super::super::LocalError;
use super::super::kv::{LayerSnap, SLIDING_SLACK, Snapshot, cut_back_exactly, resume_from};
use super::device_pass::RopeTables;
use super::device_step::Replay;

/// Rows a full layer starts with.
const FIRST_ROWS: usize = 256;

/// Names each allocation of a layer's tensors (what a replayed step was
/// recorded against).
static ALLOCATIONS: AtomicU64 = AtomicU64::new(1);

pub(super) struct DevLayer {
    k: Option<Tensor>,
    v: Option<Tensor>,
    /// Which allocation `k` and `v` are (0: none yet).
    alloc: u64,
    /// Rows the tensors hold.
    cap: usize,
    /// Row of the oldest entry.
    head: usize,
    /// Absolute position of the oldest entry.
    start: usize,
    len: usize,
    pub(super) window: Option<usize>,
    /// The model's context: a full layer never grows past it.
    limit: usize,
}

/// Where one layer's entries lie, for the attention mask: every layer of
/// the same window kind has the same layout (they append in step).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) struct Layout {
    pub cap: usize,
    pub head: usize,
    pub start: usize,
    pub len: usize,
    pub window: Option<usize>,
}

impl DevLayer {
    fn new(window: Option<usize>, limit: usize) -> DevLayer {
        DevLayer {
            limit,
            k: None,
            v: None,
            alloc: 0,
            cap: 0,
            head: 0,
            start: 0,
            len: 0,
            window,
        }
    }

    fn end(&self) -> usize {
        self.start + self.len
    }

    pub(super) fn layout(&self) -> Layout {
        Layout {
            cap: self.cap,
            head: self.head,
            start: self.start,
            len: self.len,
            window: self.window,
        }
    }

    /// Ring rows of entries `from..from + n`, as at most two runs.
    fn runs(&self, from: usize, n: usize) -> [Range<usize>; 2] {
        let a = (self.head + from) % self.cap.max(1);
        if a + n <= self.cap {
            [a..a + n, 0..0]
        } else {
            [a..self.cap, 0..a + n - self.cap]
        }
    }

    /// Makes room for `l` more entries: a sliding layer first forgets what
    /// no query of the chunk can see, then the rows grow if still short.
    fn make_room(
        &mut self,
        l: usize,
        kv: usize,
        hd: usize,
        dev: &Device,
    ) -> Result<(), LocalError> {
        if let Some(w) = self.window
            && self.len + l > self.cap
        {
            // The oldest entries no query of the chunk sees, as few as
            // make room: the rest stay for the prefix cache's rollbacks.
            let needed_from = (self.end() + 1).saturating_sub(w);
            let drop = (needed_from.saturating_sub(self.start))
                .min(self.len + l - self.cap)
                .min(self.len);
            self.head = (self.head + drop) % self.cap.max(1);
            self.start += drop;
            self.len -= drop;
        }
        if self.len + l <= self.cap {
            return Ok(());
        }
        let cap = match self.window {
            Some(w) => (w + SLIDING_SLACK + l).max(self.len + l),
            None => (self.len + l)
                .max(FIRST_ROWS)
                .next_power_of_two()
                .min(self.limit.max(self.len + l)),
        };
        let regrow = |t: &Option<Tensor>| -> Result<Tensor, LocalError> {
            let new = Tensor::zeros((kv, cap, hd), DType::F16, dev)?;
            if let Some(t) = t {
                let mut at = 0;
                for r in self.runs(0, self.len) {
                    if !r.is_empty() {
                        new.slice_set(&t.narrow(1, r.start, r.len())?.contiguous()?, 1, at)?;
                        at += r.len();
                    }
                }
            }
            Ok(new)
        };
        let (k, v) = (regrow(&self.k)?, regrow(&self.v)?);
        (self.k, self.v, self.cap, self.head) = (Some(k), Some(v), cap, 0);
        self.alloc = ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Makes room for one more entry (`kv` heads of `hd`) and returns the
    /// ring row it goes to; `commit_one` counts it once written there.
    pub(super) fn reserve_one(
        &mut self,
        kv: usize,
        hd: usize,
        dev: &Device,
    ) -> Result<usize, LocalError> {
        self.make_room(1, kv, hd, dev)?;
        Ok(self.runs(self.len, 1)[0].start)
    }

    /// Counts the entry written at `reserve_one`'s row.
    pub(super) fn commit_one(&mut self) {
        self.len += 1;
    }

    /// The whole key and value tensors `[kv heads, rows, head dim]` (after
    /// room was made) and which allocation they are.
    pub(super) fn tensors(&self) -> Option<(&Tensor, &Tensor, u64)> {
        Some((self.k.as_ref()?, self.v.as_ref()?, self.alloc))
    }

    /// Appends keys and values `[l, kv heads, head dim]` (any float type).
    pub(super) fn append(&mut self, k: &Tensor, v: &Tensor) -> Result<(), LocalError> {
        let (l, kv, hd) = k.dims3()?;
        self.make_room(l, kv, hd, k.device())?;
        let (kt, vt) = (
            self.k.as_ref().expect("room made"),
            self.v.as_ref().expect("room made"),
        );
        let k = k.to_dtype(DType::F16)?.transpose(0, 1)?;
        let v = v.to_dtype(DType::F16)?.transpose(0, 1)?;
        let mut at = 0;
        for r in self.runs(self.len, l) {
            if !r.is_empty() {
                kt.slice_set(&k.narrow(1, at, r.len())?.contiguous()?, 1, r.start)?;
                vt.slice_set(&v.narrow(1, at, r.len())?.contiguous()?, 1, r.start)?;
                at += r.len();
            }
        }
        self.len += l;
        Ok(())
    }

    /// Keys and values as attention reads them: the entries from absolute
    /// position `from` (the first any query of the step sees) on, in
    /// position order, `[kv heads, n, head dim]` in f16 — a ring's two runs
    /// joined where they wrap.
    pub(super) fn view_from(&self, from: usize) -> Result<(Tensor, Tensor), LocalError> {
        let from = from.clamp(self.start, self.end());
        let runs = self.runs(from - self.start, self.end() - from);
        let pick = |t: &Option<Tensor>| -> Result<Tensor, LocalError> {
            let t = t.as_ref().expect("appended");
            let parts = runs
                .iter()
                .filter(|r| !r.is_empty())
                .map(|r| t.narrow(1, r.start, r.len()))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(match parts.as_slice() {
                [one] => one.clone(),
                _ => Tensor::cat(&parts, 1)?,
            })
        };
        Ok((pick(&self.k)?, pick(&self.v)?))
    }

    /// Absolute position of the oldest entry.
    pub(super) fn start(&self) -> usize {
        self.start
    }

    fn can_truncate(&self, pos: usize) -> bool {
        cut_back_exactly(self.start, self.end(), self.window, pos)
    }

    /// As the host cache's `truncate` (after `can_truncate`).
    fn truncate(&mut self, pos: usize) {
        if pos == 0 {
            (self.start, self.len, self.head) = (0, 0, 0);
        } else {
            self.len = pos - self.start;
        }
    }

    /// The entries resuming at position `p` needs, position-major on the
    /// host (as the host cache's snapshots hold them), if all are held.
    fn snap(&self, p: usize) -> Result<Option<LayerSnap>, LocalError> {
        let Some(from) = resume_from(self.start, self.end(), self.window, p) else {
            return Ok(None);
        };
        let (Some(k), Some(v)) = (&self.k, &self.v) else {
            return Ok(Some(LayerSnap {
                start: from,
                width: 0,
                k: Vec::new(),
                v: Vec::new(),
            }));
        };
        let (kv, _, hd) = k.dims3()?;
        let rows = |t: &Tensor| -> Result<Vec<f16>, LocalError> {
            let mut out = Vec::with_capacity((p - from) * kv * hd);
            for r in self.runs(from - self.start, p - from) {
                if !r.is_empty() {
                    let part = t.narrow(1, r.start, r.len())?.transpose(0, 1)?;
                    out.extend(part.flatten_all()?.to_vec1::<f16>()?);
                }
            }
            Ok(out)
        };
        Ok(Some(LayerSnap {
            start: from,
            width: kv * hd,
            k: rows(k)?,
            v: rows(v)?,
        }))
    }

    /// Holds exactly the entries of `s`, `kv` heads of `hd` values each.
    fn restore(
        &mut self,
        s: &LayerSnap,
        kv: usize,
        hd: usize,
        dev: &Device,
    ) -> Result<(), LocalError> {
        (self.k, self.v, self.cap, self.head, self.alloc) = (None, None, 0, 0, 0);
        (self.start, self.len) = (s.start, 0);
        let n = s.len();
        if n == 0 {
            return Ok(());
        }
        let t = |rows: &[f16]| Tensor::from_slice(rows, (n, kv, hd), dev);
        let (k, v) = (t(&s.k)?, t(&s.v)?);
        self.append(&k, &v)?;
        self.start = s.start;
        Ok(())
    }

    fn bytes(&self) -> usize {
        [&self.k, &self.v]
            .into_iter()
            .flatten()
            .map(|t| t.elem_count() * 2)
            .sum()
    }
}

/// The device pass's cache: the tokens it holds and each layer's entries.
pub struct DeviceCache {
    pub tokens: Vec<u32>,
    pub(super) layers: Vec<DevLayer>,
    /// RoPE tables kept on the device (they hold no conversation).
    pub(super) ropes: RopeTables,
    /// The replayable decoding step's buffers (device_step.rs).
    pub(super) replay: Option<Box<Replay>>,
}

impl DeviceCache {
    /// Layers with these windows (`None`: full), for a model whose context
    /// is `context` tokens.
    pub fn new(windows: impl IntoIterator<Item = Option<usize>>, context: usize) -> DeviceCache {
        DeviceCache {
            tokens: Vec::new(),
            layers: windows
                .into_iter()
                .map(|w| DevLayer::new(w, context))
                .collect(),
            ropes: RopeTables::default(),
            replay: None,
        }
    }

    /// Cuts the cache back to its first `n` tokens where every layer still
    /// holds what a fresh computation would; else as far back as needed to
    /// be exact (0: empty). Returns the tokens kept.
    pub fn rollback(&mut self, n: usize) -> usize {
        let n = n.min(self.tokens.len());
        let keep = if self.layers.iter().all(|l| l.can_truncate(n)) {
            n
        } else {
            0
        };
        for l in &mut self.layers {
            l.truncate(keep);
        }
        self.tokens.truncate(keep);
        keep
    }

    /// Bytes of the device memory held.
    pub fn bytes(&self) -> usize {
        self.layers.iter().map(DevLayer::bytes).sum()
    }

    /// What resuming at the first `p` tokens needs, copied to the host in
    /// the host cache's form (so checkpoints and disk snapshots serve both),
    /// if every layer still holds it.
    pub fn snapshot(&self, p: usize) -> Result<Option<Snapshot>, LocalError> {
        if p > self.tokens.len() {
            return Ok(None);
        }
        let mut layers = Vec::with_capacity(self.layers.len());
        for l in &self.layers {
            match l.snap(p)? {
                Some(s) => layers.push(s),
                None => return Ok(None),
            }
        }
        Ok(Some(Snapshot {
            tokens: self.tokens[..p].to_vec(),
            layers,
        }))
    }

    /// The cache as it was at the snapshot's end; `heads` gives each
    /// layer's (kv heads, head dim).
    pub fn restore(
        &mut self,
        s: &Snapshot,
        heads: impl IntoIterator<Item = (usize, usize)>,
        dev: &Device,
    ) -> Result<(), LocalError> {
        assert_eq!(
            s.layers.len(),
            self.layers.len(),
            "a snapshot of this model"
        );
        for ((l, snap), (kv, hd)) in self.layers.iter_mut().zip(&s.layers).zip(heads) {
            l.restore(snap, kv, hd, dev)?;
        }
        self.tokens.clone_from(&s.tokens);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(l: usize, from: usize) -> Tensor {
        let v: Vec<f32> = (0..l * 2).map(|i| (from * 2 + i) as f32).collect();
        Tensor::from_vec(v, (l, 1, 2), &Device::Cpu).unwrap()
    }

    /// The entries a layer holds, in position order.
    fn held(layer: &DevLayer) -> Vec<(usize, f32)> {
        let (k, _) = layer.view_from(0).unwrap();
        let k = k.squeeze(0).unwrap();
        let k = k.to_dtype(DType::F32).unwrap().to_vec2::<f32>().unwrap();
        (layer.start..).zip(k.iter().map(|r| r[0])).collect()
    }

    #[test]
    fn a_sliding_ring_keeps_the_window_and_a_full_layer_grows() {
        let mut ring = DevLayer::new(Some(4), 4096);
        let mut full = DevLayer::new(None, 4096);
        let mut pos = 0;
        for l in [3, 1, 1, 5, 1, 2, 300, 900, 1, 40] {
            ring.append(&rows(l, pos), &rows(l, pos)).unwrap();
            full.append(&rows(l, pos), &rows(l, pos)).unwrap();
            pos += l;
            let r = held(&ring);
            // The last chunk and the window before it, each at its position.
            assert!(r.iter().all(|&(p, k)| k == (p * 2) as f32), "{r:?}");
            assert_eq!(r.last().unwrap().0, pos - 1);
            assert!(r.first().unwrap().0 <= (pos - l).saturating_sub(3));
            let f = held(&full);
            assert_eq!(f.len(), pos);
            assert!(f.iter().all(|&(p, k)| k == (p * 2) as f32));
        }
        // The ring wrapped within its first rows (window, slack, first chunk).
        assert_eq!((ring.cap, full.cap), (4 + SLIDING_SLACK + 3, 2048));
        assert!(ring.start > 0);
        // Rolled back within the window: exact; past it: not.
        assert!(ring.can_truncate(pos - 2) && !ring.can_truncate(5));
        // A full layer stops at the model's context.
        let mut short = DevLayer::new(None, 300);
        short.append(&rows(257, 0), &rows(257, 0)).unwrap();
        assert_eq!(short.cap, 300);
    }
}
