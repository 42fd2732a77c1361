//! Counting tokens. Budgets are in the active model's tokens; callers pass a
//! counter: the model's tokenizer when one is loaded, an estimate otherwise.

/// Anything that can say how many tokens a text is.
pub trait TokenCounter: Sync {
    fn count(&self, text: &str) -> usize;
}

/// A cheap, deliberately generous estimate for when no tokenizer is loaded:
/// each run of letters/digits costs one token per 4 bytes (rounded up), every
/// other non-space character costs one, and runs of whitespace cost one.
/// On source code this over-counts SentencePiece/BPE tokenizers slightly,
/// so a budget computed with it is not exceeded by the real tokenizer.
#[derive(Debug, Clone, Copy, Default)]
pub struct EstimateCounter;

impl TokenCounter for EstimateCounter {
    fn count(&self, text: &str) -> usize {
        let mut tokens = 0;
        let mut word = 0usize;
        let mut in_space = false;
        for c in text.chars() {
            if c.is_alphanumeric() || c == '_' {
                word += c.len_utf8();
                in_space = false;
                continue;
            }
            tokens += word.div_ceil(4);
            word = 0;
            if c.is_whitespace() {
                if !in_space {
                    tokens += 1;
                }
                in_space = true;
            } else {
                tokens += 1;
                in_space = false;
            }
        }
        tokens + word.div_ceil(4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_grows_with_text_and_counts_punctuation() {
        let c = EstimateCounter;
        assert_eq!(c.count(""), 0);
        assert_eq!(c.count("abcd"), 1);
        assert_eq!(c.count("abcde"), 2);
        assert_eq!(c.count("fn f(x: u32)"), 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1);
        assert!(c.count(&"word ".repeat(100)) >= 100);
    }
}
