/*
 * example_util.h: what the C examples share: reporting a failed call, and a progress callback
 * that counts its calls. Needs nothing beyond cloudmask.h and stdio.h.
 */
#ifndef CLOUDMASK_EXAMPLE_UTIL_H
#define CLOUDMASK_EXAMPLE_UTIL_H

#include <stdio.h>

#include "cloudmask.h"

/* Prints what failed with cloudmask's message for this thread; returns the exit status 1. */
static inline int fail(const char *call) {
    char message[1024];
    size_t needed = cm_last_error(message, sizeof message);
    fprintf(stderr, "%s failed (status %d): %s%s\n", call, (int)cm_last_error_code(), message,
            needed > sizeof message ? " [message cut]" : "");
    return 1;
}

/* Progress: counts the calls in the int `user_data` points to; returning false would cancel. */
static inline bool count_progress(double fraction, const char *stage, void *user_data) {
    (void)fraction;
    (void)stage;
    ++*(int *)user_data;
    return true;
}

#endif
