//! Spatial diversity: the most uncertain candidates first, skipping any that lies closer than
//! `min_gap` pixels to one already chosen in the same scene, so the chosen tiles never overlap
//! and are not neighbours.

/// A candidate window of one scene and its score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub scene: usize,
    pub x: usize,
    pub y: usize,
    pub size: usize,
    pub score: f64,
}

/// The gap between two windows of one scene: how far apart they are along the axis where they
/// are farthest apart (negative when they overlap; 0 when they touch).
pub fn gap(a: &Window, b: &Window) -> i64 {
    let along = |a0: usize, b0: usize, a_len: usize, b_len: usize| -> i64 {
        let (a0, b0) = (a0 as i64, b0 as i64);
        (b0 - (a0 + a_len as i64)).max(a0 - (b0 + b_len as i64))
    };
    along(a.x, b.x, a.size, b.size).max(along(a.y, b.y, a.size, b.size))
}

/// Indices of up to `count` windows, best score first (ties: scene, then top-left), each at
/// least `min_gap` pixels from every other chosen window of its scene. Windows with a NaN score
/// are never chosen.
pub fn pick(windows: &[Window], count: usize, min_gap: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..windows.len())
        .filter(|&i| !windows[i].score.is_nan())
        .collect();
    order.sort_by(|&a, &b| {
        let (wa, wb) = (&windows[a], &windows[b]);
        wb.score
            .total_cmp(&wa.score)
            .then((wa.scene, wa.y, wa.x).cmp(&(wb.scene, wb.y, wb.x)))
    });
    let mut chosen: Vec<usize> = Vec::new();
    for i in order {
        if chosen.len() == count {
            break;
        }
        let w = &windows[i];
        let far = chosen
            .iter()
            .map(|&j| &windows[j])
            .filter(|o| o.scene == w.scene)
            .all(|o| gap(w, o) >= min_gap as i64);
        if far {
            chosen.push(i);
        }
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(scene: usize, x: usize, y: usize, score: f64) -> Window {
        Window {
            scene,
            x,
            y,
            size: 10,
            score,
        }
    }

    #[test]
    fn gaps() {
        assert_eq!(gap(&w(0, 0, 0, 0.0), &w(0, 5, 5, 0.0)), -5);
        assert_eq!(gap(&w(0, 0, 0, 0.0), &w(0, 10, 0, 0.0)), 0);
        assert_eq!(gap(&w(0, 0, 0, 0.0), &w(0, 13, 4, 0.0)), 3);
        assert_eq!(gap(&w(0, 30, 0, 0.0), &w(0, 0, 0, 0.0)), 20);
    }

    #[test]
    fn the_best_come_first_and_neighbours_are_skipped() {
        let windows = vec![
            w(0, 0, 0, 0.9),
            w(0, 5, 0, 0.95), // overlaps the first
            w(0, 10, 0, 0.8), // touches (5, 0)
            w(0, 40, 0, 0.5),
            w(1, 5, 0, 0.85), // another scene: never in conflict
            w(0, 60, 0, f64::NAN),
        ];
        assert_eq!(pick(&windows, 10, 0), vec![1, 4, 3]);
        // (40, 0) is 25 pixels from (5, 0): a gap of 10 changes nothing.
        assert_eq!(pick(&windows, 10, 10), vec![1, 4, 3]);
        assert_eq!(pick(&windows, 2, 0), vec![1, 4]);
        // Without (5, 0), the two touching windows are both allowed at gap 0 but not at gap 1.
        let rest: Vec<Window> = vec![windows[0], windows[2]];
        assert_eq!(pick(&rest, 10, 0), vec![0, 1]);
        assert_eq!(pick(&rest, 10, 1), vec![0]);
    }
}
