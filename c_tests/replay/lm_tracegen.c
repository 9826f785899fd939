/* lm_tracegen [--seed N] [--events M]: print a random valid trace (the same seed, the same trace). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tracegen.h"

int main(int argc, char **argv)
{
    uint64_t seed = 1;
    int events = 100;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
            seed = strtoull(argv[++i], NULL, 0);
        } else if (!strcmp(argv[i], "--events") && i + 1 < argc) {
            events = atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: lm_tracegen [--seed N] [--events M]\n");
            return 2;
        }
    }
    char *text = lm_tracegen(seed, events);
    fputs(text, stdout);
    free(text);
    return 0;
}
