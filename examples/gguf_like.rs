//! A GGUF with another's metadata, tensor names, shapes and formats, and
//! random weights: for timing a model where its file cannot be copied (the
//! GPU benchmark machine takes 64 MiB; the weights are not what is timed).
//!
//!   gguf_like recipe MODEL.gguf RECIPE.gguf   metadata + tensor list, no weights
//!   gguf_like build RECIPE.gguf OUT.gguf      random weights in those formats
//!
//! The recipe is itself a GGUF with no tensors; the list is its metadata key
//! `locus.recipe` (lines of `name dtype dim,dim,...`).

use std::fs::File;
use std::io::{BufReader, BufWriter};

use anyhow::{Context, Result, bail};
use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};

const KEY: &str = "locus.recipe";

fn dtype(name: &str) -> Result<GgmlDType> {
    use GgmlDType::*;
    let all = [
        F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2K, Q3K, Q4K, Q5K, Q6K, Q8K,
    ];
    all.into_iter()
        .find(|d| format!("{d:?}") == name)
        .with_context(|| format!("unknown tensor format {name}"))
}

fn read(path: &str) -> Result<gguf_file::Content> {
    let mut r = BufReader::new(File::open(path).with_context(|| path.to_string())?);
    Ok(gguf_file::Content::read(&mut r)?)
}

fn write(path: &str, meta: &[(String, Value)], tensors: &[(String, QTensor)]) -> Result<()> {
    let mut w = BufWriter::new(File::create(path).with_context(|| path.to_string())?);
    let meta: Vec<(&str, &Value)> = meta.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let tensors: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    gguf_file::write(&mut w, &meta, &tensors)?;
    Ok(())
}

fn recipe(model: &str, out: &str) -> Result<()> {
    let c = read(model)?;
    let mut names: Vec<_> = c.tensor_infos.iter().collect();
    names.sort_by_key(|(_, t)| t.offset);
    let list: Vec<String> = names
        .iter()
        .map(|(n, t)| {
            let dims: Vec<String> = t.shape.dims().iter().map(|d| d.to_string()).collect();
            format!("{n} {:?} {}", t.ggml_dtype, dims.join(","))
        })
        .collect();
    let mut meta: Vec<(String, Value)> = c.metadata.into_iter().collect();
    meta.push((KEY.into(), Value::String(list.join("\n"))));
    write(out, &meta, &[])
}

fn build(recipe: &str, out: &str) -> Result<()> {
    let c = read(recipe)?;
    let list = c
        .metadata
        .get(KEY)
        .with_context(|| format!("{recipe} has no {KEY}"))?
        .to_string()?
        .clone();
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut tensors = Vec::new();
    for line in list.lines() {
        let [name, dt, dims] = line.split(' ').collect::<Vec<_>>()[..] else {
            bail!("bad recipe line {line}");
        };
        let dims: Vec<usize> = dims.split(',').map(str::parse).collect::<Result<_, _>>()?;
        let n: usize = dims.iter().product();
        let vals: Vec<f32> = (0..n)
            .map(|_| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.1
            })
            .collect();
        let t = Tensor::from_vec(vals, dims, &Device::Cpu)?;
        tensors.push((name.to_string(), QTensor::quantize(&t, dtype(dt)?)?));
    }
    let meta: Vec<(String, Value)> = c.metadata.into_iter().filter(|(k, _)| k != KEY).collect();
    write(out, &meta, &tensors)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["recipe", model, out] => recipe(model, out),
        ["build", recipe_path, out] => build(recipe_path, out),
        _ => bail!("usage: gguf_like recipe MODEL.gguf RECIPE.gguf | build RECIPE.gguf OUT.gguf"),
    }
}
