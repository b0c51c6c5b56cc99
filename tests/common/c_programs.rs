//! The C programs that run against a tiny generated model (examples/bad_input.c and
//! examples/mask_window.c), and their fixture: a [`TinyNet::threshold`] network and a
//! [`TinyRaster::halves`] raster large enough for mask_window.c's 200 x 150 window at (100, 120).
//! Included beside `common` and `tiny` (`#[path = "common/c_programs.rs"] mod c_programs;`).
#![allow(dead_code)]

use crate::common::capi::{compile_example, lib_dir, root};
use crate::common::TempDir;
use crate::tiny::{TinyNet, TinyRaster};
use std::path::PathBuf;
use std::process::Command;

/// What a C program needs: the generated model and raster, an empty scratch folder, and the
/// compiled programs, all under one temporary folder.
pub struct Fixture {
    pub dir: TempDir,
    pub model: PathBuf,
    pub raster: PathBuf,
    pub scratch: PathBuf,
}

impl Fixture {
    pub fn new(tag: &str) -> Fixture {
        let fixture = Fixture::empty(tag);
        TinyNet::threshold().write(&fixture.dir, "tiny");
        TinyRaster::halves(320, 288).write(&fixture.raster);
        fixture
    }

    /// The folders only, for programs that need no model or raster.
    pub fn empty(tag: &str) -> Fixture {
        let dir = TempDir::new(tag);
        let scratch = dir.path("scratch");
        std::fs::create_dir(&scratch).unwrap();
        Fixture {
            model: dir.path("tiny.onnx"),
            raster: dir.path("halves.tif"),
            scratch,
            dir,
        }
    }

    /// examples/<name>.c compiled strictly against the header, this build's library and GDAL.
    pub fn compile(&self, name: &str) -> PathBuf {
        let exe = self.dir.path(name);
        compile_example(
            &format!("{name}.c"),
            &exe,
            &["-I/usr/include/gdal", "-lgdal"],
        );
        exe
    }

    /// `program args…` as the tests run the C programs: this build's library on the loader's
    /// path and ONNX Runtime named explicitly, from the project root.
    pub fn command(&self, program: impl Into<PathBuf>) -> Command {
        let mut cmd = Command::new(program.into());
        cmd.env("LD_LIBRARY_PATH", lib_dir())
            .env("CLOUDMASK_ORT_LIB", crate::common::ort_library())
            .current_dir(root());
        cmd
    }

    /// bad_input.c's arguments.
    pub fn bad_input_args(&self) -> Vec<PathBuf> {
        vec![
            self.model.clone(),
            self.raster.clone(),
            self.scratch.clone(),
        ]
    }

    /// mask_window.c's arguments: the raster, the class map to write, the model.
    pub fn mask_window_args(&self) -> Vec<PathBuf> {
        vec![
            self.raster.clone(),
            self.scratch.join("classes.tif"),
            self.model.clone(),
        ]
    }

    /// Files left in the scratch folder, hidden ones included.
    pub fn scratch_files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.scratch)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}
