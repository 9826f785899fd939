/* What the balancer sees (CONTRACT.md §3 needed_links_count, §8 links request, §9 hot list and
 * get_net_links_addrs). */
#include "lm_test.h"

#define NET UINT64_C(0x6001)
#define NET_EMPTY UINT64_C(0x6002)
#define NET_OFF UINT64_C(0x6003)
#define NET_UNKNOWN UINT64_C(0x6999)
#define U1 UINT64_C(0x0000000000310001)
#define U2 UINT64_C(0x0000000000320001)
#define D1 UINT64_C(0x0000000000330001)
#define D2 UINT64_C(0x0000000000340001)
#define D3 UINT64_C(0x0000000000350001)
#define H1 UINT64_C(0x0000000000360001)
#define H2 UINT64_C(0x0000000000370001)
#define H3 UINT64_C(0x0000000000380001)

static void downlink(uint64_t net, uint64_t addr)
{
    CHECK_INT(lm_stream_add(addr, false), 0);
    lm_accounting(net, addr, true);
}

/* needed_links_count = max(0, min_links - primary members cached by the last links request);
 * link_request(net) for each active net below its minimum; nothing while the manager is inactive. */
static void test_needed_links_and_link_request(void)
{
    lm_begin();
    REQUIRE(lm_init() == 0);
    dap_cluster_t *c = lm_net_on(NET, "net", 3);
    dap_cluster_t *off = lm_links_cluster("off");
    CHECK_INT(dap_link_manager_add_net(NET_OFF, off, 5), 0); /* inactive: never asks */
    CHECK_INT(dap_link_manager_needed_links_count(NET), 3);
    CHECK_INT(dap_link_manager_needed_links_count(NET_UNKNOWN), 0);

    downlink(NET, D1);
    lm_settle();
    CHECK_INT(dap_link_manager_links_count(NET), 1);
    CHECK_INT(dap_link_manager_needed_links_count(NET), 3); /* the cache is refreshed by a links request */

    CHECK_INT(lm_links_request(), DAP_LM_OK);
    lm_settle();
    CHECK_INT(dap_link_manager_needed_links_count(NET), 2);
    CHECK_INT(lm_count(EV_REQUEST, 0, NET), 1);
    CHECK_INT(lm_count(EV_REQUEST, 0, NET_OFF), 0);
    CHECK_INT(lm_count(EV_REQUEST, 0, 0), 1);
#if LM_NEW_API
    size_t needed = 9;
    CHECK_INT(dap_link_manager_needed_links_count_sync(NET, &needed, 0), DAP_LM_OK);
    CHECK_INT(needed, 2);
#endif

    /* enough members: no request, nothing needed */
    downlink(NET, D2);
    downlink(NET, D3);
    lm_settle();
    CHECK_INT(lm_links_request(), DAP_LM_OK);
    lm_settle();
    CHECK_INT(dap_link_manager_needed_links_count(NET), 0);
    CHECK_INT(lm_count(EV_REQUEST, 0, 0), 1);

    /* inactive manager: the tick does nothing (no request, cache untouched) */
    lm_stream_delete(D1);
    lm_settle();
    CHECK_INT(dap_link_manager_links_count(NET), 2);
    dap_link_manager_set_condition(false);
    CHECK_INT(lm_links_request(), DAP_LM_OK);
    lm_settle();
    CHECK_INT(lm_count(EV_REQUEST, 0, 0), 1);
    CHECK_INT(dap_link_manager_needed_links_count(NET), 0);
    dap_link_manager_set_condition(true);
    CHECK_INT(lm_links_request(), DAP_LM_OK);
    lm_settle();
    CHECK_INT(lm_count(EV_REQUEST, 0, NET), 2);
    CHECK_INT(dap_link_manager_needed_links_count(NET), 1);

    lm_end();
    sdk_cluster_free(c);
    sdk_cluster_free(off);
}

/* Ticks alternate, starting with a links request (CONTRACT.md §8). */
static void test_ticks_alternate(void)
{
    lm_begin();
    REQUIRE(lm_init() == 0);
    dap_cluster_t *c = lm_net_on(NET, "net", 2);
    g_rec.fill_mode = LM_FILL_HANDLED;
    CHECK_INT(lm_create(U1, NET), 0);
    CHECK_INT(dap_link_manager_test_tick(-1, 0), DAP_LM_OK);
    lm_settle();
    CHECK_INT(lm_count(EV_REQUEST, 0, NET), 1);
    CHECK_INT(lm_count(EV_FILL, U1, 0), 0);
    CHECK_INT(dap_link_manager_test_tick(-1, 0), DAP_LM_OK);
    lm_settle();
    CHECK_INT(lm_count(EV_REQUEST, 0, NET), 1);
    CHECK_INT(lm_count(EV_FILL, U1, 0), 1);
    CHECK_INT(dap_link_manager_test_tick(-1, 0), DAP_LM_OK);
    lm_settle();
    CHECK_INT(lm_count(EV_REQUEST, 0, NET), 2);
    CHECK_INT(lm_count(EV_FILL, U1, 0), 1);
    CHECK_INT(dap_link_manager_test_tick(7, 0), DAP_LM_ERR_INVALID_ARGUMENT);
    lm_end();
    sdk_cluster_free(c);
}

/* link_request NULL: a warning at init, and the links request pass still refreshes the cache. */
static void test_link_request_null(void)
{
    lm_begin();
    dap_link_manager_callbacks_t cb = lm_callbacks();
    REQUIRE(dap_link_manager_init(&cb) == 0);
    CHECK_INT(sdk_log_count_level(L_WARNING, "link_request"), 0); /* given: no warning */
    dap_link_manager_deinit();

    sdk_log_clear();
    cb.link_request = NULL;
    REQUIRE(dap_link_manager_init(&cb) == 0);
    CHECK_MSG(sdk_log_count_level(L_WARNING, "link_request") >= 1, "no warning logged for a NULL link_request");
    CHECK_INT(dap_link_manager_test_clock_set(LM_T0_NS), DAP_LM_OK);
    dap_cluster_t *c = lm_net_on(NET, "net", 2);
    downlink(NET, D1);
    lm_settle();
    CHECK_INT(lm_links_request(), DAP_LM_OK);
    lm_settle();
    CHECK_INT(dap_link_manager_needed_links_count(NET), 1);
    CHECK_INT(lm_count(EV_REQUEST, 0, 0), 0);
    lm_end();
    sdk_cluster_free(c);
}

/* get_net_links_addrs: members of the primary cluster that have a link, uplinks first; established_only
 * leaves out uplinks not ESTABLISHED; counts untouched and NULL for an unknown net; NULL (counts 0)
 * for an empty net; a malloc'd array otherwise. */
static void test_get_net_links_addrs(void)
{
    lm_begin();
    REQUIRE(lm_init() == 0);
    dap_cluster_t *c = lm_net_on(NET, "net", 1), *e = lm_net_on(NET_EMPTY, "empty", 1);
    downlink(NET, D1);
    REQUIRE(lm_connect_uplink(U1, NET));
    CHECK_INT(lm_stream_add(U1, true), 0);
    lm_accounting(NET, U1, true);
    downlink(NET, D2);
    CHECK_INT(lm_create(U2, NET), 0); /* an uplink that is counted but not ESTABLISHED */
    CHECK_INT(lm_stream_add(U2, true), 0);
    lm_accounting(NET, U2, true);
    lm_settle();
    CHECK(sdk_cluster_add_member(c, 0xABCDEF)); /* a member without a link record */
    lm_settle();
    CHECK_INT(dap_link_manager_links_count(NET), 5);

    size_t up = 99, down = 99;
    dap_stream_node_addr_t *a = dap_link_manager_get_net_links_addrs(NET, &up, &down, false);
    REQUIRE(a != NULL);
    CHECK_INT(up, 2);
    CHECK_INT(down, 2);
    CHECK_U64(a[0].uint64, U1);
    CHECK_U64(a[1].uint64, U2);
    CHECK_U64(a[2].uint64, D1);
    CHECK_U64(a[3].uint64, D2);
    free(a);

    up = down = 99;
    a = dap_link_manager_get_net_links_addrs(NET, &up, &down, true);
    REQUIRE(a != NULL);
    CHECK_INT(up, 1);
    CHECK_INT(down, 2);
    CHECK_U64(a[0].uint64, U1);
    CHECK_U64(a[1].uint64, D1);
    CHECK_U64(a[2].uint64, D2);
    free(a);

#if LM_NEW_API
    /* the _sync flavour agrees */
    struct dap_lm_net_links *r = NULL;
    CHECK_INT(dap_link_manager_get_net_links_addrs_sync(NET, true, &r, 0), DAP_LM_OK);
    if (r) {
        CHECK_INT(r->uplinks_count, 1);
        CHECK_INT(r->downlinks_count, 2);
        CHECK(r->addrs && r->addrs[0].uint64 == U1);
    }
    dap_lm_net_links_free(r);
#endif

    /* unknown net: NULL, counts untouched */
    up = down = 77;
    CHECK(dap_link_manager_get_net_links_addrs(NET_UNKNOWN, &up, &down, false) == NULL);
    CHECK_INT(up, 77);
    CHECK_INT(down, 77);

    /* empty net: NULL, counts written */
    up = down = 77;
    CHECK(dap_link_manager_get_net_links_addrs(NET_EMPTY, &up, &down, false) == NULL);
    CHECK_INT(up, 0);
    CHECK_INT(down, 0);

    /* an uplink leaves: the view follows */
    lm_stream_delete(U1);
    lm_settle();
    a = dap_link_manager_get_net_links_addrs(NET, &up, &down, false);
    CHECK_INT(up, 1);
    CHECK_INT(down, 2);
    CHECK(a && a[0].uint64 == U2);
    free(a);

    lm_end();
    sdk_cluster_free(c);
    sdk_cluster_free(e);
}

static size_t ignored(uint64_t net, uint64_t *out, size_t max)
{
    size_t count = 4242;
    dap_stream_node_addr_t *a = dap_link_manager_get_ignored_addrs(&count, net);
    if (!a) {
        CHECK_INT(count, 4242); /* untouched when empty */
        return 0;
    }
    for (size_t i = 0; i < count && i < max; i++)
        out[i] = a[i].uint64;
    free(a);
    return count;
}

static bool contains(const uint64_t *v, size_t n, uint64_t x)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == x)
            return true;
    return false;
}

/* get_ignored_addrs: link_create stamps the hot list even when it fails with -2; entries older than
 * 900 s of (virtual) time are gone; NULL with count untouched when empty. */
static void test_ignored_addrs(void)
{
    lm_begin();
    REQUIRE(lm_init() == 0);
    dap_cluster_t *c = lm_net_on(NET, "net", 1);
    uint64_t v[8];

    CHECK_INT(ignored(NET, v, 8), 0);
    CHECK_INT(lm_create(H1, NET), 0);
    CHECK_INT(lm_create(H2, NET_UNKNOWN), -2); /* fails, but stamped */
    size_t n = ignored(NET, v, 8);
    CHECK_INT(n, 1);
    CHECK(n == 1 && v[0] == H1);
    n = ignored(NET_UNKNOWN, v, 8);
    CHECK(n == 1 && v[0] == H2);
    CHECK_INT(ignored(NET_EMPTY, v, 8), 0);

    CHECK_INT(dap_link_manager_test_clock_advance(500 * LM_SEC), DAP_LM_OK);
    CHECK_INT(lm_create(H3, NET), 0);
    CHECK_INT(dap_link_manager_test_clock_advance(300 * LM_SEC), DAP_LM_OK); /* T0+800 */
    CHECK_INT(lm_create(H1, NET), -2); /* already associated: fails, stamped again */
    CHECK_INT(dap_link_manager_test_clock_advance(100 * LM_SEC), DAP_LM_OK); /* T0+900 */
    n = ignored(NET_UNKNOWN, v, 8);
    CHECK_MSG(n == 1, "an entry exactly 900 s old is kept (got %zu)", n);
    CHECK_INT(dap_link_manager_test_clock_advance(LM_SEC), DAP_LM_OK); /* T0+901 */
    CHECK_INT(ignored(NET_UNKNOWN, v, 8), 0); /* H2: 901 s old */
    n = ignored(NET, v, 8);
    CHECK_INT(n, 2);
    CHECK(contains(v, n, H1) && contains(v, n, H3));

    CHECK_INT(dap_link_manager_test_clock_advance(500 * LM_SEC), DAP_LM_OK); /* T0+1401 */
    n = ignored(NET, v, 8);
    CHECK_INT(n, 1);
    CHECK(n == 1 && v[0] == H1); /* H3 (T0+500) expired, H1 re-stamped at T0+800 */
    CHECK_INT(lm_links_request(), DAP_LM_OK); /* a tick expires them in the state too */
    n = ignored(NET, v, 8);
    CHECK_INT(n, 1);

    CHECK_INT(dap_link_manager_test_clock_advance(300 * LM_SEC), DAP_LM_OK); /* T0+1701 */
    CHECK_INT(ignored(NET, v, 8), 0);
#if LM_NEW_API
    uint64_t *arr = NULL;
    size_t cnt = 5;
    CHECK_INT(dap_link_manager_get_ignored_addrs_sync(NET, (dap_stream_node_addr_t **)&arr, &cnt, 0), DAP_LM_OK);
    CHECK(arr == NULL);
    CHECK_INT(cnt, 0);
    free(arr);
#endif

    lm_end();
    sdk_cluster_free(c);
}

int main(void)
{
    LM_RUN(test_needed_links_and_link_request);
    LM_RUN(test_ticks_alternate);
    LM_RUN(test_link_request_null);
    LM_RUN(test_get_net_links_addrs);
    LM_RUN(test_ignored_addrs);
    return lm_summary("test_balancer_view");
}
