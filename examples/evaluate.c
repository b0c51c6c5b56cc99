/*
 * evaluate.c: cm_evaluate from C, what `cloudmask eval` does.
 *
 * Compares one predictor's masks (in ukis-csmask codes: 0 clear, 1 cloud, 2 shadow) with
 * reference masks, writes the reports into a folder and prints the headline numbers.
 *
 * Build and run from the crate root, after `cargo build --release`:
 *   cc -std=c99 -Wall -Wextra -Wpedantic -Werror -Iinclude examples/evaluate.c \
 *      -Ltarget/release -lcloudmask -o target/evaluate
 *   LD_LIBRARY_PATH=target/release target/evaluate ../shared/data/ukis-s2/labels.tif \
 *      ../shared/data/ukis-s2/reference/ukis_6b_l1c.tif out/evaluate "0=shadow,1-3=clear,4=cloud"
 *
 * Arguments: reference (raster, folder or list file), prediction (raster or folder), report
 * folder, and optionally the references' class scheme (default: cloudmask's codes).
 * Exit status 0 on success.
 */
#include <stdint.h>
#include <stdio.h>

#include "example_util.h"

/* NaN prints as "NaN" whatever the C library's spelling. */
static void print_value(const char *name, double v) {
    if (v != v) {
        printf(" %s=NaN", name);
    } else {
        printf(" %s=%.6f", name, v);
    }
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s REFERENCE PREDICTION REPORT_DIR [REFERENCE_SCHEME]\n", argv[0]);
        return 2;
    }
    cm_eval_predictor predictor = {"ukis", argv[2], "ukis"};
    cm_eval_options options;
    cm_eval_options_default(&options);
    options.reference_scheme = argc > 4 ? argv[4] : NULL;
    cm_eval_summary summary;
    int progress_calls = 0;
    cm_status status = cm_evaluate(argv[1], &predictor, 1, &options, NULL, argv[3], count_progress,
                                   &progress_calls, &summary, 1);
    if (status != CM_OK) {
        return fail("cm_evaluate");
    }
    printf("%s: pixels=%llu", predictor.name, (unsigned long long)summary.pixels);
    print_value("oa", summary.overall_accuracy);
    print_value("kappa", summary.kappa);
    print_value("boa_cloud", summary.median_boa_cloud);
    print_value("boa_shadow", summary.median_boa_shadow);
    print_value("boa_valid", summary.median_boa_valid);
    print_value("fbeta_cloud", summary.f_beta_cloud);
    printf(" progress_calls=%d\n", progress_calls);

    /* A summary buffer too small is refused before any work, with the size needed. */
    status = cm_evaluate(argv[1], &predictor, 1, &options, NULL, argv[3], NULL, NULL, &summary, 0);
    if (status != CM_ERROR_BUFFER_TOO_SMALL) {
        fprintf(stderr, "expected CM_ERROR_BUFFER_TOO_SMALL, got %d\n", (int)status);
        return 1;
    }
    char message[256];
    cm_last_error(message, sizeof message);
    printf("too small: %s\n", message);
    return 0;
}
