//! `cloudmask bench`: placeholder replaced below.
use crate::args::BenchArgs;
pub fn run(_a: BenchArgs) -> cloudmask::Result<()> {
    Err(cloudmask::Error::invalid("bench: not yet"))
}
