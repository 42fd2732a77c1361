//! A weight matrix as the decoder uses it: locus's CPU kernels where they
//! cover the format, candle's `QMatMul` otherwise (GPU devices, f32 weights,
//! formats without a kernel here).

use std::sync::Arc;

use candle_core::quantized::{QMatMul, QTensor};
use candle_core::{DType, Module, Tensor};

use super::LocalError;
use super::kernels::QWeight;

pub enum Linear {
    Own(QWeight),
    Candle(QMatMul),
}

impl Linear {
    pub fn new(t: QTensor) -> Result<Linear, LocalError> {
        Linear::from_arc(Arc::new(t))
    }

    pub fn from_arc(t: Arc<QTensor>) -> Result<Linear, LocalError> {
        Ok(match QWeight::new(t.clone()) {
            Some(w) => Linear::Own(w),
            None => Linear::Candle(QMatMul::from_arc(t)?),
        })
    }

    /// `x` [..., cols] -> [..., rows].
    pub fn forward(&self, x: &Tensor) -> Result<Tensor, LocalError> {
        match self {
            Linear::Candle(m) => Ok(m.forward(x)?),
            Linear::Own(w) => {
                let mut dims = x.dims().to_vec();
                let t = x.elem_count() / w.cols;
                let v = x.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
                let out = w.matmul(&v, t);
                if let Some(last) = dims.last_mut() {
                    *last = w.rows;
                }
                Ok(Tensor::from_vec(out, dims, x.device())?)
            }
        }
    }
}
