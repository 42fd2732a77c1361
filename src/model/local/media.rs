//! Media in a prompt: an image's (or a recording's) rows, computed by its
//! projector, stand in the token sequence as placeholder ids that no
//! vocabulary uses. The ids come from a hash of what was encoded (the
//! file's bytes, the budget, the projector), so the prefix cache, the
//! checkpoints and the snapshots on disk, which all compare token ids,
//! reuse a follow-up's image without encoding or prefilling it again, and
//! never take one image for another.

use std::collections::HashMap;
use std::sync::Arc;

use sha2::{Digest, Sha256};

/// Ids with this bit are media rows (vocabularies stay far below 2^31).
const MEDIA_BIT: u32 = 1 << 31;

/// Whether a prompt id stands for a media row.
pub fn is_media(id: u32) -> bool {
    id & MEDIA_BIT != 0
}

/// What a media span is, for the attention it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    Image,
    Audio,
}

/// One encoded image or recording: `n` rows of the text model's width.
pub struct Media {
    pub kind: MediaKind,
    /// A hash of what was encoded, with how.
    pub key: [u8; 32],
    rows: Vec<f32>,
    pub width: usize,
}

impl std::fmt::Debug for Media {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Media({:?}, {} rows)", self.kind, self.len())
    }
}

/// The key of content `bytes` encoded with `how` (budget, projector).
pub fn key(bytes: &[u8], how: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update((bytes.len() as u64).to_le_bytes());
    h.update(bytes);
    h.update(how.as_bytes());
    h.finalize().into()
}

impl Media {
    /// `rows`: `[n][width]`.
    pub fn new(kind: MediaKind, key: [u8; 32], rows: Vec<f32>, width: usize) -> Media {
        assert!(width > 0 && rows.len().is_multiple_of(width) && !rows.is_empty());
        Media {
            kind,
            key,
            rows,
            width,
        }
    }

    /// Soft tokens (rows).
    pub fn len(&self) -> usize {
        self.rows.len() / self.width
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.rows[i * self.width..(i + 1) * self.width]
    }

    /// The placeholder id of row `i`: 31 bits of a hash of the key and `i`,
    /// so two spans agree id for id only if their keys do.
    pub fn id(&self, i: usize) -> u32 {
        let mut h = Sha256::new();
        h.update(self.key);
        h.update((i as u64).to_le_bytes());
        let d: [u8; 32] = h.finalize().into();
        MEDIA_BIT | (u32::from_le_bytes([d[0], d[1], d[2], d[3]]) & !MEDIA_BIT)
    }

    /// The placeholder ids of all rows, in order.
    pub fn ids(&self) -> Vec<u32> {
        (0..self.len()).map(|i| self.id(i)).collect()
    }
}

/// The media of one prompt, found by placeholder id.
#[derive(Debug, Clone, Default)]
pub struct MediaSet {
    items: Vec<Arc<Media>>,
    /// Placeholder id -> (item, row).
    index: HashMap<u32, (usize, usize)>,
}

impl MediaSet {
    /// Adds `m`; returns its placeholder ids.
    pub fn add(&mut self, m: Arc<Media>) -> Vec<u32> {
        let ids = m.ids();
        let item = self.items.len();
        for (i, id) in ids.iter().enumerate() {
            self.index.entry(*id).or_insert((item, i));
        }
        self.items.push(m);
        ids
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The row a placeholder id stands for.
    pub fn row(&self, id: u32) -> Option<&[f32]> {
        let (item, i) = self.index.get(&id)?;
        Some(self.items[*item].row(*i))
    }

    /// The kind of media a placeholder id belongs to.
    pub fn kind(&self, id: u32) -> Option<MediaKind> {
        let (item, _) = self.index.get(&id)?;
        Some(self.items[*item].kind)
    }

    /// Which item a placeholder id belongs to.
    pub fn item(&self, id: u32) -> Option<usize> {
        self.index.get(&id).map(|(item, _)| *item)
    }
}

/// The spans of `tokens` (positions relative to its start) that hold one
/// image each: runs of placeholder ids of the same item.
pub fn image_spans(tokens: &[u32], media: &MediaSet) -> Vec<std::ops::Range<usize>> {
    let mut spans = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let item = media.item(tokens[i]);
        if item.is_none() || media.kind(tokens[i]) != Some(MediaKind::Image) {
            i += 1;
            continue;
        }
        let start = i;
        while i < tokens.len() && media.item(tokens[i]) == item {
            i += 1;
        }
        spans.push(start..i);
    }
    spans
}

/// `at` moved back to the start of the media span it falls inside, if any
/// (a prompt is cut into chunks, and a cache rolled back, only between
/// spans, since an image's rows attend to each other).
pub fn span_start(tokens: &[u32], mut at: usize) -> usize {
    while at > 0 && at < tokens.len() && is_media(tokens[at]) && is_media(tokens[at - 1]) {
        at -= 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn media(seed: u8, n: usize) -> Arc<Media> {
        Arc::new(Media::new(
            MediaKind::Image,
            key(&[seed], "test"),
            vec![f32::from(seed); n * 2],
            2,
        ))
    }

    #[test]
    fn placeholder_ids_follow_the_content_and_stay_out_of_the_vocabulary() {
        let (a, b) = (media(1, 5), media(2, 5));
        assert_eq!(a.ids(), media(1, 5).ids(), "the same content, the same ids");
        assert!(a.ids().iter().zip(b.ids()).all(|(x, y)| *x != y));
        assert!(a.ids().iter().all(|&id| is_media(id) && id > 1 << 20));
        let mut set = MediaSet::default();
        let ids_a = set.add(a);
        let ids_b = set.add(b);
        assert_eq!(set.row(ids_b[3]), Some(&[2.0, 2.0][..]));
        let mut prompt = vec![7, 8];
        prompt.extend(&ids_a);
        prompt.push(9);
        prompt.extend(&ids_b);
        assert_eq!(image_spans(&prompt, &set), vec![2..7, 8..13]);
        assert_eq!(span_start(&prompt, 5), 2);
        assert_eq!(span_start(&prompt, 2), 2);
        assert_eq!(span_start(&prompt, 7), 7);
        assert_eq!(span_start(&prompt, 1), 1);
    }
}
