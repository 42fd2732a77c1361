//! CPU matrix multiplication for quantized weights, written for the formats
//! Gemma GGUFs come in (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K..Q6_K, IQ4_NL,
//! IQ4_XS, F16, BF16): the
//! activations are quantized to 8 bits once per call and every output is an
//! integer dot product (as llama.cpp computes them), SIMD when the CPU has it
//! (chosen at run time, so one binary is fast on every x86-64 and safe on
//! any), rows shared out over the compute threads, and a prompt's tokens
//! taken in tiles so a weight row is read once for many of them: most
//! formats' prompts multiply panels of eight rows interleaved four values
//! at a time (`unpack::Panel`, as llama.cpp repacks Q4_0), one dot-product
//! instruction for eight rows (sixteen on 512-bit registers).

pub mod act;
pub mod blocks;
#[doc(hidden)]
pub mod ggml_fixture;
#[cfg(target_arch = "aarch64")]
mod neon;
mod prompt;
pub mod scalar;
mod unpack;
#[cfg(target_arch = "x86_64")]
mod x86;

use std::sync::OnceLock;

use rayon::prelude::*;

use act::{A32, A256};

/// The 32-value formats' kernels take their format as a constant.
pub(crate) const F_Q4_0: u8 = 0;
pub(crate) const F_Q4_1: u8 = 1;
pub(crate) const F_Q5_1: u8 = 2;
pub(crate) const F_IQ4NL: u8 = 3;

/// Which implementation the dot products run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    Scalar,
    /// x86-64 AVX2 + FMA + F16C.
    Avx2,
    /// AVX2 with AVX-VNNI's u8×i8 dot products.
    AvxVnni,
    /// AVX2 with AVX-512 VNNI (+VL) dot products on 256-bit registers.
    Avx512Vnni,
    /// aarch64 NEON with the dot-product extension (`sdot`).
    NeonDot,
}

impl Isa {
    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2 => "avx2",
            Isa::AvxVnni => "avxvnni",
            Isa::Avx512Vnni => "avx512vnni",
            Isa::NeonDot => "neon",
        }
    }
}

type RowFn<A> = unsafe fn(&[u8], &[A]) -> f32;
type Kernel4<A> = unsafe fn(&[u8], [&[A]; 4]) -> [f32; 4];
type Unpacked<const N: usize> = unsafe fn([&unpack::Row; 2], [&[A32]; N]) -> [[f32; N]; 2];
type PanelFn<const R: usize, const N: usize> =
    unsafe fn(&unpack::Panel<R>, [&[A32]; N], [&[[u8; 32]]; N]) -> [[f32; R]; N];
/// The kernels of panels of `R` rows with four tokens and with one, and the
/// formats they take.
type Panels<const R: usize> = (
    PanelFn<R, { prompt::PANEL_TOKENS }>,
    PanelFn<R, 1>,
    fn(Format) -> bool,
);

/// The kernels of one instruction set. The one-token kernels are complete;
/// the multi-token ones (`*_4`, `unpacked`) are there where the instruction
/// set has them, else prompts use the one-token kernels token by token.
pub struct Table {
    pub isa: Isa,
    q4k: RowFn<A256>,
    q5k: RowFn<A256>,
    q6k: RowFn<A256>,
    q4k_4: Option<Kernel4<A256>>,
    q5k_4: Option<Kernel4<A256>>,
    q6k_4: Option<Kernel4<A256>>,
    q2k: RowFn<A256>,
    q3k: RowFn<A256>,
    iq4xs: RowFn<A256>,
    q2k_4: Option<Kernel4<A256>>,
    q3k_4: Option<Kernel4<A256>>,
    iq4xs_4: Option<Kernel4<A256>>,
    q4_0: RowFn<A32>,
    q4_1: RowFn<A32>,
    q5_0: RowFn<A32>,
    q5_1: RowFn<A32>,
    q8_0: RowFn<A32>,
    iq4nl: RowFn<A32>,
    f16_row: RowFn<f32>,
    bf16_row: RowFn<f32>,
    axpy_f16: unsafe fn(&mut [f32], f32, &[u8]),
    /// Two unpacked rows of a 32-value format with four tokens, and with one.
    unpacked: Option<(Unpacked<4>, Unpacked<1>)>,
    /// A panel of eight rows with four tokens, and with one; and the formats
    /// it takes (the others use `unpacked`).
    panel: Option<Panels<8>>,
    /// Panels of sixteen rows (512-bit registers), taken before `panel`.
    panel16: Option<Panels<{ unpack::PANEL_WIDE }>>,
}

/// Every kernel set this CPU can run, the portable one first and the best
/// last.
pub fn tables() -> Vec<&'static Table> {
    let mut v = vec![&scalar::TABLE];
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        if has!("avx2") && has!("fma") && has!("f16c") {
            v.push(&x86::avx2::TABLE);
            if has!("avxvnni") {
                v.push(&x86::avxvnni::TABLE);
            }
            if has!("avx512f") && has!("avx512vl") && has!("avx512vnni") {
                v.push(&x86::avx512vnni::TABLE);
            }
        }
    }
    #[cfg(target_arch = "aarch64")]
    if std::arch::is_aarch64_feature_detected!("dotprod") {
        v.push(&neon::TABLE);
    }
    v
}

/// The kernels the runtime uses: the best this CPU runs, or the one named
/// by `LOCUS_KERNELS` (scalar, avx2, avxvnni, avx512vnni, neon) when the CPU
/// runs it (for comparisons).
pub fn table() -> &'static Table {
    static TABLE: OnceLock<&'static Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let all = tables();
        let wanted = std::env::var("LOCUS_KERNELS").unwrap_or_default();
        match all.iter().find(|t| t.isa.name() == wanted) {
            Some(t) => t,
            None => all.last().expect("the portable kernels are always there"),
        }
    })
}

/// Whether prompts may run on panels (`LOCUS_NO_PANEL` set turns them off,
/// for comparisons: the fidelity suite passes either way).
fn panels_on() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("LOCUS_NO_PANEL").is_none())
}

/// Whether a product of `t` tokens may run on panels (the one rule for the
/// kernels' choice and the activations' forms they need).
fn panel_prompt(t: usize, per_token: bool) -> bool {
    t >= prompt::PANEL_MIN_TOKENS && !per_token && panels_on()
}

/// The instruction set the kernels run on.
pub fn isa() -> Isa {
    table().isa
}

/// Whether locus's own kernels are used at all (`LOCUS_KERNELS=candle` keeps
/// candle's, for comparisons).
pub fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| !std::env::var("LOCUS_KERNELS").is_ok_and(|v| v == "candle"))
}

/// The weight formats locus's kernels multiply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Q2K,
    Q3K,
    Q4K,
    Q5K,
    Q6K,
    IQ4XS,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    IQ4NL,
    F16,
    BF16,
}

impl Format {
    /// The format of ggml's type `id` (its `ggml_type`), where there is a
    /// kernel for it.
    pub fn from_ggml(id: u32) -> Option<Format> {
        Some(match id {
            1 => Format::F16,
            2 => Format::Q4_0,
            3 => Format::Q4_1,
            6 => Format::Q5_0,
            7 => Format::Q5_1,
            8 => Format::Q8_0,
            10 => Format::Q2K,
            11 => Format::Q3K,
            12 => Format::Q4K,
            13 => Format::Q5K,
            14 => Format::Q6K,
            20 => Format::IQ4NL,
            23 => Format::IQ4XS,
            30 => Format::BF16,
            _ => return None,
        })
    }

    /// (values, bytes) of one block.
    pub fn block(self) -> (usize, usize) {
        match self {
            Format::Q2K => (256, 84),
            Format::Q3K => (256, 110),
            Format::Q4K => (256, 144),
            Format::Q5K => (256, 176),
            Format::Q6K => (256, 210),
            Format::IQ4XS => (256, 136),
            Format::Q4_0 | Format::IQ4NL => (32, 18),
            Format::Q4_1 => (32, 20),
            Format::Q5_0 => (32, 22),
            Format::Q5_1 => (32, 24),
            Format::Q8_0 => (32, 34),
            Format::F16 | Format::BF16 => (1, 2),
        }
    }

    /// Activations quantized in blocks of 256 (the K-quants and IQ4_XS).
    pub fn k(self) -> bool {
        self.block().0 == 256
    }

    /// Activations quantized in blocks of 32.
    fn b32(self) -> bool {
        self.block().0 == 32
    }
}

/// A quantized weight matrix [rows, cols] in CPU memory, multiplied by
/// locus's kernels.
pub struct QWeight {
    /// Keeps `data` alive.
    _keep: Keep,
    /// The weight's bytes (CPU memory, which never moves while `_keep`
    /// lives).
    data: *const u8,
    pub format: Format,
    pub rows: usize,
    pub cols: usize,
    row_bytes: usize,
}

/// What owns a weight's bytes: whatever the caller lends them from (a
/// tensor library's CPU storage), or bytes read from the file.
enum Keep {
    Owner(#[allow(dead_code)] std::sync::Arc<dyn std::any::Any + Send + Sync>),
    Bytes(#[allow(dead_code)] Vec<u8>),
}

// SAFETY: `data` points into the immutable storage `_keep` keeps alive;
// it is only ever read.
unsafe impl Send for QWeight {}
unsafe impl Sync for QWeight {}

/// Output rows computed for this many tokens before moving to the next rows,
/// so a row stays in cache while the tokens' activations stream past.
const TOKEN_TILE: usize = 64;

#[derive(Clone, Copy)]
struct OutPtr(*mut f32);
// SAFETY: each task writes a disjoint set of output elements.
unsafe impl Sync for OutPtr {}
unsafe impl Send for OutPtr {}

impl QWeight {
    /// A weight over `bytes` that `owner` keeps alive (`rows` rows of `cols`
    /// values in `format`); `None` when they do not fit that shape or the
    /// kernels are turned off.
    ///
    /// # Safety
    /// `bytes` must stay valid and unchanged for as long as `owner` lives.
    pub unsafe fn borrowed(
        owner: std::sync::Arc<dyn std::any::Any + Send + Sync>,
        bytes: &[u8],
        format: Format,
        rows: usize,
        cols: usize,
    ) -> Option<QWeight> {
        let (bv, bb) = format.block();
        let row_bytes = cols / bv * bb;
        if !enabled() || !cols.is_multiple_of(bv) || bytes.len() != rows * row_bytes || rows == 0 {
            return None;
        }
        Some(QWeight {
            _keep: Keep::Owner(owner),
            data: bytes.as_ptr(),
            format,
            rows,
            cols,
            row_bytes,
        })
    }

    /// A weight from its bytes as the file stores them (`rows` rows of
    /// `cols` values in `format`); `None` when they do not fit that shape.
    pub fn from_bytes(format: Format, rows: usize, cols: usize, bytes: Vec<u8>) -> Option<QWeight> {
        let (bv, bb) = format.block();
        let row_bytes = cols / bv * bb;
        if !cols.is_multiple_of(bv) || bytes.len() != rows * row_bytes || rows == 0 {
            return None;
        }
        Some(QWeight {
            data: bytes.as_ptr(),
            _keep: Keep::Bytes(bytes),
            format,
            rows,
            cols,
            row_bytes,
        })
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: checked at construction to be `rows * row_bytes` bytes,
        // which `_keep` keeps alive and unmoved.
        unsafe { std::slice::from_raw_parts(self.data, self.rows * self.row_bytes) }
    }

    /// `x` holds `t` rows of `cols` values; returns `t` rows of `rows` values.
    pub fn matmul(&self, x: &[f32], t: usize) -> Vec<f32> {
        self.matmul_with(table(), x, t)
    }

    /// `matmul` on the given kernels.
    pub fn matmul_with(&self, k: &Table, x: &[f32], t: usize) -> Vec<f32> {
        let mut out = vec![0f32; t * self.rows];
        matmul_many_into(k, &[self], x, t, &mut ActBuf::default(), &mut [&mut out]);
        out
    }

    /// Rows per task, and how many tasks.
    fn tasks(&self, k: &Table, acts: &Acts) -> (usize, usize) {
        let step = match self.prompt_path(k, acts) {
            Prompt::Panel => unpack::PANEL,
            Prompt::Panel16 => unpack::PANEL_WIDE,
            Prompt::Rows => 2,
            Prompt::Blocks => 1,
        };
        let chunk = row_chunk(self.rows, step);
        (chunk, self.rows.div_ceil(chunk))
    }

    /// How this product runs: from `PANEL_MIN_TOKENS` tokens on panels where
    /// the kernels take the format; a 32-value format with four tokens or
    /// more on unpacked rows; anything else on the blocks as stored.
    fn prompt_path(&self, k: &Table, acts: &Acts) -> Prompt {
        if acts.t < 4 || acts.per_token {
            return Prompt::Blocks;
        }
        // Every quantized format may run on panels (not F16/BF16).
        let panels = panel_prompt(acts.t, acts.per_token) && (self.format.b32() || self.format.k());
        if panels && takes(k.panel16, self.format) {
            Prompt::Panel16
        } else if panels && takes(k.panel, self.format) {
            Prompt::Panel
        } else if k.unpacked.is_some() && self.format.b32() {
            Prompt::Rows
        } else {
            Prompt::Blocks
        }
    }

    /// Task `c` of the product into `out` (`t` rows of `rows`): the rows
    /// `c * chunk..` of every token.
    fn task(&self, k: &Table, acts: &Acts, out: OutPtr, chunk: usize, c: usize) {
        let w = self.bytes();
        let t = acts.t;
        let rows = (c * chunk)..((c + 1) * chunk).min(self.rows);
        match self.prompt_path(k, acts) {
            Prompt::Panel => {
                let (fm, f1, _) = k.panel.expect("checked by prompt_path()");
                return self.drive_panel(w, acts, fm, f1, out, rows);
            }
            Prompt::Panel16 => {
                let (fm, f1, _) = k.panel16.expect("checked by prompt_path()");
                return self.drive_panel(w, acts, fm, f1, out, rows);
            }
            Prompt::Rows => {
                let (f4, f1) = k.unpacked.expect("checked by prompt_path()");
                return self.drive_unpacked(w, acts.a32, t, f4, f1, out, rows);
            }
            Prompt::Blocks => {}
        }
        // The K-quant multi-token kernels give each token the one-token
        // kernel's bits (the same sums in the same order; tested), so they
        // serve a per-token product too.
        let (f, f4) = match self.format {
            Format::Q2K => (k.q2k, k.q2k_4),
            Format::Q3K => (k.q3k, k.q3k_4),
            Format::Q4K => (k.q4k, k.q4k_4),
            Format::Q5K => (k.q5k, k.q5k_4),
            Format::Q6K => (k.q6k, k.q6k_4),
            Format::IQ4XS => (k.iq4xs, k.iq4xs_4),
            _ => {
                let f = match self.format {
                    Format::Q4_0 => k.q4_0,
                    Format::Q4_1 => k.q4_1,
                    Format::Q5_0 => k.q5_0,
                    Format::Q5_1 => k.q5_1,
                    Format::Q8_0 => k.q8_0,
                    Format::IQ4NL => k.iq4nl,
                    Format::F16 => {
                        return self.drive(w, acts.x16, self.cols, t, k.f16_row, None, out, rows);
                    }
                    _ => {
                        return self.drive(w, acts.xb16, self.cols, t, k.bf16_row, None, out, rows);
                    }
                };
                return self.drive(w, acts.a32, self.cols / 32, t, f, None, out, rows);
            }
        };
        self.drive(w, acts.a256, self.cols / 256, t, f, f4, out, rows);
    }

    /// The output rows `r0..r1` of every token: `f` computes one row with one
    /// token; `f4`, when given, one row with four tokens (the prompt kernels).
    #[allow(clippy::too_many_arguments)]
    fn drive<A>(
        &self,
        w: &[u8],
        acts: &[A],
        per_row: usize,
        t: usize,
        f: RowFn<A>,
        f4: Option<Kernel4<A>>,
        out: OutPtr,
        rs: std::ops::Range<usize>,
    ) {
        let rows = self.rows;
        let a = |ti: usize| &acts[ti * per_row..(ti + 1) * per_row];
        for tb in (0..t).step_by(TOKEN_TILE) {
            let te = (tb + TOKEN_TILE).min(t);
            for r in rs.clone() {
                let wr = &w[r * self.row_bytes..(r + 1) * self.row_bytes];
                if r + PREFETCH_ROWS < rs.end {
                    let ahead = (r + PREFETCH_ROWS) * self.row_bytes;
                    prefetch(&w[ahead..ahead + self.row_bytes]);
                }
                // SAFETY (this and the calls below): the kernels come from a
                // table `tables()` found the CPU features for; `wr` and the
                // activations hold matching whole blocks. The output index is
                // inside the output (checked by `matmul_many_into`) and
                // written by this task alone (its rows).
                let put = |ti: usize, v: f32| unsafe { *out.0.add(ti * rows + r) = v };
                let mut ti = tb;
                if let Some(f4) = f4 {
                    while ti + 4 <= te {
                        let v = unsafe { f4(wr, [a(ti), a(ti + 1), a(ti + 2), a(ti + 3)]) };
                        for (k, v) in v.into_iter().enumerate() {
                            put(ti + k, v);
                        }
                        ti += 4;
                    }
                }
                for ti in ti..te {
                    put(ti, unsafe { f(wr, a(ti)) });
                }
            }
        }
    }
}

/// Rows ahead whose bytes are asked for before a row is multiplied: a
/// kernel with a long body per block (Q4_K's scales, Q4_0's small blocks)
/// keeps too few cache lines in flight to stream the weights from memory
/// at the rate it computes (measured: Q4_K 4.9 GB/s a core from memory,
/// 18 from L2).
const PREFETCH_ROWS: usize = 4;

/// Ask the CPU to bring `bytes` into its caches (a hint; nothing where the
/// architecture has no such instruction here).
#[inline]
fn prefetch(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    for line in bytes.chunks(64) {
        // SAFETY: a prefetch is a hint that reads nothing architecturally;
        // the address is inside `bytes`.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                line.as_ptr().cast(),
            )
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
}

/// Whether a kernel set has panel kernels of `R` rows that take `format`.
fn takes<const R: usize>(panels: Option<Panels<R>>, format: Format) -> bool {
    panels.is_some_and(|(_, _, takes)| takes(format))
}

/// The ways a product runs (see `QWeight::prompt_path`).
enum Prompt {
    Panel,
    Panel16,
    Rows,
    Blocks,
}

/// Rows per task: about four tasks a thread, a multiple of `step`.
fn row_chunk(rows: usize, step: usize) -> usize {
    let threads = rayon::current_num_threads().max(1);
    rows.div_ceil(threads * 4)
        .clamp(8, 4096)
        .next_multiple_of(step)
}

/// Buffers for quantized activations, kept between products so that a
/// decode step allocates nothing once they have grown to the model's widths.
#[derive(Default)]
pub struct ActBuf {
    a32: Vec<A32>,
    /// `a32`'s quants plus 128, as unsigned bytes (for the panel kernels;
    /// filled for prompts only).
    a32u: Vec<[u8; 32]>,
    /// `a256` cut into 32-value blocks, and as unsigned bytes (for the
    /// panels of 256-value formats; prompts only).
    k32: Vec<A32>,
    k32u: Vec<[u8; 32]>,
    a256: Vec<A256>,
    /// The activations rounded to f16 and to bf16: ggml multiplies F16 and
    /// BF16 weights by activations in their own type.
    x16: Vec<f32>,
    xb16: Vec<f32>,
    /// Every token gets the bits the one-token kernels give it alone
    /// (verifying a drafted run): the unpacked Q5_0/Q8_0 prompt path, whose
    /// sums round differently, is not taken.
    pub per_token: bool,
}

/// The activations quantized once for every weight that takes them.
struct Acts<'a> {
    x16: &'a [f32],
    xb16: &'a [f32],
    t: usize,
    a32: &'a [A32],
    a32u: &'a [[u8; 32]],
    k32: &'a [A32],
    k32u: &'a [[u8; 32]],
    a256: &'a [A256],
    per_token: bool,
}

impl ActBuf {
    /// A buffer for products that give every token its lone product's bits.
    pub fn per_token() -> ActBuf {
        ActBuf {
            per_token: true,
            ..ActBuf::default()
        }
    }
    /// Room for `values` activations (tokens × widest input) in every
    /// quantized form, so products that size allocate nothing.
    pub fn reserve(&mut self, values: usize) {
        self.a32
            .reserve((values / 32).saturating_sub(self.a32.len()));
        self.a256
            .reserve((values / 256).saturating_sub(self.a256.len()));
        self.x16.reserve(values.saturating_sub(self.x16.len()));
        self.xb16.reserve(values.saturating_sub(self.xb16.len()));
    }

    /// `panels`: the kernels have panel kernels (which take the activations
    /// as unsigned bytes too, and the K-quants' cut into 32s).
    fn quantize<'a>(
        &'a mut self,
        ws: &[&QWeight],
        x: &'a [f32],
        t: usize,
        panels: bool,
    ) -> Acts<'a> {
        let cols = ws[0].cols;
        for w in ws {
            assert_eq!(w.cols, cols, "weights sharing an input have its width");
        }
        assert_eq!(x.len(), t * cols, "activation shape");
        let any = |f: fn(Format) -> bool| ws.iter().any(|w| f(w.format));
        // The panels' forms of the activations, where a product may take them.
        let prompt = panel_prompt(t, self.per_token);
        let (n32, n256) = (
            if any(Format::b32) { t * cols / 32 } else { 0 },
            if any(Format::k) { t * cols / 256 } else { 0 },
        );
        self.a32.resize(n32, A32::ZERO);
        self.a256.resize(n256, A256::ZERO);
        quantize_rows(x, cols, t, &mut self.a32, act::quantize_a32);
        quantize_rows(x, cols, t, &mut self.a256, act::quantize_a256);
        self.a32u.clear();
        let flip = |a: &A32| a.qs.map(|q| (q as u8) ^ 0x80);
        if prompt && panels {
            self.a32u.extend(self.a32.iter().map(flip));
        }
        // The panels of IQ4_XS and the K-quants take the 256-value
        // activations (ggml's Q8_K: the same quants and scale) cut into 32s.
        self.k32.clear();
        self.k32u.clear();
        if prompt && panels && any(Format::k) {
            self.k32.extend(self.a256.iter().flat_map(|a| {
                (0..8).map(|j| A32 {
                    d: a.d,
                    // Q4_K/Q5_K's minimums weigh the sub-block's sum.
                    s: a.d * f32::from(a.bsums[2 * j] + a.bsums[2 * j + 1]),
                    // Q2_K's, each 16 values' sum.
                    s_hi: a.d * f32::from(a.bsums[2 * j + 1]),
                    qs: std::array::from_fn(|i| a.qs[32 * j + i]),
                })
            }));
            self.k32u.extend(self.k32.iter().map(flip));
        }
        let round = |out: &mut Vec<f32>, on: bool, f: fn(f32) -> f32| {
            out.clear();
            if on {
                out.extend(x.iter().map(|&v| f(v)));
            }
        };
        let has = |f: Format| ws.iter().any(|w| w.format == f);
        round(&mut self.x16, has(Format::F16), |v| {
            half::f16::from_f32(v).to_f32()
        });
        round(&mut self.xb16, has(Format::BF16), |v| {
            half::bf16::from_f32(v).to_f32()
        });
        Acts {
            x16: &self.x16,
            xb16: &self.xb16,
            t,
            a32: &self.a32,
            a32u: &self.a32u,
            k32: &self.k32,
            k32u: &self.k32u,
            a256: &self.a256,
            per_token: self.per_token,
        }
    }
}

/// Each token's row quantized into `out` (nothing when `out` is empty), the
/// rows shared out over the threads when there are many (a serial step here
/// would leave the other cores idle).
fn quantize_rows<A: Send>(
    x: &[f32],
    cols: usize,
    t: usize,
    out: &mut [A],
    q: fn(&[f32], &mut [A]),
) {
    if out.is_empty() {
        return;
    }
    let per_row = out.len() / t;
    let rows = x[..t * cols].chunks(cols).zip(out.chunks_mut(per_row));
    if t < 8 {
        rows.for_each(|(x, a)| q(x, a));
    } else {
        x[..t * cols]
            .par_chunks(cols)
            .zip(out.par_chunks_mut(per_row))
            .for_each(|(x, a)| q(x, a));
    }
}

/// Weights fused into one pass at most.
const MAX_FUSED: usize = 4;

/// Several weights that take the same input (a layer's Q, K and V, or its
/// gate and up), in one pass over the compute threads: the input quantized
/// once per kind, every block of rows of every weight one task of the same
/// parallel loop (no barrier between the products). Returns each weight's
/// `t` rows of its `rows` values.
pub fn matmul_many(ws: &[&QWeight], x: &[f32], t: usize) -> Vec<Vec<f32>> {
    let mut outs: Vec<Vec<f32>> = ws.iter().map(|w| vec![0f32; t * w.rows]).collect();
    let mut views: Vec<&mut [f32]> = outs.iter_mut().map(Vec::as_mut_slice).collect();
    matmul_many_into(table(), ws, x, t, &mut ActBuf::default(), &mut views);
    outs
}

/// `matmul_many` on the given kernels into the given outputs (each `t` rows
/// of its weight's `rows`), quantizing into `buf`: allocates nothing once
/// `buf` has grown.
pub fn matmul_many_into(
    k: &Table,
    ws: &[&QWeight],
    x: &[f32],
    t: usize,
    buf: &mut ActBuf,
    outs: &mut [&mut [f32]],
) {
    assert!(ws.len() <= MAX_FUSED && ws.len() == outs.len());
    let acts = buf.quantize(ws, x, t, k.panel.is_some() || k.panel16.is_some());
    let mut jobs = [(0usize, 0usize, OutPtr(std::ptr::null_mut())); MAX_FUSED];
    for ((job, w), out) in jobs.iter_mut().zip(ws).zip(outs.iter_mut()) {
        assert_eq!(out.len(), t * w.rows, "output shape");
        let (chunk, n) = w.tasks(k, &acts);
        *job = (chunk, n, OutPtr(out.as_mut_ptr()));
    }
    let jobs = &jobs[..ws.len()];
    let total: usize = jobs.iter().map(|j| j.1).sum();
    let run = |mut i: usize| {
        for (w, &(chunk, n, out)) in ws.iter().zip(jobs) {
            if i < n {
                return w.task(k, &acts, out, chunk, i);
            }
            i -= n;
        }
    };
    if total == 1 || rayon::current_num_threads() <= 1 {
        (0..total).for_each(run);
    } else {
        (0..total).into_par_iter().for_each(run);
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_ggml;

fn f16_bytes(v: &[half::f16]) -> &[u8] {
    // SAFETY: f16 is a plain 2-byte value; the byte view covers the same memory.
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast(), std::mem::size_of_val(v)) }
}

/// `Σ k[i] * q[i]` for an f16 row (a cached key) and f32 values.
pub fn dot_f16(k: &[half::f16], q: &[f32]) -> f32 {
    assert_eq!(k.len(), q.len());
    // SAFETY: the table's features were checked; lengths equal.
    unsafe { (table().f16_row)(f16_bytes(k), q) }
}

/// `acc[i] += a * v[i]` for an f16 row (a cached value).
pub fn axpy_f16(acc: &mut [f32], a: f32, v: &[half::f16]) {
    assert_eq!(acc.len(), v.len());
    // SAFETY: the table's features were checked; lengths equal.
    unsafe { (table().axpy_f16)(acc, a, f16_bytes(v)) }
}
