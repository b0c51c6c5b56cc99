//! Before allocation: which splits accept each sample (filters), each sample's stratum (its
//! rarest class), caps on over-represented classes, and the groups that must stay together.

use super::config::SplitConfig;
use super::problem::Group;
use super::table::Table;
use crate::rng::Rng;
use std::collections::BTreeMap;

/// Why a sample is in no list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DropReason {
    /// No split's filter accepts it.
    Filtered,
    /// Its class had more samples than the class's cap.
    Capped { class: String },
    /// Its group holds samples that no single split accepts all of.
    GroupRejected { group: String },
}

impl DropReason {
    /// The report's key: "filtered", "capped: <class>", "group rejected".
    pub fn key(&self) -> String {
        match self {
            DropReason::Filtered => "filtered".into(),
            DropReason::Capped { class } => format!("capped: {class}"),
            DropReason::GroupRejected { .. } => "group rejected".into(),
        }
    }
}

impl std::fmt::Display for DropReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DropReason::Filtered => write!(f, "no split's filter accepts it"),
            DropReason::Capped { class } => write!(f, "over the cap of class '{class}'"),
            DropReason::GroupRejected { group } => write!(
                f,
                "group '{group}' holds samples that no single split accepts all of"
            ),
        }
    }
}

/// Bit `s` set when split `s` accepts the sample.
pub fn eligibility(table: &Table, config: &SplitConfig) -> Vec<u64> {
    table
        .samples
        .iter()
        .map(|sample| {
            config
                .splits
                .iter()
                .enumerate()
                .filter(|(_, s)| s.filter.accepts(sample))
                .fold(0u64, |m, (i, _)| m | 1 << i)
        })
        .collect()
}

/// Each sample's class for stratification and caps: the rarest class it holds (count at least
/// `min_class_count`; rarity = samples among `rows` holding the class), or its largest count
/// when it holds none.
pub fn rarest_classes(table: &Table, rows: &[usize], min_class_count: u64) -> Vec<usize> {
    let holds = |i: usize, c: usize| table.samples[i].counts[c] >= min_class_count;
    let mut holders = vec![0usize; table.classes.len()];
    for &i in rows {
        for (c, n) in holders.iter_mut().enumerate() {
            if holds(i, c) {
                *n += 1;
            }
        }
    }
    let mut class = vec![0; table.len()];
    for &i in rows {
        let counts = &table.samples[i].counts;
        class[i] = (0..counts.len())
            .filter(|&c| holds(i, c))
            .min_by_key(|&c| (holders[c], c))
            .unwrap_or_else(|| {
                (0..counts.len())
                    .max_by_key(|&c| (counts[c], std::cmp::Reverse(c)))
                    .unwrap_or(0)
            });
    }
    class
}

/// Keeps at most the cap of each class (drawn with the seed); returns (kept rows, dropped rows
/// with the class name).
pub fn apply_caps(
    table: &Table,
    config: &SplitConfig,
    rows: &[usize],
    class: &[usize],
) -> (Vec<usize>, Vec<(usize, String)>) {
    let mut by_class: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &i in rows {
        by_class.entry(class[i]).or_default().push(i);
    }
    let (mut kept, mut dropped) = (Vec::new(), Vec::new());
    for (c, mut members) in by_class {
        let name = &table.classes[c];
        match config.cap_of(name) {
            Some(cap) if members.len() > cap => {
                Rng::stream(config.seed, "cap", c as u64).shuffle(&mut members);
                kept.extend_from_slice(&members[..cap]);
                dropped.extend(members[cap..].iter().map(|&i| (i, name.clone())));
            }
            _ => kept.extend(members),
        }
    }
    kept.sort_unstable();
    dropped.sort_unstable();
    (kept, dropped)
}

/// Groups of `rows` (a row without a group is a group of its own, named by its id), in order
/// of their first row.
pub fn groups_of(table: &Table, rows: &[usize]) -> Vec<Group> {
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    let mut groups: Vec<Group> = Vec::new();
    for &i in rows {
        let sample = &table.samples[i];
        match &sample.group {
            Some(g) => match index.get(g.as_str()) {
                Some(&k) => groups[k].members.push(i),
                None => {
                    index.insert(g, groups.len());
                    groups.push(Group {
                        name: g.clone(),
                        members: vec![i],
                    });
                }
            },
            None => groups.push(Group {
                name: sample.id.clone(),
                members: vec![i],
            }),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> Table {
        Table::from_csv(text, "t.csv").unwrap()
    }

    #[test]
    fn the_rarest_held_class_is_the_stratum() {
        let t = table("id,n_clear,n_cloud,n_shadow\na,100,5,0\nb,100,0,0\nc,50,50,2\nd,0,1,0\n");
        let rows: Vec<usize> = (0..4).collect();
        // holders: clear 3, cloud 3, shadow 1
        assert_eq!(rarest_classes(&t, &rows, 1), vec![0, 0, 2, 1]);
        // With min_class_count 10, a holds only clear, c clear and cloud (cloud is rarer: 1
        // holder), d holds nothing and falls back to its largest count.
        assert_eq!(rarest_classes(&t, &rows, 10), vec![0, 0, 1, 1]);
    }

    #[test]
    fn caps_keep_the_cap_and_drop_the_rest_reproducibly() {
        let mut text = String::from("id,class\n");
        for i in 0..20 {
            text += &format!("s{i},{}\n", if i < 15 { "clear" } else { "cloud" });
        }
        let t = table(&text);
        let config = SplitConfig::from_json(
            r#"{"splits": [{"name": "a", "ratio": 1}], "cap": {"clear": 4}}"#,
            "c",
        )
        .unwrap();
        let rows: Vec<usize> = (0..20).collect();
        let class = rarest_classes(&t, &rows, 1);
        let (kept, dropped) = apply_caps(&t, &config, &rows, &class);
        assert_eq!(kept.len(), 9);
        assert_eq!(kept.iter().filter(|&&i| i < 15).count(), 4);
        assert!(dropped.iter().all(|(i, c)| *i < 15 && c == "clear"));
        assert_eq!(apply_caps(&t, &config, &rows, &class).0, kept);
    }

    #[test]
    fn rows_without_a_group_stand_alone() {
        let t = table("id,class,group\na,x,g1\nb,x,\nc,x,g1\nd,x,g2\n");
        let g = groups_of(&t, &[0, 1, 2, 3]);
        let members: Vec<Vec<usize>> = g.iter().map(|g| g.members.clone()).collect();
        assert_eq!(members, vec![vec![0, 2], vec![1], vec![3]]);
        assert_eq!(g[1].name, "b");
    }
}
