/* lm_stress: 8 threads call every exported function at random (original, `_sync`, `_async`,
 * snapshots, stats; 10% with bad arguments) while a chaos thread fails clients, completes connects
 * and changes cluster membership, and (phase B) a lifecycle thread cycles deinit/init.
 *
 *   lm_stress [--seconds N] [--threads N] [--bad-pct P] [--seed S] [--capacity N]
 *
 * Phase A (first half, no deinit, backpressure=reject with a small normal queue): every fact issued
 * (stream add/replace/delete, accounting, cluster membership) is processed: the per_type counters
 * move by exactly the counts issued (client events: at most the count injected, since the SDK
 * abandons an attempt's outcome on a later go_stage); refusals are counted by the stats.
 * Phase B (second half): the same load while the manager is stopped and started again and again.
 * Both: every `_async` completion runs exactly once (accepted: on the library thread; refused: on the
 * caller's thread before the call returns); a watchdog fails the run when any call or the whole
 * program makes no progress for 10 s; at the end SDK clients and heap return to the baseline. */
#include "lm_test_api.h"

#include <malloc.h>

#define MAX_WORKERS 32
#define SLOT_BITS   16
#define NSLOTS      (1u << SLOT_BITS)
#define ADDR_BASE   UINT64_C(0x0010000000000000)
#define ADDR_RANGE  384
#define N1          UINT64_C(0xA01)
#define N2          UINT64_C(0xA02)
#define N3          UINT64_C(0xA03) /* added and removed at random */
#define NU          UINT64_C(0xAFF) /* never managed */
#define HANG_MS     10000

/* ------------------------------------------------------------- options and shared state */

static unsigned opt_seconds = 30, opt_threads = 8, opt_bad_pct = 10, opt_capacity = 256;
static uint64_t opt_seed = 0x5EED;

static dap_cluster_t *C1, *C2, *C3, *CS; /* net clusters and one static cluster */
static atomic_int stop_workers, stop_chaos, stop_lifecycle, phase_b; /* phase_b: deinit/init cycles run */
static atomic_ullong progress;

/* errors: counted, first few printed */
static atomic_int errors;
static void error_at(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void error_at(const char *fmt, ...)
{
    if (atomic_fetch_add(&errors, 1) < 20) {
        va_list ap;
        va_start(ap, fmt);
        flockfile(stderr);
        fprintf(stderr, "FAIL: ");
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        funlockfile(stderr);
        va_end(ap);
    }
    atomic_fetch_add(&lmt_failures, 1);
}

/* ------------------------------------------------------------- async tickets */

/* Slot of one `_async` request: done_gen is the generation of the last completion seen. */
typedef struct slot {
    _Atomic uint32_t done_gen;
    _Atomic uint8_t on_lib;
    uint8_t returned_ok;
} slot_t;

typedef struct counters {
    /* facts issued (accepted for queueing) */
    uint64_t f_add, f_replace, f_delete, f_acc, f_joined, f_left, f_sjoined, f_sleft;
    /* requests */
    uint64_t calls, bad_calls, sync_calls, async_calls, async_ok, async_refused;
    uint64_t full, not_init, shutting, timeouts, other_refusals;
    uint64_t void_normal; /* void originals that may be refused unseen (remove_net, set_net_condition, ...) */
    uint64_t observed_refusals; /* refusals for capacity seen in return codes */
} counters_t;

typedef struct worker {
    int id;
    uint64_t rng;
    slot_t *slots;
    uint64_t seq; /* async requests issued */
    counters_t c;
    _Atomic uint64_t op_started_ms; /* 0 when between calls */
    const char *_Atomic op_name;
} worker_t;

static worker_t workers[MAX_WORKERS];
static atomic_ullong completions;

static void *ticket(worker_t *w, slot_t **out_slot, uint32_t *out_gen)
{
    uint64_t seq = w->seq++;
    slot_t *s = &w->slots[seq & (NSLOTS - 1)];
    uint32_t gen = (uint32_t)(seq >> SLOT_BITS) + 1;
    if (gen > 1) { /* the previous request in this slot: completed once, on the right thread */
        uint64_t t0 = lmt_now_ms();
        while (atomic_load_explicit(&s->done_gen, memory_order_acquire) != gen - 1) {
            if (lmt_now_ms() - t0 > HANG_MS) {
                error_at("worker %d: async request %llu never completed", w->id,
                         (unsigned long long)(seq - NSLOTS));
                break;
            }
            sched_yield();
        }
        if (atomic_load(&s->on_lib) != s->returned_ok)
            error_at("worker %d: async request %llu completed on the %s thread but returned %s", w->id,
                     (unsigned long long)(seq - NSLOTS), atomic_load(&s->on_lib) ? "library" : "caller's",
                     s->returned_ok ? "OK" : "a refusal");
    }
    s->returned_ok = 0;
    *out_slot = s;
    *out_gen = gen;
    return (void *)(uintptr_t)(((uint64_t)(w->id + 1) << 48) | seq);
}

static void completion(int rc, void *arg)
{
    uint64_t v = (uint64_t)(uintptr_t)arg;
    int wid = (int)(v >> 48) - 1;
    uint64_t seq = v & ((UINT64_C(1) << 48) - 1);
    if (wid < 0 || wid >= (int)opt_threads) {
        error_at("completion with a foreign argument %p", arg);
        return;
    }
    slot_t *s = &workers[wid].slots[seq & (NSLOTS - 1)];
    uint32_t gen = (uint32_t)(seq >> SLOT_BITS) + 1;
    uint32_t prev = atomic_load(&s->done_gen);
    if (prev != gen - 1)
        error_at("completion of worker %d request %llu: called %s (slot generation %u, expected %u)", wid,
                 (unsigned long long)seq, prev == gen ? "twice" : "out of order", prev, gen - 1);
    if (rc < 0 || rc > DAP_LM_ERR_INACTIVE)
        error_at("completion with an unknown code %d", rc);
    atomic_store(&s->on_lib, (uint8_t)lmt_on_lib_thread());
    atomic_store_explicit(&s->done_gen, gen, memory_order_release);
    atomic_fetch_add(&completions, 1);
}

static void completion_links(int rc, const struct dap_lm_net_links *r, void *arg)
{
    if ((rc == DAP_LM_OK) != (r != NULL))
        error_at("net-links completion: rc %d with result %p", rc, (const void *)r);
    else if (r && r->uplinks_count + r->downlinks_count)
        (void)r->addrs[r->uplinks_count + r->downlinks_count - 1]; /* readable during the call */
    completion(rc, arg);
}

static void completion_snapshot(int rc, const struct dap_lm_link_snapshot *s, void *arg)
{
    if ((rc == DAP_LM_OK) != (s != NULL))
        error_at("snapshot completion: rc %d with snapshot %p", rc, (const void *)s);
    else if (s && s->nets_count)
        (void)s->nets[s->nets_count - 1];
    completion(rc, arg);
}

/* After an `_async` call returned: a refusal has completed already, on this thread. */
static void after_async(worker_t *w, slot_t *s, uint32_t gen, int rc)
{
    w->c.async_calls++;
    if (rc == DAP_LM_OK) {
        w->c.async_ok++;
        s->returned_ok = 1;
        return;
    }
    w->c.async_refused++;
    if (atomic_load_explicit(&s->done_gen, memory_order_acquire) != gen || atomic_load(&s->on_lib))
        error_at("worker %d: _async refused with %d but its completion did not run on the caller's thread first", w->id,
                 rc);
}

/* ------------------------------------------------------------- result classification */

static void note_lm(worker_t *w, int rc)
{
    switch (rc) {
    case DAP_LM_ERR_QUEUE_FULL:
        w->c.full++;
        w->c.observed_refusals++;
        break;
    case DAP_LM_ERR_NOT_INITIALIZED:
        w->c.not_init++;
        break;
    case DAP_LM_ERR_SHUTTING_DOWN:
        w->c.shutting++;
        break;
    case DAP_LM_ERR_TIMEOUT:
        w->c.timeouts++;
        break;
    case DAP_LM_ERR_INTERNAL:
        error_at("worker %d: INTERNAL (a handler panicked)", w->id);
        break;
    default:
        if (rc < 0 || rc > DAP_LM_ERR_INACTIVE)
            error_at("worker %d: unknown result code %d", w->id, rc);
    }
}

/* ------------------------------------------------------------- the workers */

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static dap_stream_node_addr_t g_own, g_zero;
static const char *const bad_hosts[] = {"127.0.0.1", "::", "0.0.0.0", "::1", "255.255.255.255"};

#define OPS 62

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    char host[32];
    while (!atomic_load_explicit(&stop_workers, memory_order_relaxed)) {
        uint64_t r = rnd(&w->rng);
        bool bad = (r % 100) < opt_bad_pct;
        r >>= 7;
        int op = (int)(r % OPS);
        r >>= 6;
        dap_stream_node_addr_t good = lmt_addr(ADDR_BASE + ((uint64_t)w->id << 12) + r % ADDR_RANGE + 1);
        r >>= 9;
        dap_stream_node_addr_t *a = &good;
        uint64_t net = (r & 1) ? N1 : N2;
        const char *h = host;
        uint16_t port = 8079;
        snprintf(host, sizeof(host), "10.%d.%d.%d", 16 + w->id, (int)((r >> 1) % 250) + 1, (int)((r >> 9) % 250) + 1);
        if (bad) { /* one bad argument: NULL, zero, own, unknown net, invalid net, bad host */
            switch ((r >> 20) % 7) {
            case 0:
                a = NULL;
                break;
            case 1:
                a = &g_zero;
                break;
            case 2:
                a = &g_own;
                break;
            case 3:
                net = NU;
                break;
            case 4:
                net = DAP_NET_ID_INVALID;
                break;
            case 5:
                h = (r >> 24) & 1 ? NULL : bad_hosts[(r >> 25) % 5];
                break;
            default:
                port = 0;
                break;
            }
            w->c.bad_calls++;
        }
        bool valid_addr = a && a->uint64 != 0; /* queued (own address included) */
        int rc;
        size_t n = 0;
        bool b = false;
        slot_t *s;
        uint32_t gen;
        void *t;
        atomic_store_explicit(&w->op_started_ms, lmt_now_ms(), memory_order_relaxed);
        w->c.calls++;
        switch (op) {
        /* ---- original */
        case 0:
            dap_link_manager_set_condition((r & 31) != 0); /* mostly on */
            w->c.void_normal++;
            break;
        case 1:
            (void)dap_link_manager_get_condition();
            (void)dap_link_manager_get_default();
            break;
        case 2: /* valid arguments: -2 in phase A (initialised) is a refused wait */
            rc = dap_link_manager_add_net(N3, C3, 2);
            w->c.observed_refusals += rc == -2 && !atomic_load(&phase_b);
            break;
        case 3:
            rc = dap_link_manager_add_net_associate(N3, (r & 2) ? C3 : CS);
            w->c.observed_refusals += rc == -2 && !atomic_load(&phase_b);
            break;
        case 4:
            dap_link_manager_remove_net((r & 2) ? N3 : NU);
            w->c.void_normal++;
            break;
        case 5:
            dap_link_manager_set_net_condition(bad ? net : N3, (r & 4) != 0);
            w->c.void_normal++;
            break;
        case 6:
            n = dap_link_manager_links_count(net) + dap_link_manager_required_links_count(net) +
                dap_link_manager_needed_links_count(net) + dap_link_manager_established_uplinks_count(net);
            b = dap_link_manager_get_net_condition(net);
            break;
        case 7:
            rc = dap_link_manager_link_create(a, net);
            if (rc == -3 && !atomic_load(&phase_b))
                w->c.observed_refusals++; /* initialised all phase A: -3 here is a refused wait */
            break;
        case 8:
            rc = dap_link_manager_link_update(a, h, port);
            if (rc == -7)
                w->c.observed_refusals++;
            break;
        case 9:
            b = dap_link_manager_link_find(a, net) || dap_link_manager_link_is_established(a);
            break;
        case 10: {
            size_t up = 0, down = 0;
            free(dap_link_manager_get_net_links_addrs(net, &up, &down, (r & 8) != 0));
            free(dap_link_manager_get_ignored_addrs(&n, net));
            break;
        }
        case 11:
            free(dap_link_manager_get_links_info());
            break;
        case 12:
            if (dap_link_manager_stream_add(a, (r & 16) != 0) == 0)
                w->c.f_add++;
            break;
        case 13:
            dap_link_manager_stream_replace(a, (r & 16) != 0);
            w->c.f_replace += valid_addr;
            break;
        case 14:
            dap_link_manager_stream_delete(a);
            w->c.f_delete += valid_addr;
            break;
        case 15:
            dap_link_manager_accounting_link_in_net(net, a, (r & 32) != 0);
            w->c.f_acc += valid_addr;
            break;
        case 16: { /* the cluster code's callbacks, called directly */
            dap_cluster_member_t m;
            memset(&m, 0, sizeof(m));
            if (a)
                m.addr = *a;
            m.cluster = (r & 64) ? C1 : C2;
            bool ok = a && a->uint64;
            if (r & 128) {
                dap_link_manager_add_links_cluster(bad && (r & 256) ? NULL : &m, NULL);
                w->c.f_joined += ok && !(bad && (r & 256));
            } else {
                dap_link_manager_remove_links_cluster(bad && (r & 256) ? NULL : &m, NULL);
                w->c.f_left += ok && !(bad && (r & 256));
            }
            break;
        }
        case 17: {
            dap_cluster_member_t m;
            memset(&m, 0, sizeof(m));
            if (a)
                m.addr = *a;
            m.cluster = CS;
            bool ok = a && a->uint64 && a->uint64 != LMT_OWN;
            if (r & 128) {
                dap_link_manager_add_static_links_cluster(&m, CS);
                w->c.f_sjoined += ok || (a && a->uint64 == LMT_OWN);
            } else {
                dap_link_manager_remove_static_links_cluster(&m, CS);
                w->c.f_sleft += ok || (a && a->uint64 == LMT_OWN);
            }
            break;
        }
        case 18:
            dap_link_manager_add_active_channel((r & 2) ? 'R' : 'Z');
            dap_link_manager_remove_active_channel('Q');
            (void)dap_link_manager_get_active_channels();
            break;
        case 19: {
            dap_link_manager_t *m = dap_link_manager_new(bad ? NULL : &lmt_callbacks);
            free(m);
            (void)dap_link_manager_strerror((int)(r % 20) - 3);
            (void)dap_link_manager_op_name((int)(r % 25) - 2);
            (void)dap_link_manager_version();
            break;
        }
        /* ---- _sync */
        case 20:
            w->c.sync_calls++;
            note_lm(w, dap_link_manager_add_net_sync(bad ? 0 : N3, C3, 2, 0));
            break;
        case 21:
            w->c.sync_calls++;
            note_lm(w, dap_link_manager_add_net_associate_sync(bad ? net : N3, C3, 0));
            break;
        case 22:
            w->c.sync_calls++;
            note_lm(w, dap_link_manager_remove_net_sync(bad ? net : N3, 0));
            break;
        case 23:
            w->c.sync_calls++;
            note_lm(w, dap_link_manager_set_net_condition_sync(net, bad ? false : true, 0));
            break;
        case 24:
            w->c.sync_calls++;
            note_lm(w, dap_link_manager_set_condition_sync(true, 0));
            break;
        case 25:
            w->c.sync_calls++;
            note_lm(w, dap_link_manager_link_create_sync(a, net, 0));
            break;
        case 26:
            w->c.sync_calls++;
            note_lm(w, dap_link_manager_link_update_sync(a, h, port, 0));
            break;
        case 27:
            w->c.sync_calls++;
            rc = dap_link_manager_stream_add_sync(a, (r & 16) != 0, 0);
            note_lm(w, rc);
            w->c.f_add += rc == DAP_LM_OK;
            break;
        case 28:
            w->c.sync_calls++;
            rc = dap_link_manager_stream_replace_sync(a, (r & 16) != 0, 0);
            note_lm(w, rc);
            w->c.f_replace += rc == DAP_LM_OK;
            break;
        case 29:
            w->c.sync_calls++;
            rc = dap_link_manager_stream_delete_sync(a, 0);
            note_lm(w, rc);
            w->c.f_delete += rc == DAP_LM_OK;
            break;
        case 30:
            w->c.sync_calls++;
            rc = dap_link_manager_accounting_link_in_net_sync(net, a, (r & 32) != 0, 0);
            note_lm(w, rc);
            w->c.f_acc += rc == DAP_LM_OK;
            break;
        case 31:
            w->c.sync_calls++;
            note_lm(w, dap_link_manager_sync(0));
            break;
        case 32:
            w->c.sync_calls++;
            note_lm(w, dap_link_manager_get_condition_sync(bad ? NULL : &b, 0));
            break;
        case 33:
            w->c.sync_calls++;
            note_lm(w, dap_link_manager_get_net_condition_sync(net, &b, 0));
            break;
        case 34:
            w->c.sync_calls++;
            note_lm(w, dap_link_manager_links_count_sync(net, bad && (r & 512) ? NULL : &n, 0));
            break;
        case 35:
            w->c.sync_calls++;
            note_lm(w, dap_link_manager_required_links_count_sync(net, &n, 0));
            break;
        case 36:
            w->c.sync_calls++;
            note_lm(w, dap_link_manager_needed_links_count_sync(net, &n, 0));
            break;
        case 37:
            w->c.sync_calls++;
            note_lm(w, dap_link_manager_established_uplinks_count_sync(net, &n, 0));
            break;
        case 38:
            w->c.sync_calls++;
            note_lm(w, dap_link_manager_link_find_sync(a, net, &b, 0));
            break;
        case 39:
            w->c.sync_calls++;
            note_lm(w, dap_link_manager_link_is_established_sync(a, &b, 0));
            break;
        case 40: {
            struct dap_lm_net_links *nl = NULL;
            w->c.sync_calls++;
            rc = dap_link_manager_get_net_links_addrs_sync(net, (r & 8) != 0, &nl, 0);
            note_lm(w, rc);
            dap_lm_net_links_free(nl);
            break;
        }
        case 41: {
            dap_stream_node_addr_t *p = NULL;
            w->c.sync_calls++;
            rc = dap_link_manager_get_ignored_addrs_sync(net, &p, &n, 0);
            note_lm(w, rc);
            free(p);
            break;
        }
        case 42: {
            struct dap_lm_link_snapshot *ls = NULL;
            w->c.sync_calls++;
            rc = dap_link_manager_link_snapshot_sync(a, &ls, 0);
            note_lm(w, rc);
            dap_lm_link_snapshot_free(ls);
            break;
        }
        case 43: {
            struct dap_lm_nets_snapshot *ns = NULL;
            w->c.sync_calls++;
            rc = dap_link_manager_nets_snapshot_sync(&ns, 0);
            note_lm(w, rc);
            dap_lm_nets_snapshot_free(ns);
            break;
        }
        /* ---- _async */
        case 44:
            t = ticket(w, &s, &gen);
            rc = dap_link_manager_add_net_async(bad ? 0 : N3, C3, 2, completion, t);
            note_lm(w, rc);
            after_async(w, s, gen, rc);
            break;
        case 45:
            t = ticket(w, &s, &gen);
            rc = dap_link_manager_add_net_associate_async(bad ? net : N3, CS, completion, t);
            note_lm(w, rc);
            after_async(w, s, gen, rc);
            break;
        case 46:
            t = ticket(w, &s, &gen);
            rc = dap_link_manager_remove_net_async(bad ? net : N3, completion, t);
            note_lm(w, rc);
            after_async(w, s, gen, rc);
            break;
        case 47:
            t = ticket(w, &s, &gen);
            rc = dap_link_manager_set_net_condition_async(net, !bad, completion, t);
            note_lm(w, rc);
            after_async(w, s, gen, rc);
            break;
        case 48:
            t = ticket(w, &s, &gen);
            rc = dap_link_manager_set_condition_async(true, completion, t);
            note_lm(w, rc);
            after_async(w, s, gen, rc);
            break;
        case 49:
            t = ticket(w, &s, &gen);
            rc = dap_link_manager_link_create_async(a, net, completion, t);
            note_lm(w, rc);
            after_async(w, s, gen, rc);
            break;
        case 50:
            t = ticket(w, &s, &gen);
            rc = dap_link_manager_link_update_async(a, h, port, completion, t);
            note_lm(w, rc);
            after_async(w, s, gen, rc);
            break;
        case 51:
            t = ticket(w, &s, &gen);
            rc = dap_link_manager_stream_add_async(a, (r & 16) != 0, completion, t);
            note_lm(w, rc);
            after_async(w, s, gen, rc);
            w->c.f_add += rc == DAP_LM_OK;
            break;
        case 52:
            t = ticket(w, &s, &gen);
            rc = dap_link_manager_stream_replace_async(a, (r & 16) != 0, completion, t);
            note_lm(w, rc);
            after_async(w, s, gen, rc);
            w->c.f_replace += rc == DAP_LM_OK;
            break;
        case 53:
            t = ticket(w, &s, &gen);
            rc = dap_link_manager_stream_delete_async(a, completion, t);
            note_lm(w, rc);
            after_async(w, s, gen, rc);
            w->c.f_delete += rc == DAP_LM_OK;
            break;
        case 54:
            t = ticket(w, &s, &gen);
            rc = dap_link_manager_accounting_link_in_net_async(net, a, (r & 32) != 0, completion, t);
            note_lm(w, rc);
            after_async(w, s, gen, rc);
            w->c.f_acc += rc == DAP_LM_OK;
            break;
        case 55:
            t = ticket(w, &s, &gen);
            rc = dap_link_manager_get_net_links_addrs_async(net, (r & 8) != 0, completion_links, t);
            note_lm(w, rc);
            after_async(w, s, gen, rc);
            break;
        case 56:
            t = ticket(w, &s, &gen);
            rc = dap_link_manager_link_snapshot_async(a, completion_snapshot, t);
            note_lm(w, rc);
            after_async(w, s, gen, rc);
            break;
        /* ---- snapshots and stats */
        case 57: {
            struct dap_lm_link_snapshot *ls = NULL;
            rc = dap_link_manager_link_snapshot(a, bad && (r & 2) ? NULL : &ls);
            dap_lm_link_snapshot_free(rc == DAP_LM_OK ? ls : NULL);
            break;
        }
        case 58: {
            struct dap_lm_nets_snapshot *ns = NULL;
            rc = dap_link_manager_nets_snapshot(bad ? NULL : &ns);
            if (rc == DAP_LM_OK) {
                for (size_t i = 0; i < ns->count; i++)
                    n += ns->nets[i].clusters_count ? (size_t)(uintptr_t)ns->nets[i].clusters[0] & 1 : 0;
                dap_lm_nets_snapshot_free(ns);
            }
            break;
        }
        case 59: {
            struct dap_lm_stats st;
            (void)dap_link_manager_get_stats(bad ? NULL : &st);
            break;
        }
        case 60:
            free(dap_link_manager_stats_json());
            break;
        default:
            free(dap_link_manager_metrics_prometheus());
            break;
        }
        (void)n;
        (void)b;
        atomic_store_explicit(&w->op_started_ms, 0, memory_order_relaxed);
        atomic_fetch_add_explicit(&progress, 1, memory_order_relaxed);
    }
    return NULL;
}

/* ------------------------------------------------------------- node callbacks that re-enter */

static _Thread_local uint64_t cb_rng = 0xC0FFEE;
static atomic_ullong cb_refusals; /* link_update from fill_net_info refused for capacity */

static int node_fill_net_info(dap_link_t *link)
{
    uint64_t r = rnd(&cb_rng);
    if (r & 1)
        return -1; /* no info */
    char host[32];
    snprintf(host, sizeof(host), "10.99.%d.%d", (int)((r >> 8) % 250) + 1, (int)((r >> 16) % 250) + 1);
    int rc = dap_link_manager_link_update(&link->addr, host, 8079);
    if (rc == -7)
        atomic_fetch_add(&cb_refusals, 1);
    link->uplink.ready = true;
    return rc == 0 ? 0 : -1;
}

static bool node_disconnected(dap_link_t *link, uint64_t net, int count)
{
    (void)link;
    (void)net;
    (void)count;
    return (rnd(&cb_rng) & 7) == 0; /* a few permanent links */
}

static int node_link_request(uint64_t net)
{
    /* the balancer: getters and one dial, inline */
    size_t up = 0, down = 0, cnt = 0;
    free(dap_link_manager_get_net_links_addrs(net, &up, &down, false));
    free(dap_link_manager_get_ignored_addrs(&cnt, net));
    if (dap_link_manager_needed_links_count(net) > 0) {
        dap_stream_node_addr_t a = lmt_addr(ADDR_BASE + (rnd(&cb_rng) % ((uint64_t)opt_threads << 12)) + 1);
        dap_link_manager_link_create(&a, net);
    }
    return 0;
}

static int node_link_count_changed(void)
{
    size_t n = 0;
    dap_link_manager_links_count_sync(N1, &n, 0); /* inline on the library thread */
    (void)dap_link_manager_required_links_count(N2);
    return 0;
}

/* ------------------------------------------------------------- chaos: SDK-side events */

typedef struct chaos_counts {
    uint64_t client_fail, client_connect, joined, left, sjoined, sleft, ops;
} chaos_counts_t;
static chaos_counts_t chaos;

static void *chaos_main(void *unused)
{
    (void)unused;
    uint64_t rng = opt_seed ^ 0xCA05;
    uint64_t last_clear = lmt_now_ms();
    while (!atomic_load(&stop_chaos)) {
        uint64_t r = rnd(&rng);
        int w = (int)(r % opt_threads);
        uint64_t addr = ADDR_BASE + ((uint64_t)w << 12) + (r >> 8) % ADDR_RANGE + 1;
        switch ((r >> 20) % 8) {
        case 0:
        case 1:
            chaos.client_fail += sdk_client_fail(addr, (r >> 24) & 1);
            break;
        case 2:
            chaos.client_connect += sdk_client_complete_connect(addr);
            break;
        case 3:
        case 4:
            chaos.joined += sdk_cluster_add_member((r >> 24) & 1 ? C1 : C2, addr);
            break;
        case 5:
            chaos.left += sdk_cluster_remove_member((r >> 24) & 1 ? C1 : C2, addr);
            break;
        case 6:
            chaos.sjoined += sdk_cluster_add_member(CS, addr);
            break;
        default:
            chaos.sleft += sdk_cluster_remove_member(CS, addr);
            break;
        }
        chaos.ops++;
        atomic_fetch_add_explicit(&progress, 1, memory_order_relaxed);
        if (lmt_now_ms() - last_clear > 500) { /* the stand-in journals every SDK call */
            sdk_journal_clear();
            last_clear = lmt_now_ms();
        }
        if ((r & 3) == 0)
            lmt_sleep_ms(1);
    }
    return NULL;
}

/* ------------------------------------------------------------- lifecycle (phase B) */

static atomic_int cycles;

static void start_manager(const char *const *kv)
{
    sdk_config_clear();
    for (; kv && kv[0]; kv += 2)
        sdk_config_set("link_manager", kv[0], kv[1]);
    int rc = dap_link_manager_init(&lmt_callbacks);
    if (rc != 0)
        error_at("init returned %d", rc);
    dap_link_manager_add_net(N1, C1, 3);
    dap_link_manager_add_net(N2, C2, 2);
    dap_link_manager_add_net_associate(N1, CS);
    dap_link_manager_set_net_condition(N1, true);
    dap_link_manager_set_net_condition(N2, true);
}

static const char *const cfg_b[] = {"timer_update_states", "50", "max_attempts_num", "2", "reconnect_delay", "0",
                                    NULL};

static void *lifecycle_main(void *unused)
{
    (void)unused;
    uint64_t rng = opt_seed ^ 0x11FE;
    while (!atomic_load(&stop_lifecycle)) {
        lmt_sleep_ms(50 + (unsigned)(rnd(&rng) % 250));
        uint64_t t0 = lmt_now_ms();
        dap_link_manager_deinit();
        if (lmt_now_ms() - t0 > 5000)
            error_at("deinit took %llu ms", (unsigned long long)(lmt_now_ms() - t0));
        lmt_sleep_ms((unsigned)(rnd(&rng) % 20));
        start_manager(cfg_b);
        atomic_fetch_add(&cycles, 1);
        atomic_fetch_add_explicit(&progress, 1, memory_order_relaxed);
    }
    return NULL;
}

/* ------------------------------------------------------------- watchdog */

static atomic_int watchdog_stop;

static void *watchdog_main(void *unused)
{
    (void)unused;
    uint64_t last = atomic_load(&progress), last_change = lmt_now_ms();
    while (!atomic_load(&watchdog_stop)) {
        lmt_sleep_ms(250);
        uint64_t now = lmt_now_ms(), p = atomic_load(&progress);
        if (p != last) {
            last = p;
            last_change = now;
        }
        bool hung = now - last_change > HANG_MS;
        for (unsigned i = 0; i < opt_threads; i++) {
            uint64_t st = atomic_load(&workers[i].op_started_ms);
            if (st && now > st && now - st > HANG_MS) {
                fprintf(stderr, "FAIL WATCHDOG: worker %u stuck in one call for %llu ms\n", i,
                        (unsigned long long)(now - st));
                hung = true;
            }
        }
        if (hung) {
            fprintf(stderr, "FAIL WATCHDOG: no progress for %d ms (deadlock or hang)\n", HANG_MS);
            char *j = dap_link_manager_stats_json();
            fprintf(stderr, "stats: %s\n", j ? j : "(not initialised)");
            free(j);
            fflush(stderr);
            abort(); /* a core dump / debugger shows every thread */
        }
    }
    return NULL;
}

/* ------------------------------------------------------------- phases */

static pthread_t th_workers[MAX_WORKERS], th_chaos, th_life;

static void start_load(bool with_lifecycle)
{
    atomic_store(&stop_workers, 0);
    atomic_store(&stop_chaos, 0);
    atomic_store(&stop_lifecycle, 0);
    for (unsigned i = 0; i < opt_threads; i++)
        pthread_create(&th_workers[i], NULL, worker_main, &workers[i]);
    pthread_create(&th_chaos, NULL, chaos_main, NULL);
    if (with_lifecycle)
        pthread_create(&th_life, NULL, lifecycle_main, NULL);
}

static void stop_load(bool with_lifecycle)
{
    atomic_store(&stop_workers, 1);
    for (unsigned i = 0; i < opt_threads; i++)
        pthread_join(th_workers[i], NULL);
    atomic_store(&stop_chaos, 1);
    pthread_join(th_chaos, NULL);
    if (with_lifecycle) {
        atomic_store(&stop_lifecycle, 1);
        pthread_join(th_life, NULL);
    }
}

static counters_t sum_counters(void)
{
    counters_t t;
    memset(&t, 0, sizeof(t));
    for (unsigned i = 0; i < opt_threads; i++) {
        uint64_t *dst = (uint64_t *)&t, *src = (uint64_t *)&workers[i].c;
        for (size_t k = 0; k < sizeof(t) / sizeof(uint64_t); k++)
            dst[k] += src[k];
    }
    return t;
}

static void reset_counters(void)
{
    for (unsigned i = 0; i < opt_threads; i++)
        memset(&workers[i].c, 0, sizeof(workers[i].c));
    memset(&chaos, 0, sizeof(chaos));
}

/* Every async request issued so far completed exactly once on the right thread. */
static void verify_all_completions(const char *phase)
{
    uint64_t issued = 0;
    for (unsigned i = 0; i < opt_threads; i++)
        issued += workers[i].seq;
    uint64_t t0 = lmt_now_ms();
    while (atomic_load(&completions) < issued && lmt_now_ms() - t0 < 5000) {
        atomic_fetch_add(&progress, 1);
        lmt_sleep_ms(1);
    }
    if (atomic_load(&completions) != issued)
        error_at("%s: %llu async requests issued in all, %llu completions", phase, (unsigned long long)issued,
                 (unsigned long long)atomic_load(&completions));
    uint64_t missing = 0, wrong_thread = 0;
    for (unsigned i = 0; i < opt_threads; i++) {
        worker_t *w = &workers[i];
        uint64_t from = w->seq > NSLOTS ? w->seq - NSLOTS : 0;
        for (uint64_t seq = from; seq < w->seq; seq++) {
            slot_t *s = &w->slots[seq & (NSLOTS - 1)];
            uint32_t gen = (uint32_t)(seq >> SLOT_BITS) + 1;
            if (atomic_load_explicit(&s->done_gen, memory_order_acquire) != gen) {
                missing++;
                continue;
            }
            wrong_thread += atomic_load(&s->on_lib) != s->returned_ok;
        }
    }
    if (missing || wrong_thread)
        error_at("%s: %llu async completions missing, %llu on the wrong thread", phase, (unsigned long long)missing,
                 (unsigned long long)wrong_thread);
}

static uint64_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static uint64_t rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, res = 0;
    if (f) {
        if (fscanf(f, "%lu %lu", &size, &res) != 2)
            res = 0;
        fclose(f);
    }
    return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE) / 1024u;
}

#define PT(s, name) ((s)->per_type[lmt_op_index(name)])

static void check_fact(const char *name, uint64_t got, uint64_t issued)
{
    printf("   %-16s issued %10llu processed %10llu%s\n", name, (unsigned long long)issued, (unsigned long long)got,
           got == issued ? "" : "   <-- MISMATCH");
    if (got != issued)
        error_at("phase A: %s facts: %llu issued, %llu processed", name, (unsigned long long)issued,
                 (unsigned long long)got);
}

/* Client events injected by the chaos thread may be abandoned by the stand-in SDK before they run:
 * any dap_client_go_stage the library makes on that client (connect or reset) drops the outcome of the
 * attempt in progress, as the real SDK does. So at most the injected count arrives. */
static void check_client_events(const char *name, uint64_t got, uint64_t injected)
{
    printf("   %-16s injected %8llu processed %10llu (%llu abandoned by a later go_stage)%s\n", name,
           (unsigned long long)injected, (unsigned long long)got,
           (unsigned long long)(got <= injected ? injected - got : 0), got <= injected ? "" : "   <-- MORE THAN SENT");
    if (got > injected)
        error_at("phase A: %s: %llu injected, %llu processed", name, (unsigned long long)injected,
                 (unsigned long long)got);
}

static void usage(const char *p)
{
    fprintf(stderr, "usage: %s [--seconds N] [--threads N] [--bad-pct P] [--seed S] [--capacity N]\n", p);
    exit(2);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            usage(argv[0]);
        unsigned long long v = strtoull(argv[i + 1], NULL, 0);
        if (!strcmp(argv[i], "--seconds"))
            opt_seconds = (unsigned)v;
        else if (!strcmp(argv[i], "--threads"))
            opt_threads = (unsigned)v;
        else if (!strcmp(argv[i], "--bad-pct"))
            opt_bad_pct = (unsigned)v;
        else if (!strcmp(argv[i], "--seed"))
            opt_seed = v;
        else if (!strcmp(argv[i], "--capacity"))
            opt_capacity = (unsigned)v;
        else
            usage(argv[0]);
        i++;
    }
    if (opt_threads < 1 || opt_threads > MAX_WORKERS || opt_seconds < 2 || opt_bad_pct > 100)
        usage(argv[0]);
    setvbuf(stdout, NULL, _IOLBF, 0);
    g_dap_log_level = L_WARNING; /* lines are formatted under the SDK's lock: keep them to refusals */
    sdk_reset();
    sdk_set_node_addr(LMT_OWN);
    g_own = lmt_addr(LMT_OWN);
    g_zero = lmt_addr(0);
    lmt_node.on_fill_net_info = node_fill_net_info;
    lmt_node.on_disconnected = node_disconnected;
    lmt_node.on_link_request = node_link_request;
    lmt_node.on_link_count_changed = node_link_count_changed;
    C1 = lmt_net_cluster("stress1");
    C2 = lmt_net_cluster("stress2");
    C3 = lmt_net_cluster("stress3");
    CS = lmt_static_cluster("stress_static");
    CS->status = DAP_CLUSTER_STATUS_ENABLED;
    for (unsigned i = 0; i < opt_threads; i++) {
        workers[i].id = (int)i;
        workers[i].rng = opt_seed * 0x9E3779B97F4A7C15ull + i * 0xBF58476D1CE4E5B9ull + 1;
        workers[i].slots = calloc(NSLOTS, sizeof(slot_t));
        if (!workers[i].slots)
            abort();
    }
    /* warm-up cycle, then the heap baseline */
    start_manager(cfg_b);
    dap_link_manager_deinit();
    sdk_quiesce();
    sdk_journal_clear();
    sdk_log_clear();
    uint64_t heap0 = heap_in_use(), rss0 = rss_kb();
    pthread_t wd;
    pthread_create(&wd, NULL, watchdog_main, NULL);
    unsigned secs_a = opt_seconds / 2, secs_b = opt_seconds - secs_a;
    printf("lm_stress: %u threads, %u%% bad arguments, seed %llu, phase A %u s (reject, normal capacity %u), phase B "
           "%u s (deinit/init cycles)\n",
           opt_threads, opt_bad_pct, (unsigned long long)opt_seed, secs_a, opt_capacity, secs_b);

    /* ---- phase A: no deinit; every fact accounted for */
    char cap[16];
    snprintf(cap, sizeof(cap), "%u", opt_capacity);
    const char *const cfg_a[] = {"timer_update_states", "50", "max_attempts_num", "2", "reconnect_delay", "0",
                                 "queue_capacity_normal", cap, "backpressure", "reject", NULL};
    start_manager(cfg_a);
    reset_counters();
    struct dap_lm_stats s0 = lmt_stats();
    uint64_t t0 = lmt_now_ms(), comp0 = atomic_load(&completions);
    start_load(false);
    lmt_sleep_ms(secs_a * 1000);
    stop_load(false);
    uint64_t el_a = lmt_now_ms() - t0;
    sdk_quiesce(); /* client events the chaos thread caused have reached the library */
    uint64_t sync_retries = 0;
    while (dap_link_manager_sync(0) == DAP_LM_ERR_QUEUE_FULL) {
        sync_retries++;
        sched_yield();
    }
    verify_all_completions("phase A");
    struct dap_lm_stats s1 = lmt_stats();
    counters_t a = sum_counters();
    printf("phase A: %llu calls in %.1f s = %.0f calls/s (%llu with bad arguments, %llu _sync, %llu _async: %llu "
           "accepted, %llu refused), %llu QUEUE_FULL seen, %llu completions\n",
           (unsigned long long)a.calls, el_a / 1000.0, a.calls * 1000.0 / (double)el_a,
           (unsigned long long)a.bad_calls, (unsigned long long)a.sync_calls, (unsigned long long)a.async_calls,
           (unsigned long long)a.async_ok, (unsigned long long)a.async_refused, (unsigned long long)a.full,
           (unsigned long long)(atomic_load(&completions) - comp0));
    printf("   refusals seen: %llu by callers (%llu QUEUE_FULL, the rest -7/-3/-2 of original calls), %llu by node "
           "callbacks on the library thread (link_update -7), %llu void calls that may have been refused unseen\n",
           (unsigned long long)a.observed_refusals, (unsigned long long)a.full,
           (unsigned long long)atomic_load(&cb_refusals), (unsigned long long)a.void_normal);
    printf("   chaos: %llu client failures, %llu connects completed, %llu/%llu net cluster joins/leaves, %llu/%llu "
           "static joins/leaves\n",
           (unsigned long long)chaos.client_fail, (unsigned long long)chaos.client_connect,
           (unsigned long long)chaos.joined, (unsigned long long)chaos.left, (unsigned long long)chaos.sjoined,
           (unsigned long long)chaos.sleft);
    printf("   library: %llu processed, %llu rejected (normal queue: %llu, peak depth %llu of %llu), max batch %llu, "
           "proc p99 %llu ns, wait p99 %llu ns, timeouts %llu, panics %llu\n",
           (unsigned long long)(s1.messages_processed - s0.messages_processed),
           (unsigned long long)(s1.rejected - s0.rejected),
           (unsigned long long)(s1.queue_rejected[2] - s0.queue_rejected[2]), (unsigned long long)s1.queue_peak[2],
           (unsigned long long)s1.queue_capacity[2], (unsigned long long)s1.max_batch,
           (unsigned long long)s1.proc_p99_ns, (unsigned long long)s1.wait_p99_ns,
           (unsigned long long)(s1.timeouts - s0.timeouts), (unsigned long long)s1.panics);
    check_fact("stream_add", PT(&s1, "stream_add") - PT(&s0, "stream_add"), a.f_add);
    check_fact("stream_replace", PT(&s1, "stream_replace") - PT(&s0, "stream_replace"), a.f_replace);
    check_fact("stream_delete", PT(&s1, "stream_delete") - PT(&s0, "stream_delete"), a.f_delete);
    check_fact("accounting", PT(&s1, "accounting") - PT(&s0, "accounting"), a.f_acc);
    check_fact("cluster_joined", PT(&s1, "cluster_joined") - PT(&s0, "cluster_joined"), a.f_joined + chaos.joined);
    check_fact("cluster_left", PT(&s1, "cluster_left") - PT(&s0, "cluster_left"), a.f_left + chaos.left);
    check_fact("static_joined", PT(&s1, "static_joined") - PT(&s0, "static_joined"), a.f_sjoined + chaos.sjoined);
    check_fact("static_left", PT(&s1, "static_left") - PT(&s0, "static_left"), a.f_sleft + chaos.sleft);
    check_client_events("client_connected", PT(&s1, "client_connected") - PT(&s0, "client_connected"),
                        chaos.client_connect);
    check_client_events("client_error", PT(&s1, "client_error") - PT(&s0, "client_error"), chaos.client_fail);
    CHECK_INT(s1.queue_rejected[1] - s0.queue_rejected[1], 0); /* facts never refused */
    /* bounded: callers never push past the capacity; calls queued from inside callbacks are exempt
     * (CONTRACT §10), at most one link_update per fill_net_info of a wake-up pass, i.e. one per link */
    uint64_t bound = opt_capacity + (uint64_t)opt_threads * ADDR_RANGE + 16;
    CHECKF(s1.queue_peak[2] <= bound, "normal queue peak %llu above capacity %u + one callback push per link (%llu)",
           (unsigned long long)s1.queue_peak[2], opt_capacity, (unsigned long long)bound);
    /* accepted + refused = issued (async exactly); refusals seen <= refusals counted <= seen + unseen */
    CHECK_INT(a.async_ok + a.async_refused, a.async_calls);
    uint64_t rej = s1.rejected - s0.rejected;
    uint64_t seen = a.observed_refusals + atomic_load(&cb_refusals) + sync_retries;
    CHECKF(rej >= seen && rej <= seen + a.void_normal,
           "phase A: stats count %llu refusals; the callers saw %llu (+ up to %llu unseen void calls)",
           (unsigned long long)rej, (unsigned long long)seen, (unsigned long long)a.void_normal);
    CHECK_INT(a.timeouts, 0);
    CHECK_INT(s1.panics, 0);
    dap_link_manager_deinit();

    /* ---- phase B: deinit/init cycles under the same load */
    reset_counters();
    atomic_store(&phase_b, 1);
    start_manager(cfg_b);
    t0 = lmt_now_ms();
    comp0 = atomic_load(&completions);
    start_load(true);
    lmt_sleep_ms(secs_b * 1000);
    stop_load(true);
    uint64_t el_b = lmt_now_ms() - t0;
    dap_link_manager_deinit();
    verify_all_completions("phase B");
    counters_t bsum = sum_counters();
    printf("phase B: %llu calls in %.1f s = %.0f calls/s, %d deinit/init cycles, %llu answered NOT_INITIALIZED, %llu "
           "SHUTTING_DOWN, %llu completions, %llu client failures injected\n",
           (unsigned long long)bsum.calls, el_b / 1000.0, bsum.calls * 1000.0 / (double)el_b, atomic_load(&cycles),
           (unsigned long long)bsum.not_init, (unsigned long long)bsum.shutting,
           (unsigned long long)(atomic_load(&completions) - comp0), (unsigned long long)chaos.client_fail);
    CHECK_INT(bsum.async_ok + bsum.async_refused, bsum.async_calls);
    CHECK(atomic_load(&cycles) > 0);
    CHECK_INT(bsum.timeouts, 0);

    /* ---- back to the baseline */
    atomic_store(&watchdog_stop, 1);
    pthread_join(wd, NULL);
    CHECK(LMT_WAIT_UNTIL((sdk_quiesce(), sdk_clients_live() == 0), 5000));
    sdk_journal_clear();
    sdk_log_clear();
    uint64_t heap1 = heap_in_use(), rss1 = rss_kb();
    printf("memory: heap in use %llu -> %llu bytes (%+lld), RSS %llu -> %llu kB; SDK clients alive %zu\n",
           (unsigned long long)heap0, (unsigned long long)heap1, (long long)(heap1 - heap0), (unsigned long long)rss0,
           (unsigned long long)rss1, sdk_clients_live());
    CHECKF(heap1 <= heap0 + 1024 * 1024, "heap grew by %lld bytes over the run", (long long)(heap1 - heap0));
    CHECK_INT(sdk_clients_live(), 0);
    CHECK_INT(atomic_load(&lmt_node.on_wrong_thread), 0);
    for (unsigned i = 0; i < opt_threads; i++)
        free(workers[i].slots);
    sdk_cluster_free(C1);
    sdk_cluster_free(C2);
    sdk_cluster_free(C3);
    sdk_cluster_free(CS);
    printf("total: %llu calls, %d errors\n", (unsigned long long)(a.calls + bsum.calls), atomic_load(&errors));
    return lmt_finish("lm_stress");
}
