/* Backpressure through the C ABI. queue_capacity_normal=1000 (and queue_capacity_high=64, which facts
 * must ignore); 8 producer threads at full speed, while the library thread is also held in a slow
 * callback for a while so the queue surely fills.
 *
 * backpressure=reject: requests are refused (async QUEUE_FULL with the completion on the caller's
 * thread, `_sync` QUEUE_FULL, original link_update -7) and every refusal is counted in the stats
 * (`queue_rejected[normal]`, `rejected`); every fact (stream add/replace/delete, accounting) issued is
 * processed (per_type deltas equal the counts issued); the normal queue never holds more than 1000; a
 * refused set_condition has no effect.
 * backpressure=wait: the same load; callers wait for room and every request gets through. */
#include "lm_test_api.h"

#define N1         UINT64_C(0x401)
#define PRODUCERS  8
#define CAPACITY   1000
#define RUN_MS     1500
#define BLOCK_AT   200 /* ms into the run */
#define BLOCK_MS   300
#define LINK_BASE  UINT64_C(0x0005000000000000)
#define FACT_BASE  UINT64_C(0x0006000000000000)
#define ADDRS_EACH 512

static dap_cluster_t *C1;

typedef struct producer {
    int id;
    /* issued facts */
    uint64_t stream_add, stream_replace, stream_delete, accounting;
    /* requests */
    uint64_t update_ok, update_full, update_other;
    uint64_t async_ok, async_full, async_other, async_ok_link_create, async_ok_link_update;
    uint64_t sync_ok, sync_full, sync_other;
    uint64_t bad_cb_thread; /* completion on the wrong thread for what the return said */
    uint64_t max_call_ns;
    atomic_ullong done_lib, done_caller; /* completions seen */
} producer_t;

static producer_t prod[PRODUCERS];
static atomic_int stop_flag;
static atomic_ullong max_depth_normal, max_depth_high, max_memory;
static _Thread_local int tl_refusal_cb; /* set when a completion ran on this (calling) thread */

static void producer_cb(int rc, void *arg)
{
    producer_t *p = arg;
    (void)rc;
    if (lmt_on_lib_thread()) {
        atomic_fetch_add(&p->done_lib, 1);
    } else {
        tl_refusal_cb++;
        atomic_fetch_add(&p->done_caller, 1);
    }
}

static void note_async(producer_t *p, int rc, bool is_create)
{
    if (rc == DAP_LM_OK) {
        p->async_ok++;
        if (is_create)
            p->async_ok_link_create++;
        else
            p->async_ok_link_update++;
        if (tl_refusal_cb != 0)
            p->bad_cb_thread++;
    } else {
        if (rc == DAP_LM_ERR_QUEUE_FULL)
            p->async_full++;
        else
            p->async_other++;
        if (tl_refusal_cb != 1)
            p->bad_cb_thread++;
    }
    tl_refusal_cb = 0;
}

static void *producer_main(void *arg)
{
    producer_t *p = arg;
    char host[32];
    for (uint64_t i = 0; !atomic_load_explicit(&stop_flag, memory_order_relaxed); i++) {
        dap_stream_node_addr_t link = lmt_addr(LINK_BASE + ((uint64_t)p->id << 16) + i % ADDRS_EACH + 1);
        dap_stream_node_addr_t fact = lmt_addr(FACT_BASE + ((uint64_t)p->id << 16) + i % ADDRS_EACH + 1);
        snprintf(host, sizeof(host), "10.4.%d.%d", p->id, (int)(i % 250) + 1);
        uint64_t t0 = lmt_now_ns();
        int rc;
        switch (i % 10) {
        case 0:
            rc = dap_link_manager_link_update(&link, host, 8079);
            if (rc == 0)
                p->update_ok++;
            else if (rc == -7)
                p->update_full++;
            else
                p->update_other++;
            break;
        case 1:
            note_async(p, dap_link_manager_link_create_async(&link, N1, producer_cb, p), true);
            break;
        case 2:
            note_async(p, dap_link_manager_link_update_async(&link, host, 8079, producer_cb, p), false);
            break;
        case 3: {
            size_t n;
            if (p->id < PRODUCERS - 2) { /* most producers never wait, so a held library thread fills the queue */
                note_async(p, dap_link_manager_link_update_async(&link, host, 8079, producer_cb, p), false);
                break;
            }
            rc = dap_link_manager_links_count_sync(N1, &n, 0);
            if (rc == DAP_LM_OK)
                p->sync_ok++;
            else if (rc == DAP_LM_ERR_QUEUE_FULL)
                p->sync_full++;
            else
                p->sync_other++;
            break;
        }
        case 4:
        case 8:
            if (dap_link_manager_stream_add(&fact, false) == 0)
                p->stream_add++;
            break;
        case 5:
            dap_link_manager_accounting_link_in_net(N1, &fact, true);
            p->accounting++;
            break;
        case 6:
            dap_link_manager_stream_replace(&fact, (i & 16) != 0);
            p->stream_replace++;
            break;
        case 7:
        case 9:
            dap_link_manager_stream_delete(&fact);
            p->stream_delete++;
            break;
        }
        uint64_t el = lmt_now_ns() - t0;
        if (el > p->max_call_ns)
            p->max_call_ns = el;
    }
    return NULL;
}

static void *monitor_main(void *unused)
{
    (void)unused;
    while (!atomic_load(&stop_flag)) {
        struct dap_lm_stats s;
        if (dap_link_manager_get_stats(&s) == DAP_LM_OK) {
            if (s.queue_depth[2] > atomic_load(&max_depth_normal))
                atomic_store(&max_depth_normal, s.queue_depth[2]);
            if (s.queue_depth[1] > atomic_load(&max_depth_high))
                atomic_store(&max_depth_high, s.queue_depth[1]);
            if (s.memory_bytes > atomic_load(&max_memory))
                atomic_store(&max_memory, s.memory_bytes);
        }
        lmt_sleep_ms(0);
        sched_yield();
    }
    return NULL;
}

/* ------------------------------------------------------------- holding the library thread */

static atomic_int slow_in;
static atomic_ullong extra_full;   /* refusals of this file's own control calls */
static atomic_ullong blocker_adds; /* stream_add facts issued by the blocker */
#define LB UINT64_C(0x0007000000000001) /* the link whose uplink stream holds the library thread */

/* connected(link, net) of LB: sleeps, so the library thread is held while producers go on */
static void slow_connected(dap_link_t *link, uint64_t net)
{
    (void)net;
    if (link->addr.uint64 != LB)
        return;
    atomic_store(&slow_in, 1);
    lmt_sleep_ms(BLOCK_MS);
    atomic_store(&slow_in, 2);
}

/* A control request retried while the queue is full (reject policy). */
#define RETRY_FULL(call)                                                                                               \
    ({                                                                                                                 \
        int r_;                                                                                                        \
        while ((r_ = (call)) == DAP_LM_ERR_QUEUE_FULL) {                                                               \
            atomic_fetch_add(&extra_full, 1);                                                                          \
            sched_yield();                                                                                             \
        }                                                                                                              \
        r_;                                                                                                            \
    })

/* Hold the library thread through a fact (never refused): stream_add of LB's uplink, whose
 * connected callback sleeps. A request at normal priority could starve behind the producers. */
static void *blocker_main(void *arg)
{
    unsigned delay = (unsigned)(uintptr_t)arg;
    lmt_sleep_ms(delay);
    dap_stream_node_addr_t lb = lmt_addr(LB);
    CHECK_INT(dap_link_manager_stream_add(&lb, true), 0);
    atomic_fetch_add(&blocker_adds, 1);
    LMT_WAIT_UNTIL(atomic_load(&slow_in) == 2, 10000);
    return NULL;
}

static void prepare_net(void)
{
    dap_stream_node_addr_t lb = lmt_addr(LB);
    CHECK_RC(dap_link_manager_add_net_sync(N1, C1, 5, 0), DAP_LM_OK);
    CHECK_RC(dap_link_manager_set_net_condition_sync(N1, true, 0), DAP_LM_OK);
    CHECK_RC(dap_link_manager_link_create_sync(&lb, N1, 0), DAP_LM_OK);
    lmt_node.on_connected = slow_connected;
}

/* ------------------------------------------------------------- one run */

typedef struct totals {
    uint64_t facts_add, facts_replace, facts_delete, facts_acc;
    uint64_t ok_update, ok_create, full, other, bad_cb, async_ok, async_refused, max_call_ns, issued;
    uint64_t done_lib, done_caller;
} totals_t;

static totals_t run_load(const char *name)
{
    memset(prod, 0, sizeof(prod));
    atomic_store(&stop_flag, 0);
    atomic_store(&max_depth_normal, 0);
    atomic_store(&max_depth_high, 0);
    atomic_store(&max_memory, 0);
    atomic_store(&slow_in, 0);
    atomic_store(&blocker_adds, 0);
    pthread_t th[PRODUCERS], mon, blk;
    pthread_create(&mon, NULL, monitor_main, NULL);
    for (int i = 0; i < PRODUCERS; i++) {
        prod[i].id = i;
        pthread_create(&th[i], NULL, producer_main, &prod[i]);
    }
    pthread_create(&blk, NULL, blocker_main, (void *)(uintptr_t)BLOCK_AT);
    lmt_sleep_ms(RUN_MS);
    pthread_join(blk, NULL);
    atomic_store(&stop_flag, 1);
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(th[i], NULL);
    pthread_join(mon, NULL);
    CHECK(atomic_load(&slow_in) == 2); /* the library thread was held once */

    totals_t t;
    memset(&t, 0, sizeof(t));
    for (int i = 0; i < PRODUCERS; i++) {
        producer_t *p = &prod[i];
        t.facts_add += p->stream_add + (i == 0 ? atomic_load(&blocker_adds) : 0);
        t.facts_replace += p->stream_replace;
        t.facts_delete += p->stream_delete;
        t.facts_acc += p->accounting;
        t.ok_update += p->update_ok + p->async_ok_link_update;
        t.ok_create += p->async_ok_link_create;
        t.full += p->update_full + p->async_full + p->sync_full;
        t.other += p->update_other + p->async_other + p->sync_other;
        t.bad_cb += p->bad_cb_thread;
        t.async_ok += p->async_ok;
        t.async_refused += p->async_full + p->async_other;
        t.issued += p->stream_add + p->stream_replace + p->stream_delete + p->accounting + p->update_ok +
                    p->update_full + p->update_other + p->async_ok + p->async_full + p->async_other + p->sync_ok +
                    p->sync_full + p->sync_other;
        if (p->max_call_ns > t.max_call_ns)
            t.max_call_ns = p->max_call_ns;
    }
    /* every accepted completion arrives, exactly once in total */
    int rc = RETRY_FULL(dap_link_manager_sync(0));
    CHECK_RC(rc, DAP_LM_OK);
    LMT_WAIT_UNTIL(({
                       uint64_t s = 0;
                       for (int i = 0; i < PRODUCERS; i++)
                           s += atomic_load(&prod[i].done_lib);
                       s >= t.async_ok;
                   }),
                   5000);
    lmt_sleep_ms(20);
    for (int i = 0; i < PRODUCERS; i++) {
        t.done_lib += atomic_load(&prod[i].done_lib);
        t.done_caller += atomic_load(&prod[i].done_caller);
    }
    printf("   %s: %llu calls in %d ms (%.0f/s), %llu refused QUEUE_FULL, facts %llu, max depth normal %llu high "
           "%llu, max call %.1f ms, max memory estimate %llu B\n",
           name, (unsigned long long)t.issued, RUN_MS, t.issued * 1000.0 / RUN_MS, (unsigned long long)t.full,
           (unsigned long long)(t.facts_add + t.facts_replace + t.facts_delete + t.facts_acc),
           (unsigned long long)atomic_load(&max_depth_normal), (unsigned long long)atomic_load(&max_depth_high),
           t.max_call_ns / 1e6, (unsigned long long)atomic_load(&max_memory));
    return t;
}

static void check_common(const totals_t *t, const struct dap_lm_stats *s0, const struct dap_lm_stats *s1)
{
    /* no fact lost */
    CHECK_INT(s1->per_type[lmt_op_index("stream_add")] - s0->per_type[lmt_op_index("stream_add")], t->facts_add);
    CHECK_INT(s1->per_type[lmt_op_index("stream_replace")] - s0->per_type[lmt_op_index("stream_replace")],
              t->facts_replace);
    CHECK_INT(s1->per_type[lmt_op_index("stream_delete")] - s0->per_type[lmt_op_index("stream_delete")],
              t->facts_delete);
    CHECK_INT(s1->per_type[lmt_op_index("accounting")] - s0->per_type[lmt_op_index("accounting")], t->facts_acc);
    CHECK_INT(s1->queue_rejected[1] - s0->queue_rejected[1], 0); /* facts are never refused */
    /* accepted requests ran */
    CHECK_INT(s1->per_type[lmt_op_index("link_update")] - s0->per_type[lmt_op_index("link_update")], t->ok_update);
    CHECK_INT(s1->per_type[lmt_op_index("link_create")] - s0->per_type[lmt_op_index("link_create")], t->ok_create);
    /* completions: accepted ones on the library thread, refused ones on the caller's, once each */
    CHECK_INT(t->bad_cb, 0);
    CHECK_INT(t->done_lib, t->async_ok);
    CHECK_INT(t->done_caller, t->async_refused);
    /* bounded */
    CHECKF(atomic_load(&max_depth_normal) <= CAPACITY, "normal queue depth reached %llu > %d",
           (unsigned long long)atomic_load(&max_depth_normal), CAPACITY);
    CHECKF(s1->queue_peak[2] <= CAPACITY, "normal queue peak %llu > %d", (unsigned long long)s1->queue_peak[2],
           CAPACITY);
    CHECK_INT(s1->queue_capacity[2], CAPACITY);
    CHECK(t->facts_add > 0 && t->facts_acc > 0 && t->ok_update > 0);
    CHECK_INT(s1->panics, 0);
}

static void test_reject(void)
{
    printf("-- backpressure=reject\n");
    lmt_watchdog_arm(60, "reject");
    const char *const cfg[] = {"queue_capacity_normal", "1000", "queue_capacity_high", "64", "backpressure", "reject",
                               NULL};
    CHECK_INT(lmt_start(cfg), 0);
    prepare_net();
    atomic_store(&extra_full, 0);
    struct dap_lm_stats s0 = lmt_stats();
    totals_t t = run_load("reject");
    struct dap_lm_stats s1 = lmt_stats();
    check_common(&t, &s0, &s1);
    CHECKF(t.full > 0, "no request was refused although the library thread was held for %d ms", BLOCK_MS);
    CHECK_INT(t.other, 0);
    uint64_t refused = t.full + atomic_load(&extra_full);
    CHECK_INT(s1.queue_rejected[2] - s0.queue_rejected[2], refused);
    CHECK_INT(s1.rejected - s0.rejected, refused);
    CHECK(sdk_log_count("refused") > 0);

    /* a refused set_condition changes nothing */
    printf("-- reject: a refused set_condition has no effect\n");
    atomic_store(&slow_in, 0);
    pthread_t blk;
    pthread_create(&blk, NULL, blocker_main, (void *)(uintptr_t)0);
    CHECK(LMT_WAIT_UNTIL(atomic_load(&slow_in) == 1, 3000));
    dap_stream_node_addr_t a = lmt_addr(LINK_BASE + 1);
    int filled = 0;
    while (dap_link_manager_link_update(&a, "10.4.0.1", 8079) == 0 && filled < 100000)
        filled++;
    CHECK(filled <= CAPACITY);
    CHECK_RC(dap_link_manager_set_condition_sync(false, 0), DAP_LM_ERR_QUEUE_FULL);
    CHECKF(dap_link_manager_get_condition(), "set_condition_sync(false) was refused (QUEUE_FULL) but "
                                             "get_condition() now answers false");
    dap_link_manager_set_condition(false); /* original, refused silently */
    bool after_original = dap_link_manager_get_condition();
    pthread_join(blk, NULL);
    int rc = RETRY_FULL(dap_link_manager_sync(0));
    CHECK_RC(rc, DAP_LM_OK);
    bool applied = true;
    CHECK_RC(dap_link_manager_get_condition_sync(&applied, 0), DAP_LM_OK);
    CHECKF(applied == dap_link_manager_get_condition(),
           "after refused set_condition calls the flag read by get_condition (%d) and the applied state (%d) "
           "disagree",
           dap_link_manager_get_condition(), applied);
    (void)after_original;
    CHECK_RC(dap_link_manager_set_condition_sync(true, 0), DAP_LM_OK);
    CHECK(dap_link_manager_get_condition());

    dap_link_manager_deinit();
    sdk_quiesce();
    CHECK_INT(sdk_clients_live(), 0);
}

static void test_wait(void)
{
    printf("-- backpressure=wait\n");
    lmt_watchdog_arm(60, "wait");
    const char *const cfg[] = {"queue_capacity_normal", "1000", "queue_capacity_high", "64", "backpressure", "wait",
                               NULL};
    CHECK_INT(lmt_start(cfg), 0);
    prepare_net();
    atomic_store(&extra_full, 0);
    struct dap_lm_stats s0 = lmt_stats();
    totals_t t = run_load("wait");
    struct dap_lm_stats s1 = lmt_stats();
    check_common(&t, &s0, &s1);
    CHECK_INT(t.full, 0);
    CHECK_INT(t.other, 0);
    CHECK_INT(atomic_load(&extra_full), 0);
    CHECK_INT(t.async_refused, 0);
    CHECK_INT(s1.queue_rejected[2] - s0.queue_rejected[2], 0);
    CHECK_INT(s1.rejected - s0.rejected, 0);
    CHECKF(t.max_call_ns >= (uint64_t)(BLOCK_MS / 3) * 1000000u,
           "no caller waited (longest call %.1f ms) although the queue was full", t.max_call_ns / 1e6);
    CHECKF(atomic_load(&max_depth_normal) >= CAPACITY * 9 / 10, "the queue never filled (max depth %llu)",
           (unsigned long long)atomic_load(&max_depth_normal));
    dap_link_manager_deinit();
    sdk_quiesce();
    CHECK_INT(sdk_clients_live(), 0);
}

/* ------------------------------------------------------------- calls queued from inside a callback */

#define AX        UINT64_C(0x0007000000000002)
#define CB_PUSHES 8
static int cb_rc[CB_PUSHES];
static uint64_t cb_ms[CB_PUSHES];
static atomic_int cb_done;

static int fill_many_updates(dap_link_t *link)
{
    if (link->addr.uint64 != AX || atomic_load(&cb_done))
        return -1;
    for (int i = 0; i < CB_PUSHES; i++) {
        char host[32];
        snprintf(host, sizeof(host), "10.7.0.%d", i + 1);
        uint64_t t0 = lmt_now_ms();
        cb_rc[i] = dap_link_manager_link_update(&link->addr, host, 8079);
        cb_ms[i] = lmt_now_ms() - t0;
    }
    atomic_store(&cb_done, 1);
    return 0;
}

/* CONTRACT.md §10: nothing called from a callback may wait for the library thread (it is that
 * thread), and the node's link_update from fill_net_info must be applied after the callback. A queue
 * of 4 and 8 link_update calls from one fill_net_info: none may wait for room (the room can only come
 * from this very thread) and none may be refused. */
static void test_callback_pushes(const char *policy)
{
    printf("-- backpressure=%s: calls queued from inside a callback neither wait nor fail\n", policy);
    lmt_watchdog_arm(60, "callback pushes");
    const char *const cfg[] = {"queue_capacity_normal", "4", "backpressure", policy, "sync_timeout_ms", "1000", NULL};
    CHECK_INT(lmt_start(cfg), 0);
    dap_stream_node_addr_t ax = lmt_addr(AX);
    CHECK_RC(dap_link_manager_add_net_sync(N1, C1, 5, 0), DAP_LM_OK);
    CHECK_RC(dap_link_manager_set_net_condition_sync(N1, true, 0), DAP_LM_OK);
    CHECK_RC(dap_link_manager_link_create_sync(&ax, N1, 0), DAP_LM_OK);
    atomic_store(&cb_done, 0);
    lmt_node.on_fill_net_info = fill_many_updates;
    sdk_journal_clear();
    CHECK_RC(dap_link_manager_test_tick(0, 20000), DAP_LM_OK); /* wake-up: fill_net_info(AX) */
    lmt_node.on_fill_net_info = NULL;
    CHECK(atomic_load(&cb_done));
    uint64_t total = 0;
    for (int i = 0; i < CB_PUSHES; i++) {
        CHECKF(cb_rc[i] == 0, "%s: link_update #%d from fill_net_info returned %d (queue of 4)", policy, i + 1,
               cb_rc[i]);
        total += cb_ms[i];
    }
    CHECKF(total < 200, "%s: the %d link_update calls from fill_net_info waited %llu ms in all (longest %llu ms)",
           policy, CB_PUSHES, (unsigned long long)total,
           (unsigned long long)(cb_ms[CB_PUSHES - 1] > cb_ms[4] ? cb_ms[CB_PUSHES - 1] : cb_ms[4]));
    CHECK_RC(dap_link_manager_sync(0), DAP_LM_OK);
    CHECK_INT(sdk_journal_count("set_uplink"), CB_PUSHES); /* every update applied after the callback */
    dap_link_manager_deinit();
    sdk_quiesce();
}

int main(void)
{
    g_dap_log_level = L_WARNING; /* the per-request debug lines would dominate the run */
    lmt_watchdog_arm(20, "setup");
    C1 = lmt_net_cluster("c1");
    test_reject();
    test_wait();
    test_callback_pushes("wait");
    test_callback_pushes("reject");
    sdk_cluster_free(C1);
    return lmt_finish("test_backpressure");
}
