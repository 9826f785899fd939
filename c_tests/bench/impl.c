/* lm_bench: loading both implementations, the node callbacks, and what every run shares. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lm_bench.h"

#ifndef LM_BENCH_RUST_SO
#error "LM_BENCH_RUST_SO (path of libdap_link_manager.so) comes from CMake"
#endif
#ifndef LM_BENCH_LEGACY_SO
#error "LM_BENCH_LEGACY_SO (path of libdap_link_manager_legacy.so) comes from CMake"
#endif

/* ---- loading ------------------------------------------------------------------------------------ */

static void *sym(lm_impl_t *impl, const char *name, bool mandatory)
{
    dlerror();
    void *p = dlsym(impl->dl, name);
    if (!p && mandatory) {
        fprintf(stderr, "lm_bench: %s has no symbol %s\n", impl->path, name);
        exit(2);
    }
    return p;
}

#define LOAD(impl, group, name, mandatory)                                                                             \
    (impl)->group.name = (__typeof__((impl)->group.name))sym(impl, #name, mandatory)

static void load_one(lm_impl_t *impl, int index, const char *name, const char *path)
{
    impl->index = index;
    impl->name = name;
    impl->path = path;
    impl->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!impl->dl) {
        fprintf(stderr, "lm_bench: dlopen(%s): %s\n", path, dlerror());
        exit(2);
    }
    LOAD(impl, f, dap_link_manager_init, true);
    LOAD(impl, f, dap_link_manager_deinit, true);
    LOAD(impl, f, dap_link_manager_add_net, true);
    LOAD(impl, f, dap_link_manager_set_net_condition, true);
    LOAD(impl, f, dap_link_manager_set_condition, true);
    LOAD(impl, f, dap_link_manager_get_net_condition, true);
    LOAD(impl, f, dap_link_manager_links_count, true);
    LOAD(impl, f, dap_link_manager_required_links_count, true);
    LOAD(impl, f, dap_link_manager_stream_add, true);
    LOAD(impl, f, dap_link_manager_stream_delete, true);
    LOAD(impl, f, dap_link_manager_accounting_link_in_net, true);
    LOAD(impl, f, dap_link_manager_link_create, true);
    LOAD(impl, f, dap_link_manager_link_update, true);
    LOAD(impl, f, dap_link_manager_link_find, true);
    LOAD(impl, f, dap_link_manager_get_net_links_addrs, true);
    LOAD(impl, f, dap_link_manager_add_links_cluster, true);
    LOAD(impl, f, dap_link_manager_remove_links_cluster, true);
    LOAD(impl, x, dap_link_manager_sync, false);
    LOAD(impl, x, dap_link_manager_link_find_sync, false);
    LOAD(impl, x, dap_link_manager_get_net_links_addrs_sync, false);
    LOAD(impl, x, dap_lm_net_links_free, false);
    LOAD(impl, x, dap_link_manager_link_create_async, false);
    LOAD(impl, x, dap_link_manager_test_tick, false);
}

const char *g_impl_names[IMPL_COUNT] = {"rust", "legacy"};

static const char *env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v && *v ? v : dflt;
}

/* LM_BENCH_RUST_SO / LM_BENCH_LEGACY_SO override the built paths (e.g. a prototype against the build
 * of the same commit, side by side); LM_BENCH_RUST_NAME / LM_BENCH_LEGACY_NAME relabel them. */
void lm_impls_load(lm_impl_t impls[IMPL_COUNT])
{
    g_impl_names[IMPL_RUST] = env_or("LM_BENCH_RUST_NAME", "rust");
    g_impl_names[IMPL_LEGACY] = env_or("LM_BENCH_LEGACY_NAME", "legacy");
    load_one(&impls[IMPL_RUST], IMPL_RUST, g_impl_names[IMPL_RUST], env_or("LM_BENCH_RUST_SO", LM_BENCH_RUST_SO));
    load_one(&impls[IMPL_LEGACY], IMPL_LEGACY, g_impl_names[IMPL_LEGACY],
             env_or("LM_BENCH_LEGACY_SO", LM_BENCH_LEGACY_SO));
    if (!impls[IMPL_RUST].x.dap_link_manager_sync) {
        fprintf(stderr, "lm_bench: %s has no dap_link_manager_sync\n", impls[IMPL_RUST].path);
        exit(2);
    }
}

/* ---- node callbacks ----------------------------------------------------------------------------- */

lm_impl_t *g_lm_cur;
atomic_size_t g_fill_calls, g_fill_refused, g_count_changed_calls, g_link_request_calls;

static pthread_mutex_t s_hold_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t s_hold_cv = PTHREAD_COND_INITIALIZER;
static bool s_hold, s_hold_entered;

void lm_hold_set(bool on)
{
    pthread_mutex_lock(&s_hold_mu);
    s_hold = on;
    if (!on)
        s_hold_entered = false;
    pthread_cond_broadcast(&s_hold_cv);
    pthread_mutex_unlock(&s_hold_mu);
}

bool lm_hold_wait_entered(unsigned timeout_ms)
{
    uint64_t deadline = lm_now_ns() + (uint64_t)timeout_ms * 1000000u;
    pthread_mutex_lock(&s_hold_mu);
    while (!s_hold_entered && lm_now_ns() < deadline) {
        pthread_mutex_unlock(&s_hold_mu);
        lm_sleep_ns(100000);
        pthread_mutex_lock(&s_hold_mu);
    }
    bool entered = s_hold_entered;
    pthread_mutex_unlock(&s_hold_mu);
    return entered;
}

/* The node sends ANNOUNCE here; its answer comes back later as accounting from a stream worker. */
static void cb_connected(dap_link_t *link, uint64_t net_id)
{
    (void)link;
    (void)net_id;
}

static bool cb_disconnected(dap_link_t *link, uint64_t net_id, int count)
{
    (void)link;
    (void)net_id;
    (void)count;
    return false;
}

static void cb_error(dap_link_t *link, uint64_t net_id, int stage)
{
    (void)link;
    (void)net_id;
    (void)stage;
}

/* As the node: the balancer knows the peer's address, so link_update, then `ready`. */
static int cb_fill_net_info(dap_link_t *link)
{
    atomic_fetch_add_explicit(&g_fill_calls, 1, memory_order_relaxed);
    dap_stream_node_addr_t a = link->addr;
    if (g_lm_cur->f.dap_link_manager_link_update(&a, "10.11.12.13", 8079) != 0) {
        atomic_fetch_add_explicit(&g_fill_refused, 1, memory_order_relaxed);
        return -1;
    }
    link->uplink.ready = true;
    return 0;
}

static int cb_link_request(uint64_t net_id)
{
    (void)net_id;
    atomic_fetch_add_explicit(&g_link_request_calls, 1, memory_order_relaxed);
    return 0;
}

/* As the node: re-read every net's counts (the node's status line). W4 blocks here to hold the queue. */
static int cb_link_count_changed(void)
{
    atomic_fetch_add_explicit(&g_count_changed_calls, 1, memory_order_relaxed);
    for (int i = 0; i < LM_NETS; i++) {
        uint64_t net = UINT64_C(0x101) + (uint64_t)i;
        (void)g_lm_cur->f.dap_link_manager_links_count(net);
        (void)g_lm_cur->f.dap_link_manager_required_links_count(net);
    }
    pthread_mutex_lock(&s_hold_mu);
    if (s_hold) {
        s_hold_entered = true;
        while (s_hold)
            pthread_cond_wait(&s_hold_cv, &s_hold_mu);
    }
    pthread_mutex_unlock(&s_hold_mu);
    return 0;
}

const dap_link_manager_callbacks_t g_lm_callbacks = {
    .connected = cb_connected,
    .disconnected = cb_disconnected,
    .error = cb_error,
    .fill_net_info = cb_fill_net_info,
    .link_request = cb_link_request,
    .link_count_changed = cb_link_count_changed,
};

/* ---- runs --------------------------------------------------------------------------------------- */

void lm_run_begin(lm_run_t *r, lm_impl_t *impl, unsigned tick_ms)
{
    memset(r, 0, sizeof(*r));
    r->impl = impl;
    g_lm_cur = impl;
    sdk_reset();
    sdk_set_node_addr(LM_OWN_ADDR);
    g_dap_log_level = L_INFO; /* a production node's level: the libraries' debug lines are skipped */
    char buf[32];
    snprintf(buf, sizeof(buf), "%u", tick_ms ? tick_ms : 5000u);
    sdk_config_set("link_manager", "timer_update_states", buf);
    atomic_store(&g_fill_calls, 0);
    atomic_store(&g_fill_refused, 0);
    atomic_store(&g_count_changed_calls, 0);
    atomic_store(&g_link_request_calls, 0);

    int before[512], after[512];
    int nb = lm_list_tids(before, 512);
    if (impl->f.dap_link_manager_init(&g_lm_callbacks) != 0) {
        fprintf(stderr, "lm_bench: %s: init failed\n", impl->name);
        exit(3);
    }
    int na = lm_list_tids(after, 512);
    for (int i = 0, j = 0; i < na && r->n_lib_tids < 16; i++) {
        while (j < nb && before[j] < after[i])
            j++;
        if (j >= nb || before[j] != after[i])
            r->lib_tids[r->n_lib_tids++] = after[i];
    }
    for (int i = 0; i < LM_NETS; i++) {
        r->net[i] = UINT64_C(0x101) + (uint64_t)i;
        snprintf(buf, sizeof(buf), "bench-net-%d", i);
        r->cluster[i] = sdk_cluster_new(buf, impl->f.dap_link_manager_add_links_cluster,
                                        impl->f.dap_link_manager_remove_links_cluster, NULL);
        if (impl->f.dap_link_manager_add_net(r->net[i], r->cluster[i], 5) != 0) {
            fprintf(stderr, "lm_bench: %s: add_net failed\n", impl->name);
            exit(3);
        }
        impl->f.dap_link_manager_set_net_condition(r->net[i], true);
    }
    lm_drain(r);
}

void lm_run_end(lm_run_t *r)
{
    r->impl->f.dap_link_manager_deinit();
    for (int i = 0; i < LM_NETS; i++)
        sdk_cluster_free(r->cluster[i]); /* already emptied by deinit */
    sdk_journal_clear();
    sdk_log_clear();
}

static uint64_t s_sentinel_seq;

void lm_drain(lm_run_t *r)
{
    lm_impl_t *impl = r->impl;
    if (impl->x.dap_link_manager_sync) {
        int rc = impl->x.dap_link_manager_sync(600000);
        if (rc != DAP_LM_OK) {
            fprintf(stderr, "lm_bench: %s: dap_link_manager_sync -> %d\n", impl->name, rc);
            exit(3);
        }
        return;
    }
    /* The baseline applies every fact from one FIFO in order: when the sentinel's accounting shows in
     * the cluster, everything queued before it has been applied. */
    dap_stream_node_addr_t s = {.uint64 = lm_addr(0xFFFF, s_sentinel_seq++)};
    impl->f.dap_link_manager_stream_add(&s, false);
    impl->f.dap_link_manager_accounting_link_in_net(r->net[0], &s, true);
    for (unsigned spins = 0; !sdk_cluster_has(r->cluster[0], s.uint64); spins++)
        lm_sleep_ns(spins < 100 ? 2000 : 20000);
    impl->f.dap_link_manager_stream_delete(&s); /* and gone again, so counts stay exact */
    for (unsigned spins = 0; sdk_cluster_has(r->cluster[0], s.uint64); spins++)
        lm_sleep_ns(spins < 100 ? 2000 : 20000);
}

void lm_populate_downlinks(lm_run_t *r, uint64_t first_addr, size_t n)
{
    lm_impl_t *impl = r->impl;
    for (size_t i = 0; i < n; i++) {
        dap_stream_node_addr_t a = {.uint64 = first_addr + i};
        impl->f.dap_link_manager_stream_add(&a, false);
        impl->f.dap_link_manager_accounting_link_in_net(r->net[0], &a, true);
        if ((i & 0xFFFF) == 0xFFFF)
            lm_drain(r); /* keep the backlog (and the SDK journal) bounded */
        if ((i & 0x3FFFF) == 0x3FFFF)
            sdk_journal_clear();
    }
    lm_drain(r);
    sdk_journal_clear();
}

uint64_t lm_lib_cpu_ns(const lm_run_t *r)
{
    uint64_t sum = 0;
    for (int i = 0; i < r->n_lib_tids; i++)
        sum += lm_thread_cpu_ns(r->lib_tids[i]);
    return sum;
}
