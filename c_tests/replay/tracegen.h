/* Seeded generator of random valid traces (lm_tracegen, lm_diff --random). */
#ifndef LM_TRACEGEN_H
#define LM_TRACEGEN_H

#include <stdint.h>

/* A trace of about `events` events; the same seed gives the same text. malloc'd, NUL-terminated. */
char *lm_tracegen(uint64_t seed, int events);

#endif
