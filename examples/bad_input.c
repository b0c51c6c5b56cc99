/*
 * bad_input.c: every export of the cloudmask C API called with bad input, from C.
 *
 * NULL for each required pointer, buffers too small, windows outside the raster, values that are
 * not enum constants, options out of range, missing files, a model file that is not ONNX, a
 * progress callback that cancels, freeing NULL, a second ONNX Runtime: each call must return the
 * documented status with a message that names the problem, set cm_last_error_code() to the same
 * status, leave the caller's outputs as they were and leave no file behind. tests/c_api_bad_input.rs
 * runs it, and tests/valgrind.rs runs it under valgrind (the boundary must not leak on errors).
 *
 * Build and run from the crate root, after `cargo build --release`:
 *   cc -std=c99 -Wall -Wextra -Wpedantic -Werror -Iinclude -I/usr/include/gdal \
 *      examples/bad_input.c -Ltarget/release -lcloudmask -lgdal -o target/bad_input
 *   LD_LIBRARY_PATH=target/release target/bad_input MODEL.onnx RASTER.tif SCRATCH_DIR
 *
 * MODEL.onnx: a model whose bands RASTER.tif has (found by name), at least 64 x 64 pixels;
 * SCRATCH_DIR: an empty folder the program may write into. Prints one line per check and a
 * summary; exit status 0 only when every check passed.
 */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* GDAL 3.6's headers do not compile under -Wpedantic (see mask_window.c). */
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#endif
#include <gdal.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

#include "example_util.h"

static int n_checks = 0;
static int n_failed = 0;

/* Checks that a call returned `want`, that cm_last_error_code() agrees, and that the message
 * mentions `needle` (empty after a success, never empty after a failure). */
static void expect(const char *what, cm_status got, cm_status want, const char *needle) {
    char message[2048];
    size_t needed = cm_last_error(message, sizeof message);
    int32_t code = cm_last_error_code();
    int message_ok = want == CM_OK ? needed == 1 : needed > 1 && strstr(message, needle) != NULL;
    n_checks++;
    if (got == want && code == want && needed <= sizeof message && message_ok) {
        printf("ok   %s: status %d: %s\n", what, (int)got, message);
        return;
    }
    n_failed++;
    printf("FAIL %s: status %d (want %d), cm_last_error_code %d, message \"%s\" (want \"%s\")\n",
           what, (int)got, (int)want, (int)code, message, needle);
}

/* Checks a condition that is not a status: outputs untouched, files absent. */
static void expect_true(const char *what, int condition) {
    n_checks++;
    if (condition) {
        printf("ok   %s\n", what);
    } else {
        n_failed++;
        printf("FAIL %s\n", what);
    }
}

static int exists(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f != NULL) {
        fclose(f);
    }
    return f != NULL;
}

/* Removes an output a successful call wrote, with the `.aux.xml` sidecar in which GDAL keeps
 * what GeoTIFF cannot hold (the category names), so that the folder ends as it began. */
static void remove_output(const char *path) {
    char sidecar[1100];
    snprintf(sidecar, sizeof sidecar, "%s.aux.xml", path);
    remove(sidecar);
    if (remove(path) != 0) {
        expect_true("removing an output that was written", 0);
    }
}

/* Whether every byte of `buf` is `value`: outputs must be untouched after a failure. */
static int all_bytes(const void *buf, size_t len, unsigned char value) {
    const unsigned char *p = (const unsigned char *)buf;
    size_t i;
    for (i = 0; i < len; i++) {
        if (p[i] != value) {
            return 0;
        }
    }
    return 1;
}

/* Progress that cancels at its `*(int *)user_data`-th call (counting down to 0). */
static bool cancel_at(double fraction, const char *stage, void *user_data) {
    int *left = (int *)user_data;
    (void)fraction;
    (void)stage;
    return --*left > 0;
}

/* Paths in the scratch folder. */
typedef struct {
    char not_onnx[1024];
    char classes[1024];
    char valid[1024];
    char vrt[1024];
    char list[1024];
    char report[1024];
    char missing_dir[1024];
} scratch_paths;

static void scratch_init(scratch_paths *p, const char *dir) {
    snprintf(p->not_onnx, sizeof p->not_onnx, "%s/not_a_model.onnx", dir);
    snprintf(p->classes, sizeof p->classes, "%s/classes.tif", dir);
    snprintf(p->valid, sizeof p->valid, "%s/valid.tif", dir);
    snprintf(p->vrt, sizeof p->vrt, "%s/mask.vrt", dir);
    snprintf(p->list, sizeof p->list, "%s/tiles.csv", dir);
    snprintf(p->report, sizeof p->report, "%s/report", dir);
    snprintf(p->missing_dir, sizeof p->missing_dir, "%s/no-such-folder/classes.tif", dir);
}

/* cm_version, cm_last_error, cm_list_models and the *_options_default functions. */
static void check_plain_functions(void) {
    char small[1] = {'x'};
    size_t needed;
    cm_model_options model_options;
    cm_mask_options mask_options;
    cm_input_options input_options;
    cm_eval_options eval_options;
    cm_select_options select_options;

    expect_true("cm_version is the header's version", strcmp(cm_version(), CLOUDMASK_VERSION) == 0);

    /* Every _default with NULL writes nothing and says why. */
    cm_model_options_default(NULL);
    expect("cm_model_options_default(NULL)", cm_last_error_code(), CM_ERROR_INVALID_ARGUMENT,
           "out_options is NULL");
    cm_mask_options_default(NULL);
    expect("cm_mask_options_default(NULL)", cm_last_error_code(), CM_ERROR_INVALID_ARGUMENT,
           "out_options is NULL");
    cm_input_options_default(NULL);
    expect("cm_input_options_default(NULL)", cm_last_error_code(), CM_ERROR_INVALID_ARGUMENT,
           "out_options is NULL");
    cm_eval_options_default(NULL);
    expect("cm_eval_options_default(NULL)", cm_last_error_code(), CM_ERROR_INVALID_ARGUMENT,
           "out_options is NULL");
    cm_select_options_default(NULL);
    expect("cm_select_options_default(NULL)", cm_last_error_code(), CM_ERROR_INVALID_ARGUMENT,
           "out_options is NULL");
    /* ... and succeeding ones leave the last error alone (only cm_status functions clear it). */
    cm_model_options_default(&model_options);
    cm_mask_options_default(&mask_options);
    cm_input_options_default(&input_options);
    cm_eval_options_default(&eval_options);
    cm_select_options_default(&select_options);
    expect("the _default functions keep the last error", cm_last_error_code(),
           CM_ERROR_INVALID_ARGUMENT, "out_options is NULL");

    /* cm_last_error like snprintf: NULL with 0 asks for the size; 1 byte holds the NUL only. */
    needed = cm_last_error(NULL, 0);
    expect_true("cm_last_error(NULL, 0) gives the size", needed == strlen("out_options is NULL") + 1);
    expect_true("cm_last_error cuts to fit", cm_last_error(small, 1) == needed && small[0] == '\0');

    /* cm_list_models the same way; freeing NULL is a no-op that keeps the last error. */
    needed = cm_list_models(NULL, 0);
    small[0] = 'x';
    expect_true("cm_list_models(NULL, 0) gives the size", needed >= 1);
    expect_true("cm_list_models cuts to fit", cm_list_models(small, 1) == needed && small[0] == '\0');
    cm_model_free(NULL);
    expect("cm_model_free(NULL)", cm_last_error_code(), CM_ERROR_INVALID_ARGUMENT,
           "out_options is NULL");
}

/* cm_runtime_init and cm_model_load; returns the model loaded from `model_path`. */
static cm_model *check_loading(const char *model_path, const scratch_paths *p) {
    cm_model *const sentinel = (cm_model *)p; /* any non-NULL address: must stay as it is */
    cm_model *model = sentinel;
    cm_model_options options;
    FILE *f;

    /* Before anything is loaded: a runtime that does not exist. */
    expect("cm_runtime_init(missing library)", cm_runtime_init("/no/such/libonnxruntime.so"),
           CM_ERROR_RUNTIME_NOT_FOUND, "/no/such/libonnxruntime.so does not exist");

    expect("cm_model_load(NULL name)", cm_model_load(NULL, NULL, &model),
           CM_ERROR_INVALID_ARGUMENT, "name_or_path is NULL");
    expect("cm_model_load(NULL out_model)", cm_model_load(model_path, NULL, NULL),
           CM_ERROR_INVALID_ARGUMENT, "out_model is NULL");
    expect("cm_model_load(\"\")", cm_model_load("", NULL, &model), CM_ERROR_INVALID_ARGUMENT,
           "no model given");
    expect("cm_model_load(not UTF-8)", cm_model_load("\xff\xfe", NULL, &model),
           CM_ERROR_INVALID_ARGUMENT, "name_or_path is not valid UTF-8");
    expect("cm_model_load(unknown name)", cm_model_load("no-such-model", NULL, &model),
           CM_ERROR_MODEL, "unknown model 'no-such-model'");
    expect("cm_model_load(missing file)", cm_model_load("/no/such/model.onnx", NULL, &model),
           CM_ERROR_MODEL, "does not exist");

    f = fopen(p->not_onnx, "wb");
    if (f != NULL) {
        fputs("this is a text file, not an ONNX model\n", f);
        fclose(f);
    }
    expect("cm_model_load(a text file named .onnx)", cm_model_load(p->not_onnx, NULL, &model),
           CM_ERROR_MODEL, "not_a_model.onnx");

    cm_model_options_default(&options);
    options.device = 7;
    expect("cm_model_load(device 7)", cm_model_load(model_path, &options, &model),
           CM_ERROR_INVALID_ARGUMENT, "options->device is 7");
    cm_model_options_default(&options);
    options.precision = 7;
    expect("cm_model_load(precision 7)", cm_model_load(model_path, &options, &model),
           CM_ERROR_INVALID_ARGUMENT, "options->precision is 7");
    /* bf16 needs OpenVINO, on any CPU: refused before anything is loaded. */
    cm_model_options_default(&options);
    options.precision = CM_PRECISION_BF16;
    expect("cm_model_load(bf16 on the CPU device)", cm_model_load(model_path, &options, &model),
           CM_ERROR_INVALID_ARGUMENT, "precision bf16 runs only with device openvino");
    cm_model_options_default(&options);
    options.threads = -1;
    expect("cm_model_load(threads -1)", cm_model_load(model_path, &options, &model),
           CM_ERROR_INVALID_ARGUMENT, "options->threads -1 is out of range");
    expect_true("out_model untouched by the failures", model == sentinel);

    cm_model_options_default(&options);
    options.threads = 1;
    expect("cm_model_load(the model)", cm_model_load(model_path, &options, &model), CM_OK, "");

    /* One ONNX Runtime per process: another file is refused before it is opened (it is not even
     * a library here), the same one again is fine. */
    expect("cm_runtime_init(another library)", cm_runtime_init(p->not_onnx),
           CM_ERROR_RUNTIME_NOT_FOUND, "cannot be loaded as well");
    expect("cm_runtime_init(NULL) once loaded", cm_runtime_init(NULL), CM_OK, "");
    return model == sentinel ? NULL : model;
}

/* cm_model_get_info, cm_model_band_name, cm_model_class_name, cm_model_class_code. */
static void check_model_queries(const cm_model *model) {
    cm_model_info info;
    char name[64];
    char tiny[2] = {0x55, 0x55};
    uint8_t code = 0x55;

    memset(&info, 0x55, sizeof info);
    expect("cm_model_get_info(NULL model)", cm_model_get_info(NULL, &info),
           CM_ERROR_INVALID_ARGUMENT, "model is NULL");
    expect("cm_model_get_info(NULL out_info)", cm_model_get_info(model, NULL),
           CM_ERROR_INVALID_ARGUMENT, "out_info is NULL");
    expect_true("out_info untouched", all_bytes(&info, sizeof info, 0x55));
    expect("cm_model_get_info", cm_model_get_info(model, &info), CM_OK, "");

    expect("cm_model_band_name(NULL model)", cm_model_band_name(NULL, 0, name, sizeof name),
           CM_ERROR_INVALID_ARGUMENT, "model is NULL");
    expect("cm_model_band_name(NULL buf)", cm_model_band_name(model, 0, NULL, 64),
           CM_ERROR_INVALID_ARGUMENT, "buf is NULL");
    expect("cm_model_band_name(index n_bands)",
           cm_model_band_name(model, info.n_bands, name, sizeof name), CM_ERROR_INVALID_ARGUMENT,
           "is out of range");
    expect("cm_model_band_name(index SIZE_MAX)", cm_model_band_name(model, SIZE_MAX, name, 64),
           CM_ERROR_INVALID_ARGUMENT, "is out of range");
    expect("cm_model_band_name(2-byte buf)", cm_model_band_name(model, 0, tiny, sizeof tiny),
           CM_ERROR_BUFFER_TOO_SMALL, "buf holds 2 bytes but");
    expect("cm_model_band_name(len 0)", cm_model_band_name(model, 0, tiny, 0),
           CM_ERROR_BUFFER_TOO_SMALL, "buf holds 0 bytes but");
    expect_true("band name buffer untouched", all_bytes(tiny, sizeof tiny, 0x55));

    expect("cm_model_class_name(NULL model)", cm_model_class_name(NULL, 0, name, sizeof name),
           CM_ERROR_INVALID_ARGUMENT, "model is NULL");
    expect("cm_model_class_name(NULL buf)", cm_model_class_name(model, 0, NULL, 64),
           CM_ERROR_INVALID_ARGUMENT, "buf is NULL");
    expect("cm_model_class_name(index n_classes)",
           cm_model_class_name(model, info.n_classes, name, sizeof name),
           CM_ERROR_INVALID_ARGUMENT, "is out of range");
    expect("cm_model_class_name(2-byte buf)", cm_model_class_name(model, 0, tiny, sizeof tiny),
           CM_ERROR_BUFFER_TOO_SMALL, "are needed");
    expect_true("class name buffer untouched", all_bytes(tiny, sizeof tiny, 0x55));

    expect("cm_model_class_code(NULL model)", cm_model_class_code(NULL, 0, &code),
           CM_ERROR_INVALID_ARGUMENT, "model is NULL");
    expect("cm_model_class_code(NULL out_code)", cm_model_class_code(model, 0, NULL),
           CM_ERROR_INVALID_ARGUMENT, "out_code is NULL");
    expect("cm_model_class_code(index n_classes)",
           cm_model_class_code(model, info.n_classes, &code), CM_ERROR_INVALID_ARGUMENT,
           "is out of range");
    expect_true("out_code untouched", code == 0x55);
}

/* Each bad value of cm_mask_options, through cm_mask_buffer (the cheapest call). */
static void check_mask_options(const cm_model *model, const float *bands, size_t n_bands,
                               uint8_t *classes, size_t side) {
    static const struct {
        const char *what;
        int32_t tiling, batch, buffer, tile;
        double overlap;
        cm_status status;
        const char *needle;
    } cases[] = {
        {"tiling 2", 2, 1, -1, -1, -1.0, CM_ERROR_INVALID_ARGUMENT, "options->tiling is 2"},
        {"tiling -1", -1, 1, -1, -1, -1.0, CM_ERROR_INVALID_ARGUMENT, "options->tiling is -1"},
        {"batch 0", 0, 0, -1, -1, -1.0, CM_ERROR_INVALID_ARGUMENT, "options->batch 0 is out of range"},
        {"buffer -2", 0, 1, -2, -1, -1.0, CM_ERROR_INVALID_ARGUMENT, "options->buffer -2 is out of range"},
        {"tile 0", 0, 1, -1, 0, -1.0, CM_ERROR_INVALID_ARGUMENT, "options->tile 0 is out of range"},
        {"tile 17", 0, 1, -1, 17, -1.0, CM_ERROR_INVALID_ARGUMENT, "17"},
        {"overlap 0.9", 0, 1, -1, -1, 0.9, CM_ERROR_INVALID_ARGUMENT, "overlap"},
        {"overlap 0", 0, 1, -1, -1, 0.0, CM_ERROR_INVALID_ARGUMENT, "overlap"},
        {"overlap NaN", 0, 1, -1, -1, NAN, CM_ERROR_INVALID_ARGUMENT, "overlap"},
    };
    size_t i;
    char what[128];
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cm_mask_options options;
        cm_mask_options_default(&options);
        options.tiling = cases[i].tiling;
        options.batch = cases[i].batch;
        options.buffer = cases[i].buffer;
        options.tile = cases[i].tile;
        options.overlap = cases[i].overlap;
        snprintf(what, sizeof what, "cm_mask_buffer(options: %s)", cases[i].what);
        expect(what,
               cm_mask_buffer(model, bands, n_bands, side, side, NULL, &options, classes,
                              side * side, NULL, 0),
               cases[i].status, cases[i].needle);
    }
}

/* cm_mask_buffer: NULLs, sizes, overflow, and the options. */
static void check_mask_buffer(const cm_model *model, size_t n_bands) {
    enum { SIDE = 32 };
    static float bands[4 * SIDE * SIDE];
    static uint8_t classes[SIDE * SIDE];
    static uint8_t valid[SIDE * SIDE];
    size_t n = SIDE * SIDE;

    if (n_bands > 4) {
        expect_true("the bad-input program supports models of at most 4 bands", 0);
        return;
    }
    memset(bands, 0, sizeof bands);
    memset(classes, 0x55, sizeof classes);
    memset(valid, 0x55, sizeof valid);
    expect("cm_mask_buffer(NULL model)",
           cm_mask_buffer(NULL, bands, n_bands, SIDE, SIDE, NULL, NULL, classes, n, NULL, 0),
           CM_ERROR_INVALID_ARGUMENT, "model is NULL");
    expect("cm_mask_buffer(NULL bands)",
           cm_mask_buffer(model, NULL, n_bands, SIDE, SIDE, NULL, NULL, classes, n, NULL, 0),
           CM_ERROR_INVALID_ARGUMENT, "bands is NULL");
    expect("cm_mask_buffer(NULL classes_out)",
           cm_mask_buffer(model, bands, n_bands, SIDE, SIDE, NULL, NULL, NULL, n, NULL, 0),
           CM_ERROR_INVALID_ARGUMENT, "classes_out is NULL");
    expect("cm_mask_buffer(sizes that overflow)",
           cm_mask_buffer(model, bands, n_bands, SIZE_MAX, SIZE_MAX, NULL, NULL, classes, n, NULL,
                          0),
           CM_ERROR_INVALID_ARGUMENT, "overflow");
    expect("cm_mask_buffer(one band too many)",
           cm_mask_buffer(model, bands, n_bands + 1, SIDE / 2, SIDE / 2, NULL, NULL, classes, n,
                          NULL, 0),
           CM_ERROR_BAND_MAPPING, "bands");
    expect("cm_mask_buffer(width 0)",
           cm_mask_buffer(model, bands, n_bands, 0, SIDE, NULL, NULL, classes, n, NULL, 0),
           CM_ERROR_WINDOW, "is empty");
    expect("cm_mask_buffer(classes_len one short)",
           cm_mask_buffer(model, bands, n_bands, SIDE, SIDE, NULL, NULL, classes, n - 1, NULL, 0),
           CM_ERROR_BUFFER_TOO_SMALL, "classes_out holds 1023 bytes but 1024 are needed");
    expect("cm_mask_buffer(valid_len one short)",
           cm_mask_buffer(model, bands, n_bands, SIDE, SIDE, NULL, NULL, classes, n, valid, n - 1),
           CM_ERROR_BUFFER_TOO_SMALL, "valid_out holds 1023 bytes but 1024 are needed");
    check_mask_options(model, bands, n_bands, classes, SIDE);
    expect_true("classes_out and valid_out untouched by the failures",
                all_bytes(classes, sizeof classes, 0x55) && all_bytes(valid, sizeof valid, 0x55));
    expect("cm_mask_buffer(all zero)",
           cm_mask_buffer(model, bands, n_bands, SIDE, SIDE, NULL, NULL, classes, n, valid, n),
           CM_OK, "");
}

/* cm_mask_window: NULLs, band numbers, windows outside the raster, buffer sizes. */
static void check_mask_window(const cm_model *model, GDALDatasetH ds, size_t n_bands) {
    enum { W = 16, H = 8 };
    static uint8_t classes[W * H];
    static uint8_t valid[W * H];
    const int32_t rw = GDALGetRasterXSize(ds);
    const int32_t rh = GDALGetRasterYSize(ds);
    const int32_t zero_band[4] = {0, 1, 1, 1};
    const int32_t far_band[4] = {99, 1, 1, 1};
    static const struct {
        const char *what;
        int32_t x, y, w, h; /* x and y: from the right / bottom edge when negative below -1000 */
        const char *needle;
    } windows[] = {
        {"x -1", -1, 0, W, H, "lies outside the raster"},
        {"y -1", 0, -1, W, H, "lies outside the raster"},
        {"width 0", 0, 0, 0, H, "is empty"},
        {"height -5", 0, 0, W, -5, "is empty"},
        {"one column past the right edge", INT32_MIN, 0, W, H, "lies outside the raster"},
        {"one row past the bottom", 0, INT32_MIN, W, H, "lies outside the raster"},
        {"INT32_MAX x INT32_MAX", 0, 0, INT32_MAX, INT32_MAX, "lies outside the raster"},
        {"at (INT32_MAX, INT32_MAX)", INT32_MAX, INT32_MAX, W, H, "lies outside the raster"},
    };
    size_t i;
    char what[128];
    float pixel = 0.0f;

    memset(classes, 0x55, sizeof classes);
    memset(valid, 0x55, sizeof valid);
    expect("cm_mask_window(NULL model)",
           cm_mask_window(NULL, ds, NULL, 0, NULL, 0, 0, W, H, classes, W * H, NULL, 0),
           CM_ERROR_INVALID_ARGUMENT, "model is NULL");
    expect("cm_mask_window(NULL dataset)",
           cm_mask_window(model, NULL, NULL, 0, NULL, 0, 0, W, H, classes, W * H, NULL, 0),
           CM_ERROR_INVALID_ARGUMENT, "dataset is NULL");
    expect("cm_mask_window(NULL classes_out)",
           cm_mask_window(model, ds, NULL, 0, NULL, 0, 0, W, H, NULL, W * H, NULL, 0),
           CM_ERROR_INVALID_ARGUMENT, "classes_out is NULL");
    expect("cm_mask_window(classes_len one short)",
           cm_mask_window(model, ds, NULL, 0, NULL, 0, 0, W, H, classes, W * H - 1, NULL, 0),
           CM_ERROR_BUFFER_TOO_SMALL, "classes_out holds 127 bytes but 128 are needed");
    expect("cm_mask_window(valid_len 0)",
           cm_mask_window(model, ds, NULL, 0, NULL, 0, 0, W, H, classes, W * H, valid, 0),
           CM_ERROR_BUFFER_TOO_SMALL, "valid_out holds 0 bytes but 128 are needed");
    expect("cm_mask_window(band number 0)",
           cm_mask_window(model, ds, zero_band, n_bands, NULL, 0, 0, W, H, classes, W * H, NULL,
                          0),
           CM_ERROR_BAND_MAPPING, "band number 0 is invalid");
    expect("cm_mask_window(band number 99)",
           cm_mask_window(model, ds, far_band, n_bands, NULL, 0, 0, W, H, classes, W * H, NULL, 0),
           CM_ERROR_BAND_MAPPING, "99");
    expect("cm_mask_window(one band number too few)",
           cm_mask_window(model, ds, far_band + 1, n_bands - 1, NULL, 0, 0, W, H, classes, W * H,
                          NULL, 0),
           CM_ERROR_BAND_MAPPING, "band numbers given but the model needs");
    for (i = 0; i < sizeof windows / sizeof windows[0]; i++) {
        int32_t x = windows[i].x == INT32_MIN ? rw - W + 1 : windows[i].x;
        int32_t y = windows[i].y == INT32_MIN ? rh - H + 1 : windows[i].y;
        snprintf(what, sizeof what, "cm_mask_window(window %s)", windows[i].what);
        expect(what,
               cm_mask_window(model, ds, NULL, 0, NULL, x, y, windows[i].w, windows[i].h, classes,
                              W * H, valid, W * H),
               CM_ERROR_WINDOW, windows[i].needle);
    }
    expect_true("classes_out and valid_out untouched by the failures",
                all_bytes(classes, sizeof classes, 0x55) && all_bytes(valid, sizeof valid, 0x55));
    expect("cm_mask_window(the last window inside)",
           cm_mask_window(model, ds, NULL, 0, NULL, rw - W, rh - H, W, H, classes, W * H, valid,
                          W * H),
           CM_OK, "");
    /* cloudmask never closes the caller's dataset: it still reads after all these calls (and
     * GDALClose in main would be a double close under valgrind otherwise). */
    expect_true("the dataset is still open and readable",
                GDALRasterIO(GDALGetRasterBand(ds, 1), GF_Read, 0, 0, 1, 1, &pixel, 1, 1,
                             GDT_Float32, 0, 0) == CE_None);
}

/* cm_mask_dataset, cm_mask_to_files and cm_mask_to_files_ex: paths, options, cancel. */
static void check_mask_files(const cm_model *model, const char *raster, const scratch_paths *p) {
    cm_output_paths paths = {NULL, NULL, NULL};
    cm_input_options input;
    const int32_t zero_band[4] = {0, 1, 1, 1};
    int calls = 2;

    expect("cm_mask_dataset(NULL model)",
           cm_mask_dataset(NULL, raster, p->classes, NULL, NULL, NULL, NULL),
           CM_ERROR_INVALID_ARGUMENT, "model is NULL");
    expect("cm_mask_dataset(NULL input_path)",
           cm_mask_dataset(model, NULL, p->classes, NULL, NULL, NULL, NULL),
           CM_ERROR_INVALID_ARGUMENT, "input_path is NULL");
    expect("cm_mask_dataset(NULL output_path)",
           cm_mask_dataset(model, raster, NULL, p->valid, NULL, NULL, NULL),
           CM_ERROR_INVALID_ARGUMENT, "output_path is NULL");
    expect("cm_mask_dataset(missing input)",
           cm_mask_dataset(model, "/no/such/input.tif", p->classes, NULL, NULL, NULL, NULL),
           CM_ERROR_INPUT, "/no/such/input.tif does not exist");
    expect("cm_mask_dataset(input that is not a raster)",
           cm_mask_dataset(model, p->not_onnx, p->classes, NULL, NULL, NULL, NULL),
           CM_ERROR_INPUT, "not_a_model.onnx");
    expect("cm_mask_dataset(output in a missing folder)",
           cm_mask_dataset(model, raster, p->missing_dir, NULL, NULL, NULL, NULL), CM_ERROR_OUTPUT,
           "does not exist");
    expect("cm_mask_dataset(cancelled by the progress callback)",
           cm_mask_dataset(model, raster, p->classes, p->valid, NULL, cancel_at, &calls),
           CM_ERROR_CANCELLED, "cancel");
    expect_true("the cancelled call left no file", !exists(p->classes) && !exists(p->valid));

    expect("cm_mask_to_files(NULL paths)",
           cm_mask_to_files(model, raster, NULL, NULL, 0, NULL, NULL, NULL),
           CM_ERROR_INVALID_ARGUMENT, "paths is NULL");
    expect("cm_mask_to_files(no product named)",
           cm_mask_to_files(model, raster, &paths, NULL, 0, NULL, NULL, NULL),
           CM_ERROR_INVALID_ARGUMENT, "paths names no output");
    paths.valid = p->valid;
    expect("cm_mask_to_files(band number 0)",
           cm_mask_to_files(model, raster, &paths, zero_band, 2, NULL, NULL, NULL),
           CM_ERROR_BAND_MAPPING, "band number 0 is invalid");
    expect("cm_mask_to_files(NULL band_indices, 5 of them)",
           cm_mask_to_files(model, raster, &paths, NULL, 5, NULL, NULL, NULL), CM_OK, "");
    expect_true("... wrote the valid mask", exists(p->valid));
    remove_output(p->valid);

    cm_input_options_default(&input);
    input.scaling = 3;
    expect("cm_mask_to_files_ex(scaling 3)",
           cm_mask_to_files_ex(model, raster, &input, &paths, NULL, 0, NULL, NULL, NULL),
           CM_ERROR_INVALID_ARGUMENT, "input_options->scaling is 3");
    cm_input_options_default(&input);
    input.buffer_shadow = -7;
    expect("cm_mask_to_files_ex(buffer_shadow -7)",
           cm_mask_to_files_ex(model, raster, &input, &paths, NULL, 0, NULL, NULL, NULL),
           CM_ERROR_INVALID_ARGUMENT, "input_options->buffer_shadow -7 is out of range");
    cm_input_options_default(&input);
    input.resolution = -10.0;
    expect("cm_mask_to_files_ex(resolution -10)",
           cm_mask_to_files_ex(model, raster, &input, &paths, NULL, 0, NULL, NULL, NULL),
           CM_ERROR_INVALID_ARGUMENT, "resolution");
    expect_true("no output left by the failures", !exists(p->classes) && !exists(p->valid));
}

/* cm_write_virtual_mask and cm_write_virtual_mask_ex. */
static void check_virtual_mask(const char *model_path, const char *raster, const scratch_paths *p) {
    cm_input_options input;
    cm_mask_options mask;

    expect("cm_write_virtual_mask(NULL image_path)",
           cm_write_virtual_mask(NULL, model_path, NULL, NULL, NULL, p->vrt),
           CM_ERROR_INVALID_ARGUMENT, "image_path is NULL");
    expect("cm_write_virtual_mask(NULL model)",
           cm_write_virtual_mask(raster, NULL, NULL, NULL, NULL, p->vrt),
           CM_ERROR_INVALID_ARGUMENT, "model is NULL");
    expect("cm_write_virtual_mask(NULL vrt_path)",
           cm_write_virtual_mask(raster, model_path, NULL, NULL, NULL, NULL),
           CM_ERROR_INVALID_ARGUMENT, "vrt_path is NULL");
    expect("cm_write_virtual_mask(outputs \"classes,bogus\")",
           cm_write_virtual_mask(raster, model_path, NULL, NULL, "classes,bogus", p->vrt),
           CM_ERROR_INVALID_ARGUMENT, "outputs: ");
    expect("cm_write_virtual_mask(unknown model)",
           cm_write_virtual_mask(raster, "no-such-model", NULL, NULL, NULL, p->vrt),
           CM_ERROR_MODEL, "no-such-model");
    expect("cm_write_virtual_mask(a text file as model)",
           cm_write_virtual_mask(raster, p->not_onnx, NULL, NULL, NULL, p->vrt), CM_ERROR_MODEL,
           "not_a_model.onnx");
    expect("cm_write_virtual_mask(missing image)",
           cm_write_virtual_mask("/no/such/image.tif", model_path, NULL, NULL, NULL, p->vrt),
           CM_ERROR_INPUT, "/no/such/image.tif");
    expect("cm_write_virtual_mask(vrt in a missing folder)",
           cm_write_virtual_mask(raster, model_path, NULL, NULL, NULL, p->missing_dir),
           CM_ERROR_OUTPUT, "does not exist");
    cm_mask_options_default(&mask);
    mask.buffer = -3;
    expect("cm_write_virtual_mask(buffer -3)",
           cm_write_virtual_mask(raster, model_path, NULL, &mask, NULL, p->vrt),
           CM_ERROR_INVALID_ARGUMENT, "options->buffer -3 is out of range");
    cm_input_options_default(&input);
    input.scaling = -1;
    expect("cm_write_virtual_mask_ex(scaling -1)",
           cm_write_virtual_mask_ex(raster, &input, model_path, NULL, NULL, NULL, p->vrt),
           CM_ERROR_INVALID_ARGUMENT, "input_options->scaling is -1");
    cm_input_options_default(&input);
    input.buffer_nodata = -2;
    expect("cm_write_virtual_mask_ex(buffer_nodata -2)",
           cm_write_virtual_mask_ex(raster, &input, model_path, NULL, NULL, NULL, p->vrt),
           CM_ERROR_INVALID_ARGUMENT, "input_options->buffer_nodata -2 is out of range");
    expect_true("no virtual mask left by the failures", !exists(p->vrt));
}

/* cm_evaluate: NULLs, predictors, schemes, reports, summaries, cancel. `classes` is a class map
 * (written by a successful cm_mask_dataset), used as reference and as prediction. */
static void check_evaluate(const char *classes, const scratch_paths *p) {
    cm_eval_predictor good = {"self", NULL, NULL};
    cm_eval_predictor unnamed = {NULL, NULL, NULL};
    cm_eval_predictor bad_scheme = {"self", NULL, "no-such-scheme"};
    cm_eval_options options;
    cm_eval_summary summary;
    int calls = 1;

    good.source = classes;
    bad_scheme.source = classes;
    memset(&summary, 0x55, sizeof summary);
    expect("cm_evaluate(NULL reference)",
           cm_evaluate(NULL, &good, 1, NULL, NULL, p->report, NULL, NULL, NULL, 0),
           CM_ERROR_INVALID_ARGUMENT, "reference is NULL");
    expect("cm_evaluate(NULL report_dir)",
           cm_evaluate(classes, &good, 1, NULL, NULL, NULL, NULL, NULL, NULL, 0),
           CM_ERROR_INVALID_ARGUMENT, "report_dir is NULL");
    expect("cm_evaluate(NULL predictors, 1 of them)",
           cm_evaluate(classes, NULL, 1, NULL, NULL, p->report, NULL, NULL, NULL, 0),
           CM_ERROR_INVALID_ARGUMENT, "predictors is NULL");
    expect("cm_evaluate(a predictor without a name)",
           cm_evaluate(classes, &unnamed, 1, NULL, NULL, p->report, NULL, NULL, NULL, 0),
           CM_ERROR_INVALID_ARGUMENT, "predictors[0].name is NULL");
    expect("cm_evaluate(an unknown scheme)",
           cm_evaluate(classes, &bad_scheme, 1, NULL, NULL, p->report, NULL, NULL, NULL, 0),
           CM_ERROR_INVALID_ARGUMENT, "no-such-scheme");
    expect("cm_evaluate(missing reference)",
           cm_evaluate("/no/such/reference.tif", &good, 1, NULL, NULL, p->report, NULL, NULL,
                       NULL, 0),
           CM_ERROR_INPUT, "/no/such/reference.tif");
    expect("cm_evaluate(summaries_len 0)",
           cm_evaluate(classes, &good, 1, NULL, NULL, p->report, NULL, NULL, &summary, 0),
           CM_ERROR_BUFFER_TOO_SMALL, "summaries_out holds 0 summaries but 1 are needed");
    cm_eval_options_default(&options);
    options.reports = "md,pdf";
    expect("cm_evaluate(reports \"md,pdf\")",
           cm_evaluate(classes, &good, 1, &options, NULL, p->report, NULL, NULL, NULL, 0),
           CM_ERROR_INVALID_ARGUMENT, "pdf");
    cm_eval_options_default(&options);
    options.beta = 0.0;
    expect("cm_evaluate(beta 0)",
           cm_evaluate(classes, &good, 1, &options, NULL, p->report, NULL, NULL, NULL, 0),
           CM_ERROR_INVALID_ARGUMENT, "beta");
    expect("cm_evaluate(cancelled by the progress callback)",
           cm_evaluate(classes, &good, 1, NULL, NULL, p->report, cancel_at, &calls, &summary, 1),
           CM_ERROR_CANCELLED, "cancel");
    expect_true("summaries_out untouched by the failures",
                all_bytes(&summary, sizeof summary, 0x55));
    /* The report folder is created before the work starts; nothing may be left in it (remove
     * fails on a folder that is not empty). */
    expect_true("the failures left no report", !exists(p->report) || remove(p->report) == 0);
}

/* cm_select_tiles: NULLs, paths, options, a missing second model, cancel. */
static void check_select(const cm_model *model, const char *raster, const scratch_paths *p) {
    const char *inputs[1];
    const char *null_input[1] = {NULL};
    cm_select_options options;
    size_t selected = 12345;
    int calls = 1;

    inputs[0] = raster;
    cm_select_options_default(&options);
    options.tile = 16;
    options.count = 2;
    expect("cm_select_tiles(NULL model)",
           cm_select_tiles(NULL, NULL, inputs, 1, &options, NULL, NULL, p->list, NULL, NULL,
                           &selected),
           CM_ERROR_INVALID_ARGUMENT, "model is NULL");
    expect("cm_select_tiles(NULL input_paths)",
           cm_select_tiles(model, NULL, NULL, 1, &options, NULL, NULL, p->list, NULL, NULL,
                           &selected),
           CM_ERROR_INVALID_ARGUMENT, "input_paths is NULL");
    expect("cm_select_tiles(n_inputs 0)",
           cm_select_tiles(model, NULL, inputs, 0, &options, NULL, NULL, p->list, NULL, NULL,
                           &selected),
           CM_ERROR_INVALID_ARGUMENT, "n_inputs is 0");
    expect("cm_select_tiles(input_paths[0] NULL)",
           cm_select_tiles(model, NULL, null_input, 1, &options, NULL, NULL, p->list, NULL, NULL,
                           &selected),
           CM_ERROR_INVALID_ARGUMENT, "input_paths[0] is NULL");
    expect("cm_select_tiles(no output path)",
           cm_select_tiles(model, NULL, inputs, 1, &options, NULL, NULL, NULL, NULL, NULL,
                           &selected),
           CM_ERROR_INVALID_ARGUMENT, "no output requested");
    options.measure = CM_MEASURE_DISAGREEMENT;
    expect("cm_select_tiles(disagreement without a second model)",
           cm_select_tiles(model, NULL, inputs, 1, &options, NULL, NULL, p->list, NULL, NULL,
                           &selected),
           CM_ERROR_INVALID_ARGUMENT, "second");
    options.measure = 3;
    expect("cm_select_tiles(measure 3)",
           cm_select_tiles(model, NULL, inputs, 1, &options, NULL, NULL, p->list, NULL, NULL,
                           &selected),
           CM_ERROR_INVALID_ARGUMENT, "options->measure is 3");
    options.measure = CM_MEASURE_ENTROPY;
    options.min_valid = 1.5;
    expect("cm_select_tiles(min_valid 1.5)",
           cm_select_tiles(model, NULL, inputs, 1, &options, NULL, NULL, p->list, NULL, NULL,
                           &selected),
           CM_ERROR_INVALID_ARGUMENT, "options->min_valid is 1.5");
    options.min_valid = 0.5;
    options.stride = 0;
    expect("cm_select_tiles(stride 0)",
           cm_select_tiles(model, NULL, inputs, 1, &options, NULL, NULL, p->list, NULL, NULL,
                           &selected),
           CM_ERROR_INVALID_ARGUMENT, "options->stride is 0");
    options.stride = -1;
    expect("cm_select_tiles(missing raster)",
           cm_select_tiles(model, NULL, (const char *const[]){"/no/such/scene.tif"}, 1, &options,
                           NULL, NULL, p->list, NULL, NULL, &selected),
           CM_ERROR_INPUT, "/no/such/scene.tif");
    expect("cm_select_tiles(cancelled by the progress callback)",
           cm_select_tiles(model, NULL, inputs, 1, &options, NULL, NULL, p->list, cancel_at,
                           &calls, &selected),
           CM_ERROR_CANCELLED, "cancel");
    expect_true("out_selected untouched and no list left by the failures",
                selected == 12345 && !exists(p->list));
}

int main(int argc, char **argv) {
    scratch_paths p;
    cm_model *model;
    cm_model_info info;
    GDALDatasetH ds;

    if (argc != 4) {
        fprintf(stderr, "usage: %s MODEL.onnx RASTER.tif SCRATCH_DIR\n", argv[0]);
        return 2;
    }
    scratch_init(&p, argv[3]);
    check_plain_functions();
    model = check_loading(argv[1], &p);
    if (model == NULL || cm_model_get_info(model, &info) != CM_OK) {
        printf("%d checks, %d failed: the model did not load, nothing more to check\n", n_checks,
               n_failed + 1);
        return 1;
    }
    check_model_queries(model);
    check_mask_buffer(model, info.n_bands);

    GDALAllRegister();
    ds = GDALOpen(argv[2], GA_ReadOnly);
    if (ds == NULL) {
        fprintf(stderr, "GDALOpen(%s) failed: %s\n", argv[2], CPLGetLastErrorMsg());
        cm_model_free(model);
        return 1;
    }
    check_mask_window(model, ds, info.n_bands);
    GDALClose(ds);

    check_mask_files(model, argv[2], &p);
    check_virtual_mask(argv[1], argv[2], &p);
    check_select(model, argv[2], &p);
    /* A real class map for cm_evaluate, removed afterwards. */
    expect("cm_mask_dataset(the raster)",
           cm_mask_dataset(model, argv[2], p.classes, NULL, NULL, NULL, NULL), CM_OK, "");
    check_evaluate(p.classes, &p);
    remove_output(p.classes);
    remove(p.not_onnx);
    cm_model_free(model);

    printf("%d checks, %d failed\n", n_checks, n_failed);
    return n_failed == 0 ? 0 : 1;
}
