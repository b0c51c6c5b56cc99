//! How many ONNX Runtime threads a session gets.
//!
//! ONNX Runtime starts every intra-op thread it is asked for and spins them while they wait:
//! more threads than cores only oversubscribe the machine (`--threads 64` on 2 cores ran 20 times
//! slower than 2), and a huge count crashes inside ONNX Runtime's thread pool (`threads = 100000`
//! was a SIGSEGV). So a request above [`max_threads`] is capped to it, with a note for the user,
//! when the model loads. Results do not depend on the thread count.

/// The most intra-op threads any session gets, whatever the machine: the option limit of
/// [`crate::limits::MAX_THREADS`] (options above it are refused before a model loads). Every
/// request is capped to `min(cores, MAX_THREADS)` ([`max_threads`]).
pub const MAX_THREADS: usize = crate::limits::MAX_THREADS as usize;

/// The machine's cores available to this process (its CPU affinity and cgroup quota), at most
/// [`MAX_THREADS`].
pub fn max_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, MAX_THREADS)
}

/// The threads a session gets for `requested` (0 = all cores) with at most `limit`, and a note
/// when the request was capped.
pub fn effective(requested: usize, limit: usize) -> (usize, Option<String>) {
    match requested {
        0 => (limit, None),
        n if n > limit => (
            limit,
            Some(format!(
                "{n} threads requested, but this machine gives this process {limit} core{}: using {limit} (more threads than cores only slow ONNX Runtime down)",
                if limit == 1 { "" } else { "s" }
            )),
        ),
        n => (n, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_above_the_cores_are_capped_with_a_note() {
        assert_eq!(effective(0, 8), (8, None));
        assert_eq!(effective(3, 8), (3, None));
        assert_eq!(effective(8, 8), (8, None));
        let (n, note) = effective(100_000, 2);
        assert_eq!(n, 2);
        assert_eq!(
            note.as_deref(),
            Some("100000 threads requested, but this machine gives this process 2 cores: using 2 (more threads than cores only slow ONNX Runtime down)")
        );
        assert!(max_threads() >= 1 && max_threads() <= MAX_THREADS);
    }
}
