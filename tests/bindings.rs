//! The QGIS plugin's ctypes binding (qgis-plugin/cloudmask_qgis/native.py) agrees with the C header
//! and the library: every `CM_*` constant, every struct's fields (names, order, C types), every
//! bound function's parameters and result, the choice lists of its dialogs, its defaults, and
//! the class and valid-mask colours of its layer styles. native.py imports no QGIS, so plain
//! `/usr/bin/python3` loads it and dumps what it declares as JSON.

use cloudmask::engine::{MaskOptions, Tiling, DEFAULT_OVERLAP};
use cloudmask::model::classes::VALID_CATEGORIES;
use cloudmask::model::{CommonClass, Device, ModelOptions, Precision, DEFAULT_MODEL};
use cloudmask::options::Choice;
use cloudmask::postprocess::DEFAULT_BUFFER;
use cloudmask::raster::Scaling;
use cloudmask::select::{self, Measure, SelectOptions};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::path::Path;
use std::str::FromStr;

const PYTHON: &str = "/usr/bin/python3";

/// Loads native.py on its own and prints its declarations; ctypes types are written in a
/// canonical form the header's types are turned into too (`i` int32_t, `L` size_t/uint64_t, `d`
/// double, `f` float, `z` char *, `P` void * or an opaque handle, `*X` a pointer to X, `fn` a callback,
/// `cm_x` a struct).
const DUMP: &str = r#"
import ctypes as C, importlib.util, json, re, sys
spec = importlib.util.spec_from_file_location("cloudmask_native", sys.argv[1])
m = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m)

def c_name(struct):
    return "cm_" + re.sub(r"(?<!^)([A-Z])", r"_\1", struct.__name__).lower()

def canon(t):
    if t is None:
        return "void"
    if issubclass(t, C._CFuncPtr):
        return "fn"
    if issubclass(t, C._Pointer):
        return "*" + canon(t._type_)
    if issubclass(t, C.Structure):
        return c_name(t)
    return t._type_

structs = [v for v in vars(m).values()
           if isinstance(v, type) and issubclass(v, C.Structure) and v.__module__ == m.__name__]
print(json.dumps({
    "constants": {k: v for k, v in vars(m).items() if k.startswith("CM_") and isinstance(v, int)},
    "structs": {c_name(s): [[f, canon(t)] for f, t in s._fields_] for s in structs},
    "functions": {n: [[canon(a) for a in args], canon(res)]
                  for n, (args, res) in m._SIGNATURES.items()},
    "choices": {"cm_device": m.DEVICES, "cm_precision": m.PRECISIONS, "cm_tiling": m.TILINGS, "cm_scaling": m.SCALINGS,
                "cm_measure": m.MEASURES},
    "classes": m.CLASSES,
    "valid": m.VALID_CLASSES,
    "defaults": {"model": m.DEFAULT_MODEL, "buffer": m.DEFAULT_BUFFER,
                 "select_tile": m.DEFAULT_SELECT_TILE, "select_count": m.DEFAULT_SELECT_COUNT,
                 "min_valid": m.DEFAULT_MIN_VALID},
}))
"#;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn header() -> String {
    let path = root().join("include/cloudmask.h");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn plugin_dump() -> Value {
    let native = root().join("qgis-plugin/cloudmask_qgis/native.py");
    let out = std::process::Command::new(PYTHON)
        .args(["-c", DUMP])
        .arg(&native)
        .output()
        .unwrap_or_else(|e| panic!("{PYTHON} is not available ({e}): apt-get install python3"));
    assert!(
        out.status.success(),
        "{PYTHON} could not load {} without QGIS:\n{}",
        native.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the dump is JSON")
}

/// What the header declares, in the canonical form of the dump.
#[derive(Default)]
struct Header {
    /// Enum name → its constants in order, with their values.
    enums: BTreeMap<String, Vec<(String, i64)>>,
    /// Struct name → `[field, type]`.
    structs: BTreeMap<String, Vec<[String; 2]>>,
    /// Function name → (parameter types, result type).
    functions: BTreeMap<String, (Vec<String>, String)>,
}

impl Header {
    fn parse(text: &str) -> Header {
        let opaque: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("typedef struct ")?.split(' ').next())
            .filter(|name| !name.starts_with('{'))
            .collect();
        let mut h = Header::default();
        let mut open: Option<(bool, String, Vec<String>)> = None; // (is enum, name, lines)
        let mut declarations = String::new();
        let mut in_functions = false;
        for line in text.lines() {
            let code = line.trim();
            if code.starts_with("/*") || code.starts_with('*') || code.starts_with('#') {
                continue;
            }
            if let Some(name) = code.strip_prefix("enum ") {
                open = Some((true, name.to_string(), Vec::new()));
            } else if code == "typedef struct {" {
                open = Some((false, String::new(), Vec::new()));
            } else if code.starts_with('}') && open.is_some() {
                let (is_enum, name, body) = open.take().unwrap();
                if is_enum {
                    h.enums
                        .insert(name, body.iter().map(|l| constant(l)).collect());
                } else {
                    let name = code.trim_matches(['}', ';', ' ']).to_string();
                    let fields = body.iter().map(|l| field(l, &opaque)).collect();
                    h.structs.insert(name, fields);
                }
            } else if let Some((_, _, body)) = open.as_mut() {
                if code.ends_with(',') || code.ends_with(';') {
                    body.push(code.to_string());
                }
            } else if code == "extern \"C\" {" {
                in_functions = true;
            } else if in_functions {
                declarations.push_str(code);
                declarations.push(' ');
            }
        }
        for decl in declarations.split(';').filter(|d| d.contains('(')) {
            let (head, params) = decl.split_once('(').unwrap();
            let [result, name] = typed(head, &opaque);
            let params = params.trim().trim_end_matches(')');
            let params = match params {
                "void" => Vec::new(),
                p => p.split(',').map(|p| typed(p, &opaque)[0].clone()).collect(),
            };
            h.functions.insert(name, (params, result));
        }
        h
    }

    fn constants(&self) -> BTreeMap<&str, i64> {
        self.enums
            .values()
            .flatten()
            .map(|(n, v)| (n.as_str(), *v))
            .collect()
    }
}

/// `CM_TILING_EXACT = 0,` → its name and value.
fn constant(line: &str) -> (String, i64) {
    let (name, value) = line.trim_end_matches(',').split_once(" = ").unwrap();
    (name.to_string(), value.trim().parse().unwrap())
}

/// `const char *ort_library;` → `[ort_library, z]`.
fn field(line: &str, opaque: &[&str]) -> [String; 2] {
    let [t, name] = typed(line.trim_end_matches(';'), opaque);
    [name, t]
}

/// A declaration `TYPE NAME` → `[canonical type, name]`.
fn typed(decl: &str, opaque: &[&str]) -> [String; 2] {
    let decl = decl.trim();
    let split = decl
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .map_or(0, |i| i + 1);
    [canonical(&decl[..split], opaque), decl[split..].to_string()]
}

fn canonical(c_type: &str, opaque: &[&str]) -> String {
    let words = c_type.replace('*', " * ").replace("const", " ");
    let stars = words.matches('*').count();
    let base = words.replace('*', " ");
    let base = base.trim();
    // ctypes has one type for a pointer to chars (c_char_p) and one for any other address
    // (c_void_p; handles of opaque structs too).
    let (code, stars) = match base {
        "char" if stars > 0 => ("z", stars - 1),
        "void" if stars > 0 => ("P", stars - 1),
        b if opaque.contains(&b) && stars > 0 => ("P", stars - 1),
        "int32_t" | "cm_status" | "cm_device" | "cm_precision" | "cm_tiling" | "cm_measure" => {
            ("i", stars)
        }
        "size_t" | "uint64_t" => ("L", stars),
        "uint8_t" | "cm_class" => ("B", stars),
        "double" => ("d", stars),
        "float" => ("f", stars),
        // typedef void *cm_gdal_dataset (GDALDatasetH).
        "cm_gdal_dataset" => ("P", stars),
        "bool" => ("?", stars),
        "cm_progress_fn" => ("fn", stars),
        other => (other, stars),
    };
    format!("{}{code}", "*".repeat(stars))
}

/// Everything in which the binding `dump` differs from the header `h` and the library.
fn differences(h: &Header, dump: &Value) -> Vec<String> {
    let mut d = Vec::new();
    let constants = h.constants();
    for (name, value) in dump["constants"].as_object().unwrap() {
        match constants.get(name.as_str()) {
            Some(v) if json!(v) == *value => {}
            other => d.push(format!("native.py {name} = {value}, the header: {other:?}")),
        }
    }
    for e in [
        "cm_class",
        "cm_device",
        "cm_precision",
        "cm_tiling",
        "cm_measure",
    ] {
        for (name, _) in &h.enums[e] {
            if dump["constants"].get(name).is_none() {
                d.push(format!("native.py lacks {name} (enum {e})"));
            }
        }
    }
    for (name, fields) in dump["structs"].as_object().unwrap() {
        match h.structs.get(name) {
            Some(want) if json!(want) == *fields => {}
            want => d.push(format!("{name}: native.py {fields}, the header {want:?}")),
        }
    }
    for (name, signature) in dump["functions"].as_object().unwrap() {
        match h.functions.get(name) {
            Some((params, result)) if json!([params, result]) == *signature => {}
            want => d.push(format!(
                "{name}: native.py {signature}, the header {want:?}"
            )),
        }
    }
    d.extend(choice_differences::<Device>(
        h,
        dump,
        "cm_device",
        ModelOptions::default().device,
    ));
    d.extend(choice_differences::<Precision>(
        h,
        dump,
        "cm_precision",
        ModelOptions::default().precision,
    ));
    d.extend(choice_differences::<Tiling>(
        h,
        dump,
        "cm_tiling",
        MaskOptions::default().tiling,
    ));
    d.extend(choice_differences::<Scaling>(
        h,
        dump,
        "cm_scaling",
        Scaling::default(),
    ));
    d.extend(choice_differences::<Measure>(
        h,
        dump,
        "cm_measure",
        SelectOptions::default().measure,
    ));
    d.extend(style_differences(dump));
    d
}

/// A dialog's choice list: every value of the library's type once, the default first, each
/// labelled with the library's name of the value its C value stands for.
fn choice_differences<T>(h: &Header, dump: &Value, c_enum: &str, default: T) -> Vec<String>
where
    T: Choice + TryFrom<i32> + FromStr,
    <T as TryFrom<i32>>::Error: Debug,
{
    let choices = dump["choices"][c_enum].as_array().unwrap();
    let mut d = Vec::new();
    if choices.len() != T::ALL.len() || choices.len() != h.enums[c_enum].len() {
        d.push(format!(
            "native.py offers {} values of {c_enum}; the library has {:?}",
            choices.len(),
            T::ALL
        ));
    }
    for (i, choice) in choices.iter().enumerate() {
        let value = T::try_from(choice[0].as_i64().unwrap() as i32);
        let label = choice[1].as_str().unwrap();
        let named = label.split_whitespace().next().unwrap_or("");
        match value {
            Ok(v) if v.name() == named.to_ascii_lowercase() && (i > 0 || v == default) => {}
            other => d.push(format!(
                "native.py choice {choice} of {c_enum}: the library's value is {other:?}, its default {default:?}"
            )),
        }
    }
    d
}

fn style_differences(dump: &Value) -> Vec<String> {
    let classes: Vec<Value> = CommonClass::ALL
        .iter()
        .map(|c| json!([c.code(), c.name(), c.colour()]))
        .collect();
    let valid: Vec<Value> = VALID_CATEGORIES
        .iter()
        .enumerate()
        .map(|(value, (name, colour))| json!([value, name, colour]))
        .collect();
    let defaults = json!({
        "model": DEFAULT_MODEL, "buffer": DEFAULT_BUFFER, "select_tile": select::DEFAULT_TILE,
        "select_count": select::DEFAULT_COUNT, "min_valid": select::DEFAULT_MIN_VALID,
    });
    let mut d = Vec::new();
    for (what, ours, theirs) in [
        ("CLASSES", json!(classes), &dump["classes"]),
        ("VALID_CLASSES", json!(valid), &dump["valid"]),
        ("DEFAULT_*", defaults, &dump["defaults"]),
    ] {
        if ours != *theirs {
            d.push(format!(
                "native.py {what} is {theirs}; the library's: {ours}"
            ));
        }
    }
    d
}

#[test]
fn the_qgis_binding_matches_the_header_and_the_library() {
    let d = differences(&Header::parse(&header()), &plugin_dump());
    assert!(
        d.is_empty(),
        "qgis-plugin/cloudmask_qgis/native.py differs from include/cloudmask.h or the library:\n  {}",
        d.join("\n  ")
    );
}

#[test]
fn a_binding_that_drifts_is_caught() {
    let h = Header::parse(&header());
    let good = plugin_dump();
    let drift = |path: &[&str], value: Value| {
        let mut dump = good.clone();
        let mut at = &mut dump;
        for key in path {
            at = match key.parse::<usize>() {
                Ok(i) => &mut at[i],
                Err(_) => &mut at[*key],
            };
        }
        *at = value;
        assert!(
            !differences(&h, &dump).is_empty(),
            "{path:?} drifted unnoticed"
        );
    };
    drift(&["constants", "CM_TILING_UKIS"], json!(2));
    drift(&["structs", "cm_mask_options", "4", "1"], json!("f"));
    drift(&["structs", "cm_select_options", "0", "0"], json!("tile"));
    drift(&["functions", "cm_model_load", "0", "1"], json!("P"));
    drift(&["choices", "cm_tiling", "0", "0"], json!(1));
    drift(&["classes", "1", "2"], json!([34, 139, 34, 255]));
    drift(&["valid", "0", "2"], json!([255, 0, 0, 140]));
    drift(&["defaults", "buffer"], json!(3));
}

#[test]
fn the_header_parses_into_every_enum_struct_and_function() {
    let h = Header::parse(&header());
    assert_eq!(
        h.enums["cm_tiling"],
        [("CM_TILING_EXACT".into(), 0), ("CM_TILING_UKIS".into(), 1)]
    );
    assert_eq!(h.structs["cm_model_options"][2], ["ort_library", "z"]);
    assert_eq!(
        h.functions["cm_model_load"],
        (
            vec!["z".into(), "*cm_model_options".into(), "*P".into()],
            "i".into()
        )
    );
    assert_eq!(h.functions["cm_select_tiles"].0[2], "*z");
    assert_eq!(h.functions["cm_model_options_default"].1, "void");
}

/// The header's documentation of the `-1 = default` fields states the library's defaults.
#[test]
fn the_header_states_the_library_defaults() {
    let text = header();
    for needle in [
        format!("-1 = the library's default ({DEFAULT_BUFFER})"),
        format!("-1 = the library's default ({DEFAULT_OVERLAP}, as ukis-csmask)"),
    ] {
        assert!(
            text.contains(&needle),
            "include/cloudmask.h lacks {needle:?}"
        );
    }
}
