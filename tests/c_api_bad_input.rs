//! examples/bad_input.c: every C export called with bad input from a real C program, each
//! asserting its exact status, its message, untouched outputs and no file left behind. Its own
//! process, so a crash in the boundary fails this test instead of the test runner.

#[path = "common/c_programs.rs"]
mod c_programs;
mod common;
#[path = "common/tiny.rs"]
mod tiny;

use c_programs::Fixture;

#[test]
fn the_bad_input_program_gets_the_documented_status_for_every_bad_call() {
    let fixture = Fixture::new("c-bad-input");
    let exe = fixture.compile("bad_input");
    let run = fixture
        .command(&exe)
        .args(fixture.bad_input_args())
        .output()
        .unwrap();
    let text = common::output_text(&run);
    assert_eq!(run.status.code(), Some(0), "bad_input failed:\n{text}");
    let summary = text
        .lines()
        .find(|l| l.ends_with(" checks, 0 failed"))
        .unwrap_or_else(|| panic!("no summary line in:\n{text}"));
    let checks: usize = summary.split(' ').next().unwrap().parse().unwrap();
    // Every check prints a line: a summary that counts fewer would hide skipped checks.
    let lines = text.lines().filter(|l| l.starts_with("ok   ")).count();
    assert_eq!(lines, checks, "{text}");
    assert!(checks >= 100, "only {checks} checks:\n{text}");
    assert!(!text.contains("FAIL"), "{text}");
    // The program removes what its successful calls wrote; failures leave nothing.
    assert_eq!(fixture.scratch_files(), Vec::<String>::new(), "{text}");
}
