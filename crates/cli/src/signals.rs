//! SIGINT and SIGTERM during `cloudmask mask`: the first one cancels the job through the
//! library's progress callback, so the scene writer removes its temporary files and the program
//! exits with 128 + the signal's number (130 for SIGINT, 143 for SIGTERM, as shells report a
//! process killed by it) and says so. A second one ends the program at once with the same code;
//! the temporaries it leaves are removed by the next run that writes the same output.

use signal_hook::consts::{SIGINT, SIGTERM};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// The signal caught, or 0.
fn caught_signal() -> &'static Arc<AtomicUsize> {
    static CAUGHT: OnceLock<Arc<AtomicUsize>> = OnceLock::new();
    CAUGHT.get_or_init(|| Arc::new(AtomicUsize::new(0)))
}

/// Installs the handlers. Until this is called, the signals keep their default action.
pub fn catch_interrupts() -> std::io::Result<()> {
    let seen = Arc::new(AtomicBool::new(false));
    for signal in [SIGINT, SIGTERM] {
        // Registered first, so it runs before `seen` is set: it exits only on a second signal.
        signal_hook::flag::register_conditional_shutdown(signal, 128 + signal, Arc::clone(&seen))?;
        signal_hook::flag::register(signal, Arc::clone(&seen))?;
        signal_hook::flag::register_usize(signal, Arc::clone(caught_signal()), signal as usize)?;
    }
    Ok(())
}

/// The signal caught so far, if any.
pub fn caught() -> Option<i32> {
    match caught_signal().load(Ordering::SeqCst) {
        0 => None,
        s => Some(s as i32),
    }
}

/// "SIGINT" or "SIGTERM".
pub fn name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}
