//! The panel kernels of x86.rs's kernel sets (`dot_panel`: eight unpacked
//! weight rows, interleaved, with several tokens), a macro each set expands
//! with its target features; `dot_acc`, `load_i8` and the intrinsics are
//! the expanding module's.

macro_rules! panel_kernels {
    ($feat:tt) => {
        /// A panel of eight unpacked weight rows with `N` tokens' activations
        /// (`us`: each token's quants plus 128, as unsigned bytes): per block
        /// and four-value group, one load of the panel serves every token, and
        /// one broadcast of a token's four bytes meets all eight rows in one
        /// dot product whose sums land in the rows' own lanes; the integer
        /// sum of a block (or of each half, for formats with two scales a
        /// block) becomes a float once for eight rows.
        ///
        /// # Safety
        /// The CPU must support AVX2, FMA and F16C.
        #[target_feature(enable = $feat)]
        pub unsafe fn dot_panel<const N: usize>(
            p: &Panel,
            acts: [&[A32]; N],
            us: [&[[u8; 32]]; N],
        ) -> [[f32; 8]; N] {
            let acc = if p.check(acts, us) {
                panel_body::<N, true>(p, acts, us)
            } else {
                panel_body::<N, false>(p, acts, us)
            };
            std::array::from_fn(|k| {
                let mut o = [0f32; 8];
                // SAFETY: eight floats.
                unsafe { _mm256_storeu_ps(o.as_mut_ptr(), acc[k]) };
                o
            })
        }

        /// `dot_panel`'s sums; `TWO`: two scales a block (checked by the caller).
        #[inline]
        #[target_feature(enable = $feat)]
        #[allow(clippy::needless_range_loop)] // one index into N tokens' arrays
        fn panel_body<const N: usize, const TWO: bool>(
            p: &Panel,
            acts: [&[A32]; N],
            us: [&[[u8; 32]]; N],
        ) -> [__m256; N] {
            let mut acc = [_mm256_setzero_ps(); N];
            // SAFETY (the loads below): eight i32s or floats each.
            let ld = |v: &[i32; 8]| unsafe { _mm256_loadu_si256(v.as_ptr().cast()) };
            let ldf = |v: &[f32; 8]| unsafe { _mm256_loadu_ps(v.as_ptr()) };
            for b in 0..p.x.len() {
                // Groups 0-3 sum into `s`, 4-7 into `s2` (or `s` again).
                let mut s = [ld(&p.bias[b]); N];
                let mut s2 = [if TWO {
                    ld(&p.bias_hi[b])
                } else {
                    _mm256_setzero_si256()
                }; N];
                for g in 0..8 {
                    let wv = load_i8(p.x[b][g].as_flattened());
                    for k in 0..N {
                        let u = &us[k][b][4 * g..4 * g + 4];
                        let av = _mm256_set1_epi32(i32::from_le_bytes([u[0], u[1], u[2], u[3]]));
                        if TWO && g >= 4 {
                            s2[k] = dot_acc(s2[k], av, wv);
                        } else {
                            s[k] = dot_acc(s[k], av, wv);
                        }
                    }
                }
                let sc = ldf(&p.scale[b]);
                for k in 0..N {
                    let d = _mm256_set1_ps(acts[k][b].d);
                    acc[k] =
                        _mm256_fmadd_ps(_mm256_cvtepi32_ps(s[k]), _mm256_mul_ps(sc, d), acc[k]);
                    if TWO {
                        let hi = _mm256_mul_ps(ldf(&p.scale_hi[b]), d);
                        acc[k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s2[k]), hi, acc[k]);
                    }
                }
                if let Some(m) = p.min.get(b) {
                    let m = ldf(m);
                    for k in 0..N {
                        acc[k] = _mm256_fmadd_ps(m, _mm256_set1_ps(acts[k][b].s), acc[k]);
                    }
                }
                if let Some(m) = p.min_hi.get(b) {
                    let m = ldf(m);
                    for k in 0..N {
                        acc[k] = _mm256_fmadd_ps(m, _mm256_set1_ps(acts[k][b].s_hi), acc[k]);
                    }
                }
            }
            acc
        }
    };
}
