//! How `cloudmask` ends: its exit statuses and the failures that are the program's own (usage
//! errors, a batch with failed scenes) beside the library's errors.
//!
//! | status | meaning |
//! |---|---|
//! | 0 | success (also `--help`, `--version`) |
//! | 1 … 12 | the library's error kind (`cloudmask::ErrorKind`, the C API's `cm_status`) |
//! | 64 | usage error: an unknown or mistyped flag, a missing or contradictory argument ([`USAGE`]) |
//! | 65 | a batch of several inputs finished, and some of them failed ([`SCENES_FAILED`]) |
//! | 130, 143 | interrupted by SIGINT, SIGTERM (128 + the signal) |

use cloudmask::Error;

/// A usage error, as sysexits.h's EX_USAGE: outside the library's codes (1 … 12), so a script
/// can tell "called wrongly" from "the input was bad".
pub const USAGE: u8 = 64;

/// Some scenes of a batch of several inputs failed (each scene's own error kind is in the
/// summary; `--json` has it per scene). sysexits.h's EX_DATAERR: the run itself was fine, some
/// of its data was not.
pub const SCENES_FAILED: u8 = 65;

/// The exit statuses, for `cloudmask mask --help`.
pub const MASK_EXIT_HELP: &str = "\
Exit status: 0 success; 1-12 the library's error kind (2 input, 4 model, 8 output: an output
that exists, is an input or is named twice refuses the run before any work, ...; see
docs/cli.md); 64 usage error; 65 several inputs were given and some failed (the summary and
--json say which and why); 130 / 143 interrupted by SIGINT / SIGTERM.";

/// Why a command did not succeed.
#[derive(Debug)]
pub enum Failure {
    /// A library error: exits with its kind's code.
    Error(Error),
    /// The command line asks for something that cannot work: exits [`USAGE`].
    Usage(String),
    /// A batch ran to its end with `failed` of `total` scenes failed: exits [`SCENES_FAILED`].
    /// Each failure was reported as it happened.
    ScenesFailed { failed: usize, total: usize },
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Error(e)
    }
}
