//! The selection as a plain CSV list, best first: `scene,xoff,yoff,width,height,score`, the
//! pixel windows a labelling tool (or `gdal_translate -srcwin`) cuts out.

use super::Selection;
use crate::records;

pub fn to_csv(selection: &Selection) -> String {
    let head = ["scene", "xoff", "yoff", "width", "height", "score"].map(String::from);
    let rows = selection.selected.iter().map(|&i| {
        let c = &selection.candidates[i];
        let size = c.size.to_string();
        vec![
            selection.scenes[c.scene].path.clone(),
            c.x.to_string(),
            c.y.to_string(),
            size.clone(),
            size,
            format!("{:.6}", c.score),
        ]
    });
    records::write(std::iter::once(head.to_vec()).chain(rows))
}
