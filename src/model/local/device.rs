//! Which device the local runtime computes on (`[model] device`), said in
//! one word for the status bar and one line for `locus doctor`: a fall
//! back to the CPU is always said, never silent.

use candle_core::Device;

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error(
        "[model] device = {0:?}: expected \"auto\", \"cpu\", \"cuda\", \"cuda:N\", \"metal\" or \"metal:N\""
    )]
    Unknown(String),
    #[error(
        "[model] device = {spec:?}: this build of locus has no {what} support; rebuild with \
         `--features {feature}` (see README) or set device = \"auto\""
    )]
    NotBuilt {
        spec: String,
        what: &'static str,
        feature: &'static str,
    },
    #[error("[model] device = {spec:?}: {message}")]
    Unavailable { spec: String, message: String },
}

const FELL_BACK: &str = "fell back:";

/// The device chosen: `short` names it ("cpu", "cuda:0"); `why` says why
/// an `auto` choice is the CPU.
pub struct Chosen {
    pub device: Device,
    pub short: String,
    pub why: Option<String>,
}

impl Chosen {
    /// Why the CPU runs the model when a GPU was looked for and not found
    /// (not when the build has no GPU support: then the CPU is the plan).
    pub fn fallback(&self) -> Option<&str> {
        self.why.as_deref().filter(|w| w.starts_with(FELL_BACK))
    }

    /// One line: the device, and why when it is a fall back.
    pub fn line(&self) -> String {
        match &self.why {
            Some(why) => format!("{} ({why})", self.short),
            None => self.short.clone(),
        }
    }
}

/// What `spec` asks for: `None` is auto, `Some(None)` the CPU, else a GPU
/// kind and its ordinal.
fn parse(spec: &str) -> Result<Option<Option<(&'static str, usize)>>, DeviceError> {
    let unknown = || DeviceError::Unknown(spec.into());
    let (kind, ordinal) = match spec.split_once(':') {
        Some((k, n)) => (k, n.parse::<usize>().map_err(|_| unknown())?),
        None => (spec, 0),
    };
    Ok(match kind {
        "auto" if !spec.contains(':') => None,
        "cpu" if !spec.contains(':') => Some(None),
        "cuda" => Some(Some(("cuda", ordinal))),
        "metal" => Some(Some(("metal", ordinal))),
        _ => return Err(unknown()),
    })
}

/// The device for `spec` (`LOCUS_DEVICE`, when set, stands in for it). A
/// GPU asked for by name that this build or machine lacks is an error; one
/// `auto` finds none of is the CPU, with why.
pub fn select(spec: &str) -> Result<Chosen, DeviceError> {
    let env = std::env::var("LOCUS_DEVICE").ok().filter(|v| !v.is_empty());
    let spec = env.as_deref().unwrap_or(spec);
    let cpu = |why: Option<String>| Chosen {
        device: Device::Cpu,
        short: "cpu".into(),
        why,
    };
    match parse(spec)? {
        Some(None) => Ok(cpu(None)),
        Some(Some((kind, n))) => gpu(kind, n).map_err(|e| match e {
            Gpu::NotBuilt(what, feature) => DeviceError::NotBuilt {
                spec: spec.into(),
                what,
                feature,
            },
            Gpu::Failed(message) => DeviceError::Unavailable {
                spec: spec.into(),
                message,
            },
        }),
        None => {
            let mut tried = Vec::new();
            for kind in ["cuda", "metal"] {
                match gpu(kind, 0) {
                    Ok(c) => return Ok(c),
                    Err(Gpu::Failed(m)) => tried.push(format!("no {kind} device: {m}")),
                    Err(Gpu::NotBuilt(..)) => {}
                }
            }
            Ok(cpu(Some(if tried.is_empty() {
                "this build has no GPU support: --features cuda or metal".into()
            } else {
                format!("{FELL_BACK} {}", tried.join("; "))
            })))
        }
    }
}

enum Gpu {
    NotBuilt(&'static str, &'static str),
    #[cfg_attr(not(any(feature = "cuda", feature = "metal")), allow(dead_code))]
    Failed(String),
}

fn gpu(kind: &str, n: usize) -> Result<Chosen, Gpu> {
    let device: Result<Device, Gpu> = match kind {
        #[cfg(feature = "cuda")]
        "cuda" => Device::new_cuda(n).map_err(|e| Gpu::Failed(e.to_string())),
        #[cfg(not(feature = "cuda"))]
        "cuda" => Err(Gpu::NotBuilt("CUDA", "cuda")),
        #[cfg(feature = "metal")]
        "metal" => Device::new_metal(n).map_err(|e| Gpu::Failed(e.to_string())),
        _ => Err(Gpu::NotBuilt("Metal", "metal")),
    };
    device.map(|device| Chosen {
        device,
        short: format!("{kind}:{n}"),
        why: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_bad_ones_say_what_is_expected() {
        assert!(matches!(parse("auto"), Ok(None)));
        assert!(matches!(parse("cpu"), Ok(Some(None))));
        assert!(matches!(parse("cuda:1"), Ok(Some(Some(("cuda", 1))))));
        assert!(matches!(parse("metal"), Ok(Some(Some(("metal", 0))))));
        for bad in ["gpu", "cuda:x", "cpu:0", "auto:1", ""] {
            let e = parse(bad).err().unwrap().to_string();
            assert!(e.contains("expected \"auto\""), "{bad}: {e}");
        }
    }

    #[test]
    fn only_a_gpu_looked_for_and_not_found_is_a_fall_back_to_say() {
        let chosen = |why: &str| Chosen {
            device: Device::Cpu,
            short: "cpu".into(),
            why: Some(why.into()),
        };
        let c = chosen("fell back: no cuda device: driver not found");
        assert_eq!(
            c.fallback(),
            Some("fell back: no cuda device: driver not found")
        );
        assert_eq!(
            chosen("this build has no GPU support: --features cuda or metal").fallback(),
            None
        );
        // Without GPU support auto is the CPU, and no fall back.
        if !cfg!(any(feature = "cuda", feature = "metal")) {
            assert!(select("auto").unwrap().fallback().is_none());
        }
    }
}
