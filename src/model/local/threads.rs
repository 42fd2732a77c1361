//! How many threads the runtime computes with: `--threads`/config when given,
//! otherwise the number of physical cores (hyper-threads slow matmuls down).

use std::sync::Once;

static INIT: Once = Once::new();

/// Physical cores on Linux (distinct core ids per package), else logical CPUs.
pub fn physical_cores() -> usize {
    let logical = std::thread::available_parallelism().map_or(1, usize::from);
    let Ok(info) = std::fs::read_to_string("/proc/cpuinfo") else {
        return logical;
    };
    let mut cores = std::collections::BTreeSet::new();
    let (mut phys, mut core) = (None, None);
    for line in info.lines().chain(std::iter::once("")) {
        if line.trim().is_empty() {
            if let (Some(p), Some(c)) = (phys.take(), core.take()) {
                cores.insert((p, c));
            }
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            match k.trim() {
                "physical id" => phys = Some(v.trim().to_string()),
                "core id" => core = Some(v.trim().to_string()),
                _ => {}
            }
        }
    }
    if cores.is_empty() {
        logical
    } else {
        cores.len().min(logical)
    }
}

/// Size the compute thread pool once per process; 0 means physical cores.
pub fn init(threads: usize) {
    let n = if threads == 0 {
        physical_cores()
    } else {
        threads
    };
    INIT.call_once(|| {
        // candle's CPU kernels run on rayon's global pool, and its gemm reads
        // RAYON_NUM_THREADS on every call.
        // SAFETY: called before the runtime starts any thread; nothing else in
        // locus reads or writes the environment concurrently at that point.
        unsafe { std::env::set_var("RAYON_NUM_THREADS", n.to_string()) };
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global();
    });
}
