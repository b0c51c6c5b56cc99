//! CSV, through the `csv` crate (RFC 4180: quoted cells, doubled quotes, CRLF): `read` gives
//! records with the line each starts on, for the tables people write by hand (the evaluation's
//! list files, the splitter's sample tables) and whose errors name a line; `write` makes the
//! CSV reports (evaluation, tile selection).

use crate::error::{Error, Result};

/// One record: its cells, trimmed, and the line it starts on (1-based).
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub line: usize,
    pub cells: Vec<String>,
}

/// The non-blank records of `text`, cells separated by `delimiter`; with `comments`, a line
/// starting with `#` is skipped. A leading byte-order mark is dropped. `name` names the text in
/// messages.
pub fn read(text: &str, delimiter: u8, comments: bool, name: &str) -> Result<Vec<Record>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .comment(comments.then_some(b'#'))
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut records = Vec::new();
    for record in reader.into_records() {
        let record = record.map_err(|e| Error::input(format!("{name}: {e}")))?;
        let cells: Vec<String> = record.iter().map(str::to_string).collect();
        if cells.len() == 1 && cells[0].is_empty() {
            continue;
        }
        let byte = record.position().map_or(0, |p| p.byte() as usize);
        records.push(Record {
            line: start_line(text, byte, comments),
            cells,
        });
    }
    Ok(records)
}

/// CSV text of the rows (the first is the header), quoting the cells that need it.
pub fn write(rows: impl IntoIterator<Item = Vec<String>>) -> String {
    const MEMORY: &str = "writing CSV into memory cannot fail";
    let mut w = csv::Writer::from_writer(Vec::new());
    for row in rows {
        w.write_record(&row).expect(MEMORY);
    }
    String::from_utf8(w.into_inner().expect(MEMORY)).expect("CSV written from strings is UTF-8")
}

/// The line of the record `csv` places at `byte`: it places a record where the previous one
/// ended, before the blank (and comment) lines it skipped, and its own line count skips them.
fn start_line(text: &str, byte: usize, comments: bool) -> usize {
    let mut rest = text.get(byte..).unwrap_or("");
    loop {
        rest = rest.trim_start_matches(['\r', '\n']);
        match rest.strip_prefix('#').filter(|_| comments) {
            Some(comment) => rest = comment.split_once('\n').map_or("", |(_, r)| r),
            None => break,
        }
    }
    let start = text.len() - rest.len();
    text[..start].matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_quotes_what_needs_quotes() {
        let rows = [["a,b\"c", "/data/s2.tif"], ["multi\nline", "NaN"]];
        let text = write(rows.map(|r| r.map(String::from).to_vec()));
        assert_eq!(text, "\"a,b\"\"c\",/data/s2.tif\n\"multi\nline\",NaN\n");
    }

    fn lines_and_cells(text: &str, comments: bool) -> Vec<(usize, Vec<String>)> {
        read(text, b',', comments, "t.csv")
            .unwrap()
            .into_iter()
            .map(|r| (r.line, r.cells))
            .collect()
    }

    #[test]
    fn quotes_blank_lines_comments_and_crlf_keep_their_lines() {
        let cells = |c: &[&str]| c.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            lines_and_cells(
                "\u{feff}id,source\r\n\"a,1\",\"say \"\"hi\"\"\"\r\n\r\n b , x\n\"multi\nline\",y\n  \nz",
                false
            ),
            vec![
                (1, cells(&["id", "source"])),
                (2, cells(&["a,1", "say \"hi\""])),
                (4, cells(&["b", "x"])),
                (5, cells(&["multi\nline", "y"])),
                (8, cells(&["z"])),
            ]
        );
        assert_eq!(
            lines_and_cells("# c\nh\n\n#x,y\n\n\"a\nb\"\nc\n", true),
            vec![
                (2, cells(&["h"])),
                (6, cells(&["a\nb"])),
                (8, cells(&["c"]))
            ]
        );
    }
}
