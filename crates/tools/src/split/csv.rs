//! A small CSV reader (RFC 4180: quoted fields, doubled quotes, CRLF), keeping the line number of
//! every record for error messages. Comma-separated, or tab-separated when the header line has
//! tabs and no commas.

use cloudmask::error::{Error, Result};

/// One record: its fields and the line it starts on (1-based).
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub line: usize,
    pub fields: Vec<String>,
}

/// Splits `text` into records; blank lines are skipped. `name` names the file in messages.
pub fn parse(text: &str, name: &str) -> Result<Vec<Record>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first = text.lines().next().unwrap_or("");
    let sep = if !first.contains(',') && first.contains('\t') {
        '\t'
    } else {
        ','
    };
    let mut records = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while chars.peek().is_some() {
        let start = line;
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut was_quoted = false;
        loop {
            let Some(c) = chars.next() else {
                if quoted {
                    return Err(Error::input(format!(
                        "{name}: line {start}: a quoted field is never closed (a \" is missing)"
                    )));
                }
                break;
            };
            if quoted {
                match c {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    '"' => quoted = false,
                    '\n' => {
                        line += 1;
                        field.push('\n');
                    }
                    _ => field.push(c),
                }
                continue;
            }
            match c {
                '"' if field.is_empty() && !was_quoted => {
                    quoted = true;
                    was_quoted = true;
                }
                '"' => {
                    return Err(Error::input(format!(
                        "{name}: line {line}: a \" inside an unquoted field; quote the whole field and double the \""
                    )))
                }
                c if c == sep => {
                    fields.push(finish(&mut field, was_quoted));
                    was_quoted = false;
                }
                '\r' if chars.peek() == Some(&'\n') => {}
                '\n' => {
                    line += 1;
                    break;
                }
                _ if was_quoted && !c.is_whitespace() => {
                    return Err(Error::input(format!(
                        "{name}: line {line}: text after the closing quote of a field"
                    )))
                }
                _ => field.push(c),
            }
        }
        fields.push(finish(&mut field, was_quoted));
        let blank = fields.len() == 1 && fields[0].is_empty();
        if !blank {
            records.push(Record {
                line: start,
                fields,
            });
        }
    }
    Ok(records)
}

fn finish(field: &mut String, quoted: bool) -> String {
    let f = std::mem::take(field);
    if quoted {
        f
    } else {
        f.trim().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(text: &str) -> Vec<Vec<String>> {
        parse(text, "t.csv")
            .unwrap()
            .into_iter()
            .map(|r| r.fields)
            .collect()
    }

    #[test]
    fn quotes_commas_newlines_and_crlf() {
        let got = fields("id,source\r\n\"a,1\",\"say \"\"hi\"\"\"\r\n\nb , x\n\"multi\nline\",y");
        assert_eq!(
            got,
            vec![
                vec!["id", "source"],
                vec!["a,1", "say \"hi\""],
                vec!["b", "x"],
                vec!["multi\nline", "y"],
            ]
        );
        let records = parse("h\n\n\"a\nb\"\nc\n", "t.csv").unwrap();
        assert_eq!(
            records.iter().map(|r| r.line).collect::<Vec<_>>(),
            [1, 3, 5]
        );
    }

    #[test]
    fn tabs_when_the_header_has_no_commas() {
        assert_eq!(
            fields("id\tclass\na\tcloud"),
            vec![vec!["id", "class"], vec!["a", "cloud"]]
        );
    }

    #[test]
    fn broken_quotes_are_refused_with_the_line() {
        let e = parse("id\n\"open", "t.csv").unwrap_err();
        assert!(
            e.message.contains("line 2") && e.message.contains("never closed"),
            "{e}"
        );
        let e = parse("id\nab\"c", "t.csv").unwrap_err();
        assert!(e.message.contains("line 2"), "{e}");
    }
}
