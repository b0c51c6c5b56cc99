//! The CSV reports: one row per predictor (pooled metrics, per-class scores, CloudSEN12
//! statistics), and one row per patch, predictor and problem. NaN is written `NaN`.

use super::cloudsen12::Problem;
use super::summary::{f_beta_name, Summary};
use std::fmt::Write;

/// A CSV field, quoted when it holds a comma, quote or line break.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn csv_number(x: f64) -> String {
    if x.is_nan() {
        "NaN".to_string()
    } else {
        format!("{x}")
    }
}

/// One row per predictor: pooled metrics, per-class scores and the CloudSEN12 statistics.
pub fn summary(s: &Summary) -> String {
    let fb = f_beta_name(s.beta).to_lowercase();
    let mut head: Vec<String> = [
        "predictor",
        "source",
        "scheme",
        "pixels",
        "overall_accuracy",
        "kappa",
    ]
    .iter()
    .map(|h| h.to_string())
    .collect();
    if let Some(p) = s.predictors.first() {
        for c in &p.classes {
            let c = c.class.replace(' ', "_");
            for m in ["iou", "f1", fb.as_str(), "pa", "ua"] {
                head.push(format!("{m}_{c}"));
            }
        }
    }
    for problem in Problem::ALL {
        let n = problem.name();
        for m in [
            "median_boa",
            "patches_with_boa",
            "pa",
            "ua",
            "boa",
            fb.as_str(),
        ] {
            head.push(format!("{n}_{m}"));
        }
        for which in ["pa", "ua"] {
            for b in ["low", "middle", "high", "nan"] {
                head.push(format!("{n}_{which}_{b}"));
            }
        }
    }
    let mut out = head.join(",") + "\n";
    for p in &s.predictors {
        let mut r = vec![
            field(&p.name),
            field(&p.source),
            field(&p.scheme),
            p.pixels.to_string(),
            csv_number(p.overall_accuracy),
            csv_number(p.kappa),
        ];
        for c in &p.classes {
            for v in [c.iou, c.f1, c.f_beta, c.recall, c.precision] {
                r.push(csv_number(v));
            }
        }
        for problem in Problem::ALL {
            let x = p.problem(problem);
            r.push(csv_number(x.median_boa));
            r.push(x.patches_with_boa.to_string());
            for v in [x.pooled.pa, x.pooled.ua, x.pooled.boa, x.pooled_f_beta] {
                r.push(csv_number(v));
            }
            for b in [&x.pa_buckets, &x.ua_buckets] {
                for n in [b.low, b.middle, b.high, b.undefined] {
                    r.push(n.to_string());
                }
            }
        }
        out += &(r.join(",") + "\n");
    }
    out
}

/// One row per patch, predictor and problem.
pub fn patches(s: &Summary) -> String {
    let mut out =
        String::from("patch,predictor,problem,tp,fp,fn,tn,pa,ua,boa,omission,commission\n");
    for patch in &s.per_patch {
        for p in &patch.predictors {
            for x in &p.problems {
                let v = &x.scores;
                let _ = writeln!(
                    out,
                    "{},{},{},{},{},{},{},{},{},{},{},{}",
                    field(&patch.id),
                    field(&p.name),
                    x.problem.name(),
                    x.tp,
                    x.fp,
                    x.fn_,
                    x.tn,
                    csv_number(v.pa),
                    csv_number(v.ua),
                    csv_number(v.boa),
                    csv_number(v.omission),
                    csv_number(v.commission)
                );
            }
        }
    }
    out
}
