/* Downlinks (CONTRACT.md §5-6): stream events and accounting of links without a client, and the
 * FIX-GHOST-DOWNLINK / FIX-REPLACE-NOCLIENT / FIX-BEFORE-INIT differences from the C version. */
#include "lm_test.h"

#define NET UINT64_C(0x3001)
#define D  UINT64_C(0x00000000000D0001)
#define D2 UINT64_C(0x00000000000D0002)
#define G  UINT64_C(0x0000000000060001)
#define H  UINT64_C(0x0000000000070001)
#define R  UINT64_C(0x0000000000080001)
#define DOWN_UUID  UINT64_C(0x5150)
#define DOWN_UUID2 UINT64_C(0x5151)

static dap_cluster_t *setup(void)
{
    lm_begin();
    if (lm_init() != 0)
        return NULL;
    return lm_net_on(NET, "net", 2);
}

static void teardown(dap_cluster_t *c)
{
    lm_end();
    sdk_cluster_free(c);
}

/* add -> client-less link; accounting ok -> member of the primary cluster; replace; delete -> out of
 * the cluster, its streams closed, the record freed. */
static void test_downlink_life(void)
{
    dap_cluster_t *c = setup();
    REQUIRE(c);
    sdk_stream_open(D, DOWN_UUID);

    CHECK_INT(lm_stream_add(D, false), 0);
    lm_settle();
    lm_link_info_t li;
    CHECK(lm_link(D, &li));
    CHECK(!li.has_client);
    CHECK(!li.is_uplink);
    CHECK_INT(li.nets, 0);
    CHECK_INT(sdk_journal_count("client_new"), 0);
    CHECK_INT(lm_count(EV_CONNECTED, 0, 0), 0); /* connected() is for uplinks */
    CHECK(!lm_find(D, NET));
    CHECK_INT(dap_link_manager_links_count(NET), 0);

    size_t changed = lm_count_changed();
    lm_accounting(NET, D, true);
    lm_settle();
    CHECK(sdk_cluster_has(c, D));
    CHECK_INT(lm_journal_count_exact("cluster_add net %s", lm_a(D)), 1);
    CHECK_INT(dap_link_manager_links_count(NET), 1);
    CHECK_INT(dap_link_manager_established_uplinks_count(NET), 0);
    CHECK_MSG(lm_count_changed() > changed, "link_count_changed not called after accounting");
    CHECK(lm_link(D, &li) && li.active_clusters == 1 && li.active0 == c);
    size_t up = 9, down = 9;
    dap_stream_node_addr_t *addrs = dap_link_manager_get_net_links_addrs(NET, &up, &down, false);
    CHECK_INT(up, 0);
    CHECK_INT(down, 1);
    CHECK(addrs && addrs[0].uint64 == D);
    free(addrs);

    /* a second stream_add while in active clusters changes nothing */
    size_t journal = sdk_journal_len();
    CHECK_INT(lm_stream_add(D, false), 0);
    lm_settle();
    CHECK_INT(sdk_journal_len(), journal);

    /* the stream turns into an uplink and back */
    lm_stream_replace(D, true);
    lm_settle();
    CHECK(lm_link(D, &li) && li.is_uplink);
    addrs = dap_link_manager_get_net_links_addrs(NET, &up, &down, false);
    CHECK_INT(up, 1);
    CHECK_INT(down, 0);
    free(addrs);
    lm_stream_replace(D, false);
    lm_settle();
    CHECK(lm_link(D, &li) && !li.is_uplink);
    CHECK_INT(sdk_journal_count("go_stage"), 0);

    /* gone: out of the cluster, the record freed, its downlink stream closed */
    changed = lm_count_changed();
    lm_stream_delete(D);
    lm_settle();
    CHECK(!sdk_cluster_has(c, D));
    CHECK_INT(lm_journal_count_exact("cluster_delete net %s", lm_a(D)), 1);
    CHECK_INT(dap_link_manager_links_count(NET), 0);
    CHECK_MSG(lm_count_changed() > changed, "link_count_changed not called after stream_delete");
    CHECK(!lm_link_exists(D));
    CHECK_INT(lm_links_in_view(), 0);
    CHECK_INT(lm_journal_count_exact("stream_close %s %" PRIu64, lm_a(D), DOWN_UUID), 1);
    CHECK_INT(sdk_streams_count(D), 0);
    up = down = 9;
    CHECK(dap_link_manager_get_net_links_addrs(NET, &up, &down, false) == NULL);
    CHECK_INT(up, 0);
    CHECK_INT(down, 0);
    teardown(c);
}

/* Two downlinks, one deleted: only its own streams are closed, the other stays counted. */
static void test_two_downlinks_independent(void)
{
    dap_cluster_t *c = setup();
    REQUIRE(c);
    sdk_stream_open(D, DOWN_UUID);
    sdk_stream_open(D2, DOWN_UUID2);
    CHECK_INT(lm_stream_add(D, false), 0);
    CHECK_INT(lm_stream_add(D2, false), 0);
    lm_accounting(NET, D, true);
    lm_accounting(NET, D2, true);
    lm_settle();
    CHECK_INT(dap_link_manager_links_count(NET), 2);
    lm_stream_delete(D);
    lm_settle();
    CHECK_INT(dap_link_manager_links_count(NET), 1);
    CHECK(sdk_cluster_has(c, D2));
    CHECK(lm_link_exists(D2));
    CHECK_INT(sdk_streams_count(D2), 1);
    CHECK_INT(sdk_journal_count("stream_close"), 1);
    teardown(c);
}

/* FIX-GHOST-DOWNLINK: a downlink that never got accounted, or was refused, leaves no record behind. */
static void test_ghost_downlinks_are_freed(void)
{
    dap_cluster_t *c = setup();
    REQUIRE(c);

    /* add then delete, no accounting */
    CHECK_INT(lm_stream_add(G, false), 0);
    lm_settle();
    CHECK(lm_link_exists(G));
    lm_stream_delete(G);
    lm_settle();
    CHECK(!lm_link_exists(G));
    CHECK_INT(lm_links_in_view(), 0);

    /* add, accounting refused, delete */
    CHECK_INT(lm_stream_add(H, false), 0);
    lm_accounting(NET, H, false);
    lm_settle();
    CHECK_INT(lm_count(EV_DISCONNECTED, H, NET), 1); /* the node is consulted on a refusal */
    CHECK(!sdk_cluster_has(c, H));
    lm_stream_delete(H);
    lm_settle();
    CHECK(!lm_link_exists(H));

    /* add, accounted, un-accounted, delete */
    CHECK_INT(lm_stream_add(H, false), 0);
    lm_accounting(NET, H, true);
    lm_accounting(NET, H, false);
    lm_stream_delete(H);
    lm_settle();
    CHECK(!lm_link_exists(H));
    CHECK(!sdk_cluster_has(c, H));

    /* all at once, without settling in between (issue order is kept, FIX-ORDER) */
    for (uint64_t i = 0; i < 50; i++) {
        uint64_t a = G + 0x100 + i;
        CHECK_INT(lm_stream_add(a, false), 0);
        if (i % 2)
            lm_accounting(NET, a, true);
        lm_stream_delete(a);
    }
    lm_settle();
    CHECK_INT(lm_links_in_view(), 0);
    CHECK_INT(sdk_cluster_size(c), 0);
    CHECK_INT(dap_link_manager_links_count(NET), 0);
    teardown(c);
}

/* FIX-REPLACE-NOCLIENT: up -> down on a link without a client must not crash (C asserted). An uplink
 * stream for an unknown link makes no record. */
static void test_replace_on_clientless_link(void)
{
    dap_cluster_t *c = setup();
    REQUIRE(c);
    CHECK_INT(lm_stream_add(R, false), 0);
    lm_accounting(NET, R, true);
    lm_stream_replace(R, true);
    lm_settle();
    lm_link_info_t li;
    CHECK(lm_link(R, &li) && li.is_uplink && !li.has_client);
    lm_stream_replace(R, false); /* up -> down, no client */
    lm_settle();
    CHECK(lm_link(R, &li) && !li.is_uplink);
    CHECK_INT(sdk_journal_count("go_stage"), 0);
    CHECK_INT(dap_link_manager_links_count(NET), 1);
    CHECK_INT(dap_link_manager_sync(0), DAP_LM_OK); /* the library thread is alive */
#if LM_NEW_API
    struct dap_lm_stats st;
    CHECK_INT(dap_link_manager_get_stats(&st), DAP_LM_OK);
    CHECK_INT(st.panics, 0);
#endif

    /* replace on a link that is in no active cluster: ignored */
    CHECK_INT(lm_stream_add(D, false), 0);
    lm_stream_replace(D, true);
    lm_settle();
    CHECK(lm_link(D, &li) && !li.is_uplink);

    /* an uplink stream for an address without a link: logged, no record */
    size_t errors = sdk_log_count_level(L_ERROR, NULL);
    CHECK_INT(lm_stream_add(D2, true), 0);
    lm_settle();
    CHECK(!lm_link_exists(D2));
    CHECK(sdk_log_count_level(L_ERROR, NULL) > errors);
    teardown(c);
}

/* stream_add is refused with -1 while the manager is inactive, for a NULL / zero address, and (FIX-
 * BEFORE-INIT) before init. */
static void test_stream_add_refusals(void)
{
    lm_begin();
    CHECK_INT(lm_stream_add(D, false), -1); /* before init */
    dap_cluster_t *c = setup();
    REQUIRE(c);
    dap_stream_node_addr_t zero = lm_addr(0);
    CHECK_INT(dap_link_manager_stream_add(NULL, false), -1);
    CHECK_INT(dap_link_manager_stream_add(&zero, false), -1);
    dap_link_manager_stream_delete(NULL);
    dap_link_manager_stream_replace(NULL, true);
    dap_link_manager_accounting_link_in_net(NET, NULL, true);

    dap_link_manager_set_condition(false);
    CHECK_INT(lm_stream_add(D, false), -1);
    CHECK_INT(lm_stream_add(D, true), -1);
#if LM_NEW_API
    dap_stream_node_addr_t d = lm_addr(D);
    CHECK_INT(dap_link_manager_stream_add_sync(&d, false, 0), DAP_LM_ERR_INACTIVE);
#endif
    lm_settle();
    CHECK(!lm_link_exists(D));

    dap_link_manager_set_condition(true);
    CHECK_INT(lm_stream_add(D, false), 0);
    lm_settle();
    CHECK(lm_link_exists(D));

    /* accounting for an unknown net does nothing */
    lm_accounting(0x3999, D, true);
    lm_settle();
    CHECK_INT(sdk_journal_count("cluster_add"), 0);
    teardown(c);
}

/* Accounting refused: out of the net's clusters, disconnected(link, net, primary count after the
 * removal) consulted (CONTRACT.md §6). */
static void test_accounting_refused_reports_count(void)
{
    dap_cluster_t *c = setup();
    REQUIRE(c);
    CHECK_INT(lm_stream_add(D, false), 0);
    CHECK_INT(lm_stream_add(D2, false), 0);
    lm_accounting(NET, D, true);
    lm_accounting(NET, D2, true);
    lm_settle();
    CHECK_INT(sdk_cluster_size(c), 2);
    lm_accounting(NET, D, false);
    lm_settle();
    CHECK(!sdk_cluster_has(c, D));
    lm_ev_t ev = {0};
    CHECK(lm_last(EV_DISCONNECTED, D, &ev));
    CHECK_INT(ev.net, NET);
    CHECK_INT(ev.arg, 1);
    CHECK_INT(dap_link_manager_links_count(NET), 1);
    /* accounting for a link that does not exist: nothing */
    size_t journal = sdk_journal_len();
    lm_accounting(NET, G, true);
    lm_accounting(NET, G, false);
    lm_settle();
    CHECK_INT(sdk_journal_len(), journal);
    CHECK_INT(lm_count(EV_DISCONNECTED, G, 0), 0);
    teardown(c);
}

/* link_create on a downlink's record gives it a client and the net (CONTRACT.md §4). */
static void test_link_create_on_downlink(void)
{
    dap_cluster_t *c = setup();
    REQUIRE(c);
    CHECK_INT(lm_stream_add(D, false), 0);
    lm_accounting(NET, D, true);
    lm_settle();
    lm_link_info_t li;
    CHECK(lm_link(D, &li) && !li.has_client);
    CHECK_INT(lm_create(D, NET), 0);
    CHECK(lm_link(D, &li) && li.has_client && li.nets == 1 && li.active_clusters == 1);
    CHECK_INT(sdk_journal_count("client_new"), 1);
    CHECK(lm_find(D, NET));
    teardown(c);
}

int main(void)
{
    LM_RUN(test_downlink_life);
    LM_RUN(test_two_downlinks_independent);
    LM_RUN(test_ghost_downlinks_are_freed);
    LM_RUN(test_replace_on_clientless_link);
    LM_RUN(test_stream_add_refusals);
    LM_RUN(test_accounting_refused_reports_count);
    LM_RUN(test_link_create_on_downlink);
    return lm_summary("test_downlinks");
}
