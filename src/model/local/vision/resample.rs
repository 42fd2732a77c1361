//! A recording at another rate brought to the model's 16 kHz exactly as
//! llama.cpp's mtmd brings it (its helper decodes audio with miniaudio's
//! `ma_decoder`, whose default resampler is linear with a fourth-order
//! Butterworth low-pass filter): so a 44.1 or 48 kHz WAV gives the model
//! the same samples, and the same number of soft tokens, in locus and in
//! the reference.
//!
//! What is matched, from miniaudio's source: the rates are reduced by their
//! greatest common divisor; the filter is two biquads (Q = 1 / (2 cos(a)),
//! a = (2i + 1) pi / 8) at half the lower rate, designed in f64, run in f32 in
//! direct form II transposed; when downsampling each input sample is
//! filtered as it is loaded, when upsampling each output sample is filtered
//! after interpolation; the clock starts one input sample in, advances by
//! in/out in whole and fractional (out-denominated) parts, and interpolates
//! `x0 + (x1 - x0) * (frac / out)`. Output stops when the input runs out;
//! the length the decoder reports (and mtmd allocates, zero-filled) is
//! `ma_calculate_frame_count_after_resampling`'s.

use std::f64::consts::PI;

/// One second-order section with its state, f32 as miniaudio runs it.
struct Biquad {
    b0: f32,
    b1: f32,
    b2: f32,
    a1: f32,
    a2: f32,
    r1: f32,
    r2: f32,
}

impl Biquad {
    /// A low-pass section at `cutoff` for `rate` with quality `q`.
    fn low_pass(rate: f64, cutoff: f64, q: f64) -> Biquad {
        let w = 2.0 * PI * cutoff / rate;
        let (s, c) = (w.sin(), w.cos());
        let a = s / (2.0 * q);
        let a0 = 1.0 + a;
        Biquad {
            b0: (((1.0 - c) / 2.0) / a0) as f32,
            b1: ((1.0 - c) / a0) as f32,
            b2: (((1.0 - c) / 2.0) / a0) as f32,
            a1: ((-2.0 * c) / a0) as f32,
            a2: ((1.0 - a) / a0) as f32,
            r1: 0.0,
            r2: 0.0,
        }
    }

    fn run(&mut self, x: f32) -> f32 {
        let y = self.b0 * x + self.r1;
        self.r1 = self.b1 * x - self.a1 * y + self.r2;
        self.r2 = self.b2 * x - self.a2 * y;
        y
    }
}

/// miniaudio's default low-pass filter order for linear resampling.
const ORDER: u32 = 4;

/// The cascade of `ORDER / 2` sections (an even order has no first-order one).
struct LowPass(Vec<Biquad>);

impl LowPass {
    fn new(rate: f64, cutoff: f64) -> LowPass {
        LowPass(
            (0..ORDER / 2)
                .map(|i| {
                    let a = f64::from(1 + i * 2) * (PI / f64::from(ORDER * 2));
                    Biquad::low_pass(rate, cutoff, 1.0 / (2.0 * a.cos()))
                })
                .collect(),
        )
    }

    fn run(&mut self, x: f32) -> f32 {
        self.0.iter_mut().fold(x, |y, s| s.run(y))
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// The frame count miniaudio's decoder reports for `n` input frames at
/// `rate_in` read at `rate_out` (its formula, unreduced rates included).
pub fn length(n: u64, rate_in: u32, rate_out: u32) -> u64 {
    let (rin, rout) = (u64::from(rate_in), u64::from(rate_out));
    if rin == 0 || rout == 0 || n == 0 {
        return 0;
    }
    if rin == rout {
        return n;
    }
    let out = n * rout / rin;
    let from_frac = (out * (rin / rout)) / rout;
    let needed = out * (rin % rout) + from_frac;
    if needed <= n { out + 1 } else { out }
}

/// Mono samples `x` at `rate_in` as miniaudio's decoder gives them at
/// `rate_out`: `length(..)` samples, zero past where the input ran out.
pub fn resample(x: &[f32], rate_in: u32, rate_out: u32) -> Vec<f32> {
    if rate_in == rate_out || x.is_empty() || rate_in == 0 || rate_out == 0 {
        return x.to_vec();
    }
    let want = length(x.len() as u64, rate_in, rate_out) as usize;
    let g = gcd(u64::from(rate_in), u64::from(rate_out));
    let (rin, rout) = (u64::from(rate_in) / g, u64::from(rate_out) / g);
    let mut lpf = LowPass::new(rin.max(rout) as f64, rin.min(rout) as f64 * 0.5);
    let down = rin > rout;
    let (step_int, step_frac) = (rin / rout, rin % rout);
    let (mut t_int, mut t_frac) = (1u64, 0u64);
    let (mut x0, mut x1) = (0f32, 0f32);
    let mut input = x.iter();
    let mut out = Vec::with_capacity(want);
    while out.len() < want {
        while t_int > 0 {
            let Some(&s) = input.next() else { break };
            x0 = x1;
            x1 = if down { lpf.run(s) } else { s };
            t_int -= 1;
        }
        if t_int > 0 {
            break;
        }
        let a = t_frac as f32 / rout as f32;
        let y = x0 + (x1 - x0) * a;
        out.push(if down { y } else { lpf.run(y) });
        t_int += step_int;
        t_frac += step_frac;
        if t_frac >= rout {
            t_frac -= rout;
            t_int += 1;
        }
    }
    out.resize(want, 0.0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_follow_miniaudios_formula() {
        // 48 kHz: a third, plus the one the formula adds when the input
        // covers it; 44.1 kHz and 8 kHz: no extra frame.
        assert_eq!(length(48_000, 48_000, 16_000), 16_001);
        assert_eq!(length(44_100, 44_100, 16_000), 16_000);
        assert_eq!(length(8_000, 8_000, 16_000), 16_000);
        assert_eq!(length(5, 16_000, 16_000), 5);
    }

    #[test]
    fn a_constant_stays_constant_once_the_filter_settles() {
        for rate in [8_000, 22_050, 44_100, 48_000] {
            let y = resample(&vec![0.5; rate as usize], rate, 16_000);
            assert_eq!(y.len() as u64, length(rate.into(), rate, 16_000));
            let settled = &y[y.len() / 2..y.len() - 2];
            assert!(settled.iter().all(|v| (v - 0.5).abs() < 1e-4), "{rate}");
        }
    }

    #[test]
    fn content_above_the_new_nyquist_is_filtered_out() {
        // 7 kHz at 48 kHz passes; 12 kHz (above 8 kHz) is attenuated.
        let tone = |f: f64| -> Vec<f32> {
            (0..48_000)
                .map(|i| (2.0 * PI * f * i as f64 / 48_000.0).sin() as f32)
                .collect()
        };
        let rms = |v: &[f32]| (v.iter().map(|x| x * x).sum::<f32>() / v.len() as f32).sqrt();
        let low = resample(&tone(1_000.0), 48_000, 16_000);
        let high = resample(&tone(12_000.0), 48_000, 16_000);
        assert!(rms(&low[1000..15_000]) > 0.6);
        assert!(rms(&high[1000..15_000]) < 0.1);
    }
}
