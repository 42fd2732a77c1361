//! The panel kernel on 512-bit registers (AVX-512 VNNI): sixteen unpacked
//! weight rows interleaved, so one `vpdpbusd` multiplies a token's four
//! activation bytes with a group of all sixteen rows — twice the products
//! of the 256-bit kernel per instruction (x86/panel.rs, whose arithmetic
//! this repeats lane for lane: the same integer sums, the same float steps).

use std::arch::x86_64::*;

use crate::act::A32;
use crate::unpack::{PANEL_WIDE, Panel};

/// `dot_panel` (x86/panel.rs) for a panel of sixteen rows.
///
/// # Safety
/// The CPU must support AVX-512F and AVX-512 VNNI.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512vl,avx512vnni")]
pub unsafe fn dot_panel16<const N: usize>(
    p: &Panel<PANEL_WIDE>,
    acts: [&[A32]; N],
    us: [&[[u8; 32]]; N],
) -> [[f32; PANEL_WIDE]; N] {
    let acc = if p.check(acts, us) {
        body::<N, true>(p, acts, us)
    } else {
        body::<N, false>(p, acts, us)
    };
    std::array::from_fn(|k| {
        let mut o = [0f32; PANEL_WIDE];
        // SAFETY: sixteen floats.
        unsafe { _mm512_storeu_ps(o.as_mut_ptr(), acc[k]) };
        o
    })
}

/// `dot_panel16`'s sums; `TWO`: two scales a block (checked by the caller).
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512vl,avx512vnni")]
#[allow(clippy::needless_range_loop)] // one index into N tokens' arrays
fn body<const N: usize, const TWO: bool>(
    p: &Panel<PANEL_WIDE>,
    acts: [&[A32]; N],
    us: [&[[u8; 32]]; N],
) -> [__m512; N] {
    let mut acc = [_mm512_setzero_ps(); N];
    // SAFETY (the loads below): sixteen i32s, floats or 64 bytes each.
    let ld = |v: &[i32; PANEL_WIDE]| unsafe { _mm512_loadu_si512(v.as_ptr().cast()) };
    let ldf = |v: &[f32; PANEL_WIDE]| unsafe { _mm512_loadu_ps(v.as_ptr()) };
    for b in 0..p.x.len() {
        // Groups 0-3 sum into `s`, 4-7 into `s2` (or `s` again).
        let mut s = [ld(&p.bias[b]); N];
        let mut s2 = [if TWO {
            ld(&p.bias_hi[b])
        } else {
            _mm512_setzero_si512()
        }; N];
        for g in 0..8 {
            // SAFETY: a group of sixteen rows is 64 bytes.
            let wv = unsafe { _mm512_loadu_si512(p.x[b][g].as_ptr().cast()) };
            for k in 0..N {
                let u = &us[k][b][4 * g..4 * g + 4];
                let av = _mm512_set1_epi32(i32::from_le_bytes([u[0], u[1], u[2], u[3]]));
                if TWO && g >= 4 {
                    s2[k] = _mm512_dpbusd_epi32(s2[k], av, wv);
                } else {
                    s[k] = _mm512_dpbusd_epi32(s[k], av, wv);
                }
            }
        }
        let sc = ldf(&p.scale[b]);
        for k in 0..N {
            let d = _mm512_set1_ps(acts[k][b].d);
            acc[k] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s[k]), _mm512_mul_ps(sc, d), acc[k]);
            if TWO {
                let hi = _mm512_mul_ps(ldf(&p.scale_hi[b]), d);
                acc[k] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s2[k]), hi, acc[k]);
            }
        }
        if let Some(m) = p.min.get(b) {
            let m = ldf(m);
            for k in 0..N {
                acc[k] = _mm512_fmadd_ps(m, _mm512_set1_ps(acts[k][b].s), acc[k]);
            }
        }
        if let Some(m) = p.min_hi.get(b) {
            let m = ldf(m);
            for k in 0..N {
                acc[k] = _mm512_fmadd_ps(m, _mm512_set1_ps(acts[k][b].s_hi), acc[k]);
            }
        }
    }
    acc
}
