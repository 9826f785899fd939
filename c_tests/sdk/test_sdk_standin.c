/* Self-test of the stand-in DAP SDK: layouts, cluster callback order and locking, the simulated
 * network, delete_mt ordering, streams, channel processors, config, log, journal, reset, and a
 * multi-threaded run for the sanitizers. Needs only libdap_sdk_standin. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sdk_standin.h"

static int s_failures;
#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);                                   \
            s_failures++;                                                                                              \
        }                                                                                                              \
    } while (0)
#define CHECK_STR(a, b)                                                                                                \
    do {                                                                                                               \
        const char *a_ = (a), *b_ = (b);                                                                               \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                                                       \
            fprintf(stderr, "%s:%d: \"%s\" != \"%s\"\n", __FILE__, __LINE__, a_ ? a_ : "(null)", b_ ? b_ : "(null)");  \
            s_failures++;                                                                                              \
        }                                                                                                              \
    } while (0)

static const uint64_t A1 = UINT64_C(0x0001000200030004), A2 = UINT64_C(0xABCD00000000FFFF), A3 = 0x33;

/* ---- addresses and layouts ---- */

static void test_addr_and_layout(void)
{
    char buf[SDK_ADDR_STRLEN];
    CHECK_STR(sdk_addr_str(A1, buf), "0001::0002::0003::0004");
    CHECK_STR(sdk_addr_str(A2, buf), "ABCD::0000::0000::FFFF");
    dap_stream_node_addr_t a = {.uint64 = A2};
    CHECK(a.words[3] == 0xABCD && a.words[0] == 0xFFFF);
    CHECK(sizeof(dap_cluster_t) == 240 && offsetof(dap_cluster_t, status) == 28);
    CHECK(sizeof(dap_cluster_member_t) == 88 && offsetof(dap_cluster_member_t, cluster) == 24);
    CHECK(sizeof(dap_client_t) == 336 && offsetof(dap_client_t, _internal) == 320);
    CHECK(offsetof(dap_client_t, link_info.uplink_port) == 272);
    CHECK(sizeof(dap_list_t) == 24 && sizeof(dap_events_socket_uuid_ctrl_t) == 16);
}

/* ---- clusters ---- */

#define MAX_EVENTS 64
typedef struct cluster_probe {
    char events[MAX_EVENTS][48];
    int n;
    dap_cluster_t *cluster;
    bool lock_held[MAX_EVENTS];
    bool member_cluster_ok;
    bool found_inside; /* find_unsafe from inside the delete callback saw the member (it must not) */
} cluster_probe_t;

static void probe_record(cluster_probe_t *p, const char *what, dap_cluster_member_t *m)
{
    char a[SDK_ADDR_STRLEN];
    if (p->n >= MAX_EVENTS)
        return;
    snprintf(p->events[p->n], sizeof(p->events[0]), "%s %s", what, sdk_addr_str(m->addr.uint64, a));
    p->lock_held[p->n] = sdk_cluster_write_locked(m->cluster);
    p->member_cluster_ok = p->member_cluster_ok && m->cluster == p->cluster;
    p->n++;
}

static void probe_add(dap_cluster_member_t *m, void *arg)
{
    probe_record(arg, "add", m);
}

static void probe_del(dap_cluster_member_t *m, void *arg)
{
    cluster_probe_t *p = arg;
    probe_record(p, "del", m);
    /* Called under the write lock: a second thread could not lock it, this one must not deadlock. */
    if (dap_cluster_member_find_unsafe(m->cluster, &m->addr))
        p->found_inside = true;
    CHECK(pthread_rwlock_tryrdlock(&m->cluster->members_lock) != 0);
    (void)dap_cluster_members_count(m->cluster); /* must not deadlock under the write lock */
}

typedef struct {
    dap_cluster_t *cluster;
    int result;
} trylock_arg_t;

static void *trylock_thread(void *arg)
{
    trylock_arg_t *t = arg;
    t->result = pthread_rwlock_trywrlock(&t->cluster->members_lock);
    if (t->result == 0)
        pthread_rwlock_unlock(&t->cluster->members_lock);
    return NULL;
}

static void probe_del_other_thread(dap_cluster_member_t *m, void *arg)
{
    trylock_arg_t *t = arg;
    t->cluster = m->cluster;
    pthread_t th;
    pthread_create(&th, NULL, trylock_thread, t);
    pthread_join(th, NULL);
}

static void test_clusters(void)
{
    sdk_reset();
    cluster_probe_t p = {.member_cluster_ok = true};
    dap_cluster_t *c = sdk_cluster_new("links", probe_add, probe_del, &p);
    p.cluster = c;
    CHECK(c->status == DAP_CLUSTER_STATUS_DISABLED);
    CHECK_STR(sdk_cluster_name(c), "links");
    CHECK(sdk_cluster_find("links") == c && sdk_cluster_find("nope") == NULL);

    dap_stream_node_addr_t a1 = {.uint64 = A1}, a2 = {.uint64 = A2};
    dap_cluster_member_t *m1 = dap_cluster_member_add(c, &a1, 0, NULL);
    CHECK(m1 && m1->cluster == c && m1->addr.uint64 == A1 && m1->role == 0);
    CHECK(dap_cluster_member_add(c, &a1, 0, NULL) == NULL); /* duplicate: NULL, no callback */
    CHECK(dap_cluster_member_add(c, &a2, 2, NULL) != NULL);
    CHECK(sdk_cluster_add_member(c, A3));
    CHECK(dap_cluster_members_count(c) == 3 && sdk_cluster_size(c) == 3);
    CHECK(dap_cluster_member_find_unsafe(c, &a2) && sdk_cluster_has(c, A3) && !sdk_cluster_has(c, 0x99));

    size_t n = 99;
    dap_stream_node_addr_t *all = dap_cluster_get_all_members_addrs(c, &n, -1);
    CHECK(n == 3 && all && all[0].uint64 == A1 && all[1].uint64 == A2 && all[2].uint64 == A3);
    free(all);
    all = dap_cluster_get_all_members_addrs(c, &n, 2);
    CHECK(n == 1 && all && all[0].uint64 == A2);
    free(all);
    all = dap_cluster_get_all_members_addrs(c, &n, 7);
    CHECK(n == 0 && all == NULL);

    CHECK(dap_cluster_member_delete(c, &a2) == 0);
    CHECK(dap_cluster_member_delete(c, &a2) == -1);
    CHECK(dap_cluster_member_delete(NULL, &a2) == -2);
    CHECK(!sdk_cluster_has(c, A2));
    dap_cluster_delete_all_members(c);
    CHECK(dap_cluster_members_count(c) == 0);

    const char *expect[] = {"add 0001::0002::0003::0004", "add ABCD::0000::0000::FFFF", "add 0000::0000::0000::0033",
                            "del ABCD::0000::0000::FFFF", "del 0001::0002::0003::0004", "del 0000::0000::0000::0033"};
    CHECK(p.n == 6);
    for (int i = 0; i < p.n && i < 6; i++) {
        CHECK_STR(p.events[i], expect[i]);
        CHECK(p.lock_held[i] == (i >= 3)); /* add: lock released; delete: write lock held */
    }
    CHECK(p.member_cluster_ok);
    CHECK(!p.found_inside);
    /* find_unsafe: 1 call above from the test thread (3 from delete callbacks hold the lock). */
    CHECK(sdk_cluster_unlocked_finds() == 1);

    CHECK(sdk_journal_count("cluster_add links ") == 3);
    CHECK(sdk_journal_count("cluster_add links 0001::0002::0003::0004 exists") == 1);
    CHECK(sdk_journal_count("cluster_delete links ABCD::0000::0000::FFFF") == 2);
    CHECK(sdk_journal_count("cluster_delete links ABCD::0000::0000::FFFF absent") == 1);
    CHECK(sdk_journal_count("cluster_delete_all links") == 1);
    CHECK_STR(sdk_journal_line(0), "cluster_add links 0001::0002::0003::0004");
    CHECK(sdk_misuse_count() == 1); /* the NULL cluster */

    /* Another thread cannot take the lock while a delete callback runs. */
    trylock_arg_t t = {.result = 0};
    dap_cluster_t *c2 = sdk_cluster_new("locked", NULL, probe_del_other_thread, &t);
    CHECK(sdk_cluster_add_member(c2, A1));
    CHECK(sdk_cluster_remove_member(c2, A1));
    CHECK(t.result != 0);
    CHECK(!sdk_cluster_write_locked(c2));
    CHECK(sdk_cluster_add_member(c2, A1)); /* freed with a member: callback again */
    t.result = 0;
    sdk_cluster_free(c2);
    CHECK(t.result != 0);

    /* Growth beyond the initial table keeps lookups and order right. */
    for (uint64_t i = 1; i <= 1000; i++)
        CHECK(sdk_cluster_add_member(c, i * 7919));
    CHECK(sdk_cluster_size(c) == 1000 && sdk_cluster_has(c, 500 * 7919));
    for (uint64_t i = 2; i <= 1000; i += 2)
        CHECK(sdk_cluster_remove_member(c, i * 7919));
    all = dap_cluster_get_all_members_addrs(c, &n, -1);
    CHECK(n == 500 && all && all[0].uint64 == 7919 && all[499].uint64 == 999 * 7919);
    free(all);
    p.n = 0;
    sdk_cluster_free(c);
}

/* ---- clients ---- */

typedef struct client_probe {
    atomic_int done, errors, last_flag, bad_thread;
    atomic_uintptr_t last_arg;
    pthread_t main_thread;
} client_probe_t;

static client_probe_t s_cp;

static void on_done(dap_client_t *client, void *arg)
{
    (void)client;
    s_cp.done++;
    s_cp.last_arg = (uintptr_t)arg;
    if (pthread_equal(pthread_self(), s_cp.main_thread))
        s_cp.bad_thread++;
}

static void on_error(dap_client_t *client, void *arg)
{
    (void)client;
    s_cp.errors++;
    s_cp.last_flag = (int)(intptr_t)arg;
    if (pthread_equal(pthread_self(), s_cp.main_thread))
        s_cp.bad_thread++;
}

static void probe_reset(void)
{
    s_cp.done = s_cp.errors = s_cp.bad_thread = 0;
    s_cp.last_flag = -1;
    s_cp.last_arg = 0;
    s_cp.main_thread = pthread_self();
}

static dap_client_t *new_client(uint64_t addr, const char *host, uint16_t port, void **arg_out)
{
    void *arg = malloc(16);
    dap_client_t *c = dap_client_new(on_error, arg);
    c->del_arg = true; /* as the library does: the client free()s the arg */
    dap_stream_node_addr_t a = {.uint64 = addr};
    dap_client_set_uplink_unsafe(c, &a, host, port);
    if (arg_out)
        *arg_out = arg;
    return c;
}

static uint64_t uuid_of(dap_client_t *c)
{
    return ((dap_client_pvt_t *)c->_internal)->stream_es->uuid;
}

static uint64_t elapsed_ms(struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (uint64_t)((t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000);
}

static void test_clients(void)
{
    sdk_reset();
    probe_reset();
    char buf[128];

    /* MANUAL (default): nothing until the test completes it. */
    void *arg = NULL;
    dap_client_t *c = new_client(A1, "10.0.0.1", 8079, &arg);
    CHECK(sdk_client_id(c) == 1);
    CHECK_STR(sdk_journal_line(0), "client_new 1");
    CHECK_STR(sdk_journal_line(1), "set_uplink 1 0001::0002::0003::0004 10.0.0.1 8079");
    CHECK(sdk_clients_live() == 1 && sdk_clients_created() == 1 && sdk_client_find(A1) == c);
    CHECK(c->stage_target == STAGE_BEGIN && dap_client_get_stage(c) == STAGE_BEGIN);
    CHECK(!sdk_client_complete_connect(A1)); /* not waiting yet */
    dap_client_go_stage(c, STAGE_STREAM_STREAMING, on_done);
    CHECK_STR(sdk_journal_line(2), "go_stage 1 5 0001::0002::0003::0004");
    CHECK(c->stage_target == STAGE_STREAM_STREAMING && dap_client_get_stage(c) == STAGE_ENC_INIT);
    sdk_quiesce();
    CHECK(s_cp.done == 0 && s_cp.errors == 0);
    CHECK(sdk_client_complete_connect(A1));
    CHECK(!sdk_client_complete_connect(A1));
    sdk_quiesce();
    CHECK(s_cp.done == 1 && s_cp.last_arg == (uintptr_t)arg && s_cp.bad_thread == 0);
    CHECK(dap_client_get_stage(c) == STAGE_STREAM_STREAMING);
    CHECK(sdk_streams_count(A1) == 1);
    dap_stream_node_addr_t a1 = {.uint64 = A1};
    dap_list_t *l = dap_stream_find_all_by_addr(&a1);
    CHECK(l && !l->next && l->prev == l && ((dap_events_socket_uuid_ctrl_t *)l->data)->uuid == uuid_of(c));
    if (l) {
        free(l->data);
        free(l);
    }
    /* Already there: done again. */
    dap_client_go_stage(c, STAGE_STREAM_STREAMING, on_done);
    sdk_quiesce();
    CHECK(s_cp.done == 2);
    /* A dropped stream: error with flag 0, stage stays. */
    CHECK(sdk_client_fail(A1, false));
    sdk_quiesce();
    CHECK(s_cp.errors == 1 && s_cp.last_flag == 0 && sdk_streams_count(A1) == 0);
    /* Back to BEGIN: at once, done on the worker. */
    dap_client_go_stage(c, STAGE_BEGIN, on_done);
    CHECK(dap_client_get_stage(c) == STAGE_BEGIN);
    sdk_quiesce();
    CHECK(s_cp.done == 3);
    dap_client_set_is_always_reconnect(c, true);
    CHECK(c->always_reconnect);
    dap_client_set_active_channels_unsafe(c, "RCGEND");
    CHECK_STR(c->active_channels, "RCGEND");
    CHECK(sdk_journal_count("set_always_reconnect 1 1 0001::0002::0003::0004") == 1);
    CHECK(sdk_journal_count("set_active_channels 1 RCGEND 0001::0002::0003::0004") == 1);
    dap_client_delete_mt(c);
    CHECK(sdk_client_find(A1) == NULL);
    CHECK(sdk_journal_count("client_delete 1 0001::0002::0003::0004") == 1);
    sdk_quiesce();
    CHECK(sdk_clients_live() == 0 && sdk_clients_created() == 1);
    CHECK(sdk_misuse_count() == 0);

    /* ACCEPT after a delay. */
    probe_reset();
    sdk_net_script("accept.example", 1, SDK_NET_ACCEPT, 50, false);
    c = new_client(A2, "accept.example", 1, &arg);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    dap_client_go_stage(c, STAGE_STREAM_STREAMING, on_done);
    sdk_quiesce();
    CHECK(elapsed_ms(&t0) >= 45);
    CHECK(s_cp.done == 1 && s_cp.last_arg == (uintptr_t)arg && dap_client_get_stage(c) == STAGE_STREAM_STREAMING);
    /* The client's own stream is registered next to a downlink; closing it is journaled as uplink. */
    sdk_stream_open(A2, 77);
    CHECK(sdk_streams_count(A2) == 2);
    dap_events_socket_remove_and_delete_mt(sdk_worker(0), uuid_of(c));
    snprintf(buf, sizeof(buf), "stream_close ABCD::0000::0000::FFFF %" PRIu64 " uplink", uuid_of(c));
    CHECK(sdk_journal_count(buf) == 1);
    CHECK(sdk_streams_count(A2) == 1);
    dap_client_delete_mt(c);
    sdk_quiesce();

    /* REFUSE: error with the scripted last-attempt flag. */
    probe_reset();
    sdk_net_script("refuse.example", 2, SDK_NET_REFUSE, 10, true);
    c = new_client(A3, "refuse.example", 2, NULL);
    dap_client_go_stage(c, STAGE_STREAM_STREAMING, on_done);
    sdk_quiesce();
    CHECK(s_cp.errors == 1 && s_cp.last_flag == 1 && s_cp.done == 0 && dap_client_get_stage(c) == STAGE_ENC_INIT);
    CHECK(sdk_streams_count(A3) == 0);
    dap_client_go_stage(c, STAGE_BEGIN, NULL);
    dap_client_delete_mt(c);

    /* SILENT: never answers, but the test may still complete it. */
    probe_reset();
    sdk_net_script("silent.example", 3, SDK_NET_SILENT, 0, false);
    c = new_client(0x44, "silent.example", 3, NULL);
    dap_client_go_stage(c, STAGE_STREAM_STREAMING, on_done);
    usleep(20000);
    sdk_quiesce();
    CHECK(s_cp.errors == 0 && s_cp.done == 0 && dap_client_get_stage(c) == STAGE_ENC_INIT);
    dap_client_delete_mt(c);

    /* DROP_AFTER: accepted, then an error with flag 0. */
    probe_reset();
    sdk_net_default(SDK_NET_DROP_AFTER, 20, true);
    c = new_client(0x55, "anything", 4, NULL);
    dap_client_go_stage(c, STAGE_STREAM_STREAMING, on_done);
    sdk_quiesce();
    CHECK(s_cp.done == 1 && s_cp.errors == 1 && s_cp.last_flag == 0);
    CHECK(dap_client_get_stage(c) == STAGE_STREAM_STREAMING && sdk_streams_count(0x55) == 0);
    dap_client_delete_mt(c);
    sdk_net_default(SDK_NET_MANUAL, 0, false);
    sdk_quiesce();
    CHECK(sdk_clients_live() == 0);

    /* delete_mt: completions already queued run first; a scripted one not yet due is dropped. */
    probe_reset();
    c = new_client(0x66, "manual", 5, NULL);
    dap_client_go_stage(c, STAGE_STREAM_STREAMING, on_done);
    sdk_worker_pause();
    CHECK(sdk_client_complete_connect(0x66));
    CHECK(sdk_client_fail(0x66, true));
    dap_client_delete_mt(c);
    CHECK(sdk_clients_live() == 1);
    sdk_worker_resume();
    sdk_quiesce();
    CHECK(s_cp.done == 1 && s_cp.errors == 1 && s_cp.last_flag == 1 && sdk_clients_live() == 0);
    probe_reset();
    sdk_net_script("slow", 6, SDK_NET_ACCEPT, 5000, false);
    c = new_client(0x77, "slow", 6, NULL);
    dap_client_go_stage(c, STAGE_STREAM_STREAMING, on_done);
    dap_client_delete_mt(c);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    sdk_quiesce();
    CHECK(elapsed_ms(&t0) < 1000);
    CHECK(s_cp.done == 0 && sdk_clients_live() == 0);
    /* go_stage(BEGIN) abandons the attempt in progress. */
    sdk_net_script("slow", 6, SDK_NET_ACCEPT, 30, false);
    c = new_client(0x77, "slow", 6, NULL);
    dap_client_go_stage(c, STAGE_STREAM_STREAMING, on_done);
    dap_client_go_stage(c, STAGE_BEGIN, NULL);
    sdk_quiesce();
    CHECK(s_cp.done == 0 && dap_client_get_stage(c) == STAGE_BEGIN);
    /* Newest client of an address wins; a deleted one is not found. */
    dap_client_t *c_new = new_client(0x77, "slow", 6, NULL);
    CHECK(sdk_client_find(0x77) == c_new);
    dap_client_delete_mt(c_new);
    CHECK(sdk_client_find(0x77) == c);
    CHECK(!sdk_client_fail(0x1234, true));
    /* Misuse after delete_mt (the worker is held so the client is not freed yet): recorded, journaled
     * with a suffix, ignored. */
    sdk_worker_pause();
    dap_client_delete_mt(c);
    size_t misuse = sdk_misuse_count();
    dap_client_delete_mt(c);
    dap_client_go_stage(c, STAGE_STREAM_STREAMING, on_done);
    CHECK(sdk_misuse_count() == misuse + 2);
    snprintf(buf, sizeof(buf), "client_delete %" PRIu64 " 0000::0000::0000::0077 after_delete", sdk_client_id(c));
    CHECK(sdk_journal_count(buf) == 1);
    snprintf(buf, sizeof(buf), "go_stage %" PRIu64 " 5 0000::0000::0000::0077 after_delete", sdk_client_id(c));
    CHECK(sdk_journal_count(buf) == 1);
    sdk_quiesce(); /* paused: a misuse, returns at once */
    CHECK(sdk_misuse_count() == misuse + 3);
    sdk_worker_resume();
    sdk_quiesce();
    CHECK(s_cp.done == 0);
    CHECK(sdk_clients_live() == 0);

    /* sdk_reset restarts ids when no client is alive; del_arg false leaves the arg to its owner. */
    sdk_reset();
    c = dap_client_new(on_error, &s_cp);
    CHECK(sdk_client_id(c) == 1 && sdk_clients_created() == 1);
    dap_client_delete_mt(c);
    sdk_reset();
    CHECK(sdk_clients_live() == 0 && sdk_journal_len() == 0);
}

/* ---- streams, channel processors ---- */

static void test_streams(void)
{
    sdk_reset();
    dap_stream_node_addr_t a = {.uint64 = A1};
    CHECK(dap_stream_find_all_by_addr(&a) == NULL);
    sdk_stream_open(A1, 1);
    sdk_stream_open(A1, 2);
    sdk_stream_open(A1, 3);
    sdk_stream_open(A2, 4);
    CHECK(sdk_streams_count(A1) == 3 && sdk_streams_count(A2) == 1);
    dap_list_t *l = dap_stream_find_all_by_addr(&a);
    int n = 0;
    uint64_t sum = 0;
    dap_list_t *last = NULL;
    for (dap_list_t *it = l; it; it = it->next) {
        dap_events_socket_uuid_ctrl_t *ctrl = it->data;
        CHECK(ctrl->worker == sdk_worker(0));
        CHECK(it == l || it->prev == last);
        sum += ctrl->uuid;
        last = it;
        n++;
    }
    CHECK(n == 3 && sum == 6 && l->prev == last);
    while (l) {
        dap_list_t *next = l->next;
        free(l->data);
        free(l);
        l = next;
    }
    dap_events_socket_remove_and_delete_mt(sdk_worker(0), 2);
    dap_events_socket_remove_and_delete_mt(sdk_worker(0), 99);
    dap_events_socket_remove_and_delete_mt(sdk_worker(1), 3); /* wrong worker: nothing closed */
    CHECK_STR(sdk_journal_line(0), "stream_close 0001::0002::0003::0004 2");
    CHECK_STR(sdk_journal_line(1), "stream_close - 99 unknown");
    CHECK_STR(sdk_journal_line(2), "stream_close - 3 unknown");
    CHECK(sdk_misuse_count() == 1);
    CHECK(sdk_streams_count(A1) == 2);
    CHECK(sdk_stream_remove(1) && !sdk_stream_remove(1));
    CHECK(sdk_streams_count(A1) == 1);

    for (const char *c = "RCGEND"; *c; c++)
        CHECK(dap_stream_ch_proc_find((uint8_t)*c) && dap_stream_ch_proc_find((uint8_t)*c)->id == (uint8_t)*c);
    CHECK(dap_stream_ch_proc_find('Z') == NULL);
    sdk_ch_proc_register('Z');
    sdk_ch_proc_unregister('R');
    CHECK(dap_stream_ch_proc_find('Z') && !dap_stream_ch_proc_find('R'));
    sdk_reset();
    CHECK(!dap_stream_ch_proc_find('Z') && dap_stream_ch_proc_find('R'));
    CHECK(sdk_streams_count(A1) == 0);
}

/* ---- config ---- */

static void test_config(void)
{
    sdk_reset();
    CHECK(g_config == NULL);
    CHECK(_dap_config_get_item_uint(g_config, "link_manager", "max_attempts_num", 1) == 1);
    sdk_config_set("link_manager", "max_attempts_num", "3");
    CHECK(g_config != NULL);
    CHECK(_dap_config_get_item_uint(g_config, "link_manager", "max_attempts_num", 1) == 3);
    CHECK(_dap_config_get_item_uint(g_config, "link_manager", "missing", 7) == 7);
    CHECK(_dap_config_get_item_uint(g_config, "other", "max_attempts_num", 7) == 7);
    sdk_config_set("s", "neg", "-5");
    sdk_config_set("s", "hex", "0x10");
    sdk_config_set("s", "junk", "12abc");
    CHECK(_dap_config_get_item_uint(g_config, "s", "neg", 9) == 9);
    CHECK(_dap_config_get_item_int(g_config, "s", "neg", 9) == -5);
    CHECK(_dap_config_get_item_uint(g_config, "s", "hex", 9) == 16);
    CHECK(_dap_config_get_item_int(g_config, "s", "junk", 9) == 9);
    const char *bools[] = {"true", "TRUE", "1", "false", "False", "0", "maybe"};
    const int expect[] = {1, 1, 1, 0, 0, 0, -1};
    for (int i = 0; i < 7; i++) {
        sdk_config_set("s", "b", bools[i]);
        bool dflt = expect[i] == -1 ? true : !expect[i];
        CHECK(dap_config_get_item_bool_default(g_config, "s", "b", dflt) == (expect[i] == -1 ? dflt : expect[i]));
    }
    CHECK(dap_config_get_item_bool_default(g_config, "s", "nob", true));
    const char *old = dap_config_get_item_str_default(g_config, "s", "hex", NULL);
    sdk_config_set("s", "hex", "0x20");
    CHECK_STR(old, "0x10"); /* still readable after replacement */
    CHECK_STR(dap_config_get_item_str_default(g_config, "s", "hex", NULL), "0x20");
    CHECK_STR(dap_config_get_item_str_default(g_config, "s", "none", "dflt"), "dflt");
    sdk_config_set("s", "hex", NULL);
    CHECK(dap_config_get_item_str_default(g_config, "s", "hex", NULL) == NULL);
    CHECK(dap_config_get_item_str_default(NULL, "link_manager", "max_attempts_num", NULL) == NULL);
    sdk_config_clear();
    CHECK(g_config == NULL);
}

/* ---- log, journal ---- */

static void test_log_and_journal(void)
{
    sdk_reset();
    CHECK(g_dap_log_level == L_DEBUG);
    _log_it_tag(L_DEBUG, "lm", "%s", "debug line");
    _log_it_tag(L_WARNING, "lm", "warn %d", 42);
    _log_it_tag(L_ERROR, "other", "%s", "boom");
    CHECK(sdk_log_count(NULL) == 3 && sdk_log_count("") == 3);
    CHECK(sdk_log_count("warn 42") == 1 && sdk_log_count("lm") == 2);
    CHECK(sdk_log_count_level(L_WARNING, NULL) == 2 && sdk_log_count_level(L_ERROR, "boom") == 1);
    CHECK(sdk_log_count_level(L_CRITICAL, NULL) == 0);
    g_dap_log_level = L_WARNING;
    _log_it_tag(L_INFO, "lm", "%s", "filtered");
    g_dap_log_level = L_DEBUG;
    CHECK(sdk_log_count("filtered") == 0);
    CHECK(sdk_log_wait("boom", 1, 10) && !sdk_log_wait("never", 1, 10));
    for (int i = 0; i < SDK_LOG_CAPACITY + 5; i++)
        _log_it_tag(L_INFO, "flood", "line %d", i);
    CHECK(sdk_log_count(NULL) == SDK_LOG_CAPACITY && sdk_log_total() == SDK_LOG_CAPACITY + 8);
    CHECK(sdk_log_count("line 4\n") == 0 && sdk_log_count("boom") == 0);
    sdk_log_clear();
    CHECK(sdk_log_count(NULL) == 0);

    CHECK(sdk_journal_len() == 0 && sdk_journal_line(0) == NULL);
    dap_cluster_t *c = sdk_cluster_new("j", NULL, NULL, NULL);
    dap_stream_node_addr_t a = {.uint64 = 5};
    dap_cluster_member_add(c, &a, 0, NULL);
    CHECK(sdk_journal_len() == 1 && sdk_journal_count("cluster_add") == 1 && sdk_journal_count(NULL) == 1);
    CHECK(sdk_journal_wait("cluster_add j", 1, 10) && !sdk_journal_wait("cluster_add j", 2, 10));
    FILE *f = tmpfile();
    sdk_journal_dump(f);
    rewind(f);
    char line[128] = "";
    CHECK(fgets(line, sizeof(line), f) && strcmp(line, "cluster_add j 0000::0000::0000::0005\n") == 0);
    fclose(f);
    sdk_journal_clear();
    CHECK(sdk_journal_len() == 0);
    sdk_cluster_free(c);
    CHECK(sdk_journal_len() == 0); /* test-side frees are not journaled */
}

/* ---- concurrency (for TSan/ASan/valgrind) ---- */

static dap_cluster_t *s_mt_cluster;
static atomic_int s_mt_adds, s_mt_dels;

static void mt_add(dap_cluster_member_t *m, void *arg)
{
    (void)m;
    (void)arg;
    s_mt_adds++;
}

static void mt_del(dap_cluster_member_t *m, void *arg)
{
    (void)arg;
    s_mt_dels++;
    (void)dap_cluster_member_find_unsafe(m->cluster, &m->addr);
}

static void *mt_thread(void *arg)
{
    uint64_t base = (uint64_t)(uintptr_t)arg * 1000;
    for (uint64_t i = 1; i <= 200; i++) {
        dap_stream_node_addr_t a = {.uint64 = base + i};
        dap_cluster_member_add(s_mt_cluster, &a, 0, NULL);
        (void)dap_cluster_members_count(s_mt_cluster);
        size_t n;
        free(dap_cluster_get_all_members_addrs(s_mt_cluster, &n, -1));
        dap_client_t *c = dap_client_new(on_error, NULL);
        dap_client_set_uplink_unsafe(c, &a, "mt", 1);
        dap_client_go_stage(c, STAGE_STREAM_STREAMING, on_done);
        if (i % 3 == 0)
            sdk_client_fail(base + i, true);
        if (i % 2 == 0)
            dap_cluster_member_delete(s_mt_cluster, &a);
        (void)dap_client_get_stage(c);
        _log_it_tag(L_INFO, "mt", "iteration %" PRIu64, i);
        dap_client_delete_mt(c);
        for (dap_list_t *l = dap_stream_find_all_by_addr(&a), *next; l; l = next) {
            next = l->next;
            free(l->data);
            free(l);
        }
    }
    return NULL;
}

static void test_threads(void)
{
    sdk_reset();
    probe_reset();
    sdk_net_script("mt", 1, SDK_NET_DROP_AFTER, 1, true);
    s_mt_cluster = sdk_cluster_new("mt", mt_add, mt_del, NULL);
    pthread_t th[4];
    for (uintptr_t i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, mt_thread, (void *)(i + 1));
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    sdk_quiesce();
    CHECK(s_mt_adds == 800 && s_mt_dels == 400);
    CHECK(dap_cluster_members_count(s_mt_cluster) == 400);
    CHECK(sdk_clients_live() == 0 && sdk_clients_created() == 800);
    CHECK(sdk_journal_count("client_delete") == 800);
    CHECK(sdk_misuse_count() == 0);
    sdk_cluster_free(s_mt_cluster);
    CHECK(s_mt_dels == 800);
    sdk_reset();
}

int main(void)
{
    test_addr_and_layout();
    test_clusters();
    test_clients();
    test_streams();
    test_config();
    test_log_and_journal();
    test_threads();
    sdk_reset();
    if (s_failures) {
        fprintf(stderr, "test_sdk_standin: %d check(s) failed\n", s_failures);
        return 1;
    }
    printf("test_sdk_standin: all checks passed\n");
    return 0;
}
