/* Static link clusters (CONTRACT.md §5 stream_add, §6 add/remove_static_links_cluster, §8 wake-up):
 * the node's static clusters call dap_link_manager_add/remove_static_links_cluster with the cluster
 * itself as argument. */
#include "lm_test.h"

#define NET UINT64_C(0x4001)
#define X UINT64_C(0x0000000000110001)
#define Y UINT64_C(0x0000000000120001)
#define X_UUID UINT64_C(0x7001)

static dap_cluster_t *setup(void)
{
    lm_begin();
    if (lm_init() != 0)
        return NULL;
    return lm_net_on(NET, "net", 1);
}

/* Joining a static cluster makes a link with a client and no net; our own address is ignored. */
static void test_static_member_makes_link(void)
{
    dap_cluster_t *c = setup();
    REQUIRE(c);
    dap_cluster_t *s1 = lm_static_cluster("static1"), *s2 = lm_static_cluster("static2");

    CHECK(sdk_cluster_add_member(s1, X));
    lm_settle();
    lm_link_info_t li;
    CHECK(lm_link(X, &li));
    CHECK(li.has_client);
    CHECK_INT(li.nets, 0);
    CHECK_INT(li.static_clusters, 1);
    CHECK(li.static0 == s1);
    CHECK_INT(li.active_clusters, 0);
    CHECK_INT(lm_journal_count_exact("client_new 1"), 1);
    CHECK_INT(sdk_clients_live(), 1);
    CHECK(!lm_find(X, NET));
    CHECK(!lm_find(X, DAP_NET_ID_INVALID));

    /* a second static cluster: same link, same client */
    CHECK(sdk_cluster_add_member(s2, X));
    lm_settle();
    CHECK(lm_link(X, &li) && li.static_clusters == 2);
    CHECK_INT(sdk_journal_count("client_new"), 1);

    /* our own address: ignored (no link, no client) */
    CHECK(sdk_cluster_add_member(s1, LM_OWN_ADDR));
    lm_settle();
    CHECK(!lm_link_exists(LM_OWN_ADDR));
    CHECK_INT(sdk_journal_count("client_new"), 1);
    CHECK(sdk_cluster_remove_member(s1, LM_OWN_ADDR));
    lm_settle();
    CHECK(lm_link(X, &li) && li.static_clusters == 2);

    /* link_create on a static link associates the net and reuses the client */
    CHECK_INT(lm_create(X, NET), 0);
    CHECK(lm_find(X, NET));
    CHECK_INT(sdk_journal_count("client_new"), 1);

    lm_end();
    sdk_cluster_free(s1);
    sdk_cluster_free(s2);
    sdk_cluster_free(c);
}

/* stream_add adds the address to every ENABLED static cluster of the link, never to a DISABLED one. */
static void test_stream_add_fills_enabled_static_clusters(void)
{
    dap_cluster_t *c = setup();
    REQUIRE(c);
    dap_cluster_t *s1 = lm_static_cluster("static1"), *s2 = lm_static_cluster("static2");
    CHECK(sdk_cluster_add_member(s1, X));
    CHECK(sdk_cluster_add_member(s2, X));
    lm_settle();
    /* the static clusters lose the member behind the library's back (no callback), as after a
     * cluster reload, so that the re-add is visible */
    s1->members_delete_callback = NULL;
    s2->members_delete_callback = NULL;
    CHECK(sdk_cluster_remove_member(s1, X));
    CHECK(sdk_cluster_remove_member(s2, X));
    s1->members_delete_callback = dap_link_manager_remove_static_links_cluster;
    s2->members_delete_callback = dap_link_manager_remove_static_links_cluster;
    s1->status = DAP_CLUSTER_STATUS_ENABLED;
    s2->status = DAP_CLUSTER_STATUS_DISABLED;

    size_t changed = lm_count_changed();
    sdk_journal_clear();
    CHECK_INT(lm_stream_add(X, false), 0);
    lm_settle();
    CHECK_INT(lm_journal_count_exact("cluster_add static1 %s", lm_a(X)), 1);
    CHECK_INT(lm_journal_count_with(NULL, "cluster_add static2 "), 0);
    CHECK(sdk_cluster_has(s1, X));
    CHECK(!sdk_cluster_has(s2, X));
    CHECK_MSG(lm_count_changed() > changed, "link_count_changed not called after the static add");
    CHECK_INT(lm_count(EV_CONNECTED, 0, 0), 0);
    CHECK_INT(sdk_journal_count("client_new"), 0); /* the static link's client is reused */

    lm_end();
    sdk_cluster_free(s1);
    sdk_cluster_free(s2);
    sdk_cluster_free(c);
}

/* Accounting adds to the primary cluster and to the net's secondary clusters that are also static
 * clusters of the link, not to the other secondaries. */
static void test_accounting_adds_to_static_secondaries(void)
{
    dap_cluster_t *c = setup();
    REQUIRE(c);
    dap_cluster_t *s1 = lm_static_cluster("static1"), *s3 = sdk_cluster_new("plain3", NULL, NULL, NULL);
    CHECK_INT(dap_link_manager_add_net_associate(NET, s1), 0);
    CHECK_INT(dap_link_manager_add_net_associate(NET, s3), 0);
    CHECK_INT(s1->status, DAP_CLUSTER_STATUS_ENABLED);
    s1->members_delete_callback = NULL; /* membership of X in s1 will be re-added by accounting */
    CHECK(sdk_cluster_add_member(s1, X));
    lm_settle();
    CHECK(sdk_cluster_remove_member(s1, X));
    s1->members_delete_callback = dap_link_manager_remove_static_links_cluster;
    CHECK_INT(lm_create(X, NET), 0);

    sdk_journal_clear();
    lm_accounting(NET, X, true);
    lm_settle();
    CHECK_INT(lm_journal_count_exact("cluster_add net %s", lm_a(X)), 1);
    CHECK_INT(lm_journal_count_exact("cluster_add static1 %s", lm_a(X)), 1);
    CHECK_INT(lm_journal_count_with(NULL, "cluster_add plain3 "), 0);
    CHECK(sdk_cluster_has(c, X));
    CHECK(sdk_cluster_has(s1, X));
    CHECK(!sdk_cluster_has(s3, X));
    CHECK_INT(dap_link_manager_links_count(NET), 1);

    lm_end();
    sdk_cluster_free(s1);
    sdk_cluster_free(s3);
    sdk_cluster_free(c);
}

/* Wake-up dials a static link without nets only while one of its static clusters is ENABLED. */
static void test_wake_up_needs_enabled_static_cluster(void)
{
    dap_cluster_t *c = setup();
    REQUIRE(c);
    dap_cluster_t *s1 = lm_static_cluster("static1");
    g_rec.fill_mode = LM_FILL_HANDLED; /* only observe the call */
    CHECK(sdk_cluster_add_member(s1, Y));
    lm_settle();
    CHECK_INT(s1->status, DAP_CLUSTER_STATUS_DISABLED);
    CHECK_INT(lm_wake_up(), DAP_LM_OK);
    lm_settle();
    CHECK_INT(lm_count(EV_FILL, Y, 0), 0);
    s1->status = DAP_CLUSTER_STATUS_ENABLED;
    CHECK_INT(lm_wake_up(), DAP_LM_OK);
    lm_settle();
    CHECK_INT(lm_count(EV_FILL, Y, 0), 1);
    lm_end();
    sdk_cluster_free(s1);
    sdk_cluster_free(c);
}

/* Leaving the last static cluster (and no active cluster) deletes the link keeping its client alive
 * (C passes "preserve client"); its downlink streams are closed. Leaving one of two changes nothing. */
static void test_static_removal_keeps_client(void)
{
    dap_cluster_t *c = setup();
    REQUIRE(c);
    dap_cluster_t *s1 = lm_static_cluster("static1"), *s2 = lm_static_cluster("static2");
    CHECK(sdk_cluster_add_member(s1, X));
    CHECK(sdk_cluster_add_member(s2, X));
    lm_settle();
    sdk_stream_open(X, X_UUID);
    uint64_t clients = sdk_clients_live();
    CHECK_INT(clients, 1);

    CHECK(sdk_cluster_remove_member(s1, X));
    lm_settle();
    lm_link_info_t li;
    CHECK(lm_link(X, &li) && li.static_clusters == 1 && li.static0 == s2 && li.has_client);
    CHECK_INT(sdk_journal_count("stream_close"), 0);

    CHECK(sdk_cluster_remove_member(s2, X));
    lm_settle();
    CHECK_INT(sdk_journal_count("client_delete"), 0); /* the client is preserved */
    CHECK_INT(sdk_clients_live(), clients);
    CHECK_INT(sdk_misuse_count(), 0);
    CHECK_INT(lm_journal_count_exact("stream_close %s %" PRIu64, lm_a(X), X_UUID), 1);
    CHECK_INT(sdk_streams_count(X), 0);
    if (lm_link(X, &li)) /* kept as a record (CONTRACT.md §7 preserve): then without clusters */
        CHECK(li.static_clusters == 0 && li.active_clusters == 0 && li.has_client);

    /* removal of an address the library never saw: harmless */
    CHECK(sdk_cluster_add_member(s1, Y));
    lm_settle();
    dap_cluster_member_t m = {.addr = lm_addr(0x999), .cluster = s1};
    dap_link_manager_remove_static_links_cluster(&m, s1);
    dap_link_manager_remove_static_links_cluster(NULL, s1);
    dap_link_manager_add_static_links_cluster(NULL, s1);
    lm_settle();
    CHECK(lm_link_exists(Y));

    lm_end(); /* deinit deletes the preserved clients too */
    sdk_cluster_free(s1);
    sdk_cluster_free(s2);
    sdk_cluster_free(c);
}

int main(void)
{
    LM_RUN(test_static_member_makes_link);
    LM_RUN(test_stream_add_fills_enabled_static_clusters);
    LM_RUN(test_accounting_adds_to_static_secondaries);
    LM_RUN(test_wake_up_needs_enabled_static_cluster);
    LM_RUN(test_static_removal_keeps_client);
    return lm_summary("test_static_clusters");
}
