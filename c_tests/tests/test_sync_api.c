/* Every `_sync` function through the C ABI: success, the named error codes, read-your-writes after
 * queued original calls, out-parameters untouched on failure, inline execution from inside a node
 * callback and an async completion, and TIMEOUT while the library thread is blocked (the late reply
 * must be harmless; the request itself may still run). */
#include "lm_test_api.h"

#define N1      UINT64_C(0x101)
#define N2      UINT64_C(0x102) /* never managed */
#define N_CB    UINT64_C(0x1CB)
#define A1      UINT64_C(0x0001000100010001)
#define A2      UINT64_C(0x0001000100010002)
#define A3      UINT64_C(0x0001000100010003)
#define A_CB    UINT64_C(0x00010001000100CB)
#define A_LATE  UINT64_C(0x000100010001007E)
#define A_BASE  UINT64_C(0x0002000000000000)
#define SYNC_MS 600 /* [link_manager] sync_timeout_ms of this test */

#define SENT_SIZE ((size_t)0xDEADBEEFu)
#define SENT_PTR  ((void *)(uintptr_t)0x5EE)
#define SENT_BYTE 0xA5

static dap_cluster_t *C1, *C2, *C_CB;

/* A bool out-parameter whose untouched state is visible (a written bool is 0 or 1). */
typedef union {
    bool b;
    unsigned char byte;
} out_bool_t;

/* ------------------------------------------------------------- every _sync before init / after deinit */

static void all_sync_not_initialized(const char *when)
{
    printf("-- every _sync %s: NOT_INITIALIZED, out-parameters untouched\n", when);
    dap_stream_node_addr_t a = lmt_addr(A1);
    size_t n = SENT_SIZE;
    out_bool_t b = {.byte = SENT_BYTE};
    struct dap_lm_net_links *nl = SENT_PTR;
    struct dap_lm_link_snapshot *ls = SENT_PTR;
    struct dap_lm_nets_snapshot *ns = SENT_PTR;
    dap_stream_node_addr_t *ia = SENT_PTR;
    dap_cluster_t *c = C1;

    CHECK_RC(dap_link_manager_add_net_sync(N1, c, 1, 0), DAP_LM_ERR_NOT_INITIALIZED);
    CHECK_RC(dap_link_manager_add_net_associate_sync(N1, c, 0), DAP_LM_ERR_NOT_INITIALIZED);
    CHECK_RC(dap_link_manager_remove_net_sync(N1, 0), DAP_LM_ERR_NOT_INITIALIZED);
    CHECK_RC(dap_link_manager_set_net_condition_sync(N1, true, 0), DAP_LM_ERR_NOT_INITIALIZED);
    CHECK_RC(dap_link_manager_set_condition_sync(true, 0), DAP_LM_ERR_NOT_INITIALIZED);
    CHECK_RC(dap_link_manager_link_create_sync(&a, N1, 0), DAP_LM_ERR_NOT_INITIALIZED);
    CHECK_RC(dap_link_manager_link_update_sync(&a, "10.1.2.3", 8079, 0), DAP_LM_ERR_NOT_INITIALIZED);
    CHECK_RC(dap_link_manager_stream_add_sync(&a, false, 0), DAP_LM_ERR_NOT_INITIALIZED);
    CHECK_RC(dap_link_manager_stream_replace_sync(&a, true, 0), DAP_LM_ERR_NOT_INITIALIZED);
    CHECK_RC(dap_link_manager_stream_delete_sync(&a, 0), DAP_LM_ERR_NOT_INITIALIZED);
    CHECK_RC(dap_link_manager_accounting_link_in_net_sync(N1, &a, true, 0), DAP_LM_ERR_NOT_INITIALIZED);
    CHECK_RC(dap_link_manager_sync(0), DAP_LM_ERR_NOT_INITIALIZED);
    CHECK_RC(dap_link_manager_get_condition_sync(&b.b, 0), DAP_LM_ERR_NOT_INITIALIZED);
    CHECK_RC(dap_link_manager_get_net_condition_sync(N1, &b.b, 0), DAP_LM_ERR_NOT_INITIALIZED);
    CHECK_RC(dap_link_manager_links_count_sync(N1, &n, 0), DAP_LM_ERR_NOT_INITIALIZED);
    CHECK_RC(dap_link_manager_required_links_count_sync(N1, &n, 0), DAP_LM_ERR_NOT_INITIALIZED);
    CHECK_RC(dap_link_manager_needed_links_count_sync(N1, &n, 0), DAP_LM_ERR_NOT_INITIALIZED);
    CHECK_RC(dap_link_manager_established_uplinks_count_sync(N1, &n, 0), DAP_LM_ERR_NOT_INITIALIZED);
    CHECK_RC(dap_link_manager_link_find_sync(&a, N1, &b.b, 0), DAP_LM_ERR_NOT_INITIALIZED);
    CHECK_RC(dap_link_manager_link_is_established_sync(&a, &b.b, 0), DAP_LM_ERR_NOT_INITIALIZED);
    CHECK_RC(dap_link_manager_get_net_links_addrs_sync(N1, false, &nl, 0), DAP_LM_ERR_NOT_INITIALIZED);
    CHECK_RC(dap_link_manager_get_ignored_addrs_sync(N1, &ia, &n, 0), DAP_LM_ERR_NOT_INITIALIZED);
    CHECK_RC(dap_link_manager_link_snapshot_sync(&a, &ls, 0), DAP_LM_ERR_NOT_INITIALIZED);
    CHECK_RC(dap_link_manager_nets_snapshot_sync(&ns, 0), DAP_LM_ERR_NOT_INITIALIZED);
    CHECK(n == SENT_SIZE);
    CHECK(b.byte == SENT_BYTE);
    CHECK(nl == SENT_PTR);
    CHECK(ls == SENT_PTR);
    CHECK(ns == SENT_PTR);
    CHECK(ia == SENT_PTR);
}

/* ------------------------------------------------------------- nets */

static void test_nets(void)
{
    printf("-- nets: add, associate, condition, counts, remove\n");
    size_t n = SENT_SIZE;
    out_bool_t b = {.byte = SENT_BYTE};

    CHECK_RC(dap_link_manager_add_net_sync(N1, C1, 2, 0), DAP_LM_OK);
    CHECK_RC(dap_link_manager_add_net_sync(N1, C1, 2, 0), DAP_LM_ERR_EXISTS);
    CHECK_RC(dap_link_manager_add_net_sync(N1, C2, 2, 0), DAP_LM_ERR_EXISTS);
    CHECK_RC(dap_link_manager_add_net_sync(0, C1, 2, 0), DAP_LM_ERR_INVALID_ARGUMENT);
    CHECK_RC(dap_link_manager_add_net_sync(N2, NULL, 2, 0), DAP_LM_ERR_INVALID_ARGUMENT);

    CHECK_RC(dap_link_manager_add_net_associate_sync(N1, C2, 0), DAP_LM_OK);
    CHECK_RC(dap_link_manager_add_net_associate_sync(N1, C2, 0), DAP_LM_ERR_EXISTS);
    CHECK_RC(dap_link_manager_add_net_associate_sync(N2, C2, 0), DAP_LM_ERR_NOT_FOUND);
    CHECK_RC(dap_link_manager_add_net_associate_sync(0, C2, 0), DAP_LM_ERR_INVALID_ARGUMENT);
    CHECK_RC(dap_link_manager_add_net_associate_sync(N1, NULL, 0), DAP_LM_ERR_INVALID_ARGUMENT);

    /* a net starts inactive */
    CHECK_RC(dap_link_manager_get_net_condition_sync(N1, &b.b, 0), DAP_LM_OK);
    CHECK(b.byte == 0);
    CHECK_RC(dap_link_manager_set_net_condition_sync(N1, true, 0), DAP_LM_OK);
    b.byte = SENT_BYTE;
    CHECK_RC(dap_link_manager_get_net_condition_sync(N1, &b.b, 0), DAP_LM_OK);
    CHECK(b.byte == 1);
    CHECK_INT(C1->status, DAP_CLUSTER_STATUS_ENABLED);
    CHECK_INT(C2->status, DAP_CLUSTER_STATUS_ENABLED);
    CHECK_RC(dap_link_manager_set_net_condition_sync(N1, true, 0), DAP_LM_OK); /* unchanged: no-op */
    CHECK_RC(dap_link_manager_set_net_condition_sync(N2, true, 0), DAP_LM_OK); /* unknown: OK, nothing */

    /* unknown net: NOT_FOUND, out untouched */
    b.byte = SENT_BYTE;
    CHECK_RC(dap_link_manager_get_net_condition_sync(N2, &b.b, 0), DAP_LM_ERR_NOT_FOUND);
    CHECK(b.byte == SENT_BYTE);
    CHECK_RC(dap_link_manager_links_count_sync(N2, &n, 0), DAP_LM_ERR_NOT_FOUND);
    CHECK_RC(dap_link_manager_required_links_count_sync(N2, &n, 0), DAP_LM_ERR_NOT_FOUND);
    CHECK_RC(dap_link_manager_needed_links_count_sync(N2, &n, 0), DAP_LM_ERR_NOT_FOUND);
    CHECK_RC(dap_link_manager_established_uplinks_count_sync(N2, &n, 0), DAP_LM_ERR_NOT_FOUND);
    CHECK_RC(dap_link_manager_links_count_sync(DAP_NET_ID_INVALID, &n, 0), DAP_LM_ERR_NOT_FOUND);
    CHECK(n == SENT_SIZE);
    /* NULL out: INVALID_ARGUMENT */
    CHECK_RC(dap_link_manager_get_condition_sync(NULL, 0), DAP_LM_ERR_INVALID_ARGUMENT);
    CHECK_RC(dap_link_manager_get_net_condition_sync(N1, NULL, 0), DAP_LM_ERR_INVALID_ARGUMENT);
    CHECK_RC(dap_link_manager_links_count_sync(N1, NULL, 0), DAP_LM_ERR_INVALID_ARGUMENT);
    CHECK_RC(dap_link_manager_required_links_count_sync(N1, NULL, 0), DAP_LM_ERR_INVALID_ARGUMENT);
    CHECK_RC(dap_link_manager_needed_links_count_sync(N1, NULL, 0), DAP_LM_ERR_INVALID_ARGUMENT);
    CHECK_RC(dap_link_manager_established_uplinks_count_sync(N1, NULL, 0), DAP_LM_ERR_INVALID_ARGUMENT);

    CHECK_RC(dap_link_manager_required_links_count_sync(N1, &n, 0), DAP_LM_OK);
    CHECK_INT(n, 2);
    CHECK_RC(dap_link_manager_links_count_sync(N1, &n, 0), DAP_LM_OK);
    CHECK_INT(n, 0);
    CHECK_RC(dap_link_manager_needed_links_count_sync(N1, &n, 0), DAP_LM_OK);
    CHECK_INT(n, 2);
    CHECK_RC(dap_link_manager_established_uplinks_count_sync(N1, &n, 0), DAP_LM_OK);
    CHECK_INT(n, 0);

    /* remove: a throw-away net; unknown id is OK and does nothing */
    dap_cluster_t *tmp = lmt_net_cluster("tmp");
    CHECK_RC(dap_link_manager_add_net_sync(N2, tmp, 1, 0), DAP_LM_OK);
    CHECK_RC(dap_link_manager_remove_net_sync(N2, 0), DAP_LM_OK);
    CHECK_RC(dap_link_manager_links_count_sync(N2, &n, 0), DAP_LM_ERR_NOT_FOUND);
    CHECK_RC(dap_link_manager_remove_net_sync(N2, 0), DAP_LM_OK);
    CHECK_RC(dap_link_manager_remove_net_sync(0, 0), DAP_LM_OK);
    sdk_cluster_free(tmp);

    /* nets snapshot */
    struct dap_lm_nets_snapshot *ns = NULL;
    CHECK_RC(dap_link_manager_nets_snapshot_sync(&ns, 0), DAP_LM_OK);
    if (ns) {
        CHECK_INT(ns->count, 1);
        if (ns->count == 1) {
            CHECK(ns->nets[0].net_id == N1);
            CHECK(ns->nets[0].active);
            CHECK_INT(ns->nets[0].min_links, 2);
            CHECK_INT(ns->nets[0].clusters_count, 2);
            CHECK(ns->nets[0].clusters[0] == C1 && ns->nets[0].clusters[1] == C2);
        }
    }
    dap_lm_nets_snapshot_free(ns);
    CHECK_RC(dap_link_manager_nets_snapshot_sync(NULL, 0), DAP_LM_ERR_INVALID_ARGUMENT);
}

/* ------------------------------------------------------------- links */

static bool journal_has(const char *needle)
{
    for (size_t i = 0, n = sdk_journal_len(); i < n; i++) {
        const char *l = sdk_journal_line(i);
        if (l && strstr(l, needle))
            return true;
    }
    return false;
}

static int fill_connect(dap_link_t *link)
{
    /* what the node does: link_update from inside the callback, then ready */
    int rc = dap_link_manager_link_update(&link->addr, "10.0.0.9", 8079);
    link->uplink.ready = true;
    return rc;
}

static void test_links(void)
{
    printf("-- links: create, find, update, hot list, snapshot, established\n");
    dap_stream_node_addr_t a1 = lmt_addr(A1), a2 = lmt_addr(A2), own = lmt_addr(LMT_OWN), zero = lmt_addr(0);
    out_bool_t b = {.byte = SENT_BYTE};
    size_t n = SENT_SIZE;

    CHECK_RC(dap_link_manager_link_create_sync(&a1, N1, 0), DAP_LM_OK);
    CHECK_RC(dap_link_manager_link_create_sync(&a1, N1, 0), DAP_LM_ERR_EXISTS);
    CHECK_RC(dap_link_manager_link_create_sync(&own, N1, 0), DAP_LM_ERR_OWN_ADDRESS);
    CHECK_RC(dap_link_manager_link_create_sync(&a2, N2, 0), DAP_LM_ERR_NOT_FOUND);
    CHECK_RC(dap_link_manager_link_create_sync(NULL, N1, 0), DAP_LM_ERR_INVALID_ARGUMENT);
    CHECK_RC(dap_link_manager_link_create_sync(&zero, N1, 0), DAP_LM_ERR_INVALID_ARGUMENT);
    CHECK_RC(dap_link_manager_link_create_sync(&a2, DAP_NET_ID_INVALID, 0), DAP_LM_OK); /* no net */

    CHECK_RC(dap_link_manager_link_find_sync(&a1, N1, &b.b, 0), DAP_LM_OK);
    CHECK(b.byte == 1);
    CHECK_RC(dap_link_manager_link_find_sync(&a2, N1, &b.b, 0), DAP_LM_OK);
    CHECK(b.byte == 0);
    CHECK_RC(dap_link_manager_link_find_sync(&a1, N2, &b.b, 0), DAP_LM_OK);
    CHECK(b.byte == 0);
    b.byte = SENT_BYTE;
    CHECK_RC(dap_link_manager_link_find_sync(NULL, N1, &b.b, 0), DAP_LM_ERR_INVALID_ARGUMENT);
    CHECK_RC(dap_link_manager_link_find_sync(&zero, N1, &b.b, 0), DAP_LM_ERR_INVALID_ARGUMENT);
    CHECK_RC(dap_link_manager_link_find_sync(&a1, N1, NULL, 0), DAP_LM_ERR_INVALID_ARGUMENT);
    CHECK_RC(dap_link_manager_link_is_established_sync(NULL, &b.b, 0), DAP_LM_ERR_INVALID_ARGUMENT);
    CHECK_RC(dap_link_manager_link_is_established_sync(&a1, NULL, 0), DAP_LM_ERR_INVALID_ARGUMENT);
    CHECK(b.byte == SENT_BYTE);
    CHECK_RC(dap_link_manager_link_is_established_sync(&a1, &b.b, 0), DAP_LM_OK);
    CHECK(b.byte == 0);

    /* hot list: A1 (and the refused own/unknown attempts are stamped in their nets only) */
    dap_stream_node_addr_t *ia = SENT_PTR;
    CHECK_RC(dap_link_manager_get_ignored_addrs_sync(N1, &ia, &n, 0), DAP_LM_OK);
    bool found = false;
    for (size_t i = 0; ia != SENT_PTR && ia && i < n; i++)
        found |= ia[i].uint64 == A1;
    CHECK(found);
    if (ia != SENT_PTR)
        free(ia);
    ia = SENT_PTR;
    n = SENT_SIZE;
    CHECK_RC(dap_link_manager_get_ignored_addrs_sync(N2, &ia, &n, 0), DAP_LM_ERR_NOT_FOUND);
    CHECK(ia == SENT_PTR && n == SENT_SIZE);
    CHECK_RC(dap_link_manager_get_ignored_addrs_sync(N1, &ia, NULL, 0), DAP_LM_ERR_INVALID_ARGUMENT);
    CHECK_RC(dap_link_manager_get_ignored_addrs_sync(N1, NULL, &n, 0), DAP_LM_ERR_INVALID_ARGUMENT);
    CHECK(ia == SENT_PTR && n == SENT_SIZE);

    /* link_update: applied (journal) / refused on this thread */
    sdk_journal_clear();
    CHECK_RC(dap_link_manager_link_update_sync(&a2, "10.0.0.2", 8079, 0), DAP_LM_OK);
    CHECK(journal_has("set_uplink") && journal_has("10.0.0.2 8079"));
    CHECK_RC(dap_link_manager_link_update_sync(NULL, "10.0.0.2", 8079, 0), DAP_LM_ERR_INVALID_ARGUMENT);
    CHECK_RC(dap_link_manager_link_update_sync(&zero, "10.0.0.2", 8079, 0), DAP_LM_ERR_INVALID_ARGUMENT);
    CHECK_RC(dap_link_manager_link_update_sync(&a2, NULL, 8079, 0), DAP_LM_ERR_INVALID_ARGUMENT);
    CHECK_RC(dap_link_manager_link_update_sync(&a2, "10.0.0.2", 0, 0), DAP_LM_ERR_INVALID_ARGUMENT);
    CHECK_RC(dap_link_manager_link_update_sync(&a2, "::", 8079, 0), DAP_LM_ERR_INVALID_ARGUMENT);
    static const char *const bad_hosts[] = {"127.0.0.1", "127.1.2.3", "0.0.0.0", "255.255.255.255", "::1",
                                            "host.that.does.not.resolve.invalid"};
    for (size_t i = 0; i < sizeof(bad_hosts) / sizeof(bad_hosts[0]); i++)
        CHECKF(dap_link_manager_link_update_sync(&a2, bad_hosts[i], 8079, 0) == DAP_LM_ERR_BAD_HOST,
               "link_update_sync host %s: expected BAD_HOST", bad_hosts[i]);
    /* FIX-LOOPBACK: 1.0.0.127 is an ordinary address */
    CHECK_RC(dap_link_manager_link_update_sync(&a2, "1.0.0.127", 8079, 0), DAP_LM_OK);

    /* link snapshot */
    struct dap_lm_link_snapshot *ls = SENT_PTR;
    CHECK_RC(dap_link_manager_link_snapshot_sync(&a1, &ls, 0), DAP_LM_OK);
    if (ls != SENT_PTR && ls) {
        CHECK(ls->addr.uint64 == A1);
        CHECK(ls->has_client);
        CHECK_INT(ls->nets_count, 1);
        CHECK(ls->nets_count == 1 && ls->nets[0] == N1);
        CHECK_INT(ls->state, LINK_STATE_DISCONNECTED);
        dap_lm_link_snapshot_free(ls);
    }
    ls = SENT_PTR;
    dap_stream_node_addr_t a3 = lmt_addr(A3);
    CHECK_RC(dap_link_manager_link_snapshot_sync(&a3, &ls, 0), DAP_LM_ERR_NOT_FOUND);
    CHECK_RC(dap_link_manager_link_snapshot_sync(NULL, &ls, 0), DAP_LM_ERR_INVALID_ARGUMENT);
    CHECK_RC(dap_link_manager_link_snapshot_sync(&a1, NULL, 0), DAP_LM_ERR_INVALID_ARGUMENT);
    CHECK(ls == SENT_PTR);

    /* establish A1: wake-up -> fill_net_info (link_update + ready) -> connect -> accepted */
    sdk_net_script("10.0.0.9", 8079, SDK_NET_ACCEPT, 0, false);
    lmt_node.on_fill_net_info = fill_connect;
    CHECK_RC(dap_link_manager_test_tick(0, 0), DAP_LM_OK);
    bool est = LMT_WAIT_UNTIL(dap_link_manager_link_is_established_sync(&a1, &b.b, 0) == DAP_LM_OK && b.b, 3000);
    lmt_node.on_fill_net_info = NULL;
    CHECK(est);
    CHECK_RC(dap_link_manager_established_uplinks_count_sync(N1, &n, 0), DAP_LM_OK);
    CHECK_INT(n, 0); /* ESTABLISHED, but no uplink stream reported yet */
    int connected = atomic_load(&lmt_node.connected);
    CHECK_RC(dap_link_manager_stream_add_sync(&a1, true, 0), DAP_LM_OK); /* the stream layer reports it */
    CHECK_INT(atomic_load(&lmt_node.connected), connected + 1);     /* connected(link, N1), N1 active */
    CHECK_RC(dap_link_manager_established_uplinks_count_sync(N1, &n, 0), DAP_LM_OK);
    CHECK_INT(n, 1);
}

/* ------------------------------------------------------------- streams, accounting, read-your-writes */

static void test_streams(void)
{
    printf("-- streams and accounting, read-your-writes after queued original calls\n");
    dap_stream_node_addr_t a3 = lmt_addr(A3), zero = lmt_addr(0);
    size_t n = SENT_SIZE, base = 0;
    struct dap_lm_link_snapshot *ls = NULL;

    CHECK_RC(dap_link_manager_links_count_sync(N1, &base, 0), DAP_LM_OK);
    CHECK_RC(dap_link_manager_stream_add_sync(&a3, false, 0), DAP_LM_OK); /* a downlink makes a link */
    CHECK_RC(dap_link_manager_link_snapshot_sync(&a3, &ls, 0), DAP_LM_OK);
    if (ls) {
        CHECK(!ls->has_client);
        CHECK(!ls->is_uplink);
    }
    dap_lm_link_snapshot_free(ls);
    ls = NULL;
    CHECK_RC(dap_link_manager_accounting_link_in_net_sync(N1, &a3, true, 0), DAP_LM_OK);
    CHECK(sdk_cluster_has(C1, A3));
    CHECK_RC(dap_link_manager_links_count_sync(N1, &n, 0), DAP_LM_OK);
    CHECK_INT(n, base + 1);

    struct dap_lm_net_links *nl = NULL;
    CHECK_RC(dap_link_manager_get_net_links_addrs_sync(N1, false, &nl, 0), DAP_LM_OK);
    if (nl) {
        CHECK(nl->net_id == N1);
        CHECK_INT(nl->downlinks_count, 1);
        bool seen = false;
        for (size_t i = 0; i < nl->uplinks_count + nl->downlinks_count; i++)
            seen |= nl->addrs[i].uint64 == A3;
        CHECK(seen);
        CHECK(nl->addrs[nl->uplinks_count].uint64 == A3); /* downlinks after the uplinks */
    }
    dap_lm_net_links_free(nl);
    nl = SENT_PTR;
    CHECK_RC(dap_link_manager_get_net_links_addrs_sync(N2, false, &nl, 0), DAP_LM_ERR_NOT_FOUND);
    CHECK_RC(dap_link_manager_get_net_links_addrs_sync(N1, false, NULL, 0), DAP_LM_ERR_INVALID_ARGUMENT);
    CHECK(nl == SENT_PTR);

    CHECK_RC(dap_link_manager_stream_replace_sync(&a3, true, 0), DAP_LM_OK);
    CHECK_RC(dap_link_manager_link_snapshot_sync(&a3, &ls, 0), DAP_LM_OK);
    if (ls)
        CHECK(ls->is_uplink);
    dap_lm_link_snapshot_free(ls);
    ls = SENT_PTR;
    CHECK_RC(dap_link_manager_stream_delete_sync(&a3, 0), DAP_LM_OK);
    CHECK_RC(dap_link_manager_link_snapshot_sync(&a3, &ls, 0), DAP_LM_ERR_NOT_FOUND); /* client-less: gone */
    CHECK(ls == SENT_PTR);
    CHECK(!sdk_cluster_has(C1, A3));

    CHECK_RC(dap_link_manager_stream_add_sync(NULL, false, 0), DAP_LM_ERR_INVALID_ARGUMENT);
    CHECK_RC(dap_link_manager_stream_add_sync(&zero, false, 0), DAP_LM_ERR_INVALID_ARGUMENT);
    CHECK_RC(dap_link_manager_stream_replace_sync(NULL, true, 0), DAP_LM_ERR_INVALID_ARGUMENT);
    CHECK_RC(dap_link_manager_stream_delete_sync(&zero, 0), DAP_LM_ERR_INVALID_ARGUMENT);
    CHECK_RC(dap_link_manager_accounting_link_in_net_sync(N1, NULL, true, 0), DAP_LM_ERR_INVALID_ARGUMENT);
    CHECK_RC(dap_link_manager_accounting_link_in_net_sync(N2, &a3, true, 0), DAP_LM_OK); /* unknown: nothing */

    /* INACTIVE: the manager's condition */
    out_bool_t b = {.byte = SENT_BYTE};
    CHECK_RC(dap_link_manager_set_condition_sync(false, 0), DAP_LM_OK);
    CHECK_RC(dap_link_manager_get_condition_sync(&b.b, 0), DAP_LM_OK);
    CHECK(b.byte == 0);
    CHECK(!dap_link_manager_get_condition());
    CHECK_RC(dap_link_manager_stream_add_sync(&a3, false, 0), DAP_LM_ERR_INACTIVE);
    CHECK_INT(dap_link_manager_stream_add(&a3, false), -1);
    CHECK_RC(dap_link_manager_set_condition_sync(true, 0), DAP_LM_OK);
    CHECK_RC(dap_link_manager_get_condition_sync(&b.b, 0), DAP_LM_OK);
    CHECK(b.byte == 1);

    /* read-your-writes: queued original calls, then a _sync query, no sleeping */
    int misses = 0;
    for (uint64_t i = 0; i < 300; i++) {
        dap_stream_node_addr_t a = lmt_addr(A_BASE + i + 1);
        CHECK_INT(dap_link_manager_stream_add(&a, false), 0);
        dap_link_manager_accounting_link_in_net(N1, &a, true);
        size_t cnt = 0;
        if (dap_link_manager_links_count_sync(N1, &cnt, 0) != DAP_LM_OK || cnt != base + i + 1)
            misses++;
        out_bool_t f = {.byte = SENT_BYTE};
        if (dap_link_manager_link_find_sync(&a, N1, &f.b, 0) != DAP_LM_OK || f.byte != 0) /* no net association */
            misses++;
    }
    CHECKF(misses == 0, "read-your-writes: %d of 600 _sync queries missed an earlier queued call", misses);
    /* the original getters read the view published before the _sync call returned */
    CHECK_INT(dap_link_manager_links_count(N1), base + 300);
    for (uint64_t i = 0; i < 300; i++) {
        dap_stream_node_addr_t a = lmt_addr(A_BASE + i + 1);
        dap_link_manager_stream_delete(&a);
    }
    CHECK_RC(dap_link_manager_links_count_sync(N1, &n, 0), DAP_LM_OK);
    CHECK_INT(n, base);

    /* queued link_update, then dap_link_manager_sync: applied */
    dap_stream_node_addr_t a2 = lmt_addr(A2);
    sdk_journal_clear();
    CHECK_INT(dap_link_manager_link_update(&a2, "10.0.0.77", 8080), 0);
    CHECK_RC(dap_link_manager_sync(0), DAP_LM_OK);
    CHECK(journal_has("10.0.0.77 8080"));
}

/* ------------------------------------------------------------- inline from callbacks */

static struct {
    atomic_int ran;
    int on_lib;
    int rc[14];
    size_t required, count;
    bool found, cond;
    uint64_t elapsed_ms;
} cb_res;

static int inline_link_request(uint64_t net)
{
    if (net != N1 || atomic_load(&cb_res.ran))
        return 0;
    uint64_t t0 = lmt_now_ms();
    dap_stream_node_addr_t acb = lmt_addr(A_CB), own = lmt_addr(LMT_OWN);
    struct dap_lm_link_snapshot *ls = NULL;
    struct dap_lm_net_links *nl = NULL;
    struct dap_lm_nets_snapshot *ns = NULL;
    cb_res.on_lib = lmt_on_lib_thread();
    cb_res.rc[0] = dap_link_manager_required_links_count_sync(net, &cb_res.required, 0);
    cb_res.rc[1] = dap_link_manager_link_create_sync(&acb, net, 0);
    cb_res.rc[2] = dap_link_manager_link_find_sync(&acb, net, &cb_res.found, 0);
    cb_res.rc[3] = dap_link_manager_add_net_sync(N_CB, C_CB, 1, 0);
    cb_res.rc[4] = dap_link_manager_get_net_condition_sync(N_CB, &cb_res.cond, 0);
    cb_res.rc[5] = dap_link_manager_sync(0);
    cb_res.rc[6] = dap_link_manager_link_create_sync(&own, net, 0);
    cb_res.rc[7] = dap_link_manager_add_net_sync(net, C1, 1, 0);
    cb_res.rc[8] = dap_link_manager_link_snapshot_sync(&acb, &ls, 0);
    dap_lm_link_snapshot_free(ls);
    cb_res.rc[9] = dap_link_manager_get_net_links_addrs_sync(net, false, &nl, 0);
    dap_lm_net_links_free(nl);
    cb_res.rc[10] = dap_link_manager_nets_snapshot_sync(&ns, 0);
    dap_lm_nets_snapshot_free(ns);
    cb_res.rc[11] = dap_link_manager_stream_add_sync(&acb, false, 0);
    cb_res.rc[12] = dap_link_manager_accounting_link_in_net_sync(net, &acb, true, 0);
    cb_res.rc[13] = dap_link_manager_links_count_sync(net, &cb_res.count, 0);
    cb_res.elapsed_ms = lmt_now_ms() - t0;
    atomic_store(&cb_res.ran, 1);
    return 0;
}

static struct {
    atomic_int calls;
    int rc, on_lib;
    size_t count;
} done_res;

static void sync_inside_completion(int rc, void *arg)
{
    (void)arg;
    done_res.on_lib = lmt_on_lib_thread();
    done_res.rc = rc == DAP_LM_OK ? dap_link_manager_links_count_sync(N1, &done_res.count, 0) : -100;
    atomic_fetch_add(&done_res.calls, 1);
}

static void test_inline_from_callback(void)
{
    printf("-- _sync from inside a node callback and an async completion: inline, no deadlock\n");
    lmt_watchdog_arm(20, "inline _sync from a callback");
    size_t before = 0;
    CHECK_RC(dap_link_manager_links_count_sync(N1, &before, 0), DAP_LM_OK);
    lmt_node.on_link_request = inline_link_request;
    CHECK_RC(dap_link_manager_test_tick(1, 5000), DAP_LM_OK); /* links request: N1 is below min_links */
    lmt_node.on_link_request = NULL;
    CHECK(atomic_load(&cb_res.ran));
    if (atomic_load(&cb_res.ran)) {
        CHECK(cb_res.on_lib);
        static const int want[14] = {DAP_LM_OK, DAP_LM_OK, DAP_LM_OK, DAP_LM_OK,
                                     DAP_LM_OK, DAP_LM_OK, DAP_LM_ERR_OWN_ADDRESS, DAP_LM_ERR_EXISTS,
                                     DAP_LM_OK, DAP_LM_OK, DAP_LM_OK, DAP_LM_OK,
                                     DAP_LM_OK, DAP_LM_OK};
        for (int i = 0; i < 14; i++)
            CHECKF(cb_res.rc[i] == want[i], "inline call %d returned %d (%s), expected %d (%s)", i, cb_res.rc[i],
                   dap_link_manager_strerror(cb_res.rc[i]), want[i], dap_link_manager_strerror(want[i]));
        CHECK_INT(cb_res.required, 2);
        CHECK(cb_res.found);
        CHECK(!cb_res.cond);
        CHECK_INT(cb_res.count, before + 1);
        CHECKF(cb_res.elapsed_ms < 500, "inline calls took %llu ms: they waited", (unsigned long long)cb_res.elapsed_ms);
    }
    out_bool_t b = {.byte = SENT_BYTE};
    dap_stream_node_addr_t acb = lmt_addr(A_CB);
    CHECK_RC(dap_link_manager_link_find_sync(&acb, N1, &b.b, 0), DAP_LM_OK);
    CHECK(b.byte == 1);
    CHECK_RC(dap_link_manager_get_net_condition_sync(N_CB, &b.b, 0), DAP_LM_OK);

    /* from an async completion (library thread) */
    CHECK_RC(dap_link_manager_set_net_condition_async(N1, true, sync_inside_completion, NULL), DAP_LM_OK);
    CHECK(LMT_WAIT_UNTIL(atomic_load(&done_res.calls) == 1, 3000));
    CHECK(done_res.on_lib);
    CHECK_RC(done_res.rc, DAP_LM_OK);
    CHECK_INT(done_res.count, before + 1);
    CHECK_RC(dap_link_manager_remove_net_sync(N_CB, 0), DAP_LM_OK);
}

/* ------------------------------------------------------------- TIMEOUT while the library thread is blocked */

static atomic_int slow_in, slow_ms;

static int slow_link_request(uint64_t net)
{
    (void)net;
    atomic_store(&slow_in, 1);
    lmt_sleep_ms((unsigned)atomic_load(&slow_ms));
    atomic_store(&slow_in, 2);
    return 0;
}

static void *tick_thread(void *arg)
{
    *(int *)arg = dap_link_manager_test_tick(1, 10000);
    return NULL;
}

static void test_timeout(void)
{
    printf("-- TIMEOUT while the library thread sleeps in a callback; the late reply is harmless\n");
    lmt_watchdog_arm(30, "timeout");
    dap_stream_node_addr_t late = lmt_addr(A_LATE);
    size_t n = SENT_SIZE;
    out_bool_t b = {.byte = SENT_BYTE};
    struct dap_lm_stats s0 = lmt_stats();

    atomic_store(&slow_ms, 1500);
    atomic_store(&slow_in, 0);
    lmt_node.on_link_request = slow_link_request;
    int tick_rc = -100;
    pthread_t t;
    pthread_create(&t, NULL, tick_thread, &tick_rc);
    CHECK(LMT_WAIT_UNTIL(atomic_load(&slow_in) == 1, 3000));

    uint64_t t0 = lmt_now_ms();
    CHECK_RC(dap_link_manager_links_count_sync(N1, &n, 100), DAP_LM_ERR_TIMEOUT);
    uint64_t el = lmt_now_ms() - t0;
    CHECKF(el >= 90 && el < 1000, "a 100 ms _sync timed out after %llu ms", (unsigned long long)el);
    CHECK_RC(dap_link_manager_link_create_sync(&late, N1, 100), DAP_LM_ERR_TIMEOUT);
    /* timeout_ms 0: the configured sync_timeout_ms */
    t0 = lmt_now_ms();
    CHECK_RC(dap_link_manager_get_condition_sync(&b.b, 0), DAP_LM_ERR_TIMEOUT);
    el = lmt_now_ms() - t0;
    CHECKF(el >= SYNC_MS - 20 && el < SYNC_MS + 400, "the default deadline (sync_timeout_ms=%d) took %llu ms", SYNC_MS,
           (unsigned long long)el);
    CHECK(atomic_load(&slow_in) == 1); /* still blocked: the timeouts above were real */

    pthread_join(t, NULL);
    lmt_node.on_link_request = NULL;
    CHECK_RC(tick_rc, DAP_LM_OK);
    CHECK_RC(dap_link_manager_sync(0), DAP_LM_OK);
    lmt_sleep_ms(50);
    CHECK(n == SENT_SIZE); /* the late answers wrote nothing */
    CHECK(b.byte == SENT_BYTE);
    /* the timed-out link_create still ran after the callback returned */
    CHECK_RC(dap_link_manager_link_find_sync(&late, N1, &b.b, 0), DAP_LM_OK);
    CHECK(b.byte == 1);
    struct dap_lm_stats s1 = lmt_stats();
    CHECK_INT(s1.timeouts - s0.timeouts, 3);
    CHECK(sdk_log_count("timeout") >= 3);
    /* and the manager goes on */
    CHECK_RC(dap_link_manager_links_count_sync(N1, &n, 0), DAP_LM_OK);
}

int main(void)
{
    lmt_watchdog_arm(20, "before init");
    C1 = lmt_net_cluster("c1");
    C2 = lmt_net_cluster("c2");
    C_CB = lmt_net_cluster("c_cb");
    all_sync_not_initialized("before init");

    char sync_ms[16];
    snprintf(sync_ms, sizeof(sync_ms), "%d", SYNC_MS);
    const char *const cfg[] = {"sync_timeout_ms", sync_ms, NULL};
    CHECK_INT(lmt_start(cfg), 0);
    lmt_watchdog_arm(30, "nets");
    test_nets();
    lmt_watchdog_arm(30, "links");
    test_links();
    lmt_watchdog_arm(30, "streams");
    test_streams();
    test_inline_from_callback();
    test_timeout();
    CHECK_INT(atomic_load(&lmt_node.on_wrong_thread), 0);

    lmt_watchdog_arm(20, "deinit");
    dap_link_manager_deinit();
    all_sync_not_initialized("after deinit");
    sdk_quiesce();
    CHECK_INT(sdk_clients_live(), 0);
    sdk_cluster_free(C1);
    sdk_cluster_free(C2);
    sdk_cluster_free(C_CB);
    return lmt_finish("test_sync_api");
}
