//! Prefix snapshots on disk: the cache at the end of a prompt's stable
//! prefix (system prompt, repository map, pinned files), saved once so the
//! next process whose prompt starts with it reads it back instead of
//! computing it again. Keyed by the model file, this runtime's version, the
//! cache's element type and the prefix's tokens; written atomically in the
//! background; the least recently used go first past a size cap. A file
//! that is corrupt, truncated or for something else is never trusted: it is
//! ignored and removed (the next prefill writes a good one).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::thread::JoinHandle;

use half::f16;
use sha2::{Digest, Sha256};

use super::kv::{LayerSnap, Snapshot};

const MAGIC: &[u8; 8] = b"LOCUSKV\0";
/// Bumped whenever the layout or the cache's arithmetic changes.
const FORMAT: u32 = 1;
/// Prefixes shorter than this are quicker to compute than to read.
pub const MIN_TOKENS: usize = 64;

/// Snapshots of one model file in one folder.
pub struct SnapshotStore {
    dir: PathBuf,
    cap: u64,
    /// The model file's identity: path, length, modification time.
    model: String,
    writes: Mutex<Vec<JoinHandle<()>>>,
}

impl SnapshotStore {
    /// Snapshots of the model at `model_path` in `dir`, at most `cap`
    /// bytes of them.
    pub fn new(dir: &Path, cap: u64, model_path: &Path) -> SnapshotStore {
        let meta = std::fs::metadata(model_path).ok();
        let model = format!(
            "{}|{}|{:?}",
            std::fs::canonicalize(model_path)
                .unwrap_or_else(|_| model_path.into())
                .display(),
            meta.as_ref().map_or(0, |m| m.len()),
            meta.and_then(|m| m.modified().ok())
        );
        SnapshotStore {
            dir: dir.into(),
            cap,
            model,
            writes: Mutex::new(Vec::new()),
        }
    }

    fn key(&self, tokens: &[u32]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.model.as_bytes());
        h.update(env!("CARGO_PKG_VERSION").as_bytes());
        h.update(FORMAT.to_le_bytes());
        h.update(b"f16");
        for t in tokens {
            h.update(t.to_le_bytes());
        }
        h.finalize().into()
    }

    fn path(&self, key: &[u8; 32]) -> PathBuf {
        let hex: String = key[..16].iter().map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("{hex}.kv"))
    }

    /// The snapshot of exactly `tokens`, if a good one is saved; `widths`
    /// are the model's per-layer entry widths. A bad file is removed.
    pub fn load(&self, tokens: &[u32], widths: &[usize]) -> Option<Snapshot> {
        let key = self.key(tokens);
        let path = self.path(&key);
        let bytes = std::fs::read(&path).ok()?;
        match decode(&bytes, &key, tokens, widths) {
            Some(s) => {
                // Used now: the last to be evicted.
                let _ = std::fs::File::options()
                    .append(true)
                    .open(&path)
                    .and_then(|f| f.set_modified(std::time::SystemTime::now()));
                Some(s)
            }
            None => {
                tracing::warn!("ignoring a bad prefix snapshot {}", path.display());
                let _ = std::fs::remove_file(&path);
                None
            }
        }
    }

    /// Save `snap` (atomically, streamed: no second copy in memory) and
    /// evict past the cap.
    pub fn save(&self, snap: &Snapshot) -> std::io::Result<()> {
        let key = self.key(&snap.tokens);
        if encoded_len(snap) > self.cap {
            return Ok(());
        }
        std::fs::create_dir_all(&self.dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(&self.dir)?;
        {
            let mut w = std::io::BufWriter::with_capacity(1 << 16, tmp.as_file_mut());
            write_to(&mut w, snap, &key)?;
            w.flush()?;
        }
        tmp.as_file().sync_all()?;
        tmp.persist(self.path(&key)).map_err(|e| e.error)?;
        self.evict()
    }

    /// `save` on a thread of its own (joined when the store goes).
    pub fn save_in_background(self: &std::sync::Arc<Self>, snap: Snapshot) {
        let me = std::sync::Arc::clone(self);
        let h = std::thread::spawn(move || {
            if let Err(e) = me.save(&snap) {
                tracing::warn!("cannot save a prefix snapshot: {e}");
            }
        });
        if let Ok(mut w) = self.writes.lock() {
            w.retain(|h| !h.is_finished());
            w.push(h);
        }
    }

    /// Wait for the saves in flight.
    pub fn flush(&self) {
        let pending = self.writes.lock().map(|mut w| std::mem::take(&mut *w));
        for h in pending.unwrap_or_default() {
            let _ = h.join();
        }
    }

    /// Remove the least recently used snapshots until the rest fit the cap.
    fn evict(&self) -> std::io::Result<()> {
        let mut files: Vec<(std::time::SystemTime, u64, PathBuf)> = std::fs::read_dir(&self.dir)?
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "kv"))
            .filter_map(|e| {
                let m = e.metadata().ok()?;
                Some((m.modified().ok()?, m.len(), e.path()))
            })
            .collect();
        files.sort();
        let mut total: u64 = files.iter().map(|f| f.1).sum();
        for (_, len, path) in files {
            if total <= self.cap {
                break;
            }
            if std::fs::remove_file(&path).is_ok() {
                total -= len;
            }
        }
        Ok(())
    }
}

impl Drop for SnapshotStore {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Bytes `write_to` writes for `s`.
fn encoded_len(s: &Snapshot) -> u64 {
    (8 + 4 + 32 + 4 + 4 * s.tokens.len() + 4 + 16 * s.layers.len() + s.bytes() + 8) as u64
}

/// A writer that hashes what passes through it.
struct Hashing<W> {
    inner: W,
    hash: xxhash_rust::xxh3::Xxh3Default,
}

impl<W: std::io::Write> std::io::Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The file's bytes: header, tokens, layer shapes, keys and values (f16,
/// little-endian), then the xxh3 of everything before it.
fn write_to(w: &mut impl std::io::Write, s: &Snapshot, key: &[u8; 32]) -> std::io::Result<()> {
    let mut h = Hashing {
        inner: w,
        hash: xxhash_rust::xxh3::Xxh3Default::new(),
    };
    h.write_all(MAGIC)?;
    h.write_all(&FORMAT.to_le_bytes())?;
    h.write_all(key)?;
    h.write_all(&(s.tokens.len() as u32).to_le_bytes())?;
    for t in &s.tokens {
        h.write_all(&t.to_le_bytes())?;
    }
    h.write_all(&(s.layers.len() as u32).to_le_bytes())?;
    for l in &s.layers {
        h.write_all(&(l.start as u64).to_le_bytes())?;
        h.write_all(&(l.width as u32).to_le_bytes())?;
        h.write_all(&(l.len() as u32).to_le_bytes())?;
    }
    let mut buf = Vec::with_capacity(1 << 15);
    for l in &s.layers {
        for part in [&l.k, &l.v] {
            for c in part.chunks(1 << 14) {
                buf.clear();
                c.iter()
                    .for_each(|x| buf.extend_from_slice(&x.to_bits().to_le_bytes()));
                h.write_all(&buf)?;
            }
        }
    }
    let sum = h.hash.digest();
    h.inner.write_all(&sum.to_le_bytes())
}

#[cfg(test)]
fn encode(s: &Snapshot, key: &[u8; 32]) -> Vec<u8> {
    let mut b = Vec::new();
    write_to(&mut b, s, key).expect("writing to memory");
    assert_eq!(b.len() as u64, encoded_len(s));
    b
}

/// Reads little-endian fields off the front of a byte slice.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
}

fn decode(bytes: &[u8], key: &[u8; 32], tokens: &[u32], widths: &[usize]) -> Option<Snapshot> {
    let (body, sum) = bytes.split_at_checked(bytes.len().checked_sub(8)?)?;
    if xxhash_rust::xxh3::xxh3_64(body) != u64::from_le_bytes(sum.try_into().ok()?) {
        return None;
    }
    let mut r = Reader(body);
    if r.take(8)? != MAGIC || r.u32()? != FORMAT || r.take(32)? != key {
        return None;
    }
    let n = r.u32()? as usize;
    if n != tokens.len() {
        return None;
    }
    for t in tokens {
        if r.u32()? != *t {
            return None;
        }
    }
    if r.u32()? as usize != widths.len() {
        return None;
    }
    let mut shape = Vec::with_capacity(widths.len());
    for w in widths {
        let (start, width, len) = (r.u64()? as usize, r.u32()? as usize, r.u32()? as usize);
        // Every layer's entries end at the prefix's end, in the model's width.
        if (len > 0 && (width != *w || start + len != n)) || len > n {
            return None;
        }
        shape.push((start, width, len));
    }
    let mut layers = Vec::with_capacity(shape.len());
    for (start, width, len) in shape {
        let mut half = |count: usize| -> Option<Vec<f16>> {
            let raw = r.take(count.checked_mul(2)?)?;
            Some(
                raw.chunks_exact(2)
                    .map(|c| f16::from_bits(u16::from_le_bytes([c[0], c[1]])))
                    .collect(),
            )
        };
        let (k, v) = (half(len * width)?, half(len * width)?);
        layers.push(LayerSnap { start, width, k, v });
    }
    if !r.0.is_empty() {
        return None;
    }
    Some(Snapshot {
        tokens: tokens.to_vec(),
        layers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap() -> Snapshot {
        let layer = |start: usize, len: usize, width: usize| LayerSnap {
            start,
            width,
            k: (0..len * width).map(|i| f16::from_f32(i as f32)).collect(),
            v: (0..len * width)
                .map(|i| f16::from_f32(-(i as f32)))
                .collect(),
        };
        Snapshot {
            tokens: (0..100).collect(),
            layers: vec![layer(0, 100, 4), layer(90, 10, 2)],
        }
    }

    #[test]
    fn a_snapshot_round_trips_and_anything_else_is_refused_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("m.gguf");
        std::fs::write(&model, b"model").unwrap();
        let store = SnapshotStore::new(&dir.path().join("kv"), 1 << 20, &model);
        let s = snap();
        store.save(&s).unwrap();
        assert_eq!(store.load(&s.tokens, &[4, 2]), Some(s.clone()));
        // Another prefix, another model's widths: not this snapshot.
        assert_eq!(store.load(&s.tokens[..99], &[4, 2]), None);
        assert_eq!(store.load(&s.tokens, &[4, 3]), None);
        // A file for the wrong widths is removed, so it is saved again.
        store.save(&s).unwrap();
        let path = store.path(&store.key(&s.tokens));
        // Truncated, then one byte flipped: refused and removed.
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        assert_eq!(store.load(&s.tokens, &[4, 2]), None);
        assert!(!path.exists());
        let mut bad = bytes.clone();
        bad[100] ^= 1;
        std::fs::write(&path, &bad).unwrap();
        assert_eq!(store.load(&s.tokens, &[4, 2]), None);
        assert!(!path.exists());
        // Another model file (same name, new contents): other keys.
        store.save(&s).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&model, b"another model").unwrap();
        let other = SnapshotStore::new(&dir.path().join("kv"), 1 << 20, &model);
        assert_eq!(other.load(&s.tokens, &[4, 2]), None);
    }

    #[test]
    fn the_least_recently_used_go_past_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("m.gguf");
        std::fs::write(&model, b"model").unwrap();
        let one = encode(&snap(), &[0; 32]).len() as u64;
        let store = SnapshotStore::new(&dir.path().join("kv"), one * 2 + one / 2, &model);
        let mut snaps = Vec::new();
        for i in 0..3u32 {
            let mut s = snap();
            s.tokens[0] = 1000 + i;
            store.save(&s).unwrap();
            snaps.push(s);
            std::thread::sleep(std::time::Duration::from_millis(20));
            if i == 1 {
                // The first is used again: the second is the oldest now.
                assert!(store.load(&snaps[0].tokens, &[4, 2]).is_some());
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
        assert!(store.load(&snaps[0].tokens, &[4, 2]).is_some());
        assert!(store.load(&snaps[1].tokens, &[4, 2]).is_none(), "evicted");
        assert!(store.load(&snaps[2].tokens, &[4, 2]).is_some());
    }
}
