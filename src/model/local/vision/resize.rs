//! Pillow's bicubic resampling on 8-bit RGB, to the bit: separable passes
//! (horizontal, then vertical) with each output pixel's filter weights
//! normalized, rounded to 22-bit fixed point and summed in integers, as
//! Pillow's `Resample.c` computes them and llama.cpp's mtmd ports it (the
//! reference the projector's inputs are checked against; a float resampler
//! differs by a level here and there, which moves every patch it touches).

/// Fractional bits of the fixed-point weights.
const PRECISION_BITS: u32 = 32 - 8 - 2;

/// Pillow's bicubic kernel (a = -0.5).
fn bicubic(x: f64) -> f64 {
    const A: f64 = -0.5;
    let x = x.abs();
    if x < 1.0 {
        ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        (((x - 5.0) * x + 8.0) * x - 4.0) * A
    } else {
        0.0
    }
}

/// One axis's filters: for each output pixel, the first input pixel, how
/// many it reads, and `ksize` fixed-point weights.
struct Filters {
    ksize: usize,
    bounds: Vec<(usize, usize)>,
    weights: Vec<i32>,
}

fn filters(in_size: usize, out_size: usize) -> Filters {
    const SUPPORT: f64 = 2.0;
    let scale = in_size as f64 / out_size as f64;
    let filterscale = scale.max(1.0);
    let support = SUPPORT * filterscale;
    let ksize = support.ceil() as usize * 2 + 1;
    let mut bounds = Vec::with_capacity(out_size);
    let mut weights = vec![0i32; out_size * ksize];
    let mut pre = vec![0f64; ksize];
    let fixed = f64::from(1u32 << PRECISION_BITS);
    for (xx, row) in weights.chunks_exact_mut(ksize).enumerate() {
        let center = (xx as f64 + 0.5) * scale;
        let ss = 1.0 / filterscale;
        // Truncation toward zero, as the C casts do (center - support + 0.5
        // can be negative).
        let xmin = ((center - support + 0.5) as i64).max(0) as usize;
        let xmax = ((center + support + 0.5) as i64).min(in_size as i64) as usize;
        let n = xmax - xmin;
        let mut ww = 0.0;
        for (x, p) in pre.iter_mut().enumerate().take(n) {
            *p = bicubic((x as f64 + xmin as f64 - center + 0.5) * ss);
            ww += *p;
        }
        for (x, w) in row.iter_mut().enumerate() {
            let mut p = if x < n { pre[x] } else { 0.0 };
            if x < n && ww != 0.0 {
                p /= ww;
            }
            // Pillow adds ±0.5 and truncates toward zero.
            *w = (p * fixed + if p < 0.0 { -0.5 } else { 0.5 }) as i32;
        }
        bounds.push((xmin, n));
    }
    Filters {
        ksize,
        bounds,
        weights,
    }
}

fn clip8(v: i32) -> u8 {
    (v >> PRECISION_BITS).clamp(0, 255) as u8
}

fn horizontal(src: &[u8], in_w: usize, h: usize, out_w: usize, f: &Filters) -> Vec<u8> {
    let mut out = vec![0u8; out_w * h * 3];
    for (src_row, dst_row) in src
        .chunks_exact(in_w * 3)
        .zip(out.chunks_exact_mut(out_w * 3))
    {
        for (xx, px) in dst_row.chunks_exact_mut(3).enumerate() {
            let (xmin, n) = f.bounds[xx];
            let k = &f.weights[xx * f.ksize..][..n];
            let mut ss = [1i32 << (PRECISION_BITS - 1); 3];
            for (p, &w) in src_row[xmin * 3..][..n * 3].chunks_exact(3).zip(k) {
                for c in 0..3 {
                    ss[c] = ss[c].wrapping_add(i32::from(p[c]).wrapping_mul(w));
                }
            }
            for c in 0..3 {
                px[c] = clip8(ss[c]);
            }
        }
    }
    out
}

fn vertical(src: &[u8], w: usize, out_h: usize, f: &Filters) -> Vec<u8> {
    let row = w * 3;
    let mut out = vec![0u8; row * out_h];
    let mut acc = vec![0i32; row];
    for (yy, dst_row) in out.chunks_exact_mut(row).enumerate() {
        let (ymin, n) = f.bounds[yy];
        acc.fill(1 << (PRECISION_BITS - 1));
        for (y, &k) in f.weights[yy * f.ksize..][..n].iter().enumerate() {
            let src_row = &src[(ymin + y) * row..][..row];
            for (a, &s) in acc.iter_mut().zip(src_row) {
                *a = a.wrapping_add(i32::from(s).wrapping_mul(k));
            }
        }
        for (d, &a) in dst_row.iter_mut().zip(&acc) {
            *d = clip8(a);
        }
    }
    out
}

/// `rgb` (`w` x `h`, 3 bytes a pixel, rows top to bottom) resampled to
/// `out_w` x `out_h`.
pub fn bicubic_rgb(rgb: &[u8], w: usize, h: usize, out_w: usize, out_h: usize) -> Vec<u8> {
    assert_eq!(rgb.len(), w * h * 3, "an RGB image of {w} x {h}");
    assert!(out_w > 0 && out_h > 0, "a target of at least one pixel");
    let wide = if out_w != w {
        horizontal(rgb, w, h, out_w, &filters(w, out_w))
    } else {
        rgb.to_vec()
    };
    if out_h != h {
        vertical(&wide, out_w, out_h, &filters(h, out_h))
    } else {
        wide
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_of_each_output_pixel_sum_to_one_in_fixed_point() {
        for (a, b) in [(37, 132), (132, 37), (5, 5), (1, 7), (640, 48)] {
            let f = filters(a, b);
            for xx in 0..b {
                let s: i64 = f.weights[xx * f.ksize..][..f.ksize]
                    .iter()
                    .map(|&w| i64::from(w))
                    .sum();
                assert!(
                    (s - (1 << PRECISION_BITS)).abs() <= f.ksize as i64,
                    "{a}->{b} px {xx}: {s}"
                );
            }
        }
    }

    #[test]
    fn a_flat_image_stays_flat_and_same_size_is_a_copy() {
        let flat = vec![77u8; 9 * 4 * 3];
        assert!(bicubic_rgb(&flat, 9, 4, 31, 17).iter().all(|&v| v == 77));
        assert!(bicubic_rgb(&flat, 9, 4, 3, 2).iter().all(|&v| v == 77));
        let noisy: Vec<u8> = (0..9 * 4 * 3).map(|i| (i * 37 % 251) as u8).collect();
        assert_eq!(bicubic_rgb(&noisy, 9, 4, 9, 4), noisy);
    }
}
