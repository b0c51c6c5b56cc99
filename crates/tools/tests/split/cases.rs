//! Random tables and configs, and what the test itself knows about them.

use cloudmask_tools::rng::Rng;
use cloudmask_tools::split::{Sample, SplitConfig, Table};
use serde_json::{json, Value};
use std::collections::BTreeMap;

const SOURCES: [&str; 3] = ["cvat", "auto", "legacy"];

#[derive(Debug, Clone)]
pub struct FilterSpec {
    pub min_confidence: Option<f64>,
    pub sources: Option<Vec<String>>,
    pub exclude: Vec<String>,
}

impl FilterSpec {
    pub fn none() -> FilterSpec {
        FilterSpec {
            min_confidence: None,
            sources: None,
            exclude: Vec::new(),
        }
    }

    /// The rule as the documentation states it, written independently of the library.
    pub fn accepts(&self, s: &Sample) -> bool {
        let conf_ok = match (self.min_confidence, s.confidence) {
            (Some(min), Some(c)) => c >= min,
            (Some(_), None) => false,
            (None, _) => true,
        };
        let source_ok = self
            .sources
            .as_ref()
            .map_or(true, |list| list.contains(&s.source));
        conf_ok && source_ok && !self.exclude.contains(&s.source)
    }

    pub fn is_empty(&self) -> bool {
        self.min_confidence.is_none() && self.sources.is_none() && self.exclude.is_empty()
    }

    pub fn to_json(&self) -> Value {
        let mut f = serde_json::Map::new();
        if let Some(c) = self.min_confidence {
            f.insert("min_confidence".into(), json!(c));
        }
        if let Some(s) = &self.sources {
            f.insert("sources".into(), json!(s));
        }
        if !self.exclude.is_empty() {
            f.insert("exclude_sources".into(), json!(self.exclude));
        }
        Value::Object(f)
    }
}

#[derive(Debug, Clone)]
pub struct Case {
    pub table: Table,
    pub config: SplitConfig,
    pub filters: Vec<FilterSpec>,
    pub ratios: Vec<f64>,
    pub rare: Option<(usize, Vec<f64>)>,
    pub caps: BTreeMap<String, usize>,
    pub min: usize,
    pub min_class_count: u64,
    pub stratify: bool,
    pub grouped: bool,
}

fn random_table(r: &mut Rng, counts: bool, grouped: bool) -> Table {
    let k = 1 + r.below(5);
    let classes: Vec<String> = (0..k).map(|c| format!("c{c}")).collect();
    // Skewed class frequencies, so some classes are rare.
    let weights: Vec<f64> = (0..k)
        .map(|c| 1.0 / (1 + c * c * (1 + r.below(4))) as f64)
        .collect();
    let total: f64 = weights.iter().sum();
    let n = 5 + r.below(400);
    let mut samples = Vec::with_capacity(n);
    let mut group = 0;
    let mut left_in_group = 0;
    for i in 0..n {
        if left_in_group == 0 {
            group += 1;
            left_in_group = 1 + r.below(6);
        }
        left_in_group -= 1;
        let mut pick = r.unit() * total;
        let mut label = k - 1;
        for (c, w) in weights.iter().enumerate() {
            if pick < *w {
                label = c;
                break;
            }
            pick -= w;
        }
        let mut row = vec![0u64; k];
        if counts {
            row[label] = 1 + r.below(500) as u64;
            for v in row.iter_mut() {
                if r.below(3) == 0 {
                    *v += r.below(50) as u64;
                }
            }
        } else {
            row[label] = 1;
        }
        let source = SOURCES[r.below(3)].to_string();
        let confidence = (r.below(10) != 0).then(|| (r.unit() * 100.0).round() / 100.0);
        samples.push(Sample {
            id: format!("s{i}"),
            counts: row,
            source,
            confidence,
            group: (grouped && r.below(8) != 0).then(|| format!("g{group}")),
        });
    }
    Table::new(classes, samples, counts).unwrap()
}

pub fn random_case(seed: u64) -> Case {
    let mut r = Rng::stream(seed, "test-case", 0);
    let counts = r.below(3) == 0;
    let grouped = r.below(3) == 0;
    let table = random_table(&mut r, counts, grouped);
    let n_splits = 1 + r.below(4);
    let ratios: Vec<f64> = (0..n_splits).map(|_| (1 + r.below(10)) as f64).collect();
    let filtered = r.below(3) == 0;
    let filters: Vec<FilterSpec> = (0..n_splits)
        .map(|s| {
            let mut f = FilterSpec::none();
            if filtered && s > 0 {
                match r.below(4) {
                    0 => f.min_confidence = Some((r.below(5) as f64) / 10.0),
                    1 => f.sources = Some(vec!["cvat".into(), "auto".into()]),
                    2 => f.exclude = vec!["legacy".into()],
                    _ => {}
                }
            }
            f
        })
        .collect();
    let stratify = r.below(6) != 0;
    let min = r.below(3);
    let min_class_count = if counts { 1 + r.below(20) as u64 } else { 1 };
    let rare = (r.below(2) == 0).then(|| {
        (
            1 + r.below(150),
            (0..n_splits)
                .map(|_| (1 + r.below(5)) as f64)
                .collect::<Vec<f64>>(),
        )
    });
    let mut caps = BTreeMap::new();
    if r.below(3) == 0 {
        caps.insert(table.classes[0].clone(), 5 + r.below(100));
    }
    let mut config = json!({
        "seed": r.next_u64() % 1000,
        "splits": (0..n_splits).map(|s| json!({
            "name": format!("s{s}"),
            "ratio": ratios[s],
            "filter": filters[s].to_json(),
        })).collect::<Vec<_>>(),
        "stratify": stratify,
        "min_per_class": min,
        "min_class_count": min_class_count,
        "cap": caps,
        "groups": grouped,
    });
    if let Some((below, rr)) = &rare {
        config["rare"] = json!({"below": below, "ratios": rr});
    }
    if r.below(3) == 0 {
        config["folds"] = json!({"split": "s0", "k": 2 + r.below(3), "min_per_class": r.below(2)});
    }
    if r.below(3) == 0 {
        config["bags"] =
            json!({"split": "s0", "count": 1 + r.below(3), "fraction": 0.5 + r.unit() / 2.0});
    }
    let config = SplitConfig::from_json(&config.to_string(), "case").unwrap();
    Case {
        table,
        config,
        filters,
        ratios,
        rare,
        caps,
        min,
        min_class_count,
        stratify,
        grouped,
    }
}
