//! The C programs under valgrind (memcheck): examples/mask_window.c and examples/bad_input.c on a
//! tiny generated model and a 320 x 288 raster must report 0 errors and 0 definitely lost bytes.
//! Reports that belong to the dynamic loader, ONNX Runtime or GDAL are suppressed by
//! tests/valgrind.supp, each suppression with the reason it is not ours. Any other error, any
//! definite leak, makes valgrind exit with ERROR_EXIT and the test fail with the report.
//!
//! Needs valgrind (`apt-get install valgrind`, done by `make deps`): its absence fails the test.

#[path = "common/c_programs.rs"]
mod c_programs;
mod common;
#[path = "common/tiny.rs"]
mod tiny;

use c_programs::Fixture;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// valgrind's exit status when it found an error (a definite leak counts as one).
const ERROR_EXIT: i32 = 99;

fn valgrind() -> PathBuf {
    let found = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("valgrind"))
        .find(|p| p.is_file());
    found.unwrap_or_else(|| {
        panic!("valgrind is not installed: `apt-get install valgrind` (make deps installs it)")
    })
}

/// Runs `program args` under memcheck with our suppressions; returns valgrind's exit status,
/// the program's output and valgrind's log.
fn memcheck(fixture: &Fixture, program: &Path, args: &[PathBuf]) -> (Option<i32>, String, String) {
    let supp = common::repo_root().join("tests/valgrind.supp");
    let log = fixture.dir.path("valgrind.log");
    let started = Instant::now();
    let run = fixture
        .command(valgrind())
        .arg(format!("--error-exitcode={ERROR_EXIT}"))
        .args([
            "--leak-check=full",
            "--show-leak-kinds=definite",
            "--errors-for-leak-kinds=definite",
            // Suppressions match by their frames: enough of them to see our own in a report.
            "--num-callers=40",
            "--gen-suppressions=all",
        ])
        .arg(format!("--suppressions={}", supp.display()))
        .arg(format!("--log-file={}", log.display()))
        .arg(program)
        .args(args)
        .output()
        .unwrap();
    let report = std::fs::read_to_string(&log).unwrap_or_default();
    eprintln!(
        "{} under valgrind: {:.1} s",
        program.display(),
        started.elapsed().as_secs_f64()
    );
    (run.status.code(), common::output_text(&run), report)
}

/// Runs a C program under memcheck and asserts valgrind's verdict and summaries: no error,
/// nothing definitely lost. Returns the program's output.
fn assert_clean(fixture: &Fixture, program: &Path, args: &[PathBuf]) -> String {
    let (status, output, report) = memcheck(fixture, program, args);
    assert_eq!(
        status,
        Some(0),
        "{} under valgrind failed (exit {ERROR_EXIT}: valgrind found errors):\n{output}\n--- valgrind log:\n{report}",
        program.display()
    );
    let summary: Vec<&str> = report
        .lines()
        .filter(|l| l.contains("ERROR SUMMARY:") || l.contains("lost:"))
        .collect();
    eprintln!("{}", summary.join("\n"));
    assert!(
        summary
            .iter()
            .any(|l| l.contains("ERROR SUMMARY: 0 errors")),
        "{report}"
    );
    let no_leaks = report.contains("All heap blocks were freed")
        || summary
            .iter()
            .any(|l| l.contains("definitely lost: 0 bytes in 0 blocks"));
    assert!(no_leaks, "{report}");
    output
}

#[test]
fn the_c_example_runs_clean_under_valgrind() {
    let fixture = Fixture::new("valgrind-example");
    let exe = fixture.compile("mask_window");
    let output = assert_clean(&fixture, &exe, &fixture.mask_window_args());
    assert!(
        output.contains("window 200x150 at (100,120):") && output.contains("wrote "),
        "{output}"
    );
    assert!(fixture.scratch.join("classes.tif").is_file(), "{output}");
}

#[test]
fn the_bad_input_program_runs_clean_under_valgrind() {
    let fixture = Fixture::new("valgrind-bad-input");
    let exe = fixture.compile("bad_input");
    let output = assert_clean(&fixture, &exe, &fixture.bad_input_args());
    assert!(output.contains(" checks, 0 failed"), "{output}");
    assert_eq!(fixture.scratch_files(), Vec::<String>::new(), "{output}");
}

/// The harness can fail: with the same options and suppressions, a program that reads past a
/// block and loses another makes valgrind exit with ERROR_EXIT and report both.
#[test]
fn valgrind_fails_on_an_invalid_read_and_a_definite_leak() {
    let fixture = Fixture::empty("valgrind-sentinel");
    let source = fixture.dir.path("broken.c");
    std::fs::write(
        &source,
        "#include <stdlib.h>\n#include <stdio.h>\n\
         int main(void) {\n\
             char *lost = malloc(16);\n\
             char *p = malloc(8);\n\
             lost[0] = 1;\n\
             printf(\"%d %d\\n\", lost[0], p[8]);\n\
             lost = NULL;\n\
             free(p);\n\
             return 0;\n\
         }\n",
    )
    .unwrap();
    let exe = fixture.dir.path("broken");
    let cc = std::process::Command::new("cc")
        .arg("-O0")
        .arg(&source)
        .arg("-o")
        .arg(&exe)
        .output()
        .unwrap();
    assert!(cc.status.success(), "{}", common::output_text(&cc));
    let (status, _, report) = memcheck(&fixture, &exe, &[]);
    assert_eq!(status, Some(ERROR_EXIT), "{report}");
    assert!(report.contains("Invalid read of size 1"), "{report}");
    assert!(
        report.contains("definitely lost: 16 bytes in 1 blocks"),
        "{report}"
    );
}
