//! The figure a user looks at first: each predictor's confusion matrix (row-normalised, so each
//! reference class reads as where its pixels went), and the per-patch BOA of the CloudSEN12
//! problems as dots with the median as a bar.

use super::canvas::{Canvas, Rgb, BLACK, GREY, WHITE};
use super::cloudsen12::Problem;
use super::summary::Summary;

/// Text scale (font pixels are 2 x 2 screen pixels).
const S: usize = 2;
const MARGIN: i64 = 24;
const CELL: i64 = 84;
const PLOT_H: i64 = 260;
const GAP: i64 = 36;
/// Confusion matrices per row of the figure.
const PER_ROW: usize = 4;

/// Predictor colours (the "tab10" palette), repeated past ten predictors.
const PALETTE: [Rgb; 10] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [127, 127, 127],
    [188, 189, 34],
    [23, 190, 207],
];

pub fn colour(predictor: usize) -> Rgb {
    PALETTE[predictor % PALETTE.len()]
}

/// White (0) to dark blue (1).
fn heat(f: f64) -> Rgb {
    let f = if f.is_nan() { 0.0 } else { f.clamp(0.0, 1.0) };
    let mix = |a: f64, b: f64| (a + (b - a) * f).round() as u8;
    [mix(255.0, 8.0), mix(255.0, 48.0), mix(255.0, 107.0)]
}

fn line_h() -> i64 {
    Canvas::text_height(S) + 8
}

/// Column labels short enough for a cell.
fn short(class: &str) -> &str {
    match class {
        "thin cloud" => "thin",
        other => other,
    }
}

struct MatrixLayout {
    label_w: i64,
    rows: usize,
    cols: usize,
}

impl MatrixLayout {
    fn of(s: &Summary) -> MatrixLayout {
        let rows = s.classes.iter().filter(|c| **c != "nodata").count();
        let label_w = s
            .classes
            .iter()
            .map(|c| Canvas::text_width(c, S))
            .max()
            .unwrap_or(0)
            + 12;
        MatrixLayout {
            label_w,
            rows,
            cols: s.classes.len(),
        }
    }
    fn width(&self) -> i64 {
        self.label_w + self.cols as i64 * CELL
    }
    fn height(&self) -> i64 {
        // column labels, cells, then name and scores below
        line_h() + self.rows as i64 * CELL + 3 * line_h()
    }
}

fn plot_width(s: &Summary) -> i64 {
    let axis = Canvas::text_width("1.00", S) + 16;
    axis + (s.predictors.len() as i64 * 70).max(150)
}

/// Renders the whole figure.
pub fn render(s: &Summary) -> Canvas {
    let m = MatrixLayout::of(s);
    let n = s.predictors.len().max(1);
    let matrix_rows = n.div_ceil(PER_ROW) as i64;
    let matrices_w = PER_ROW.min(n) as i64 * (m.width() + GAP) - GAP;
    let plots_w = 3 * (plot_width(s) + GAP) - GAP;
    let legend_w = s
        .predictors
        .iter()
        .map(|p| Canvas::text_width(&p.name, S) + 60)
        .max()
        .unwrap_or(0);
    let width = 2 * MARGIN
        + matrices_w
            .max(plots_w)
            .max(legend_w)
            .max(Canvas::text_width(&title(s), S));
    let height = MARGIN
        + 2 * line_h()
        + 24
        + matrix_rows * (m.height() + GAP)
        + line_h()
        + PLOT_H
        + 3 * line_h()
        + s.predictors.len() as i64 * line_h()
        + MARGIN;
    let mut c = Canvas::new(width as usize, height as usize, WHITE);
    let mut y = MARGIN;
    c.text(MARGIN, y, &title(s), S, BLACK);
    y += line_h();
    c.text(
        MARGIN,
        y,
        "Confusion matrices: % of each reference class (row) per predicted class (column)",
        S,
        BLACK,
    );
    y += line_h() + 12;
    for (i, p) in s.predictors.iter().enumerate() {
        let col = (i % PER_ROW) as i64;
        let row = (i / PER_ROW) as i64;
        let x0 = MARGIN + col * (m.width() + GAP);
        let y0 = y + row * (m.height() + GAP);
        draw_matrix(&mut c, s, &m, i, x0, y0);
        let below = y0 + line_h() + m.rows as i64 * CELL + 6;
        c.fill(x0 + m.label_w, below + 2, 14, 14, colour(i));
        c.text(
            x0 + m.label_w + 22,
            below,
            &format!("{}. {}", i + 1, p.name),
            S,
            BLACK,
        );
        c.text(
            x0 + m.label_w,
            below + line_h(),
            &format!("kappa {:.4}  OA {:.4}", p.kappa, p.overall_accuracy),
            S,
            BLACK,
        );
    }
    y += matrix_rows * (m.height() + GAP);
    c.text(
        MARGIN,
        y,
        "Per-patch balanced overall accuracy (BOA); bar: median over the patches",
        S,
        BLACK,
    );
    y += line_h() + 12;
    for (k, problem) in Problem::ALL.into_iter().enumerate() {
        let x0 = MARGIN + k as i64 * (plot_width(s) + GAP);
        draw_boa_panel(&mut c, s, problem, x0, y);
    }
    y += PLOT_H + 3 * line_h();
    for (i, p) in s.predictors.iter().enumerate() {
        c.disc(MARGIN + 7, y + 7, 6, colour(i));
        c.text(MARGIN + 22, y, &format!("{}. {}", i + 1, p.name), S, BLACK);
        y += line_h();
    }
    c
}

fn title(s: &Summary) -> String {
    format!(
        "cloudmask eval: {} patch{}, {} predictor{}",
        s.patches,
        if s.patches == 1 { "" } else { "es" },
        s.predictors.len(),
        if s.predictors.len() == 1 { "" } else { "s" }
    )
}

fn draw_matrix(c: &mut Canvas, s: &Summary, m: &MatrixLayout, predictor: usize, x0: i64, y0: i64) {
    let p = &s.predictors[predictor];
    for (j, class) in s.classes.iter().enumerate() {
        let cx = x0 + m.label_w + j as i64 * CELL + CELL / 2;
        c.text_centred(cx, y0, short(class), S, BLACK);
    }
    let top = y0 + line_h();
    let mut r = 0;
    for (class, counts) in s.classes.iter().zip(&p.confusion) {
        if *class == "nodata" {
            continue;
        }
        let ry = top + r as i64 * CELL;
        c.text(
            x0,
            ry + CELL / 2 - Canvas::text_height(S) / 2,
            class,
            S,
            BLACK,
        );
        let total: u64 = counts.iter().sum();
        for (j, &n) in counts.iter().enumerate() {
            let f = if total == 0 {
                f64::NAN
            } else {
                n as f64 / total as f64
            };
            let cx = x0 + m.label_w + j as i64 * CELL;
            c.fill(cx, ry, CELL, CELL, heat(f));
            c.outline(cx, ry, CELL, CELL, GREY);
            let ink = if f > 0.5 { WHITE } else { BLACK };
            let label = if f.is_nan() {
                "-".to_string()
            } else {
                format!("{:.1}", 100.0 * f)
            };
            c.text_centred(
                cx + CELL / 2,
                ry + CELL / 2 - Canvas::text_height(S) / 2,
                &label,
                S,
                ink,
            );
        }
        r += 1;
    }
}

fn draw_boa_panel(c: &mut Canvas, s: &Summary, problem: Problem, x0: i64, y0: i64) {
    let axis_w = Canvas::text_width("1.00", S) + 16;
    let pw = plot_width(s) - axis_w;
    let (px, py) = (x0 + axis_w, y0 + line_h());
    let ph = PLOT_H - line_h();
    c.text_centred(px + pw / 2, y0, problem.name(), S, BLACK);
    let y_of = |v: f64| py + ph - (v.clamp(0.0, 1.0) * ph as f64).round() as i64;
    for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let ty = y_of(tick);
        c.fill(px, ty, pw, 1, GREY);
        c.text(
            x0,
            ty - Canvas::text_height(S) / 2,
            &format!("{tick:.2}"),
            S,
            BLACK,
        );
    }
    c.outline(px, py, pw, ph + 1, BLACK);
    let n = s.predictors.len().max(1) as i64;
    let slot = pw / n;
    for (i, p) in s.predictors.iter().enumerate() {
        let cx = px + slot * i as i64 + slot / 2;
        let values: Vec<f64> = s
            .per_patch
            .iter()
            .map(|patch| {
                patch.predictors[i]
                    .problems
                    .iter()
                    .find(|x| x.problem == problem)
                    .map_or(f64::NAN, |x| x.scores.boa)
            })
            .collect();
        let spread = (slot / 3).max(4);
        let median = p.problem(problem).median_boa;
        if !median.is_nan() {
            c.fill(cx - spread - 6, y_of(median) - 1, 2 * spread + 12, 3, BLACK);
        }
        for (k, v) in values.iter().enumerate().filter(|(_, v)| !v.is_nan()) {
            // Deterministic jitter so that equal values stay visible.
            let j = ((k as i64 * 7919) % (2 * spread + 1)) - spread;
            c.disc(cx + j, y_of(*v), 3, colour(i));
        }
        let nan = values.iter().filter(|v| v.is_nan()).count();
        c.text_centred(cx, py + ph + 8, &format!("{}", i + 1), S, colour(i));
        if nan > 0 {
            // Patches without positives or negatives have no BOA.
            c.text_centred(cx, py + ph + 8 + line_h(), &format!("NaN {nan}"), S, BLACK);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heat_runs_from_white_to_blue() {
        assert_eq!(heat(0.0), [255, 255, 255]);
        assert_eq!(heat(1.0), [8, 48, 107]);
        assert_eq!(heat(f64::NAN), [255, 255, 255]);
    }
}
