//! `cloudmask split`: every constraint of the config holds on randomised tables and configs
//! (seeded property tests, checked against independent re-implementations of the rules), and
//! the command writes what it says. One test binary; a module per topic.

#[path = "../../../../tests/common/mod.rs"]
mod common;

mod cases;
mod checks;
mod command;
mod impossible;
mod properties;
mod rules;
