//! The table of samples the splitter works on: one row per sample with its id, its classes (one
//! label, or a count per class), its source, the confidence of its labels and an optional group
//! (scene, location). The splitter only sees row indices, so the samples can be anything.
//!
//! CSV columns (header required, any order, other columns ignored):
//! - `id` (required, unique);
//! - `class` (one label per row) **or** one `n_<class>` column per class with whole-number counts
//!   (e.g. labelled pixels: `n_clear,n_cloud,n_shadow`);
//! - `source` (optional, e.g. the labelling campaign or dataset);
//! - `confidence` (optional number; empty means unknown, which fails `min_confidence` filters);
//! - `group` (optional; rows with the same group always land in the same split).

use cloudmask::error::{Error, Result};
use cloudmask::records;
use std::collections::HashMap;
use std::path::Path;

#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub id: String,
    /// Count per class of the table (index into [`Table::classes`]): 1 for the row's label in a
    /// `class` table, the `n_<class>` values otherwise.
    pub counts: Vec<u64>,
    pub source: String,
    pub confidence: Option<f64>,
    pub group: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Class names, in column order (`n_<class>` tables) or in order of first appearance.
    pub classes: Vec<String>,
    pub samples: Vec<Sample>,
    /// Whether the classes came as counts (`n_<class>` columns) rather than one label per row.
    pub has_counts: bool,
    /// Whether the table has a `group` column.
    pub has_groups: bool,
}

impl Table {
    /// A table built in code; checks what the CSV reader checks.
    pub fn new(classes: Vec<String>, samples: Vec<Sample>, has_counts: bool) -> Result<Table> {
        let has_groups = samples.iter().any(|s| s.group.is_some());
        let table = Table {
            classes,
            samples,
            has_counts,
            has_groups,
        };
        table.check("table", &|i| format!("sample {i}"))?;
        Ok(table)
    }

    pub fn len(&self) -> usize {
        self.samples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Reads a CSV file (see the module documentation for its columns).
    pub fn read(path: &Path) -> Result<Table> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::input(format!("cannot read table {}: {e}", path.display())))?;
        Table::from_csv(&text, &path.display().to_string())
    }

    /// Parses CSV text; `name` names the table in messages.
    pub fn from_csv(text: &str, name: &str) -> Result<Table> {
        // Tab-separated when the header line has tabs and no commas.
        let first = text.lines().next().unwrap_or("");
        let tabs = !first.contains(',') && first.contains('\t');
        let records = records::read(text, if tabs { b'\t' } else { b',' }, false, name)?;
        let Some((header, rows)) = records.split_first() else {
            return Err(Error::input(format!(
                "{name} is empty: its first line must name the columns (id, class or n_<class>, source, confidence, group)"
            )));
        };
        let columns = Columns::find(&header.cells, name)?;
        let mut classes: Vec<String> = columns.counts.iter().map(|(n, _)| n.clone()).collect();
        let mut class_index: HashMap<String, usize> = classes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.clone(), i))
            .collect();
        let mut labels = Vec::new();
        let mut samples = Vec::with_capacity(rows.len());
        for row in rows {
            let at = |col: usize| row.cells[col].as_str();
            let place =
                |col: usize| format!("{name}: line {}, column {}", row.line, header.cells[col]);
            if row.cells.len() != header.cells.len() {
                return Err(Error::input(format!(
                    "{name}: line {} has {} fields but the header has {}",
                    row.line,
                    row.cells.len(),
                    header.cells.len()
                )));
            }
            let counts = match columns.class {
                Some(col) => {
                    let label = at(col);
                    if label.is_empty() {
                        return Err(Error::input(format!("{}: the class is empty", place(col))));
                    }
                    let next = class_index.len();
                    let index = *class_index.entry(label.to_string()).or_insert(next);
                    if index == classes.len() {
                        classes.push(label.to_string());
                    }
                    labels.push(index);
                    Vec::new()
                }
                None => columns
                    .counts
                    .iter()
                    .map(|&(_, col)| {
                        at(col).parse::<u64>().map_err(|_| {
                            Error::input(format!(
                                "{}: '{}' is not a whole number of 0 or more",
                                place(col),
                                at(col)
                            ))
                        })
                    })
                    .collect::<Result<Vec<u64>>>()?,
            };
            let confidence = match columns.confidence.map(at) {
                None | Some("") => None,
                Some(v) => Some(v.parse::<f64>().ok().filter(|c| c.is_finite()).ok_or_else(
                    || {
                        Error::input(format!(
                            "{}: '{v}' is not a number",
                            place(columns.confidence.unwrap_or_default())
                        ))
                    },
                )?),
            };
            samples.push(Sample {
                id: at(columns.id).to_string(),
                counts,
                source: columns.source.map(at).unwrap_or("").to_string(),
                confidence,
                group: columns
                    .group
                    .map(at)
                    .filter(|g| !g.is_empty())
                    .map(str::to_string),
            });
        }
        // One-hot counts once every label is known.
        for (sample, &label) in samples.iter_mut().zip(&labels) {
            sample.counts = vec![0; classes.len()];
            sample.counts[label] = 1;
        }
        let table = Table {
            classes,
            samples,
            has_counts: columns.class.is_none(),
            has_groups: columns.group.is_some(),
        };
        let lines: Vec<usize> = rows.iter().map(|r| r.line).collect();
        table.check(name, &|i| format!("line {}", lines[i]))?;
        Ok(table)
    }

    /// Checks what every table must satisfy; `row` names a sample in messages.
    fn check(&self, name: &str, row: &dyn Fn(usize) -> String) -> Result<()> {
        if self.samples.is_empty() {
            return Err(Error::input(format!("{name} has no samples")));
        }
        if self.classes.is_empty() {
            return Err(Error::input(format!("{name} names no class")));
        }
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, s) in self.samples.iter().enumerate() {
            if s.id.is_empty() {
                return Err(Error::input(format!("{name}: {}: the id is empty", row(i))));
            }
            if let Some(first) = seen.insert(&s.id, i) {
                return Err(Error::input(format!(
                    "{name}: {}: id '{}' already appears on {}; ids must be unique",
                    row(i),
                    s.id,
                    row(first)
                )));
            }
            if s.counts.len() != self.classes.len() {
                return Err(Error::input(format!(
                    "{name}: {}: {} class counts for {} classes",
                    row(i),
                    s.counts.len(),
                    self.classes.len()
                )));
            }
            if s.counts.iter().all(|&c| c == 0) {
                return Err(Error::input(format!(
                    "{name}: {} (id '{}'): every class count is 0; a sample needs at least one class",
                    row(i),
                    s.id
                )));
            }
        }
        Ok(())
    }
}

/// Where each known column is.
struct Columns {
    id: usize,
    class: Option<usize>,
    /// (class name, column) of `n_<class>` columns.
    counts: Vec<(String, usize)>,
    source: Option<usize>,
    confidence: Option<usize>,
    group: Option<usize>,
}

impl Columns {
    fn find(header: &[String], name: &str) -> Result<Columns> {
        let mut seen = HashMap::new();
        for (i, h) in header.iter().enumerate() {
            if h.is_empty() {
                return Err(Error::input(format!(
                    "{name}: column {} has no name",
                    i + 1
                )));
            }
            if seen.insert(h.as_str(), i).is_some() {
                return Err(Error::input(format!("{name}: column '{h}' appears twice")));
            }
        }
        let col = |n: &str| seen.get(n).copied();
        let id = col("id").ok_or_else(|| {
            Error::input(format!(
                "{name} has no 'id' column (its columns: {}); the first line must name the columns",
                header.join(", ")
            ))
        })?;
        let counts: Vec<(String, usize)> = header
            .iter()
            .enumerate()
            .filter_map(|(i, h)| h.strip_prefix("n_").map(|c| (c.to_string(), i)))
            .collect();
        if let Some((_, i)) = counts.iter().find(|(c, _)| c.is_empty()) {
            return Err(Error::input(format!(
                "{name}: column {} is 'n_' without a class name",
                i + 1
            )));
        }
        let class = col("class");
        match (class.is_some(), counts.is_empty()) {
            (true, false) => {
                return Err(Error::input(format!(
                "{name} has both a 'class' column and n_<class> columns: keep one way of giving classes"
            )))
            }
            (false, true) => {
                return Err(Error::input(format!(
                "{name} has no classes: add a 'class' column (one label per row) or n_<class> columns (counts per class)"
            )))
            }
            _ => {}
        }
        Ok(Columns {
            id,
            class,
            counts,
            source: col("source"),
            confidence: col("confidence"),
            group: col("group"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_become_one_hot_counts_in_order_of_appearance() {
        let t = Table::from_csv(
            "id,class,source,confidence,group\na,cloud,cvat,0.9,s1\nb,clear,auto,,s1\nc,cloud,auto,0.5,\n",
            "t.csv",
        )
        .unwrap();
        assert_eq!(t.classes, ["cloud", "clear"]);
        assert_eq!(t.samples[1].counts, [0, 1]);
        assert_eq!(t.samples[1].confidence, None);
        assert_eq!(t.samples[2].group, None);
        assert_eq!(t.samples[0].group.as_deref(), Some("s1"));
        assert!(t.has_groups && !t.has_counts);
    }

    #[test]
    fn quotes_commas_line_breaks_crlf_and_tabs() {
        let t = Table::from_csv(
            "id,class,source\r\n\"a,1\",cloud,\"say \"\"hi\"\"\"\r\n\nb , clear, x\n\"multi\nline\",cloud,y\n",
            "t.csv",
        )
        .unwrap();
        let ids: Vec<&str> = t.samples.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["a,1", "b", "multi\nline"]);
        assert_eq!(t.samples[0].source, "say \"hi\"");
        assert_eq!(t.samples[1].source, "x");
        let e = Table::from_csv("id,class\n\n\"a\nb\",c\nc\n", "t.csv").unwrap_err();
        assert!(e.message.contains("line 5 has 1 fields"), "{e}");
        let t = Table::from_csv("\u{feff}id\tclass\na,b\tcloud\n", "t.tsv").unwrap();
        assert_eq!(t.samples[0].id, "a,b");
    }

    #[test]
    fn count_columns_give_classes_in_column_order() {
        let t = Table::from_csv("n_shadow,id,n_clear\n3,a,0\n0,b,7\n", "t.csv").unwrap();
        assert_eq!(t.classes, ["shadow", "clear"]);
        assert_eq!(t.samples[1].counts, [0, 7]);
        assert!(t.has_counts && !t.has_groups);
    }

    #[test]
    fn bad_tables_say_where_and_what() {
        for (text, needles) in [
            ("", &["is empty"][..]),
            ("name,class\na,b\n", &["no 'id' column"]),
            ("id,source\na,b\n", &["no classes"]),
            ("id,class,n_cloud\na,b,1\n", &["both"]),
            ("id,class\n", &["no samples"]),
            ("id,class\na,cloud\na,clear\n", &["line 3", "'a'", "line 2"]),
            ("id,class\na\n", &["line 2", "1 fields", "header has 2"]),
            ("id,n_cloud\na,x\n", &["line 2", "n_cloud", "'x'"]),
            ("id,n_cloud\na,-1\n", &["line 2", "'-1'"]),
            (
                "id,n_cloud,n_clear\na,0,0\n",
                &["line 2", "every class count is 0"],
            ),
            (
                "id,class,confidence\na,cloud,high\n",
                &["line 2", "confidence", "'high'"],
            ),
            ("id,class\na,\n", &["line 2", "class is empty"]),
            ("id,class\n,cloud\n", &["line 2", "id is empty"]),
        ] {
            let e = Table::from_csv(text, "t.csv").unwrap_err();
            assert_eq!(e.kind, cloudmask::error::ErrorKind::Input);
            for n in needles {
                assert!(e.message.contains(n), "{text:?}: {e} lacks {n:?}");
            }
        }
    }
}
