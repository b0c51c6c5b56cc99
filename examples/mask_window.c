/*
 * mask_window.c: the cloudmask C API from C.
 *
 * Opens a raster with GDAL, masks a 200 x 150 window at (100, 120) into memory and prints the
 * class counts, then masks the whole raster into a class-map GeoTIFF with a progress callback.
 *
 * Build and run from the crate root, after `cargo build`:
 *   cc -std=c99 -Wall -Wextra -Wpedantic -Werror -Iinclude -I/usr/include/gdal \
 *      examples/mask_window.c -Ltarget/debug -lcloudmask -lgdal -o target/mask_window
 *   LD_LIBRARY_PATH=target/debug target/mask_window ../shared/data/ukis-s2/s2_6band.tif classes.tif
 *
 * A third argument names another model (a name or an .onnx path; tests/valgrind.rs gives a tiny
 * generated one). ONNX Runtime and the ukis-csmask models are found as the library finds them
 * (the project's .venv above target/<profile>/libcloudmask.so, or $CLOUDMASK_ORT_LIB; `cloudmask
 * doctor` lists the places). Exit status 0 on success.
 */
#include <stdint.h>
#include <stdio.h>

/* GDAL 3.6's ogr_core.h declares enumerators beyond the range of int, which -Wpedantic rejects
 * when GDAL's headers come in through -I rather than as system headers. Silence it for GDAL's
 * headers only; cloudmask.h itself compiles cleanly with -Wpedantic. */
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#endif
#include <gdal.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

#include "example_util.h"

enum { WIN_X = 100, WIN_Y = 120, WIN_W = 200, WIN_H = 150 };

/* Progress: one line per stage and per quarter. Returning false would cancel. */
static bool on_progress(double fraction, const char *stage, void *user_data) {
    int *last_quarter = (int *)user_data;
    int quarter = (int)(fraction * 4.0);
    if (quarter != *last_quarter) {
        printf("  progress %3d%% (%s)\n", (int)(fraction * 100.0 + 0.5), stage);
        *last_quarter = quarter;
    }
    return true;
}

int main(int argc, char **argv) {
    const char *input = argc > 1 ? argv[1] : "../shared/data/ukis-s2/s2_6band.tif";
    const char *output = argc > 2 ? argv[2] : "mask_window_classes.tif";
    const char *model_name = argc > 3 ? argv[3] : "ukis-6b-l1c";
    static uint8_t classes[WIN_W * WIN_H];
    static uint8_t valid[WIN_W * WIN_H];
    size_t counts[5] = {0, 0, 0, 0, 0};
    size_t n_valid = 0;
    size_t i;
    int rc = 0;
    int last_quarter = -1;
    cm_model *model = NULL;
    cm_model_options model_options;
    cm_mask_options options;
    cm_model_info info;
    GDALDatasetH dataset;
    cm_status status;

    printf("cloudmask %s (header %s)\n", cm_version(), CLOUDMASK_VERSION);

    cm_model_options_default(&model_options);
    if (cm_model_load(model_name, &model_options, &model) != CM_OK) {
        return fail("cm_model_load");
    }
    if (cm_model_get_info(model, &info) != CM_OK) {
        rc = fail("cm_model_get_info");
        goto done;
    }
    printf("model %s: %zu classes, tile %zu, bands:", model_name, info.n_classes, info.tile_size);
    for (i = 0; i < info.n_bands; i++) {
        char name[64];
        if (cm_model_band_name(model, i, name, sizeof name) != CM_OK) {
            rc = fail("cm_model_band_name");
            goto done;
        }
        printf(" %s", name);
    }
    printf("\n");

    GDALAllRegister();
    dataset = GDALOpen(input, GA_ReadOnly);
    if (dataset == NULL) {
        fprintf(stderr, "GDALOpen(%s) failed: %s\n", input, CPLGetLastErrorMsg());
        rc = 1;
        goto done;
    }
    cm_mask_options_default(&options);
    /* NULL band numbers: the model's bands are found by their names (B02, B03, ...). */
    status = cm_mask_window(model, dataset, NULL, 0, &options, WIN_X, WIN_Y, WIN_W, WIN_H,
                            classes, sizeof classes, valid, sizeof valid);
    GDALClose(dataset);
    if (status != CM_OK) {
        rc = fail("cm_mask_window");
        goto done;
    }
    for (i = 0; i < sizeof classes; i++) {
        if (classes[i] < 5) {
            counts[classes[i]]++;
        }
        n_valid += valid[i];
    }
    printf("window %dx%d at (%d,%d): nodata=%zu clear=%zu cloud=%zu thin_cloud=%zu shadow=%zu "
           "valid=%zu\n",
           WIN_W, WIN_H, WIN_X, WIN_Y, counts[CM_CLASS_NODATA], counts[CM_CLASS_CLEAR],
           counts[CM_CLASS_CLOUD], counts[CM_CLASS_THIN_CLOUD], counts[CM_CLASS_CLOUD_SHADOW],
           n_valid);

    printf("masking %s into %s\n", input, output);
    if (cm_mask_dataset(model, input, output, NULL, &options, on_progress, &last_quarter) != CM_OK) {
        rc = fail("cm_mask_dataset");
        goto done;
    }
    printf("wrote %s\n", output);

done:
    cm_model_free(model);
    return rc;
}
