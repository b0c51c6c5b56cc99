//! The selection as a plain CSV list, best first: `scene,xoff,yoff,width,height,score`, the
//! pixel windows a labelling tool (or `gdal_translate -srcwin`) cuts out.

use super::Selection;

const MEMORY: &str = "writing CSV into memory cannot fail";

pub fn to_csv(selection: &Selection) -> String {
    // The `csv` crate quotes a scene path that needs it (commas, quotes, line breaks).
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["scene", "xoff", "yoff", "width", "height", "score"])
        .expect(MEMORY);
    for &i in &selection.selected {
        let c = &selection.candidates[i];
        let score = format!("{:.6}", c.score);
        let path = &selection.scenes[c.scene].path;
        w.serialize((path, c.x, c.y, c.size, c.size, score))
            .expect(MEMORY);
    }
    String::from_utf8(w.into_inner().expect(MEMORY)).expect("CSV written from strings is UTF-8")
}
