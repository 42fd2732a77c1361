//! Per-layer key/value cache, stored in f16 (llama.cpp's default: half the
//! memory of f32, and what a long conversation's attention reads per token).
//! Entries are position-major (`[position][kv head][head dim]`) in a ring:
//! appending writes after the newest entry and dropping the oldest moves
//! nothing. Full-attention layers grow with use (never preallocated to the
//! model's whole context); sliding-window layers keep the window plus some
//! slack (so a rollback for the prefix cache can usually be served without
//! recomputation), and their ring stops growing at that plus one chunk.

use std::ops::Range;

use half::f16;
use half::slice::HalfFloatSliceExt;

/// Entries kept beyond the window on sliding layers, for prefix-cache rollback.
pub const SLIDING_SLACK: usize = 1024;
/// Bytes per cached key or value element.
pub const KV_ELEM_BYTES: usize = 2;

/// Whether a layer holding positions `start..end` (sliding: `window`) can
/// be cut back to `..pos` exactly as a fresh computation would need it.
pub fn cut_back_exactly(start: usize, end: usize, window: Option<usize>, pos: usize) -> bool {
    if pos > end {
        return false;
    }
    let needed_from = match window {
        Some(w) => pos.saturating_sub(w.saturating_sub(1)),
        None => 0,
    };
    start <= needed_from || pos == 0
}

/// Where a layer holding positions `start..end` (sliding: `window`) must
/// begin the entries resuming at `p` needs, if it holds them all.
pub fn resume_from(start: usize, end: usize, window: Option<usize>, p: usize) -> Option<usize> {
    if p > end {
        return None;
    }
    let from = match window {
        Some(w) => p.saturating_sub(w.saturating_sub(1)),
        None => 0,
    };
    if p > 0 && from < start {
        return None;
    }
    Some(from.max(start).min(p))
}

#[derive(Debug, Clone)]
pub struct LayerCache {
    /// `cap` rows of `width` elements each.
    k: Vec<f16>,
    v: Vec<f16>,
    /// Elements per position (kv heads × head dim); 0 until the first append.
    width: usize,
    /// Rows the buffers hold.
    cap: usize,
    /// Row of the oldest entry.
    head: usize,
    /// Absolute position of the oldest entry.
    start: usize,
    len: usize,
    /// `Some(window)` for sliding layers.
    window: Option<usize>,
}

impl LayerCache {
    pub fn new(window: Option<usize>) -> LayerCache {
        LayerCache {
            k: Vec::new(),
            v: Vec::new(),
            width: 0,
            cap: 0,
            head: 0,
            start: 0,
            len: 0,
            window,
        }
    }

    /// Absolute position after the last cached entry.
    pub fn end(&self) -> usize {
        self.start + self.len
    }

    pub fn start(&self) -> usize {
        self.start
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn clear(&mut self) {
        self.start = 0;
        self.len = 0;
        self.head = 0;
    }

    /// Whether the cache can be cut back to hold positions `..pos` exactly as a
    /// fresh computation would need them.
    pub fn can_truncate(&self, pos: usize) -> bool {
        cut_back_exactly(self.start, self.end(), self.window, pos)
    }

    pub fn truncate(&mut self, pos: usize) {
        if pos == 0 {
            self.clear();
        } else {
            self.len = pos - self.start;
        }
    }

    /// Buffer row of entry `i` (0 = oldest).
    fn row(&self, i: usize) -> usize {
        let r = self.head + i;
        if r >= self.cap { r - self.cap } else { r }
    }

    /// Buffer rows of entries `from..len`, as at most two runs.
    pub fn runs(&self, from: usize) -> [Range<usize>; 2] {
        assert!(from <= self.len);
        let (a, n) = (self.row(from), self.len - from);
        if a + n <= self.cap {
            [a..a + n, 0..0]
        } else {
            [a..self.cap, 0..a + n - self.cap]
        }
    }

    /// The key of entry `i`: `[kv heads][head dim]`.
    pub fn key(&self, i: usize) -> &[f16] {
        debug_assert!(i < self.len);
        let r = self.row(i);
        &self.k[r * self.width..(r + 1) * self.width]
    }

    /// The value of entry `i`.
    pub fn value(&self, i: usize) -> &[f16] {
        debug_assert!(i < self.len);
        let r = self.row(i);
        &self.v[r * self.width..(r + 1) * self.width]
    }

    /// The key buffer (rows as `runs` names them).
    pub fn key_rows(&self) -> &[f16] {
        &self.k
    }

    /// The value buffer (rows as `runs` names them).
    pub fn value_rows(&self) -> &[f16] {
        &self.v
    }

    /// Re-lays the entries out from row 0 in buffers of `cap` rows.
    fn regrow(&mut self, cap: usize) {
        let w = self.width;
        let mut k = vec![f16::ZERO; cap * w];
        let mut v = vec![f16::ZERO; cap * w];
        let mut at = 0;
        for r in self.runs(0) {
            let n = r.len() * w;
            k[at..at + n].copy_from_slice(&self.k[r.start * w..r.end * w]);
            v[at..at + n].copy_from_slice(&self.v[r.start * w..r.end * w]);
            at += n;
        }
        (self.k, self.v, self.cap, self.head) = (k, v, cap, 0);
    }

    /// Append `l` positions of keys and values, each `[l][kv heads][head dim]`
    /// in f32, `width` = kv heads × head dim.
    pub fn append(&mut self, k: &[f32], v: &[f32], width: usize) {
        assert!(width > 0 && k.len() == v.len() && k.len().is_multiple_of(width));
        if self.width != width {
            assert!(self.len == 0, "the width of a layer's cache cannot change");
            (self.width, self.cap, self.head) = (width, 0, 0);
            self.k.clear();
            self.v.clear();
        }
        let l = k.len() / width;
        if let Some(w) = self.window {
            // Keep what the first new query can still see, plus the slack.
            let keep = w.saturating_sub(1) + SLIDING_SLACK;
            if self.len > keep {
                let drop = self.len - keep;
                self.head = self.row(drop);
                self.start += drop;
                self.len = keep;
            }
        }
        if self.len + l > self.cap {
            // Grow by a quarter at least: amortized appends, and never more
            // than a quarter held beyond the data.
            let cap = (self.len + l).max(self.cap + self.cap / 4).max(256);
            self.regrow(cap);
        }
        let from = self.len;
        self.len += l;
        let mut at = 0;
        for r in self.runs(from) {
            let (a, b) = (r.start * width, r.end * width);
            self.k[a..b].convert_from_f32_slice(&k[at..at + b - a]);
            self.v[a..b].convert_from_f32_slice(&v[at..at + b - a]);
            at += b - a;
        }
    }

    /// Bytes held by this layer's buffers.
    pub fn bytes(&self) -> usize {
        (self.k.len() + self.v.len()) * KV_ELEM_BYTES
    }

    /// Room for `more` positions appended up to `batch` at a time without
    /// growing (a sliding layer needs no more than its window, slack and
    /// one batch). Only once the layer has had its first append (its width
    /// is known then).
    pub fn reserve(&mut self, more: usize, batch: usize) {
        if self.width == 0 {
            return;
        }
        let mut rows = self.len + more;
        if let Some(w) = self.window {
            rows = rows.min(w.saturating_sub(1) + SLIDING_SLACK + batch.max(1));
        }
        if rows > self.cap {
            self.regrow(rows);
        }
    }
}

/// A layer's entries for positions `start..` up to a prefix's end: what a
/// prompt continuing that prefix needs from the layer.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerSnap {
    pub start: usize,
    /// Elements per position (0 when there are none).
    pub width: usize,
    pub k: Vec<f16>,
    pub v: Vec<f16>,
}

impl LayerSnap {
    pub fn len(&self) -> usize {
        self.k.len().checked_div(self.width).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl LayerCache {
    /// The entries a continuation at position `p` needs (every one on a
    /// full layer, the window before `p` on a sliding one), if all are held.
    pub fn snap(&self, p: usize) -> Option<LayerSnap> {
        let from = resume_from(self.start, self.end(), self.window, p)?;
        let n = (p - from) * self.width;
        let (mut k, mut v) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for i in from - self.start..p - self.start {
            k.extend_from_slice(self.key(i));
            v.extend_from_slice(self.value(i));
        }
        Some(LayerSnap {
            start: from,
            width: self.width,
            k,
            v,
        })
    }

    /// Holds exactly the entries of `s` (the cache as it was at the
    /// snapshot's prefix end).
    pub fn restore(&mut self, s: &LayerSnap) {
        let n = s.len();
        self.k.clone_from(&s.k);
        self.v.clone_from(&s.v);
        (self.width, self.cap, self.head) = (s.width, n, 0);
        (self.start, self.len) = (s.start, n);
    }
}

/// The cache at the end of a prompt's prefix: restoring it resumes a
/// prompt that starts with `tokens` without computing them again.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub tokens: Vec<u32>,
    pub layers: Vec<LayerSnap>,
}

impl Snapshot {
    pub fn bytes(&self) -> usize {
        self.layers
            .iter()
            .map(|l| (l.k.len() + l.v.len()) * KV_ELEM_BYTES)
            .sum()
    }
}

/// The whole model's cache and the tokens it holds.
#[derive(Debug, Clone)]
pub struct KvCache {
    pub layers: Vec<LayerCache>,
    /// Tokens whose keys/values are in the cache, from position 0.
    pub tokens: Vec<u32>,
}

impl KvCache {
    pub fn new(windows: impl IntoIterator<Item = Option<usize>>) -> KvCache {
        KvCache {
            layers: windows.into_iter().map(LayerCache::new).collect(),
            tokens: Vec::new(),
        }
    }

    /// Cut the cache back to the first `n` tokens if every layer can be; otherwise
    /// clear it. Returns the number of tokens kept.
    pub fn rollback(&mut self, n: usize) -> usize {
        let n = n.min(self.tokens.len());
        if self.layers.iter().all(|l| l.can_truncate(n)) {
            self.layers.iter_mut().for_each(|l| l.truncate(n));
            self.tokens.truncate(n);
            n
        } else {
            self.layers.iter_mut().for_each(LayerCache::clear);
            self.tokens.clear();
            0
        }
    }

    pub fn bytes(&self) -> usize {
        self.layers.iter().map(LayerCache::bytes).sum()
    }

    /// What resuming at the first `p` tokens needs, if the cache still
    /// holds it (a sliding layer may have dropped the window before `p`).
    pub fn snapshot(&self, p: usize) -> Option<Snapshot> {
        if p > self.tokens.len() {
            return None;
        }
        Some(Snapshot {
            tokens: self.tokens[..p].to_vec(),
            layers: self
                .layers
                .iter()
                .map(|l| l.snap(p))
                .collect::<Option<_>>()?,
        })
    }

    /// The cache as it was at the snapshot's end (its layers must be this
    /// model's).
    pub fn restore(&mut self, s: &Snapshot) {
        assert_eq!(
            s.layers.len(),
            self.layers.len(),
            "a snapshot of this model"
        );
        for (l, snap) in self.layers.iter_mut().zip(&s.layers) {
            l.restore(snap);
        }
        self.tokens.clone_from(&s.tokens);
    }

    /// Room for `more` decoded tokens, run up to `batch` at a time (a
    /// drafted run and the token before it), without growing any buffer.
    pub fn reserve(&mut self, more: usize, batch: usize) {
        self.layers.iter_mut().for_each(|l| l.reserve(more, batch));
        self.tokens.reserve(more);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every entry of the cache, oldest first, as (key, value) f32 rows.
    fn entries(c: &LayerCache) -> Vec<(Vec<f32>, Vec<f32>)> {
        (0..c.len())
            .map(|i| {
                let f = |r: &[f16]| r.iter().map(|x| x.to_f32()).collect();
                (f(c.key(i)), f(c.value(i)))
            })
            .collect()
    }

    #[test]
    fn sliding_layer_is_a_ring_that_keeps_the_window_and_stops_growing() {
        let w = 4;
        let mut c = LayerCache::new(Some(w));
        let mut cap_seen = 0;
        let total = w + SLIDING_SLACK + 3000;
        let mut i = 0;
        while i < total {
            // Chunks of 1 to 7 positions, so writes wrap at every offset.
            let l = 1 + i % 7;
            // Positions modulo 1024: exact in f16.
            let f = |p: usize| (p % 1024) as f32;
            let k: Vec<f32> = (i..i + l).flat_map(|p| [f(p), -f(p)]).collect();
            let v: Vec<f32> = k.iter().map(|x| x * 0.5).collect();
            c.append(&k, &v, 2);
            i += l;
            assert_eq!(c.end(), i);
            assert!(c.len() >= w.min(i), "the window is always there");
            for (j, (k, v)) in entries(&c).into_iter().enumerate() {
                let pos = f(c.start() + j);
                assert_eq!(k, [pos, -pos]);
                assert_eq!(v, [pos * 0.5, -pos * 0.5]);
            }
            cap_seen = cap_seen.max(c.cap);
        }
        assert!(c.start() > 0, "old entries were dropped");
        assert!(
            c.len() <= w - 1 + SLIDING_SLACK + 7,
            "the window, the slack, one chunk"
        );
        assert!(
            cap_seen <= (w + SLIDING_SLACK + 7) * 5 / 4,
            "the ring stops growing: {cap_seen} rows"
        );
        let [a, b] = c.runs(0);
        assert_eq!(a.len() + b.len(), c.len());
    }

    #[test]
    fn rollback_keeps_a_prefix_or_clears() {
        let mut kv = KvCache::new([None, Some(8)]);
        for i in 0..20 {
            for l in &mut kv.layers {
                l.append(&[i as f32], &[i as f32], 1);
            }
            kv.tokens.push(i);
        }
        assert_eq!(kv.rollback(12), 12);
        assert_eq!(kv.layers[0].len(), 12);
        let last = &kv.layers[1];
        assert_eq!(last.value(last.len() - 1)[0].to_f32(), 11.0);
        assert_eq!(kv.rollback(0), 0);
        assert!(kv.layers.iter().all(LayerCache::is_empty));
    }
}
