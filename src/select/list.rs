//! The selection as a plain CSV list, best first: `scene,xoff,yoff,width,height,score`, the
//! pixel windows a labelling tool (or `gdal_translate -srcwin`) cuts out.

use super::Selection;

pub fn to_csv(selection: &Selection) -> String {
    let mut out = String::from("scene,xoff,yoff,width,height,score\n");
    for &i in &selection.selected {
        let c = &selection.candidates[i];
        out += &format!(
            "{},{},{},{},{},{:.6}\n",
            quote(&selection.scenes[c.scene].path),
            c.x,
            c.y,
            c.size,
            c.size,
            c.score
        );
    }
    out
}

/// Quotes a field that holds a comma, a quote or a line break (RFC 4180).
fn quote(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn fields_with_commas_are_quoted() {
        assert_eq!(super::quote("a,b\"c"), "\"a,b\"\"c\"");
        assert_eq!(super::quote("/data/s2.tif"), "/data/s2.tif");
    }
}
