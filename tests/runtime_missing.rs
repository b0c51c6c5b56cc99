//! ONNX Runtime that cannot be loaded gives an error with the fix, never a panic. Its own test
//! binary: the runtime is loaded once per process.

use cloudmask::{runtime, ErrorKind};
use std::path::Path;

#[test]
fn a_missing_or_wrong_library_is_an_error_and_a_good_one_still_loads_after() {
    let e = runtime::init(Some(Path::new("/nonexistent/libonnxruntime.so")))
        .err()
        .unwrap();
    assert_eq!(e.kind, ErrorKind::RuntimeNotFound);
    assert!(
        e.message.contains("does not exist") && e.message.contains("pip install onnxruntime"),
        "{}",
        e.message
    );

    let fake = std::env::temp_dir().join(format!("libonnxruntime-fake-{}.so", std::process::id()));
    std::fs::write(&fake, b"\x7fELF but not really").unwrap();
    let e = runtime::init(Some(&fake)).err().unwrap();
    std::fs::remove_file(&fake).unwrap();
    assert_eq!(e.kind, ErrorKind::RuntimeNotFound);
    assert!(
        e.message.contains("could not load ONNX Runtime"),
        "{}",
        e.message
    );

    let e = runtime::init(Some(Path::new("/usr/lib/x86_64-linux-gnu/libgdal.so"))).err();
    if let Some(e) = e {
        assert!(e.message.contains("not ONNX Runtime"), "{}", e.message);
    }

    match runtime::locate() {
        Some(_) => {
            let rt =
                runtime::init(None).expect("the installed runtime loads after failed attempts");
            assert!(rt.version.starts_with("1."));
            assert!(rt.providers.iter().any(|p| p == "CPUExecutionProvider"));
        }
        None => panic!("ONNX Runtime is not installed: run `make venv`"),
    }
}
