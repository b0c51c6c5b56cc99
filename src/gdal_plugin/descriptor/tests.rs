use super::*;

#[test]
fn identifies_connection_strings_and_descriptor_files() {
    assert!(identify("CLOUDMASK:{\"image\":\"a.tif\"}", b""));
    assert!(identify("cloudmask:/x/y.cmask", b""));
    assert!(identify("/x/y.cmask", b"  {\"image\": 1}"));
    assert!(!identify("/x/y.cmask", b"<VRTDataset"));
    assert!(!identify("/x/y.tif", b"{"));
    assert!(!identify("CLOUD", b""));
}

#[test]
fn parses_and_resolves_a_descriptor() {
    let (d, dir) =
        Descriptor::from_filename("CLOUDMASK:{\"image\":\"s2.tif\",\"buffer\":{\"cloud\":6}}")
            .unwrap();
    assert!(dir.is_none());
    assert_eq!(d.model, DEFAULT_MODEL);
    assert_eq!(d.buffers().radius, [0, 0, 6, 0, 0]);
    assert_eq!(d.products().unwrap(), vec![Product::Classes]);
    let r = d.resolved(
        "/m.onnx".into(),
        Some(vec![1, 2]),
        (10, 20),
        vec!["clear".into()],
    );
    let (again, _) = Descriptor::from_filename(&r.connection()).unwrap();
    assert_eq!(again, r);
    assert_eq!(again.block().unwrap(), DEFAULT_BLOCK);
    assert_eq!(
        Descriptor::new("/a/s2.tif", DEFAULT_MODEL).image().unwrap(),
        "/a/s2.tif"
    );
}

#[test]
fn says_what_is_wrong() {
    let e = Descriptor::from_filename("CLOUDMASK:{\"model\":\"x\"}")
        .unwrap()
        .0
        .image()
        .unwrap_err();
    assert!(e.message.contains("names no image"), "{e}");
    let e = Descriptor::from_filename("CLOUDMASK:{\"imgae\":\"x\"}").unwrap_err();
    assert!(e.message.contains("imgae"), "{e}");
    let e = Descriptor::from_filename("CLOUDMASK:").unwrap_err();
    assert!(e.message.contains("needs a descriptor"), "{e}");
    let e = Descriptor::from_filename("CLOUDMASK:{\"outputs\":[\"cloudy\"]}").unwrap_err();
    assert!(e.message.contains("'cloudy': use classes, valid or"), "{e}");
    let e = Descriptor::from_filename("CLOUDMASK:{\"device\":\"gpu\"}").unwrap_err();
    assert!(
        e.message.contains("cpu") && e.message.contains("cuda"),
        "{e}"
    );
    let e = Descriptor::from_filename("CLOUDMASK:{\"version\":2}").unwrap_err();
    assert!(e.message.contains("version 2"), "{e}");
}

/// A descriptor cannot name a library, whatever the key's value; the message says what to do.
#[test]
fn a_descriptor_naming_a_library_is_refused() {
    for value in ["\"/tmp/libevil.so\"", "null", "\"\"", "1"] {
        let text = format!("CLOUDMASK:{{\"image\":\"/d/s.tif\",\"ort\":{value}}}");
        let e = Descriptor::from_filename(&text).unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::InvalidArgument);
        assert!(
            e.message
                .contains("a virtual mask cannot name a library to load")
                && e.message.contains("CLOUDMASK_ORT_LIB"),
            "{e}"
        );
    }
    assert!(!Descriptor::new("/d/s.tif", "m")
        .connection()
        .contains("\"ort\""));
}

/// What the code before the typed descriptor wrote into VRTs still opens, as version 1
/// (without the "ort" key, which is refused).
#[test]
fn reads_the_resolved_form_of_earlier_versions() {
    let old = r#"CLOUDMASK:{"cloudmask":1,"image":"/d/s.tif","model":"/m/model_6b_l1c.onnx","bands":[1,2,3,4,5,6],"outputs":["classes","valid"],"buffer":{"cloud":4,"thin_cloud":4,"shadow":4,"nodata":0},"threads":0,"device":"cpu","block":256,"cache_mb":256,"width":512,"height":512,"class_names":["clear","cloud","shadow"]}"#;
    let (d, _) = Descriptor::from_filename(old).unwrap();
    assert_eq!(d.version, 1);
    assert_eq!(d.products().unwrap(), [Product::Classes, Product::Valid]);
    assert_eq!((d.width, d.height), (Some(512), Some(512)));
    assert_eq!(d.scaling(), Scaling::Auto);
    assert_eq!(d.precision, Precision::F32);
    let spec = r#"CLOUDMASK:{"image":"s.tif","model":"m","outputs":["prob"],"buffer":2,"scaling":"dn","quantification":10000.0,"dn_offset":-1000.0,"device":"cuda"}"#;
    let (d, _) = Descriptor::from_filename(spec).unwrap();
    assert_eq!(d.outputs, [Product::Probabilities]);
    assert_eq!(d.buffers(), Buffers::uniform(2));
    assert_eq!(d.device, Device::Cuda);
    assert_eq!(d.precision, Precision::F32);
    assert_eq!(
        d.scaling(),
        Scaling::DigitalNumbers {
            quantification: 10000.0,
            offset: -1000.0
        }
    );
}

/// Precision is read when given and written only when it is not the default, so a mask
/// made with the defaults reads in readers that predate the field.
#[test]
fn precision_is_optional_and_round_trips() {
    let mut d = Descriptor::new("/d/s.tif", "m");
    assert!(!d.connection().contains("precision"), "{}", d.connection());
    d.device = Device::OpenVino;
    d.precision = Precision::Bf16;
    let text = d.connection();
    assert!(text.contains("\"precision\":\"bf16\""), "{text}");
    assert!(text.contains("\"device\":\"openvino\""), "{text}");
    let (back, _) = Descriptor::from_filename(&text).unwrap();
    assert_eq!(
        (back.device, back.precision),
        (Device::OpenVino, Precision::Bf16)
    );
    assert_eq!(back.model_options().precision, Precision::Bf16);
    assert_ne!(back.tile_key(), Descriptor::new("/d/s.tif", "m").tile_key());
    let e = Descriptor::from_filename("CLOUDMASK:{\"precision\":\"fp16\"}").unwrap_err();
    assert!(e.message.contains("f32, bf16 or auto"), "{e}");
}

/// Caught by the descriptor fuzz target's check of `cache_bytes`: `cache_mb << 20` wrapped
/// a 2^44 + 1 MiB cache to 1 MiB. Such a size is now refused with the range when the
/// descriptor is read, and `cache_bytes` saturates for any value that gets past it.
#[test]
fn a_huge_cache_is_refused_rather_than_wrapped() {
    let err = Descriptor::from_filename("CLOUDMASK:{\"cache_mb\": 17592186044417}").unwrap_err();
    assert!(
        err.message
            .contains("cache_mb 17592186044417 is out of range: it must be between 0 and 65536"),
        "{}",
        err.message
    );
    let huge = Descriptor {
        cache_mb: usize::MAX,
        ..Descriptor::default()
    };
    assert_eq!(huge.cache_bytes(), usize::MAX);
    let (d, _) = Descriptor::from_filename("CLOUDMASK:{\"cache_mb\": 3}").unwrap();
    assert_eq!(d.cache_bytes(), 3 << 20);
}
