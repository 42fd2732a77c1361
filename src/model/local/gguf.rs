//! Reading a GGUF file: metadata with the architecture prefix resolved, and
//! tensors read straight out of a memory map into candle's quantized storage
//! (no f32 copy of anything that is stored quantized).

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use candle_core::Device;
use candle_core::quantized::gguf_file::Value;
use candle_core::quantized::{GgmlDType, QTensor, ggml_file};

use super::LocalError;
use super::gguf_header::{self, TensorInfo};
use super::kernels::{Format, dequant, format_of};
use super::tensor_type::TensorType;

pub struct Gguf {
    pub path: PathBuf,
    pub metadata: HashMap<String, Value>,
    pub tensors: HashMap<String, TensorInfo>,
    data_offset: u64,
    map: memmap2::Mmap,
}

impl Gguf {
    pub fn open(path: &Path) -> Result<Gguf, LocalError> {
        let file = File::open(path).map_err(|e| LocalError::Io {
            path: path.into(),
            source: e,
        })?;
        // SAFETY: the map is read-only; a model file changed underneath a running
        // process is outside what any inference runtime can defend against.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| LocalError::Io {
            path: path.into(),
            source: e,
        })?;
        if map.len() < 4 || &map[..4] != b"GGUF" {
            return Err(LocalError::NotGguf(path.into()));
        }
        let header = gguf_header::read(&map).map_err(|message| LocalError::Format {
            path: path.into(),
            message,
        })?;
        Ok(Gguf {
            path: path.into(),
            metadata: header.metadata,
            tensors: header.tensors,
            data_offset: header.data_offset,
            map,
        })
    }

    /// The `general.architecture` string.
    pub fn arch(&self) -> Result<&str, LocalError> {
        self.str("general.architecture")
    }

    fn missing(&self, key: &str) -> LocalError {
        LocalError::MissingKey {
            path: self.path.clone(),
            key: key.into(),
        }
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.metadata.get(key)
    }

    pub fn str(&self, key: &str) -> Result<&str, LocalError> {
        match self.get(key) {
            Some(Value::String(s)) => Ok(s),
            _ => Err(self.missing(key)),
        }
    }

    /// Any integer value as u64.
    pub fn u64(&self, key: &str) -> Result<u64, LocalError> {
        let v = self.get(key).ok_or_else(|| self.missing(key))?;
        v.to_u64()
            .or_else(|_| v.to_u32().map(u64::from))
            .or_else(|_| v.to_i32().map(|x| x as u64))
            .or_else(|_| v.to_i64().map(|x| x as u64))
            .or_else(|_| v.to_u16().map(u64::from))
            .or_else(|_| v.to_u8().map(u64::from))
            .map_err(|_| self.wrong(key, "an integer"))
    }

    pub fn f32(&self, key: &str) -> Result<f32, LocalError> {
        let v = self.get(key).ok_or_else(|| self.missing(key))?;
        v.to_f32()
            .or_else(|_| v.to_f64().map(|x| x as f32))
            .map_err(|_| self.wrong(key, "a float"))
    }

    pub fn bool(&self, key: &str) -> Result<bool, LocalError> {
        let v = self.get(key).ok_or_else(|| self.missing(key))?;
        v.to_bool().map_err(|_| self.wrong(key, "a bool"))
    }

    pub fn array(&self, key: &str) -> Result<&Vec<Value>, LocalError> {
        let v = self.get(key).ok_or_else(|| self.missing(key))?;
        v.to_vec().map_err(|_| self.wrong(key, "an array"))
    }

    /// An integer key that may also be a per-layer array; always `n` values.
    pub fn u64_per_layer(&self, key: &str, n: usize) -> Result<Vec<u64>, LocalError> {
        match self.get(key) {
            Some(Value::Array(a)) => {
                if a.len() != n {
                    return Err(self.wrong(key, &format!("an array of {n} values")));
                }
                a.iter()
                    .map(|v| {
                        v.to_u32()
                            .map(u64::from)
                            .or_else(|_| v.to_i32().map(|x| x as u64))
                            .or_else(|_| v.to_u64())
                    })
                    .collect::<Result<_, _>>()
                    .map_err(|_| self.wrong(key, "integers"))
            }
            Some(_) => Ok(vec![self.u64(key)?; n]),
            None => Err(self.missing(key)),
        }
    }

    fn wrong(&self, key: &str, want: &str) -> LocalError {
        LocalError::Format {
            path: self.path.clone(),
            message: format!("metadata `{key}` is not {want}"),
        }
    }

    pub fn has_tensor(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    /// Bytes the tensor occupies in the file (`None` for a type locus
    /// does not run).
    pub fn tensor_bytes(&self, name: &str) -> Option<usize> {
        self.tensors.get(name)?.bytes()
    }

    pub fn dtype(&self, name: &str) -> Option<TensorType> {
        self.tensors.get(name).map(|i| i.ty)
    }

    /// The tensor's bytes in the map, its type checked to be one locus runs.
    fn bytes(&self, name: &str) -> Result<(&TensorInfo, &[u8], usize), LocalError> {
        let info = self
            .tensors
            .get(name)
            .ok_or_else(|| LocalError::MissingTensor {
                path: self.path.clone(),
                name: name.into(),
            })?;
        let size = info.bytes().ok_or_else(|| LocalError::UnsupportedType {
            path: self.path.clone(),
            detail: format!("tensor {name} has type {}", info.ty),
        })?;
        let start = usize::try_from(self.data_offset + info.offset).unwrap_or(usize::MAX);
        let bytes = start
            .checked_add(size)
            .and_then(|end| self.map.get(start..end))
            .ok_or_else(|| LocalError::Format {
                path: self.path.clone(),
                message: format!(
                    "tensor {name} extends past the end of the file (truncated download?)"
                ),
            })?;
        Ok((info, bytes, start))
    }

    /// Load one tensor onto `device`, copying its bytes out of the map. A
    /// type candle has no storage for (IQ4_NL, IQ4_XS) is dequantized to
    /// F16 here; weight matrices of those types load with `raw` instead.
    pub fn tensor(&self, name: &str, device: &Device) -> Result<QTensor, LocalError> {
        let (info, bytes, start) = self.bytes(name)?;
        let fail = |e: candle_core::Error| LocalError::Format {
            path: self.path.clone(),
            message: format!("tensor {name}: {e}"),
        };
        let t = match info.ty.candle() {
            Some(dtype) => ggml_file::qtensor_from_ggml(dtype, bytes, info.dims.clone(), device),
            None => {
                let format = format_of(info.ty).expect("every type locus runs has a format");
                let mut values = vec![0f32; info.elements()];
                dequant::row(format, bytes, &mut values);
                let half: Vec<u8> = values
                    .iter()
                    .flat_map(|v| half::f16::from_f32(*v).to_le_bytes())
                    .collect();
                ggml_file::qtensor_from_ggml(GgmlDType::F16, &half, info.dims.clone(), device)
            }
        }
        .map_err(fail)?;
        self.release(start, bytes.len());
        Ok(t)
    }

    /// A weight matrix's bytes as stored, with its format and [rows, cols],
    /// for locus's kernels; `None` when its type is not one they run or it
    /// is not a matrix.
    pub fn raw(&self, name: &str) -> Result<Option<RawWeight>, LocalError> {
        let (info, bytes, start) = self.bytes(name)?;
        let (Some(format), &[rows, cols]) = (format_of(info.ty), &info.dims[..]) else {
            return Ok(None);
        };
        let w = RawWeight {
            format,
            rows,
            cols,
            bytes: bytes.to_vec(),
        };
        self.release(start, bytes.len());
        Ok(Some(w))
    }

    /// Drop the mapped pages of a range already copied out, so loading a model
    /// never holds the file's pages and the copied weights at the same time
    /// (for a 7 GB model that difference decides whether it fits in 16 GB).
    fn release(&self, start: usize, len: usize) {
        #[cfg(not(unix))]
        let _ = (start, len);
        #[cfg(unix)]
        {
            const PAGE: usize = 4096;
            let from = start / PAGE * PAGE;
            let to = (start + len).div_ceil(PAGE) * PAGE;
            let to = to.min(self.map.len());
            if to > from {
                // SAFETY: the map is private and read-only; dropping its pages only
                // makes a later access re-read them from the file.
                let _ = unsafe {
                    self.map.unchecked_advise_range(
                        memmap2::UncheckedAdvice::DontNeed,
                        from,
                        to - from,
                    )
                };
            }
        }
    }

    /// Size of the whole file in bytes.
    pub fn file_size(&self) -> u64 {
        self.map.len() as u64
    }
}

/// A weight matrix's bytes as the file stores them.
pub struct RawWeight {
    pub format: Format,
    pub rows: usize,
    pub cols: usize,
    pub bytes: Vec<u8>,
}
