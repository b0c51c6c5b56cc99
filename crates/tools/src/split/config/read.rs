//! Reading a configuration from JSON or TOML; a misspelt or mistyped field is named by its path
//! (and, in TOML, its line). What is read is checked before it is returned.

use super::SplitConfig;
use cloudmask::error::{Error, Result};
use std::path::Path;

impl SplitConfig {
    /// Reads a config file: TOML when it ends in `.toml`, JSON otherwise.
    pub fn read(path: &Path) -> Result<SplitConfig> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::input(format!("cannot read config {}: {e}", path.display())))?;
        let name = path.display().to_string();
        if path.extension().is_some_and(|e| e == "toml") {
            SplitConfig::from_toml(&text, &name)
        } else {
            SplitConfig::from_json(&text, &name)
        }
    }

    /// Reads JSON; a misspelt or mistyped field is named by its path (`splits[1]`, `cap.clear`).
    pub fn from_json(text: &str, name: &str) -> Result<SplitConfig> {
        let mut de = serde_json::Deserializer::from_str(text);
        let config: SplitConfig = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().clone();
            match e.into_inner() {
                e if e.is_data() => invalid_field(name, &path, e),
                e => Error::invalid(format!("{name} is not valid JSON: {e}")),
            }
        })?;
        de.end()
            .map_err(|e| Error::invalid(format!("{name} is not valid JSON: {e}")))?;
        config.check()?;
        Ok(config)
    }

    /// Reads TOML; errors name the line, and the field's path as for JSON.
    pub fn from_toml(text: &str, name: &str) -> Result<SplitConfig> {
        // "c.toml: line 7" where toml knows the place.
        let at = |e: &toml::de::Error| match e.span() {
            Some(s) => format!(
                "{name}: line {}",
                text.get(..s.start).unwrap_or(text).matches('\n').count() + 1
            ),
            None => name.to_string(),
        };
        let de = toml::Deserializer::parse(text)
            .map_err(|e| Error::invalid(format!("{}: {}", at(&e), e.message())))?;
        let config: SplitConfig = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().clone();
            let e = e.into_inner();
            invalid_field(&at(&e), &path, e.message())
        })?;
        config.check()?;
        Ok(config)
    }
}

/// "{name}: {path}: {what}", or without the path when the whole config is wrong.
fn invalid_field(
    name: &str,
    path: &serde_path_to_error::Path,
    what: impl std::fmt::Display,
) -> Error {
    if path.iter().next().is_none() {
        Error::invalid(format!("{name}: {what}"))
    } else {
        Error::invalid(format!("{name}: {path}: {what}"))
    }
}
