/* lm_replay <lib.so> <trace>: run a trace against one implementation loaded by path and print every
 * observable result (replay.h). Exit 0; 2 on a usage, load or trace error; 3 when the library hung. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lm_lib.h"
#include "replay.h"
#include "trace.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: lm_replay <libdap_link_manager*.so> <trace>\n");
        return 2;
    }
    char err[512];
    char *text = lm_read_file(argv[2]);
    if (!text) {
        fprintf(stderr, "lm_replay: %s: %s\n", argv[2], strerror(errno));
        return 2;
    }
    lm_trace_t t;
    if (!lm_trace_parse(text, &t, err, sizeof(err))) {
        fprintf(stderr, "lm_replay: %s: %s\n", argv[2], err);
        free(text);
        return 2;
    }
    free(text);
    lm_lib_t lib;
    if (!lm_lib_load(&lib, argv[1], err, sizeof(err))) {
        fprintf(stderr, "lm_replay: %s\n", err);
        lm_trace_free(&t);
        return 2;
    }
    lm_lines_t out = {0};
    bool ok = lm_replay_run(&lib, &t, &out, err, sizeof(err));
    for (size_t i = 0; i < out.n; i++)
        puts(out.v[i]);
    if (!ok)
        fprintf(stderr, "lm_replay: %s\n", err);
    lm_lines_free(&out);
    lm_trace_free(&t);
    return ok ? 0 : 2;
}
