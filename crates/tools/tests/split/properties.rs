//! The property tests: every promise of the documentation checked on random tables and
//! configs, and the seed deciding where samples go.

use crate::cases::{random_case, FilterSpec};
use crate::checks::check;
use cloudmask::ErrorKind;
use cloudmask_tools::split::{split, Assignment};

const CASES: u64 = 200;

#[test]
fn every_constraint_holds_on_random_tables_and_configs() {
    let (mut ok, mut refused) = (0, 0);
    for seed in 0..CASES {
        let case = random_case(seed);
        match split(&case.table, &case.config) {
            Ok(a) => {
                check(&case, &a);
                // Same seed, same lists.
                assert_eq!(split(&case.table, &case.config).unwrap(), a, "seed {seed}");
                ok += 1;
            }
            Err(e) => {
                assert_eq!(e.kind, ErrorKind::InvalidArgument, "{e}");
                let names_something = case
                    .config
                    .splits
                    .iter()
                    .any(|s| e.message.contains(&format!("'{}'", s.name)))
                    || case
                        .table
                        .classes
                        .iter()
                        .any(|c| e.message.contains(&format!("'{c}'")));
                assert!(names_something, "the error names no split or class: {e}");
                // Without filters and groups only the minimum per class can be impossible.
                if case.filters.iter().all(FilterSpec::is_empty) && !case.grouped {
                    assert!(e.message.contains("min_per_class"), "seed {seed}: {e}");
                }
                eprintln!("seed {seed}: refused: {e}");
                refused += 1;
            }
        }
    }
    eprintln!("{ok} cases split, {refused} refused with a reason");
    assert!(
        ok >= CASES * 2 / 3,
        "only {ok} of {CASES} cases could be split"
    );
}

#[test]
fn the_seed_decides_which_samples_go_where() {
    let mut differ = 0;
    for seed in 0..20 {
        let mut case = random_case(seed);
        let Ok(a) = split(&case.table, &case.config) else {
            continue;
        };
        case.config.seed += 1;
        let Ok(b) = split(&case.table, &case.config) else {
            continue;
        };
        // Same sizes (the sizes do not depend on the seed without groups), other members.
        if !case.grouped {
            let sizes =
                |x: &Assignment| x.splits.iter().map(|l| l.indices.len()).collect::<Vec<_>>();
            assert_eq!(sizes(&a), sizes(&b));
        }
        if a.splits != b.splits {
            differ += 1;
        }
    }
    assert!(
        differ >= 10,
        "another seed changed the lists in only {differ} of 20 cases"
    );
}
