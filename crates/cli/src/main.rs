//! `cloudmask`: the command-line shell over the library. Each subcommand lives in its own file
//! and only parses, calls the library and prints.

mod args;
mod bench;
mod bench_batch;
mod eval;
mod exit;
mod info;
mod inputs;
mod inspect;
mod mask;
mod mask_plan;
mod mask_report;
mod model_cache;
mod progress;
mod select;
mod signals;
mod split;
mod train;
mod vrt;

use clap::error::ErrorKind as ClapErrorKind;
use clap::Parser;
use exit::Failure;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Die quietly when the reader of our output goes away (`cloudmask models | head`), as Unix
    // tools do, instead of panicking on a broken pipe.
    // SAFETY: restoring the default action of a signal at start-up.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    // Keep GDAL's block cache modest unless the user chose a size: the engine streams, and the
    // default cache (5 % of RAM) would dominate peak memory.
    if std::env::var_os("GDAL_CACHEMAX").is_none() {
        std::env::set_var("GDAL_CACHEMAX", "128");
    }
    cloudmask::raster::gdal::silence_gdal_error_printing();
    let mut argv = std::env::args_os().skip(1);
    if let Some(first) = argv.next() {
        if train::TRAINER_COMMANDS.iter().any(|c| first == *c) {
            // `train ARGS` are the trainer's own arguments; `pretrain …`, `experiment …` are its
            // subcommands.
            let args: Vec<_> = if first == "train" {
                argv.collect()
            } else {
                std::iter::once(first).chain(argv).collect()
            };
            let e = train::exec_trainer(args);
            eprintln!("cloudmask: error: {e}");
            return ExitCode::from(e.kind as u8);
        }
    }
    let cli = match args::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let result = match cli.command {
        args::Command::Mask(a) => return exit_status(mask::run(a)),
        args::Command::Models => inspect::models(),
        args::Command::Info(a) => inspect::info(a),
        args::Command::Doctor(a) => inspect::doctor(a),
        args::Command::Bench(a) => bench::run(a),
        args::Command::Vrt(a) => vrt::run(a),
        // Reached only when the name was abbreviated or reordered; `train` itself is dispatched above.
        args::Command::Train { args } => Err(train::exec_trainer(
            args.into_iter().map(Into::into).collect(),
        )),
        args::Command::Pretrain { args } => Err(train::exec_trainer(
            std::iter::once("pretrain".to_string())
                .chain(args)
                .map(Into::into)
                .collect(),
        )),
        args::Command::Experiment { args } => Err(train::exec_trainer(
            std::iter::once("experiment".to_string())
                .chain(args)
                .map(Into::into)
                .collect(),
        )),
        args::Command::Eval(a) => eval::run(a),
        args::Command::Split(a) => split::run(a),
        args::Command::Select(a) => select::run(a),
    };
    exit_status(result.map_err(Failure::Error))
}

/// `--help` and `--version` print and succeed; every other parse error is a usage error (64),
/// apart from the library's error codes.
fn usage_error(e: clap::Error) -> ExitCode {
    let _ = e.print();
    match e.kind() {
        ClapErrorKind::DisplayHelp | ClapErrorKind::DisplayVersion => ExitCode::SUCCESS,
        _ => ExitCode::from(exit::USAGE),
    }
}

/// The exit status of a command's outcome (the table in exit.rs), with its message.
fn exit_status(result: Result<(), Failure>) -> ExitCode {
    let e = match result {
        Ok(()) => return ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            eprintln!("cloudmask: usage error: {message}");
            return ExitCode::from(exit::USAGE);
        }
        // Each failed scene and the summary were reported as the batch ran.
        Err(Failure::ScenesFailed { failed, total }) => {
            eprintln!("cloudmask: {failed} of {total} scenes failed");
            return ExitCode::from(exit::SCENES_FAILED);
        }
        Err(Failure::Error(e)) => e,
    };
    match signals::caught() {
        Some(signal) if e.kind == cloudmask::ErrorKind::Cancelled => {
            // Only `mask` catches signals; the job stopped at the signal, its temporaries gone.
            eprintln!(
                "cloudmask: interrupted by {}: stopped; no output was written and the temporary files were removed",
                signals::name(signal)
            );
            ExitCode::from((128 + signal) as u8)
        }
        _ => {
            eprintln!("cloudmask: error: {e}");
            // Exit status = the library's stable error code, so scripts can tell failures apart.
            ExitCode::from(e.kind as u8)
        }
    }
}
