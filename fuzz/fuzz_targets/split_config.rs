//! The split configuration of `cloudmask split` (crates/tools), in both forms
//! `SplitConfig::read` accepts: TOML and JSON. An accepted config has ratios that are numbers
//! summing to 1, as the splitter assumes.
#![no_main]
use cloudmask_tools::split::SplitConfig;
use libfuzzer_sys::fuzz_target;

fn check_accepted(config: &SplitConfig) {
    let sum_to_one = |ratios: &[f64]| {
        ratios.iter().all(|r| r.is_finite() && *r >= 0.0)
            && (ratios.iter().sum::<f64>() - 1.0).abs() < 1e-9
    };
    let ratios = config.ratios();
    assert!(
        sum_to_one(&ratios),
        "ratios {ratios:?} of an accepted config"
    );
    if let Some(rare) = config.rare_ratios() {
        assert!(
            sum_to_one(&rare),
            "rare ratios {rare:?} of an accepted config"
        );
    }
    assert_eq!(config.split_names().len(), config.splits.len());
    for s in &config.splits {
        let _ = s.filter.describe();
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(config) = SplitConfig::from_toml(text, "fuzz.toml") {
        check_accepted(&config);
    }
    if let Ok(config) = SplitConfig::from_json(text, "fuzz.json") {
        check_accepted(&config);
    }
});
