/* The full life of an uplink (CONTRACT.md §4 links, §7 uplink state machine, §8 wake-up) and the
 * return codes of link_create / link_update, including FIX-LOOPBACK and allow_loopback_uplinks. */
#include "lm_test.h"

#define NET UINT64_C(0x2001)
#define NET_UNKNOWN UINT64_C(0x2999)
#define A UINT64_C(0x00000000000A0001)
#define B UINT64_C(0x00000000000B0001)
#define P UINT64_C(0x00000000000C0001)
#define DELAY 30 /* reconnect_delay, seconds */

static dap_cluster_t *setup(void)
{
    lm_begin();
    sdk_config_set("link_manager", "reconnect_delay", "30");
    if (lm_init() != 0)
        return NULL;
    return lm_net_on(NET, "net", 1);
}

static void teardown(dap_cluster_t *c)
{
    lm_end();
    sdk_cluster_free(c);
}

/* link_create: -1 own address, -5 NULL / 0, -2 unknown net (link rolled back, its client deleted),
 * -2 net already associated, 0 with a client and the net associated. */
static void test_link_create_codes(void)
{
    dap_cluster_t *c = setup();
    REQUIRE(c);
    dap_stream_node_addr_t own = lm_addr(LM_OWN_ADDR), zero = lm_addr(0);

    CHECK_INT(dap_link_manager_link_create(&own, NET), -1);
    CHECK_INT(dap_link_manager_link_create(NULL, NET), -5);
    CHECK_INT(dap_link_manager_link_create(&zero, NET), -5);
    CHECK_INT(sdk_journal_count("client_new"), 0);

    CHECK_INT(lm_create(A, NET_UNKNOWN), -2);
    lm_settle();
    CHECK(!lm_link_exists(A)); /* rolled back */
    CHECK_INT(sdk_clients_live(), 0);
    CHECK_INT(sdk_journal_count("client_new"), sdk_journal_count("client_delete"));

    size_t created = sdk_journal_count("client_new");
    CHECK_INT(lm_create(A, NET), 0);
    CHECK_INT(sdk_journal_count("client_new"), created + 1);
    CHECK(lm_find(A, NET));
    CHECK(!lm_find(A, NET_UNKNOWN));
    CHECK(!lm_established(A));
    lm_link_info_t li;
    CHECK(lm_link(A, &li));
    CHECK(li.has_client);
    CHECK_INT(li.state, LINK_STATE_DISCONNECTED);
    CHECK_INT(li.nets, 1);
    CHECK_U64(li.net0, NET);

    /* DAP_NET_ID_INVALID: a link with a client and no net */
    CHECK_INT(lm_create(B, DAP_NET_ID_INVALID), 0);
    CHECK(lm_link(B, &li) && li.has_client && li.nets == 0);
    CHECK(!lm_find(B, DAP_NET_ID_INVALID));
    CHECK_INT(sdk_journal_count("client_new"), created + 2);

    CHECK_INT(lm_create(A, NET), -2); /* already associated */
    CHECK(lm_find(A, NET));           /* and nothing undone */
    CHECK_INT(sdk_journal_count("client_new"), created + 2);
    CHECK_INT(sdk_journal_count("client_delete"), created);
#if LM_NEW_API
    dap_stream_node_addr_t a = lm_addr(A);
    CHECK_INT(dap_link_manager_link_create_sync(&a, NET, 0), DAP_LM_ERR_EXISTS);
    CHECK_INT(dap_link_manager_link_create_sync(&own, NET, 0), DAP_LM_ERR_OWN_ADDRESS);
    CHECK_INT(dap_link_manager_link_create_sync(&zero, NET, 0), DAP_LM_ERR_INVALID_ARGUMENT);
    dap_stream_node_addr_t b = lm_addr(B);
    CHECK_INT(dap_link_manager_link_create_sync(&b, NET_UNKNOWN, 0), DAP_LM_ERR_NOT_FOUND);
#endif
    lm_settle();
    CHECK_INT(sdk_clients_live(), 2);
    teardown(c);
}

/* link_update's codes are decided on the caller's thread (CONTRACT.md §4, FIX-LOOPBACK). */
static void test_link_update_codes(void)
{
    dap_cluster_t *c = setup();
    REQUIRE(c);
    CHECK_INT(lm_create(A, NET), 0);
    dap_stream_node_addr_t a = lm_addr(A), zero = lm_addr(0);

    CHECK_INT(dap_link_manager_link_update(NULL, "10.0.0.1", 80), -1);
    CHECK_INT(dap_link_manager_link_update(&zero, "10.0.0.1", 80), -1);
    CHECK_INT(dap_link_manager_link_update(&a, NULL, 80), -2);
    CHECK_INT(dap_link_manager_link_update(&a, "10.0.0.1", 0), -2);
    CHECK_INT(dap_link_manager_link_update(&a, "::", 80), -2);
    CHECK_INT(dap_link_manager_link_update(&a, "127.0.0.1", 80), -6);
    CHECK_INT(dap_link_manager_link_update(&a, "127.8.9.10", 80), -6);
    CHECK_INT(dap_link_manager_link_update(&a, "0.0.0.0", 80), -6);
    CHECK_INT(dap_link_manager_link_update(&a, "255.255.255.255", 80), -6);
    CHECK_INT(dap_link_manager_link_update(&a, "::1", 80), -6);
    CHECK_INT(dap_link_manager_link_update(&a, "no-such-host.invalid", 80), -6);
    lm_settle();
    CHECK_INT(sdk_journal_count("set_uplink"), 0); /* no refused update reached the client */

    /* FIX-LOOPBACK: 1.0.0.127 is an ordinary address (C rejected it on little-endian machines) */
    CHECK_INT(dap_link_manager_link_update(&a, "1.0.0.127", 80), 0);
    CHECK_INT(dap_link_manager_link_update(&a, "2001:db8::1", 80), 0);
    lm_settle();
    uint64_t id = lm_client_id(A);
    CHECK(id != 0);
    CHECK_INT(lm_journal_count_exact("set_uplink %" PRIu64 " %s 1.0.0.127 80", id, lm_a(A)), 1);
    CHECK_INT(lm_journal_count_exact("set_always_reconnect %" PRIu64 " 0 %s", id, lm_a(A)), 2);
    CHECK_INT(lm_journal_count_exact("set_uplink %" PRIu64 " %s 2001:db8::1 80", id, lm_a(A)), 1);
    /* applied outside fill_net_info, `ready` is not set: no connect */
    CHECK_INT(sdk_journal_count("go_stage"), 0);
    lm_link_info_t li;
    CHECK(lm_link(A, &li) && li.state == LINK_STATE_DISCONNECTED);

#if LM_NEW_API
    /* the _sync flavour names the same refusals */
    CHECK_INT(dap_link_manager_link_update_sync(&a, "127.0.0.1", 80, 0), DAP_LM_ERR_BAD_HOST);
    CHECK_INT(dap_link_manager_link_update_sync(&a, "::", 80, 0), DAP_LM_ERR_INVALID_ARGUMENT);
    CHECK_INT(dap_link_manager_link_update_sync(&a, "10.9.9.9", 80, 0), DAP_LM_OK);
#endif
    teardown(c);

    /* allow_loopback_uplinks=true: loopback accepted, any/broadcast still refused */
    lm_begin();
    sdk_config_set("link_manager", "allow_loopback_uplinks", "true");
    REQUIRE(lm_init() == 0);
    c = lm_net_on(NET, "net", 1);
    CHECK_INT(lm_create(A, NET), 0);
    CHECK_INT(dap_link_manager_link_update(&a, "127.0.0.1", 80), 0);
    CHECK_INT(dap_link_manager_link_update(&a, "::1", 80), 0);
    CHECK_INT(dap_link_manager_link_update(&a, "0.0.0.0", 80), -6);
    CHECK_INT(dap_link_manager_link_update(&a, "255.255.255.255", 80), -6);
    CHECK_INT(dap_link_manager_link_update(&a, "::", 80), -2);
    lm_settle();
    CHECK_INT(lm_journal_count_exact("set_uplink %" PRIu64 " %s 127.0.0.1 80", lm_client_id(A), lm_a(A)), 1);
    teardown(c);
}

/* The whole life: wake-up -> fill_net_info (link_update inside, then ready) -> connect -> established ->
 * stream_add(uplink) -> connected(link, net) -> accounting -> counted -> stream_delete -> uncounted ->
 * last-attempt error -> disconnected consulted -> redial only after reconnect_delay. */
static void test_uplink_full_life(void)
{
    dap_cluster_t *c = setup();
    REQUIRE(c);
    lm_set_permanent(A); /* keep it after the drop, to see the redial cadence */
    CHECK_INT(lm_create(A, NET), 0);
    CHECK_INT(lm_journal_count_exact("client_new 1"), 1);
    uint64_t id = 1; /* client ids restart at 1 after sdk_reset */

    /* wake-up: fill_net_info is called with the live record; link_update inside it is applied after
     * the callback returned, with `ready` set, so the client is sent to STREAMING */
    sdk_journal_clear();
    CHECK_INT(lm_wake_up(), DAP_LM_OK);
    lm_settle();
    CHECK_INT(lm_count(EV_FILL, A, 0), 1);
    CHECK_INT(g_rec.last_update_rc, 0);
    char host[64];
    lm_host_of(A, host, sizeof(host));
    long i_up = lm_journal_find_from(0, "set_uplink %" PRIu64 " %s %s %d", id, lm_a(A), host, LM_PORT);
    long i_rc = lm_journal_find_from(0, "set_always_reconnect %" PRIu64 " 0 %s", id, lm_a(A));
    long i_ch = lm_journal_find_from(0, "set_active_channels %" PRIu64 " RCGEND %s", id, lm_a(A));
    long i_go = lm_journal_find_from(0, "go_stage %" PRIu64 " %d %s", id, STAGE_STREAM_STREAMING, lm_a(A));
    CHECK_MSG(i_up >= 0 && i_rc > i_up && i_ch > i_up && i_go > i_rc && i_go > i_ch,
              "journal order set_uplink(%ld) < always_reconnect(%ld), channels(%ld) < go_stage(%ld)", i_up, i_rc,
              i_ch, i_go);
    CHECK_INT(lm_client_id(A), id);
    lm_link_info_t li;
    CHECK(lm_link(A, &li) && li.state == LINK_STATE_CONNECTING);
    CHECK(!lm_established(A));

    /* the peer accepts */
    CHECK(sdk_client_complete_connect(A));
    lm_settle();
    CHECK(lm_established(A));
    CHECK(lm_link(A, &li));
    CHECK_INT(li.state, LINK_STATE_ESTABLISHED);
    CHECK_U64(li.es_uuid, (UINT64_C(0xC1) << 56) | id);
    CHECK_INT(li.attempts, 0);
    CHECK_INT(lm_count(EV_CONNECTED, 0, 0), 0); /* not before the stream is reported */
    /* §3: established uplinks are ESTABLISHED links whose is_uplink is set (by stream_add) */
    CHECK_INT(dap_link_manager_established_uplinks_count(NET), 0);

    /* the stream layer reports the uplink stream: connected(link, net) for the active net */
    CHECK_INT(lm_stream_add(A, true), 0);
    lm_settle();
    CHECK_INT(lm_count(EV_CONNECTED, A, NET), 1);
    CHECK_INT(lm_count(EV_CONNECTED, 0, 0), 1);
    CHECK(lm_link(A, &li) && li.is_uplink);
    CHECK_INT(dap_link_manager_links_count(NET), 0); /* not accounted yet */
    CHECK_INT(dap_link_manager_established_uplinks_count(NET), 1);

    /* the node's ANNOUNCE went through: accounted in the net */
    size_t changed = lm_count_changed();
    lm_accounting(NET, A, true);
    lm_settle();
    CHECK(sdk_cluster_has(c, A));
    CHECK_INT(lm_journal_count_exact("cluster_add net %s", lm_a(A)), 1);
    CHECK_INT(dap_link_manager_links_count(NET), 1);
    CHECK_INT(dap_link_manager_established_uplinks_count(NET), 1);
    CHECK_MSG(lm_count_changed() > changed, "link_count_changed not called after the accounting");
    CHECK(lm_link(A, &li) && li.active_clusters == 1 && li.active0 == c);
    char *info = dap_link_manager_get_links_info();
    CHECK(info && strstr(info, lm_a(A)) != NULL); /* §9: JSON of the links, with their addresses */
    free(info);
    size_t up = 9, down = 9;
    dap_stream_node_addr_t *addrs = dap_link_manager_get_net_links_addrs(NET, &up, &down, true);
    CHECK_INT(up, 1);
    CHECK_INT(down, 0);
    CHECK(addrs && addrs[0].uint64 == A);
    free(addrs);

    /* the stream goes away: out of the cluster, the link (it has a client) stays */
    changed = lm_count_changed();
    lm_stream_delete(A);
    lm_settle();
    CHECK(!sdk_cluster_has(c, A));
    CHECK_INT(dap_link_manager_links_count(NET), 0);
    CHECK_MSG(lm_count_changed() > changed, "link_count_changed not called after stream_delete");
    CHECK(lm_find(A, NET));
    CHECK(lm_link(A, &li) && li.stream_is_destroyed && li.active_clusters == 0);
    CHECK_INT(lm_journal_count_exact("client_delete %" PRIu64 " %s", id, lm_a(A)), 0);

    /* the client gives up (last attempt): disconnected(link, net, primary count) is consulted */
    CHECK(sdk_client_fail(A, true));
    lm_settle();
    CHECK_INT(lm_count(EV_DISCONNECTED, A, NET), 1);
    lm_ev_t ev = {0};
    CHECK(lm_last(EV_DISCONNECTED, A, &ev) && ev.arg == 0 && ev.ret);
    CHECK_INT(lm_count(EV_ERROR, A, 0), 0); /* last attempt: error() is not called */
    CHECK(lm_link(A, &li));
    CHECK_INT(li.state, LINK_STATE_DISCONNECTED);
    CHECK_U64(li.start_after, LM_T0_NS / LM_SEC + DELAY);
    CHECK(lm_find(A, NET)); /* permanent: kept with its net */
    CHECK_INT(lm_journal_count_exact("go_stage %" PRIu64 " %d %s", id, STAGE_BEGIN, lm_a(A)), 1);
    CHECK(!lm_established(A));
    CHECK_INT(dap_link_manager_established_uplinks_count(NET), 0);

    /* no redial before reconnect_delay has passed */
    size_t fills = lm_count(EV_FILL, A, 0);
    CHECK_INT(lm_wake_up(), DAP_LM_OK);
    CHECK_INT(dap_link_manager_test_clock_advance((DELAY - 1) * LM_SEC), DAP_LM_OK);
    CHECK_INT(lm_wake_up(), DAP_LM_OK);
    CHECK_INT(dap_link_manager_test_clock_advance(LM_SEC), DAP_LM_OK); /* now == start_after: still not */
    CHECK_INT(lm_wake_up(), DAP_LM_OK);
    lm_settle();
    CHECK_INT(lm_count(EV_FILL, A, 0), fills);
    CHECK_INT(dap_link_manager_test_clock_advance(LM_SEC), DAP_LM_OK);
    CHECK_INT(lm_wake_up(), DAP_LM_OK);
    lm_settle();
    CHECK_INT(lm_count(EV_FILL, A, 0), fills + 1);
    CHECK_INT(lm_journal_count_exact("go_stage %" PRIu64 " %d %s", id, STAGE_STREAM_STREAMING, lm_a(A)), 2);
    CHECK_INT(sdk_journal_count("client_new"), 0); /* the same client redials (journal was cleared) */
    CHECK(lm_link(A, &li) && li.state == LINK_STATE_CONNECTING);

    CHECK(!lm_any_on_main()); /* every callback ran on the library's thread */
    teardown(c);
}

/* Not permanent: after the last attempt the net lets it go and the link and its client are deleted. */
static void test_uplink_dropped_when_not_permanent(void)
{
    dap_cluster_t *c = setup();
    REQUIRE(c);
    REQUIRE(lm_connect_uplink(B, NET));
    uint64_t id = lm_client_id(B);
    CHECK_INT(sdk_clients_live(), 1);
    sdk_stream_open(B, 0xB0B); /* B also has a downlink stream to us */
    CHECK_INT(sdk_streams_count(B), 2); /* that one and the uplink's own */
    CHECK(sdk_client_fail(B, true));
    lm_settle();
    /* §7 delete: the downlink streams to B are closed, the client's own stream is not closed by uuid */
    CHECK_INT(lm_journal_count_exact("stream_close %s %" PRIu64, lm_a(B), UINT64_C(0xB0B)), 1);
    CHECK_INT(lm_journal_count_with(NULL, "stream_close %s %" PRIu64, lm_a(B), (UINT64_C(0xC1) << 56) | id), 0);
    CHECK_INT(sdk_streams_count(B), 0);
    CHECK_INT(lm_count(EV_DISCONNECTED, B, NET), 1);
    CHECK(!lm_find(B, NET));
    CHECK(!lm_link_exists(B));
    CHECK_INT(lm_journal_count_exact("client_delete %" PRIu64 " %s", id, lm_a(B)), 1);
    CHECK_INT(sdk_clients_live(), 0);
    teardown(c);
}

/* A stream error that is not the last attempt: error(link, net, stage target) for each net; an
 * established link leaves its clusters but keeps its client (delete preserving the client). */
static void test_uplink_error_not_last(void)
{
    dap_cluster_t *c = setup();
    REQUIRE(c);
    REQUIRE(lm_connect_uplink(B, NET));
    uint64_t id = lm_client_id(B);
    CHECK_INT(lm_stream_add(B, true), 0);
    lm_accounting(NET, B, true);
    lm_settle();
    CHECK(sdk_cluster_has(c, B));
    CHECK(sdk_client_fail(B, false));
    lm_settle();
    CHECK_INT(lm_count(EV_ERROR, B, NET), 1);
    lm_ev_t ev = {0};
    CHECK(lm_last(EV_ERROR, B, &ev) && ev.arg == STAGE_STREAM_STREAMING);
    CHECK_INT(lm_count(EV_DISCONNECTED, B, 0), 0);
    CHECK(!sdk_cluster_has(c, B));
    CHECK_INT(dap_link_manager_links_count(NET), 0);
    CHECK_INT(lm_journal_count_exact("client_delete %" PRIu64 " %s", id, lm_a(B)), 0);
    CHECK_INT(sdk_clients_live(), 1);
    teardown(c);
}

/* fill_net_info returning non-zero with no port known: the uplink is dropped as disconnected. */
static void test_fill_net_info_no_info(void)
{
    dap_cluster_t *c = setup();
    REQUIRE(c);
    g_rec.fill_mode = LM_FILL_NO_INFO;
    CHECK_INT(lm_create(B, NET), 0);
    CHECK_INT(lm_wake_up(), DAP_LM_OK);
    lm_settle();
    CHECK_INT(lm_count(EV_FILL, B, 0), 1);
    CHECK_INT(lm_count(EV_DISCONNECTED, B, NET), 1);
    CHECK(!lm_link_exists(B));
    CHECK_INT(sdk_journal_count("go_stage 1 5"), 0);
    CHECK_INT(sdk_clients_live(), 0);
    teardown(c);
}

/* CONTRACT.md §12.14: a permanent link whose host refuses every attempt is never deleted and is redialed
 * once per reconnect_delay, with the same client, for as long as it takes. */
static void test_permanent_refusing_link_keeps_retrying(void)
{
    dap_cluster_t *c = setup();
    REQUIRE(c);
    char host[64];
    lm_host_of(P, host, sizeof(host));
    sdk_net_script(host, LM_PORT, SDK_NET_REFUSE, 0, true);
    lm_set_permanent(P);
    CHECK_INT(lm_create(P, NET), 0);
    for (int round = 1; round <= 6; round++) {
        CHECK_INT(lm_wake_up(), DAP_LM_OK);
        lm_settle();
        CHECK_MSG(lm_count(EV_FILL, P, 0) == (size_t)round, "round %d: %zu fill_net_info calls", round,
                  lm_count(EV_FILL, P, 0));
        CHECK_MSG(lm_count(EV_DISCONNECTED, P, NET) == (size_t)round, "round %d: %zu disconnected calls", round,
                  lm_count(EV_DISCONNECTED, P, NET));
        CHECK(lm_find(P, NET));
        lm_link_info_t li;
        CHECK(lm_link(P, &li) && li.state == LINK_STATE_DISCONNECTED && li.has_client);
        /* inside the delay: nothing */
        CHECK_INT(dap_link_manager_test_clock_advance(DELAY * LM_SEC / 2), DAP_LM_OK);
        CHECK_INT(lm_wake_up(), DAP_LM_OK);
        lm_settle();
        CHECK_INT(lm_count(EV_FILL, P, 0), round);
        CHECK_INT(dap_link_manager_test_clock_advance(DELAY * LM_SEC / 2 + LM_SEC), DAP_LM_OK);
    }
    CHECK_INT(sdk_journal_count("client_new"), 1);
    CHECK_INT(sdk_journal_count("client_delete"), 0);
    CHECK_INT(sdk_journal_count("go_stage 1 5"), 6);
    teardown(c);
}

/* stream_add(uplink) calls connected() only for the link's ACTIVE nets (CONTRACT.md §5). */
static void test_connected_only_for_active_nets(void)
{
    dap_cluster_t *c = setup();
    REQUIRE(c);
    dap_cluster_t *c2 = lm_links_cluster("net2");
    CHECK_INT(dap_link_manager_add_net(NET + 1, c2, 1), 0); /* stays inactive */
    REQUIRE(lm_connect_uplink(A, NET));
    CHECK_INT(lm_create(A, NET + 1), 0);
    CHECK(lm_find(A, NET) && lm_find(A, NET + 1));
    CHECK_INT(lm_stream_add(A, true), 0);
    lm_settle();
    CHECK_INT(lm_count(EV_CONNECTED, A, NET), 1);
    CHECK_INT(lm_count(EV_CONNECTED, A, NET + 1), 0);
    lm_end();
    sdk_cluster_free(c);
    sdk_cluster_free(c2);
}

/* link_update applied to a link that is not DISCONNECTED is dropped (CONTRACT.md §4). */
static void test_link_update_ignored_while_connecting(void)
{
    dap_cluster_t *c = setup();
    REQUIRE(c);
    CHECK_INT(lm_create(A, NET), 0);
    CHECK_INT(lm_wake_up(), DAP_LM_OK);
    lm_settle();
    lm_link_info_t li;
    CHECK(lm_link(A, &li) && li.state == LINK_STATE_CONNECTING);
    size_t updates = sdk_journal_count("set_uplink");
    CHECK_INT(lm_update(A, "10.200.0.1", 9000), 0); /* accepted on the caller's thread ... */
    lm_settle();
    CHECK_INT(sdk_journal_count("set_uplink"), updates); /* ... but not applied */
    CHECK(lm_link(A, &li) && li.state == LINK_STATE_CONNECTING);
    teardown(c);
}

/* Wake-up (CONTRACT.md §8): a client that is not at BEGIN is sent there first and dialed on the next
 * pass; fill_net_info answering "no info" connects at once when the client already has a port. */
static void test_wake_up_client_not_at_begin_and_no_info_with_port(void)
{
    dap_cluster_t *c = setup();
    REQUIRE(c);
    CHECK_INT(lm_create(A, NET), 0);
    CHECK_INT(lm_update(A, "10.1.1.1", 7000), 0); /* known address and port, ready not set */
    lm_settle();
    dap_client_t *cl = sdk_client_find(A);
    REQUIRE(cl != NULL);
    uint64_t id = sdk_client_id(cl);
    /* someone moved the client off BEGIN behind the library's back */
    dap_client_go_stage(cl, STAGE_STREAM_CTL, NULL);
    CHECK(dap_client_get_stage(cl) != STAGE_BEGIN);
    sdk_journal_clear();
    CHECK_INT(lm_wake_up(), DAP_LM_OK);
    lm_settle();
    CHECK_INT(lm_count(EV_FILL, A, 0), 0);
    CHECK_INT(lm_journal_count_exact("go_stage %" PRIu64 " %d %s", id, STAGE_BEGIN, lm_a(A)), 1);
    CHECK_INT(dap_client_get_stage(cl), STAGE_BEGIN);

    /* next pass: fill_net_info says "no info", the client has a port: connect at once */
    g_rec.fill_mode = LM_FILL_NO_INFO;
    CHECK_INT(lm_wake_up(), DAP_LM_OK);
    lm_settle();
    CHECK_INT(lm_count(EV_FILL, A, 0), 1);
    CHECK_INT(lm_journal_count_exact("go_stage %" PRIu64 " %d %s", id, STAGE_STREAM_STREAMING, lm_a(A)), 1);
    lm_link_info_t li;
    CHECK(lm_link(A, &li) && li.state == LINK_STATE_CONNECTING);
    CHECK_INT(lm_count(EV_DISCONNECTED, A, 0), 0);
    teardown(c);
}

/* A stream error (flag clear) on a link that is in active clusters but not ESTABLISHED: error() with the
 * client's stage target, then the client goes back to BEGIN and the link is DISCONNECTED (§7). */
static void test_error_not_last_on_unestablished_member(void)
{
    dap_cluster_t *c = setup();
    REQUIRE(c);
    CHECK_INT(lm_stream_add(A, false), 0);
    lm_accounting(NET, A, true);
    CHECK_INT(lm_create(A, NET), 0);
    CHECK_INT(lm_update(A, "10.3.3.3", 7000), 0);
    lm_settle();
    CHECK(sdk_cluster_has(c, A));
    uint64_t id = lm_client_id(A);
    REQUIRE(id != 0);
    CHECK(sdk_client_fail(A, false));
    lm_settle();
    lm_ev_t ev = {0};
    CHECK(lm_last(EV_ERROR, A, &ev));
    CHECK_INT(ev.net, NET);
    CHECK_INT(ev.arg, STAGE_BEGIN);
    CHECK_INT(lm_journal_count_exact("go_stage %" PRIu64 " %d %s", id, STAGE_BEGIN, lm_a(A)), 1);
    lm_link_info_t li;
    CHECK(lm_link(A, &li) && li.state == LINK_STATE_DISCONNECTED && li.has_client);
    CHECK(sdk_cluster_has(c, A));
    teardown(c);
}

/* accounting(!ok) of a permanent link: out of the clusters, start_after = now + reconnect_delay, kept
 * with its net and client (CONTRACT.md §6). */
static void test_accounting_refused_permanent(void)
{
    dap_cluster_t *c = setup();
    REQUIRE(c);
    lm_set_permanent(A);
    REQUIRE(lm_connect_uplink(A, NET));
    CHECK_INT(lm_stream_add(A, true), 0);
    lm_accounting(NET, A, true);
    lm_settle();
    CHECK(sdk_cluster_has(c, A));
    CHECK_INT(dap_link_manager_test_clock_advance(5 * LM_SEC), DAP_LM_OK);
    lm_accounting(NET, A, false);
    lm_settle();
    CHECK(!sdk_cluster_has(c, A));
    CHECK_INT(lm_count(EV_DISCONNECTED, A, NET), 1);
    lm_link_info_t li;
    CHECK(lm_link(A, &li));
    CHECK_U64(li.start_after, LM_T0_NS / LM_SEC + 5 + DELAY);
    CHECK(li.has_client);
    CHECK(lm_find(A, NET));
    CHECK_INT(sdk_journal_count("client_delete"), 0);
    teardown(c);
}

/* stream_replace up -> down on a link with a client: client back to BEGIN, DISCONNECTED (§5). */
static void test_stream_replace_uplink_to_downlink(void)
{
    dap_cluster_t *c = setup();
    REQUIRE(c);
    REQUIRE(lm_connect_uplink(A, NET));
    uint64_t id = lm_client_id(A);
    CHECK_INT(lm_stream_add(A, true), 0);
    lm_accounting(NET, A, true);
    lm_settle();
    CHECK_INT(lm_journal_count_exact("go_stage %" PRIu64 " %d %s", id, STAGE_BEGIN, lm_a(A)), 0);
    lm_stream_replace(A, false);
    lm_settle();
    CHECK_INT(lm_journal_count_exact("go_stage %" PRIu64 " %d %s", id, STAGE_BEGIN, lm_a(A)), 1);
    lm_link_info_t li;
    CHECK(lm_link(A, &li));
    CHECK(!li.is_uplink);
    CHECK_INT(li.state, LINK_STATE_DISCONNECTED);
    CHECK(sdk_cluster_has(c, A)); /* still counted, now as a downlink */
    CHECK_INT(dap_link_manager_established_uplinks_count(NET), 0);
    size_t up = 9, down = 9;
    free(dap_link_manager_get_net_links_addrs(NET, &up, &down, false));
    CHECK_INT(up, 0);
    CHECK_INT(down, 1);
    teardown(c);
}

/* With max_attempts_num 3, failed attempts are counted and a successful connect resets them (§7). */
static void test_attempts_counted_and_reset(void)
{
    lm_begin();
    sdk_config_set("link_manager", "max_attempts_num", "3");
    sdk_config_set("link_manager", "reconnect_delay", "30");
    REQUIRE(lm_init() == 0);
    dap_cluster_t *c = lm_net_on(NET, "net", 1);
    char host[64];
    lm_host_of(A, host, sizeof(host));
    sdk_net_script(host, LM_PORT, SDK_NET_REFUSE, 0, true);
    CHECK_INT(lm_create(A, NET), 0);
    CHECK_INT(lm_wake_up(), DAP_LM_OK);
    lm_settle();
    lm_link_info_t li;
    CHECK(lm_link(A, &li) && li.attempts == 1 && li.state == LINK_STATE_DISCONNECTED);
    CHECK_INT(lm_count(EV_DISCONNECTED, A, 0), 0); /* not the last attempt yet */
    sdk_net_script(host, LM_PORT, SDK_NET_ACCEPT, 0, false);
    CHECK_INT(dap_link_manager_test_clock_advance((DELAY + 1) * LM_SEC), DAP_LM_OK);
    CHECK_INT(lm_wake_up(), DAP_LM_OK);
    lm_settle();
    CHECK(lm_established(A));
    CHECK(lm_link(A, &li) && li.attempts == 0);
    teardown(c);
}

int main(void)
{
    LM_RUN(test_link_create_codes);
    LM_RUN(test_link_update_codes);
    LM_RUN(test_uplink_full_life);
    LM_RUN(test_uplink_dropped_when_not_permanent);
    LM_RUN(test_uplink_error_not_last);
    LM_RUN(test_fill_net_info_no_info);
    LM_RUN(test_permanent_refusing_link_keeps_retrying);
    LM_RUN(test_connected_only_for_active_nets);
    LM_RUN(test_link_update_ignored_while_connecting);
    LM_RUN(test_wake_up_client_not_at_begin_and_no_info_with_port);
    LM_RUN(test_error_not_last_on_unestablished_member);
    LM_RUN(test_accounting_refused_permanent);
    LM_RUN(test_stream_replace_uplink_to_downlink);
    LM_RUN(test_attempts_counted_and_reset);
    return lm_summary("test_uplink_life");
}
