//! A weight matrix as the decoder uses it: locus's CPU kernels where they
//! cover the format, candle's `QMatMul` otherwise (GPU devices, f32 weights,
//! formats without a kernel here).

use std::sync::Arc;

use candle_core::quantized::{QMatMul, QTensor};
use candle_core::{DType, Device, Module, Tensor};

use super::LocalError;
use super::gguf::Gguf;
use super::kernels::{ActBuf, QWeight, enabled, matmul_many, matmul_many_into, qweight, table};

pub enum Linear {
    Own(QWeight),
    Candle(QMatMul),
}

impl Linear {
    pub fn new(t: QTensor) -> Result<Linear, LocalError> {
        Linear::from_arc(Arc::new(t))
    }

    /// The weight matrix `name` of `g`: a type candle has no storage for
    /// (IQ4_NL, IQ4_XS) goes to locus's kernels straight from the file's
    /// bytes on the CPU, and is dequantized to F16 for candle elsewhere.
    pub fn load(g: &Gguf, name: &str, device: &Device) -> Result<Linear, LocalError> {
        let raw_type = g
            .dtype(name)
            .is_some_and(|t| t.runs() && t.candle().is_none());
        if raw_type
            && device.is_cpu()
            && enabled()
            && let Some(w) = g.raw(name)?
        {
            let shape = format!("{}x{} {:?}", w.rows, w.cols, w.format);
            return QWeight::from_bytes(w.format, w.rows, w.cols, w.bytes)
                .map(Linear::Own)
                .ok_or_else(|| LocalError::Format {
                    path: g.path.clone(),
                    message: format!("tensor {name} ({shape}) is not whole rows of blocks"),
                });
        }
        Linear::new(g.tensor(name, device)?)
    }

    pub fn from_arc(t: Arc<QTensor>) -> Result<Linear, LocalError> {
        Ok(match qweight(t.clone()) {
            Some(w) => Linear::Own(w),
            None => Linear::Candle(QMatMul::from_arc(t)?),
        })
    }

    /// `x` [..., cols] -> [..., rows].
    pub fn forward(&self, x: &Tensor) -> Result<Tensor, LocalError> {
        match self {
            Linear::Candle(m) => Ok(m.forward(x)?),
            Linear::Own(w) => Ok(products(&[w], x)?.remove(0)),
        }
    }

    /// Several weights applied to the same `x` (a layer's Q/K/V, its gate and
    /// up): one pass over the compute threads when locus's kernels run them
    /// all, else one product each.
    pub fn forward_many(ls: &[&Linear], x: &Tensor) -> Result<Vec<Tensor>, LocalError> {
        let own: Option<Vec<&QWeight>> = ls
            .iter()
            .map(|l| match l {
                Linear::Own(w) => Some(w),
                Linear::Candle(_) => None,
            })
            .collect();
        let Some(ws) = own.filter(|_| fuse()) else {
            return ls.iter().map(|l| l.forward(x)).collect();
        };
        products(&ws, x)
    }

    /// `forward_many` on slices: `x` holds `t` rows; each output `t` rows of
    /// its weight's rows. Allocates nothing when locus's kernels run every
    /// weight and `buf` has grown (candle's products go through tensors).
    pub fn forward_into(
        ls: &[&Linear],
        x: &[f32],
        t: usize,
        outs: &mut [&mut [f32]],
        buf: &mut ActBuf,
    ) -> Result<(), LocalError> {
        assert!(!ls.is_empty() && ls.len() == outs.len());
        let own = |i: usize| match ls.get(i) {
            Some(Linear::Own(w)) => Some(w),
            _ => None,
        };
        if fuse() && ls.len() <= 4 && (0..ls.len()).all(|i| own(i).is_some()) {
            let ws: [&QWeight; 4] =
                std::array::from_fn(|i| own(i.min(ls.len() - 1)).expect("checked above"));
            matmul_many_into(table(), &ws[..ls.len()], x, t, buf, outs);
            return Ok(());
        }
        for (l, out) in ls.iter().zip(outs.iter_mut()) {
            match l {
                Linear::Own(w) => matmul_many_into(table(), &[w], x, t, buf, &mut [&mut **out]),
                Linear::Candle(m) => {
                    let xt = Tensor::from_slice(x, (t, x.len() / t), &candle_core::Device::Cpu)?;
                    let y = m.forward(&xt)?.flatten_all()?.to_vec1::<f32>()?;
                    out.copy_from_slice(&y);
                }
            }
        }
        Ok(())
    }
}

/// `x` [..., cols] through each weight -> [..., rows] each, in one pass.
fn products(ws: &[&QWeight], x: &Tensor) -> Result<Vec<Tensor>, LocalError> {
    let t = x.elem_count() / ws[0].cols;
    let v = x.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
    let outs = matmul_many(ws, &v, t);
    let mut dims = x.dims().to_vec();
    ws.iter()
        .zip(outs)
        .map(|(w, out)| {
            if let Some(last) = dims.last_mut() {
                *last = w.rows;
            }
            Ok(Tensor::from_vec(out, dims.clone(), x.device())?)
        })
        .collect()
}

/// Whether `forward_many` fuses (`LOCUS_FUSE=0` runs the products one by
/// one, for comparisons).
fn fuse() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var("LOCUS_FUSE").map_or(true, |v| v != "0"))
}
