/* The bad-input matrix: every exported function x {NULL pointer, zero address / id 0, own address,
 * unknown net, DAP_NET_ID_INVALID, bad host/port/value, before init, after deinit, from inside a
 * callback}. Each cell checks the documented result, that a log line was written where the call is
 * refused, and (by running at all, under the watchdog) no crash and no hang.
 *
 * Log rule: a refused call that changes state or returns an error code must log (warning or above);
 * getters on hot paths (bool/size/pointer answers, per packet or per balancer pass), NOT_FOUND
 * answers of queries, calls documented as "unknown net: nothing" and the test hooks need not.
 *
 * `test_bad_input FILE.md` also writes the matrix as a Markdown table. */
#include "lm_test_api.h"

#include <limits.h>

#define N1 UINT64_C(0x601)
#define NU UINT64_C(0x6FF) /* never managed (link_create attempts stamp it in the hot list, as in C) */
#define NH UINT64_C(0x6FE) /* never managed, never dialed */
#define NI DAP_NET_ID_INVALID
#define A1 UINT64_C(0x000A000A000A0001)   /* a link with a client in N1 */
#define ANEW UINT64_C(0x000A000A000A0E01) /* no link */

enum col { C_NULL, C_ZERO, C_OWN, C_UNKNOWN, C_INVNET, C_BAD, C_BEFORE, C_AFTER, C_CB, C_COUNT };
static const char *const col_title[C_COUNT] = {"NULL pointer",   "zero addr / id 0", "own addr",
                                               "unknown net",    "NET_ID_INVALID",   "bad host/port/value",
                                               "before init",    "after deinit",     "inside a callback"};
enum kind { K_INT, K_LM, K_BOOL, K_SIZE, K_PTR, K_VOID, K_OK };
#define ANY LONG_MIN /* not specified by the contract: shown, not judged */
#define L   1        /* a log line is required */
#define O   0        /* optional */

/* ------------------------------------------------------------- fixtures and helpers */

static dap_stream_node_addr_t g_zero, g_own, g_a1, g_new;
static dap_cluster_t *C1, *CX, *S;
static dap_cluster_member_t m_ok, m_zero, m_own, m_nocl;
static lmt_done_t g_rec;
static bool g_in_cb;
static char g_big[1];

#define SENT ((size_t)0xDEADBEEFu)

static long ptr_free(void *p)
{
    free(p);
    return p != NULL;
}

static void async_reset(void)
{
    memset(&g_rec, 0, sizeof(g_rec));
}

/* An `_async` call's answer: a refusal must have run the completion once, on this thread, with the
 * returned code (else 1000 + rc: INCONSISTENT); an accepted call gives the completion's code. */
static long async_rc(int rc)
{
    if (rc != DAP_LM_OK) {
        if (atomic_load(&g_rec.calls) != 1 || atomic_load(&g_rec.rc) != rc || !pthread_equal(g_rec.thread, pthread_self()))
            return 1000 + rc;
        return rc;
    }
    if (g_in_cb)
        return rc; /* its completion runs after this callback returns */
    if (!LMT_WAIT_UNTIL(atomic_load(&g_rec.calls) == 1, 3000) || !atomic_load(&g_rec.on_lib_thread))
        return 1000;
    return atomic_load(&g_rec.rc);
}
#define ASYNC(call) (async_reset(), async_rc(call))
#define CB          lmt_done_cb, &g_rec

static void links_cb(int rc, const struct dap_lm_net_links *r, void *arg)
{
    (void)r;
    lmt_done_cb(rc, arg);
}
static void snap_cb(int rc, const struct dap_lm_link_snapshot *s, void *arg)
{
    (void)s;
    lmt_done_cb(rc, arg);
}

/* 0 when the original get_net_links_addrs answered NULL and left both counts untouched */
static long links_untouched(uint64_t net)
{
    size_t up = SENT, down = SENT;
    void *p = dap_link_manager_get_net_links_addrs(net, &up, &down, false);
    long r = p != NULL || up != SENT || down != SENT;
    free(p);
    return r;
}

static long ignored_untouched(uint64_t net)
{
    size_t n = SENT;
    void *p = dap_link_manager_get_ignored_addrs(&n, net);
    long r = p != NULL || n != SENT;
    free(p);
    return r;
}

/* add_net with DAP_NET_ID_INVALID as the id; removes it again if it was accepted */
static long add_net_invalid_id(bool sync)
{
    long rc = sync ? dap_link_manager_add_net_sync(NI, CX, 1, 0) : dap_link_manager_add_net(NI, CX, 1);
    if (rc == 0)
        dap_link_manager_remove_net(NI);
    return rc;
}

static long out_ptr_untouched(int rc, void *p)
{
    return p == (void *)1 ? rc : 2000 + rc;
}

static long snapshot_sync_untouched(dap_stream_node_addr_t *a)
{
    struct dap_lm_link_snapshot *s = (void *)1;
    int rc = dap_link_manager_link_snapshot_sync(a, &s, 0);
    if (rc == DAP_LM_OK)
        dap_lm_link_snapshot_free(s);
    return rc == DAP_LM_OK ? rc : out_ptr_untouched(rc, s);
}

static long snapshot_untouched(dap_stream_node_addr_t *a)
{
    struct dap_lm_link_snapshot *s = (void *)1;
    int rc = dap_link_manager_link_snapshot(a, &s);
    if (rc == DAP_LM_OK)
        dap_lm_link_snapshot_free(s);
    return rc == DAP_LM_OK ? rc : out_ptr_untouched(rc, s);
}

static long size_sync(int (*f)(uint64_t, size_t *, uint32_t), uint64_t net)
{
    size_t n = SENT;
    int rc = f(net, &n, 0);
    return rc == DAP_LM_OK || n == SENT ? rc : 3000 + rc;
}

static long net_links_sync(uint64_t net)
{
    struct dap_lm_net_links *r = (void *)1;
    int rc = dap_link_manager_get_net_links_addrs_sync(net, false, &r, 0);
    if (rc == DAP_LM_OK)
        dap_lm_net_links_free(r);
    return rc == DAP_LM_OK ? rc : out_ptr_untouched(rc, r);
}

static long ignored_sync(uint64_t net)
{
    dap_stream_node_addr_t *p = (void *)1;
    size_t n = SENT;
    int rc = dap_link_manager_get_ignored_addrs_sync(net, &p, &n, 0);
    if (rc == DAP_LM_OK)
        free(p);
    return rc == DAP_LM_OK || (p == (void *)1 && n == SENT) ? rc : 3000 + rc;
}

static long nets_snapshot_ok(int rc, struct dap_lm_nets_snapshot *s)
{
    dap_lm_nets_snapshot_free(rc == DAP_LM_OK ? s : NULL);
    return rc;
}

/* stream_add of this node's own address (unspecified), undone so later cells see no such link */
static long stream_add_own(bool sync)
{
    long rc = sync ? dap_link_manager_stream_add_sync(&g_own, false, 0) : dap_link_manager_stream_add(&g_own, false);
    dap_link_manager_stream_delete_sync(&g_own, 0);
    return rc;
}

static dap_link_manager_callbacks_t no_fill;

/* ------------------------------------------------------------- the matrix */

/* X(row, column, label, kind, expected, log, expression) */
#define CELLS(X)                                                                                                       \
    /* lifecycle */                                                                                                    \
    X("init", C_NULL, "callbacks NULL", K_INT, -2, L, dap_link_manager_init(NULL))                                     \
    X("init", C_NULL, "fill_net_info NULL", K_INT, -2, L, dap_link_manager_init(&no_fill))                             \
    X("init", C_CB, "already initialised", K_INT, -2, L, dap_link_manager_init(&lmt_callbacks))                        \
    X("deinit", C_BEFORE, "", K_VOID, 0, L, (dap_link_manager_deinit(), 0))                                            \
    X("deinit", C_AFTER, "", K_VOID, 0, L, (dap_link_manager_deinit(), 0))                                             \
    X("new", C_NULL, "callbacks NULL", K_PTR, 0, L, ptr_free(dap_link_manager_new(NULL)))                              \
    X("new", C_NULL, "fill_net_info NULL", K_PTR, 0, L, ptr_free(dap_link_manager_new(&no_fill)))                      \
    X("get_default", C_BEFORE, "", K_PTR, 0, O, dap_link_manager_get_default() != NULL)                                \
    X("get_default", C_AFTER, "", K_PTR, 0, O, dap_link_manager_get_default() != NULL)                                 \
    X("set_condition", C_BEFORE, "", K_VOID, 0, L, (dap_link_manager_set_condition(true), 0))                          \
    X("set_condition", C_AFTER, "", K_VOID, 0, L, (dap_link_manager_set_condition(true), 0))                           \
    X("get_condition", C_BEFORE, "", K_BOOL, 0, O, dap_link_manager_get_condition())                                   \
    X("get_condition", C_AFTER, "", K_BOOL, 0, O, dap_link_manager_get_condition())                                    \
    /* channels (FIX-CHANNELS-GLOBAL: they work before init) */                                                        \
    X("add_active_channel", C_BAD, "no processor 'Z'", K_INT, -3, L, dap_link_manager_add_active_channel('Z'))         \
    X("add_active_channel", C_BAD, "'\\0'", K_INT, -3, L, dap_link_manager_add_active_channel('\0'))                   \
    X("add_active_channel", C_BEFORE, "'R'", K_INT, 0, O, dap_link_manager_add_active_channel('R'))                    \
    X("remove_active_channel", C_BAD, "absent 'Q'", K_INT, -2, L, dap_link_manager_remove_active_channel('Q'))         \
    X("remove_active_channel", C_CB, "absent 'Q'", K_INT, -2, L, dap_link_manager_remove_active_channel('Q'))          \
    /* nets */                                                                                                         \
    X("add_net", C_NULL, "cluster", K_INT, -2, L, dap_link_manager_add_net(NU, NULL, 1))                               \
    X("add_net", C_ZERO, "id 0", K_INT, -2, L, dap_link_manager_add_net(0, CX, 1))                                     \
    X("add_net", C_INVNET, "as id", K_INT, ANY, O, add_net_invalid_id(false))                                          \
    X("add_net", C_BEFORE, "", K_INT, -2, L, dap_link_manager_add_net(NU, CX, 1))                                      \
    X("add_net", C_AFTER, "", K_INT, -2, L, dap_link_manager_add_net(NU, CX, 1))                                       \
    X("add_net", C_CB, "id 0", K_INT, -2, L, dap_link_manager_add_net(0, CX, 1))                                       \
    X("add_net_associate", C_NULL, "cluster", K_INT, -2, L, dap_link_manager_add_net_associate(N1, NULL))              \
    X("add_net_associate", C_ZERO, "id 0", K_INT, -2, L, dap_link_manager_add_net_associate(0, CX))                    \
    X("add_net_associate", C_UNKNOWN, "", K_INT, -3, L, dap_link_manager_add_net_associate(NU, CX))                    \
    X("add_net_associate", C_INVNET, "", K_INT, -3, L, dap_link_manager_add_net_associate(NI, CX))                     \
    X("add_net_associate", C_BEFORE, "", K_INT, -2, L, dap_link_manager_add_net_associate(N1, CX))                     \
    X("add_net_associate", C_AFTER, "", K_INT, -2, L, dap_link_manager_add_net_associate(N1, CX))                      \
    X("add_net_associate", C_CB, "unknown net", K_INT, -3, L, dap_link_manager_add_net_associate(NU, CX))              \
    X("remove_net", C_ZERO, "id 0", K_VOID, 0, O, (dap_link_manager_remove_net(0), 0))                                 \
    X("remove_net", C_UNKNOWN, "", K_VOID, 0, O, (dap_link_manager_remove_net(NU), 0))                                 \
    X("remove_net", C_INVNET, "", K_VOID, 0, O, (dap_link_manager_remove_net(NI), 0))                                  \
    X("remove_net", C_BEFORE, "", K_VOID, 0, L, (dap_link_manager_remove_net(N1), 0))                                  \
    X("remove_net", C_AFTER, "", K_VOID, 0, L, (dap_link_manager_remove_net(N1), 0))                                   \
    X("remove_net", C_CB, "unknown net", K_VOID, 0, O, (dap_link_manager_remove_net(NU), 0))                           \
    X("set_net_condition", C_ZERO, "id 0", K_VOID, 0, O, (dap_link_manager_set_net_condition(0, true), 0))             \
    X("set_net_condition", C_UNKNOWN, "", K_VOID, 0, O, (dap_link_manager_set_net_condition(NU, true), 0))             \
    X("set_net_condition", C_INVNET, "", K_VOID, 0, O, (dap_link_manager_set_net_condition(NI, true), 0))              \
    X("set_net_condition", C_BEFORE, "", K_VOID, 0, L, (dap_link_manager_set_net_condition(N1, true), 0))              \
    X("set_net_condition", C_AFTER, "", K_VOID, 0, L, (dap_link_manager_set_net_condition(N1, true), 0))               \
    X("set_net_condition", C_CB, "unknown net", K_VOID, 0, O, (dap_link_manager_set_net_condition(NU, true), 0))       \
    X("get_net_condition", C_ZERO, "id 0", K_BOOL, 0, O, dap_link_manager_get_net_condition(0))                        \
    X("get_net_condition", C_UNKNOWN, "", K_BOOL, 0, O, dap_link_manager_get_net_condition(NU))                        \
    X("get_net_condition", C_INVNET, "", K_BOOL, 0, O, dap_link_manager_get_net_condition(NI))                         \
    X("get_net_condition", C_BEFORE, "", K_BOOL, 0, O, dap_link_manager_get_net_condition(N1))                         \
    X("get_net_condition", C_AFTER, "", K_BOOL, 0, O, dap_link_manager_get_net_condition(N1))                          \
    X("get_net_condition", C_CB, "unknown net", K_BOOL, 0, O, dap_link_manager_get_net_condition(NU))                  \
    X("links_count", C_ZERO, "id 0", K_SIZE, 0, O, dap_link_manager_links_count(0))                                    \
    X("links_count", C_UNKNOWN, "", K_SIZE, 0, O, dap_link_manager_links_count(NU))                                    \
    X("links_count", C_INVNET, "", K_SIZE, 0, O, dap_link_manager_links_count(NI))                                     \
    X("links_count", C_BEFORE, "", K_SIZE, 0, O, dap_link_manager_links_count(N1))                                     \
    X("links_count", C_AFTER, "", K_SIZE, 0, O, dap_link_manager_links_count(N1))                                      \
    X("links_count", C_CB, "unknown net", K_SIZE, 0, O, dap_link_manager_links_count(NU))                              \
    X("required_links_count", C_UNKNOWN, "", K_SIZE, 0, O, dap_link_manager_required_links_count(NU))                  \
    X("required_links_count", C_INVNET, "", K_SIZE, 0, O, dap_link_manager_required_links_count(NI))                   \
    X("required_links_count", C_BEFORE, "", K_SIZE, 0, O, dap_link_manager_required_links_count(N1))                   \
    X("required_links_count", C_AFTER, "", K_SIZE, 0, O, dap_link_manager_required_links_count(N1))                    \
    X("needed_links_count", C_UNKNOWN, "", K_SIZE, 0, O, dap_link_manager_needed_links_count(NU))                      \
    X("needed_links_count", C_INVNET, "", K_SIZE, 0, O, dap_link_manager_needed_links_count(NI))                       \
    X("needed_links_count", C_BEFORE, "", K_SIZE, 0, O, dap_link_manager_needed_links_count(N1))                       \
    X("needed_links_count", C_AFTER, "", K_SIZE, 0, O, dap_link_manager_needed_links_count(N1))                        \
    X("needed_links_count", C_CB, "unknown net", K_SIZE, 0, O, dap_link_manager_needed_links_count(NU))                \
    X("established_uplinks_count", C_UNKNOWN, "", K_SIZE, 0, O, dap_link_manager_established_uplinks_count(NU))        \
    X("established_uplinks_count", C_INVNET, "", K_SIZE, 0, O, dap_link_manager_established_uplinks_count(NI))         \
    X("established_uplinks_count", C_BEFORE, "", K_SIZE, 0, O, dap_link_manager_established_uplinks_count(N1))         \
    X("established_uplinks_count", C_AFTER, "", K_SIZE, 0, O, dap_link_manager_established_uplinks_count(N1))          \
    /* links */                                                                                                        \
    X("link_create", C_NULL, "", K_INT, -5, L, dap_link_manager_link_create(NULL, N1))                                 \
    X("link_create", C_ZERO, "", K_INT, -5, L, dap_link_manager_link_create(&g_zero, N1))                              \
    X("link_create", C_OWN, "", K_INT, -1, L, dap_link_manager_link_create(&g_own, N1))                                \
    X("link_create", C_UNKNOWN, "", K_INT, -2, L, dap_link_manager_link_create(&g_new, NU))                            \
    X("link_create", C_INVNET, "no net: valid", K_INT, 0, O, dap_link_manager_link_create(&g_new, NI))                 \
    X("link_create", C_BEFORE, "", K_INT, -3, L, dap_link_manager_link_create(&g_new, N1))                             \
    X("link_create", C_AFTER, "", K_INT, -3, L, dap_link_manager_link_create(&g_new, N1))                              \
    X("link_create", C_CB, "own addr", K_INT, -1, L, dap_link_manager_link_create(&g_own, N1))                         \
    X("link_create", C_CB, "NULL", K_INT, -5, L, dap_link_manager_link_create(NULL, N1))                               \
    X("link_update", C_NULL, "addr", K_INT, -1, L, dap_link_manager_link_update(NULL, "10.6.0.1", 8079))               \
    X("link_update", C_NULL, "host", K_INT, -2, L, dap_link_manager_link_update(&g_a1, NULL, 8079))                    \
    X("link_update", C_ZERO, "", K_INT, -1, L, dap_link_manager_link_update(&g_zero, "10.6.0.1", 8079))                \
    X("link_update", C_OWN, "", K_INT, ANY, O, dap_link_manager_link_update(&g_own, "10.6.0.1", 8079))                 \
    X("link_update", C_BAD, "port 0", K_INT, -2, L, dap_link_manager_link_update(&g_a1, "10.6.0.1", 0))                \
    X("link_update", C_BAD, "\"::\"", K_INT, -2, L, dap_link_manager_link_update(&g_a1, "::", 8079))                   \
    X("link_update", C_BAD, "\"\"", K_INT, -6, L, dap_link_manager_link_update(&g_a1, g_big, 8079))                    \
    X("link_update", C_BAD, "127.0.0.1", K_INT, -6, L, dap_link_manager_link_update(&g_a1, "127.0.0.1", 8079))         \
    X("link_update", C_BAD, "0.0.0.0", K_INT, -6, L, dap_link_manager_link_update(&g_a1, "0.0.0.0", 8079))             \
    X("link_update", C_BAD, "255.255.255.255", K_INT, -6, L,                                                           \
      dap_link_manager_link_update(&g_a1, "255.255.255.255", 8079))                                                    \
    X("link_update", C_BAD, "::1", K_INT, -6, L, dap_link_manager_link_update(&g_a1, "::1", 8079))                     \
    X("link_update", C_BAD, "unresolvable", K_INT, -6, L,                                                              \
      dap_link_manager_link_update(&g_a1, "no-such-host.invalid", 8079))                                               \
    X("link_update", C_BEFORE, "", K_INT, -1, L, dap_link_manager_link_update(&g_a1, "10.6.0.1", 8079))                \
    X("link_update", C_AFTER, "", K_INT, -1, L, dap_link_manager_link_update(&g_a1, "10.6.0.1", 8079))                 \
    X("link_update", C_CB, "127.0.0.1", K_INT, -6, L, dap_link_manager_link_update(&g_a1, "127.0.0.1", 8079))          \
    X("link_find", C_NULL, "", K_BOOL, 0, O, dap_link_manager_link_find(NULL, N1))                                     \
    X("link_find", C_ZERO, "", K_BOOL, 0, O, dap_link_manager_link_find(&g_zero, N1))                                  \
    X("link_find", C_OWN, "", K_BOOL, 0, O, dap_link_manager_link_find(&g_own, N1))                                    \
    X("link_find", C_UNKNOWN, "", K_BOOL, 0, O, dap_link_manager_link_find(&g_a1, NU))                                 \
    X("link_find", C_INVNET, "", K_BOOL, 0, O, dap_link_manager_link_find(&g_a1, NI))                                  \
    X("link_find", C_BEFORE, "", K_BOOL, 0, O, dap_link_manager_link_find(&g_a1, N1))                                  \
    X("link_find", C_AFTER, "", K_BOOL, 0, O, dap_link_manager_link_find(&g_a1, N1))                                   \
    X("link_find", C_CB, "NULL", K_BOOL, 0, O, dap_link_manager_link_find(NULL, N1))                                   \
    X("link_is_established", C_NULL, "", K_BOOL, 0, O, dap_link_manager_link_is_established(NULL))                     \
    X("link_is_established", C_ZERO, "", K_BOOL, 0, O, dap_link_manager_link_is_established(&g_zero))                  \
    X("link_is_established", C_OWN, "", K_BOOL, 0, O, dap_link_manager_link_is_established(&g_own))                    \
    X("link_is_established", C_BEFORE, "", K_BOOL, 0, O, dap_link_manager_link_is_established(&g_a1))                  \
    X("link_is_established", C_AFTER, "", K_BOOL, 0, O, dap_link_manager_link_is_established(&g_a1))                   \
    X("get_net_links_addrs", C_NULL, "both counts", K_PTR, ANY, O,                                                     \
      ptr_free(dap_link_manager_get_net_links_addrs(N1, NULL, NULL, false)))                                           \
    X("get_net_links_addrs", C_ZERO, "id 0: NULL, counts kept", K_OK, 0, O, links_untouched(0))                        \
    X("get_net_links_addrs", C_UNKNOWN, "NULL, counts kept", K_OK, 0, O, links_untouched(NU))                          \
    X("get_net_links_addrs", C_INVNET, "NULL, counts kept", K_OK, 0, O, links_untouched(NI))                           \
    X("get_net_links_addrs", C_BEFORE, "NULL, counts kept", K_OK, 0, O, links_untouched(N1))                           \
    X("get_net_links_addrs", C_AFTER, "NULL, counts kept", K_OK, 0, O, links_untouched(N1))                            \
    X("get_net_links_addrs", C_CB, "unknown net", K_OK, 0, O, links_untouched(NU))                                    \
    X("get_ignored_addrs", C_NULL, "count", K_PTR, ANY, O, ptr_free(dap_link_manager_get_ignored_addrs(NULL, N1)))     \
    X("get_ignored_addrs", C_ZERO, "id 0: NULL, count kept", K_OK, 0, O, ignored_untouched(0))                         \
    X("get_ignored_addrs", C_UNKNOWN, "NULL, count kept", K_OK, 0, O, ignored_untouched(NH))                           \
    X("get_ignored_addrs", C_INVNET, "NULL, count kept", K_OK, 0, O, ignored_untouched(NI))                            \
    X("get_ignored_addrs", C_BEFORE, "NULL, count kept", K_OK, 0, O, ignored_untouched(N1))                            \
    X("get_ignored_addrs", C_AFTER, "NULL, count kept", K_OK, 0, O, ignored_untouched(N1))                             \
    X("get_ignored_addrs", C_CB, "unknown net", K_OK, 0, O, ignored_untouched(NH))                                     \
    X("get_links_info", C_BEFORE, "", K_PTR, 0, O, ptr_free(dap_link_manager_get_links_info()))                        \
    X("get_links_info", C_AFTER, "", K_PTR, 0, O, ptr_free(dap_link_manager_get_links_info()))                         \
    /* stream events, accounting, cluster callbacks */                                                                 \
    X("stream_add", C_NULL, "", K_INT, -1, L, dap_link_manager_stream_add(NULL, false))                                \
    X("stream_add", C_ZERO, "", K_INT, -1, L, dap_link_manager_stream_add(&g_zero, false))                             \
    X("stream_add", C_OWN, "", K_INT, ANY, O, stream_add_own(false))                              \
    X("stream_add", C_BEFORE, "", K_INT, -1, L, dap_link_manager_stream_add(&g_new, false))                            \
    X("stream_add", C_AFTER, "", K_INT, -1, L, dap_link_manager_stream_add(&g_new, false))                             \
    X("stream_add", C_CB, "NULL", K_INT, -1, L, dap_link_manager_stream_add(NULL, false))                              \
    X("stream_replace", C_NULL, "", K_VOID, 0, L, (dap_link_manager_stream_replace(NULL, true), 0))                    \
    X("stream_replace", C_ZERO, "", K_VOID, 0, L, (dap_link_manager_stream_replace(&g_zero, true), 0))                 \
    X("stream_replace", C_BEFORE, "", K_VOID, 0, L, (dap_link_manager_stream_replace(&g_a1, true), 0))                 \
    X("stream_replace", C_AFTER, "", K_VOID, 0, L, (dap_link_manager_stream_replace(&g_a1, true), 0))                  \
    X("stream_replace", C_CB, "NULL", K_VOID, 0, L, (dap_link_manager_stream_replace(NULL, true), 0))                  \
    X("stream_delete", C_NULL, "", K_VOID, 0, L, (dap_link_manager_stream_delete(NULL), 0))                            \
    X("stream_delete", C_ZERO, "", K_VOID, 0, L, (dap_link_manager_stream_delete(&g_zero), 0))                         \
    X("stream_delete", C_BEFORE, "", K_VOID, 0, L, (dap_link_manager_stream_delete(&g_a1), 0))                         \
    X("stream_delete", C_AFTER, "", K_VOID, 0, L, (dap_link_manager_stream_delete(&g_a1), 0))                          \
    X("stream_delete", C_CB, "NULL", K_VOID, 0, L, (dap_link_manager_stream_delete(NULL), 0))                          \
    X("accounting_link_in_net", C_NULL, "", K_VOID, 0, L, (dap_link_manager_accounting_link_in_net(N1, NULL, true), 0)) \
    X("accounting_link_in_net", C_ZERO, "", K_VOID, 0, L,                                                              \
      (dap_link_manager_accounting_link_in_net(N1, &g_zero, true), 0))                                                 \
    X("accounting_link_in_net", C_UNKNOWN, "nothing", K_VOID, 0, O,                                                    \
      (dap_link_manager_accounting_link_in_net(NU, &g_a1, true), 0))                                                   \
    X("accounting_link_in_net", C_INVNET, "nothing", K_VOID, 0, O,                                                     \
      (dap_link_manager_accounting_link_in_net(NI, &g_a1, true), 0))                                                   \
    X("accounting_link_in_net", C_BEFORE, "", K_VOID, 0, L, (dap_link_manager_accounting_link_in_net(N1, &g_a1, true), 0)) \
    X("accounting_link_in_net", C_AFTER, "", K_VOID, 0, L, (dap_link_manager_accounting_link_in_net(N1, &g_a1, true), 0)) \
    X("accounting_link_in_net", C_CB, "NULL", K_VOID, 0, L, (dap_link_manager_accounting_link_in_net(N1, NULL, true), 0)) \
    X("add_links_cluster", C_NULL, "member", K_VOID, 0, L, (dap_link_manager_add_links_cluster(NULL, NULL), 0))        \
    X("add_links_cluster", C_NULL, "member->cluster", K_VOID, 0, L, (dap_link_manager_add_links_cluster(&m_nocl, NULL), 0)) \
    X("add_links_cluster", C_ZERO, "", K_VOID, 0, L, (dap_link_manager_add_links_cluster(&m_zero, NULL), 0))           \
    X("add_links_cluster", C_BEFORE, "", K_VOID, 0, L, (dap_link_manager_add_links_cluster(&m_ok, NULL), 0))           \
    X("add_links_cluster", C_AFTER, "", K_VOID, 0, L, (dap_link_manager_add_links_cluster(&m_ok, NULL), 0))            \
    X("add_links_cluster", C_CB, "NULL", K_VOID, 0, L, (dap_link_manager_add_links_cluster(NULL, NULL), 0))            \
    X("remove_links_cluster", C_NULL, "member", K_VOID, 0, L, (dap_link_manager_remove_links_cluster(NULL, NULL), 0))  \
    X("remove_links_cluster", C_ZERO, "", K_VOID, 0, L, (dap_link_manager_remove_links_cluster(&m_zero, NULL), 0))     \
    X("remove_links_cluster", C_BEFORE, "", K_VOID, 0, L, (dap_link_manager_remove_links_cluster(&m_ok, NULL), 0))     \
    X("remove_links_cluster", C_AFTER, "", K_VOID, 0, L, (dap_link_manager_remove_links_cluster(&m_ok, NULL), 0))      \
    X("add_static_links_cluster", C_NULL, "member", K_VOID, 0, L,                                                      \
      (dap_link_manager_add_static_links_cluster(NULL, S), 0))                                                         \
    X("add_static_links_cluster", C_NULL, "cluster arg", K_VOID, 0, L,                                                 \
      (dap_link_manager_add_static_links_cluster(&m_nocl, NULL), 0))                                                   \
    X("add_static_links_cluster", C_ZERO, "", K_VOID, 0, L, (dap_link_manager_add_static_links_cluster(&m_zero, S), 0)) \
    X("add_static_links_cluster", C_OWN, "ignored", K_VOID, 0, O, (dap_link_manager_add_static_links_cluster(&m_own, S), 0)) \
    X("add_static_links_cluster", C_BEFORE, "", K_VOID, 0, L, (dap_link_manager_add_static_links_cluster(&m_ok, S), 0)) \
    X("add_static_links_cluster", C_AFTER, "", K_VOID, 0, L, (dap_link_manager_add_static_links_cluster(&m_ok, S), 0)) \
    X("remove_static_links_cluster", C_NULL, "member", K_VOID, 0, L,                                                   \
      (dap_link_manager_remove_static_links_cluster(NULL, S), 0))                                                      \
    X("remove_static_links_cluster", C_ZERO, "", K_VOID, 0, L,                                                         \
      (dap_link_manager_remove_static_links_cluster(&m_zero, S), 0))                                                   \
    X("remove_static_links_cluster", C_OWN, "ignored", K_VOID, 0, O,                                                   \
      (dap_link_manager_remove_static_links_cluster(&m_own, S), 0))                                                    \
    X("remove_static_links_cluster", C_BEFORE, "", K_VOID, 0, L,                                                       \
      (dap_link_manager_remove_static_links_cluster(&m_ok, S), 0))                                                     \
    X("remove_static_links_cluster", C_AFTER, "", K_VOID, 0, L,                                                        \
      (dap_link_manager_remove_static_links_cluster(&m_ok, S), 0))                                                     \
    /* _sync */                                                                                                        \
    X("add_net_sync", C_NULL, "cluster", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L, dap_link_manager_add_net_sync(NU, NULL, 1, 0)) \
    X("add_net_sync", C_ZERO, "id 0", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L, dap_link_manager_add_net_sync(0, CX, 1, 0)) \
    X("add_net_sync", C_INVNET, "as id", K_LM, ANY, O, add_net_invalid_id(true))                                       \
    X("add_net_sync", C_BEFORE, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L, dap_link_manager_add_net_sync(NU, CX, 1, 0))  \
    X("add_net_sync", C_AFTER, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L, dap_link_manager_add_net_sync(NU, CX, 1, 0))   \
    X("add_net_sync", C_CB, "id 0", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L, dap_link_manager_add_net_sync(0, CX, 1, 0))  \
    X("add_net_associate_sync", C_NULL, "cluster", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L,                               \
      dap_link_manager_add_net_associate_sync(N1, NULL, 0))                                                            \
    X("add_net_associate_sync", C_ZERO, "id 0", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L,                                  \
      dap_link_manager_add_net_associate_sync(0, CX, 0))                                                               \
    X("add_net_associate_sync", C_UNKNOWN, "", K_LM, DAP_LM_ERR_NOT_FOUND, L, dap_link_manager_add_net_associate_sync(NU, CX, 0)) \
    X("add_net_associate_sync", C_INVNET, "", K_LM, DAP_LM_ERR_NOT_FOUND, L, dap_link_manager_add_net_associate_sync(NI, CX, 0)) \
    X("add_net_associate_sync", C_BEFORE, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                     \
      dap_link_manager_add_net_associate_sync(N1, CX, 0))                                                              \
    X("add_net_associate_sync", C_AFTER, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                      \
      dap_link_manager_add_net_associate_sync(N1, CX, 0))                                                              \
    X("add_net_associate_sync", C_CB, "unknown net", K_LM, DAP_LM_ERR_NOT_FOUND, L,                                    \
      dap_link_manager_add_net_associate_sync(NU, CX, 0))                                                              \
    X("remove_net_sync", C_ZERO, "id 0", K_LM, DAP_LM_OK, O, dap_link_manager_remove_net_sync(0, 0))                   \
    X("remove_net_sync", C_UNKNOWN, "", K_LM, DAP_LM_OK, O, dap_link_manager_remove_net_sync(NU, 0))                   \
    X("remove_net_sync", C_INVNET, "", K_LM, DAP_LM_OK, O, dap_link_manager_remove_net_sync(NI, 0))                    \
    X("remove_net_sync", C_BEFORE, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L, dap_link_manager_remove_net_sync(N1, 0))   \
    X("remove_net_sync", C_AFTER, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L, dap_link_manager_remove_net_sync(N1, 0))    \
    X("remove_net_sync", C_CB, "unknown net", K_LM, DAP_LM_OK, O, dap_link_manager_remove_net_sync(NU, 0))             \
    X("set_net_condition_sync", C_UNKNOWN, "", K_LM, DAP_LM_OK, O, dap_link_manager_set_net_condition_sync(NU, true, 0)) \
    X("set_net_condition_sync", C_INVNET, "", K_LM, DAP_LM_OK, O, dap_link_manager_set_net_condition_sync(NI, true, 0)) \
    X("set_net_condition_sync", C_BEFORE, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                     \
      dap_link_manager_set_net_condition_sync(N1, true, 0))                                                            \
    X("set_net_condition_sync", C_AFTER, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                      \
      dap_link_manager_set_net_condition_sync(N1, true, 0))                                                            \
    X("set_condition_sync", C_BEFORE, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L, dap_link_manager_set_condition_sync(true, 0)) \
    X("set_condition_sync", C_AFTER, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L, dap_link_manager_set_condition_sync(true, 0)) \
    X("link_create_sync", C_NULL, "", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L, dap_link_manager_link_create_sync(NULL, N1, 0)) \
    X("link_create_sync", C_ZERO, "", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L, dap_link_manager_link_create_sync(&g_zero, N1, 0)) \
    X("link_create_sync", C_OWN, "", K_LM, DAP_LM_ERR_OWN_ADDRESS, L, dap_link_manager_link_create_sync(&g_own, N1, 0)) \
    X("link_create_sync", C_UNKNOWN, "", K_LM, DAP_LM_ERR_NOT_FOUND, L, dap_link_manager_link_create_sync(&g_new, NU, 0)) \
    X("link_create_sync", C_INVNET, "no net: valid", K_LM, DAP_LM_OK, O, dap_link_manager_link_create_sync(&g_new, NI, 0)) \
    X("link_create_sync", C_BEFORE, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L, dap_link_manager_link_create_sync(&g_new, N1, 0)) \
    X("link_create_sync", C_AFTER, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L, dap_link_manager_link_create_sync(&g_new, N1, 0)) \
    X("link_create_sync", C_CB, "own addr", K_LM, DAP_LM_ERR_OWN_ADDRESS, L, dap_link_manager_link_create_sync(&g_own, N1, 0)) \
    X("link_update_sync", C_NULL, "addr", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L,                                        \
      dap_link_manager_link_update_sync(NULL, "10.6.0.1", 8079, 0))                                                    \
    X("link_update_sync", C_NULL, "host", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L,                                        \
      dap_link_manager_link_update_sync(&g_a1, NULL, 8079, 0))                                                         \
    X("link_update_sync", C_ZERO, "", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L,                                            \
      dap_link_manager_link_update_sync(&g_zero, "10.6.0.1", 8079, 0))                                                 \
    X("link_update_sync", C_OWN, "", K_LM, ANY, O, dap_link_manager_link_update_sync(&g_own, "10.6.0.1", 8079, 0))     \
    X("link_update_sync", C_BAD, "port 0", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L,                                       \
      dap_link_manager_link_update_sync(&g_a1, "10.6.0.1", 0, 0))                                                      \
    X("link_update_sync", C_BAD, "\"::\"", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L,                                       \
      dap_link_manager_link_update_sync(&g_a1, "::", 8079, 0))                                                         \
    X("link_update_sync", C_BAD, "127.0.0.1", K_LM, DAP_LM_ERR_BAD_HOST, L,                                            \
      dap_link_manager_link_update_sync(&g_a1, "127.0.0.1", 8079, 0))                                                  \
    X("link_update_sync", C_BEFORE, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                           \
      dap_link_manager_link_update_sync(&g_a1, "10.6.0.1", 8079, 0))                                                   \
    X("link_update_sync", C_AFTER, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                            \
      dap_link_manager_link_update_sync(&g_a1, "10.6.0.1", 8079, 0))                                                   \
    X("link_update_sync", C_CB, "127.0.0.1", K_LM, DAP_LM_ERR_BAD_HOST, L,                                             \
      dap_link_manager_link_update_sync(&g_a1, "127.0.0.1", 8079, 0))                                                  \
    X("stream_add_sync", C_NULL, "", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L, dap_link_manager_stream_add_sync(NULL, false, 0)) \
    X("stream_add_sync", C_ZERO, "", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L, dap_link_manager_stream_add_sync(&g_zero, false, 0)) \
    X("stream_add_sync", C_OWN, "", K_LM, ANY, O, stream_add_own(true))                  \
    X("stream_add_sync", C_BEFORE, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L, dap_link_manager_stream_add_sync(&g_new, false, 0)) \
    X("stream_add_sync", C_AFTER, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L, dap_link_manager_stream_add_sync(&g_new, false, 0)) \
    X("stream_add_sync", C_CB, "NULL", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L, dap_link_manager_stream_add_sync(NULL, false, 0)) \
    X("stream_replace_sync", C_NULL, "", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L, dap_link_manager_stream_replace_sync(NULL, true, 0)) \
    X("stream_replace_sync", C_ZERO, "", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L,                                         \
      dap_link_manager_stream_replace_sync(&g_zero, true, 0))                                                          \
    X("stream_replace_sync", C_BEFORE, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                        \
      dap_link_manager_stream_replace_sync(&g_a1, true, 0))                                                            \
    X("stream_replace_sync", C_AFTER, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                         \
      dap_link_manager_stream_replace_sync(&g_a1, true, 0))                                                            \
    X("stream_delete_sync", C_NULL, "", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L, dap_link_manager_stream_delete_sync(NULL, 0)) \
    X("stream_delete_sync", C_ZERO, "", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L, dap_link_manager_stream_delete_sync(&g_zero, 0)) \
    X("stream_delete_sync", C_BEFORE, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L, dap_link_manager_stream_delete_sync(&g_a1, 0)) \
    X("stream_delete_sync", C_AFTER, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L, dap_link_manager_stream_delete_sync(&g_a1, 0)) \
    X("stream_delete_sync", C_CB, "NULL", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L, dap_link_manager_stream_delete_sync(NULL, 0)) \
    X("accounting_link_in_net_sync", C_NULL, "", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L,                                 \
      dap_link_manager_accounting_link_in_net_sync(N1, NULL, true, 0))                                                 \
    X("accounting_link_in_net_sync", C_ZERO, "", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L,                                 \
      dap_link_manager_accounting_link_in_net_sync(N1, &g_zero, true, 0))                                              \
    X("accounting_link_in_net_sync", C_UNKNOWN, "nothing", K_LM, DAP_LM_OK, O,                                         \
      dap_link_manager_accounting_link_in_net_sync(NU, &g_a1, true, 0))                                                \
    X("accounting_link_in_net_sync", C_INVNET, "nothing", K_LM, DAP_LM_OK, O,                                          \
      dap_link_manager_accounting_link_in_net_sync(NI, &g_a1, true, 0))                                                \
    X("accounting_link_in_net_sync", C_BEFORE, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                \
      dap_link_manager_accounting_link_in_net_sync(N1, &g_a1, true, 0))                                                \
    X("accounting_link_in_net_sync", C_AFTER, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                 \
      dap_link_manager_accounting_link_in_net_sync(N1, &g_a1, true, 0))                                                \
    X("sync", C_BEFORE, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L, dap_link_manager_sync(0))                             \
    X("sync", C_AFTER, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L, dap_link_manager_sync(0))                              \
    X("sync", C_CB, "inline", K_LM, DAP_LM_OK, O, dap_link_manager_sync(0))                                            \
    X("get_condition_sync", C_NULL, "out", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L, dap_link_manager_get_condition_sync(NULL, 0)) \
    X("get_condition_sync", C_BEFORE, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                         \
      dap_link_manager_get_condition_sync(&(bool){0}, 0))                                                              \
    X("get_condition_sync", C_AFTER, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                          \
      dap_link_manager_get_condition_sync(&(bool){0}, 0))                                                              \
    X("get_net_condition_sync", C_NULL, "out", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L,                                   \
      dap_link_manager_get_net_condition_sync(N1, NULL, 0))                                                            \
    X("get_net_condition_sync", C_ZERO, "id 0", K_LM, DAP_LM_ERR_NOT_FOUND, O,                                         \
      dap_link_manager_get_net_condition_sync(0, &(bool){0}, 0))                                                       \
    X("get_net_condition_sync", C_UNKNOWN, "", K_LM, DAP_LM_ERR_NOT_FOUND, O,                                          \
      dap_link_manager_get_net_condition_sync(NU, &(bool){0}, 0))                                                      \
    X("get_net_condition_sync", C_INVNET, "", K_LM, DAP_LM_ERR_NOT_FOUND, O,                                           \
      dap_link_manager_get_net_condition_sync(NI, &(bool){0}, 0))                                                      \
    X("get_net_condition_sync", C_BEFORE, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                     \
      dap_link_manager_get_net_condition_sync(N1, &(bool){0}, 0))                                                      \
    X("get_net_condition_sync", C_AFTER, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                      \
      dap_link_manager_get_net_condition_sync(N1, &(bool){0}, 0))                                                      \
    X("get_net_condition_sync", C_CB, "unknown net", K_LM, DAP_LM_ERR_NOT_FOUND, O,                                    \
      dap_link_manager_get_net_condition_sync(NU, &(bool){0}, 0))                                                      \
    X("links_count_sync", C_NULL, "out", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L, dap_link_manager_links_count_sync(N1, NULL, 0)) \
    X("links_count_sync", C_ZERO, "id 0", K_LM, DAP_LM_ERR_NOT_FOUND, O, size_sync(dap_link_manager_links_count_sync, 0)) \
    X("links_count_sync", C_UNKNOWN, "", K_LM, DAP_LM_ERR_NOT_FOUND, O, size_sync(dap_link_manager_links_count_sync, NU)) \
    X("links_count_sync", C_INVNET, "", K_LM, DAP_LM_ERR_NOT_FOUND, O, size_sync(dap_link_manager_links_count_sync, NI)) \
    X("links_count_sync", C_BEFORE, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L, size_sync(dap_link_manager_links_count_sync, N1)) \
    X("links_count_sync", C_AFTER, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L, size_sync(dap_link_manager_links_count_sync, N1)) \
    X("links_count_sync", C_CB, "unknown net", K_LM, DAP_LM_ERR_NOT_FOUND, O, size_sync(dap_link_manager_links_count_sync, NU)) \
    X("required_links_count_sync", C_NULL, "out", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L,                                \
      dap_link_manager_required_links_count_sync(N1, NULL, 0))                                                         \
    X("required_links_count_sync", C_UNKNOWN, "", K_LM, DAP_LM_ERR_NOT_FOUND, O,                                       \
      size_sync(dap_link_manager_required_links_count_sync, NU))                                                       \
    X("required_links_count_sync", C_BEFORE, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                  \
      size_sync(dap_link_manager_required_links_count_sync, N1))                                                       \
    X("required_links_count_sync", C_AFTER, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                   \
      size_sync(dap_link_manager_required_links_count_sync, N1))                                                       \
    X("needed_links_count_sync", C_NULL, "out", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L,                                  \
      dap_link_manager_needed_links_count_sync(N1, NULL, 0))                                                           \
    X("needed_links_count_sync", C_UNKNOWN, "", K_LM, DAP_LM_ERR_NOT_FOUND, O,                                         \
      size_sync(dap_link_manager_needed_links_count_sync, NU))                                                         \
    X("needed_links_count_sync", C_BEFORE, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                    \
      size_sync(dap_link_manager_needed_links_count_sync, N1))                                                         \
    X("needed_links_count_sync", C_AFTER, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                     \
      size_sync(dap_link_manager_needed_links_count_sync, N1))                                                         \
    X("established_uplinks_count_sync", C_NULL, "out", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L,                           \
      dap_link_manager_established_uplinks_count_sync(N1, NULL, 0))                                                    \
    X("established_uplinks_count_sync", C_UNKNOWN, "", K_LM, DAP_LM_ERR_NOT_FOUND, O,                                  \
      size_sync(dap_link_manager_established_uplinks_count_sync, NU))                                                  \
    X("established_uplinks_count_sync", C_BEFORE, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                             \
      size_sync(dap_link_manager_established_uplinks_count_sync, N1))                                                  \
    X("established_uplinks_count_sync", C_AFTER, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                              \
      size_sync(dap_link_manager_established_uplinks_count_sync, N1))                                                  \
    X("link_find_sync", C_NULL, "addr", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L,                                          \
      dap_link_manager_link_find_sync(NULL, N1, &(bool){0}, 0))                                                        \
    X("link_find_sync", C_NULL, "out", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L, dap_link_manager_link_find_sync(&g_a1, N1, NULL, 0)) \
    X("link_find_sync", C_ZERO, "", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L,                                              \
      dap_link_manager_link_find_sync(&g_zero, N1, &(bool){0}, 0))                                                     \
    X("link_find_sync", C_OWN, "false", K_LM, DAP_LM_OK, O, dap_link_manager_link_find_sync(&g_own, N1, &(bool){0}, 0)) \
    X("link_find_sync", C_UNKNOWN, "false", K_LM, DAP_LM_OK, O, dap_link_manager_link_find_sync(&g_a1, NU, &(bool){0}, 0)) \
    X("link_find_sync", C_BEFORE, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                             \
      dap_link_manager_link_find_sync(&g_a1, N1, &(bool){0}, 0))                                                       \
    X("link_find_sync", C_AFTER, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                              \
      dap_link_manager_link_find_sync(&g_a1, N1, &(bool){0}, 0))                                                       \
    X("link_find_sync", C_CB, "NULL", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L,                                            \
      dap_link_manager_link_find_sync(NULL, N1, &(bool){0}, 0))                                                        \
    X("link_is_established_sync", C_NULL, "addr", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L,                                \
      dap_link_manager_link_is_established_sync(NULL, &(bool){0}, 0))                                                  \
    X("link_is_established_sync", C_ZERO, "", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L,                                    \
      dap_link_manager_link_is_established_sync(&g_zero, &(bool){0}, 0))                                               \
    X("link_is_established_sync", C_OWN, "false", K_LM, DAP_LM_OK, O,                                                  \
      dap_link_manager_link_is_established_sync(&g_own, &(bool){0}, 0))                                                \
    X("link_is_established_sync", C_BEFORE, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                   \
      dap_link_manager_link_is_established_sync(&g_a1, &(bool){0}, 0))                                                 \
    X("link_is_established_sync", C_AFTER, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                    \
      dap_link_manager_link_is_established_sync(&g_a1, &(bool){0}, 0))                                                 \
    X("get_net_links_addrs_sync", C_NULL, "out", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L,                                 \
      dap_link_manager_get_net_links_addrs_sync(N1, false, NULL, 0))                                                   \
    X("get_net_links_addrs_sync", C_ZERO, "id 0", K_LM, DAP_LM_ERR_NOT_FOUND, O, net_links_sync(0))                    \
    X("get_net_links_addrs_sync", C_UNKNOWN, "", K_LM, DAP_LM_ERR_NOT_FOUND, O, net_links_sync(NU))                    \
    X("get_net_links_addrs_sync", C_INVNET, "", K_LM, DAP_LM_ERR_NOT_FOUND, O, net_links_sync(NI))                     \
    X("get_net_links_addrs_sync", C_BEFORE, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L, net_links_sync(N1))               \
    X("get_net_links_addrs_sync", C_AFTER, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L, net_links_sync(N1))                \
    X("get_net_links_addrs_sync", C_CB, "unknown net", K_LM, DAP_LM_ERR_NOT_FOUND, O, net_links_sync(NU))              \
    X("get_ignored_addrs_sync", C_NULL, "count", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L,                                 \
      dap_link_manager_get_ignored_addrs_sync(N1, &(dap_stream_node_addr_t *){NULL}, NULL, 0))                         \
    X("get_ignored_addrs_sync", C_NULL, "addrs", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L,                                 \
      dap_link_manager_get_ignored_addrs_sync(N1, NULL, &(size_t){0}, 0))                                              \
    X("get_ignored_addrs_sync", C_ZERO, "id 0", K_LM, DAP_LM_ERR_NOT_FOUND, O, ignored_sync(0))                        \
    X("get_ignored_addrs_sync", C_UNKNOWN, "", K_LM, DAP_LM_ERR_NOT_FOUND, O, ignored_sync(NU))                        \
    X("get_ignored_addrs_sync", C_INVNET, "", K_LM, DAP_LM_ERR_NOT_FOUND, O, ignored_sync(NI))                         \
    X("get_ignored_addrs_sync", C_BEFORE, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L, ignored_sync(N1))                   \
    X("get_ignored_addrs_sync", C_AFTER, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L, ignored_sync(N1))                    \
    X("link_snapshot_sync", C_NULL, "addr", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L, snapshot_sync_untouched(NULL))       \
    X("link_snapshot_sync", C_NULL, "out", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L,                                       \
      dap_link_manager_link_snapshot_sync(&g_a1, NULL, 0))                                                             \
    X("link_snapshot_sync", C_ZERO, "", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L, snapshot_sync_untouched(&g_zero))        \
    X("link_snapshot_sync", C_OWN, "", K_LM, DAP_LM_ERR_NOT_FOUND, O, snapshot_sync_untouched(&g_own))                 \
    X("link_snapshot_sync", C_BEFORE, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L, snapshot_sync_untouched(&g_a1))         \
    X("link_snapshot_sync", C_AFTER, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L, snapshot_sync_untouched(&g_a1))          \
    X("link_snapshot_sync", C_CB, "NULL", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L, snapshot_sync_untouched(NULL))         \
    X("nets_snapshot_sync", C_NULL, "out", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L, dap_link_manager_nets_snapshot_sync(NULL, 0)) \
    X("nets_snapshot_sync", C_BEFORE, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                         \
      out_ptr_untouched(dap_link_manager_nets_snapshot_sync(&(struct dap_lm_nets_snapshot *){(void *)1}, 0), (void *)1)) \
    X("nets_snapshot_sync", C_AFTER, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                          \
      out_ptr_untouched(dap_link_manager_nets_snapshot_sync(&(struct dap_lm_nets_snapshot *){(void *)1}, 0), (void *)1)) \
    /* _async: refusals complete on the caller's thread; accepted ones show their completion code */                 \
    X("add_net_async", C_NULL, "cluster", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L, ASYNC(dap_link_manager_add_net_async(NU, NULL, 1, CB))) \
    X("add_net_async", C_ZERO, "id 0", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L, ASYNC(dap_link_manager_add_net_async(0, CX, 1, CB))) \
    X("add_net_async", C_BEFORE, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L, ASYNC(dap_link_manager_add_net_async(NU, CX, 1, CB))) \
    X("add_net_async", C_AFTER, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L, ASYNC(dap_link_manager_add_net_async(NU, CX, 1, CB))) \
    X("add_net_async", C_CB, "id 0", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L, ASYNC(dap_link_manager_add_net_async(0, CX, 1, CB))) \
    X("add_net_associate_async", C_NULL, "cluster", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L,                              \
      ASYNC(dap_link_manager_add_net_associate_async(N1, NULL, CB)))                                                   \
    X("add_net_associate_async", C_ZERO, "id 0", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L,                                 \
      ASYNC(dap_link_manager_add_net_associate_async(0, CX, CB)))                                                      \
    X("add_net_associate_async", C_UNKNOWN, "completion", K_LM, DAP_LM_ERR_NOT_FOUND, L,                               \
      ASYNC(dap_link_manager_add_net_associate_async(NU, CX, CB)))                                                     \
    X("add_net_associate_async", C_BEFORE, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                    \
      ASYNC(dap_link_manager_add_net_associate_async(N1, CX, CB)))                                                     \
    X("add_net_associate_async", C_AFTER, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                     \
      ASYNC(dap_link_manager_add_net_associate_async(N1, CX, CB)))                                                     \
    X("remove_net_async", C_UNKNOWN, "completion", K_LM, DAP_LM_OK, O, ASYNC(dap_link_manager_remove_net_async(NU, CB))) \
    X("remove_net_async", C_BEFORE, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L, ASYNC(dap_link_manager_remove_net_async(N1, CB))) \
    X("remove_net_async", C_AFTER, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L, ASYNC(dap_link_manager_remove_net_async(N1, CB))) \
    X("set_net_condition_async", C_BEFORE, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                    \
      ASYNC(dap_link_manager_set_net_condition_async(N1, true, CB)))                                                   \
    X("set_net_condition_async", C_AFTER, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                     \
      ASYNC(dap_link_manager_set_net_condition_async(N1, true, CB)))                                                   \
    X("set_condition_async", C_BEFORE, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                        \
      ASYNC(dap_link_manager_set_condition_async(true, CB)))                                                           \
    X("set_condition_async", C_AFTER, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                         \
      ASYNC(dap_link_manager_set_condition_async(true, CB)))                                                           \
    X("link_create_async", C_NULL, "", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L, ASYNC(dap_link_manager_link_create_async(NULL, N1, CB))) \
    X("link_create_async", C_ZERO, "", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L,                                           \
      ASYNC(dap_link_manager_link_create_async(&g_zero, N1, CB)))                                                      \
    X("link_create_async", C_OWN, "completion", K_LM, DAP_LM_ERR_OWN_ADDRESS, L,                                       \
      ASYNC(dap_link_manager_link_create_async(&g_own, N1, CB)))                                                       \
    X("link_create_async", C_UNKNOWN, "completion", K_LM, DAP_LM_ERR_NOT_FOUND, L,                                     \
      ASYNC(dap_link_manager_link_create_async(&g_new, NU, CB)))                                                       \
    X("link_create_async", C_BEFORE, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                          \
      ASYNC(dap_link_manager_link_create_async(&g_new, N1, CB)))                                                       \
    X("link_create_async", C_AFTER, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                           \
      ASYNC(dap_link_manager_link_create_async(&g_new, N1, CB)))                                                       \
    X("link_create_async", C_CB, "NULL", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L,                                         \
      ASYNC(dap_link_manager_link_create_async(NULL, N1, CB)))                                                         \
    X("link_update_async", C_NULL, "addr", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L,                                       \
      ASYNC(dap_link_manager_link_update_async(NULL, "10.6.0.1", 8079, CB)))                                           \
    X("link_update_async", C_NULL, "host", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L,                                       \
      ASYNC(dap_link_manager_link_update_async(&g_a1, NULL, 8079, CB)))                                                \
    X("link_update_async", C_ZERO, "", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L,                                           \
      ASYNC(dap_link_manager_link_update_async(&g_zero, "10.6.0.1", 8079, CB)))                                        \
    X("link_update_async", C_BAD, "port 0", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L,                                      \
      ASYNC(dap_link_manager_link_update_async(&g_a1, "10.6.0.1", 0, CB)))                                             \
    X("link_update_async", C_BAD, "\"::\"", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L,                                      \
      ASYNC(dap_link_manager_link_update_async(&g_a1, "::", 8079, CB)))                                                \
    X("link_update_async", C_BAD, "127.0.0.1", K_LM, DAP_LM_ERR_BAD_HOST, L,                                           \
      ASYNC(dap_link_manager_link_update_async(&g_a1, "127.0.0.1", 8079, CB)))                                         \
    X("link_update_async", C_BEFORE, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                          \
      ASYNC(dap_link_manager_link_update_async(&g_a1, "10.6.0.1", 8079, CB)))                                          \
    X("link_update_async", C_AFTER, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                           \
      ASYNC(dap_link_manager_link_update_async(&g_a1, "10.6.0.1", 8079, CB)))                                          \
    X("link_update_async", C_CB, "127.0.0.1", K_LM, DAP_LM_ERR_BAD_HOST, L,                                            \
      ASYNC(dap_link_manager_link_update_async(&g_a1, "127.0.0.1", 8079, CB)))                                         \
    X("stream_add_async", C_NULL, "", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L, ASYNC(dap_link_manager_stream_add_async(NULL, false, CB))) \
    X("stream_add_async", C_ZERO, "", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L,                                            \
      ASYNC(dap_link_manager_stream_add_async(&g_zero, false, CB)))                                                    \
    X("stream_add_async", C_BEFORE, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                           \
      ASYNC(dap_link_manager_stream_add_async(&g_new, false, CB)))                                                     \
    X("stream_add_async", C_AFTER, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                            \
      ASYNC(dap_link_manager_stream_add_async(&g_new, false, CB)))                                                     \
    X("stream_replace_async", C_NULL, "", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L,                                        \
      ASYNC(dap_link_manager_stream_replace_async(NULL, true, CB)))                                                    \
    X("stream_replace_async", C_BEFORE, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                       \
      ASYNC(dap_link_manager_stream_replace_async(&g_a1, true, CB)))                                                   \
    X("stream_replace_async", C_AFTER, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                        \
      ASYNC(dap_link_manager_stream_replace_async(&g_a1, true, CB)))                                                   \
    X("stream_delete_async", C_NULL, "", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L, ASYNC(dap_link_manager_stream_delete_async(NULL, CB))) \
    X("stream_delete_async", C_ZERO, "", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L,                                         \
      ASYNC(dap_link_manager_stream_delete_async(&g_zero, CB)))                                                        \
    X("stream_delete_async", C_BEFORE, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                        \
      ASYNC(dap_link_manager_stream_delete_async(&g_a1, CB)))                                                          \
    X("stream_delete_async", C_AFTER, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                         \
      ASYNC(dap_link_manager_stream_delete_async(&g_a1, CB)))                                                          \
    X("stream_delete_async", C_CB, "NULL", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L,                                       \
      ASYNC(dap_link_manager_stream_delete_async(NULL, CB)))                                                           \
    X("accounting_link_in_net_async", C_NULL, "", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L,                                \
      ASYNC(dap_link_manager_accounting_link_in_net_async(N1, NULL, true, CB)))                                        \
    X("accounting_link_in_net_async", C_UNKNOWN, "completion", K_LM, DAP_LM_OK, O,                                     \
      ASYNC(dap_link_manager_accounting_link_in_net_async(NU, &g_a1, true, CB)))                                       \
    X("accounting_link_in_net_async", C_BEFORE, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                               \
      ASYNC(dap_link_manager_accounting_link_in_net_async(N1, &g_a1, true, CB)))                                       \
    X("accounting_link_in_net_async", C_AFTER, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                \
      ASYNC(dap_link_manager_accounting_link_in_net_async(N1, &g_a1, true, CB)))                                       \
    X("get_net_links_addrs_async", C_UNKNOWN, "completion", K_LM, DAP_LM_ERR_NOT_FOUND, O,                             \
      ASYNC(dap_link_manager_get_net_links_addrs_async(NU, false, links_cb, &g_rec)))                                  \
    X("get_net_links_addrs_async", C_NULL, "cb", K_LM, DAP_LM_OK, O,                                                   \
      dap_link_manager_get_net_links_addrs_async(N1, false, NULL, NULL))                                              \
    X("get_net_links_addrs_async", C_BEFORE, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                  \
      ASYNC(dap_link_manager_get_net_links_addrs_async(N1, false, links_cb, &g_rec)))                                  \
    X("get_net_links_addrs_async", C_AFTER, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                   \
      ASYNC(dap_link_manager_get_net_links_addrs_async(N1, false, links_cb, &g_rec)))                                  \
    X("link_snapshot_async", C_NULL, "addr", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L,                                     \
      ASYNC(dap_link_manager_link_snapshot_async(NULL, snap_cb, &g_rec)))                                              \
    X("link_snapshot_async", C_ZERO, "", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L,                                         \
      ASYNC(dap_link_manager_link_snapshot_async(&g_zero, snap_cb, &g_rec)))                                           \
    X("link_snapshot_async", C_OWN, "completion", K_LM, DAP_LM_ERR_NOT_FOUND, O,                                       \
      ASYNC(dap_link_manager_link_snapshot_async(&g_own, snap_cb, &g_rec)))                                            \
    X("link_snapshot_async", C_BEFORE, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                        \
      ASYNC(dap_link_manager_link_snapshot_async(&g_a1, snap_cb, &g_rec)))                                             \
    X("link_snapshot_async", C_AFTER, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                         \
      ASYNC(dap_link_manager_link_snapshot_async(&g_a1, snap_cb, &g_rec)))                                             \
    X("link_snapshot_async", C_CB, "NULL", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L,                                       \
      ASYNC(dap_link_manager_link_snapshot_async(NULL, snap_cb, &g_rec)))                                              \
    /* snapshots, stats, names, hooks */                                                                               \
    X("link_snapshot", C_NULL, "addr", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L, snapshot_untouched(NULL))                 \
    X("link_snapshot", C_NULL, "out", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L, dap_link_manager_link_snapshot(&g_a1, NULL)) \
    X("link_snapshot", C_ZERO, "", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L, snapshot_untouched(&g_zero))                  \
    X("link_snapshot", C_OWN, "", K_LM, DAP_LM_ERR_NOT_FOUND, O, snapshot_untouched(&g_own))                           \
    X("link_snapshot", C_BEFORE, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L, snapshot_untouched(&g_a1))                   \
    X("link_snapshot", C_AFTER, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L, snapshot_untouched(&g_a1))                    \
    X("link_snapshot", C_CB, "NULL", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L, snapshot_untouched(NULL))                   \
    X("nets_snapshot", C_NULL, "out", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L, dap_link_manager_nets_snapshot(NULL))      \
    X("nets_snapshot", C_BEFORE, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                              \
      nets_snapshot_ok(dap_link_manager_nets_snapshot(&(struct dap_lm_nets_snapshot *){NULL}), NULL))                  \
    X("nets_snapshot", C_AFTER, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, L,                                               \
      nets_snapshot_ok(dap_link_manager_nets_snapshot(&(struct dap_lm_nets_snapshot *){NULL}), NULL))                  \
    X("dap_lm_link_snapshot_free", C_NULL, "", K_VOID, 0, O, (dap_lm_link_snapshot_free(NULL), 0))                     \
    X("dap_lm_nets_snapshot_free", C_NULL, "", K_VOID, 0, O, (dap_lm_nets_snapshot_free(NULL), 0))                     \
    X("dap_lm_net_links_free", C_NULL, "", K_VOID, 0, O, (dap_lm_net_links_free(NULL), 0))                             \
    X("get_stats", C_NULL, "out", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, L, dap_link_manager_get_stats(NULL))              \
    X("get_stats", C_BEFORE, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, O, dap_link_manager_get_stats(&(struct dap_lm_stats){0})) \
    X("get_stats", C_AFTER, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, O, dap_link_manager_get_stats(&(struct dap_lm_stats){0})) \
    X("stats_json", C_BEFORE, "", K_PTR, 0, O, ptr_free(dap_link_manager_stats_json()))                                \
    X("stats_json", C_AFTER, "", K_PTR, 0, O, ptr_free(dap_link_manager_stats_json()))                                 \
    X("metrics_prometheus", C_BEFORE, "", K_PTR, 0, O, ptr_free(dap_link_manager_metrics_prometheus()))                \
    X("metrics_prometheus", C_AFTER, "", K_PTR, 0, O, ptr_free(dap_link_manager_metrics_prometheus()))                 \
    X("op_name", C_BAD, "-1", K_PTR, 0, O, dap_link_manager_op_name(-1) != NULL)                                       \
    X("op_name", C_BAD, "DAP_LM_OP_KINDS", K_PTR, 0, O, dap_link_manager_op_name(DAP_LM_OP_KINDS) != NULL)             \
    X("strerror", C_BAD, "-1 (text)", K_PTR, 1, O, dap_link_manager_strerror(-1) != NULL)                              \
    X("strerror", C_BAD, "INT_MAX (text)", K_PTR, 1, O, dap_link_manager_strerror(INT_MAX) != NULL)                    \
    X("version", C_BEFORE, "(text)", K_PTR, 1, O, dap_link_manager_version() != NULL)                                  \
    X("test_tick", C_BAD, "phase 7", K_LM, DAP_LM_ERR_INVALID_ARGUMENT, O, dap_link_manager_test_tick(7, 0))           \
    X("test_tick", C_BEFORE, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, O, dap_link_manager_test_tick(-1, 0))               \
    X("test_tick", C_AFTER, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, O, dap_link_manager_test_tick(-1, 0))                \
    X("test_clock_set", C_BEFORE, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, O, dap_link_manager_test_clock_set(1))         \
    X("test_clock_advance", C_AFTER, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, O, dap_link_manager_test_clock_advance(1))  \
    X("test_auto_tick", C_AFTER, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, O, dap_link_manager_test_auto_tick(true))       \
    X("test_inject_panic", C_BEFORE, "", K_LM, DAP_LM_ERR_NOT_INITIALIZED, O, dap_link_manager_test_inject_panic(0))

typedef struct cell_meta {
    const char *row, *label, *expr;
    int col, kind, log;
    long expect;
} cell_meta_t;

#define GEN_META(row, col, label, kind, exp, log, expr) {row, label, #expr, col, kind, log, exp},
static const cell_meta_t meta[] = {CELLS(GEN_META)};
#define NCELLS ((int)(sizeof(meta) / sizeof(meta[0])))

enum { COUNTER_BASE = __COUNTER__ + 1 };
#define GEN_CASE(row, col, label, kind, exp, log, expr)                                                               \
    case __COUNTER__ - COUNTER_BASE:                                                                                   \
        return (long)(expr);
static long run_expr(int i)
{
    switch (i) {
        CELLS(GEN_CASE)
    }
    abort();
}

/* ------------------------------------------------------------- running and reporting */

typedef struct result {
    bool ran;
    long got;
    bool logged, pass;
} result_t;
static result_t res[NCELLS];

static void run_cell(int i)
{
    size_t log0 = sdk_log_total();
    res[i].got = run_expr(i);
    if (!g_in_cb && dap_link_manager_get_default())
        dap_link_manager_sync(0); /* effects applied later log then */
    res[i].logged = sdk_log_total() > log0;
    res[i].ran = true;
    const cell_meta_t *m = &meta[i];
    bool value_ok = m->expect == ANY || res[i].got == m->expect;
    res[i].pass = value_ok && (!m->log || res[i].logged);
    if (!value_ok)
        lmt_fail(__FILE__, __LINE__, "[%s | %s%s%s] %s returned %ld, expected %ld", m->row, col_title[m->col],
                 *m->label ? ": " : "", m->label, m->expr, res[i].got, m->expect);
    else if (m->log && !res[i].logged)
        lmt_fail(__FILE__, __LINE__, "[%s | %s%s%s] %s: no log line", m->row, col_title[m->col], *m->label ? ": " : "",
                 m->label, m->expr);
    atomic_fetch_add(&lmt_checks, 1);
}

static void run_column(int col)
{
    for (int i = 0; i < NCELLS; i++)
        if (meta[i].col == col)
            run_cell(i);
}

static void run_columns_live(void)
{
    for (int c = C_NULL; c <= C_BAD; c++)
        run_column(c);
}

static const char *lm_name(long v)
{
    static const char *const names[] = {"OK",        "INVALID_ARGUMENT", "NOT_INITIALIZED", "SHUTTING_DOWN", "TIMEOUT",
                                        "QUEUE_FULL", "INTERNAL",        "NOT_FOUND",       "EXISTS",        "OWN_ADDRESS",
                                        "BAD_HOST",   "NO_MEMORY",       "INACTIVE"};
    return v >= 0 && v <= 12 ? names[v] : NULL;
}

static void fmt_value(char *out, size_t n, int kind, long v)
{
    if (kind == K_LM && lm_name(v))
        snprintf(out, n, "%s", lm_name(v));
    else if (kind == K_LM && v >= 1000)
        snprintf(out, n, "%ld (INCONSISTENT: completion/out-param)", v);
    else if (kind == K_BOOL)
        snprintf(out, n, "%s", v ? "true" : "false");
    else if (kind == K_PTR)
        snprintf(out, n, "%s", v ? "non-NULL" : "NULL");
    else if (kind == K_VOID)
        snprintf(out, n, "(void)");
    else if (kind == K_OK)
        snprintf(out, n, "%s", v ? "WRONG" : "ok");
    else
        snprintf(out, n, "%ld", v);
}

static void write_markdown(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return;
    }
    fprintf(f, "<!-- generated by c_tests/tests/test_bad_input.c; do not edit by hand -->\n");
    fprintf(f, "Bad-input matrix (generated by `test_bad_input`): each cell is the observed result; "
               "`L` = a log line (warning or above) was written; **bold** = differs from the contract "
               "(expected value in brackets) or a required log line is missing; _unspecified_ = the "
               "contract says nothing, the value is shown as observed. Every cell ran without a crash or hang.\n\n");
    fprintf(f, "| function |");
    for (int c = 0; c < C_COUNT; c++)
        fprintf(f, " %s |", col_title[c]);
    fprintf(f, "\n|---|");
    for (int c = 0; c < C_COUNT; c++)
        fprintf(f, "---|");
    fprintf(f, "\n");
    for (int i = 0; i < NCELLS; i++) {
        bool first_of_row = true;
        for (int j = 0; j < i; j++)
            if (!strcmp(meta[j].row, meta[i].row))
                first_of_row = false;
        if (!first_of_row)
            continue;
        fprintf(f, "| `%s` |", meta[i].row);
        for (int c = 0; c < C_COUNT; c++) {
            bool any = false;
            fprintf(f, " ");
            for (int j = i; j < NCELLS; j++) {
                if (strcmp(meta[j].row, meta[i].row) || meta[j].col != c || !res[j].ran)
                    continue;
                char v[96], e[64];
                fmt_value(v, sizeof(v), meta[j].kind, res[j].got);
                if (any)
                    fprintf(f, "<br>");
                any = true;
                if (*meta[j].label)
                    fprintf(f, "%s: ", meta[j].label);
                bool value_ok = meta[j].expect == ANY || res[j].got == meta[j].expect;
                if (value_ok)
                    fprintf(f, "`%s`", v);
                else {
                    fmt_value(e, sizeof(e), meta[j].kind, meta[j].expect);
                    fprintf(f, "**`%s` [%s]**", v, e);
                }
                if (res[j].logged)
                    fprintf(f, " L");
                else if (meta[j].log)
                    fprintf(f, " **no log**");
                if (meta[j].expect == ANY)
                    fprintf(f, " _unspecified_");
            }
            fprintf(f, " |");
        }
        fprintf(f, "\n");
    }
    fclose(f);
    printf("matrix written to %s\n", path);
}

/* ------------------------------------------------------------- the callback column */

static atomic_int cb_ran;

static int cb_link_request(uint64_t net)
{
    if (net != N1 || atomic_load(&cb_ran))
        return 0;
    g_in_cb = true;
    run_column(C_CB);
    g_in_cb = false;
    atomic_store(&cb_ran, 1);
    return 0;
}

/* deinit from inside a callback: documented "do not", must still not crash or hang */
static atomic_int deinit_cb_ran;
static int deinit_link_request(uint64_t net)
{
    (void)net;
    if (atomic_exchange(&deinit_cb_ran, 1) == 0)
        dap_link_manager_deinit();
    return 0;
}

static void test_deinit_from_callback(void)
{
    printf("-- deinit from inside a callback\n");
    lmt_watchdog_arm(20, "deinit inside a callback");
    size_t log0 = sdk_log_count_level(L_ERROR, NULL);
    lmt_node.on_link_request = deinit_link_request;
    int rc = dap_link_manager_test_tick(1, 5000);
    CHECKF(rc == DAP_LM_OK || rc == DAP_LM_ERR_SHUTTING_DOWN, "the tick that ran deinit answered %d", rc);
    CHECK(atomic_load(&deinit_cb_ran));
    CHECK(sdk_log_count_level(L_ERROR, NULL) > log0); /* "deinit called from inside a callback" */
    CHECK(dap_link_manager_get_default() == NULL);
    dap_stream_node_addr_t a = lmt_addr(ANEW);
    CHECK_INT(dap_link_manager_link_create(&a, N1), -3);
    /* nobody joins the library thread now: it finishes its shutdown on its own */
    CHECK(LMT_WAIT_UNTIL((sdk_quiesce(), sdk_clients_live() == 0), 3000));
    lmt_node.on_link_request = NULL;
    /* and the library can start again */
    CHECK_INT(dap_link_manager_init(&lmt_callbacks), 0);
    CHECK_RC(dap_link_manager_sync(0), DAP_LM_OK);
    dap_link_manager_deinit();
}

int main(int argc, char **argv)
{
    g_dap_log_level = L_WARNING; /* sdk_log_total then counts warnings and errors only */
    lmt_watchdog_arm(30, "before init");
    sdk_set_node_addr(LMT_OWN);
    g_zero = lmt_addr(0);
    g_own = lmt_addr(LMT_OWN);
    g_a1 = lmt_addr(A1);
    g_new = lmt_addr(ANEW);
    no_fill = lmt_callbacks;
    no_fill.fill_net_info = NULL;
    C1 = lmt_net_cluster("c1");
    CX = lmt_net_cluster("cx");
    S = lmt_static_cluster("s");
    m_ok.addr = lmt_addr(A1);
    m_ok.cluster = C1;
    m_zero.cluster = C1;
    m_own.addr = g_own;
    m_own.cluster = S;
    m_nocl.addr = lmt_addr(A1);

    /* before the first init of the process (as a plugin calling too early) */
    printf("-- before init (%d cells in all)\n", NCELLS);
    run_column(C_BEFORE);

    printf("-- live manager\n");
    lmt_watchdog_arm(60, "live");
    CHECK_INT(lmt_start(NULL), 0);
    CHECK_RC(dap_link_manager_add_net_sync(N1, C1, 2, 0), DAP_LM_OK);
    CHECK_RC(dap_link_manager_set_net_condition_sync(N1, true, 0), DAP_LM_OK);
    CHECK_RC(dap_link_manager_link_create_sync(&g_a1, N1, 0), DAP_LM_OK);
    run_columns_live();

    printf("-- inside a callback\n");
    lmt_watchdog_arm(30, "callback");
    dap_link_manager_link_create_sync(&g_a1, N1, 0);
    lmt_node.on_link_request = cb_link_request;
    CHECK_RC(dap_link_manager_test_tick(1, 10000), DAP_LM_OK);
    lmt_node.on_link_request = NULL;
    CHECK(atomic_load(&cb_ran));
    CHECK_INT(atomic_load(&lmt_node.on_wrong_thread), 0);
    dap_link_manager_deinit();

    printf("-- after deinit\n");
    lmt_watchdog_arm(30, "after deinit");
    run_column(C_AFTER);

    CHECK_INT(lmt_start(NULL), 0);
    CHECK_RC(dap_link_manager_add_net_sync(N1, C1, 2, 0), DAP_LM_OK);
    CHECK_RC(dap_link_manager_set_net_condition_sync(N1, true, 0), DAP_LM_OK);
    test_deinit_from_callback();

    sdk_quiesce();
    CHECK_INT(sdk_clients_live(), 0);
    int failed = 0;
    for (int i = 0; i < NCELLS; i++)
        failed += res[i].ran && !res[i].pass;
    printf("%d cells, %d differ from the contract or lack a required log line\n", NCELLS, failed);
    if (argc > 1)
        write_markdown(argv[1]);
    sdk_cluster_free(C1);
    sdk_cluster_free(CX);
    sdk_cluster_free(S);
    return lmt_finish("test_bad_input");
}
