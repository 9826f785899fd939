/* Running a trace against one loaded implementation, printing every observable result in a canonical
 * form (one line each), so two runs can be compared line by line.
 *
 * Output: per event a header "@<trace line> <event>", then indented detail lines:
 *   rc <n>                 result of the call (original integer codes; 1/0 for member_* and client_*)
 *   = <value>              result of a query
 *   cb <callback> <args>   a node callback, in call order, with the link's is_uplink/state as it saw them;
 *                          link_count_changed is folded to one line per event (the Rust library calls it
 *                          once per drain pass, the baseline after each change: both are correct)
 *   sdk <journal line>     each SDK call the library made, client ids and stream uuids normalised
 *                          (c1, c2... by first appearance; s<client> uplink streams, d<n> downlinks)
 *   !misuse +<n>           SDK misuses (use after delete...)
 * and a final "@exit" block (the deinit the replayer adds when the trace leaves the manager running, the
 * clients still alive and the misuse total).
 *
 * Determinism: after each event (or each burst) the replayer waits until the library and the SDK worker
 * are idle: dap_link_manager_sync(0) + sdk_quiesce(), repeated until a round sees no new journal line
 * and no callback. Time is the library's virtual clock (test hooks), starting at 1e6 s; ticks are run by
 * hand (`tick`), never by the timer. */
#ifndef LM_REPLAY_H
#define LM_REPLAY_H

#include <stdbool.h>
#include <stddef.h>

#include "lm_lib.h"
#include "trace.h"

typedef struct {
    char **v;
    size_t n, cap;
} lm_lines_t;

void lm_lines_add(lm_lines_t *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void lm_lines_free(lm_lines_t *l);

/* Run t on lib (the library must not be initialised; it is deinitialised at the end). False with a
 * message in err when the run cannot proceed (library without test hooks). A hang (30 s without
 * progress) prints where it stopped and exits the process with status 3. */
bool lm_replay_run(const lm_lib_t *lib, const lm_trace_t *t, lm_lines_t *out, char *err, size_t errlen);

#endif
