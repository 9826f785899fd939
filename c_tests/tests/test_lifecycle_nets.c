/* Issue "foundation": every return code of CONTRACT.md §2 (lifecycle) and §3 (nets), including the
 * FIX-DEINIT, FIX-ADDNET-LOCK and FIX-ASSOC-STATUS differences from the C version. */
#include "lm_test.h"

#define NET1 UINT64_C(0x1001)
#define NET2 UINT64_C(0x1002)
#define NET_UNKNOWN UINT64_C(0x9999)

#if LM_NEW_API
static atomic_int s_async_rc = -100;
static atomic_int s_async_calls;
static pthread_t s_async_thread;

static void async_done(int rc, void *arg)
{
    *(int *)arg += 1;
    atomic_store(&s_async_rc, rc);
    atomic_fetch_add(&s_async_calls, 1);
    s_async_thread = pthread_self();
}
#endif

/* Before init: every original function gives its documented "not initialised" result, no crash, no
 * SDK call; the new API says DAP_LM_ERR_NOT_INITIALIZED; _async refusals complete at once. */
static void test_calls_before_init(void)
{
    lm_begin();
    dap_cluster_t *c = lm_links_cluster("pre");
    lm_check_not_initialised(c);

#if LM_NEW_API
    int calls = 0;
    atomic_store(&s_async_calls, 0);
    CHECK_INT(dap_link_manager_add_net_async(NET1, c, 1, async_done, &calls), DAP_LM_ERR_NOT_INITIALIZED);
    CHECK_INT(calls, 1); /* completion called once, before the function returned */
    CHECK_INT(atomic_load(&s_async_rc), DAP_LM_ERR_NOT_INITIALIZED);
    CHECK(pthread_equal(s_async_thread, pthread_self()));
#endif

    /* the cluster callbacks the node's cluster code calls before init are harmless */
    CHECK(sdk_cluster_add_member(c, 0x77));
    CHECK(sdk_cluster_remove_member(c, 0x77));
    CHECK_INT(sdk_journal_len(), 0);
    CHECK_INT(sdk_clients_live(), 0);
    CHECK_INT(c->status, DAP_CLUSTER_STATUS_DISABLED);
    sdk_cluster_free(c);
    CHECK_INT(sdk_misuse_count(), 0);
}

/* init(NULL), init without fill_net_info, init twice; get_default, new; the active flag. */
static void test_init_arguments_and_manager_object(void)
{
    lm_begin();
    dap_link_manager_callbacks_t cb = lm_callbacks();
    dap_link_manager_callbacks_t no_fill = cb;
    no_fill.fill_net_info = NULL;

    CHECK_INT(dap_link_manager_init(NULL), -2);
    CHECK_INT(dap_link_manager_init(&no_fill), -2);
    CHECK(dap_link_manager_get_default() == NULL);
    CHECK(!dap_link_manager_get_condition());

    /* new(): a separate object with the callbacks copied; NULL without fill_net_info */
    CHECK(dap_link_manager_new(NULL) == NULL);
    CHECK(dap_link_manager_new(&no_fill) == NULL);
    dap_link_manager_t *m = dap_link_manager_new(&cb);
    CHECK(m != NULL);
    if (m) {
        CHECK(m->callbacks.fill_net_info == lm_cb_fill_net_info);
        CHECK(m->callbacks.connected == lm_cb_connected);
        CHECK(m->callbacks.link_count_changed == lm_cb_link_count_changed);
        free(m);
    }
    CHECK(dap_link_manager_get_default() == NULL); /* new() is not the running manager */

    REQUIRE(dap_link_manager_init(&cb) == 0);
    dap_link_manager_t *def = dap_link_manager_get_default();
    CHECK(def != NULL);
    if (def) {
        CHECK(def->active);
        CHECK(def->callbacks.fill_net_info == lm_cb_fill_net_info);
        CHECK(def->callbacks.link_request == lm_cb_link_request);
        CHECK(def->callbacks.disconnected == lm_cb_disconnected);
        CHECK_INT(def->max_attempts_num, 1);  /* §1 default */
        CHECK_INT(def->reconnect_delay, 20);  /* §1 default, seconds */
    }
    CHECK(dap_link_manager_get_condition());
    CHECK_INT(dap_link_manager_init(&cb), -2); /* twice */
    CHECK_INT(dap_link_manager_init(NULL), -2);
    CHECK(dap_link_manager_get_default() == def); /* the running manager is untouched */

    /* the manager still works after the refused init */
    dap_cluster_t *c = lm_links_cluster("net1");
    CHECK_INT(dap_link_manager_add_net(NET1, c, 2), 0);
    CHECK_INT(dap_link_manager_required_links_count(NET1), 2);

    /* set/get_condition */
    dap_link_manager_set_condition(false);
    CHECK(!dap_link_manager_get_condition());
    if (def)
        CHECK(!def->active);
    dap_link_manager_set_condition(true);
    CHECK(dap_link_manager_get_condition());
    if (def)
        CHECK(def->active);
#if LM_NEW_API
    bool on = false;
    CHECK_INT(dap_link_manager_get_condition_sync(&on, 0), DAP_LM_OK);
    CHECK(on);
#endif

    lm_end();
    sdk_cluster_free(c);
}

/* Config read at init: max_attempts_num and reconnect_delay land in the manager object. */
static void test_init_reads_config(void)
{
    lm_begin();
    sdk_config_set("link_manager", "max_attempts_num", "4");
    sdk_config_set("link_manager", "reconnect_delay", "7");
    REQUIRE(lm_init() == 0);
    dap_link_manager_t *def = dap_link_manager_get_default();
    REQUIRE(def != NULL);
    CHECK_INT(def->max_attempts_num, 4);
    CHECK_INT(def->reconnect_delay, 7);
    lm_end();
}

/* add_net: 0; -2 for id 0 / NULL cluster; -3 duplicate, and the API still answers afterwards
 * (FIX-ADDNET-LOCK). The net starts inactive; unknown ids give 0 / false everywhere. */
static void test_add_net_codes(void)
{
    lm_begin();
    REQUIRE(lm_init() == 0);
    dap_cluster_t *c1 = lm_links_cluster("net1"), *c2 = lm_links_cluster("net2");

    CHECK_INT(dap_link_manager_add_net(0, c1, 1), -2);
    CHECK_INT(dap_link_manager_add_net(NET1, NULL, 1), -2);
    CHECK_INT(dap_link_manager_add_net(NET1, c1, 3), 0);
    CHECK_INT(dap_link_manager_add_net(NET1, c2, 5), -3);
    CHECK_INT(dap_link_manager_add_net(NET1, c1, 3), -3);
    CHECK_INT(dap_link_manager_required_links_count(NET1), 3); /* the duplicate changed nothing */
    CHECK(!dap_link_manager_get_net_condition(NET1));          /* starts inactive */
    CHECK_INT(c1->status, DAP_CLUSTER_STATUS_DISABLED);
    CHECK_INT(dap_link_manager_links_count(NET1), 0);
    CHECK_INT(dap_link_manager_needed_links_count(NET1), 3);
    CHECK_INT(dap_link_manager_established_uplinks_count(NET1), 0);

    /* after -3 every call still answers (C kept its nets lock here: every later call hung) */
    CHECK_INT(dap_link_manager_add_net(NET2, c2, 1), 0);
    CHECK_INT(dap_link_manager_required_links_count(NET2), 1);
    dap_link_manager_set_net_condition(NET2, true);
    CHECK(dap_link_manager_get_net_condition(NET2));
#if LM_NEW_API
    CHECK_INT(dap_link_manager_add_net_sync(NET2, c2, 1, 0), DAP_LM_ERR_EXISTS);
    CHECK_INT(dap_link_manager_add_net_sync(0, c2, 1, 0), DAP_LM_ERR_INVALID_ARGUMENT);

    struct dap_lm_nets_snapshot *ns = NULL;
    CHECK_INT(dap_link_manager_nets_snapshot(&ns), DAP_LM_OK);
    if (ns) {
        CHECK_INT(ns->count, 2);
        for (size_t i = 0; i < ns->count; i++) {
            const struct dap_lm_net_info *n = &ns->nets[i];
            CHECK(n->net_id == NET1 || n->net_id == NET2);
            CHECK(n->clusters_count == 1);
            CHECK(n->clusters[0] == (n->net_id == NET1 ? c1 : c2));
            CHECK_INT(n->min_links, n->net_id == NET1 ? 3 : 1);
        }
        dap_lm_nets_snapshot_free(ns);
    }
#endif

    /* unknown ids */
    CHECK(!dap_link_manager_get_net_condition(NET_UNKNOWN));
    CHECK_INT(dap_link_manager_links_count(NET_UNKNOWN), 0);
    CHECK_INT(dap_link_manager_required_links_count(NET_UNKNOWN), 0);
    CHECK_INT(dap_link_manager_needed_links_count(NET_UNKNOWN), 0);
    CHECK_INT(dap_link_manager_established_uplinks_count(NET_UNKNOWN), 0);
    CHECK(!dap_link_manager_get_net_condition(0));
    CHECK_INT(dap_link_manager_links_count(DAP_NET_ID_INVALID), 0);
#if LM_NEW_API
    size_t n = 5;
    CHECK_INT(dap_link_manager_links_count_sync(NET_UNKNOWN, &n, 0), DAP_LM_ERR_NOT_FOUND);
    CHECK_INT(n, 5);
#endif

    lm_end();
    sdk_cluster_free(c1);
    sdk_cluster_free(c2);
}

/* add_net_associate: -2 id 0 / NULL; -3 unknown net; -4 duplicate (also the primary); the new
 * cluster takes the net's current status at once (FIX-ASSOC-STATUS). */
static void test_add_net_associate(void)
{
    lm_begin();
    REQUIRE(lm_init() == 0);
    dap_cluster_t *p = lm_links_cluster("net1"), *s1 = sdk_cluster_new("net1.s1", NULL, NULL, NULL),
                  *s2 = sdk_cluster_new("net1.s2", NULL, NULL, NULL), *s3 = sdk_cluster_new("net1.s3", NULL, NULL, NULL);
    CHECK_INT(dap_link_manager_add_net(NET1, p, 1), 0);

    CHECK_INT(dap_link_manager_add_net_associate(0, s1), -2);
    CHECK_INT(dap_link_manager_add_net_associate(NET1, NULL), -2);
    CHECK_INT(dap_link_manager_add_net_associate(NET_UNKNOWN, s1), -3);
    CHECK_INT(dap_link_manager_add_net_associate(NET1, s1), 0);
    CHECK_INT(dap_link_manager_add_net_associate(NET1, s1), -4);
    CHECK_INT(dap_link_manager_add_net_associate(NET1, p), -4);
#if LM_NEW_API
    CHECK_INT(dap_link_manager_add_net_associate_sync(NET_UNKNOWN, s1, 0), DAP_LM_ERR_NOT_FOUND);
    CHECK_INT(dap_link_manager_add_net_associate_sync(NET1, s1, 0), DAP_LM_ERR_EXISTS);
#endif

    /* inactive net: the secondary is DISABLED, even if it was ENABLED before */
    s2->status = DAP_CLUSTER_STATUS_ENABLED;
    CHECK_INT(dap_link_manager_add_net_associate(NET1, s2), 0);
    CHECK_INT(s1->status, DAP_CLUSTER_STATUS_DISABLED);
    CHECK_INT(s2->status, DAP_CLUSTER_STATUS_DISABLED);

    /* on: every cluster ENABLED */
    dap_link_manager_set_net_condition(NET1, true);
    CHECK_INT(p->status, DAP_CLUSTER_STATUS_ENABLED);
    CHECK_INT(s1->status, DAP_CLUSTER_STATUS_ENABLED);
    CHECK_INT(s2->status, DAP_CLUSTER_STATUS_ENABLED);

    /* FIX-ASSOC-STATUS: attached to an active net, ENABLED when add_net_associate returns */
    CHECK_INT(s3->status, DAP_CLUSTER_STATUS_DISABLED);
    CHECK_INT(dap_link_manager_add_net_associate(NET1, s3), 0);
    CHECK_INT(s3->status, DAP_CLUSTER_STATUS_ENABLED);

    /* and it follows the net from then on */
    dap_link_manager_set_net_condition(NET1, false);
    CHECK_INT(s3->status, DAP_CLUSTER_STATUS_DISABLED);
    CHECK_INT(p->status, DAP_CLUSTER_STATUS_DISABLED);

#if LM_NEW_API
    struct dap_lm_nets_snapshot *ns = NULL;
    CHECK_INT(dap_link_manager_nets_snapshot(&ns), DAP_LM_OK);
    if (ns && ns->count == 1) {
        CHECK_INT(ns->nets[0].clusters_count, 4);
        CHECK(ns->nets[0].clusters[0] == p); /* primary first, then in order */
        CHECK(ns->nets[0].clusters[1] == s1);
        CHECK(ns->nets[0].clusters[3] == s3);
    } else {
        CHECK_MSG(0, "nets snapshot: want 1 net");
    }
    dap_lm_nets_snapshot_free(ns);
#endif

    lm_end();
    sdk_cluster_free(p);
    sdk_cluster_free(s1);
    sdk_cluster_free(s2);
    sdk_cluster_free(s3);
}

/* set/get_net_condition: on enables every cluster; off disables them and empties them; unchanged is a
 * no-op; links_count follows the primary cluster's members. */
static void test_net_condition(void)
{
    lm_begin();
    REQUIRE(lm_init() == 0);
    dap_cluster_t *p = lm_links_cluster("net1"), *s = sdk_cluster_new("net1.s", NULL, NULL, NULL);
    CHECK_INT(dap_link_manager_add_net(NET1, p, 2), 0);
    CHECK_INT(dap_link_manager_add_net_associate(NET1, s), 0);

    dap_link_manager_set_net_condition(NET1, false); /* unchanged: no-op */
    CHECK_INT(sdk_journal_count("cluster_delete_all"), 0);

    dap_link_manager_set_net_condition(NET1, true);
    CHECK(dap_link_manager_get_net_condition(NET1));
    CHECK_INT(p->status, DAP_CLUSTER_STATUS_ENABLED);
    CHECK_INT(s->status, DAP_CLUSTER_STATUS_ENABLED);
    CHECK_INT(sdk_journal_count("cluster_delete_all"), 0);
#if LM_NEW_API
    bool on = false;
    CHECK_INT(dap_link_manager_get_net_condition_sync(NET1, &on, 0), DAP_LM_OK);
    CHECK(on);
#endif

    /* members arrive through the node's cluster code */
    CHECK(sdk_cluster_add_member(p, 0x21));
    CHECK(sdk_cluster_add_member(p, 0x22));
    CHECK(sdk_cluster_add_member(s, 0x23));
    lm_settle();
    CHECK_INT(dap_link_manager_links_count(NET1), 2);

    size_t before = sdk_journal_len();
    dap_link_manager_set_net_condition(NET1, true); /* unchanged: no-op */
    CHECK_INT(sdk_journal_len(), before);
    CHECK_INT(sdk_cluster_size(p), 2);

    dap_link_manager_set_net_condition(NET1, false);
    CHECK(!dap_link_manager_get_net_condition(NET1));
    CHECK_INT(p->status, DAP_CLUSTER_STATUS_DISABLED);
    CHECK_INT(s->status, DAP_CLUSTER_STATUS_DISABLED);
    CHECK_INT(sdk_cluster_size(p), 0);
    CHECK_INT(sdk_cluster_size(s), 0);
    CHECK_INT(lm_journal_count_exact("cluster_delete_all net1"), 1);
    CHECK_INT(lm_journal_count_exact("cluster_delete_all net1.s"), 1);
    lm_settle();
    CHECK_INT(dap_link_manager_links_count(NET1), 0);
    CHECK_INT(dap_link_manager_required_links_count(NET1), 2); /* still managed */

    before = sdk_journal_len();
    dap_link_manager_set_net_condition(NET1, false); /* unchanged again */
    CHECK_INT(sdk_journal_len(), before);

    /* unknown net: nothing, no crash */
    dap_link_manager_set_net_condition(NET_UNKNOWN, true);
    CHECK(!dap_link_manager_get_net_condition(NET_UNKNOWN));
#if LM_NEW_API
    CHECK_INT(dap_link_manager_set_net_condition_sync(NET_UNKNOWN, true, 0), DAP_LM_OK);
#endif

    lm_end();
    sdk_cluster_free(p);
    sdk_cluster_free(s);
}

/* remove_net: disables (clusters emptied), forgets the net and its links' association; the id can be
 * added again; unknown ids are ignored. */
static void test_remove_net(void)
{
    lm_begin();
    REQUIRE(lm_init() == 0);
    dap_cluster_t *p = lm_links_cluster("net1");
    CHECK_INT(dap_link_manager_add_net(NET1, p, 2), 0);
    dap_link_manager_set_net_condition(NET1, true);
    CHECK(sdk_cluster_add_member(p, 0x31));
    CHECK_INT(lm_create(0x32, NET1), 0);
    CHECK(lm_find(0x32, NET1));

    dap_link_manager_remove_net(NET1);
    CHECK(!dap_link_manager_get_net_condition(NET1));
    CHECK_INT(dap_link_manager_required_links_count(NET1), 0);
    CHECK_INT(dap_link_manager_links_count(NET1), 0);
    CHECK_INT(p->status, DAP_CLUSTER_STATUS_DISABLED);
    CHECK_INT(sdk_cluster_size(p), 0);
    CHECK(!lm_find(0x32, NET1));
    CHECK_INT(dap_link_manager_add_net_associate(NET1, p), -3); /* forgotten */
    lm_settle();
    CHECK(!lm_link_exists(0x32)); /* its only net is gone: the link with it */
    CHECK_INT(sdk_clients_live(), 0);

    dap_link_manager_remove_net(NET_UNKNOWN); /* nothing */
#if LM_NEW_API
    CHECK_INT(dap_link_manager_remove_net_sync(NET_UNKNOWN, 0), DAP_LM_OK);
#endif

    CHECK_INT(dap_link_manager_add_net(NET1, p, 4), 0); /* again */
    CHECK_INT(dap_link_manager_required_links_count(NET1), 4);
    CHECK(!dap_link_manager_get_net_condition(NET1));

    lm_end();
    sdk_cluster_free(p);
}

/* deinit: every call afterwards answers "not initialised" (FIX-DEINIT), links and nets are gone from
 * the SDK's point of view, deinit twice is harmless, and init works again with a clean state. */
static void test_deinit_and_reinit(void)
{
    lm_begin();
    REQUIRE(lm_init() == 0);
    dap_cluster_t *p = lm_links_cluster("net1");
    CHECK_INT(dap_link_manager_add_net(NET1, p, 2), 0);
    dap_link_manager_set_net_condition(NET1, true);
    CHECK_INT(lm_create(0x41, NET1), 0);
    CHECK_INT(lm_stream_add(0x42, false), 0);
    lm_accounting(NET1, 0x42, true);
    lm_settle();
    CHECK_INT(sdk_cluster_size(p), 1);
    CHECK_INT(sdk_clients_live(), 1);
    sdk_stream_open(0x42, 0x4242);
    dap_link_manager_t *def = dap_link_manager_get_default();

    dap_link_manager_deinit();
    sdk_quiesce();
    CHECK_INT(sdk_clients_live(), 0); /* clients deleted */
    CHECK_INT(sdk_streams_count(0x42), 0); /* downlink streams closed */
    CHECK_INT(lm_journal_count_exact("stream_close %s %" PRIu64, lm_a(0x42), UINT64_C(0x4242)), 1);
    CHECK_INT(sdk_cluster_size(p), 0); /* nets disabled and emptied */
    CHECK_INT(p->status, DAP_CLUSTER_STATUS_DISABLED);
    if (def)
        CHECK(!def->active); /* a pointer kept across deinit stays readable */
    lm_check_not_initialised(p);
    dap_link_manager_deinit(); /* twice: harmless */
    CHECK_INT(sdk_misuse_count(), 0);

    /* init again: a clean manager */
    lm_rec_reset();
    REQUIRE(lm_init() == 0);
    CHECK(dap_link_manager_get_default() != NULL);
    CHECK(dap_link_manager_get_condition());
    CHECK(!dap_link_manager_get_net_condition(NET1));
    CHECK_INT(dap_link_manager_required_links_count(NET1), 0);
    CHECK(!lm_link_exists(0x41));
    CHECK(!lm_link_exists(0x42));
    CHECK_INT(dap_link_manager_add_net(NET1, p, 1), 0); /* nets were removed */
    dap_link_manager_set_net_condition(NET1, true);
    CHECK_INT(lm_create(0x41, NET1), 0);
    CHECK(lm_find(0x41, NET1));
    size_t count = 0;
    dap_stream_node_addr_t *hot = dap_link_manager_get_ignored_addrs(&count, NET1);
    CHECK_INT(count, 1); /* the hot list was cleared at init: only the new stamp */
    free(hot);
    lm_end();
    sdk_cluster_free(p);
}

/* A queued sync caller is answered "shutting down" or OK, never left hanging, when deinit runs. */
static void *sync_caller(void *arg)
{
    int *rc = arg;
    for (int i = 0; i < 2000; i++) {
        int r = dap_link_manager_sync(2000);
        if (r != DAP_LM_OK) {
            *rc = r;
            return NULL;
        }
    }
    *rc = DAP_LM_OK;
    return NULL;
}

static void test_deinit_answers_waiting_callers(void)
{
    lm_begin();
    REQUIRE(lm_init() == 0);
    int rc = -1;
    pthread_t t;
    pthread_create(&t, NULL, sync_caller, &rc);
    lm_sleep_ms(20);
    dap_link_manager_deinit();
    pthread_join(t, NULL); /* the watchdog catches a hang */
    CHECK_MSG(rc == DAP_LM_ERR_SHUTTING_DOWN || rc == DAP_LM_ERR_NOT_INITIALIZED || rc == DAP_LM_OK,
              "sync caller during deinit got %d (%s)", rc, lm_strerror(rc));
    sdk_quiesce();
    CHECK_INT(sdk_clients_live(), 0);
}

static atomic_int s_replacement_calls;
static int replacement_link_request(uint64_t net)
{
    (void)net;
    atomic_fetch_add(&s_replacement_calls, 1);
    return 0;
}

/* Some node builds write dap_link_manager_get_default()->callbacks directly (ABI.md §2): the library
 * calls what is there at the time. */
static void test_callbacks_written_through_get_default(void)
{
    lm_begin();
    REQUIRE(lm_init() == 0);
    dap_cluster_t *c = lm_links_cluster("net1");
    CHECK_INT(dap_link_manager_add_net(NET1, c, 2), 0);
    dap_link_manager_set_net_condition(NET1, true);
    CHECK_INT(dap_link_manager_test_tick(1, 0), DAP_LM_OK);
    CHECK_INT(lm_count(EV_REQUEST, 0, NET1), 1);
    atomic_store(&s_replacement_calls, 0);
    dap_link_manager_get_default()->callbacks.link_request = replacement_link_request;
    CHECK_INT(dap_link_manager_test_tick(1, 0), DAP_LM_OK);
    CHECK_INT(atomic_load(&s_replacement_calls), 1);
    CHECK_INT(lm_count(EV_REQUEST, 0, NET1), 1);
    lm_end();
    sdk_cluster_free(c);
}

/* ---- a library thread busy in a callback ---- */

static pthread_mutex_t s_block_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t s_block_cond = PTHREAD_COND_INITIALIZER;
static bool s_blocked, s_release;

static void block_in_fill(dap_link_t *link)
{
    (void)link;
    pthread_mutex_lock(&s_block_lock);
    s_blocked = true;
    pthread_cond_broadcast(&s_block_cond);
    while (!s_release)
        pthread_cond_wait(&s_block_cond, &s_block_lock);
    pthread_mutex_unlock(&s_block_lock);
}

static void wait_blocked(void)
{
    pthread_mutex_lock(&s_block_lock);
    while (!s_blocked)
        pthread_cond_wait(&s_block_cond, &s_block_lock);
    pthread_mutex_unlock(&s_block_lock);
}

static void release_block(void)
{
    pthread_mutex_lock(&s_block_lock);
    s_release = true;
    pthread_cond_broadcast(&s_block_cond);
    pthread_mutex_unlock(&s_block_lock);
}

static void *tick_thread(void *arg)
{
    (void)arg;
    dap_link_manager_test_tick(0, 0);
    return NULL;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Getters and stream/accounting events never wait for the library thread (CONTRACT.md §3
 * get_net_condition is called for every packet; §5 stream events come from threads holding the stream
 * lock): they answer while that thread is stuck in a node callback. */
static void test_getters_and_events_never_wait(void)
{
    lm_begin();
    REQUIRE(lm_init() == 0);
    dap_cluster_t *c = lm_links_cluster("net1");
    CHECK_INT(dap_link_manager_add_net(NET1, c, 2), 0);
    dap_link_manager_set_net_condition(NET1, true);
    dap_stream_node_addr_t a = lm_addr(0x61);
    CHECK_INT(dap_link_manager_link_create(&a, NET1), 0);
    s_blocked = s_release = false;
    g_rec.hook_fill = block_in_fill;
    pthread_t t;
    pthread_create(&t, NULL, tick_thread, NULL);
    wait_blocked(); /* the library thread is inside fill_net_info now */

    uint64_t t0 = now_ms();
    for (int i = 0; i < 1000; i++) {
        CHECK(dap_link_manager_get_net_condition(NET1));
        (void)dap_link_manager_links_count(NET1);
        (void)dap_link_manager_required_links_count(NET1);
        (void)dap_link_manager_needed_links_count(NET1);
        (void)dap_link_manager_established_uplinks_count(NET1);
    }
    CHECK(dap_link_manager_link_find(&a, NET1));
    CHECK(!dap_link_manager_link_is_established(&a));
    size_t up = 0, down = 0, n = 0;
    free(dap_link_manager_get_net_links_addrs(NET1, &up, &down, true));
    free(dap_link_manager_get_ignored_addrs(&n, NET1));
    free(dap_link_manager_get_links_info());
    dap_stream_node_addr_t d = lm_addr(0x62);
    CHECK_INT(dap_link_manager_stream_add(&d, false), 0);
    dap_link_manager_accounting_link_in_net(NET1, &d, true);
    dap_link_manager_stream_replace(&d, false);
    CHECK_INT(dap_link_manager_link_update(&a, "10.9.9.9", 80), 0);
    CHECK(sdk_cluster_add_member(c, 0x63)); /* the cluster callback only enqueues */
    uint64_t spent = now_ms() - t0;
    CHECK_MSG(spent < 1000, "getters and events took %llu ms while the library thread was busy",
              (unsigned long long)spent);
    CHECK(s_blocked && !s_release); /* it really was busy all along */

    release_block();
    pthread_join(t, NULL);
    lm_settle();
    CHECK(sdk_cluster_has(c, 0x62)); /* the queued events were applied afterwards */
    CHECK_INT(dap_link_manager_links_count(NET1), 2);
    lm_end();
    sdk_cluster_free(c);
}

static atomic_int s_add_net_rc = 99;
static void *add_net_thread(void *arg)
{
    atomic_store(&s_add_net_rc, dap_link_manager_add_net(NET2, arg, 1));
    return NULL;
}
static void *deinit_thread(void *arg)
{
    (void)arg;
    dap_link_manager_deinit();
    return NULL;
}

/* deinit while the library thread is busy and a caller waits in add_net: once the thread is free the
 * waiting caller is answered (CONTRACT.md §2: queued messages complete with "shutting down"), deinit
 * returns, and nothing hangs. */
static void test_deinit_while_busy_answers_waiters(void)
{
    lm_begin();
    REQUIRE(lm_init() == 0);
    dap_cluster_t *c = lm_links_cluster("net1"), *c2 = lm_links_cluster("net2");
    CHECK_INT(dap_link_manager_add_net(NET1, c, 2), 0);
    dap_link_manager_set_net_condition(NET1, true);
    dap_stream_node_addr_t a = lm_addr(0x71);
    CHECK_INT(dap_link_manager_link_create(&a, NET1), 0);
    s_blocked = s_release = false;
    g_rec.hook_fill = block_in_fill;
    pthread_t tick, adder, stopper;
    pthread_create(&tick, NULL, tick_thread, NULL);
    wait_blocked();
    atomic_store(&s_add_net_rc, 99);
    pthread_create(&adder, NULL, add_net_thread, c2);
    lm_sleep_ms(50); /* the adder is waiting for the busy thread */
    CHECK_INT(atomic_load(&s_add_net_rc), 99);
    pthread_create(&stopper, NULL, deinit_thread, NULL);
    lm_sleep_ms(50);
    release_block();
    pthread_join(tick, NULL);
    pthread_join(stopper, NULL);
    pthread_join(adder, NULL);
    int rc = atomic_load(&s_add_net_rc);
    CHECK_MSG(rc == -2 || rc == 0, "add_net waiting across deinit returned %d", rc);
    CHECK(dap_link_manager_get_default() == NULL);
    sdk_quiesce();
    CHECK_INT(sdk_clients_live(), 0);
    CHECK_INT(sdk_cluster_size(c), 0);
    sdk_cluster_free(c);
    sdk_cluster_free(c2);
}

int main(void)
{
    LM_RUN(test_calls_before_init);
    LM_RUN(test_init_arguments_and_manager_object);
    LM_RUN(test_init_reads_config);
    LM_RUN(test_add_net_codes);
    LM_RUN(test_add_net_associate);
    LM_RUN(test_net_condition);
    LM_RUN(test_remove_net);
    LM_RUN(test_deinit_and_reinit);
    LM_RUN(test_deinit_answers_waiting_callers);
    LM_RUN(test_callbacks_written_through_get_default);
    LM_RUN_RUST(test_getters_and_events_never_wait, "getters take the links lock its thread holds in callbacks");
    LM_RUN_RUST(test_deinit_while_busy_answers_waiters, "add_net runs on the caller's thread: it never waits");
    return lm_summary("test_lifecycle_nets");
}
