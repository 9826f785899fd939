/* deinit under load, 20 init/deinit cycles. In each cycle 8 threads call the library at full speed
 * (original, `_sync`, `_async`, snapshots, stats) while the main thread runs deinit; in some cycles the
 * library thread is held in a callback at that moment, so `_sync` callers are surely waiting.
 * Checked: deinit returns (watchdog) quickly; every `_sync` caller gets an answer that is not TIMEOUT;
 * every `_async` completion runs exactly once (accepted: on the library thread; refused: on the
 * caller's thread with the returned code); every call that starts after deinit returned answers
 * "not initialised"; after each cycle every SDK client is freed. */
#include "lm_test_api.h"

#define CYCLES     20
#define WORKERS    8
#define SLOTS      (1 << 15)
#define N1         UINT64_C(0x501)
#define N2         UINT64_C(0x502)
#define N3         UINT64_C(0x503) /* only the hold link's: the workers never switch it off */
#define ADDR_BASE  UINT64_C(0x0008000000000000)
#define HOLD_ADDR  UINT64_C(0x0009000000000001)
#define ADDR_RANGE 256

static dap_cluster_t *C1, *C2, *C3;

typedef struct slot {
    atomic_int calls;
    atomic_int rc;
    atomic_int on_lib;
    int returned;
    pthread_t cb_thread;
} slot_t;

typedef struct worker {
    int id;
    uint64_t rng;
    slot_t *slots;
    int used;
    /* results */
    uint64_t calls, sync_calls, sync_timeout, sync_bad, sync_shutting_down, after_deinit_calls, after_deinit_bad;
    char last_bad[160];
} worker_t;

static worker_t workers[WORKERS];
static atomic_int stop_flag, deinit_done;

static uint64_t rnd(worker_t *w)
{
    w->rng ^= w->rng << 13;
    w->rng ^= w->rng >> 7;
    w->rng ^= w->rng << 17;
    return w->rng;
}

static void slot_cb(int rc, void *arg)
{
    slot_t *s = arg;
    s->cb_thread = pthread_self();
    atomic_store(&s->on_lib, lmt_on_lib_thread());
    atomic_store(&s->rc, rc);
    atomic_fetch_add(&s->calls, 1);
}

static void slot_links_cb(int rc, const struct dap_lm_net_links *r, void *arg)
{
    if (rc == DAP_LM_OK && r && r->uplinks_count + r->downlinks_count > 0)
        (void)r->addrs[r->uplinks_count + r->downlinks_count - 1].uint64; /* readable during the call */
    slot_cb(rc, arg);
}

static void slot_snap_cb(int rc, const struct dap_lm_link_snapshot *s, void *arg)
{
    if (rc == DAP_LM_OK && s && s->nets_count)
        (void)s->nets[s->nets_count - 1];
    slot_cb(rc, arg);
}

static slot_t *take_slot(worker_t *w)
{
    return w->used < SLOTS ? &w->slots[w->used++] : NULL;
}

static void bad(worker_t *w, const char *what, int rc)
{
    w->after_deinit_bad++;
    snprintf(w->last_bad, sizeof(w->last_bad), "%s returned %d after deinit", what, rc);
}

static bool sync_ok(int rc)
{
    switch (rc) {
    case DAP_LM_OK:
    case DAP_LM_ERR_NOT_FOUND:
    case DAP_LM_ERR_EXISTS:
    case DAP_LM_ERR_NOT_INITIALIZED:
    case DAP_LM_ERR_SHUTTING_DOWN:
    case DAP_LM_ERR_INACTIVE:
        return true;
    default:
        return false;
    }
}

static void note_sync(worker_t *w, int rc, bool after)
{
    w->sync_calls++;
    if (rc == DAP_LM_ERR_TIMEOUT)
        w->sync_timeout++;
    else if (!sync_ok(rc))
        w->sync_bad++;
    if (rc == DAP_LM_ERR_SHUTTING_DOWN)
        w->sync_shutting_down++;
    if (after && rc != DAP_LM_ERR_NOT_INITIALIZED)
        bad(w, "a _sync call", rc);
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    char host[32];
    while (!atomic_load_explicit(&stop_flag, memory_order_relaxed)) {
        bool after = atomic_load(&deinit_done); /* deinit returned before this call started */
        uint64_t r = rnd(w);
        dap_stream_node_addr_t a = lmt_addr(ADDR_BASE + ((uint64_t)w->id << 12) + (r >> 8) % ADDR_RANGE + 1);
        uint64_t net = (r & 1) ? N1 : N2;
        int rc;
        size_t n;
        bool b;
        w->calls++;
        if (after)
            w->after_deinit_calls++;
        switch ((r >> 1) % 24) {
        case 0:
            rc = dap_link_manager_link_create(&a, net);
            if (after && rc != -3)
                bad(w, "link_create", rc);
            break;
        case 1:
            snprintf(host, sizeof(host), "10.5.%d.%d", w->id, (int)(r % 200) + 1);
            rc = dap_link_manager_link_update(&a, host, 8079);
            if (after && rc != -1)
                bad(w, "link_update", rc);
            break;
        case 2:
            rc = dap_link_manager_stream_add(&a, (r & 2) != 0);
            if (after && rc != -1)
                bad(w, "stream_add", rc);
            break;
        case 3:
            dap_link_manager_accounting_link_in_net(net, &a, (r & 4) != 0);
            break;
        case 4:
            dap_link_manager_stream_delete(&a);
            break;
        case 5:
            dap_link_manager_set_net_condition(net, (r & 0x38) != 0); /* mostly on, sometimes off */
            break;
        case 6:
            rc = dap_link_manager_add_net(net, net == N1 ? C1 : C2, 2);
            if (after && rc != -2)
                bad(w, "add_net", rc);
            break;
        case 7: {
            size_t up = 0, down = 0;
            free(dap_link_manager_get_net_links_addrs(net, &up, &down, (r & 16) != 0));
            free(dap_link_manager_get_ignored_addrs(&n, net));
            char *info = dap_link_manager_get_links_info();
            if (after && info)
                bad(w, "get_links_info", 1);
            free(info);
            break;
        }
        case 8:
            b = dap_link_manager_link_find(&a, net) | dap_link_manager_link_is_established(&a) |
                dap_link_manager_get_net_condition(net);
            n = dap_link_manager_links_count(net) + dap_link_manager_needed_links_count(net) +
                dap_link_manager_required_links_count(net) + dap_link_manager_established_uplinks_count(net);
            if (after && (b || n))
                bad(w, "a getter", (int)n);
            break;
        case 9:
            note_sync(w, dap_link_manager_links_count_sync(net, &n, 0), after);
            break;
        case 10:
            note_sync(w, dap_link_manager_link_create_sync(&a, net, 0), after);
            break;
        case 11:
            rc = dap_link_manager_stream_add_sync(&a, false, 0);
            note_sync(w, rc, after);
            break;
        case 12: {
            struct dap_lm_link_snapshot *s = NULL;
            note_sync(w, dap_link_manager_link_snapshot_sync(&a, &s, 0), after);
            dap_lm_link_snapshot_free(s);
            break;
        }
        case 13: {
            struct dap_lm_nets_snapshot *s = NULL;
            note_sync(w, dap_link_manager_nets_snapshot_sync(&s, 0), after);
            dap_lm_nets_snapshot_free(s);
            break;
        }
        case 14:
            note_sync(w, dap_link_manager_sync(0), after);
            break;
        case 15:
        case 16:
        case 17:
        case 18:
        case 19: {
            slot_t *s = take_slot(w);
            if (!s)
                break;
            int k = (int)((r >> 1) % 24) - 15;
            if (k == 0)
                rc = dap_link_manager_link_create_async(&a, net, slot_cb, s);
            else if (k == 1)
                rc = dap_link_manager_stream_add_async(&a, false, slot_cb, s);
            else if (k == 2)
                rc = dap_link_manager_accounting_link_in_net_async(net, &a, true, slot_cb, s);
            else if (k == 3)
                rc = dap_link_manager_get_net_links_addrs_async(net, false, slot_links_cb, s);
            else
                rc = dap_link_manager_link_snapshot_async(&a, slot_snap_cb, s);
            s->returned = rc;
            if (rc != DAP_LM_OK && (atomic_load(&s->calls) != 1 || !pthread_equal(s->cb_thread, pthread_self())))
                bad(w, "a refused _async (completion not run on the caller's thread before returning)", rc);
            if (after && rc != DAP_LM_ERR_NOT_INITIALIZED)
                bad(w, "an _async call", rc);
            break;
        }
        case 20: {
            struct dap_lm_link_snapshot *s = NULL;
            rc = dap_link_manager_link_snapshot(&a, &s);
            dap_lm_link_snapshot_free(s);
            if (after && rc != DAP_LM_ERR_NOT_INITIALIZED)
                bad(w, "link_snapshot", rc);
            break;
        }
        case 21: {
            struct dap_lm_stats st;
            rc = dap_link_manager_get_stats(&st);
            if (after && rc != DAP_LM_ERR_NOT_INITIALIZED)
                bad(w, "get_stats", rc);
            char *j = dap_link_manager_stats_json();
            free(j);
            break;
        }
        case 22:
            dap_link_manager_stream_replace(&a, (r & 32) != 0);
            break;
        case 23:
            rc = dap_link_manager_set_net_condition_async(net, true, NULL, NULL);
            if (after && rc != DAP_LM_ERR_NOT_INITIALIZED)
                bad(w, "set_net_condition_async", rc);
            break;
        }
    }
    return NULL;
}

/* ------------------------------------------------------------- holding the library thread at deinit */

static atomic_int hold_ms, held;

static void hold_connected(dap_link_t *link, uint64_t net)
{
    (void)net;
    if (link->addr.uint64 == HOLD_ADDR && atomic_load(&hold_ms) > 0) {
        atomic_store(&held, 1);
        lmt_sleep_ms((unsigned)atomic_load(&hold_ms));
    }
}

/* the hold link is permanent, so ticks (no host known: dropped as disconnected) keep it */
static bool hold_permanent(dap_link_t *link, uint64_t net, int count)
{
    (void)net;
    (void)count;
    return link->addr.uint64 == HOLD_ADDR;
}

/* ------------------------------------------------------------- after deinit, from the main thread */

static void check_not_initialized(void)
{
    dap_stream_node_addr_t a = lmt_addr(ADDR_BASE + 1);
    size_t n = 7;
    lmt_done_t d = {0};
    CHECK_INT(dap_link_manager_link_create(&a, N1), -3);
    CHECK_INT(dap_link_manager_add_net(N1, C1, 1), -2);
    CHECK_INT(dap_link_manager_stream_add(&a, false), -1);
    CHECK_INT(dap_link_manager_link_update(&a, "10.5.0.1", 1), -1);
    CHECK(!dap_link_manager_get_condition());
    CHECK(dap_link_manager_get_default() == NULL);
    CHECK_INT(dap_link_manager_links_count(N1), 0);
    CHECK_RC(dap_link_manager_links_count_sync(N1, &n, 0), DAP_LM_ERR_NOT_INITIALIZED);
    CHECK_RC(dap_link_manager_sync(0), DAP_LM_ERR_NOT_INITIALIZED);
    CHECK_RC(dap_link_manager_link_create_async(&a, N1, lmt_done_cb, &d), DAP_LM_ERR_NOT_INITIALIZED);
    CHECK_INT(atomic_load(&d.calls), 1);
    CHECK(n == 7);
}

int main(void)
{
    g_dap_log_level = L_INFO; /* the per-request debug lines would dominate the run */
    lmt_watchdog_arm(20, "setup");
    C1 = lmt_net_cluster("c1");
    C2 = lmt_net_cluster("c2");
    C3 = lmt_net_cluster("c3");
    for (int i = 0; i < WORKERS; i++) {
        workers[i].slots = calloc(SLOTS, sizeof(slot_t));
        if (!workers[i].slots)
            abort();
    }
    lmt_node.on_connected = hold_connected;
    lmt_node.on_disconnected = hold_permanent;
    uint64_t total_calls = 0, total_async = 0, total_shutting = 0, max_deinit_ms = 0;
    for (int cycle = 0; cycle < CYCLES; cycle++) {
        char phase[64];
        snprintf(phase, sizeof(phase), "cycle %d", cycle);
        lmt_watchdog_arm(30, phase);
        const char *const cfg[] = {"timer_update_states", "10", NULL};
        CHECK_INT(lmt_start(cfg), 0);
        if (cycle % 2)
            dap_link_manager_test_auto_tick(true); /* real ticks every 10 ms in odd cycles */
        dap_stream_node_addr_t hold = lmt_addr(HOLD_ADDR);
        CHECK_RC(dap_link_manager_add_net_sync(N1, C1, 2, 0), DAP_LM_OK);
        CHECK_RC(dap_link_manager_add_net_sync(N2, C2, 2, 0), DAP_LM_OK);
        CHECK_RC(dap_link_manager_set_net_condition_sync(N1, true, 0), DAP_LM_OK);
        CHECK_RC(dap_link_manager_set_net_condition_sync(N2, true, 0), DAP_LM_OK);
        CHECK_RC(dap_link_manager_add_net_sync(N3, C3, 0, 0), DAP_LM_OK);
        CHECK_RC(dap_link_manager_set_net_condition_sync(N3, true, 0), DAP_LM_OK);
        CHECK_RC(dap_link_manager_link_create_sync(&hold, N3, 0), DAP_LM_OK);

        atomic_store(&stop_flag, 0);
        atomic_store(&deinit_done, 0);
        atomic_store(&hold_ms, 0);
        atomic_store(&held, 0);
        pthread_t th[WORKERS];
        for (int i = 0; i < WORKERS; i++) {
            workers[i].id = i;
            workers[i].rng = 0x9E3779B97F4A7C15ull * (uint64_t)(cycle * WORKERS + i + 1);
            workers[i].used = 0;
            memset(workers[i].slots, 0, SLOTS * sizeof(slot_t));
            pthread_create(&th[i], NULL, worker_main, &workers[i]);
        }
        lmt_sleep_ms(30 + (unsigned)(cycle * 7) % 50);
        if (cycle % 4 == 3) { /* hold the library thread so _sync callers are waiting when deinit runs */
            atomic_store(&hold_ms, 150);
            dap_link_manager_stream_add(&hold, true);
            CHECKF(LMT_WAIT_UNTIL(atomic_load(&held), 2000), "cycle %d: the library thread was not held", cycle);
            lmt_sleep_ms(20);
        }
        uint64_t t0 = lmt_now_ms();
        dap_link_manager_deinit();
        uint64_t el = lmt_now_ms() - t0;
        atomic_store(&deinit_done, 1);
        if (el > max_deinit_ms)
            max_deinit_ms = el;
        CHECKF(el < 2000, "cycle %d: deinit took %llu ms", cycle, (unsigned long long)el);
        check_not_initialized();
        lmt_sleep_ms(20);
        atomic_store(&stop_flag, 1);
        for (int i = 0; i < WORKERS; i++)
            pthread_join(th[i], NULL);

        /* every completion exactly once, on the right thread, with the right code */
        int wrong_count = 0, wrong_thread = 0, wrong_rc = 0;
        for (int i = 0; i < WORKERS; i++) {
            worker_t *w = &workers[i];
            for (int k = 0; k < w->used; k++) {
                slot_t *s = &w->slots[k];
                if (atomic_load(&s->calls) != 1) {
                    wrong_count++;
                    continue;
                }
                if (s->returned == DAP_LM_OK) {
                    if (!atomic_load(&s->on_lib))
                        wrong_thread++;
                } else {
                    if (atomic_load(&s->rc) != s->returned)
                        wrong_rc++;
                    if (!pthread_equal(s->cb_thread, th[i]))
                        wrong_thread++;
                }
                total_shutting += atomic_load(&s->rc) == DAP_LM_ERR_SHUTTING_DOWN;
            }
            total_async += (uint64_t)w->used;
            total_calls += w->calls;
            total_shutting += w->sync_shutting_down;
            CHECKF(w->sync_timeout == 0, "cycle %d worker %d: %llu _sync calls timed out", cycle, i,
                   (unsigned long long)w->sync_timeout);
            CHECKF(w->sync_bad == 0, "cycle %d worker %d: %llu _sync calls returned an unexpected code", cycle, i,
                   (unsigned long long)w->sync_bad);
            CHECKF(w->after_deinit_bad == 0, "cycle %d worker %d: %llu bad answers after deinit, e.g. %s", cycle, i,
                   (unsigned long long)w->after_deinit_bad, w->last_bad);
            w->calls = w->sync_calls = w->sync_timeout = w->sync_bad = w->sync_shutting_down = 0;
            w->after_deinit_calls = w->after_deinit_bad = 0;
        }
        CHECKF(wrong_count == 0, "cycle %d: %d completions not run exactly once", cycle, wrong_count);
        CHECKF(wrong_thread == 0, "cycle %d: %d completions on the wrong thread", cycle, wrong_thread);
        CHECKF(wrong_rc == 0, "cycle %d: %d refusals completed with another code than returned", cycle, wrong_rc);
        sdk_quiesce();
        CHECKF(sdk_clients_live() == 0, "cycle %d: %zu SDK clients still alive after deinit", cycle,
               sdk_clients_live());
    }
    CHECKF(total_shutting > 0, "no request was ever answered SHUTTING_DOWN: the shutdown path was not exercised");
    CHECK_INT(atomic_load(&lmt_node.on_wrong_thread), 0);
    printf("%d cycles: %llu calls, %llu async, %llu answered SHUTTING_DOWN, longest deinit %llu ms\n", CYCLES,
           (unsigned long long)total_calls, (unsigned long long)total_async, (unsigned long long)total_shutting,
           (unsigned long long)max_deinit_ms);
    for (int i = 0; i < WORKERS; i++)
        free(workers[i].slots);
    sdk_cluster_free(C1);
    sdk_cluster_free(C2);
    sdk_cluster_free(C3);
    return lmt_finish("test_shutdown_load");
}
