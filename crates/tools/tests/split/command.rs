//! The `cloudmask split` command: the lists and report it writes, and its exit codes.

use crate::common;
use crate::common::output_text as text;
use cloudmask::ErrorKind;
use cloudmask_tools::rng::Rng;
use cloudmask_tools::split::Table;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::process::{Command, Output};

fn cloudmask(args: &[&str]) -> Output {
    Command::new(common::cloudmask_exe())
        .args(args)
        .output()
        .unwrap()
}

fn lines(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

const TOML_CONFIG: &str = r#"
seed = 5
[[splits]]
name = "train"
ratio = 70
[[splits]]
name = "val"
ratio = 20
filter = { min_confidence = 0.5 }
[[splits]]
name = "test"
ratio = 10
[splits.filter]
sources = ["cvat"]
[folds]
split = "train"
k = 3
"#;

fn write_table(dir: &common::TempDir) -> std::path::PathBuf {
    let mut r = Rng::new(9);
    let mut text = String::from("id,class,source,confidence,group\n");
    for i in 0..300 {
        let class = ["clear", "clear", "clear", "cloud", "cloud", "shadow"][r.below(6)];
        let source = if i % 4 == 0 { "cvat" } else { "auto" };
        let conf = if source == "cvat" {
            0.95
        } else {
            0.3 + r.unit() * 0.6
        };
        // Each scene is labelled by one campaign, as in practice.
        let scene = if source == "cvat" {
            format!("c{}", i / 20)
        } else {
            format!("a{}", i / 3)
        };
        text += &format!("tile_{i},{class},{source},{conf:.2},{scene}\n");
    }
    let path = dir.path("tiles.csv");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_command_writes_one_list_per_split_and_a_report() {
    let tmp = common::TempDir::new("split-cli");
    let table = write_table(&tmp);
    let toml = tmp.path("split.toml");
    std::fs::write(&toml, TOML_CONFIG).unwrap();
    let out = tmp.path("out");
    let o = cloudmask(&[
        "split",
        &table.to_string_lossy(),
        "-c",
        &toml.to_string_lossy(),
        "-o",
        &out.to_string_lossy(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let report = text(&o);
    for name in [
        "train",
        "val",
        "test",
        "train.fold1",
        "train.fold3",
        "by group",
        "wrote",
    ] {
        assert!(report.contains(name), "{report}");
    }
    let parsed = Table::read(&table).unwrap();
    let ids: BTreeMap<String, usize> = parsed
        .samples
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.clone(), i))
        .collect();
    let mut all = Vec::new();
    for split in ["train", "val", "test"] {
        let list = lines(&out.join(format!("{split}.txt")));
        assert!(!list.is_empty());
        for id in &list {
            let s = &parsed.samples[ids[id]];
            if split == "test" {
                assert_eq!(s.source, "cvat", "{id}");
            }
            if split == "val" {
                assert!(s.confidence.unwrap() >= 0.5, "{id}");
            }
        }
        all.extend(list);
    }
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("split.json")).unwrap()).unwrap();
    assert_eq!(all.len() + json["dropped"].as_array().unwrap().len(), 300);
    assert_eq!(
        json["lists"]["train"].as_array().unwrap().len(),
        lines(&out.join("train.txt")).len()
    );
    assert_eq!(json["report"]["grouped"], json!(true));

    // The same config as JSON gives the same lists; another seed other lists.
    let json_config = tmp.path("split.json");
    let value = json!({
        "seed": 5,
        "splits": [
            {"name": "train", "ratio": 70},
            {"name": "val", "ratio": 20, "filter": {"min_confidence": 0.5}},
            {"name": "test", "ratio": 10, "filter": {"sources": ["cvat"]}}
        ],
        "folds": {"split": "train", "k": 3}
    });
    std::fs::write(&json_config, value.to_string()).unwrap();
    let out2 = tmp.path("out2");
    let o = cloudmask(&[
        "split",
        &table.to_string_lossy(),
        "-c",
        &json_config.to_string_lossy(),
        "-o",
        &out2.to_string_lossy(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    for f in ["train.txt", "val.txt", "test.txt", "train.fold2.txt"] {
        assert_eq!(lines(&out.join(f)), lines(&out2.join(f)), "{f}");
    }
    let out3 = tmp.path("out3");
    let o = cloudmask(&[
        "split",
        &table.to_string_lossy(),
        "-c",
        &json_config.to_string_lossy(),
        "-o",
        &out3.to_string_lossy(),
        "--seed",
        "6",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert_ne!(
        lines(&out.join("train.txt")),
        lines(&out3.join("train.txt"))
    );
}

#[test]
fn the_command_reports_bad_tables_and_configs_with_their_exit_codes() {
    let tmp = common::TempDir::new("split-cli-bad");
    let config = tmp.path("c.json");
    std::fs::write(
        &config,
        json!({"splits": [{"name": "a", "ratio": 1}]}).to_string(),
    )
    .unwrap();
    let bad_table = tmp.path("bad.csv");
    std::fs::write(&bad_table, "id,class\nx,cloud\nx,clear\n").unwrap();
    let out = tmp.path("out");
    let o = cloudmask(&[
        "split",
        &bad_table.to_string_lossy(),
        "-c",
        &config.to_string_lossy(),
        "-o",
        &out.to_string_lossy(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(ErrorKind::Input as i32),
        "{}",
        text(&o)
    );
    assert!(
        text(&o).contains("line 3") && text(&o).contains("'x'"),
        "{}",
        text(&o)
    );
    assert!(!out.exists());

    let table = tmp.path("t.csv");
    std::fs::write(&table, "id,class\na,cloud\nb,cloud\nc,clear\n").unwrap();
    let toml = tmp.path("c.toml");
    std::fs::write(
        &toml,
        "[[splits]]\nname = \"a\"\nratio = 1\n[[splits]]\nname = \"b\"\nratio = 1\nratoi = 2\n",
    )
    .unwrap();
    let o = cloudmask(&[
        "split",
        &table.to_string_lossy(),
        "-c",
        &toml.to_string_lossy(),
        "-o",
        &out.to_string_lossy(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(ErrorKind::InvalidArgument as i32),
        "{}",
        text(&o)
    );
    assert!(
        text(&o).contains("line 7: splits[1].ratoi: unknown field `ratoi`"),
        "{}",
        text(&o)
    );

    // Two splits cannot each get one of the single 'clear' sample.
    std::fs::write(
        &toml,
        "[[splits]]\nname = \"a\"\nratio = 1\n[[splits]]\nname = \"b\"\nratio = 1\n",
    )
    .unwrap();
    let o = cloudmask(&[
        "split",
        &table.to_string_lossy(),
        "-c",
        &toml.to_string_lossy(),
        "-o",
        &out.to_string_lossy(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(ErrorKind::InvalidArgument as i32),
        "{}",
        text(&o)
    );
    assert!(
        text(&o).contains("class 'clear' has 1 sample but"),
        "{}",
        text(&o)
    );
    assert!(!out.exists());
}
