//! Choosing the next token: greedy, or sampled with temperature, top-k,
//! top-p, min-p and a repetition penalty, from a seeded generator so a run
//! can be repeated exactly.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[derive(Debug, Clone, PartialEq)]
pub struct SamplerConfig {
    /// 0 means greedy.
    pub temperature: f32,
    /// 0 means no limit.
    pub top_k: usize,
    pub top_p: f32,
    pub min_p: f32,
    /// 1.0 means none; applied to tokens seen in the last `repeat_last_n`.
    pub repeat_penalty: f32,
    pub repeat_last_n: usize,
    pub seed: u64,
}

impl Default for SamplerConfig {
    fn default() -> Self {
        SamplerConfig {
            temperature: 0.0,
            top_k: 64,
            top_p: 0.95,
            min_p: 0.0,
            repeat_penalty: 1.0,
            repeat_last_n: 64,
            seed: 42,
        }
    }
}

pub struct Sampler {
    cfg: SamplerConfig,
    rng: StdRng,
    /// Buffers kept from token to token (sampling allocates nothing once
    /// they have grown).
    seen: Vec<u32>,
    cand: Vec<(u32, f32)>,
    probs: Vec<f32>,
}

impl Sampler {
    pub fn new(cfg: SamplerConfig) -> Sampler {
        let rng = StdRng::seed_from_u64(cfg.seed);
        Sampler {
            seen: Vec::with_capacity(cfg.repeat_last_n.min(1 << 16)),
            cfg,
            rng,
            cand: Vec::new(),
            probs: Vec::new(),
        }
    }

    /// Pick a token from `logits`, given the tokens so far (for the penalty).
    pub fn sample(&mut self, logits: &mut [f32], history: &[u32]) -> u32 {
        if self.cfg.repeat_penalty != 1.0 {
            let start = history.len().saturating_sub(self.cfg.repeat_last_n);
            let seen = &mut self.seen;
            seen.clear();
            seen.extend_from_slice(&history[start..]);
            seen.sort_unstable();
            seen.dedup();
            for &t in seen.iter() {
                if let Some(l) = logits.get_mut(t as usize) {
                    *l = if *l > 0.0 {
                        *l / self.cfg.repeat_penalty
                    } else {
                        *l * self.cfg.repeat_penalty
                    };
                }
            }
        }
        if self.cfg.temperature <= 0.0 {
            return argmax(logits);
        }
        let cand = &mut self.cand;
        cand.clear();
        cand.extend(logits.iter().enumerate().map(|(i, l)| (i as u32, *l)));
        let k = if self.cfg.top_k == 0 {
            cand.len()
        } else {
            self.cfg.top_k.min(cand.len())
        };
        if k < cand.len() {
            cand.select_nth_unstable_by(k - 1, |a, b| b.1.total_cmp(&a.1));
            cand.truncate(k);
        }
        // Most likely first; ties in token order (no allocation, unlike a
        // stable sort).
        cand.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let max = cand[0].1;
        let probs = &mut self.probs;
        probs.clear();
        probs.extend(
            cand.iter()
                .map(|(_, l)| ((l - max) / self.cfg.temperature).exp()),
        );
        let sum: f32 = probs.iter().sum();
        probs.iter_mut().for_each(|p| *p /= sum);
        // min-p: drop tokens far less likely than the best.
        let floor = probs[0] * self.cfg.min_p;
        let mut keep = probs.iter().take_while(|p| **p >= floor).count().max(1);
        // top-p: the smallest prefix holding top_p of the mass.
        if self.cfg.top_p < 1.0 {
            let mut acc = 0.0;
            for (i, p) in probs.iter().enumerate().take(keep) {
                acc += p;
                if acc >= self.cfg.top_p {
                    keep = i + 1;
                    break;
                }
            }
        }
        let total: f32 = probs[..keep].iter().sum();
        let mut r = self.rng.random::<f32>() * total;
        for (i, p) in probs[..keep].iter().enumerate() {
            if r < *p {
                return cand[i].0;
            }
            r -= p;
        }
        cand[keep - 1].0
    }
}

pub fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (i, l) in logits.iter().enumerate() {
        if *l > logits[best] {
            best = i;
        }
    }
    best as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_takes_the_largest_logit() {
        let mut s = Sampler::new(SamplerConfig::default());
        assert_eq!(s.sample(&mut [0.1, 3.0, -1.0, 2.9], &[]), 1);
    }

    #[test]
    fn same_seed_same_choices_and_top_k_one_is_greedy() {
        let cfg = SamplerConfig {
            temperature: 1.0,
            top_k: 0,
            top_p: 1.0,
            ..SamplerConfig::default()
        };
        let logits: Vec<f32> = (0..50).map(|i| (i % 7) as f32 * 0.3).collect();
        let run = |cfg: SamplerConfig| {
            let mut s = Sampler::new(cfg);
            (0..20)
                .map(|_| s.sample(&mut logits.clone(), &[]))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(cfg.clone()), run(cfg.clone()));
        assert_ne!(
            run(cfg.clone()),
            run(SamplerConfig {
                seed: 7,
                ..cfg.clone()
            })
        );
        let greedy = run(SamplerConfig {
            top_k: 1,
            ..cfg.clone()
        });
        assert!(greedy.iter().all(|t| *t == argmax(&logits)));
    }

    #[test]
    fn min_p_and_top_p_cut_the_tail_and_penalty_demotes_repeats() {
        let cfg = SamplerConfig {
            temperature: 1.0,
            top_k: 0,
            top_p: 1.0,
            min_p: 0.5,
            ..SamplerConfig::default()
        };
        let mut s = Sampler::new(cfg);
        for _ in 0..50 {
            let t = s.sample(&mut [5.0, 4.9, 0.0, -3.0], &[]);
            assert!(t <= 1, "min-p keeps only the two close tokens");
        }
        let mut s = Sampler::new(SamplerConfig {
            repeat_penalty: 10.0,
            ..SamplerConfig::default()
        });
        assert_eq!(s.sample(&mut [2.0, 1.5], &[0]), 1);
    }
}
