/* lm_bench: the Rust actor library and the lock-based C baseline, side by side in one process.
 *
 * Both shared objects are dlopen'ed (RTLD_NOW | RTLD_LOCAL) from the paths CMake compiled in; their
 * SDK imports resolve against the stand-in SDK this program links (exported with -rdynamic and
 * --no-as-needed). One implementation runs at a time (init ... deinit), alternating across
 * repetitions, so the machine's noise hits both the same way; reports are ratios within one run.
 */
#ifndef LM_BENCH_H
#define LM_BENCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dap_link_manager.h"
#include "sdk_standin.h"

/* ---- the two implementations ---------------------------------------------------------------- */

enum { IMPL_RUST = 0, IMPL_LEGACY = 1, IMPL_COUNT = 2 };

#define LM_FN(sym) __typeof__(&sym) sym
typedef struct lm_impl {
    int index;        /* IMPL_* */
    const char *name; /* "rust" / "legacy" */
    const char *path;
    void *dl;
    /* original API, both */
    struct {
        LM_FN(dap_link_manager_init);
        LM_FN(dap_link_manager_deinit);
        LM_FN(dap_link_manager_add_net);
        LM_FN(dap_link_manager_set_net_condition);
        LM_FN(dap_link_manager_set_condition);
        LM_FN(dap_link_manager_get_net_condition);
        LM_FN(dap_link_manager_links_count);
        LM_FN(dap_link_manager_required_links_count);
        LM_FN(dap_link_manager_stream_add);
        LM_FN(dap_link_manager_stream_delete);
        LM_FN(dap_link_manager_accounting_link_in_net);
        LM_FN(dap_link_manager_link_create);
        LM_FN(dap_link_manager_link_update);
        LM_FN(dap_link_manager_link_find);
        LM_FN(dap_link_manager_get_net_links_addrs);
        LM_FN(dap_link_manager_add_links_cluster);
        LM_FN(dap_link_manager_remove_links_cluster);
    } f;
    /* Rust only (NULL for the baseline) */
    struct {
        LM_FN(dap_link_manager_sync);
        LM_FN(dap_link_manager_link_find_sync);
        LM_FN(dap_link_manager_get_net_links_addrs_sync);
        LM_FN(dap_lm_net_links_free);
        LM_FN(dap_link_manager_link_create_async);
        LM_FN(dap_link_manager_test_tick);
    } x;
} lm_impl_t;
#undef LM_FN

extern const char *g_impl_names[IMPL_COUNT];
/* Loads both; exits with a message when a library or a mandatory symbol is missing. */
void lm_impls_load(lm_impl_t impls[IMPL_COUNT]);

/* ---- one run: init, a net or two with their clusters, ..., deinit ------------------------------ */

#define LM_NETS     2
#define LM_OWN_ADDR UINT64_C(0x00F0)

typedef struct lm_run {
    lm_impl_t *impl;
    uint64_t net[LM_NETS];
    dap_cluster_t *cluster[LM_NETS]; /* primary clusters */
    int lib_tids[16];                /* threads the library started at init */
    int n_lib_tids;
} lm_run_t;

/* tick_ms: "[link_manager] timer_update_states", 0 = the default (5000). */
void lm_run_begin(lm_run_t *r, lm_impl_t *impl, unsigned tick_ms);
void lm_run_end(lm_run_t *r);
/* Wait until every event queued so far (by any thread) is applied: Rust dap_link_manager_sync; the
 * baseline has no flush, so a sentinel fact is queued behind them and awaited (its FIFO is ordered). */
void lm_drain(lm_run_t *r);
/* n downlinks accounted into net 0's primary cluster (stream_add + accounting), drained. */
void lm_populate_downlinks(lm_run_t *r, uint64_t first_addr, size_t n);
/* CPU time (ns) used so far by the library's own threads. */
uint64_t lm_lib_cpu_ns(const lm_run_t *r);

/* A unique node address: the high bits name the stream (thread/phase), the low bits count. */
static inline uint64_t lm_addr(unsigned stream, uint64_t i)
{
    return UINT64_C(0x1000000000000000) | ((uint64_t)stream << 40) | (i + 1);
}

/* ---- node callbacks: cheap, as a node's ------------------------------------------------------- */

extern lm_impl_t *g_lm_cur; /* the implementation whose callbacks run now */
extern atomic_size_t g_fill_calls, g_fill_refused, g_count_changed_calls, g_link_request_calls;
/* W4: link_count_changed blocks while held, so the library thread stops draining its queue. */
void lm_hold_set(bool on);
bool lm_hold_wait_entered(unsigned timeout_ms);
extern const dap_link_manager_callbacks_t g_lm_callbacks;

/* ---- time, histograms, stats ------------------------------------------------------------------- */

void lm_clock_init(void);
uint64_t lm_now_ns(void);
extern double g_ns_per_tick;
static inline uint64_t lm_ticks(void)
{
#if defined(__x86_64__) || defined(__i386__)
    return __builtin_ia32_rdtsc();
#else
    return lm_now_ns();
#endif
}
static inline uint64_t lm_ticks_ns(uint64_t t0, uint64_t t1)
{
    return (uint64_t)((double)(t1 - t0) * g_ns_per_tick);
}
void lm_sleep_ns(uint64_t ns);
uint64_t lm_thread_cpu_ns(int tid);
int lm_gettid(void);
/* Thread ids of this process, sorted; returns the count (<= cap). */
int lm_list_tids(int *out, int cap);
/* Heap in use (malloc arenas + mmapped chunks), from mallinfo2. */
size_t lm_heap_bytes(void);

/* Log-linear latency histogram (ns), ~1.6% resolution. */
#define LM_HIST_BUCKETS 2560
typedef struct {
    uint64_t count, sum, max;
    uint32_t b[LM_HIST_BUCKETS];
} lm_hist_t;
void lm_hist_add(lm_hist_t *h, uint64_t ns);
void lm_hist_merge(lm_hist_t *into, const lm_hist_t *from);
double lm_hist_pct(const lm_hist_t *h, double pct);
double lm_hist_mean(const lm_hist_t *h);

/* Start line for worker threads: everyone waits until the coordinator opens it. */
typedef struct {
    atomic_int ready, go;
} lm_gate_t;
void lm_gate_arrive(lm_gate_t *g);
void lm_gate_open(lm_gate_t *g, int expected);

/* ---- results ------------------------------------------------------------------------------------ */

typedef struct {
    bool quick;
    int reps;
    int threads[8], n_threads;
    unsigned workloads; /* bit i = W(i+1) */
    int only_impl;      /* -1 both, else IMPL_* (profiling) */
    size_t links[8];    /* W6 sizes (0 = the defaults) */
    int n_links;
    bool no_tick;   /* W6: skip the tick part */
    bool tick_only; /* W6: only the tick part */
    const char *json_path, *csv_path;
} lm_opts_t;
extern lm_opts_t g_opts;

/* One measurement of one implementation. better: +1 higher is better, -1 lower is better.
 * p50/p99 < 0 when the metric has no latency distribution. */
void lm_record(const char *workload, int threads, const char *metric, const char *unit, int better, int impl,
               double value, double p50, double p99);
/* The number of latency samples behind the last record's p50/p99 (so a p99 of a handful is flagged). */
void lm_record_samples(uint64_t n);
/* A note printed under the workload's table (why a figure is what it is). */
void lm_note(const char *workload, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void lm_report(void);

/* ---- workloads ---------------------------------------------------------------------------------- */

/* Each runs one repetition of one implementation at `threads` and records its figures. */
void w1_hot_getters(lm_impl_t *impl, int threads);
void w2_event_storm(lm_impl_t *impl, int threads);
/* sync: the Rust library's _sync variants instead of the original calls (a separate run). */
void w3_queries_under_load(lm_impl_t *impl, int threads, bool sync);
void w4_memory(lm_impl_t *impl);
void w5_idle(lm_impl_t *impl);
void w6_scale(lm_impl_t *impl, size_t links);
void w6_tick(lm_impl_t *impl, size_t links);
void w4_sdk_member_bytes(void);
void w2_sdk_floor(void);

#endif
