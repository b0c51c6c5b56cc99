//! The virtual-mask descriptor, in both forms the GDAL driver opens (src/gdal_plugin/driver/
//! virtual_mask.rs): inline after `CLOUDMASK:` and as a `*.cmask` file, each through
//! `Descriptor::from_filename` and `identify`, then what the driver asks of an accepted
//! descriptor before it loads a model. An accepted descriptor's connection string (what a VRT
//! stores) must read back to the same descriptor.
#![no_main]
use cloudmask::gdal_plugin::descriptor::{identify, Descriptor, PREFIX};
use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;

/// The file form's one file, in a folder of this process under `$TMPDIR`: fuzz/run.sh points
/// that at a folder of its own (in /dev/shm) and removes it afterwards.
fn cmask_file() -> &'static PathBuf {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    FILE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("cloudmask-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("creating the fuzzer's temporary folder");
        dir.join("mask.cmask")
    })
}

fn exercise(filename: &str) {
    let Ok((mut descriptor, base)) = Descriptor::from_filename(filename) else {
        return;
    };
    let connection = descriptor.connection();
    let (again, _) = Descriptor::from_filename(&connection)
        .expect("an accepted descriptor's connection string reads again");
    assert_eq!(
        again, descriptor,
        "a descriptor changes through its connection string"
    );
    assert!(identify(&connection, b""));
    descriptor.absolutise(base.as_deref());
    let _ = descriptor.image();
    let _ = descriptor.products();
    let _ = descriptor.block();
    let _ = descriptor.buffers();
    let _ = descriptor.scaling();
    let _ = descriptor.selection();
    // The tile cache is `cache_mb` MiB, or unlimited when that passes the address space.
    let bytes = descriptor.cache_bytes();
    assert!(
        bytes >> 20 == descriptor.cache_mb || bytes == usize::MAX,
        "{bytes}"
    );
    let _ = descriptor.tile_key();
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let inline = format!("{PREFIX}{text}");
        let _ = identify(&inline, data);
        exercise(&inline);
    }
    let file = cmask_file();
    std::fs::write(file, data).expect("writing the descriptor file");
    let path = file.to_string_lossy();
    let _ = identify(&path, data);
    exercise(&path);
});
