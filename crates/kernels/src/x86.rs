//! x86-64 kernels: the dot products of `scalar` with AVX2 (+FMA, F16C),
//! and the same code again with the AVX-VNNI or AVX-512 VNNI instruction
//! for the u8×i8 sums where the CPU has one (`vpdpbusd` does in one step
//! what `vpmaddubsw` + `vpmaddwd` do in two). Chosen at run time.
//!
//! Every kernel is `unsafe`: the caller checks the CPU features (`isa()`)
//! and that `w` holds whole blocks matching the activations.

#[macro_use]
mod panel;
mod panel16;
#[macro_use]
mod q23k;

/// The kernels for one set of target features; `$dot_acc` adds u8×i8
/// products, four at a time, to i32 lanes.
macro_rules! x86_kernels {
    ($feat:tt, $isa:expr, |$acc:ident, $u:ident, $s:ident| $dot_acc:block, $panel_takes:path, $panel16:expr) => {
        use std::arch::x86_64::*;

        use crate::act::{A32, A256};
        use crate::blocks::{IQ4NL_VALUES, iq4xs_scale};
        use crate::scalar::scales_mins_k4;
        use crate::{F_IQ4NL, F_Q4_0, F_Q4_1, F_Q5_1};
        use crate::unpack::{Panel, Row};
        use crate::{Isa, Table};

        /// `Σ u[i] * s[i]` over each four bytes (u unsigned, s signed), as i32 lanes.
        #[inline]
        #[target_feature(enable = $feat)]
        fn dot_u8i8(u: __m256i, s: __m256i) -> __m256i {
            dot_acc(_mm256_setzero_si256(), u, s)
        }

        /// `acc` plus `dot_u8i8(u, s)` (one instruction with VNNI).
        #[inline]
        #[target_feature(enable = $feat)]
        fn dot_acc($acc: __m256i, $u: __m256i, $s: __m256i) -> __m256i $dot_acc

        /// The f16 at byte `i` of `b`, converted by the CPU (broadcast first:
        /// see `scale_times`).
        #[inline]
        #[target_feature(enable = $feat)]
        fn f16_at(b: &[u8], i: usize) -> f32 {
            let bits = i16::from_le_bytes([b[i], b[i + 1]]);
            _mm_cvtss_f32(_mm_cvtph_ps(_mm_set1_epi16(bits)))
        }

        /// `f16_at(b, i) * y` in every lane. The scale is broadcast as an f16
        /// and converted in the vector unit: a scalar conversion compiled to
        /// an insert into a live register, which chained each block's scale
        /// to the previous block's sums (measured: half the decode speed).
        #[inline]
        #[target_feature(enable = $feat)]
        fn scale_times(b: &[u8], i: usize, y: f32) -> __m256 {
            let bits = i16::from_le_bytes([b[i], b[i + 1]]);
            _mm256_mul_ps(_mm256_cvtph_ps(_mm_set1_epi16(bits)), _mm256_set1_ps(y))
        }

        #[inline]
        #[target_feature(enable = $feat)]
        fn hsum_ps(v: __m256) -> f32 {
            let lo = _mm256_castps256_ps128(v);
            let hi = _mm256_extractf128_ps(v, 1);
            let s = _mm_add_ps(lo, hi);
            let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
            let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
            _mm_cvtss_f32(s)
        }

        #[inline]
        #[target_feature(enable = $feat)]
        fn load(p: &[u8]) -> __m256i {
            assert!(p.len() >= 32);
            // SAFETY: 32 readable bytes checked above; unaligned load.
            unsafe { _mm256_loadu_si256(p.as_ptr().cast()) }
        }

        #[inline]
        #[target_feature(enable = $feat)]
        fn load_i8(p: &[i8]) -> __m256i {
            assert!(p.len() >= 32);
            // SAFETY: as `load`.
            unsafe { _mm256_loadu_si256(p.as_ptr().cast()) }
        }

        /// Q4_K (`HIGH = false`) and Q5_K (`HIGH = true`, a fifth bit per value
        /// from `qh`) blocks, one token: the multi-token kernel with one.
        ///
        /// # Safety
        /// The CPU must support AVX2, FMA and F16C.
        #[target_feature(enable = $feat)]
        pub unsafe fn q45k<const HIGH: bool>(w: &[u8], a: &[A256]) -> f32 {
            // SAFETY: the same contract.
            let [v] = unsafe { q45k_n::<HIGH, 1>(w, [a]) };
            v
        }

        /// Q6_K blocks, one token: the multi-token kernel with one.
        ///
        /// # Safety
        /// The CPU must support AVX2, FMA and F16C.
        #[target_feature(enable = $feat)]
        pub unsafe fn q6k(w: &[u8], a: &[A256]) -> f32 {
            // SAFETY: the same contract.
            let [v] = unsafe { q6k_n::<1>(w, [a]) };
            v
        }

        /// 32 bits -> 32 bytes, 0xFF where the bit is set (bit i -> byte i).
        #[inline]
        #[target_feature(enable = $feat)]
        fn bits_to_bytes(bits: u32) -> __m256i {
            let v = _mm256_set1_epi32(bits as i32);
            let shuf = _mm256_setr_epi8(
                0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3,
                3, 3,
            );
            let bytes = _mm256_shuffle_epi8(v, shuf);
            let mask = _mm256_set1_epi64x(0x8040_2010_0804_0201u64 as i64);
            _mm256_cmpeq_epi8(_mm256_and_si256(bytes, mask), mask)
        }

        /// One Q5_0 block times its activations: (scale, integer sums).
        /// The values are made signed in the bytes (0xF0 or'd in where the
        /// fifth bit is clear gives nibble - 16), so nothing is corrected
        /// afterwards.
        #[inline]
        #[target_feature(enable = $feat)]
        fn q5_0_block(b: &[u8], y: &A32) -> (__m256, __m256) {
            let m4 = _mm_set1_epi8(0xF);
            let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
            assert!(b.len() >= 22);
            // SAFETY: 16 bytes at 6..22 are in the block (checked above).
            let x = unsafe { _mm_loadu_si128(b[6..].as_ptr().cast()) };
            let lo = _mm_and_si128(x, m4);
            let hi = _mm_and_si128(_mm_srli_epi16(x, 4), m4);
            let q = _mm256_or_si256(
                _mm256_set_m128i(hi, lo),
                _mm256_andnot_si256(bits_to_bytes(qh), _mm256_set1_epi8(0xF0u8 as i8)),
            );
            let v = load_i8(&y.qs);
            let p = dot_u8i8(_mm256_sign_epi8(q, q), _mm256_sign_epi8(v, q));
            (scale_times(b, 0, y.d), _mm256_cvtepi32_ps(p))
        }

        /// One Q8_0 block times its activations: (scale, integer sums).
        #[inline]
        #[target_feature(enable = $feat)]
        fn q8_0_block(b: &[u8], y: &A32) -> (__m256, __m256) {
            let x = load(&b[2..]);
            let v = load_i8(&y.qs);
            let p = dot_u8i8(_mm256_sign_epi8(x, x), _mm256_sign_epi8(v, x));
            (scale_times(b, 0, y.d), _mm256_cvtepi32_ps(p))
        }

        /// Q5_0 (`Q5`) or Q8_0 blocks, two at a time into two sums (the
        /// multiply-add chain of one would bound the loop).
        #[inline]
        #[target_feature(enable = $feat)]
        fn two_chains<const Q5: bool>(w: &[u8], a: &[A32]) -> f32 {
            let size = if Q5 { 22 } else { 34 };
            let block = |b: &[u8], y: &A32| {
                if Q5 { q5_0_block(b, y) } else { q8_0_block(b, y) }
            };
            let (mut acc0, mut acc1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
            let mut pairs = w.chunks_exact(2 * size).zip(a.chunks_exact(2));
            for (b, y) in &mut pairs {
                let ((d0, p0), (d1, p1)) = (block(b, &y[0]), block(&b[size..], &y[1]));
                acc0 = _mm256_fmadd_ps(d0, p0, acc0);
                acc1 = _mm256_fmadd_ps(d1, p1, acc1);
            }
            let nb = w.len() / size;
            if nb % 2 == 1 {
                let (d, p) = block(&w[(nb - 1) * size..], &a[nb - 1]);
                acc0 = _mm256_fmadd_ps(d, p, acc0);
            }
            hsum_ps(_mm256_add_ps(acc0, acc1))
        }

        /// # Safety
        /// The CPU must support AVX2, FMA and F16C.
        #[target_feature(enable = $feat)]
        pub unsafe fn q5_0(w: &[u8], a: &[A32]) -> f32 {
            two_chains::<true>(w, a)
        }

        /// # Safety
        /// The CPU must support AVX2, FMA and F16C.
        #[target_feature(enable = $feat)]
        pub unsafe fn q8_0(w: &[u8], a: &[A32]) -> f32 {
            two_chains::<false>(w, a)
        }

        /// # Safety
        /// The CPU must support AVX2, FMA and F16C; `w` holds `x.len()` f16 values.
        #[target_feature(enable = $feat)]
        pub unsafe fn f16_row(w: &[u8], x: &[f32]) -> f32 {
            let n = x.len() / 8 * 8;
            assert!(w.len() >= 2 * x.len());
            let mut acc = _mm256_setzero_ps();
            for i in (0..n).step_by(8) {
                // SAFETY: 8 halves at 2*i and 8 floats at i are in bounds (checked above).
                let (wv, xv) = unsafe {
                    (
                        _mm256_cvtph_ps(_mm_loadu_si128(w[2 * i..].as_ptr().cast())),
                        _mm256_loadu_ps(x[i..].as_ptr()),
                    )
                };
                acc = _mm256_fmadd_ps(wv, xv, acc);
            }
            hsum_ps(acc) + crate::scalar::f16_row(&w[2 * n..], &x[n..])
        }

        /// # Safety
        /// The CPU must support AVX2 and FMA; `w` holds `x.len()` bf16 values.
        #[target_feature(enable = $feat)]
        pub unsafe fn bf16_row(w: &[u8], x: &[f32]) -> f32 {
            let n = x.len() / 8 * 8;
            assert!(w.len() >= 2 * x.len());
            let mut acc = _mm256_setzero_ps();
            for i in (0..n).step_by(8) {
                // SAFETY: as in f16_row.
                let (wv, xv) = unsafe {
                    (
                        _mm256_castsi256_ps(_mm256_slli_epi32(
                            _mm256_cvtepu16_epi32(_mm_loadu_si128(w[2 * i..].as_ptr().cast())),
                            16,
                        )),
                        _mm256_loadu_ps(x[i..].as_ptr()),
                    )
                };
                acc = _mm256_fmadd_ps(wv, xv, acc);
            }
            hsum_ps(acc) + crate::scalar::bf16_row(&w[2 * n..], &x[n..])
        }

        /// # Safety
        /// The CPU must support AVX2, FMA and F16C; `acc.len() == v.len()`.
        #[target_feature(enable = $feat)]
        pub unsafe fn axpy_f16(acc: &mut [f32], a: f32, v: &[u8]) {
            let n = acc.len() / 8 * 8;
            assert!(v.len() >= 2 * acc.len());
            let av = _mm256_set1_ps(a);
            for i in (0..n).step_by(8) {
                // SAFETY: 8 halves at 2*i and 8 floats at i are in bounds.
                unsafe {
                    let x = _mm256_cvtph_ps(_mm_loadu_si128(v[2 * i..].as_ptr().cast()));
                    let p = acc[i..].as_mut_ptr();
                    _mm256_storeu_ps(p, _mm256_fmadd_ps(av, x, _mm256_loadu_ps(p)));
                }
            }
            for (i, o) in acc.iter_mut().enumerate().skip(n) {
                *o += a * f16_at(v, 2 * i);
            }
        }

        /// Dot products of two unpacked weight rows with `N` tokens' activations
        /// (each `x.len()` 32-blocks): the prompt-processing kernel. Each row block
        /// is loaded once for all `N` tokens, each token block once for both rows.
        ///
        /// # Safety
        /// The CPU must support AVX2, FMA and F16C; both rows have the same length.
        #[target_feature(enable = $feat)]
        #[allow(clippy::needless_range_loop)] // one index into the rows and N activations
        pub unsafe fn dot_unpacked2<const N: usize>(rows: [&Row; 2], acts: [&[A32]; N]) -> [[f32; N]; 2] {
            let nb = rows[0].x.len();
            for r in rows {
                assert!(r.x.len() == nb && r.scale.len() >= nb);
            }
            for a in &acts {
                assert!(a.len() >= nb);
            }
            let mut acc = [[_mm256_setzero_ps(); N]; 2];
            for b in 0..nb {
                let x0 = load_i8(&rows[0].x[b]);
                let x1 = load_i8(&rows[1].x[b]);
                let ax0 = _mm256_sign_epi8(x0, x0);
                let ax1 = _mm256_sign_epi8(x1, x1);
                // SAFETY: 8 floats each.
                let (sc0, sc1) = unsafe {
                    (
                        _mm256_loadu_ps(rows[0].scale[b].as_ptr()),
                        _mm256_loadu_ps(rows[1].scale[b].as_ptr()),
                    )
                };
                for k in 0..N {
                    let y = &acts[k][b];
                    let yv = load_i8(&y.qs);
                    let d = _mm256_set1_ps(y.d);
                    let p0 = dot_u8i8(ax0, _mm256_sign_epi8(yv, x0));
                    let p1 = dot_u8i8(ax1, _mm256_sign_epi8(yv, x1));
                    let f0 = _mm256_mul_ps(_mm256_cvtepi32_ps(p0), sc0);
                    let f1 = _mm256_mul_ps(_mm256_cvtepi32_ps(p1), sc1);
                    acc[0][k] = _mm256_fmadd_ps(f0, d, acc[0][k]);
                    acc[1][k] = _mm256_fmadd_ps(f1, d, acc[1][k]);
                }
            }
            std::array::from_fn(|r| std::array::from_fn(|k| hsum_ps(acc[r][k])))
        }

        panel_kernels!($feat);

        /// `q45k` for `N` tokens at once: each block's quants are unpacked once and
        /// its 6-bit scales stay in the integer sum (one float step per 256 values).
        ///
        /// # Safety
        /// The CPU must support AVX2, FMA and F16C.
        #[target_feature(enable = $feat)]
        #[allow(clippy::needless_range_loop)] // one block index into N activations
        pub unsafe fn q45k_n<const HIGH: bool, const N: usize>(w: &[u8], a: [&[A256]; N]) -> [f32; N] {
            let size = if HIGH { 176 } else { 144 };
            let nb = w.len() / size;
            for y in &a {
                assert!(y.len() >= nb);
            }
            let m4 = _mm256_set1_epi8(0xF);
            let one = _mm256_set1_epi8(1);
            let mut acc = [_mm256_setzero_ps(); N];
            let mut accm = [0f32; N];
            for (i, b) in w.chunks_exact(size).enumerate() {
                let (sc, mn) = scales_mins_k4(&b[4..16]);
                // Each min twice: it weighs two 16-sums of the activations.
                let m = |j: usize| i16::from(mn[j]);
                let mins = _mm256_setr_epi16(
                    m(0),
                    m(0),
                    m(1),
                    m(1),
                    m(2),
                    m(2),
                    m(3),
                    m(3),
                    m(4),
                    m(4),
                    m(5),
                    m(5),
                    m(6),
                    m(6),
                    m(7),
                    m(7),
                );
                let mut qh = if HIGH {
                    load(&b[16..48])
                } else {
                    _mm256_setzero_si256()
                };
                let qs = &b[size - 128..size];
                let mut sumi = [_mm256_setzero_si256(); N];
                for j in 0..4 {
                    let q = load(&qs[32 * j..]);
                    let mut lo = _mm256_and_si256(q, m4);
                    let mut hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
                    if HIGH {
                        let h0 = _mm256_slli_epi16(_mm256_and_si256(qh, one), 4);
                        let h1 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 1), one), 4);
                        qh = _mm256_srli_epi16(qh, 2);
                        lo = _mm256_or_si256(lo, h0);
                        hi = _mm256_or_si256(hi, h1);
                    }
                    let slo = _mm256_set1_epi16(i16::from(sc[2 * j]));
                    let shi = _mm256_set1_epi16(i16::from(sc[2 * j + 1]));
                    for k in 0..N {
                        let y = &a[k][i].qs;
                        let plo = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, load_i8(&y[64 * j..])), slo);
                        let phi =
                            _mm256_madd_epi16(_mm256_maddubs_epi16(hi, load_i8(&y[64 * j + 32..])), shi);
                        sumi[k] = _mm256_add_epi32(sumi[k], _mm256_add_epi32(plo, phi));
                    }
                }
                let (d, dmin) = (f16_at(b, 0), f16_at(b, 2));
                for k in 0..N {
                    let y = &a[k][i];
                    acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(d * y.d), _mm256_cvtepi32_ps(sumi[k]), acc[k]);
                    // SAFETY: 16 i16 = 32 bytes.
                    let bs = unsafe { _mm256_loadu_si256(y.bsums.as_ptr().cast()) };
                    accm[k] += dmin * y.d * hsum_epi32(_mm256_madd_epi16(mins, bs)) as f32;
                }
            }
            std::array::from_fn(|k| hsum_ps(acc[k]) - accm[k])
        }

        /// `q6k` for `N` tokens at once.
        ///
        /// # Safety
        /// The CPU must support AVX2, FMA and F16C.
        #[target_feature(enable = $feat)]
        #[allow(clippy::needless_range_loop)] // one block index into N activations
        pub unsafe fn q6k_n<const N: usize>(w: &[u8], a: [&[A256]; N]) -> [f32; N] {
            let nb = w.len() / 210;
            for y in &a {
                assert!(y.len() >= nb);
            }
            let m4 = _mm256_set1_epi8(0xF);
            let m2 = _mm256_set1_epi8(3);
            let mut acc = [_mm256_setzero_ps(); N];
            for (i, b) in w.chunks_exact(210).enumerate() {
                // SAFETY: the 16 scale bytes are in the block.
                let sc16 = _mm256_cvtepi8_epi16(unsafe { _mm_loadu_si128(b[192..].as_ptr().cast()) });
                let mut sumi = [_mm256_setzero_si256(); N];
                for n in 0..2 {
                    let ql0 = load(&b[64 * n..]);
                    let ql1 = load(&b[64 * n + 32..]);
                    let qh = load(&b[128 + 32 * n..]);
                    let h = |v: __m256i| _mm256_slli_epi16(_mm256_and_si256(v, m2), 4);
                    let q = [
                        _mm256_or_si256(_mm256_and_si256(ql0, m4), h(qh)),
                        _mm256_or_si256(_mm256_and_si256(ql1, m4), h(_mm256_srli_epi16(qh, 2))),
                        _mm256_or_si256(
                            _mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4),
                            h(_mm256_srli_epi16(qh, 4)),
                        ),
                        _mm256_or_si256(
                            _mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                            h(_mm256_srli_epi16(qh, 6)),
                        ),
                    ];
                    let s = [
                        scale_pair(sc16, 8 * n),
                        scale_pair(sc16, 8 * n + 2),
                        scale_pair(sc16, 8 * n + 4),
                        scale_pair(sc16, 8 * n + 6),
                    ];
                    for k in 0..N {
                        let ys = &a[k][i].qs[128 * n..];
                        for g in 0..4 {
                            let p = _mm256_maddubs_epi16(q[g], load_i8(&ys[32 * g..]));
                            sumi[k] = _mm256_add_epi32(sumi[k], _mm256_madd_epi16(p, s[g]));
                        }
                    }
                }
                let d = f16_at(b, 208);
                for k in 0..N {
                    let y = &a[k][i];
                    // The quants are stored +32: take 32 × Σ scale_j × (its 16-sum) back.
                    // SAFETY: 16 i16 = 32 bytes.
                    let bs = unsafe { _mm256_loadu_si256(y.bsums.as_ptr().cast()) };
                    let corr = _mm256_slli_epi32(_mm256_madd_epi16(sc16, bs), 5);
                    let total = _mm256_sub_epi32(sumi[k], corr);
                    acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(d * y.d), _mm256_cvtepi32_ps(total), acc[k]);
                }
            }
            std::array::from_fn(|k| hsum_ps(acc[k]))
        }

        #[inline]
        #[target_feature(enable = $feat)]
        fn hsum_epi32(v: __m256i) -> i32 {
            let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
            let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b01_00_11_10));
            let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b10_11_00_01));
            _mm_cvtsi128_si32(s)
        }

        /// The 32 nibbles of 16 bytes in value order (low nibbles first).
        #[inline]
        #[target_feature(enable = $feat)]
        fn nibbles32(p: &[u8]) -> __m256i {
            assert!(p.len() >= 16);
            // SAFETY: 16 readable bytes checked above.
            let x = unsafe { _mm_loadu_si128(p.as_ptr().cast()) };
            let m4 = _mm_set1_epi8(0xF);
            _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(x, 4), m4), _mm_and_si128(x, m4))
        }

        /// IQ4_NL's values at the given indices (0-15 in each byte).
        #[inline]
        #[target_feature(enable = $feat)]
        fn iq4_values(idx: __m256i) -> __m256i {
            // SAFETY: the table is 16 bytes.
            let t = unsafe { _mm_loadu_si128(IQ4NL_VALUES.as_ptr().cast()) };
            _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(t), idx)
        }

        /// Each byte of `v` shifted right by `n` bits (the bits that cross
        /// into a byte from its neighbour are masked off by the caller).
        #[inline]
        #[target_feature(enable = $feat)]
        fn shr(v: __m256i, n: usize) -> __m256i {
            _mm256_srl_epi16(v, _mm_cvtsi32_si128(n as i32))
        }

        /// The values of one 32-value block (Q4_0, Q4_1, Q5_1, IQ4_NL) as
        /// bytes: the integer `x` of `d * x + m`.
        #[inline]
        #[target_feature(enable = $feat)]
        fn block32<const F: u8>(b: &[u8]) -> __m256i {
            match F {
                F_Q4_0 => _mm256_sub_epi8(nibbles32(&b[2..]), _mm256_set1_epi8(8)),
                F_Q4_1 => nibbles32(&b[4..]),
                F_Q5_1 => {
                    let qh = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
                    let high = _mm256_and_si256(bits_to_bytes(qh), _mm256_set1_epi8(0x10));
                    _mm256_or_si256(nibbles32(&b[8..]), high)
                }
                _ => iq4_values(nibbles32(&b[2..])),
            }
        }

        /// Q4_0, Q4_1, Q5_1 or IQ4_NL blocks with one token's activations,
        /// two chains of sums (as `two_chains`); the minimum of Q4_1/Q5_1
        /// times each block's activation sum.
        #[target_feature(enable = $feat)]
        fn chains32<const F: u8>(w: &[u8], a: &[A32]) -> f32 {
            let (size, min) = match F {
                F_Q4_1 => (20, true),
                F_Q5_1 => (24, true),
                _ => (18, false),
            };
            let nb = w.len() / size;
            assert!(a.len() >= nb);
            // Two accumulators in registers (an index `i % 2` into an array
            // kept them in memory: a store-to-load chain every block).
            let (mut acc0, mut acc1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
            // The minimum's sum, the same value in every lane.
            let mut accm = _mm256_setzero_ps();
            let block = |b: &[u8], y: &A32, acc: __m256, accm: &mut __m256| {
                let x = block32::<F>(b);
                let v = load_i8(&y.qs);
                let p = dot_u8i8(_mm256_sign_epi8(x, x), _mm256_sign_epi8(v, x));
                let d = scale_times(b, 0, y.d);
                if min {
                    *accm = _mm256_add_ps(*accm, scale_times(b, 2, y.s));
                }
                _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc)
            };
            for (b, y) in w.chunks_exact(2 * size).zip(a.chunks_exact(2)) {
                acc0 = block(&b[..size], &y[0], acc0, &mut accm);
                acc1 = block(&b[size..], &y[1], acc1, &mut accm);
            }
            if nb % 2 == 1 {
                acc0 = block(&w[(nb - 1) * size..nb * size], &a[nb - 1], acc0, &mut accm);
            }
            hsum_ps(_mm256_add_ps(acc0, acc1)) + _mm256_cvtss_f32(accm)
        }

        /// # Safety
        /// The CPU must support AVX2, FMA and F16C.
        #[target_feature(enable = $feat)]
        pub unsafe fn q4_0(w: &[u8], a: &[A32]) -> f32 {
            chains32::<F_Q4_0>(w, a)
        }

        /// # Safety
        /// The CPU must support AVX2, FMA and F16C.
        #[target_feature(enable = $feat)]
        pub unsafe fn q4_1(w: &[u8], a: &[A32]) -> f32 {
            chains32::<F_Q4_1>(w, a)
        }

        /// # Safety
        /// The CPU must support AVX2, FMA and F16C.
        #[target_feature(enable = $feat)]
        pub unsafe fn q5_1(w: &[u8], a: &[A32]) -> f32 {
            chains32::<F_Q5_1>(w, a)
        }

        /// # Safety
        /// The CPU must support AVX2, FMA and F16C.
        #[target_feature(enable = $feat)]
        pub unsafe fn iq4nl(w: &[u8], a: &[A32]) -> f32 {
            chains32::<F_IQ4NL>(w, a)
        }

        q23k_kernels!($feat);

        /// IQ4_XS blocks for `N` tokens: each 32-value sub-block looked up
        /// once, its scale kept in the integer sums.
        ///
        /// # Safety
        /// The CPU must support AVX2, FMA and F16C.
        #[target_feature(enable = $feat)]
        #[allow(clippy::needless_range_loop)] // one block index into N activations
        pub unsafe fn iq4xs_n<const N: usize>(w: &[u8], a: [&[A256]; N]) -> [f32; N] {
            let nb = w.len() / 136;
            for y in &a {
                assert!(y.len() >= nb);
            }
            let mut acc = [_mm256_setzero_ps(); N];
            for (i, b) in w.chunks_exact(136).enumerate() {
                let mut sumi = [_mm256_setzero_si256(); N];
                for ib in 0..8 {
                    let x = iq4_values(nibbles32(&b[8 + 16 * ib..]));
                    let ax = _mm256_sign_epi8(x, x);
                    let s = _mm256_set1_epi16(iq4xs_scale(b, ib));
                    for k in 0..N {
                        let y = load_i8(&a[k][i].qs[32 * ib..]);
                        let p = _mm256_maddubs_epi16(ax, _mm256_sign_epi8(y, x));
                        sumi[k] = _mm256_add_epi32(sumi[k], _mm256_madd_epi16(p, s));
                    }
                }
                let d = f16_at(b, 0);
                for k in 0..N {
                    let dy = _mm256_set1_ps(d * a[k][i].d);
                    acc[k] = _mm256_fmadd_ps(dy, _mm256_cvtepi32_ps(sumi[k]), acc[k]);
                }
            }
            std::array::from_fn(|k| hsum_ps(acc[k]))
        }

        /// # Safety
        /// The CPU must support AVX2, FMA and F16C.
        #[target_feature(enable = $feat)]
        pub unsafe fn q2k(w: &[u8], a: &[A256]) -> f32 {
            // SAFETY: the same contract.
            unsafe { q23k_n::<false, 1>(w, [a])[0] }
        }

        /// # Safety
        /// The CPU must support AVX2, FMA and F16C.
        #[target_feature(enable = $feat)]
        pub unsafe fn q3k(w: &[u8], a: &[A256]) -> f32 {
            // SAFETY: the same contract.
            unsafe { q23k_n::<true, 1>(w, [a])[0] }
        }

        /// # Safety
        /// The CPU must support AVX2, FMA and F16C.
        #[target_feature(enable = $feat)]
        pub unsafe fn iq4xs(w: &[u8], a: &[A256]) -> f32 {
            // SAFETY: the same contract.
            unsafe { iq4xs_n::<1>(w, [a])[0] }
        }

        /// This instruction set's kernels.
        pub const TABLE: Table = Table {
            isa: $isa,
            q4k: q45k::<false>,
            q5k: q45k::<true>,
            q6k,
            q4k_4: Some(q45k_n::<false, 4>),
            q5k_4: Some(q45k_n::<true, 4>),
            q6k_4: Some(q6k_n::<4>),
            q2k,
            q3k,
            iq4xs,
            q2k_4: Some(q23k_n::<false, 4>),
            q3k_4: Some(q23k_n::<true, 4>),
            iq4xs_4: Some(iq4xs_n::<4>),
            q4_0,
            q4_1,
            q5_0,
            q5_1,
            q8_0,
            iq4nl,
            f16_row,
            bf16_row,
            axpy_f16,
            unpacked: Some((dot_unpacked2::<4>, dot_unpacked2::<1>)),
            panel: Some((dot_panel::<4>, dot_panel::<1>, $panel_takes)),
            panel16: $panel16,
        };
    };
}

/// AVX2 + FMA + F16C (Haswell, Zen 1 and later).
pub mod avx2 {
    x86_kernels!(
        "avx2,fma,f16c",
        Isa::Avx2,
        |acc, u, s| {
            let p = _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
            _mm256_add_epi32(acc, p)
        },
        crate::unpack::small_values,
        None
    );
}

/// AVX2 with AVX-VNNI (Alder Lake, Sapphire Rapids, Zen 5).
pub mod avxvnni {
    x86_kernels!(
        "avx2,fma,f16c,avxvnni",
        Isa::AvxVnni,
        |acc, u, s| { _mm256_dpbusd_avx_epi32(acc, u, s) },
        crate::unpack::any_format,
        None
    );
}

/// AVX2 with AVX-512 VNNI on 256-bit registers (Ice Lake, Zen 4 and later),
/// and 512-bit ones for panels of sixteen rows.
pub mod avx512vnni {
    x86_kernels!(
        "avx2,fma,f16c,avx512f,avx512vl,avx512vnni",
        Isa::Avx512Vnni,
        |acc, u, s| { _mm256_dpbusd_epi32(acc, u, s) },
        crate::unpack::any_format,
        Some((
            super::panel16::dot_panel16::<4>,
            super::panel16::dot_panel16::<1>,
            crate::unpack::any_format
        ))
    );
}
