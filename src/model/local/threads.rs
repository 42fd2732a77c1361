//! How many threads the runtime computes with: `--threads`/config when given,
//! otherwise the number of physical cores (hyper-threads slow matmuls down).

use std::sync::Once;

static INIT: Once = Once::new();

/// Physical cores (`num_cpus`, on every OS), at most the CPUs this process
/// may use (affinity, cgroup quotas).
pub fn physical_cores() -> usize {
    let usable = std::thread::available_parallelism().map_or(1, usize::from);
    num_cpus::get_physical().clamp(1, usable)
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

#[cfg(test)]
mod tests {
    #[test]
    fn physical_cores_are_within_what_the_process_may_use() {
        let n = super::physical_cores();
        let usable = std::thread::available_parallelism().map_or(1, usize::from);
        assert!((1..=usable).contains(&n), "{n} of {usable}");
        assert_eq!(n, num_cpus::get_physical().clamp(1, usable));
    }
}
