/* Switching a net off and on, and removing it (CONTRACT.md §3 set_net_condition / remove_net): members
 * removed, the net forgotten by every link, links left without nets deleted with their client, static
 * links keeping theirs. */
#include "lm_test.h"

#define NET1 UINT64_C(0x5001)
#define NET2 UINT64_C(0x5002)
#define A UINT64_C(0x0000000000210001) /* uplink in NET1 only */
#define B UINT64_C(0x0000000000220001) /* uplink in NET1 and NET2 */
#define D UINT64_C(0x0000000000230001) /* downlink accounted in NET1 */
#define X UINT64_C(0x0000000000240001) /* static link, also in NET1 */

static void test_net_off_on_and_remove(void)
{
    lm_begin();
    REQUIRE(lm_init() == 0);
    dap_cluster_t *c1 = lm_net_on(NET1, "net1", 3), *c2 = lm_net_on(NET2, "net2", 1);
    dap_cluster_t *c1b = sdk_cluster_new("net1.b", NULL, NULL, NULL);
    dap_cluster_t *s = lm_static_cluster("static");
    s->status = DAP_CLUSTER_STATUS_ENABLED;
    CHECK_INT(dap_link_manager_add_net_associate(NET1, c1b), 0);

    REQUIRE(lm_connect_uplink(A, NET1));
    CHECK_INT(lm_stream_add(A, true), 0);
    lm_accounting(NET1, A, true);
    CHECK_INT(lm_create(B, NET1), 0);
    uint64_t id_b = lm_last_client_new();
    CHECK(id_b != 0);
    CHECK_INT(lm_create(B, NET2), 0);
    CHECK_INT(lm_stream_add(D, false), 0);
    lm_accounting(NET1, D, true);
    CHECK(sdk_cluster_add_member(s, X));
    lm_settle();
    CHECK_INT(lm_create(X, NET1), 0);
    CHECK(sdk_cluster_add_member(c1b, 0x999)); /* some member of the secondary */
    lm_settle();
    CHECK_INT(dap_link_manager_links_count(NET1), 2);
    CHECK_INT(dap_link_manager_established_uplinks_count(NET1), 1);
    CHECK_INT(sdk_clients_live(), 3); /* A, B, X */
    uint64_t id_a = lm_client_id(A);
    size_t changed = lm_count_changed();

    /* ---- NET1 off ---- */
    dap_link_manager_set_net_condition(NET1, false);
    lm_settle();
    CHECK(!dap_link_manager_get_net_condition(NET1));
    CHECK_INT(c1->status, DAP_CLUSTER_STATUS_DISABLED);
    CHECK_INT(c1b->status, DAP_CLUSTER_STATUS_DISABLED);
    CHECK_INT(sdk_cluster_size(c1), 0);
    CHECK_INT(sdk_cluster_size(c1b), 0);
    CHECK_INT(dap_link_manager_links_count(NET1), 0);
    CHECK_INT(dap_link_manager_established_uplinks_count(NET1), 0);
    CHECK_MSG(lm_count_changed() > changed, "link_count_changed not called when NET1 went off");
    /* NET1 forgotten by every link */
    CHECK(!lm_find(A, NET1));
    CHECK(!lm_find(B, NET1));
    CHECK(!lm_find(X, NET1));
    /* A had only NET1: deleted with its client */
    CHECK(!lm_link_exists(A));
    CHECK_INT(lm_journal_count_exact("client_delete %" PRIu64 " %s", id_a, lm_a(A)), 1);
    /* B keeps NET2 and its client */
    CHECK(lm_find(B, NET2));
    lm_link_info_t li;
    CHECK(lm_link(B, &li) && li.has_client && li.nets == 1 && li.net0 == NET2);
    /* X: static, keeps its client */
    CHECK(lm_link(X, &li) && li.has_client && li.nets == 0 && li.static_clusters == 1);
    CHECK_INT(sdk_clients_live(), 2);
    CHECK_INT(sdk_journal_count("client_delete"), 1);
    /* D: out of the cluster; NET2 untouched */
    CHECK(lm_link(D, &li) ? li.active_clusters == 0 : true);
    CHECK(dap_link_manager_get_net_condition(NET2));
    CHECK_INT(c2->status, DAP_CLUSTER_STATUS_ENABLED);
    CHECK_INT(dap_link_manager_required_links_count(NET1), 3); /* still managed */
    /* a disconnected() consultation is not part of switching a net off */
    CHECK_INT(lm_count(EV_DISCONNECTED, 0, 0), 0);

    /* ---- NET1 on again ---- */
    dap_link_manager_set_net_condition(NET1, true);
    CHECK(dap_link_manager_get_net_condition(NET1));
    CHECK_INT(c1->status, DAP_CLUSTER_STATUS_ENABLED);
    CHECK_INT(c1b->status, DAP_CLUSTER_STATUS_ENABLED);
    CHECK_INT(sdk_cluster_size(c1), 0);
    size_t created = sdk_journal_count("client_new");
    CHECK_INT(lm_create(A, NET1), 0); /* a new link, a new client */
    CHECK_INT(sdk_journal_count("client_new"), created + 1);
    CHECK(lm_find(A, NET1));
    CHECK_INT(lm_create(B, NET1), 0); /* re-associated */
    CHECK(lm_find(B, NET1) && lm_find(B, NET2));
    lm_accounting(NET1, B, true);
    lm_settle();
    CHECK_INT(dap_link_manager_links_count(NET1), 1);

    /* ---- remove NET2: B keeps NET1, nothing else changes ---- */
    dap_link_manager_remove_net(NET2);
    lm_settle();
    CHECK(!dap_link_manager_get_net_condition(NET2));
    CHECK_INT(dap_link_manager_required_links_count(NET2), 0);
    CHECK_INT(c2->status, DAP_CLUSTER_STATUS_DISABLED);
    CHECK(!lm_find(B, NET2));
    CHECK(lm_find(B, NET1));
    CHECK_INT(lm_journal_count_with(NULL, "client_delete %" PRIu64 " ", id_b), 0);

    /* ---- remove NET1: A and B have no net left: deleted with their clients; X keeps its client ---- */
    size_t live = sdk_clients_live();
    dap_link_manager_remove_net(NET1);
    lm_settle();
    CHECK(!lm_link_exists(A));
    CHECK(!lm_link_exists(B));
    CHECK_INT(sdk_clients_live(), live - 2);
    CHECK_INT(sdk_cluster_size(c1), 0);
    CHECK_INT(lm_journal_count_with(NULL, "client_delete %" PRIu64 " ", id_b), 1);
    CHECK(lm_link(X, &li) && li.has_client);

    lm_end();
    sdk_cluster_free(c1);
    sdk_cluster_free(c1b);
    sdk_cluster_free(c2);
    sdk_cluster_free(s);
}

/* Off while a client event is in flight: the late connect of a link deleted by the switch-off is ignored,
 * the client is still freed. */
static void test_net_off_with_connect_in_flight(void)
{
    lm_begin();
    REQUIRE(lm_init() == 0);
    dap_cluster_t *c = lm_net_on(NET1, "net1", 1);
    CHECK_INT(lm_create(A, NET1), 0);
    CHECK_INT(lm_wake_up(), DAP_LM_OK);
    lm_settle();
    lm_link_info_t li;
    CHECK(lm_link(A, &li) && li.state == LINK_STATE_CONNECTING);
    sdk_worker_pause();
    CHECK(sdk_client_complete_connect(A)); /* queued on the paused worker */
    dap_link_manager_set_net_condition(NET1, false);
    CHECK(!lm_link_exists(A));
    sdk_worker_resume();
    lm_settle();
    CHECK(!lm_link_exists(A));
    CHECK(!lm_established(A));
    CHECK_INT(sdk_clients_live(), 0);
    CHECK_INT(lm_count(EV_CONNECTED, 0, 0), 0);
    lm_end();
    sdk_cluster_free(c);
}

int main(void)
{
    LM_RUN(test_net_off_on_and_remove);
    LM_RUN(test_net_off_with_connect_in_flight);
    return lm_summary("test_net_onoff");
}
