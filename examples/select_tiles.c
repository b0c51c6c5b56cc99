/*
 * select_tiles.c: active learning through the cloudmask C API.
 *
 * Ranks 128 x 128 candidate tiles of a raster (every 64 pixels) by the model's entropy and
 * writes the 4 most uncertain, at least one tile apart, as GeoJSON and as a CSV list ready for
 * a labelling tool; then shows how a refused call reports what to change.
 *
 * Build and run from the crate root, after `cargo build`:
 *   cc -std=c99 -Wall -Wextra -Wpedantic -Werror -Iinclude examples/select_tiles.c \
 *      -Ltarget/debug -lcloudmask -o target/select_tiles
 *   LD_LIBRARY_PATH=target/debug target/select_tiles ../shared/data/ukis-s2/s2_6band.tif \
 *      tiles.geojson tiles.csv
 *
 * Exit status 0 on success.
 */
#include <stdio.h>

#include "example_util.h"

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s RASTER OUT.geojson OUT.csv\n", argv[0]);
        return 2;
    }
    cm_model *model = NULL;
    if (cm_model_load("ukis-6b-l1c", NULL, &model) != CM_OK) {
        return fail("cm_model_load");
    }

    cm_select_options options;
    cm_select_options_default(&options);
    options.measure = CM_MEASURE_ENTROPY;
    options.tile = 128;
    options.stride = 64;
    options.count = 4;
    const char *inputs[1];
    inputs[0] = argv[1];
    size_t selected = 0;
    int calls = 0;
    if (cm_select_tiles(model, NULL, inputs, 1, &options, NULL, argv[2], argv[3], count_progress,
                        &calls, &selected) != CM_OK) {
        cm_model_free(model);
        return fail("cm_select_tiles");
    }
    printf("selected %zu tiles (%d progress calls)\n", selected, calls);

    /* The disagreement measure compares two models: without a second one the call is refused,
     * the files written above stay as they are and `selected` is not touched. */
    options.measure = CM_MEASURE_DISAGREEMENT;
    cm_status status = cm_select_tiles(model, NULL, inputs, 1, &options, NULL, NULL, argv[3],
                                       NULL, NULL, &selected);
    char message[512];
    cm_last_error(message, sizeof message);
    printf("refused with status %d: %s\n", (int)status, message);
    printf("still %zu tiles\n", selected);
    cm_model_free(model);
    return status == CM_ERROR_INVALID_ARGUMENT ? 0 : 1;
}
