use super::*;

const EXAMPLE: &str = r#"{
        "seed": 7,
        "splits": [
            {"name": "train", "ratio": 70},
            {"name": "val", "ratio": 20, "filter": {"min_confidence": 0.8}},
            {"name": "test", "ratio": 10, "filter": {"sources": ["cvat"]}}
        ],
        "rare": {"below": 100, "ratios": {"train": 40, "val": 30, "test": 30}},
        "cap": {"clear": 500},
        "folds": {"split": "train", "k": 5},
        "bags": {"split": "train", "count": 3}
    }"#;

#[test]
fn a_full_config_reads_with_defaults() {
    let c = SplitConfig::from_json(EXAMPLE, "c.json").unwrap();
    assert_eq!(c.seed, 7);
    assert!(c.stratify);
    assert_eq!(c.min_per_class, 1);
    let r = c.ratios();
    assert!((r[0] - 0.7).abs() < 1e-12 && (r[2] - 0.1).abs() < 1e-12);
    assert_eq!(c.rare_ratios().unwrap(), vec![0.4, 0.3, 0.3]);
    assert_eq!(c.cap_of("clear"), Some(500));
    assert_eq!(c.cap_of("cloud"), None);
    assert_eq!(c.bags.as_ref().unwrap().fraction, 1.0);
}

#[test]
fn bad_configs_name_the_field() {
    let base: serde_json::Value = serde_json::from_str(EXAMPLE).unwrap();
    let cases: Vec<(serde_json::Value, &str)> = vec![
        (serde_json::json!({"splits": []}), "no split"),
        (
            serde_json::json!({"splits": [{"name": "a", "ratio": 0}]}),
            "ratio 0",
        ),
        (
            serde_json::json!({"splits": [{"name": "a", "ratio": 1}, {"name": "a", "ratio": 1}]}),
            "named twice",
        ),
        (
            serde_json::json!({"splits": [{"name": "../x", "ratio": 1}]}),
            "names a file",
        ),
        (
            serde_json::json!({"splits": [{"name": "a", "ratoi": 1}]}),
            "splits[0].ratoi: unknown field `ratoi`",
        ),
        (
            serde_json::json!({"splits": [{"name": "a", "ratio": 1}], "cap": {"clear": 5, "groups": false}}),
            "cap.groups: invalid type: boolean",
        ),
        (
            serde_json::json!({"splits": [{"name": "a", "ratio": 1}], "rare": {"below": 5, "ratios": [1, 2]}}),
            "2 values but there are 1 splits",
        ),
        (
            serde_json::json!({"splits": [{"name": "a", "ratio": 1}], "folds": {"split": "b", "k": 3}}),
            "folds.split is 'b'",
        ),
        (
            serde_json::json!({"splits": [{"name": "a", "ratio": 1}], "folds": {"split": "a", "k": 1}}),
            "at least 2 folds",
        ),
        (
            serde_json::json!({"splits": [{"name": "a", "ratio": 1}], "bags": {"split": "a", "count": 2, "fraction": 1.5}}),
            "bags.fraction",
        ),
        (
            serde_json::json!({"splits": [{"name": "a", "ratio": 1}], "cap": {"x": 0}}),
            "cap of class 'x' is 0",
        ),
        // Fails the split_config fuzz target's check that ratios sum to 1: each ratio is
        // finite, their sum is not, and every normalised ratio was 0.
        (
            serde_json::json!({"splits": [{"name": "a", "ratio": 1e308}, {"name": "b", "ratio": 1e308}]}),
            "the split ratios add up to inf; use smaller numbers",
        ),
        (
            serde_json::json!({"splits": [{"name": "a", "ratio": 1}, {"name": "b", "ratio": 1}], "rare": {"below": 5, "ratios": [1.7e308, 1.7e308]}}),
            "rare.ratios add up to inf",
        ),
    ];
    for (value, needle) in cases {
        let e = SplitConfig::from_json(&value.to_string(), "c.json").unwrap_err();
        assert_eq!(e.kind, cloudmask::error::ErrorKind::InvalidArgument);
        assert!(e.message.contains(needle), "{value}: {e} lacks {needle:?}");
    }
    assert!(SplitConfig::from_json(&base.to_string(), "c.json").is_ok());
    let e = SplitConfig::from_json("{", "c.json").unwrap_err();
    assert!(e.message.contains("not valid JSON"), "{e}");
}

#[test]
fn toml_configs_read_like_json_and_errors_name_the_line() {
    let text = r#"
# splits for the KappaMask set
seed = 7
splits = [
  { name = "train", ratio = 70 },
  { name = "val", ratio = 2e1, filter = { min_confidence = 0.8 } },
  { name = "test", ratio = 10, filter.sources = ["cvat"] },   # trailing comma and comments
]
[rare]
below = 1_00
ratios.train = 40
ratios.val = 30.0
ratios.test = 30
[cap]
clear = 500
[folds]
split = "train"
k = 5
[bags]
split = "train"
count = 3
"#;
    let json = SplitConfig::from_json(EXAMPLE, "c.json").unwrap();
    assert_eq!(SplitConfig::from_toml(text, "c.toml").unwrap(), json);
    for (text, needle) in [
        ("seed = 1\nseed = 2", "c.toml: line 2: duplicate key"),
        ("seed = hello", "c.toml: line 1: "),
        (
            "[[splits]]\nname = \"a\"\nratio = 1\nratoi = 2",
            "line 4: splits[0].ratoi: unknown field `ratoi`",
        ),
        (
            "[[splits]]\nname = \"a\"\nratio = 1\n[cap]\nclear = \"many\"",
            "line 5: cap.clear: invalid type: string \"many\"",
        ),
    ] {
        let e = SplitConfig::from_toml(text, "c.toml").unwrap_err();
        assert!(e.message.contains(needle), "{text:?}: {e}");
    }
}
