/* Smoke test of the lock-based C baseline (libdap_link_manager_legacy): one pass through the life of a
 * link against the stand-in SDK, with node callbacks that re-enter the library the way the node does.
 * Checks return codes, callbacks (and that they run on one library thread), cluster membership and the
 * "not initialised" answers after deinit. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dap_link_manager.h"
#include "sdk_standin.h"

static int s_failures;
#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);                                   \
            s_failures++;                                                                                              \
        }                                                                                                              \
    } while (0)
#define CHECK_EQ(a, b)                                                                                                 \
    do {                                                                                                               \
        long long a_ = (long long)(a), b_ = (long long)(b);                                                            \
        if (a_ != b_) {                                                                                                \
            fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n", __FILE__, __LINE__, #a, a_, b_);                     \
            s_failures++;                                                                                              \
        }                                                                                                              \
    } while (0)

/* Waits (up to 5 s) for a condition the library reaches asynchronously. */
#define WAIT_FOR(cond_fn) CHECK(wait_for_ms(5000, cond_fn))

static const uint64_t OWN = UINT64_C(0x00000000000000AA);
static const uint64_t NET = UINT64_C(0x0000000000000101);
static const uint64_t NET_UNKNOWN = UINT64_C(0x0000000000000999);
static const uint64_t A = UINT64_C(0x0001000200030004);  /* uplink */
static const uint64_t D = UINT64_C(0x00000000000000D1);  /* accounted downlink */
static const uint64_t D2 = UINT64_C(0x00000000000000D2); /* add/accounting/delete burst */
static const uint64_t G = UINT64_C(0x00000000000000E1);  /* ghost downlink */
static const uint64_t B = UINT64_C(0x00000000000000B1);  /* link_update target that has no link */

/* ---- what the node saw ---- */
static atomic_int s_fill, s_connected, s_disconnected, s_error, s_request, s_count_changed;
static atomic_int s_wrong_thread;
static atomic_int s_reentry_rc = 99;     /* link_create from inside link_request */
static atomic_int s_update_rc = 99;      /* link_update from inside fill_net_info */
static atomic_size_t s_links_seen_in_cb; /* links_count from inside link_count_changed */
static atomic_size_t s_up_seen_in_cb = 99;
/* The peer accounts us after each ANNOUNCE once it has seen our stream. The wake-up also calls
 * `connected` for an ESTABLISHED link outside the primary cluster, possibly before stream_add is applied;
 * an accounting queued then would make stream_add find the link "already in active clusters". */
static atomic_bool s_peer_answers;
static pthread_t s_cb_thread;
static atomic_bool s_cb_thread_set;
static pthread_t s_main_thread;

static void note_thread(void)
{
    if (pthread_equal(pthread_self(), s_main_thread))
        atomic_fetch_add(&s_wrong_thread, 1);
    bool expected = false;
    if (atomic_compare_exchange_strong(&s_cb_thread_set, &expected, true))
        s_cb_thread = pthread_self();
    else if (!pthread_equal(s_cb_thread, pthread_self()))
        atomic_fetch_add(&s_wrong_thread, 1);
}

static void cb_connected(dap_link_t *link, uint64_t net)
{
    note_thread();
    /* The node sends ANNOUNCE; the peer's answer arrives as accounting. Getters answer at once. */
    size_t up = 99, down = 99;
    dap_stream_node_addr_t *addrs = dap_link_manager_get_net_links_addrs(net, &up, &down, false);
    free(addrs);
    atomic_store(&s_up_seen_in_cb, up);
    (void)dap_link_manager_link_find(&link->addr, net);
    if (atomic_load(&s_peer_answers)) /* queued, applied after we return */
        dap_link_manager_accounting_link_in_net(net, &link->addr, true);
    atomic_fetch_add(&s_connected, 1); /* last: the test waits on it */
}

static bool cb_disconnected(dap_link_t *link, uint64_t net, int count)
{
    (void)link, (void)net, (void)count;
    note_thread();
    atomic_fetch_add(&s_disconnected, 1);
    return false;
}

static void cb_error(dap_link_t *link, uint64_t net, int stage)
{
    (void)net, (void)stage;
    note_thread();
    atomic_fetch_add(&s_error, 1);
    (void)link->uplink.client;
    (void)dap_link_manager_links_count(net);
    (void)dap_link_manager_required_links_count(net);
}

static int cb_fill_net_info(dap_link_t *link)
{
    note_thread();
    if (link->addr.uint64 != A) {
        atomic_fetch_add(&s_fill, 1);
        return -1;
    }
    atomic_store(&s_update_rc, dap_link_manager_link_update(&link->addr, "10.0.0.1", 8079));
    link->uplink.ready = true; /* after link_update returned, as the node does */
    atomic_fetch_add(&s_fill, 1);
    return 0;
}

static int cb_link_request(uint64_t net)
{
    note_thread();
    /* The balancer's calls, made inline: a synchronous call must not deadlock on the library's lock. */
    (void)dap_link_manager_needed_links_count(net);
    size_t n = 0;
    free(dap_link_manager_get_ignored_addrs(&n, net));
    dap_stream_node_addr_t a = {.uint64 = A};
    atomic_store(&s_reentry_rc, dap_link_manager_link_create(&a, net));
    atomic_fetch_add(&s_request, 1); /* last: the test waits on it */
    return 0;
}

static int cb_link_count_changed(void)
{
    note_thread();
    atomic_store(&s_links_seen_in_cb, dap_link_manager_links_count(NET));
    (void)dap_link_manager_required_links_count(NET);
    atomic_fetch_add(&s_count_changed, 1);
    return 0;
}

static const dap_link_manager_callbacks_t s_callbacks = {
    .connected = cb_connected,
    .disconnected = cb_disconnected,
    .error = cb_error,
    .fill_net_info = cb_fill_net_info,
    .link_request = cb_link_request,
    .link_count_changed = cb_link_count_changed,
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static bool wait_for_ms(unsigned ms, bool (*cond)(void))
{
    uint64_t end = now_ms() + ms;
    while (!cond()) {
        if (now_ms() > end)
            return false;
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return true;
}

static dap_stream_node_addr_t addr_of(uint64_t a)
{
    dap_stream_node_addr_t r = {.uint64 = a};
    return r;
}

static bool info_has(uint64_t a)
{
    char s[SDK_ADDR_STRLEN], needle[SDK_ADDR_STRLEN + 16];
    snprintf(needle, sizeof(needle), "\"addr\":\"%s\"", sdk_addr_str(a, s));
    char *info = dap_link_manager_get_links_info();
    bool r = info && strstr(info, needle);
    free(info);
    return r;
}

/* ---- before init: every call answers "not initialised"; channels work (FIX-CHANNELS-GLOBAL) ---- */
static void test_before_init(dap_cluster_t *cluster)
{
    dap_stream_node_addr_t a = addr_of(A);
    CHECK(dap_link_manager_get_default() == NULL);
    CHECK(!dap_link_manager_get_condition());
    CHECK_EQ(dap_link_manager_add_net(NET, cluster, 2), -2);
    CHECK_EQ(dap_link_manager_link_create(&a, NET), -3);
    CHECK_EQ(dap_link_manager_link_create(NULL, NET), -5);
    CHECK_EQ(dap_link_manager_stream_add(&a, false), -1);
    CHECK_EQ(dap_link_manager_link_update(&a, "10.0.0.1", 80), -1);
    CHECK_EQ(dap_link_manager_links_count(NET), 0);
    CHECK(dap_link_manager_get_links_info() == NULL);
    dap_link_manager_stream_delete(&a); /* no crash (FIX-BEFORE-INIT) */
    CHECK(strcmp(dap_link_manager_get_active_channels(), "RCGEND") == 0);
    CHECK_EQ(dap_link_manager_add_active_channel('R'), 0);
    CHECK_EQ(dap_link_manager_add_active_channel('X'), -3);
    sdk_ch_proc_register('X');
    CHECK_EQ(dap_link_manager_add_active_channel('X'), 0);
    CHECK(strcmp(dap_link_manager_get_active_channels(), "RCGENDX") == 0);
    CHECK_EQ(dap_link_manager_remove_active_channel('X'), 0);
    CHECK_EQ(dap_link_manager_remove_active_channel('X'), -2);
    CHECK(strcmp(dap_link_manager_get_active_channels(), "RCGEND") == 0);
    CHECK_EQ(dap_link_manager_init(NULL), -2);
    dap_link_manager_callbacks_t no_fill = s_callbacks;
    no_fill.fill_net_info = NULL;
    CHECK_EQ(dap_link_manager_init(&no_fill), -2);
    CHECK(dap_link_manager_new(&no_fill) == NULL);
    dap_link_manager_t *m = dap_link_manager_new(&s_callbacks);
    CHECK(m && m->callbacks.fill_net_info == cb_fill_net_info);
    free(m);
}

static bool cond_request(void)
{
    return atomic_load(&s_request) >= 1;
}
static bool cond_fill(void)
{
    return atomic_load(&s_fill) >= 1;
}
static bool cond_established(void)
{
    dap_stream_node_addr_t a = addr_of(A);
    return dap_link_manager_link_is_established(&a);
}
static bool cond_links_1(void)
{
    return dap_link_manager_links_count(NET) == 1;
}
static bool cond_links_2(void)
{
    return dap_link_manager_links_count(NET) == 2;
}
static bool cond_links_0(void)
{
    return dap_link_manager_links_count(NET) == 0;
}
static bool cond_cb_saw_1(void)
{
    return atomic_load(&s_links_seen_in_cb) == 1;
}
static bool cond_connected(void)
{
    return atomic_load(&s_connected) >= 1;
}
static bool cond_no_g(void)
{
    return !info_has(G);
}
static bool cond_no_d(void)
{
    return !info_has(D);
}
static bool cond_b_warned(void)
{
    return sdk_log_count("no such link") >= 1;
}
static bool s_d2_seen;
static bool cond_d2_gone(void)
{
    if (info_has(D2))
        s_d2_seen = true;
    return !info_has(D2) && dap_link_manager_links_count(NET) == 1;
}

int main(void)
{
    s_main_thread = pthread_self();
    sdk_set_node_addr(OWN);
    sdk_config_set("link_manager", "timer_update_states", "40");
    dap_cluster_t *cluster =
        sdk_cluster_new("net1", dap_link_manager_add_links_cluster, dap_link_manager_remove_links_cluster, NULL);

    test_before_init(cluster);

    /* ---- init ---- */
    CHECK_EQ(dap_link_manager_init(&s_callbacks), 0);
    CHECK_EQ(dap_link_manager_init(&s_callbacks), -2);
    CHECK(dap_link_manager_get_default() != NULL);
    CHECK(dap_link_manager_get_condition());

    /* ---- nets ---- */
    CHECK_EQ(dap_link_manager_add_net(0, cluster, 2), -2);
    CHECK_EQ(dap_link_manager_add_net(NET, NULL, 2), -2);
    CHECK_EQ(dap_link_manager_add_net(NET, cluster, 2), 0);
    CHECK_EQ(dap_link_manager_add_net(NET, cluster, 2), -3);
    CHECK_EQ(dap_link_manager_add_net(NET, cluster, 2), -3); /* no lock left held (FIX-ADDNET-LOCK) */
    CHECK_EQ(dap_link_manager_add_net_associate(NET_UNKNOWN, cluster), -3);
    CHECK_EQ(dap_link_manager_add_net_associate(NET, cluster), -4);
    CHECK(!dap_link_manager_get_net_condition(NET));
    CHECK_EQ(dap_link_manager_required_links_count(NET), 2);
    CHECK_EQ(dap_link_manager_needed_links_count(NET_UNKNOWN), 0);
    dap_link_manager_set_net_condition(NET, true);
    CHECK(dap_link_manager_get_net_condition(NET));
    CHECK_EQ(cluster->status, DAP_CLUSTER_STATUS_ENABLED);

    /* ---- link_create ---- */
    dap_stream_node_addr_t a = addr_of(A), own = addr_of(OWN), zero = addr_of(0), b = addr_of(B);
    CHECK_EQ(dap_link_manager_link_create(&a, NET), 0);
    CHECK_EQ(dap_link_manager_link_create(&a, NET), -2);
    CHECK_EQ(dap_link_manager_link_create(&own, NET), -1);
    CHECK_EQ(dap_link_manager_link_create(&zero, NET), -5);
    CHECK_EQ(dap_link_manager_link_create(&b, NET_UNKNOWN), -2);
    CHECK(dap_link_manager_link_find(&a, NET));
    CHECK(!dap_link_manager_link_find(&b, NET));
    size_t n_hot = 0;
    dap_stream_node_addr_t *hot = dap_link_manager_get_ignored_addrs(&n_hot, NET);
    CHECK(hot && n_hot == 1 && hot[0].uint64 == A);
    free(hot);
    n_hot = 0;
    hot = dap_link_manager_get_ignored_addrs(&n_hot, NET_UNKNOWN); /* stamped though the net is unknown */
    CHECK(hot && n_hot == 1 && hot[0].uint64 == B);
    free(hot);
    sdk_quiesce(); /* the client the unknown-net attempt made and rolled back is freed asynchronously */
    CHECK_EQ(sdk_clients_live(), 1);
    CHECK(!info_has(B));

    /* ---- link_update validation (FIX-LOOPBACK) ---- */
    CHECK_EQ(dap_link_manager_link_update(NULL, "10.0.0.1", 80), -1);
    CHECK_EQ(dap_link_manager_link_update(&b, NULL, 80), -2);
    CHECK_EQ(dap_link_manager_link_update(&b, "10.0.0.1", 0), -2);
    CHECK_EQ(dap_link_manager_link_update(&b, "::", 80), -2);
    CHECK_EQ(dap_link_manager_link_update(&b, "127.0.0.1", 80), -6);
    CHECK_EQ(dap_link_manager_link_update(&b, "127.9.8.7", 80), -6);
    CHECK_EQ(dap_link_manager_link_update(&b, "0.0.0.0", 80), -6);
    CHECK_EQ(dap_link_manager_link_update(&b, "255.255.255.255", 80), -6);
    CHECK_EQ(dap_link_manager_link_update(&b, "::1", 80), -6);
    CHECK_EQ(dap_link_manager_link_update(&b, "::ffff:127.0.0.1", 80), -6);
    CHECK_EQ(dap_link_manager_link_update(&b, "localhost", 80), -6);
    CHECK_EQ(dap_link_manager_link_update(&b, "no-such-host.invalid", 80), -6);
    CHECK_EQ(dap_link_manager_link_update(&b, "1.0.0.127", 80), 0); /* queued; B has no link: logged */
    WAIT_FOR(cond_b_warned);

    /* ---- tick: links request (inline link_create from the callback), then wake-up -> fill_net_info ---- */
    WAIT_FOR(cond_request);
    CHECK_EQ(atomic_load(&s_reentry_rc), -2); /* A is already associated with NET */
    WAIT_FOR(cond_fill);
    CHECK_EQ(atomic_load(&s_update_rc), 0);
    CHECK(sdk_journal_wait("go_stage", 1, 5000)); /* link_update applied with ready: connecting */
    dap_client_t *client = sdk_client_find(A);
    CHECK(client != NULL);
    if (client) {
        CHECK(strcmp(client->link_info.uplink_addr, "10.0.0.1") == 0);
        CHECK_EQ(client->link_info.uplink_port, 8079);
        CHECK(client->active_channels && strcmp(client->active_channels, "RCGEND") == 0);
        CHECK(client->del_arg);
    }
    CHECK(sdk_client_complete_connect(A));
    WAIT_FOR(cond_established);

    /* ---- uplink stream: connected -> (node) accounting ok -> member of the primary cluster ---- */
    int changed_before = atomic_load(&s_count_changed);
    CHECK_EQ(dap_link_manager_stream_add(&a, true), 0);
    atomic_store(&s_peer_answers, true); /* after the push: any accounting is queued behind stream_add */
    WAIT_FOR(cond_connected);
    WAIT_FOR(cond_links_1);
    CHECK(atomic_load(&s_connected) >= 1);
    CHECK_EQ(atomic_load(&s_up_seen_in_cb), 0); /* getters inside the callback answered at once */
    CHECK(sdk_cluster_has(cluster, A));
    WAIT_FOR(cond_cb_saw_1); /* link_count_changed follows the cluster add, and sees it */
    CHECK(atomic_load(&s_count_changed) > changed_before);
    CHECK_EQ(dap_link_manager_established_uplinks_count(NET), 1);

    /* ---- accounted downlink ---- */
    dap_stream_node_addr_t d = addr_of(D), d2 = addr_of(D2), g = addr_of(G);
    CHECK_EQ(dap_link_manager_stream_add(&d, false), 0);
    dap_link_manager_accounting_link_in_net(NET, &d, true);
    WAIT_FOR(cond_links_2);
    size_t up = 0, down = 0;
    dap_stream_node_addr_t *addrs = dap_link_manager_get_net_links_addrs(NET, &up, &down, true);
    CHECK(addrs && up == 1 && down == 1 && addrs[0].uint64 == A && addrs[1].uint64 == D);
    free(addrs);
    up = down = 77;
    CHECK(dap_link_manager_get_net_links_addrs(NET_UNKNOWN, &up, &down, false) == NULL);
    CHECK(up == 77 && down == 77); /* unknown net: counts untouched */
    changed_before = atomic_load(&s_count_changed);
    dap_link_manager_stream_delete(&d);
    WAIT_FOR(cond_links_1);
    WAIT_FOR(cond_no_d);
    CHECK(atomic_load(&s_count_changed) > changed_before);

    /* ---- ghost downlink (FIX-GHOST-DOWNLINK) and an add/accounting/delete burst (FIX-ORDER) ---- */
    CHECK_EQ(dap_link_manager_stream_add(&g, false), 0);
    dap_link_manager_stream_delete(&g);
    WAIT_FOR(cond_no_g);
    for (int i = 0; i < 50; i++) {
        CHECK_EQ(dap_link_manager_stream_add(&d2, false), 0);
        dap_link_manager_accounting_link_in_net(NET, &d2, true);
        dap_link_manager_stream_delete(&d2);
    }
    WAIT_FOR(cond_d2_gone);
    CHECK(!sdk_cluster_has(cluster, D2));

    /* ---- the uplink's stream goes: out of the cluster, the record (with its client) stays. The peer
     * stops answering first: the wake-up repeats `connected` for an ESTABLISHED link outside the cluster. */
    atomic_store(&s_peer_answers, false);
    dap_link_manager_stream_delete(&a);
    WAIT_FOR(cond_links_0);
    CHECK(dap_link_manager_link_find(&a, NET));
    CHECK(info_has(A));

    /* ---- inactive manager refuses stream_add ---- */
    dap_link_manager_set_condition(false);
    CHECK(!dap_link_manager_get_condition());
    CHECK_EQ(dap_link_manager_stream_add(&d, false), -1);
    dap_link_manager_set_condition(true);

    CHECK_EQ(atomic_load(&s_wrong_thread), 0);
    CHECK_EQ(atomic_load(&s_error), 0);

    /* ---- deinit: everything deleted, every call "not initialised", init again works ---- */
    dap_link_manager_deinit();
    CHECK(dap_link_manager_get_default() == NULL);
    CHECK_EQ(dap_link_manager_link_create(&a, NET), -3);
    CHECK_EQ(dap_link_manager_add_net(NET, cluster, 2), -2);
    CHECK_EQ(dap_link_manager_stream_add(&a, true), -1);
    CHECK_EQ(dap_link_manager_links_count(NET), 0);
    CHECK(!dap_link_manager_get_net_condition(NET));
    CHECK(dap_link_manager_get_links_info() == NULL);
    CHECK_EQ(cluster->status, DAP_CLUSTER_STATUS_DISABLED);
    dap_link_manager_deinit(); /* second deinit: logged, harmless */
    sdk_quiesce();
    CHECK_EQ(sdk_clients_live(), 0);
    CHECK(sdk_journal_count("client_delete") >= 1);
    CHECK(strcmp(dap_link_manager_get_active_channels(), "RCGEND") == 0);

    CHECK_EQ(dap_link_manager_init(&s_callbacks), 0);
    CHECK_EQ(dap_link_manager_add_net(NET, cluster, 1), 0);
    n_hot = 0;
    CHECK(dap_link_manager_get_ignored_addrs(&n_hot, NET) == NULL); /* init cleared the hot list */
    dap_link_manager_deinit();

    CHECK_EQ(sdk_misuse_count(), 0);
    sdk_cluster_free(cluster);
    sdk_reset();
    if (s_failures) {
        sdk_log_dump(stderr);
        fprintf(stderr, "legacy_smoke: %d failure(s)\n", s_failures);
        return 1;
    }
    printf("legacy_smoke: OK\n");
    return 0;
}
