//! The Q2_K and Q3_K kernels of x86.rs's kernel sets (`q23k_n`: one token
//! or four) and the scale pairs they and Q6_K's share, a macro each set
//! expands with its target features; `load`, `shr`, `scale_times`,
//! `hsum_ps` and the intrinsics are the expanding module's.

macro_rules! q23k_kernels {
    ($feat:tt) => {
        /// Scale `i` of a block's 16 (i16 lanes of `sc16`, `i` even) in the
        /// low 128 bits, for values 0-15 of a 32, and scale `i + 1` in the
        /// high: a lane broadcast and a byte shuffle (building it from two
        /// scalars took three shuffle-port instructions).
        #[inline]
        #[target_feature(enable = $feat)]
        fn scale_pair(sc16: __m256i, i: usize) -> __m256i {
            let half = if i < 8 {
                _mm256_permute2x128_si256(sc16, sc16, 0x00)
            } else {
                _mm256_permute2x128_si256(sc16, sc16, 0x11)
            };
            let (lo, hi) = ((2 * (i % 8)) as i16, (2 * (i % 8) + 2) as i16);
            let (lo, hi) = (lo | (lo + 1) << 8, hi | (hi + 1) << 8);
            _mm256_shuffle_epi8(
                half,
                _mm256_set_m128i(_mm_set1_epi16(hi), _mm_set1_epi16(lo)),
            )
        }

        /// A 256-value block's 16 scales (Q3_K: six bits, 32 subtracted;
        /// Q2_K: the low nibbles) and Q2_K's 16 minimums, as i16 lanes.
        #[inline]
        #[target_feature(enable = $feat)]
        fn scales_q23k<const Q3: bool>(b: &[u8]) -> (__m256i, __m256i) {
            if Q3 {
                // As `q3k_scales`, four scales a word, in the vector unit.
                let s = &b[96..108];
                let word = |i: usize| i32::from_le_bytes([s[i], s[i + 1], s[i + 2], s[i + 3]]);
                let (a0, a1, hi) = (word(0), word(4), word(8));
                let (nib, crumb) = (0x0f0f_0f0f, 0x0303_0303);
                let v = _mm_set_epi32(
                    ((a1 >> 4) & nib) | (((hi >> 6) & crumb) << 4),
                    ((a0 >> 4) & nib) | (((hi >> 4) & crumb) << 4),
                    (a1 & nib) | (((hi >> 2) & crumb) << 4),
                    (a0 & nib) | ((hi & crumb) << 4),
                );
                let v = _mm_sub_epi8(v, _mm_set1_epi8(32));
                (_mm256_cvtepi8_epi16(v), _mm256_setzero_si256())
            } else {
                // SAFETY: a Q2_K block's first 16 bytes.
                let v = unsafe { _mm_loadu_si128(b[..16].as_ptr().cast()) };
                let m = _mm_set1_epi8(0xF);
                let sc = _mm256_cvtepu8_epi16(_mm_and_si128(v, m));
                let mn = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(v, 4), m));
                (sc, mn)
            }
        }

        /// Q2_K (`Q3 = false`) or Q3_K (`Q3 = true`) blocks for `N` tokens:
        /// the 2-bit fields (and Q3_K's high bit) unpacked once per block,
        /// the 16 scales kept in the integer sums; Q2_K's minimums and Q3_K's
        /// offset of 4 taken off with the activations' 16-sums.
        ///
        /// # Safety
        /// The CPU must support AVX2, FMA and F16C.
        #[target_feature(enable = $feat)]
        #[allow(clippy::needless_range_loop)] // one block index into N activations
        pub unsafe fn q23k_n<const Q3: bool, const N: usize>(
            w: &[u8],
            a: [&[A256]; N],
        ) -> [f32; N] {
            let size = if Q3 { 110 } else { 84 };
            let nb = w.len() / size;
            for y in &a {
                assert!(y.len() >= nb);
            }
            let (m3, m4) = (_mm256_set1_epi8(3), _mm256_set1_epi8(4));
            let mut acc = [_mm256_setzero_ps(); N];
            let mut accm = [_mm256_setzero_ps(); N];
            for (i, b) in w.chunks_exact(size).enumerate() {
                let (sc16, mn16) = scales_q23k::<Q3>(b);
                let qs = if Q3 { &b[32..96] } else { &b[16..80] };
                let hm = if Q3 {
                    load(&b[0..32])
                } else {
                    _mm256_setzero_si256()
                };
                let mut sumi = [_mm256_setzero_si256(); N];
                for n in 0..2 {
                    let q = load(&qs[32 * n..]);
                    for j in 0..4 {
                        let mut x = _mm256_and_si256(shr(q, 2 * j), m3);
                        if Q3 {
                            // Bit 4n + j of each byte of hm, as 4.
                            let bit = 4 * n + j;
                            let h = if bit >= 2 {
                                shr(hm, bit - 2)
                            } else {
                                _mm256_sll_epi16(hm, _mm_cvtsi32_si128((2 - bit) as i32))
                            };
                            x = _mm256_or_si256(x, _mm256_and_si256(h, m4));
                        }
                        let s = scale_pair(sc16, 8 * n + 2 * j);
                        for k in 0..N {
                            let y = load_i8(&a[k][i].qs[128 * n + 32 * j..]);
                            let p = _mm256_madd_epi16(_mm256_maddubs_epi16(x, y), s);
                            sumi[k] = _mm256_add_epi32(sumi[k], p);
                        }
                    }
                }
                for k in 0..N {
                    let y = &a[k][i];
                    // SAFETY: 16 i16 = 32 bytes.
                    let bs = unsafe { _mm256_loadu_si256(y.bsums.as_ptr().cast()) };
                    let total = if Q3 {
                        let corr = _mm256_slli_epi32(_mm256_madd_epi16(sc16, bs), 2);
                        _mm256_sub_epi32(sumi[k], corr)
                    } else {
                        let m = _mm256_cvtepi32_ps(_mm256_madd_epi16(mn16, bs));
                        accm[k] = _mm256_fmadd_ps(scale_times(b, 82, y.d), m, accm[k]);
                        sumi[k]
                    };
                    let dy = scale_times(b, if Q3 { 108 } else { 80 }, y.d);
                    acc[k] = _mm256_fmadd_ps(dy, _mm256_cvtepi32_ps(total), acc[k]);
                }
            }
            std::array::from_fn(|k| hsum_ps(acc[k]) - hsum_ps(accm[k]))
        }
    };
}
