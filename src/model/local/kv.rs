//! Per-layer key/value cache, stored in f16 (llama.cpp's default: half the
//! memory of f32, and what a long conversation's attention reads per token).
//! Entries are token-major (`[position][kv head][head dim]`), so appending a
//! chunk is a copy to the end and nothing is re-laid out as the cache grows.
//! Full-attention layers grow with use (never preallocated to the model's
//! whole context); sliding-window layers keep only the window plus some
//! slack, so a rollback for the prefix cache can usually be served without
//! recomputation.

use half::f16;
use half::slice::HalfFloatSliceExt;

/// Entries kept beyond the window on sliding layers, for prefix-cache rollback.
pub const SLIDING_SLACK: usize = 1024;
/// Bytes per cached key or value element.
pub const KV_ELEM_BYTES: usize = 2;
/// Sliding layers drop old entries in steps of at least this many, so the
/// move of what is kept is paid rarely.
const DROP_STEP: usize = 256;

#[derive(Debug, Clone)]
pub struct LayerCache {
    k: Vec<f16>,
    v: Vec<f16>,
    /// Elements per position (kv heads × head dim); 0 until the first append.
    width: usize,
    /// Absolute position of entry 0.
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
        self.k.clear();
        self.v.clear();
    }

    /// Whether the cache can be cut back to hold positions `..pos` exactly as a
    /// fresh computation would need them.
    pub fn can_truncate(&self, pos: usize) -> bool {
        if pos > self.end() {
            return false;
        }
        let needed_from = match self.window {
            Some(w) => pos.saturating_sub(w.saturating_sub(1)),
            None => 0,
        };
        self.start <= needed_from || pos == 0
    }

    pub fn truncate(&mut self, pos: usize) {
        if pos == 0 {
            self.clear();
        } else {
            self.len = pos - self.start;
            self.k.truncate(self.len * self.width);
            self.v.truncate(self.len * self.width);
        }
    }

    /// Append `l` positions of keys and values, each `[l][kv heads][head dim]`
    /// in f32, `width` = kv heads × head dim.
    pub fn append(&mut self, k: &[f32], v: &[f32], width: usize) {
        assert!(width > 0 && k.len() == v.len() && k.len().is_multiple_of(width));
        if self.width != width {
            assert!(self.len == 0, "the width of a layer's cache cannot change");
            self.width = width;
        }
        let l = k.len() / width;
        if let Some(w) = self.window {
            // Keep what the first new query can still see, plus the slack.
            let keep = w.saturating_sub(1) + SLIDING_SLACK;
            if self.len > keep + DROP_STEP {
                let drop = self.len - keep;
                self.k.drain(..drop * width);
                self.v.drain(..drop * width);
                self.start += drop;
                self.len = keep;
            }
        }
        let at = self.k.len();
        let need = at + k.len();
        if self.k.capacity() < need {
            // Grow by a quarter at least: amortized appends, and never more
            // than a quarter held beyond the data.
            let cap = need
                .max(self.k.capacity() + self.k.capacity() / 4)
                .max(256 * width);
            self.k.reserve_exact(cap - at);
            self.v.reserve_exact(cap - at);
        }
        self.k.resize(at + k.len(), f16::ZERO);
        self.v.resize(at + v.len(), f16::ZERO);
        self.k[at..].convert_from_f32_slice(k);
        self.v[at..].convert_from_f32_slice(v);
        self.len += l;
    }

    /// Keys of the cached positions, `[len][kv heads][head dim]`.
    pub fn keys(&self) -> &[f16] {
        &self.k
    }

    /// Values of the cached positions, `[len][kv heads][head dim]`.
    pub fn values(&self) -> &[f16] {
        &self.v
    }

    /// Bytes held by this layer's buffers.
    pub fn bytes(&self) -> usize {
        (self.k.capacity() + self.v.capacity()) * KV_ELEM_BYTES
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliding_layer_drops_old_entries_past_the_slack_and_keeps_the_window() {
        let w = 4;
        let mut c = LayerCache::new(Some(w));
        let total = w + SLIDING_SLACK + 3 * DROP_STEP;
        for i in 0..total {
            let x = [i as f32, -(i as f32)];
            c.append(&x, &x, 2);
            assert_eq!(c.end(), i + 1);
            assert!(c.len() >= w.min(i + 1), "the window is always there");
            let keys = c.keys();
            assert_eq!(keys.len(), c.len() * 2);
            for (j, pair) in keys.chunks(2).enumerate() {
                let pos = (c.start() + j) as f32;
                assert_eq!([pair[0].to_f32(), pair[1].to_f32()], [pos, -pos]);
            }
        }
        assert!(c.start() > 0, "old entries were dropped");
        assert!(c.len() <= w - 1 + SLIDING_SLACK + DROP_STEP + 1);
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
        assert_eq!(kv.layers[0].keys().len(), 12);
        assert_eq!(kv.layers[1].values().last().unwrap().to_f32(), 11.0);
        assert_eq!(kv.rollback(0), 0);
        assert!(kv.layers.iter().all(LayerCache::is_empty));
    }
}
