//! `cloudmask train …` runs the trainer, a separate program (`cloudmask-train`, built with
//! `make train`) installed beside this one, so that libtorch stays out of the masking CLI and
//! the plugin library. The arguments pass through untouched.

use cloudmask::error::{Error, Result};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;

/// Subcommands served by the trainer program.
pub const TRAINER_COMMANDS: [&str; 3] = ["train", "pretrain", "experiment"];

/// Replaces this process with the trainer; returns only on failure.
pub fn exec_trainer(args: Vec<std::ffi::OsString>) -> Error {
    let trainer = match trainer_path() {
        Ok(p) => p,
        Err(e) => return e,
    };
    let err = std::process::Command::new(&trainer).args(args).exec();
    Error::invalid(format!(
        "cannot run the trainer {}: {err}",
        trainer.display()
    ))
}

fn trainer_path() -> Result<PathBuf> {
    let exe = std::env::current_exe()
        .map_err(|e| Error::invalid(format!("cannot locate this program: {e}")))?;
    let trainer = exe.with_file_name("cloudmask-train");
    if trainer.is_file() {
        return Ok(trainer);
    }
    Err(Error::invalid(format!(
        "the trainer is not installed: {} is missing; build it with `make train` (it needs PyTorch's libtorch, which `make train` installs)",
        trainer.display()
    )))
}
