/* Shared helpers of the new-API and reliability test programs (test_sync_api, test_async_api,
 * test_snapshots_stats, test_backpressure, test_shutdown_load, test_bad_input, lm_stress).
 *
 * Header-only (static functions), so each program stays one file. Include it first: it sets
 * _GNU_SOURCE for pthread_getname_np. Everything here goes through the real C ABI.
 *
 * - CHECK / CHECK_INT / CHECK_RC: record a failure with file:line and go on; lmt_finish() turns the
 *   count into the exit status.
 * - A watchdog thread: lmt_watchdog_arm(seconds, phase) fails the program (exit 124) when a phase
 *   hangs, instead of letting CTest kill it silently. Scaled by LM_TEST_TIME_SCALE (valgrind: 20).
 * - Node callbacks that count their calls and forward to optional per-test hooks.
 * - A completion recorder for `_async` calls: how many times, which rc, on which thread.
 */
#ifndef LM_TEST_API_H
#define LM_TEST_API_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dap_link_manager.h"
#include "sdk_standin.h"

#ifndef DAP_LINK_MANAGER_TEST_HOOKS
#error "these tests need the library's test hooks (CMake DAP_LM_TEST_HOOKS=ON)"
#endif

#define LMT_UNUSED __attribute__((unused))

/* This node's own address in every test. */
#define LMT_OWN UINT64_C(0x0000AAAA0000BBBB)

/* ---------------------------------------------------------------- failures */

static atomic_int lmt_failures;
static atomic_int lmt_checks;

static void LMT_UNUSED lmt_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    flockfile(stderr);
    fprintf(stderr, "FAIL %s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    funlockfile(stderr);
    va_end(ap);
    atomic_fetch_add(&lmt_failures, 1);
}

#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        atomic_fetch_add(&lmt_checks, 1);                                                                              \
        if (!(cond))                                                                                                   \
            lmt_fail(__FILE__, __LINE__, "%s", #cond);                                                                 \
    } while (0)

#define CHECKF(cond, ...)                                                                                              \
    do {                                                                                                               \
        atomic_fetch_add(&lmt_checks, 1);                                                                              \
        if (!(cond))                                                                                                   \
            lmt_fail(__FILE__, __LINE__, __VA_ARGS__);                                                                 \
    } while (0)

/* Integer equality, both values printed. */
#define CHECK_INT(expr, want)                                                                                          \
    do {                                                                                                               \
        long long lmt_got_ = (long long)(expr), lmt_want_ = (long long)(want);                                         \
        atomic_fetch_add(&lmt_checks, 1);                                                                              \
        if (lmt_got_ != lmt_want_)                                                                                     \
            lmt_fail(__FILE__, __LINE__, "%s is %lld, expected %lld", #expr, lmt_got_, lmt_want_);                     \
    } while (0)

/* A dap_lm_result_t, names printed. */
#define CHECK_RC(expr, want)                                                                                           \
    do {                                                                                                               \
        int lmt_got_ = (int)(expr), lmt_want_ = (int)(want);                                                           \
        atomic_fetch_add(&lmt_checks, 1);                                                                              \
        if (lmt_got_ != lmt_want_)                                                                                     \
            lmt_fail(__FILE__, __LINE__, "%s is %d (%s), expected %d (%s)", #expr, lmt_got_,                           \
                     dap_link_manager_strerror(lmt_got_), lmt_want_, dap_link_manager_strerror(lmt_want_));            \
    } while (0)

/* ---------------------------------------------------------------- time and watchdog */

static uint64_t LMT_UNUSED lmt_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t LMT_UNUSED lmt_now_ms(void)
{
    return lmt_now_ns() / 1000000u;
}

static void LMT_UNUSED lmt_sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Slow-down factor for time limits (env LM_TEST_TIME_SCALE, e.g. 20 under valgrind). */
static unsigned LMT_UNUSED lmt_time_scale(void)
{
    const char *s = getenv("LM_TEST_TIME_SCALE");
    long v = s ? strtol(s, NULL, 10) : 1;
    return v >= 1 && v <= 1000 ? (unsigned)v : 1;
}

static pthread_mutex_t lmt_wd_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t lmt_wd_cond = PTHREAD_COND_INITIALIZER;
static uint64_t lmt_wd_deadline_ms; /* 0 = disarmed */
static char lmt_wd_phase[128];
static int lmt_wd_started, lmt_wd_stop;
static pthread_t lmt_wd_thread;

static void *lmt_watchdog_main(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&lmt_wd_lock);
    while (!lmt_wd_stop) {
        uint64_t now = lmt_now_ms();
        if (lmt_wd_deadline_ms && now >= lmt_wd_deadline_ms) {
            fprintf(stderr, "FAIL WATCHDOG: phase '%s' did not finish in time (deadlock or hang)\n", lmt_wd_phase);
            fflush(stderr);
            _exit(124);
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&lmt_wd_cond, &lmt_wd_lock, &ts);
    }
    pthread_mutex_unlock(&lmt_wd_lock);
    return NULL;
}

/* Fail the program if the phase is not re-armed or disarmed within `seconds` (times the scale). */
static void LMT_UNUSED lmt_watchdog_arm(unsigned seconds, const char *phase)
{
    pthread_mutex_lock(&lmt_wd_lock);
    if (!lmt_wd_started) {
        if (pthread_create(&lmt_wd_thread, NULL, lmt_watchdog_main, NULL) != 0)
            abort();
        lmt_wd_started = 1;
    }
    lmt_wd_deadline_ms = lmt_now_ms() + (uint64_t)seconds * 1000u * lmt_time_scale();
    snprintf(lmt_wd_phase, sizeof(lmt_wd_phase), "%s", phase ? phase : "?");
    pthread_cond_broadcast(&lmt_wd_cond);
    pthread_mutex_unlock(&lmt_wd_lock);
}

static void LMT_UNUSED lmt_watchdog_disarm(void)
{
    pthread_mutex_lock(&lmt_wd_lock);
    lmt_wd_deadline_ms = 0;
    pthread_mutex_unlock(&lmt_wd_lock);
}

/* Stop and join the watchdog thread (at the end, so leak checkers see no live thread). */
static void LMT_UNUSED lmt_watchdog_stop(void)
{
    pthread_mutex_lock(&lmt_wd_lock);
    int started = lmt_wd_started;
    lmt_wd_stop = 1;
    pthread_cond_broadcast(&lmt_wd_cond);
    pthread_mutex_unlock(&lmt_wd_lock);
    if (started)
        pthread_join(lmt_wd_thread, NULL);
}

/* Poll `cond` every millisecond for up to `ms` (times the scale); evaluates to its last value. */
#define LMT_WAIT_UNTIL(cond, ms)                                                                                       \
    ({                                                                                                                 \
        uint64_t lmt_end_ = lmt_now_ms() + (uint64_t)(ms) * lmt_time_scale();                                          \
        while (!(cond) && lmt_now_ms() < lmt_end_)                                                                     \
            lmt_sleep_ms(1);                                                                                           \
        (cond);                                                                                                        \
    })

/* ---------------------------------------------------------------- threads */

/* True on the library's own thread (its name is "dap_link_manager", truncated by the kernel). */
static bool LMT_UNUSED lmt_on_lib_thread(void)
{
    char name[32] = {0};
    if (pthread_getname_np(pthread_self(), name, sizeof(name)) != 0)
        return false;
    return strncmp(name, "dap_link_manag", 14) == 0;
}

/* ---------------------------------------------------------------- addresses, clusters */

static LMT_UNUSED dap_stream_node_addr_t lmt_addr(uint64_t v)
{
    dap_stream_node_addr_t a;
    a.uint64 = v;
    return a;
}

/* A net's link cluster wired to the library as the node wires it. */
static LMT_UNUSED dap_cluster_t *lmt_net_cluster(const char *name)
{
    return sdk_cluster_new(name, dap_link_manager_add_links_cluster, dap_link_manager_remove_links_cluster, NULL);
}

/* A static cluster: its callbacks get the cluster itself as their argument. */
static LMT_UNUSED dap_cluster_t *lmt_static_cluster(const char *name)
{
    dap_cluster_t *c = sdk_cluster_new(name, dap_link_manager_add_static_links_cluster,
                                       dap_link_manager_remove_static_links_cluster, NULL);
    c->callbacks_arg = c;
    return c;
}

/* ---------------------------------------------------------------- node callbacks */

/* Counters of every node callback, and optional hooks a test installs (NULL: default behaviour). */
typedef struct lmt_node {
    atomic_int connected, disconnected, error, fill_net_info, link_request, link_count_changed;
    atomic_int on_wrong_thread; /* a callback that did not run on the library thread */
    void (*on_connected)(dap_link_t *, uint64_t);
    bool (*on_disconnected)(dap_link_t *, uint64_t, int);
    int (*on_fill_net_info)(dap_link_t *);
    int (*on_link_request)(uint64_t);
    int (*on_link_count_changed)(void);
} lmt_node_t;

static lmt_node_t lmt_node;

static void lmt_note_thread(void)
{
    if (!lmt_on_lib_thread())
        atomic_fetch_add(&lmt_node.on_wrong_thread, 1);
}

static void lmt_cb_connected(dap_link_t *link, uint64_t net)
{
    lmt_note_thread();
    atomic_fetch_add(&lmt_node.connected, 1);
    if (lmt_node.on_connected)
        lmt_node.on_connected(link, net);
}

static bool lmt_cb_disconnected(dap_link_t *link, uint64_t net, int count)
{
    lmt_note_thread();
    atomic_fetch_add(&lmt_node.disconnected, 1);
    return lmt_node.on_disconnected ? lmt_node.on_disconnected(link, net, count) : false;
}

static void lmt_cb_error(dap_link_t *link, uint64_t net, int stage)
{
    (void)link;
    (void)net;
    (void)stage;
    lmt_note_thread();
    atomic_fetch_add(&lmt_node.error, 1);
}

static int lmt_cb_fill_net_info(dap_link_t *link)
{
    lmt_note_thread();
    atomic_fetch_add(&lmt_node.fill_net_info, 1);
    return lmt_node.on_fill_net_info ? lmt_node.on_fill_net_info(link) : -1;
}

static int lmt_cb_link_request(uint64_t net)
{
    lmt_note_thread();
    atomic_fetch_add(&lmt_node.link_request, 1);
    return lmt_node.on_link_request ? lmt_node.on_link_request(net) : 0;
}

static int lmt_cb_link_count_changed(void)
{
    lmt_note_thread();
    atomic_fetch_add(&lmt_node.link_count_changed, 1);
    return lmt_node.on_link_count_changed ? lmt_node.on_link_count_changed() : 0;
}

static const dap_link_manager_callbacks_t lmt_callbacks = {
    .connected = lmt_cb_connected,
    .disconnected = lmt_cb_disconnected,
    .error = lmt_cb_error,
    .fill_net_info = lmt_cb_fill_net_info,
    .link_request = lmt_cb_link_request,
    .link_count_changed = lmt_cb_link_count_changed,
};

/* ---------------------------------------------------------------- lifecycle */

/* Reset the SDK (journal, log, config, clients), set this node's address and the given
 * `[link_manager]` keys ({key, value} pairs, NULL-terminated), then init with the counting callbacks
 * and stop the automatic tick (tests drive it with dap_link_manager_test_tick). Returns init's rc. */
static int LMT_UNUSED lmt_start(const char *const *kv)
{
    sdk_reset();
    sdk_set_node_addr(LMT_OWN);
    for (; kv && kv[0]; kv += 2)
        sdk_config_set("link_manager", kv[0], kv[1]);
    int rc = dap_link_manager_init(&lmt_callbacks);
    if (rc == 0)
        dap_link_manager_test_auto_tick(false);
    return rc;
}

/* ---------------------------------------------------------------- async completions */

/* What an `_async` completion saw. One recorder per request. */
typedef struct lmt_done {
    atomic_int calls;
    atomic_int rc;
    atomic_int on_lib_thread;
    pthread_t thread;
} lmt_done_t;

static void LMT_UNUSED lmt_done_cb(int rc, void *arg)
{
    lmt_done_t *d = arg;
    d->thread = pthread_self();
    atomic_store(&d->on_lib_thread, lmt_on_lib_thread());
    atomic_store(&d->rc, rc);
    atomic_fetch_add(&d->calls, 1);
}

/* Wait (bounded) for the completion, then check it ran exactly once with `want`, on the library
 * thread (lib = true) or on the calling thread (lib = false). */
#define CHECK_DONE(d, want, lib)                                                                                       \
    do {                                                                                                               \
        lmt_done_t *lmt_d_ = (d);                                                                                      \
        LMT_WAIT_UNTIL(atomic_load(&lmt_d_->calls) > 0, 5000);                                                         \
        CHECKF(atomic_load(&lmt_d_->calls) == 1, "%s: completion called %d times, expected once", #d,                  \
               atomic_load(&lmt_d_->calls));                                                                           \
        CHECK_RC(atomic_load(&lmt_d_->rc), want);                                                                      \
        if ((lib))                                                                                                     \
            CHECKF(atomic_load(&lmt_d_->on_lib_thread), "%s: completion not on the library thread", #d);              \
        else                                                                                                           \
            CHECKF(pthread_equal(lmt_d_->thread, pthread_self()), "%s: refusal not completed on the caller's thread",  \
                   #d);                                                                                                \
    } while (0)

/* ---------------------------------------------------------------- stats */

/* Index of an operation kind in dap_lm_stats::per_type, -1 if the library does not know it. */
static int LMT_UNUSED lmt_op_index(const char *name)
{
    for (int i = 0; i < DAP_LM_OP_KINDS; i++) {
        const char *n = dap_link_manager_op_name(i);
        if (n && strcmp(n, name) == 0)
            return i;
    }
    return -1;
}

static struct dap_lm_stats LMT_UNUSED lmt_stats(void)
{
    struct dap_lm_stats s;
    memset(&s, 0, sizeof(s));
    if (dap_link_manager_get_stats(&s) != DAP_LM_OK)
        memset(&s, 0, sizeof(s));
    return s;
}

static uint64_t LMT_UNUSED lmt_per_type(const struct dap_lm_stats *s, const char *op)
{
    int i = lmt_op_index(op);
    return i >= 0 ? s->per_type[i] : 0;
}

/* ---------------------------------------------------------------- the end */

static int LMT_UNUSED lmt_finish(const char *name)
{
    lmt_watchdog_stop();
    int f = atomic_load(&lmt_failures);
    if (sdk_misuse_count()) { /* the library used the SDK wrongly (client after delete_mt, ...) */
        fprintf(stderr, "FAIL: %zu SDK misuse(s) reported by the stand-in\n", sdk_misuse_count());
        f++;
    }
    printf("%s: %d checks, %d failures\n", name, atomic_load(&lmt_checks), f);
    return f ? 1 : 0;
}

#endif
