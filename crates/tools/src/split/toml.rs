//! The subset of TOML that split configs need, read into a `serde_json::Value` so TOML and JSON
//! configs go through the same checks.
//!
//! Supported: comments, bare / quoted / dotted keys, `[table]` and `[[array of tables]]` headers
//! (a header below `[[a]]` such as `[a.b]` opens a table in the last `a`), basic and literal
//! strings, integers, floats, booleans, arrays (over several lines too) and inline tables.
//! Not supported, with an error that says so: multi-line strings, dates and times.

use serde_json::{Map, Value};

/// Parses TOML text; errors say the line.
pub fn parse(text: &str) -> Result<Value, String> {
    let mut p = Parser {
        chars: text.chars().collect(),
        pos: 0,
        line: 1,
    };
    let mut root = Value::Object(Map::new());
    let mut current: Vec<String> = Vec::new();
    loop {
        p.skip_blank_lines();
        let Some(c) = p.peek() else { break };
        if c == '[' {
            let array = p.peek_at(1) == Some('[');
            p.pos += if array { 2 } else { 1 };
            p.skip_spaces();
            let path = p.key_path()?;
            p.skip_spaces();
            p.expect(']')?;
            if array {
                p.expect(']')?;
            }
            let line = p.line;
            p.end_of_line()?;
            if array {
                let (last, parent) = path.split_last().expect("key_path is never empty");
                let table = table_at(&mut root, parent, line)?;
                let slot = table
                    .entry(last.clone())
                    .or_insert_with(|| Value::Array(Vec::new()));
                let Value::Array(items) = slot else {
                    return Err(format!("line {line}: '{last}' is not an array of tables"));
                };
                items.push(Value::Object(Map::new()));
            } else {
                table_at(&mut root, &path, line)?;
            }
            current = path;
        } else {
            let line = p.line;
            let path = p.key_path()?;
            p.skip_spaces();
            p.expect('=')?;
            p.skip_spaces();
            let value = p.value()?;
            p.end_of_line()?;
            let mut full = current.clone();
            full.extend(path);
            insert(&mut root, &full, value, line)?;
        }
    }
    Ok(root)
}

/// The table at `path` (created when missing); an array of tables leads to its last element.
fn table_at<'a>(
    root: &'a mut Value,
    path: &[String],
    line: usize,
) -> Result<&'a mut Map<String, Value>, String> {
    let mut here = root;
    for key in path {
        let Value::Object(map) = here else {
            return Err(format!(
                "line {line}: '{key}' is inside a value that is not a table"
            ));
        };
        let next = map
            .entry(key.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        here = match next {
            Value::Array(items) => match items.last_mut() {
                Some(last @ Value::Object(_)) => last,
                _ => return Err(format!("line {line}: '{key}' is an array, not a table")),
            },
            Value::Object(_) => next,
            _ => return Err(format!("line {line}: '{key}' is a value, not a table")),
        };
    }
    match here {
        Value::Object(map) => Ok(map),
        _ => unreachable!("only objects are returned"),
    }
}

fn insert(root: &mut Value, path: &[String], value: Value, line: usize) -> Result<(), String> {
    let (last, parent) = path.split_last().expect("key_path is never empty");
    let table = table_at(root, parent, line)?;
    if table.contains_key(last) {
        return Err(format!(
            "line {line}: '{}' is defined twice",
            path.join(".")
        ));
    }
    table.insert(last.clone(), value);
    Ok(())
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    line: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, k: usize) -> Option<char> {
        self.chars.get(self.pos + k).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn error(&self, what: &str) -> String {
        format!("line {}: {what}", self.line)
    }

    fn expect(&mut self, want: char) -> Result<(), String> {
        match self.peek() {
            Some(c) if c == want => {
                self.bump();
                Ok(())
            }
            Some(c) => Err(self.error(&format!("expected '{want}' but found '{c}'"))),
            None => Err(self.error(&format!("expected '{want}' but the file ended"))),
        }
    }

    fn skip_spaces(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.bump();
        }
    }

    fn skip_comment(&mut self) {
        if self.peek() == Some('#') {
            while !matches!(self.peek(), None | Some('\n')) {
                self.bump();
            }
        }
    }

    /// Blank lines and comment lines.
    fn skip_blank_lines(&mut self) {
        loop {
            self.skip_spaces();
            self.skip_comment();
            match self.peek() {
                Some('\n') => {
                    self.bump();
                }
                Some('\r') if self.peek_at(1) == Some('\n') => {
                    self.bump();
                    self.bump();
                }
                _ => return,
            }
        }
    }

    /// Spaces, newlines and comments (inside arrays).
    fn skip_all_blank(&mut self) {
        loop {
            self.skip_spaces();
            self.skip_comment();
            match self.peek() {
                Some('\n' | '\r') => {
                    self.bump();
                }
                _ => return,
            }
        }
    }

    fn end_of_line(&mut self) -> Result<(), String> {
        self.skip_spaces();
        self.skip_comment();
        match self.peek() {
            None | Some('\n') => Ok(()),
            Some('\r') if self.peek_at(1) == Some('\n') => Ok(()),
            Some(c) => Err(self.error(&format!("unexpected '{c}' after a value"))),
        }
    }

    fn key_path(&mut self) -> Result<Vec<String>, String> {
        let mut path = vec![self.key()?];
        loop {
            self.skip_spaces();
            if self.peek() != Some('.') {
                return Ok(path);
            }
            self.bump();
            self.skip_spaces();
            path.push(self.key()?);
        }
    }

    fn key(&mut self) -> Result<String, String> {
        match self.peek() {
            Some('"') => self.basic_string(),
            Some('\'') => self.literal_string(),
            _ => {
                let start = self.pos;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                {
                    self.bump();
                }
                if self.pos == start {
                    return Err(self.error("expected a key"));
                }
                Ok(self.chars[start..self.pos].iter().collect())
            }
        }
    }

    fn value(&mut self) -> Result<Value, String> {
        match self.peek() {
            Some('"') => self.basic_string().map(Value::String),
            Some('\'') => self.literal_string().map(Value::String),
            Some('[') => self.array(),
            Some('{') => self.inline_table(),
            Some(_) => self.scalar(),
            None => Err(self.error("expected a value but the file ended")),
        }
    }

    fn basic_string(&mut self) -> Result<String, String> {
        self.expect('"')?;
        if self.peek() == Some('"') && self.peek_at(1) == Some('"') {
            return Err(self.error("multi-line strings (\"\"\") are not supported"));
        }
        let mut s = String::new();
        loop {
            match self.bump() {
                None | Some('\n') => return Err(self.error("a string is never closed")),
                Some('"') => return Ok(s),
                Some('\\') => {
                    let c = self
                        .bump()
                        .ok_or_else(|| self.error("a string is never closed"))?;
                    match c {
                        'n' => s.push('\n'),
                        't' => s.push('\t'),
                        'r' => s.push('\r'),
                        'b' => s.push('\u{8}'),
                        'f' => s.push('\u{c}'),
                        '"' => s.push('"'),
                        '\\' => s.push('\\'),
                        'u' | 'U' => {
                            let n = if c == 'u' { 4 } else { 8 };
                            let hex: String = (0..n).filter_map(|_| self.bump()).collect();
                            let ch = u32::from_str_radix(&hex, 16)
                                .ok()
                                .and_then(char::from_u32)
                                .ok_or_else(|| self.error(&format!("bad escape \\{c}{hex}")))?;
                            s.push(ch);
                        }
                        other => return Err(self.error(&format!("unknown escape \\{other}"))),
                    }
                }
                Some(c) => s.push(c),
            }
        }
    }

    fn literal_string(&mut self) -> Result<String, String> {
        self.expect('\'')?;
        if self.peek() == Some('\'') && self.peek_at(1) == Some('\'') {
            return Err(self.error("multi-line strings (''') are not supported"));
        }
        let mut s = String::new();
        loop {
            match self.bump() {
                None | Some('\n') => return Err(self.error("a string is never closed")),
                Some('\'') => return Ok(s),
                Some(c) => s.push(c),
            }
        }
    }

    fn array(&mut self) -> Result<Value, String> {
        self.expect('[')?;
        let mut items = Vec::new();
        loop {
            self.skip_all_blank();
            if self.peek() == Some(']') {
                self.bump();
                return Ok(Value::Array(items));
            }
            items.push(self.value()?);
            self.skip_all_blank();
            match self.peek() {
                Some(',') => {
                    self.bump();
                }
                Some(']') => {}
                _ => return Err(self.error("expected ',' or ']' in an array")),
            }
        }
    }

    fn inline_table(&mut self) -> Result<Value, String> {
        self.expect('{')?;
        let mut table = Value::Object(Map::new());
        self.skip_spaces();
        if self.peek() == Some('}') {
            self.bump();
            return Ok(table);
        }
        loop {
            self.skip_spaces();
            let line = self.line;
            let path = self.key_path()?;
            self.skip_spaces();
            self.expect('=')?;
            self.skip_spaces();
            let value = self.value()?;
            insert(&mut table, &path, value, line)?;
            self.skip_spaces();
            match self.bump() {
                Some(',') => {}
                Some('}') => return Ok(table),
                _ => return Err(self.error("expected ',' or '}' in an inline table")),
            }
        }
    }

    /// Booleans, integers and floats.
    fn scalar(&mut self) -> Result<Value, String> {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.' | '_' | ':'))
        {
            self.bump();
        }
        let word: String = self.chars[start..self.pos].iter().collect();
        match word.as_str() {
            "true" => return Ok(Value::Bool(true)),
            "false" => return Ok(Value::Bool(false)),
            "" => {
                return Err(self.error(&format!(
                    "expected a value but found '{}'",
                    self.peek().unwrap_or(' ')
                )))
            }
            _ => {}
        }
        let digits = word.replace('_', "");
        if let Ok(i) = digits.parse::<i64>() {
            return Ok(Value::from(i));
        }
        let is_float = digits
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | '.' | 'e' | 'E'));
        if is_float {
            if let Some(n) = digits
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
            {
                return Ok(Value::Number(n));
            }
        }
        if word.contains(':') || word.matches('-').count() >= 2 {
            return Err(self.error(&format!("dates and times ('{word}') are not supported")));
        }
        Err(self.error(&format!("'{word}' is not a value (strings need quotes)")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_split_config_in_toml() {
        let text = r#"
# splits for the KappaMask set
seed = 42
min_per_class = 2   # at least two per split
"quoted key" = 'C:\path'

[[splits]]
name = "train"
ratio = 70

[[splits]]
name = "val"
ratio = 2e1
filter = { min_confidence = 0.9, sources = ["cvat", "manual"] }

[[splits]]
name = "test"
ratio = 10
[splits.filter]
exclude_sources = [
  "auto",   # trailing comma and comments inside
]

[rare]
below = 1_000
ratios.train = 40
ratios.val = 30.0
ratios.test = 30
flag = true
"#;
        let v = parse(text).unwrap();
        assert_eq!(
            v,
            json!({
                "seed": 42, "min_per_class": 2, "quoted key": "C:\\path",
                "splits": [
                    {"name": "train", "ratio": 70},
                    {"name": "val", "ratio": 20.0, "filter": {"min_confidence": 0.9, "sources": ["cvat", "manual"]}},
                    {"name": "test", "ratio": 10, "filter": {"exclude_sources": ["auto"]}}
                ],
                "rare": {"below": 1000, "ratios": {"train": 40, "val": 30.0, "test": 30}, "flag": true}
            })
        );
    }

    #[test]
    fn errors_say_the_line() {
        for (text, needle) in [
            ("a = 1\na = 2", "line 2: 'a' is defined twice"),
            ("a = hello", "line 1: 'hello' is not a value"),
            ("\n\nb = \"open", "line 3: a string is never closed"),
            ("d = 2024-01-01", "dates and times"),
            ("s = \"\"\"x\"\"\"", "multi-line strings"),
            ("x = [1, 2", "expected ',' or ']'"),
            ("a = 1 2", "unexpected '2'"),
            ("a = 1\n[a]", "line 2: 'a' is a value"),
            ("= 3", "expected a key"),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.contains(needle), "{text:?}: {e}");
        }
    }
}
