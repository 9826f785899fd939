/* Every `_async` function through the C ABI: the completion runs exactly once with the right rc, on
 * the library thread after the request ran (and its state is visible), or on the caller's thread
 * before the function returns when the request is refused at submission (bad argument, not
 * initialised, inactive). Query completions get a const result valid during the call. A NULL
 * completion is accepted. Requests still queued when deinit runs complete with SHUTTING_DOWN. */
#include "lm_test_api.h"

#define N1 UINT64_C(0x201)
#define N2 UINT64_C(0x202) /* never managed */
#define N3 UINT64_C(0x203)
#define N4 UINT64_C(0x204)
#define A1 UINT64_C(0x0002000200020001)
#define A2 UINT64_C(0x0002000200020002)
#define A3 UINT64_C(0x0002000200020003)
#define A9 UINT64_C(0x0002000200020009)
#define AQ UINT64_C(0x0003000000000000) /* queued at shutdown */

static dap_cluster_t *C1, *C2, *C3, *C4;

/* Every recorder handed out, so the end can prove "exactly once" after everything settled. */
#define POOL 4096
static lmt_done_t pool[POOL];
static atomic_int pool_used;

static lmt_done_t *rec(void)
{
    int i = atomic_fetch_add(&pool_used, 1);
    if (i >= POOL)
        abort();
    return &pool[i];
}

/* The call is accepted (returns OK) and completes on the library thread with `want`. */
#define ACCEPTED(want, fn, ...)                                                                                        \
    do {                                                                                                               \
        lmt_done_t *d_ = rec();                                                                                        \
        CHECK_RC(fn(__VA_ARGS__, lmt_done_cb, d_), DAP_LM_OK);                                                         \
        CHECK_DONE(d_, want, true);                                                                                    \
        CHECK(!pthread_equal(d_->thread, pthread_self()));                                                             \
    } while (0)

/* The call is refused with `want`: the completion already ran, once, on this thread. */
#define REFUSED(want, fn, ...)                                                                                         \
    do {                                                                                                               \
        lmt_done_t *d_ = rec();                                                                                        \
        CHECK_RC(fn(__VA_ARGS__, lmt_done_cb, d_), want);                                                              \
        CHECKF(atomic_load(&d_->calls) == 1, "%s refused: completion not called before returning", #fn);               \
        CHECK_DONE(d_, want, false);                                                                                   \
    } while (0)

/* ------------------------------------------------------------- query results */

typedef struct {
    atomic_int calls;
    int rc, on_lib;
    bool result_null;
    uint64_t net_id;
    size_t up, down;
    uint64_t addrs[16];
    dap_stream_node_addr_t snap_addr;
    bool has_client;
    size_t nets_count;
    uint64_t net0;
} query_rec_t;

static void net_links_cb(int rc, const struct dap_lm_net_links *r, void *arg)
{
    query_rec_t *q = arg;
    q->rc = rc;
    q->on_lib = lmt_on_lib_thread();
    q->result_null = r == NULL;
    if (r) {
        q->net_id = r->net_id;
        q->up = r->uplinks_count;
        q->down = r->downlinks_count;
        for (size_t i = 0; i < r->uplinks_count + r->downlinks_count && i < 16; i++)
            q->addrs[i] = r->addrs[i].uint64;
    }
    atomic_fetch_add(&q->calls, 1);
}

static void snapshot_cb(int rc, const struct dap_lm_link_snapshot *s, void *arg)
{
    query_rec_t *q = arg;
    q->rc = rc;
    q->on_lib = lmt_on_lib_thread();
    q->result_null = s == NULL;
    if (s) {
        q->snap_addr = s->addr;
        q->has_client = s->has_client;
        q->nets_count = s->nets_count;
        q->net0 = s->nets_count ? s->nets[0] : 0;
    }
    atomic_fetch_add(&q->calls, 1);
}

static bool query_done(query_rec_t *q)
{
    return LMT_WAIT_UNTIL(atomic_load(&q->calls) > 0, 5000) && (lmt_sleep_ms(5), atomic_load(&q->calls) == 1);
}

/* ------------------------------------------------------------- every async while not initialised */

static void all_async_not_initialized(const char *when)
{
    printf("-- every _async %s: NOT_INITIALIZED on the caller's thread\n", when);
    dap_stream_node_addr_t a = lmt_addr(A1);
    REFUSED(DAP_LM_ERR_NOT_INITIALIZED, dap_link_manager_add_net_async, N1, C1, 1);
    REFUSED(DAP_LM_ERR_NOT_INITIALIZED, dap_link_manager_add_net_associate_async, N1, C2);
    REFUSED(DAP_LM_ERR_NOT_INITIALIZED, dap_link_manager_remove_net_async, N1);
    REFUSED(DAP_LM_ERR_NOT_INITIALIZED, dap_link_manager_set_net_condition_async, N1, true);
    REFUSED(DAP_LM_ERR_NOT_INITIALIZED, dap_link_manager_set_condition_async, true);
    REFUSED(DAP_LM_ERR_NOT_INITIALIZED, dap_link_manager_link_create_async, &a, N1);
    REFUSED(DAP_LM_ERR_NOT_INITIALIZED, dap_link_manager_link_update_async, &a, "10.1.1.1", 8079);
    REFUSED(DAP_LM_ERR_NOT_INITIALIZED, dap_link_manager_stream_add_async, &a, false);
    REFUSED(DAP_LM_ERR_NOT_INITIALIZED, dap_link_manager_stream_replace_async, &a, true);
    REFUSED(DAP_LM_ERR_NOT_INITIALIZED, dap_link_manager_stream_delete_async, &a);
    REFUSED(DAP_LM_ERR_NOT_INITIALIZED, dap_link_manager_accounting_link_in_net_async, N1, &a, true);

    query_rec_t q1 = {0}, q2 = {0};
    CHECK_RC(dap_link_manager_get_net_links_addrs_async(N1, false, net_links_cb, &q1), DAP_LM_ERR_NOT_INITIALIZED);
    CHECK_INT(atomic_load(&q1.calls), 1);
    CHECK_RC(q1.rc, DAP_LM_ERR_NOT_INITIALIZED);
    CHECK(q1.result_null && !q1.on_lib);
    CHECK_RC(dap_link_manager_link_snapshot_async(&a, snapshot_cb, &q2), DAP_LM_ERR_NOT_INITIALIZED);
    CHECK_INT(atomic_load(&q2.calls), 1);
    CHECK_RC(q2.rc, DAP_LM_ERR_NOT_INITIALIZED);
    CHECK(q2.result_null && !q2.on_lib);

    /* NULL completion: refused quietly */
    CHECK_RC(dap_link_manager_add_net_async(N1, C1, 1, NULL, NULL), DAP_LM_ERR_NOT_INITIALIZED);
    CHECK_RC(dap_link_manager_get_net_links_addrs_async(N1, false, NULL, NULL), DAP_LM_ERR_NOT_INITIALIZED);
}

/* ------------------------------------------------------------- nets */

static struct {
    atomic_int calls;
    bool cond_seen;
} visible;

static void check_visible_cb(int rc, void *arg)
{
    (void)arg;
    /* the completion runs after the request's state was published: an original getter sees it */
    visible.cond_seen = rc == DAP_LM_OK && dap_link_manager_get_net_condition(N1);
    atomic_fetch_add(&visible.calls, 1);
}

static void test_nets(void)
{
    printf("-- nets\n");
    ACCEPTED(DAP_LM_OK, dap_link_manager_add_net_async, N1, C1, 2);
    ACCEPTED(DAP_LM_ERR_EXISTS, dap_link_manager_add_net_async, N1, C1, 2);
    REFUSED(DAP_LM_ERR_INVALID_ARGUMENT, dap_link_manager_add_net_async, 0, C1, 2);
    REFUSED(DAP_LM_ERR_INVALID_ARGUMENT, dap_link_manager_add_net_async, N2, NULL, 2);

    ACCEPTED(DAP_LM_OK, dap_link_manager_add_net_associate_async, N1, C2);
    ACCEPTED(DAP_LM_ERR_EXISTS, dap_link_manager_add_net_associate_async, N1, C2);
    ACCEPTED(DAP_LM_ERR_NOT_FOUND, dap_link_manager_add_net_associate_async, N2, C2);
    REFUSED(DAP_LM_ERR_INVALID_ARGUMENT, dap_link_manager_add_net_associate_async, 0, C2);
    REFUSED(DAP_LM_ERR_INVALID_ARGUMENT, dap_link_manager_add_net_associate_async, N1, NULL);

    CHECK_RC(dap_link_manager_set_net_condition_async(N1, true, check_visible_cb, NULL), DAP_LM_OK);
    CHECK(LMT_WAIT_UNTIL(atomic_load(&visible.calls) == 1, 5000));
    CHECK(visible.cond_seen);
    ACCEPTED(DAP_LM_OK, dap_link_manager_set_net_condition_async, N1, true); /* unchanged */
    ACCEPTED(DAP_LM_OK, dap_link_manager_set_net_condition_async, N2, true); /* unknown: nothing */
    CHECK(dap_link_manager_get_net_condition(N1));
    CHECK_INT(C2->status, DAP_CLUSTER_STATUS_ENABLED);

    ACCEPTED(DAP_LM_OK, dap_link_manager_add_net_async, N3, C3, 1);
    ACCEPTED(DAP_LM_OK, dap_link_manager_remove_net_async, N3);
    CHECK_INT(dap_link_manager_required_links_count(N3), 0);
    ACCEPTED(DAP_LM_OK, dap_link_manager_remove_net_async, N3); /* unknown: OK */

    ACCEPTED(DAP_LM_OK, dap_link_manager_set_condition_async, false);
    CHECK(!dap_link_manager_get_condition());
    ACCEPTED(DAP_LM_OK, dap_link_manager_set_condition_async, true);
    CHECK(dap_link_manager_get_condition());
}

/* ------------------------------------------------------------- links, streams, accounting */

static void test_links_streams(void)
{
    printf("-- links, streams, accounting\n");
    dap_stream_node_addr_t a1 = lmt_addr(A1), a2 = lmt_addr(A2), a3 = lmt_addr(A3), own = lmt_addr(LMT_OWN),
                           zero = lmt_addr(0);

    ACCEPTED(DAP_LM_OK, dap_link_manager_link_create_async, &a1, N1);
    CHECK(dap_link_manager_link_find(&a1, N1)); /* visible once completed */
    ACCEPTED(DAP_LM_ERR_EXISTS, dap_link_manager_link_create_async, &a1, N1);
    ACCEPTED(DAP_LM_ERR_OWN_ADDRESS, dap_link_manager_link_create_async, &own, N1);
    /* unknown net: NOT_FOUND, as the _sync variant answers */
    ACCEPTED(DAP_LM_ERR_NOT_FOUND, dap_link_manager_link_create_async, &a2, N2);
    ACCEPTED(DAP_LM_OK, dap_link_manager_link_create_async, &a2, DAP_NET_ID_INVALID);
    REFUSED(DAP_LM_ERR_INVALID_ARGUMENT, dap_link_manager_link_create_async, NULL, N1);
    REFUSED(DAP_LM_ERR_INVALID_ARGUMENT, dap_link_manager_link_create_async, &zero, N1);

    sdk_journal_clear();
    ACCEPTED(DAP_LM_OK, dap_link_manager_link_update_async, &a2, "10.0.0.2", 8079);
    CHECK_INT(sdk_journal_count("set_uplink"), 1); /* applied before the completion ran */
    REFUSED(DAP_LM_ERR_INVALID_ARGUMENT, dap_link_manager_link_update_async, NULL, "10.0.0.2", 8079);
    REFUSED(DAP_LM_ERR_INVALID_ARGUMENT, dap_link_manager_link_update_async, &zero, "10.0.0.2", 8079);
    REFUSED(DAP_LM_ERR_INVALID_ARGUMENT, dap_link_manager_link_update_async, &a2, NULL, 8079);
    REFUSED(DAP_LM_ERR_INVALID_ARGUMENT, dap_link_manager_link_update_async, &a2, "10.0.0.2", 0);
    REFUSED(DAP_LM_ERR_INVALID_ARGUMENT, dap_link_manager_link_update_async, &a2, "::", 8079);
    REFUSED(DAP_LM_ERR_BAD_HOST, dap_link_manager_link_update_async, &a2, "127.0.0.1", 8079);
    REFUSED(DAP_LM_ERR_BAD_HOST, dap_link_manager_link_update_async, &a2, "::1", 8079);

    ACCEPTED(DAP_LM_OK, dap_link_manager_stream_add_async, &a3, false);
    struct dap_lm_link_snapshot *ls = NULL;
    CHECK_RC(dap_link_manager_link_snapshot(&a3, &ls), DAP_LM_OK); /* published before the completion */
    dap_lm_link_snapshot_free(ls);
    REFUSED(DAP_LM_ERR_INVALID_ARGUMENT, dap_link_manager_stream_add_async, NULL, false);
    REFUSED(DAP_LM_ERR_INVALID_ARGUMENT, dap_link_manager_stream_add_async, &zero, false);
    ACCEPTED(DAP_LM_OK, dap_link_manager_accounting_link_in_net_async, N1, &a3, true);
    CHECK(sdk_cluster_has(C1, A3));
    CHECK_INT(dap_link_manager_links_count(N1), 1);
    ACCEPTED(DAP_LM_OK, dap_link_manager_accounting_link_in_net_async, N2, &a3, true); /* unknown net: nothing */
    REFUSED(DAP_LM_ERR_INVALID_ARGUMENT, dap_link_manager_accounting_link_in_net_async, N1, NULL, true);
    ACCEPTED(DAP_LM_OK, dap_link_manager_stream_replace_async, &a3, true);
    REFUSED(DAP_LM_ERR_INVALID_ARGUMENT, dap_link_manager_stream_replace_async, NULL, true);

    /* queries: after everything queued before, result valid during the call */
    dap_link_manager_accounting_link_in_net(N1, &a1, true); /* original, queued */
    query_rec_t q = {0};
    CHECK_RC(dap_link_manager_get_net_links_addrs_async(N1, false, net_links_cb, &q), DAP_LM_OK);
    CHECK(query_done(&q));
    CHECK_RC(q.rc, DAP_LM_OK);
    CHECK(q.on_lib && !q.result_null);
    CHECK(q.net_id == N1);
    CHECK_INT(q.up + q.down, 2);
    CHECK_INT(q.up, 1); /* A3 became an uplink by stream_replace */
    CHECK(q.addrs[0] == A3 && q.addrs[1] == A1);
    memset(&q, 0, sizeof(q));
    CHECK_RC(dap_link_manager_get_net_links_addrs_async(N2, false, net_links_cb, &q), DAP_LM_OK);
    CHECK(query_done(&q));
    CHECK_RC(q.rc, DAP_LM_ERR_NOT_FOUND);
    CHECK(q.on_lib && q.result_null);

    memset(&q, 0, sizeof(q));
    CHECK_RC(dap_link_manager_link_snapshot_async(&a1, snapshot_cb, &q), DAP_LM_OK);
    CHECK(query_done(&q));
    CHECK_RC(q.rc, DAP_LM_OK);
    CHECK(q.on_lib && !q.result_null);
    CHECK(q.snap_addr.uint64 == A1 && q.has_client && q.nets_count == 1 && q.net0 == N1);
    memset(&q, 0, sizeof(q));
    dap_stream_node_addr_t a9 = lmt_addr(A9);
    CHECK_RC(dap_link_manager_link_snapshot_async(&a9, snapshot_cb, &q), DAP_LM_OK);
    CHECK(query_done(&q));
    CHECK_RC(q.rc, DAP_LM_ERR_NOT_FOUND);
    CHECK(q.on_lib && q.result_null);
    memset(&q, 0, sizeof(q));
    CHECK_RC(dap_link_manager_link_snapshot_async(NULL, snapshot_cb, &q), DAP_LM_ERR_INVALID_ARGUMENT);
    CHECK_INT(atomic_load(&q.calls), 1);
    CHECK_RC(q.rc, DAP_LM_ERR_INVALID_ARGUMENT);
    CHECK(!q.on_lib && q.result_null);

    ACCEPTED(DAP_LM_OK, dap_link_manager_stream_delete_async, &a3);
    CHECK(!sdk_cluster_has(C1, A3));
    REFUSED(DAP_LM_ERR_INVALID_ARGUMENT, dap_link_manager_stream_delete_async, NULL);

    /* INACTIVE: stream_add refused on this thread */
    CHECK_RC(dap_link_manager_set_condition_sync(false, 0), DAP_LM_OK);
    REFUSED(DAP_LM_ERR_INACTIVE, dap_link_manager_stream_add_async, &a3, false);
    CHECK_RC(dap_link_manager_set_condition_sync(true, 0), DAP_LM_OK);
}

/* ------------------------------------------------------------- NULL completions */

static void test_null_cb(void)
{
    printf("-- NULL completion accepted by every _async\n");
    dap_stream_node_addr_t a = lmt_addr(A9);
    CHECK_RC(dap_link_manager_add_net_async(N4, C4, 1, NULL, NULL), DAP_LM_OK);
    CHECK_RC(dap_link_manager_add_net_associate_async(N4, C2, NULL, NULL), DAP_LM_OK);
    CHECK_RC(dap_link_manager_set_net_condition_async(N4, true, NULL, NULL), DAP_LM_OK);
    CHECK_RC(dap_link_manager_set_condition_async(true, NULL, NULL), DAP_LM_OK);
    CHECK_RC(dap_link_manager_link_create_async(&a, N4, NULL, NULL), DAP_LM_OK);
    CHECK_RC(dap_link_manager_link_update_async(&a, "10.0.0.99", 8079, NULL, NULL), DAP_LM_OK);
    CHECK_RC(dap_link_manager_stream_add_async(&a, false, NULL, NULL), DAP_LM_OK);
    CHECK_RC(dap_link_manager_accounting_link_in_net_async(N4, &a, true, NULL, NULL), DAP_LM_OK);
    CHECK_RC(dap_link_manager_stream_replace_async(&a, false, NULL, NULL), DAP_LM_OK);
    CHECK_RC(dap_link_manager_get_net_links_addrs_async(N4, false, NULL, NULL), DAP_LM_OK);
    CHECK_RC(dap_link_manager_link_snapshot_async(&a, NULL, NULL), DAP_LM_OK);
    CHECK_RC(dap_link_manager_stream_delete_async(&a, NULL, NULL), DAP_LM_OK);
    CHECK_RC(dap_link_manager_remove_net_async(N4, NULL, NULL), DAP_LM_OK);
    /* refusals with NULL completion */
    CHECK_RC(dap_link_manager_link_create_async(NULL, N4, NULL, NULL), DAP_LM_ERR_INVALID_ARGUMENT);
    CHECK_RC(dap_link_manager_link_update_async(&a, "127.0.0.1", 1, NULL, NULL), DAP_LM_ERR_BAD_HOST);
    CHECK_RC(dap_link_manager_link_snapshot_async(NULL, NULL, NULL), DAP_LM_ERR_INVALID_ARGUMENT);
    CHECK_RC(dap_link_manager_sync(0), DAP_LM_OK);
    CHECK_INT(dap_link_manager_required_links_count(N4), 0); /* the whole sequence ran */
    CHECK_INT(C4->status, DAP_CLUSTER_STATUS_DISABLED);
}

/* ------------------------------------------------------------- SHUTTING_DOWN at deinit */

static atomic_int slow_in;

static int slow_link_request(uint64_t net)
{
    (void)net;
    atomic_store(&slow_in, 1);
    lmt_sleep_ms(500);
    return 0;
}

static void *tick_thread(void *arg)
{
    *(int *)arg = dap_link_manager_test_tick(1, 10000);
    return NULL;
}

static void *sync_waiter(void *arg)
{
    size_t n = 0;
    *(int *)arg = dap_link_manager_links_count_sync(N1, &n, 10000);
    return NULL;
}

#define QUEUED 40

static void test_shutting_down(void)
{
    printf("-- requests queued when deinit runs complete with SHUTTING_DOWN, once, no waiter left hanging\n");
    lmt_watchdog_arm(30, "shutting down");
    lmt_node.on_link_request = slow_link_request; /* N1: active, below min_links */
    int tick_rc = -100, waiter_rc = -100;
    pthread_t t, w;
    pthread_create(&t, NULL, tick_thread, &tick_rc);
    CHECK(LMT_WAIT_UNTIL(atomic_load(&slow_in) == 1, 3000));
    pthread_create(&w, NULL, sync_waiter, &waiter_rc);
    /* the waiter's request is in the mailbox (not merely about to be) */
    CHECK(LMT_WAIT_UNTIL(lmt_stats().queue_depth[2] == 1, 3000));

    lmt_done_t *d[QUEUED * 6];
    query_rec_t qs[QUEUED];
    memset(qs, 0, sizeof(qs));
    int k = 0;
    for (int i = 0; i < QUEUED; i++) {
        dap_stream_node_addr_t a = lmt_addr(AQ + (uint64_t)i + 1);
        d[k] = rec();
        CHECK_RC(dap_link_manager_link_create_async(&a, N1, lmt_done_cb, d[k++]), DAP_LM_OK);
        d[k] = rec();
        CHECK_RC(dap_link_manager_stream_add_async(&a, false, lmt_done_cb, d[k++]), DAP_LM_OK);
        d[k] = rec();
        CHECK_RC(dap_link_manager_accounting_link_in_net_async(N1, &a, true, lmt_done_cb, d[k++]), DAP_LM_OK);
        d[k] = rec();
        CHECK_RC(dap_link_manager_set_net_condition_async(N1, true, lmt_done_cb, d[k++]), DAP_LM_OK);
        d[k] = rec();
        CHECK_RC(dap_link_manager_link_update_async(&a, "10.2.0.1", 8079, lmt_done_cb, d[k++]), DAP_LM_OK);
        d[k] = rec();
        CHECK_RC(dap_link_manager_stream_delete_async(&a, lmt_done_cb, d[k++]), DAP_LM_OK);
        CHECK_RC(dap_link_manager_get_net_links_addrs_async(N1, false, net_links_cb, &qs[i]), DAP_LM_OK);
    }
    CHECK(atomic_load(&slow_in) == 1); /* all queued while the library thread was blocked */
    struct dap_lm_stats st = lmt_stats();
    CHECK_INT(st.queue_depth[1] + st.queue_depth[2], k + QUEUED + 1);
    uint64_t t0 = lmt_now_ms();
    dap_link_manager_deinit();
    uint64_t el = lmt_now_ms() - t0;
    CHECKF(el < 3000, "deinit took %llu ms", (unsigned long long)el);
    pthread_join(t, NULL);
    pthread_join(w, NULL);
    lmt_node.on_link_request = NULL;
    CHECK_RC(tick_rc, DAP_LM_OK);
    CHECK_RC(waiter_rc, DAP_LM_ERR_SHUTTING_DOWN);
    int wrong = 0;
    for (int i = 0; i < k; i++) {
        if (atomic_load(&d[i]->calls) != 1 || atomic_load(&d[i]->rc) != DAP_LM_ERR_SHUTTING_DOWN ||
            !atomic_load(&d[i]->on_lib_thread))
            wrong++;
    }
    CHECKF(wrong == 0, "%d of %d queued async requests not completed once with SHUTTING_DOWN on the library thread",
           wrong, k);
    for (int i = 0; i < QUEUED; i++) {
        CHECK_INT(atomic_load(&qs[i].calls), 1);
        CHECK_RC(qs[i].rc, DAP_LM_ERR_SHUTTING_DOWN);
        CHECK(qs[i].result_null);
    }
}

int main(void)
{
    lmt_watchdog_arm(20, "before init");
    C1 = lmt_net_cluster("c1");
    C2 = lmt_net_cluster("c2");
    C3 = lmt_net_cluster("c3");
    C4 = lmt_net_cluster("c4");
    all_async_not_initialized("before init");

    CHECK_INT(lmt_start(NULL), 0);
    lmt_watchdog_arm(30, "nets");
    test_nets();
    lmt_watchdog_arm(30, "links");
    test_links_streams();
    lmt_watchdog_arm(30, "null cb");
    test_null_cb();
    test_shutting_down();
    all_async_not_initialized("after deinit");

    /* exactly once, after everything settled */
    lmt_sleep_ms(50);
    int bad = 0;
    for (int i = 0; i < atomic_load(&pool_used); i++)
        bad += atomic_load(&pool[i].calls) != 1;
    CHECKF(bad == 0, "%d of %d completions did not run exactly once", bad, atomic_load(&pool_used));
    CHECK_INT(atomic_load(&lmt_node.on_wrong_thread), 0);
    sdk_quiesce();
    CHECK_INT(sdk_clients_live(), 0);
    sdk_cluster_free(C1);
    sdk_cluster_free(C2);
    sdk_cluster_free(C3);
    sdk_cluster_free(C4);
    return lmt_finish("test_async_api");
}
