//! The header of a GGUF file: its metadata and tensor table, read from the
//! bytes with every length checked against what is left (a model file is
//! untrusted input: a crafted count must not allocate gigabytes, a
//! truncated file must not panic). Tensor types are kept as ggml's ids, so
//! a file with a type locus does not run still opens and names it.

use std::collections::HashMap;

use candle_core::quantized::gguf_file::Value;

use super::tensor_type::TensorType;

#[derive(Debug)]
pub struct TensorInfo {
    pub ty: TensorType,
    /// Outermost first, as candle orders them (`[rows, cols]` for a matrix).
    pub dims: Vec<usize>,
    /// From the start of the tensor data.
    pub offset: u64,
}

impl TensorInfo {
    pub fn elements(&self) -> usize {
        self.dims.iter().product()
    }

    /// Bytes in the file; `None` for a type locus does not run.
    pub fn bytes(&self) -> Option<usize> {
        let (values, bytes) = self.ty.block()?;
        Some(self.elements() / values * bytes)
    }
}

#[derive(Debug)]
pub struct Header {
    pub metadata: HashMap<String, Value>,
    pub tensors: HashMap<String, TensorInfo>,
    /// Where the tensor data starts in the file.
    pub data_offset: u64,
}

/// Arrays nested deeper than this are refused.
const MAX_DEPTH: usize = 4;
/// ggml's GGML_MAX_DIMS.
const MAX_DIMS: usize = 4;

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
    /// Version 1 wrote 32-bit counts and lengths.
    v1: bool,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.b.len());
        let end = end.ok_or_else(|| format!("the header ends early (at byte {})", self.pos))?;
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        Ok(self.take(N)?.try_into().expect("took N bytes"))
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// A count or length: at most what is left of the file (every item
    /// takes at least one byte), so nothing is allocated for bytes that are
    /// not there.
    fn count(&mut self) -> Result<usize, String> {
        let n = if self.v1 {
            u64::from(self.u32()?)
        } else {
            self.u64()?
        };
        let left = (self.b.len() - self.pos) as u64;
        if n > left {
            return Err(format!(
                "a count of {n} at byte {} is more than the {left} bytes left",
                self.pos
            ));
        }
        Ok(n as usize)
    }

    fn string(&mut self) -> Result<String, String> {
        let n = self.count()?;
        let at = self.pos;
        let s = self.take(n)?;
        String::from_utf8(s.to_vec()).map_err(|_| format!("the string at byte {at} is not UTF-8"))
    }

    fn value(&mut self, ty: u32, depth: usize) -> Result<Value, String> {
        Ok(match ty {
            0 => Value::U8(self.array::<1>()?[0]),
            1 => Value::I8(self.array::<1>()?[0] as i8),
            2 => Value::U16(u16::from_le_bytes(self.array()?)),
            3 => Value::I16(i16::from_le_bytes(self.array()?)),
            4 => Value::U32(self.u32()?),
            5 => Value::I32(i32::from_le_bytes(self.array()?)),
            6 => Value::F32(f32::from_le_bytes(self.array()?)),
            7 => Value::Bool(self.array::<1>()?[0] != 0),
            8 => Value::String(self.string()?),
            9 => {
                if depth >= MAX_DEPTH {
                    return Err("metadata arrays are nested too deeply".into());
                }
                let inner = self.u32()?;
                let n = self.count()?;
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    v.push(self.value(inner, depth + 1)?);
                }
                Value::Array(v)
            }
            10 => Value::U64(self.u64()?),
            11 => Value::I64(i64::from_le_bytes(self.array()?)),
            12 => Value::F64(f64::from_le_bytes(self.array()?)),
            t => return Err(format!("unknown metadata value type {t}")),
        })
    }
}

/// Read the header of a GGUF file held in `b`.
pub fn read(b: &[u8]) -> Result<Header, String> {
    let mut r = Reader {
        b,
        pos: 0,
        v1: false,
    };
    if r.take(4)? != b"GGUF" {
        return Err("no GGUF magic".into());
    }
    let version = r.u32()?;
    match version {
        1 => r.v1 = true,
        2 | 3 => {}
        v => return Err(format!("GGUF version {v} is not one locus reads (1-3)")),
    }
    let n_tensors = r.count()?;
    let n_kv = r.count()?;
    let mut metadata = HashMap::with_capacity(n_kv.min(4096));
    for _ in 0..n_kv {
        let key = r.string()?;
        let ty = r.u32()?;
        let v = r
            .value(ty, 0)
            .map_err(|e| format!("metadata `{key}`: {e}"))?;
        metadata.insert(key, v);
    }
    let mut tensors = HashMap::with_capacity(n_tensors.min(1 << 16));
    for _ in 0..n_tensors {
        let name = r.string()?;
        let n_dims = r.u32()? as usize;
        if n_dims == 0 || n_dims > MAX_DIMS {
            return Err(format!("tensor {name} has {n_dims} dimensions"));
        }
        let mut dims = Vec::with_capacity(n_dims);
        for _ in 0..n_dims {
            let d = if r.v1 { u64::from(r.u32()?) } else { r.u64()? };
            dims.push(usize::try_from(d).map_err(|_| format!("tensor {name} is too large"))?);
        }
        dims.reverse();
        let elements = dims
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .filter(|&n| n <= (1 << 40))
            .ok_or_else(|| format!("tensor {name} is too large"))?;
        let ty = TensorType::from_id(r.u32()?);
        let offset = r.u64()?;
        if let Some((values, _)) = ty.block()
            && (dims.last().copied().unwrap_or(0) % values != 0 || elements == 0)
        {
            return Err(format!(
                "tensor {name} ({ty}, {dims:?}) is not whole blocks of {values}"
            ));
        }
        tensors.insert(name, TensorInfo { ty, dims, offset });
    }
    let alignment = match metadata.get("general.alignment") {
        Some(Value::U32(a)) => u64::from(*a),
        Some(Value::U64(a)) => *a,
        _ => 32,
    };
    if alignment == 0 || !alignment.is_power_of_two() {
        return Err(format!(
            "general.alignment {alignment} is not a power of two"
        ));
    }
    let data_offset = (r.pos as u64).next_multiple_of(alignment);
    Ok(Header {
        metadata,
        tensors,
        data_offset,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(tensor_type: u32, count: u64) -> Vec<u8> {
        let mut b = b"GGUF".to_vec();
        b.extend(3u32.to_le_bytes());
        b.extend(1u64.to_le_bytes()); // tensors
        b.extend(1u64.to_le_bytes()); // metadata
        let key = b"general.architecture";
        b.extend((key.len() as u64).to_le_bytes());
        b.extend(key);
        b.extend(8u32.to_le_bytes());
        b.extend(6u64.to_le_bytes());
        b.extend(b"gemma4");
        let name = b"blk.0.ffn_down.weight";
        b.extend((name.len() as u64).to_le_bytes());
        b.extend(name);
        b.extend(2u32.to_le_bytes());
        b.extend(count.to_le_bytes());
        b.extend(4u64.to_le_bytes());
        b.extend(tensor_type.to_le_bytes());
        b.extend(0u64.to_le_bytes());
        b
    }

    #[test]
    fn reads_types_candle_does_not_know() {
        let h = read(&header(23, 256)).unwrap();
        let t = &h.tensors["blk.0.ffn_down.weight"];
        assert_eq!(
            (t.ty, t.dims.clone(), t.bytes()),
            (TensorType::IQ4XS, vec![4, 256], Some(544))
        );
        assert!(matches!(&h.metadata["general.architecture"], Value::String(s) if s == "gemma4"));
        assert_eq!(h.data_offset % 32, 0);
        let other = read(&header(16, 256)).unwrap();
        assert_eq!(other.tensors["blk.0.ffn_down.weight"].ty.name(), "IQ2_XXS");
    }

    #[test]
    fn refuses_hostile_headers_without_panicking() {
        let good = header(12, 256);
        for cut in 0..good.len() {
            assert!(read(&good[..cut]).is_err(), "cut at {cut}");
        }
        // A count far beyond the file allocates nothing.
        let mut huge = good.clone();
        huge[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(read(&huge).unwrap_err().contains("more than"));
        // Not whole blocks.
        assert!(read(&header(12, 100)).unwrap_err().contains("whole blocks"));
        // Dimensions whose product overflows.
        let mut b = header(0, u64::MAX / 2);
        let at = b.len() - 8 - 4 - 8;
        b[at..at + 8].copy_from_slice(&(u64::MAX / 2).to_le_bytes());
        assert!(read(&b).is_err());
    }
}
