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
        self.penalize(logits, history);
        if self.cfg.temperature <= 0.0 {
            return argmax(logits);
        }
        let keep = self.distribution(logits);
        let total: f32 = self.probs[..keep].iter().sum();
        let r = self.rng.random::<f32>() * total;
        self.pick(keep, r, None)
    }

    /// Decide on a drafted token where `sample` would pick one: `Ok(())`
    /// keeps `draft`, `Err(t)` puts `t` in its place. Greedy: kept when it
    /// is the best. Sampled: the speculative-sampling rule for a draft that
    /// was certain (kept with the probability `sample` gives it, else a
    /// token drawn from the others in proportion), so what comes out is
    /// distributed exactly as `sample`'s choices.
    pub fn accept(&mut self, logits: &mut [f32], history: &[u32], draft: u32) -> Result<(), u32> {
        self.penalize(logits, history);
        if self.cfg.temperature <= 0.0 {
            let best = argmax(logits);
            return if best == draft { Ok(()) } else { Err(best) };
        }
        let keep = self.distribution(logits);
        let total: f32 = self.probs[..keep].iter().sum();
        let p_draft = self.cand[..keep]
            .iter()
            .zip(&self.probs)
            .find(|(c, _)| c.0 == draft)
            .map_or(0.0, |(_, p)| *p);
        if self.rng.random::<f32>() * total < p_draft {
            return Ok(());
        }
        let rest = total - p_draft;
        if rest <= 0.0 {
            return Ok(());
        }
        let r = self.rng.random::<f32>() * rest;
        Err(self.pick(keep, r, Some(draft)))
    }

    /// The repetition penalty on `logits`.
    fn penalize(&mut self, logits: &mut [f32], history: &[u32]) {
        if self.cfg.repeat_penalty == 1.0 {
            return;
        }
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

    /// The candidates (`cand`, most likely first) and their probabilities
    /// (`probs`) after temperature, top-k, min-p and top-p; returns how many
    /// are kept.
    fn distribution(&mut self, logits: &[f32]) -> usize {
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
        keep
    }

    /// The kept candidate where `r` falls in their cumulative mass, `skip`
    /// left out.
    fn pick(&self, keep: usize, mut r: f32, skip: Option<u32>) -> u32 {
        let mut last = None;
        for (c, p) in self.cand[..keep].iter().zip(&self.probs) {
            if Some(c.0) == skip {
                continue;
            }
            if r < *p {
                return c.0;
            }
            r -= p;
            last = Some(c.0);
        }
        last.unwrap_or(self.cand[0].0)
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

    /// Drafts decided by `accept` come out as often as `sample` picks each
    /// token: a chi-square test over a small vocabulary, for a likely draft,
    /// an unlikely one and one outside the kept set.
    #[test]
    fn accepting_drafts_keeps_the_sampling_distribution() {
        let cfg = SamplerConfig {
            temperature: 0.9,
            top_k: 5,
            top_p: 0.97,
            seed: 3,
            ..SamplerConfig::default()
        };
        let logits = [1.2f32, 0.3, 2.0, -0.5, 0.9, -4.0, 1.6];
        let n = 40_000;
        let mut plain = Sampler::new(cfg.clone());
        let mut want = [0usize; 7];
        for _ in 0..n {
            want[plain.sample(&mut logits.clone(), &[]) as usize] += 1;
        }
        for draft in [2u32, 3, 5] {
            let mut s = Sampler::new(SamplerConfig {
                seed: 11,
                ..cfg.clone()
            });
            let mut got = [0usize; 7];
            for _ in 0..n {
                let t = match s.accept(&mut logits.clone(), &[], draft) {
                    Ok(()) => draft,
                    Err(t) => t,
                };
                got[t as usize] += 1;
            }
            let mut chi = 0.0;
            let mut cells = 0;
            for (g, w) in got.iter().zip(&want) {
                if *w == 0 {
                    assert_eq!(
                        *g, 0,
                        "draft {draft}: a token sampling never picks came out"
                    );
                    continue;
                }
                let (g, w) = (*g as f64, *w as f64);
                // Both counts are samples: the variance of their difference is twice.
                chi += (g - w).powi(2) / (2.0 * w);
                cells += 1;
            }
            // 99.9th percentile of chi-square with up to 6 degrees of freedom.
            assert!(
                chi < 22.5,
                "draft {draft}: chi-square {chi:.1} over {cells} cells: {got:?} vs {want:?}"
            );
        }
        let mut g = Sampler::new(SamplerConfig::default());
        assert_eq!(g.accept(&mut logits.clone(), &[], 2), Ok(()));
        assert_eq!(g.accept(&mut logits.clone(), &[], 0), Err(2));
    }
}
