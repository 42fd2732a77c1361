//! A `tokenizers::Tokenizer` built from the vocabulary inside a GGUF file, so
//! no tokenizer.json is needed. Gemma 3 files carry a SentencePiece BPE model
//! (tokens + scores): merges are derived from the scores, which reproduces
//! SentencePiece's "merge the best-scoring pair" order. Gemma 4 files carry
//! explicit merges. Both: spaces become `▁`, unknown characters fall back to
//! byte tokens, control tokens are special tokens and user-defined tokens are
//! matched as added tokens, as llama.cpp does.

use std::collections::HashMap;

use tokenizers::decoders::byte_fallback::ByteFallback;
use tokenizers::decoders::fuse::Fuse;
use tokenizers::decoders::sequence::Sequence as DecoderSequence;
use tokenizers::models::bpe::BPE;
use tokenizers::normalizers::replace::Replace;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{AddedToken, SplitDelimiterBehavior, Tokenizer};

use super::LocalError;
use super::gguf::Gguf;

const TYPE_CONTROL: i32 = 3;
const TYPE_USER_DEFINED: i32 = 4;

/// The tokenizer and the ids locus needs from it.
pub struct GgufTokenizer {
    pub inner: Tokenizer,
    /// The same tokenizer with special-token text treated as plain text.
    plain: Tokenizer,
    pub bos: Option<u32>,
    pub eos: Option<u32>,
    pub add_bos: bool,
    /// Tokens that end a turn or the text (from the vocabulary, by name).
    pub stop: Vec<u32>,
    /// The bytes each token stands for in output text.
    bytes: Vec<Vec<u8>>,
}

/// Turns generated tokens into text as they arrive. Byte-fallback tokens may
/// split a character across tokens, and a model may emit byte sequences that
/// are not UTF-8 at all: complete characters are released as soon as they
/// are whole, invalid bytes become U+FFFD, and nothing ever fails.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    pending: Vec<u8>,
}

impl StreamDecoder {
    pub fn push(&mut self, tk: &GgufTokenizer, id: u32) -> String {
        self.pending.extend_from_slice(tk.token_bytes(id));
        let mut out = String::new();
        loop {
            match std::str::from_utf8(&self.pending) {
                Ok(s) => {
                    out.push_str(s);
                    self.pending.clear();
                    return out;
                }
                Err(e) => {
                    let ok = e.valid_up_to();
                    out.push_str(std::str::from_utf8(&self.pending[..ok]).expect("valid prefix"));
                    match e.error_len() {
                        // An incomplete character at the end: wait for more bytes.
                        None => {
                            self.pending.drain(..ok);
                            return out;
                        }
                        Some(bad) => {
                            out.push('\u{FFFD}');
                            self.pending.drain(..ok + bad);
                        }
                    }
                }
            }
        }
    }

    /// Whatever is left at the end of the stream.
    pub fn finish(&mut self) -> String {
        let rest = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        rest
    }
}

fn err(g: &Gguf, message: impl Into<String>) -> LocalError {
    LocalError::Format {
        path: g.path.clone(),
        message: message.into(),
    }
}

impl GgufTokenizer {
    pub fn from_gguf(g: &Gguf) -> Result<GgufTokenizer, LocalError> {
        let model = g.str("tokenizer.ggml.model")?.to_string();
        let tokens: Vec<String> = g
            .array("tokenizer.ggml.tokens")?
            .iter()
            .map(|v| v.to_string().map(|s| s.to_string()))
            .collect::<Result<_, _>>()
            .map_err(|_| err(g, "tokenizer.ggml.tokens is not a list of strings"))?;
        let types: Vec<i32> = match g.get("tokenizer.ggml.token_type") {
            Some(_) => g
                .array("tokenizer.ggml.token_type")?
                .iter()
                .map(|v| v.to_i32().or_else(|_| v.to_u32().map(|x| x as i32)))
                .collect::<Result<_, _>>()
                .map_err(|_| err(g, "tokenizer.ggml.token_type is not a list of integers"))?,
            None => vec![1; tokens.len()],
        };
        let vocab: HashMap<String, u32> = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        let merges: Vec<(String, String)> = match g.get("tokenizer.ggml.merges") {
            Some(_) => g
                .array("tokenizer.ggml.merges")?
                .iter()
                .filter_map(|v| v.to_string().ok())
                .filter_map(|m| {
                    // The separator is the first space after the first character.
                    let split = m
                        .char_indices()
                        .skip(1)
                        .find(|(_, c)| *c == ' ')
                        .map(|(i, _)| i)?;
                    Some((m[..split].to_string(), m[split + 1..].to_string()))
                })
                .collect(),
            None if model == "llama" => {
                let scores: Vec<f32> = g
                    .array("tokenizer.ggml.scores")?
                    .iter()
                    .map(|v| v.to_f32())
                    .collect::<Result<_, _>>()
                    .map_err(|_| err(g, "tokenizer.ggml.scores is not a list of floats"))?;
                merges_from_scores(&tokens, &types, &scores, &vocab)
            }
            None => return Err(err(g, format!("tokenizer model `{model}` has no merges"))),
        };
        if !matches!(model.as_str(), "llama" | "gemma4") {
            return Err(err(
                g,
                format!("tokenizer model `{model}` is not supported (expected llama or gemma4)"),
            ));
        }
        let bpe = BPE::builder()
            .vocab_and_merges(
                vocab
                    .iter()
                    .map(|(k, v)| (k.clone(), *v))
                    .collect::<tokenizers::models::bpe::Vocab>(),
                merges,
            )
            .byte_fallback(true)
            .ignore_merges(model == "gemma4")
            .fuse_unk(true)
            .unk_token(
                tokens
                    .get(g.u64("tokenizer.ggml.unknown_token_id").unwrap_or(3) as usize)
                    .cloned()
                    .unwrap_or_default(),
            )
            .build()
            .map_err(|e| err(g, format!("cannot build the tokenizer: {e}")))?;
        let mut tk = Tokenizer::new(bpe);
        tk.with_normalizer(Some(
            Replace::new(" ", "▁").map_err(|e| err(g, e.to_string()))?,
        ));
        if model == "gemma4" {
            // llama.cpp's gemma4 pre-tokenizer: runs of newlines are words of their own.
            let split = Split::new(
                SplitPattern::Regex("\n+".into()),
                SplitDelimiterBehavior::Isolated,
                false,
            )
            .map_err(|e| err(g, e.to_string()))?;
            tk.with_pre_tokenizer(Some(split));
        }
        tk.with_decoder(Some(DecoderSequence::new(vec![
            Replace::new("▁", " ")
                .map_err(|e| err(g, e.to_string()))?
                .into(),
            ByteFallback::new().into(),
            Fuse::new().into(),
        ])));
        let of_type = |ty: i32, special: bool| -> Vec<AddedToken> {
            tokens
                .iter()
                .zip(&types)
                .filter(|(_, t)| **t == ty)
                .map(|(s, _)| AddedToken::from(s.clone(), special))
                .collect()
        };
        let special = of_type(TYPE_CONTROL, true);
        let user = of_type(TYPE_USER_DEFINED, false);
        tk.add_special_tokens(&special);
        tk.add_tokens(&user);

        let id = |key: &str| g.u64(key).ok().map(|v| v as u32);
        let bos = id("tokenizer.ggml.bos_token_id");
        let eos = id("tokenizer.ggml.eos_token_id");
        let add_bos = g.bool("tokenizer.ggml.add_bos_token").unwrap_or(true);
        let mut stop: Vec<u32> = ["<end_of_turn>", "<turn|>", "<eos>", "<|tool_response>"]
            .iter()
            .filter_map(|s| vocab.get(*s).copied())
            .chain(eos)
            .collect();
        stop.sort_unstable();
        stop.dedup();
        let mut plain = tk.clone();
        plain.set_encode_special_tokens(true);
        let bytes = tokens.iter().map(|t| piece_bytes(t)).collect();
        Ok(GgufTokenizer {
            inner: tk,
            plain,
            bos,
            eos,
            add_bos,
            stop,
            bytes,
        })
    }

    /// Token ids of `text`; special-token text is parsed as special tokens only
    /// when `parse_special` (never for user or file content).
    pub fn encode(&self, text: &str, parse_special: bool) -> Result<Vec<u32>, LocalError> {
        let tk = if parse_special {
            &self.inner
        } else {
            &self.plain
        };
        let enc = tk.encode_fast(text, false);
        Ok(enc
            .map_err(|e| LocalError::Tokenizer(e.to_string()))?
            .get_ids()
            .to_vec())
    }

    pub fn decode(&self, ids: &[u32]) -> Result<String, LocalError> {
        self.inner
            .decode(ids, false)
            .map_err(|e| LocalError::Tokenizer(e.to_string()))
    }

    /// The bytes token `id` adds to the output (empty for an unknown id).
    pub fn token_bytes(&self, id: u32) -> &[u8] {
        self.bytes.get(id as usize).map_or(&[], Vec::as_slice)
    }

    pub fn token_id(&self, text: &str) -> Option<u32> {
        self.inner.token_to_id(text)
    }
}

/// `<0x0A>` is the byte 0x0A; `▁` is a space; anything else is its own text.
fn piece_bytes(piece: &str) -> Vec<u8> {
    if let Some(hex) = piece.strip_prefix("<0x").and_then(|h| h.strip_suffix('>'))
        && hex.len() == 2
        && let Ok(b) = u8::from_str_radix(hex, 16)
    {
        return vec![b];
    }
    piece.replace('▁', " ").into_bytes()
}

/// Merges for a SentencePiece BPE vocabulary: every way of writing a piece as
/// two pieces, ordered by the piece's score (best first), as Hugging Face's
/// SentencePiece converter does.
fn merges_from_scores(
    tokens: &[String],
    types: &[i32],
    scores: &[f32],
    vocab: &HashMap<String, u32>,
) -> Vec<(String, String)> {
    let mut merges: Vec<(f32, u32, u32, String, String)> = Vec::new();
    for (id, piece) in tokens.iter().enumerate() {
        if types.get(id).copied().unwrap_or(1) != 1 || piece.chars().count() < 2 {
            continue;
        }
        let score = scores.get(id).copied().unwrap_or(0.0);
        for (split, _) in piece.char_indices().skip(1) {
            let (l, r) = piece.split_at(split);
            if let (Some(&li), Some(&ri)) = (vocab.get(l), vocab.get(r)) {
                merges.push((score, li, ri, l.to_string(), r.to_string()));
            }
        }
    }
    merges.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    merges.into_iter().map(|(_, _, _, l, r)| (l, r)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn piece_bytes_maps_byte_tokens_and_spaces() {
        assert_eq!(piece_bytes("<0x0A>"), b"\n");
        assert_eq!(piece_bytes("▁the"), b" the");
        assert_eq!(piece_bytes("<start_of_turn>"), b"<start_of_turn>");
    }
}
