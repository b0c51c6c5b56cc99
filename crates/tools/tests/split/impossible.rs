//! Constraints that cannot be met are refused, naming which; rare classes get their ratios.

use cloudmask::ErrorKind;
use cloudmask_tools::split::{split, SplitConfig, Table};
use serde_json::{json, Value};

fn labelled(rows: &[(&str, &str, &str, f64)]) -> Table {
    let mut text = String::from("id,class,source,confidence\n");
    for (id, class, source, conf) in rows {
        text += &format!("{id},{class},{source},{conf}\n");
    }
    Table::from_csv(&text, "t.csv").unwrap()
}

fn many(
    n: usize,
    class: &str,
    source: &str,
    conf: f64,
    prefix: &str,
) -> Vec<(String, String, String, f64)> {
    (0..n)
        .map(|i| {
            (
                format!("{prefix}{i}"),
                class.to_string(),
                source.to_string(),
                conf,
            )
        })
        .collect()
}

fn table_of(rows: Vec<(String, String, String, f64)>) -> Table {
    let refs: Vec<(&str, &str, &str, f64)> = rows
        .iter()
        .map(|(a, b, c, d)| (a.as_str(), b.as_str(), c.as_str(), *d))
        .collect();
    labelled(&refs)
}

#[track_caller]
fn refused(table: &Table, config: Value, needles: &[&str]) {
    let config = SplitConfig::from_json(&config.to_string(), "c.json").unwrap();
    let e = split(table, &config).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidArgument);
    for n in needles {
        assert!(e.message.contains(n), "{e}\nlacks {n:?}");
    }
}

#[test]
fn impossible_constraints_say_which_one() {
    too_few_samples_of_a_class_or_from_a_source();
    filters_that_leave_too_few_samples_together();
    nothing_to_split_and_names_the_table_lacks();
}

/// A class too small for min_per_class in every split, a split's source filter leaving too few.
fn too_few_samples_of_a_class_or_from_a_source() {
    // 2 shadow samples cannot give 1 to each of 3 splits.
    let mut rows = many(30, "clear", "cvat", 0.9, "a");
    rows.extend(many(2, "shadow", "cvat", 0.9, "b"));
    let t = table_of(rows);
    let three = json!([{"name": "train", "ratio": 8}, {"name": "val", "ratio": 1}, {"name": "test", "ratio": 1}]);
    refused(
        &t,
        json!({"splits": three}),
        &[
            "class 'shadow' has 2 samples",
            "min_per_class = 1",
            "needs at least 3",
        ],
    );

    // Test takes only cvat samples: 10 % of 100 clear is 10 but only 4 are from cvat.
    let mut rows = many(96, "clear", "auto", 0.9, "a");
    rows.extend(many(4, "clear", "cvat", 0.9, "c"));
    let t = table_of(rows);
    refused(
        &t,
        json!({"splits": [{"name": "train", "ratio": 9}, {"name": "test", "ratio": 1, "filter": {"sources": ["cvat"]}}]}),
        &[
            "split 'test' needs at least 10 samples of class 'clear'",
            "only 4",
            "source in [cvat]",
        ],
    );
}

/// Filters each split could meet alone but not together, or that leave another split more
/// samples than its share.
fn filters_that_leave_too_few_samples_together() {
    // Val and test both need confident samples, each enough alone but not together.
    let mut rows = many(14, "cloud", "auto", 0.2, "a");
    rows.extend(many(6, "cloud", "auto", 0.95, "b"));
    let t = table_of(rows);
    refused(
        &t,
        json!({"splits": [
            {"name": "train", "ratio": 4},
            {"name": "val", "ratio": 3, "filter": {"min_confidence": 0.9}},
            {"name": "test", "ratio": 3, "filter": {"min_confidence": 0.9}}
        ]}),
        &[
            "splits 'val' and 'test' need at least 12 samples of class 'cloud' together",
            "only 6",
        ],
    );

    // Train refuses legacy samples: the others cannot hold train's share.
    let mut rows = many(10, "clear", "auto", 0.9, "a");
    rows.extend(many(10, "clear", "legacy", 0.9, "b"));
    let t = table_of(rows);
    refused(
        &t,
        json!({"splits": [
            {"name": "train", "ratio": 9, "filter": {"exclude_sources": ["legacy"]}},
            {"name": "test", "ratio": 1}
        ]}),
        &[
            "split 'train' needs at least 18 samples of class 'clear'",
            "only 10",
            "source not in [legacy]",
        ],
    );

    // 5 samples, a third each: 'a' may take 1 or 2, but 3 are accepted by 'a' alone.
    let mut rows = many(3, "clear", "legacy", 0.9, "a");
    rows.extend(many(2, "clear", "auto", 0.9, "b"));
    let t = table_of(rows);
    let no_legacy = json!({"exclude_sources": ["legacy"]});
    refused(
        &t,
        json!({"splits": [
            {"name": "a", "ratio": 1},
            {"name": "b", "ratio": 1, "filter": no_legacy},
            {"name": "c", "ratio": 1, "filter": no_legacy}
        ]}),
        &["3 samples of class 'clear' are accepted only by split 'a', which can take at most 2"],
    );
}

/// No sample passes any filter; a cap on a class and a group switch the table has no column for.
fn nothing_to_split_and_names_the_table_lacks() {
    // Nothing passes any filter.
    let t = table_of(many(5, "clear", "auto", 0.1, "a"));
    refused(
        &t,
        json!({"splits": [{"name": "only", "ratio": 1, "filter": {"min_confidence": 0.5}}]}),
        &[
            "none of the 5 samples passes any split's filter",
            "'only': confidence >= 0.5",
        ],
    );

    // Caps and group switches that name what the table lacks.
    refused(
        &t,
        json!({"splits": [{"name": "a", "ratio": 1}], "cap": {"cluod": 3}}),
        &["'cluod'", "clear"],
    );
    refused(
        &t,
        json!({"splits": [{"name": "a", "ratio": 1}], "groups": true}),
        &["no 'group' column"],
    );
}

#[test]
fn groups_that_cannot_meet_the_minimum_are_named() {
    // Every shadow sample lives in scene g1; g1 can go to one split only.
    let text = "id,class,group\na,shadow,g1\nb,shadow,g1\nc,clear,g2\nd,clear,g3\ne,clear,g4\n";
    let t = Table::from_csv(text, "t.csv").unwrap();
    refused(
        &t,
        json!({"splits": [{"name": "train", "ratio": 1}, {"name": "test", "ratio": 1}]}),
        &[
            "split 'test' needs at least 1 sample of class 'shadow'",
            "'g1' in 'train'",
        ],
    );
    // Without the minimum, g1 stays whole.
    let config = SplitConfig::from_json(
        &json!({"splits": [{"name": "train", "ratio": 1}, {"name": "test", "ratio": 1}], "min_per_class": 0}).to_string(),
        "c",
    )
    .unwrap();
    let a = split(&t, &config).unwrap();
    let home: Vec<bool> = a.splits.iter().map(|l| l.indices.contains(&0)).collect();
    assert_eq!(
        home,
        a.splits
            .iter()
            .map(|l| l.indices.contains(&1))
            .collect::<Vec<_>>()
    );
}

#[test]
fn rare_classes_get_their_own_ratios() {
    let mut rows = many(1000, "clear", "auto", 0.9, "a");
    rows.extend(many(50, "shadow", "auto", 0.9, "s"));
    let t = table_of(rows);
    let config = SplitConfig::from_json(
        &json!({
            "splits": [{"name": "train", "ratio": 70}, {"name": "val", "ratio": 20}, {"name": "test", "ratio": 10}],
            "rare": {"below": 100, "ratios": {"train": 40, "val": 30, "test": 30}}
        })
        .to_string(),
        "c",
    )
    .unwrap();
    let a = split(&t, &config).unwrap();
    let shadows =
        |l: &cloudmask_tools::split::List| l.indices.iter().filter(|&&i| i >= 1000).count();
    let clears = |l: &cloudmask_tools::split::List| l.indices.iter().filter(|&&i| i < 1000).count();
    assert_eq!(
        a.splits.iter().map(shadows).collect::<Vec<_>>(),
        vec![20, 15, 15]
    );
    assert_eq!(
        a.splits.iter().map(clears).collect::<Vec<_>>(),
        vec![700, 200, 100]
    );
    let report = &a.report.lists[2];
    assert_eq!(report.classes[1].stratum_target, Some(15.0));
    assert_eq!(report.target, Some(115.0));
}
