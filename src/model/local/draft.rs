//! Drafting for speculative decoding: tokens guessed to come next, which
//! the model then checks all at once (one pass reads the weights once for
//! every guess; see `Gemma::decode_many`). What the model would not have
//! produced is dropped, so drafting changes how fast a reply comes, never
//! what it says — exactly so on the CPU kernels, whose one-token and
//! drafted passes sum alike; the device pass checks a draft as a chunk of
//! another shape, whose last-bit differences can tip a near-tie as another
//! batch size tips llama.cpp's.

use std::fmt;

/// Where drafted tokens come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DraftKind {
    /// No drafting: one token per pass.
    #[default]
    None,
    /// Prompt lookup: the tokens that followed the last n-gram where it
    /// occurred before (in the prompt or the reply so far). An edit's
    /// SEARCH/REPLACE blocks mostly copy the prompt's text.
    Lookup,
    /// A Gemma 4 MTP assistant model paired with the target
    /// (`gemma::mtp`); none when no assistant is loaded.
    Mtp,
}

impl fmt::Display for DraftKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DraftKind::None => "none",
            DraftKind::Lookup => "lookup",
            DraftKind::Mtp => "mtp",
        })
    }
}

/// How a generation drafts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftConfig {
    pub kind: DraftKind,
    /// Tokens drafted per pass at most.
    pub max: usize,
    /// Lookup: the longest and the shortest n-gram matched (longest first).
    pub ngram_max: usize,
    pub ngram_min: usize,
}

/// Drafted tokens per pass by default.
pub const DRAFT_MAX: usize = 8;

impl Default for DraftConfig {
    fn default() -> Self {
        DraftConfig {
            kind: DraftKind::None,
            max: DRAFT_MAX,
            ngram_max: 4,
            ngram_min: 2,
        }
    }
}

impl DraftConfig {
    pub fn lookup() -> DraftConfig {
        DraftConfig {
            kind: DraftKind::Lookup,
            ..DraftConfig::default()
        }
    }

    /// The prompt-lookup drafter this asks for, if it asks for one (an MTP
    /// drafter comes from the model that loaded its assistant).
    pub fn drafter(&self) -> Option<Box<dyn Drafter>> {
        match self.kind {
            DraftKind::Lookup if self.max > 0 => Some(Box::new(Lookup {
                ngram_max: self.ngram_max.max(1),
                ngram_min: self.ngram_min.clamp(1, self.ngram_max.max(1)),
            })),
            _ => None,
        }
    }
}

/// What a drafter may look at.
pub struct DraftInput<'a> {
    /// The prompt and the reply so far; its last token is not in the cache
    /// yet (it runs with the draft).
    pub history: &'a [u32],
    /// The target's cache (positions before the last token), when it is
    /// on the host (the device pass keeps its own).
    pub cache: Option<&'a super::kv::KvCache>,
    /// The target's hidden state (after its final norm) at the position
    /// whose logits chose the last token, when a step left one.
    pub hidden: Option<&'a [f32]>,
}

impl<'a> DraftInput<'a> {
    /// Just the tokens (no model state).
    pub fn tokens(history: &'a [u32]) -> DraftInput<'a> {
        DraftInput {
            history,
            cache: None,
            hidden: None,
        }
    }
}

/// Guesses what comes next.
pub trait Drafter: Send {
    /// Appends to `out` up to `max` tokens guessed to follow the history.
    /// Allocates nothing when `out` has room.
    fn draft(&mut self, input: &DraftInput<'_>, max: usize, out: &mut Vec<u32>);
}

/// Prompt lookup decoding: the most recent earlier occurrence of the last
/// n tokens (n from `ngram_max` down to `ngram_min`), and what followed it.
#[derive(Debug, Clone)]
pub struct Lookup {
    pub ngram_max: usize,
    pub ngram_min: usize,
}

impl Drafter for Lookup {
    fn draft(&mut self, input: &DraftInput<'_>, max: usize, out: &mut Vec<u32>) {
        let history = input.history;
        let len = history.len();
        for n in (self.ngram_min..=self.ngram_max).rev() {
            if n >= len || max == 0 {
                continue;
            }
            let key = &history[len - n..];
            // Starts of earlier occurrences, the most recent first; the
            // occurrence must be followed by at least one token.
            if let Some(j) = (0..len - n).rev().find(|&j| &history[j..j + n] == key) {
                let from = j + n;
                let to = (from + max).min(len);
                out.extend_from_slice(&history[from..to]);
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(h: &[u32], max: usize) -> Vec<u32> {
        let mut out = Vec::new();
        DraftConfig::lookup()
            .drafter()
            .unwrap()
            .draft(&DraftInput::tokens(h), max, &mut out);
        out
    }

    #[test]
    fn lookup_continues_the_latest_match_of_the_longest_ngram() {
        // "1 2 3 4 5 6 ... 1 2 3" drafts "4 5 6".
        assert_eq!(draft(&[1, 2, 3, 4, 5, 6, 9, 1, 2, 3], 3), [4, 5, 6]);
        // The most recent occurrence wins.
        assert_eq!(draft(&[7, 8, 1, 7, 8, 2, 7, 8], 1), [2]);
        // The longest n-gram first: "5 7 8" is matched where it occurred,
        // not the later "7 8".
        assert_eq!(draft(&[5, 7, 8, 1, 1, 7, 8, 2, 5, 7, 8], 2), [1, 1]);
        // A draft stops at the end of the history.
        assert_eq!(draft(&[4, 5, 4, 5], 8), [4, 5]);
        // No bigram seen before: nothing (unigrams are too weak a guess).
        assert!(draft(&[1, 2, 3, 4], 4).is_empty());
        assert!(draft(&[], 4).is_empty());
        assert!(draft(&[1, 2, 1, 2], 0).is_empty());
    }
}
