//! The CSV reports: one row per predictor (pooled metrics, per-class scores, CloudSEN12
//! statistics), and one row per patch, predictor and problem. NaN is written `NaN`.

use super::cloudsen12::Problem;
use super::summary::{f_beta_name, Summary};
use crate::records;

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
    let rows = s.predictors.iter().map(|p| {
        let mut r = vec![
            p.name.clone(),
            p.source.clone(),
            p.scheme.clone(),
            p.pixels.to_string(),
            csv_number(p.overall_accuracy),
            csv_number(p.kappa),
        ];
        for c in &p.classes {
            let c = &c.scores;
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
        r
    });
    records::write(std::iter::once(head).chain(rows))
}

/// One row per patch, predictor and problem.
pub fn patches(s: &Summary) -> String {
    let head = "patch,predictor,problem,tp,fp,fn,tn,pa,ua,boa,omission,commission";
    let rows = s.per_patch.iter().flat_map(|patch| {
        patch.predictors.iter().flat_map(move |p| {
            p.problems.iter().map(move |x| {
                let v = &x.scores;
                let mut r = vec![patch.id.clone(), p.name.clone(), x.problem.name().into()];
                r.extend([x.tp, x.fp, x.fn_, x.tn].map(|n| n.to_string()));
                r.extend([v.pa, v.ua, v.boa, v.omission, v.commission].map(csv_number));
                r
            })
        })
    });
    records::write(std::iter::once(head.split(',').map(String::from).collect()).chain(rows))
}
