/* Shared helpers of the behaviour test programs (test_lifecycle_nets.c, test_uplink_life.c, ...):
 * CHECK macros that report and go on, a per-test watchdog (a deadlock fails the test instead of hanging
 * CTest), a recorder for every node callback (arguments and order), a configurable "node" behind those
 * callbacks, and small helpers over the stand-in SDK (journal lines, settling the asynchronous parts).
 *
 * Everything here is header-only and static: each test program is one translation unit. */
#ifndef LM_TEST_H
#define LM_TEST_H

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dap_link_manager.h"
#include "sdk_standin.h"

#ifndef DAP_LINK_MANAGER_TEST_HOOKS
#error "the behaviour tests need the library's test hooks (CMake option DAP_LM_TEST_HOOKS=ON)"
#endif

#define LM_UNUSED __attribute__((unused))

/* The suite also runs against the lock-based C baseline (CMake DAP_LINK_MANAGER_IMPL=legacy), which has
 * the original functions plus, in test builds, the entry points these helpers use (test hooks,
 * dap_link_manager_sync, dap_link_manager_link_snapshot: c_tests/legacy/legacy_hooks.c). Checks of the
 * rest of the new API sit inside `#if LM_NEW_API`. */
#ifdef DAP_LM_IMPL_LEGACY
#define LM_NEW_API 0
#else
#define LM_NEW_API 1
#endif

/* ---------------------------------------------------------------- reporting */

static int g_lm_failures LM_UNUSED;
static int g_lm_test_failures LM_UNUSED;
static const char *g_lm_current LM_UNUSED = "(none)";

static void lm__fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static LM_UNUSED void lm__fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "FAIL %s:%d [%s]: ", file, line, g_lm_current);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    g_lm_failures++;
    g_lm_test_failures++;
}

/* A failed CHECK is reported and the test goes on; REQUIRE returns from the test function. */
#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (!(cond))                                                                                                   \
            lm__fail(__FILE__, __LINE__, "%s", #cond);                                                                 \
    } while (0)
#define CHECK_MSG(cond, ...)                                                                                           \
    do {                                                                                                               \
        if (!(cond))                                                                                                   \
            lm__fail(__FILE__, __LINE__, __VA_ARGS__);                                                                 \
    } while (0)
#define CHECK_INT(got, want)                                                                                           \
    do {                                                                                                               \
        long long got_ = (long long)(got), want_ = (long long)(want);                                                  \
        if (got_ != want_)                                                                                             \
            lm__fail(__FILE__, __LINE__, "%s == %s: got %lld, want %lld", #got, #want, got_, want_);                   \
    } while (0)
#define CHECK_U64(got, want)                                                                                           \
    do {                                                                                                               \
        unsigned long long got_ = (unsigned long long)(got), want_ = (unsigned long long)(want);                       \
        if (got_ != want_)                                                                                             \
            lm__fail(__FILE__, __LINE__, "%s == %s: got 0x%llX, want 0x%llX", #got, #want, got_, want_);               \
    } while (0)
#define CHECK_STR(got, want)                                                                                           \
    do {                                                                                                               \
        const char *got_ = (got), *want_ = (want);                                                                     \
        if (!got_ || strcmp(got_, want_) != 0)                                                                         \
            lm__fail(__FILE__, __LINE__, "%s == \"%s\": got %s%s%s", #got, want_, got_ ? "\"" : "",                   \
                     got_ ? got_ : "NULL", got_ ? "\"" : "");                                                          \
    } while (0)
#define REQUIRE(cond)                                                                                                  \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            lm__fail(__FILE__, __LINE__, "required: %s (test stopped)", #cond);                                        \
            return;                                                                                                    \
        }                                                                                                              \
    } while (0)

/* ---------------------------------------------------------------- watchdog */

#ifndef LM_WATCHDOG_SECS
#define LM_WATCHDOG_SECS 25
#endif

static LM_UNUSED void lm__watchdog_fired(int sig)
{
    (void)sig;
    /* async-signal-safe only: a hung test is a deadlock somewhere; dump what we know and die. */
    static const char head[] = "WATCHDOG: test did not finish in time (deadlock?): ";
    ssize_t r = write(2, head, sizeof(head) - 1);
    r = write(2, g_lm_current, strlen(g_lm_current));
    r = write(2, "\n", 1);
    (void)r;
    _exit(3);
}

static LM_UNUSED void lm_watchdog(unsigned secs)
{
    signal(SIGALRM, lm__watchdog_fired);
    alarm(secs);
}

/* A test stopped by REQUIRE may leave the manager running: stop it so the next test starts clean. */
static LM_UNUSED void lm__cleanup_after_test(void)
{
    if (dap_link_manager_get_default()) {
        if (!g_lm_test_failures)
            lm__fail(__FILE__, __LINE__, "the test left the link manager running");
        lm_watchdog(LM_WATCHDOG_SECS);
        dap_link_manager_deinit();
        alarm(0);
    }
}

/* Run one test function with the watchdog armed; prints PASS/FAIL per test. */
#define LM_RUN(fn)                                                                                                     \
    do {                                                                                                               \
        g_lm_current = #fn;                                                                                            \
        g_lm_test_failures = 0;                                                                                        \
        fprintf(stderr, "-- %s\n", #fn);                                                                               \
        lm_watchdog(LM_WATCHDOG_SECS);                                                                                 \
        fn();                                                                                                          \
        alarm(0);                                                                                                      \
        lm__cleanup_after_test();                                                                                      \
        fprintf(stderr, "%s %s\n", g_lm_test_failures ? "FAIL" : "PASS", #fn);                                         \
    } while (0)

/* A test of a property the lock-based baseline lacks by design (it keeps the C version's locking: node
 * callbacks run with its links lock held, reader-preferring rwlocks): against the baseline it is
 * reported as skipped, with the reason. */
#if LM_NEW_API
#define LM_RUN_RUST(fn, why) LM_RUN(fn)
#else
#define LM_RUN_RUST(fn, why)                                                                                           \
    do {                                                                                                               \
        (void)fn;                                                                                                      \
        fprintf(stderr, "SKIP %s (legacy baseline: %s)\n", #fn, why);                                                  \
    } while (0)
#endif

static LM_UNUSED int lm_summary(const char *program)
{
    fprintf(stderr, "%s: %d failed check(s)\n", program, g_lm_failures);
    return g_lm_failures ? 1 : 0;
}

/* ---------------------------------------------------------------- addresses and time */

#define LM_OWN_ADDR UINT64_C(0x0A0B0C0D00000001)
#define LM_T0_NS    (UINT64_C(1000000) * UINT64_C(1000000000)) /* virtual clock start: 1e6 s */
#define LM_SEC      UINT64_C(1000000000)

static LM_UNUSED dap_stream_node_addr_t lm_addr(uint64_t v)
{
    dap_stream_node_addr_t a;
    a.uint64 = v;
    return a;
}

/* "XXXX::XXXX::XXXX::XXXX" in one of 8 rotating buffers (main thread only). */
static LM_UNUSED const char *lm_a(uint64_t addr)
{
    static char bufs[8][SDK_ADDR_STRLEN];
    static unsigned next;
    char *b = bufs[next++ % 8];
    return sdk_addr_str(addr, b);
}

/* The uplink host the test node gives each address: "10.x.y.z" from its low 24 bits (never 0). */
#define LM_PORT 8079
static LM_UNUSED const char *lm_host_of(uint64_t addr, char *buf, size_t len)
{
    snprintf(buf, len, "10.%u.%u.%u", (unsigned)((addr >> 16) & 0xFF), (unsigned)((addr >> 8) & 0xFF),
             (unsigned)(addr & 0xFF) | 1u);
    return buf;
}

/* dap_link_manager_strerror where the library has it (the baseline has no dap_lm_result_t codes). */
static LM_UNUSED const char *lm_strerror(int rc)
{
#if LM_NEW_API
    return dap_link_manager_strerror(rc);
#else
    (void)rc;
    return "-";
#endif
}

static LM_UNUSED void lm_sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---------------------------------------------------------------- callback recorder (the "node") */

enum lm_ev_kind { EV_CONNECTED, EV_DISCONNECTED, EV_ERROR, EV_FILL, EV_REQUEST, EV_COUNT_CHANGED, EV_KINDS };

typedef struct lm_ev {
    int kind;
    uint64_t addr; /* 0 for link_request / link_count_changed */
    uint64_t net;  /* 0 for fill_net_info / link_count_changed */
    int arg;       /* disconnected: count; error: stage; fill: link_update's result */
    bool is_uplink;
    int state;
    bool ret; /* disconnected: what the node answered */
    bool bad_record; /* the record's link_manager is not the running manager object */
    bool main_thread;
} lm_ev_t;

enum lm_fill_mode {
    LM_FILL_UPDATE,    /* link_update(addr, host, port), then ready = true, return 0 (what the node does) */
    LM_FILL_NO_READY,  /* link_update but leave ready false, return 0 */
    LM_FILL_NO_INFO,   /* return -1 (no info about the node) */
    LM_FILL_HANDLED,   /* return 0 without doing anything */
};

#define LM_MAX_EV 65536
#define LM_MAX_PERM 64

typedef struct lm_rec {
    pthread_mutex_t lock;
    lm_ev_t ev[LM_MAX_EV];
    size_t n;
    atomic_size_t count_changed;
    pthread_t main;
    /* node behaviour */
    int fill_mode;
    uint16_t port;
    char host_override[64]; /* non-empty: every link gets this host */
    int last_update_rc;
    bool all_permanent;
    uint64_t permanent[LM_MAX_PERM];
    size_t n_permanent;
    int link_request_rc;
    /* extra behaviour of a test, run after recording (on the library thread) */
    void (*hook_connected)(dap_link_t *link, uint64_t net);
    void (*hook_disconnected)(dap_link_t *link, uint64_t net, int count);
    void (*hook_error)(dap_link_t *link, uint64_t net, int stage);
    void (*hook_fill)(dap_link_t *link);
    void (*hook_request)(uint64_t net);
    void (*hook_count_changed)(void);
} lm_rec_t;

static lm_rec_t g_rec = {.lock = PTHREAD_MUTEX_INITIALIZER};

static LM_UNUSED void lm_rec_reset(void)
{
    pthread_mutex_lock(&g_rec.lock);
    g_rec.n = 0;
    atomic_store(&g_rec.count_changed, 0);
    g_rec.main = pthread_self();
    g_rec.fill_mode = LM_FILL_UPDATE;
    g_rec.port = LM_PORT;
    g_rec.host_override[0] = '\0';
    g_rec.last_update_rc = 12345;
    g_rec.all_permanent = false;
    g_rec.n_permanent = 0;
    g_rec.link_request_rc = 0;
    g_rec.hook_connected = NULL;
    g_rec.hook_disconnected = NULL;
    g_rec.hook_error = NULL;
    g_rec.hook_fill = NULL;
    g_rec.hook_request = NULL;
    g_rec.hook_count_changed = NULL;
    pthread_mutex_unlock(&g_rec.lock);
}

static LM_UNUSED void lm_rec_add(lm_ev_t e)
{
    e.main_thread = pthread_equal(pthread_self(), g_rec.main);
    if (e.kind == EV_COUNT_CHANGED || e.kind == EV_REQUEST)
        e.bad_record = false;
    pthread_mutex_lock(&g_rec.lock);
    if (g_rec.n < LM_MAX_EV)
        g_rec.ev[g_rec.n++] = e;
    pthread_mutex_unlock(&g_rec.lock);
}

static LM_UNUSED void lm_set_permanent(uint64_t addr)
{
    pthread_mutex_lock(&g_rec.lock);
    if (g_rec.n_permanent < LM_MAX_PERM)
        g_rec.permanent[g_rec.n_permanent++] = addr;
    pthread_mutex_unlock(&g_rec.lock);
}

static LM_UNUSED bool lm_is_permanent(uint64_t addr)
{
    bool p;
    pthread_mutex_lock(&g_rec.lock);
    p = g_rec.all_permanent;
    for (size_t i = 0; i < g_rec.n_permanent && !p; i++)
        p = g_rec.permanent[i] == addr;
    pthread_mutex_unlock(&g_rec.lock);
    return p;
}

/* Number of recorded events of `kind` (addr / net 0 = any). */
static LM_UNUSED size_t lm_count(int kind, uint64_t addr, uint64_t net)
{
    size_t n = 0;
    pthread_mutex_lock(&g_rec.lock);
    for (size_t i = 0; i < g_rec.n; i++) {
        const lm_ev_t *e = &g_rec.ev[i];
        n += e->kind == kind && (!addr || e->addr == addr) && (!net || e->net == net);
    }
    pthread_mutex_unlock(&g_rec.lock);
    return n;
}

/* Copy of the last event of `kind` for addr (0 = any); false if none. */
static LM_UNUSED bool lm_last(int kind, uint64_t addr, lm_ev_t *out)
{
    bool found = false;
    pthread_mutex_lock(&g_rec.lock);
    for (size_t i = g_rec.n; i-- > 0;) {
        if (g_rec.ev[i].kind == kind && (!addr || g_rec.ev[i].addr == addr)) {
            *out = g_rec.ev[i];
            found = true;
            break;
        }
    }
    pthread_mutex_unlock(&g_rec.lock);
    return found;
}

/* Number of link callbacks whose record did not point at dap_link_manager_get_default(). */
static LM_UNUSED size_t lm_bad_records(void)
{
    size_t n = 0;
    pthread_mutex_lock(&g_rec.lock);
    for (size_t i = 0; i < g_rec.n; i++)
        n += g_rec.ev[i].bad_record;
    pthread_mutex_unlock(&g_rec.lock);
    return n;
}

/* True when some event ran on the test's main thread (callbacks must run on the library's thread). */
static LM_UNUSED bool lm_any_on_main(void)
{
    bool any = false;
    pthread_mutex_lock(&g_rec.lock);
    for (size_t i = 0; i < g_rec.n; i++)
        any |= g_rec.ev[i].main_thread;
    pthread_mutex_unlock(&g_rec.lock);
    return any;
}

static LM_UNUSED size_t lm_count_changed(void)
{
    return atomic_load(&g_rec.count_changed);
}

static LM_UNUSED void lm_cb_connected(dap_link_t *link, uint64_t net)
{
    lm_rec_add((lm_ev_t){.kind = EV_CONNECTED,
                         .bad_record = link->link_manager != dap_link_manager_get_default(),
                         .addr = link->addr.uint64,
                         .net = net,
                         .is_uplink = link->is_uplink,
                         .state = (int)link->uplink.state});
    if (g_rec.hook_connected)
        g_rec.hook_connected(link, net);
}

static LM_UNUSED bool lm_cb_disconnected(dap_link_t *link, uint64_t net, int count)
{
    bool perm = lm_is_permanent(link->addr.uint64);
    lm_rec_add((lm_ev_t){.kind = EV_DISCONNECTED,
                         .bad_record = link->link_manager != dap_link_manager_get_default(),
                         .addr = link->addr.uint64,
                         .net = net,
                         .arg = count,
                         .is_uplink = link->is_uplink,
                         .state = (int)link->uplink.state,
                         .ret = perm});
    if (g_rec.hook_disconnected)
        g_rec.hook_disconnected(link, net, count);
    return perm;
}

static LM_UNUSED void lm_cb_error(dap_link_t *link, uint64_t net, int stage)
{
    /* The node reads the client's uplink address here (CONTRACT.md §10). */
    if (link->uplink.client)
        (void)link->uplink.client->link_info.uplink_addr[0];
    lm_rec_add((lm_ev_t){.kind = EV_ERROR,
                         .bad_record = link->link_manager != dap_link_manager_get_default(),
                         .addr = link->addr.uint64,
                         .net = net,
                         .arg = stage,
                         .is_uplink = link->is_uplink,
                         .state = (int)link->uplink.state});
    if (g_rec.hook_error)
        g_rec.hook_error(link, net, stage);
}

static LM_UNUSED int lm_cb_fill_net_info(dap_link_t *link)
{
    int mode = g_rec.fill_mode;
    int rc = 0;
    if (mode == LM_FILL_UPDATE || mode == LM_FILL_NO_READY) {
        char host[64];
        if (g_rec.host_override[0])
            snprintf(host, sizeof(host), "%s", g_rec.host_override);
        else
            lm_host_of(link->addr.uint64, host, sizeof(host));
        rc = dap_link_manager_link_update(&link->addr, host, g_rec.port);
        g_rec.last_update_rc = rc;
        if (rc == 0 && mode == LM_FILL_UPDATE)
            link->uplink.ready = true; /* after link_update returned, as the node does */
    }
    lm_rec_add((lm_ev_t){.kind = EV_FILL,
                         .bad_record = link->link_manager != dap_link_manager_get_default(),
                         .addr = link->addr.uint64,
                         .arg = rc,
                         .is_uplink = link->is_uplink,
                         .state = (int)link->uplink.state});
    if (g_rec.hook_fill)
        g_rec.hook_fill(link);
    if (mode == LM_FILL_NO_INFO)
        return -1;
    return rc == 0 ? 0 : -1;
}

static LM_UNUSED int lm_cb_link_request(uint64_t net)
{
    lm_rec_add((lm_ev_t){.kind = EV_REQUEST, .net = net});
    if (g_rec.hook_request)
        g_rec.hook_request(net);
    return g_rec.link_request_rc;
}

static LM_UNUSED int lm_cb_link_count_changed(void)
{
    atomic_fetch_add(&g_rec.count_changed, 1);
    lm_rec_add((lm_ev_t){.kind = EV_COUNT_CHANGED});
    if (g_rec.hook_count_changed)
        g_rec.hook_count_changed();
    return 0;
}

static LM_UNUSED dap_link_manager_callbacks_t lm_callbacks(void)
{
    dap_link_manager_callbacks_t cb = {
        .connected = lm_cb_connected,
        .disconnected = lm_cb_disconnected,
        .error = lm_cb_error,
        .fill_net_info = lm_cb_fill_net_info,
        .link_request = lm_cb_link_request,
        .link_count_changed = lm_cb_link_count_changed,
    };
    return cb;
}

/* ---------------------------------------------------------------- SDK helpers */

/* Let every asynchronous part finish: SDK worker events reach the library, the library applies them
 * (and whatever SDK calls that makes), the getters' view is published. */
static LM_UNUSED void lm_settle(void)
{
    for (int i = 0; i < 3; i++) {
        sdk_quiesce();
        dap_link_manager_sync(0);
    }
}

static LM_UNUSED void lm_vfmt(char *buf, size_t len, const char *fmt, va_list ap)
{
    vsnprintf(buf, len, fmt, ap);
}

/* Index of the first journal line >= from that equals the formatted text exactly; -1 if none. */
static long lm_journal_find_from(size_t from, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static LM_UNUSED long lm_journal_find_from(size_t from, const char *fmt, ...)
{
    char want[512];
    va_list ap;
    va_start(ap, fmt);
    lm_vfmt(want, sizeof(want), fmt, ap);
    va_end(ap);
    size_t n = sdk_journal_len();
    for (size_t i = from; i < n; i++) {
        const char *l = sdk_journal_line(i);
        if (l && strcmp(l, want) == 0)
            return (long)i;
    }
    return -1;
}

/* Number of journal lines equal to the formatted text. */
static size_t lm_journal_count_exact(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static LM_UNUSED size_t lm_journal_count_exact(const char *fmt, ...)
{
    char want[512];
    va_list ap;
    va_start(ap, fmt);
    lm_vfmt(want, sizeof(want), fmt, ap);
    va_end(ap);
    size_t n = sdk_journal_len(), c = 0;
    for (size_t i = 0; i < n; i++) {
        const char *l = sdk_journal_line(i);
        c += l && strcmp(l, want) == 0;
    }
    return c;
}

/* Number of journal lines that start with the formatted prefix and contain `needle` (NULL: any). */
static size_t lm_journal_count_with(const char *needle, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static LM_UNUSED size_t lm_journal_count_with(const char *needle, const char *fmt, ...)
{
    char prefix[512];
    va_list ap;
    va_start(ap, fmt);
    lm_vfmt(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    size_t n = sdk_journal_len(), c = 0, pl = strlen(prefix);
    for (size_t i = 0; i < n; i++) {
        const char *l = sdk_journal_line(i);
        c += l && strncmp(l, prefix, pl) == 0 && (!needle || strstr(l, needle));
    }
    return c;
}

/* Journal id of the live client of addr (0: none). */
static LM_UNUSED uint64_t lm_client_id(uint64_t addr)
{
    return sdk_client_id(sdk_client_find(addr));
}

/* Id of the newest client in the journal ("client_new <id>"); 0 if none. Works for clients that have
 * no uplink address yet (sdk_client_find only knows clients by their uplink node address). */
static LM_UNUSED uint64_t lm_last_client_new(void)
{
    for (size_t i = sdk_journal_len(); i-- > 0;) {
        const char *l = sdk_journal_line(i);
        unsigned long long id;
        if (l && sscanf(l, "client_new %llu", &id) == 1)
            return (uint64_t)id;
    }
    return 0;
}

/* The net's primary cluster as the node makes it: members join/leave through the link manager. */
static LM_UNUSED dap_cluster_t *lm_links_cluster(const char *name)
{
    return sdk_cluster_new(name, dap_link_manager_add_links_cluster, dap_link_manager_remove_links_cluster, NULL);
}

/* A static links cluster: callbacks are the static ones and their argument is the cluster itself. */
static LM_UNUSED dap_cluster_t *lm_static_cluster(const char *name)
{
    dap_cluster_t *c = sdk_cluster_new(name, dap_link_manager_add_static_links_cluster,
                                       dap_link_manager_remove_static_links_cluster, NULL);
    c->callbacks_arg = c;
    return c;
}

/* ---------------------------------------------------------------- library helpers */

/* Fresh SDK state and recorder, our node address set. Config keys may be set after this, before init. */
static LM_UNUSED void lm_begin(void)
{
    sdk_reset();
    sdk_set_node_addr(LM_OWN_ADDR);
    lm_rec_reset();
}

/* init with the recording callbacks, then the virtual clock at LM_T0_NS (automatic ticks off). */
static LM_UNUSED int lm_init(void)
{
    dap_link_manager_callbacks_t cb = lm_callbacks();
    int rc = dap_link_manager_init(&cb);
    if (rc == 0)
        CHECK_INT(dap_link_manager_test_clock_set(LM_T0_NS), DAP_LM_OK);
    return rc;
}

/* deinit, then every client the library made must be freed and no SDK misuse seen. */
static LM_UNUSED void lm_end(void)
{
    dap_link_manager_deinit();
    sdk_quiesce();
    CHECK_INT(sdk_clients_live(), 0);
    CHECK_INT(sdk_misuse_count(), 0);
    CHECK_INT(lm_bad_records(), 0);
}

/* Snapshot fields of one link from the published view: false when there is no such link. */
typedef struct lm_link_info {
    bool is_uplink, has_client, stream_is_destroyed;
    int state;
    uint32_t attempts;
    uint64_t start_after, es_uuid;
    size_t nets, active_clusters, static_clusters;
    uint64_t net0;
    dap_cluster_t *static0, *active0;
} lm_link_info_t;

static LM_UNUSED bool lm_link(uint64_t addr, lm_link_info_t *out)
{
    dap_stream_node_addr_t a = lm_addr(addr);
    struct dap_lm_link_snapshot *s = NULL;
    int rc = dap_link_manager_link_snapshot(&a, &s);
    if (rc != DAP_LM_OK) {
        CHECK_MSG(rc == DAP_LM_ERR_NOT_FOUND, "link_snapshot(%s) = %d (%s)", lm_a(addr), rc, lm_strerror(rc));
        return false;
    }
    lm_link_info_t i = {
        .is_uplink = s->is_uplink,
        .has_client = s->has_client,
        .stream_is_destroyed = s->stream_is_destroyed,
        .state = (int)s->state,
        .attempts = s->attempts_count,
        .start_after = s->start_after,
        .es_uuid = s->es_uuid,
        .nets = s->nets_count,
        .active_clusters = s->active_clusters_count,
        .static_clusters = s->static_clusters_count,
        .net0 = s->nets_count ? s->nets[0] : 0,
        .static0 = s->static_clusters_count ? s->static_clusters[0] : NULL,
        .active0 = s->active_clusters_count ? s->active_clusters[0] : NULL,
    };
    dap_lm_link_snapshot_free(s);
    if (out)
        *out = i;
    return true;
}

static LM_UNUSED bool lm_link_exists(uint64_t addr)
{
    return lm_link(addr, NULL);
}

static LM_UNUSED bool lm_find(uint64_t addr, uint64_t net)
{
    dap_stream_node_addr_t a = lm_addr(addr);
    return dap_link_manager_link_find(&a, net);
}

static LM_UNUSED bool lm_established(uint64_t addr)
{
    dap_stream_node_addr_t a = lm_addr(addr);
    return dap_link_manager_link_is_established(&a);
}

static LM_UNUSED int lm_create(uint64_t addr, uint64_t net)
{
    dap_stream_node_addr_t a = lm_addr(addr);
    return dap_link_manager_link_create(&a, net);
}

static LM_UNUSED int lm_update(uint64_t addr, const char *host, uint16_t port)
{
    dap_stream_node_addr_t a = lm_addr(addr);
    return dap_link_manager_link_update(&a, host, port);
}

static LM_UNUSED int lm_stream_add(uint64_t addr, bool uplink)
{
    dap_stream_node_addr_t a = lm_addr(addr);
    return dap_link_manager_stream_add(&a, uplink);
}

static LM_UNUSED void lm_stream_replace(uint64_t addr, bool uplink)
{
    dap_stream_node_addr_t a = lm_addr(addr);
    dap_link_manager_stream_replace(&a, uplink);
}

static LM_UNUSED void lm_stream_delete(uint64_t addr)
{
    dap_stream_node_addr_t a = lm_addr(addr);
    dap_link_manager_stream_delete(&a);
}

static LM_UNUSED void lm_accounting(uint64_t net, uint64_t addr, bool ok)
{
    dap_stream_node_addr_t a = lm_addr(addr);
    dap_link_manager_accounting_link_in_net(net, &a, ok);
}

static LM_UNUSED size_t lm_links_in_view(void)
{
#if LM_NEW_API
    struct dap_lm_stats s;
    if (dap_link_manager_get_stats(&s) != DAP_LM_OK)
        return (size_t)-1;
    return (size_t)s.links;
#else
    /* The baseline has no stats: count the links of get_links_info (one "addr" key per link). */
    char *info = dap_link_manager_get_links_info();
    if (!info)
        return (size_t)-1;
    size_t n = 0;
    for (const char *p = info; (p = strstr(p, "\"addr\":")); p++)
        n++;
    free(info);
    return n;
#endif
}

static LM_UNUSED int lm_wake_up(void)
{
    return dap_link_manager_test_tick(0, 0);
}

static LM_UNUSED int lm_links_request(void)
{
    return dap_link_manager_test_tick(1, 0);
}

/* A net with its primary cluster, switched on. */
static LM_UNUSED dap_cluster_t *lm_net_on(uint64_t net, const char *name, uint32_t min_links)
{
    dap_cluster_t *c = lm_links_cluster(name);
    CHECK_INT(dap_link_manager_add_net(net, c, min_links), 0);
    dap_link_manager_set_net_condition(net, true);
    CHECK(dap_link_manager_get_net_condition(net));
    return c;
}

/* Drive an uplink to ESTABLISHED: link_create, a wake-up tick (fill_net_info -> link_update + ready ->
 * connect), the simulated peer accepts. Returns false (and reports) on the first step that fails. */
static LM_UNUSED bool lm_connect_uplink(uint64_t addr, uint64_t net)
{
    int rc = lm_create(addr, net);
    CHECK_MSG(rc == 0, "link_create(%s) = %d", lm_a(addr), rc);
    if (rc)
        return false;
    CHECK_INT(lm_wake_up(), DAP_LM_OK);
    lm_settle();
    bool ok = sdk_client_complete_connect(addr);
    CHECK_MSG(ok, "no client of %s is connecting after the wake-up tick", lm_a(addr));
    if (!ok)
        return false;
    lm_settle();
    ok = lm_established(addr);
    CHECK_MSG(ok, "%s is not established after the peer accepted", lm_a(addr));
    return ok;
}

/* Every original function answers with its "not initialised" result and nothing reaches the SDK. */
static LM_UNUSED void lm_check_not_initialised(dap_cluster_t *cluster)
{
    dap_stream_node_addr_t a = lm_addr(0x5151), own = lm_addr(LM_OWN_ADDR);
    size_t journal = sdk_journal_len(), clients = sdk_clients_live();

    CHECK(dap_link_manager_get_default() == NULL);
    CHECK(!dap_link_manager_get_condition());
    dap_link_manager_set_condition(true);
    CHECK(!dap_link_manager_get_condition());
    CHECK_INT(dap_link_manager_add_net(0x42, cluster, 1), -2);
    CHECK_INT(dap_link_manager_add_net_associate(0x42, cluster), -2);
    dap_link_manager_remove_net(0x42);
    dap_link_manager_set_net_condition(0x42, true);
    CHECK(!dap_link_manager_get_net_condition(0x42));
    CHECK_INT(dap_link_manager_links_count(0x42), 0);
    CHECK_INT(dap_link_manager_required_links_count(0x42), 0);
    CHECK_INT(dap_link_manager_needed_links_count(0x42), 0);
    CHECK_INT(dap_link_manager_established_uplinks_count(0x42), 0);
    CHECK_INT(dap_link_manager_link_create(&a, 0x42), -3);
    CHECK(dap_link_manager_link_create(&own, 0x42) != 0);
    CHECK_INT(dap_link_manager_link_update(&a, "10.1.2.3", 8079), -1);
    CHECK(!dap_link_manager_link_find(&a, 0x42));
    CHECK(!dap_link_manager_link_is_established(&a));
    size_t up = 777, down = 777, count = 777;
    CHECK(dap_link_manager_get_net_links_addrs(0x42, &up, &down, false) == NULL);
    CHECK_INT(up, 777);
    CHECK_INT(down, 777);
    CHECK(dap_link_manager_get_ignored_addrs(&count, 0x42) == NULL);
    CHECK_INT(count, 777);
    CHECK(dap_link_manager_get_links_info() == NULL);
    CHECK_INT(dap_link_manager_stream_add(&a, false), -1);
    CHECK_INT(dap_link_manager_stream_add(&a, true), -1);
    dap_link_manager_stream_replace(&a, true);
    dap_link_manager_stream_delete(&a);
    dap_link_manager_accounting_link_in_net(0x42, &a, true);
    dap_link_manager_accounting_link_in_net(0x42, &a, false);
    /* cluster callbacks: the node's cluster code may still call them */
    dap_cluster_member_t m = {.addr = a, .cluster = cluster};
    dap_link_manager_add_links_cluster(&m, NULL);
    dap_link_manager_remove_links_cluster(&m, NULL);
    dap_link_manager_add_static_links_cluster(&m, cluster);
    dap_link_manager_remove_static_links_cluster(&m, cluster);
    /* new API */
    CHECK_INT(dap_link_manager_sync(0), DAP_LM_ERR_NOT_INITIALIZED);
    struct dap_lm_link_snapshot *ls = (struct dap_lm_link_snapshot *)&count;
    CHECK_INT(dap_link_manager_link_snapshot(&a, &ls), DAP_LM_ERR_NOT_INITIALIZED);
    CHECK(ls == (struct dap_lm_link_snapshot *)&count); /* out-parameter untouched */
#if LM_NEW_API
    CHECK_INT(dap_link_manager_add_net_sync(0x42, cluster, 1, 0), DAP_LM_ERR_NOT_INITIALIZED);
    CHECK_INT(dap_link_manager_link_create_sync(&a, 0x42, 0), DAP_LM_ERR_NOT_INITIALIZED);
    CHECK_INT(dap_link_manager_stream_add_sync(&a, false, 0), DAP_LM_ERR_NOT_INITIALIZED);
    size_t n = 99;
    CHECK_INT(dap_link_manager_links_count_sync(0x42, &n, 0), DAP_LM_ERR_NOT_INITIALIZED);
    CHECK_INT(n, 99);
    struct dap_lm_nets_snapshot *ns = NULL;
    CHECK_INT(dap_link_manager_nets_snapshot(&ns), DAP_LM_ERR_NOT_INITIALIZED);
    CHECK(ns == NULL);
    struct dap_lm_stats st;
    CHECK_INT(dap_link_manager_get_stats(&st), DAP_LM_ERR_NOT_INITIALIZED);
    CHECK(dap_link_manager_stats_json() == NULL);
    CHECK(dap_link_manager_metrics_prometheus() == NULL);
#endif
    CHECK_INT(dap_link_manager_test_clock_set(LM_T0_NS), DAP_LM_ERR_NOT_INITIALIZED);
    CHECK_INT(dap_link_manager_test_tick(0, 0), DAP_LM_ERR_NOT_INITIALIZED);

    CHECK_INT(sdk_journal_len(), journal); /* nothing reached the SDK */
    CHECK_INT(sdk_clients_live(), clients);
}

#endif
