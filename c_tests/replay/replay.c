#include "replay.h"

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sdk_standin.h"

#define LM_T0_NS         (UINT64_C(1000000) * UINT64_C(1000000000)) /* virtual clock at init: 1e6 s */
#define LM_SEC_NS        UINT64_C(1000000000)
#define LM_DEFAULT_OWN   UINT64_C(0x0A0B0C0D00000001)
#define LM_DEFAULT_PORT  8079
#define LM_DOWN_UUID     UINT64_C(0xD100000000000000) /* downlink streams the replayer opens */
#define LM_UPLINK_UUID   UINT64_C(0xC100000000000000) /* the stand-in's uplink streams: | client id */
#define LM_WATCHDOG_SECS 30
#define LM_SETTLE_ROUNDS 100
#define LM_MAX_ITEMS     256
#define LM_UNTOUCHED     ((size_t)0x5A5A5A5A)

/* ---------------------------------------------------------------- output lines */

void lm_lines_add(lm_lines_t *l, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        char **v = realloc(l->v, cap * sizeof(*v));
        if (!v)
            abort();
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n] = strdup(buf);
    if (!l->v[l->n])
        abort();
    l->n++;
}

void lm_lines_free(lm_lines_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

/* ---------------------------------------------------------------- formatting */

static const char *net_s(uint64_t net, char *buf)
{
    if (net == DAP_NET_ID_INVALID)
        return strcpy(buf, "INVALID");
    snprintf(buf, 24, "0x%" PRIX64, net);
    return buf;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "[A,B,...]" of n addresses, sorted (order is not part of the contract). */
static void addr_list(char *out, size_t len, const uint64_t *v, size_t n)
{
    uint64_t sorted[LM_MAX_ITEMS];
    if (n > LM_MAX_ITEMS)
        n = LM_MAX_ITEMS;
    memcpy(sorted, v, n * sizeof(*v));
    qsort(sorted, n, sizeof(*sorted), cmp_u64);
    size_t k = (size_t)snprintf(out, len, "[");
    char a[24];
    for (size_t i = 0; i < n && k < len; i++)
        k += (size_t)snprintf(out + k, len - k, "%s%s", i ? "," : "", lm_addr_fmt(sorted[i], a));
    if (k < len)
        snprintf(out + k, len - k, "]");
}

/* ---------------------------------------------------------------- run state */

typedef struct {
    char name[LM_TRACE_TOKEN];
    dap_cluster_t *c;
} lm_cluster_ent_t;

typedef struct {
    uint64_t addr;
    bool any, none, permanent, has_route, has_perm;
    char host[LM_TRACE_TOKEN];
    uint16_t port;
} lm_node_ent_t;

typedef struct {
    uint64_t addr, uuid;
} lm_stream_ent_t;

static struct {
    pthread_mutex_t mu;
    const lm_lib_t *lib;
    lm_lines_t cbs;         /* callback lines since the last collect */
    unsigned long cb_total; /* every callback, count_changed included */
    unsigned count_changed; /* since the last collect */
    lm_node_ent_t node[LM_MAX_ITEMS];
    size_t n_node;
} g_rec = {.mu = PTHREAD_MUTEX_INITIALIZER};

typedef struct {
    const lm_lib_t *lib;
    lm_lines_t *out;
    lm_cluster_ent_t clusters[LM_MAX_ITEMS];
    size_t n_clusters;
    lm_stream_ent_t streams[LM_MAX_ITEMS];
    size_t n_streams;
    uint64_t next_down_uuid;
    uint64_t client_ids[LM_MAX_ITEMS]; /* journal id of c1, c2, ... */
    size_t n_client_ids;
    size_t journal_mark, misuse_mark;
    uint64_t vt_ns;
    bool inited;
} lm_run_t;

/* ---------------------------------------------------------------- the simulated node (callbacks) */

static void rec_cb(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void rec_cb(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&g_rec.mu);
    lm_lines_add(&g_rec.cbs, "cb %s", buf);
    g_rec.cb_total++;
    pthread_mutex_unlock(&g_rec.mu);
}

/* The node's answer for addr (the entry for addr, else the `*` entry); under g_rec.mu. */
static const lm_node_ent_t *node_find_locked(uint64_t addr, bool route)
{
    const lm_node_ent_t *any = NULL;
    for (size_t i = 0; i < g_rec.n_node; i++) {
        const lm_node_ent_t *e = &g_rec.node[i];
        if (!(route ? e->has_route : e->has_perm))
            continue;
        if (!e->any && e->addr == addr)
            return e;
        if (e->any)
            any = e;
    }
    return any;
}

static lm_node_ent_t *node_ent(uint64_t addr, bool any)
{
    for (size_t i = 0; i < g_rec.n_node; i++)
        if (g_rec.node[i].any == any && (any || g_rec.node[i].addr == addr))
            return &g_rec.node[i];
    if (g_rec.n_node == LM_MAX_ITEMS)
        return NULL;
    lm_node_ent_t *e = &g_rec.node[g_rec.n_node++];
    memset(e, 0, sizeof(*e));
    e->addr = addr;
    e->any = any;
    return e;
}

static void link_seen(const dap_link_t *l, char *out, size_t len)
{
    snprintf(out, len, "up=%d state=%d", l->is_uplink ? 1 : 0, (int)l->uplink.state);
}

static void cb_connected(dap_link_t *l, uint64_t net)
{
    char a[24], n[24], s[32];
    link_seen(l, s, sizeof(s));
    rec_cb("connected %s %s %s", lm_addr_fmt(l->addr.uint64, a), net_s(net, n), s);
}

static bool cb_disconnected(dap_link_t *l, uint64_t net, int count)
{
    pthread_mutex_lock(&g_rec.mu);
    const lm_node_ent_t *e = node_find_locked(l->addr.uint64, false);
    bool permanent = e && e->permanent;
    pthread_mutex_unlock(&g_rec.mu);
    char a[24], n[24], s[32];
    link_seen(l, s, sizeof(s));
    rec_cb("disconnected %s %s count=%d %s -> %s", lm_addr_fmt(l->addr.uint64, a), net_s(net, n), count, s,
           permanent ? "keep" : "drop");
    return permanent;
}

static void cb_error(dap_link_t *l, uint64_t net, int stage)
{
    char a[24], n[24], s[32];
    link_seen(l, s, sizeof(s));
    rec_cb("error %s %s stage=%d %s", lm_addr_fmt(l->addr.uint64, a), net_s(net, n), stage, s);
}

/* What the node does in fill_net_info: link_update with the route it knows for the address (default
 * "10.x.y.z" 8079 from the address), then `ready`; or "no info" (-1) for route_none. */
static int cb_fill_net_info(dap_link_t *l)
{
    uint64_t addr = l->addr.uint64;
    char host[LM_TRACE_TOKEN];
    uint16_t port = LM_DEFAULT_PORT;
    pthread_mutex_lock(&g_rec.mu);
    const lm_node_ent_t *e = node_find_locked(addr, true);
    bool none = e && e->none;
    if (e && !e->none) {
        snprintf(host, sizeof(host), "%s", e->host);
        port = e->port;
    } else {
        snprintf(host, sizeof(host), "10.%u.%u.%u", (unsigned)(addr >> 16) & 0xFF, (unsigned)(addr >> 8) & 0xFF,
                 ((unsigned)addr & 0xFF) | 1u);
    }
    const lm_lib_t *lib = g_rec.lib;
    pthread_mutex_unlock(&g_rec.mu);
    char a[24], s[32];
    link_seen(l, s, sizeof(s));
    if (none) {
        rec_cb("fill_net_info %s %s -> no info", lm_addr_fmt(addr, a), s);
        return -1;
    }
    int rc = lib->link_update(&l->addr, host, port);
    if (rc == 0)
        l->uplink.ready = true; /* after link_update returned, as the node does */
    rec_cb("fill_net_info %s %s -> link_update %s %u = %d", lm_addr_fmt(addr, a), s, host, (unsigned)port, rc);
    return rc == 0 ? 0 : -1;
}

static int cb_link_request(uint64_t net)
{
    char n[24];
    rec_cb("link_request %s", net_s(net, n));
    return 0;
}

static int cb_link_count_changed(void)
{
    pthread_mutex_lock(&g_rec.mu);
    g_rec.count_changed++;
    g_rec.cb_total++;
    pthread_mutex_unlock(&g_rec.mu);
    return 0;
}

static unsigned long cb_total(void)
{
    pthread_mutex_lock(&g_rec.mu);
    unsigned long n = g_rec.cb_total;
    pthread_mutex_unlock(&g_rec.mu);
    return n;
}

/* ---------------------------------------------------------------- watchdog */

static char g_watchdog_msg[512];
static size_t g_watchdog_len;

static void watchdog_fired(int sig)
{
    (void)sig;
    ssize_t r = write(2, g_watchdog_msg, g_watchdog_len);
    (void)r;
    _exit(3);
}

static void watchdog_arm(const lm_run_t *run, const lm_event_t *e)
{
    int k = snprintf(g_watchdog_msg, sizeof(g_watchdog_msg),
                     "lm_replay: %s did not settle within %d s at trace line %d (%s): deadlock or lost wake-up\n",
                     run->lib->name, LM_WATCHDOG_SECS, e ? e->line : 0, e ? e->text : "end of trace");
    g_watchdog_len = k > 0 ? (size_t)k : 0;
    if (g_watchdog_len > sizeof(g_watchdog_msg))
        g_watchdog_len = sizeof(g_watchdog_msg);
    signal(SIGALRM, watchdog_fired);
    alarm(LM_WATCHDOG_SECS);
}

/* ---------------------------------------------------------------- SDK side */

static dap_cluster_t *cluster_get(lm_run_t *run, const char *name, const char *kind, bool create)
{
    for (size_t i = 0; i < run->n_clusters; i++)
        if (!strcmp(run->clusters[i].name, name))
            return run->clusters[i].c;
    if (!create || run->n_clusters == LM_MAX_ITEMS)
        return NULL;
    const lm_lib_t *lib = run->lib;
    dap_cluster_t *c;
    if (!strcmp(kind, "links")) {
        c = sdk_cluster_new(name, lib->add_links_cluster, lib->remove_links_cluster, NULL);
    } else if (!strcmp(kind, "static")) {
        c = sdk_cluster_new(name, lib->add_static_links_cluster, lib->remove_static_links_cluster, NULL);
        c->callbacks_arg = c; /* static clusters get themselves as the callbacks' argument */
    } else {
        c = sdk_cluster_new(name, NULL, NULL, NULL);
    }
    lm_cluster_ent_t *e = &run->clusters[run->n_clusters++];
    snprintf(e->name, sizeof(e->name), "%s", name);
    e->c = c;
    return c;
}

/* A cluster argument of add_net / add_net_associate / member_*: "NULL", a declared cluster, or a token
 * never declared (a trace recorded by the library names clusters c_<pointer>): a links cluster then. */
static dap_cluster_t *cluster_arg(lm_run_t *run, const char *name)
{
    if (!strcmp(name, "NULL"))
        return NULL;
    return cluster_get(run, name, "links", true);
}

static const char *cluster_label(const lm_run_t *run, const dap_cluster_t *c)
{
    for (size_t i = 0; i < run->n_clusters; i++)
        if (run->clusters[i].c == c)
            return run->clusters[i].name;
    return "?";
}

static size_t client_ordinal(lm_run_t *run, uint64_t id)
{
    for (size_t i = 0; i < run->n_client_ids; i++)
        if (run->client_ids[i] == id)
            return i + 1;
    if (run->n_client_ids == LM_MAX_ITEMS)
        return 0;
    run->client_ids[run->n_client_ids++] = id;
    return run->n_client_ids;
}

/* Stream uuids: the replayer's downlinks "d<n>", the stand-in's uplink streams "s<client>". */
static void uuid_label(lm_run_t *run, uint64_t uuid, char *out, size_t len)
{
    if ((uuid & UINT64_C(0xFF00000000000000)) == LM_DOWN_UUID)
        snprintf(out, len, "d%" PRIu64, uuid & ~UINT64_C(0xFF00000000000000));
    else if ((uuid & UINT64_C(0xFF00000000000000)) == LM_UPLINK_UUID)
        snprintf(out, len, "s%zu", client_ordinal(run, uuid & ~UINT64_C(0xFF00000000000000)));
    else if (uuid == 0)
        snprintf(out, len, "0");
    else
        snprintf(out, len, "u%" PRIX64, uuid);
}

/* A journal line with the client id (2nd word of client calls) and stream uuids normalised. */
static void journal_normalise(lm_run_t *run, const char *line, char *out, size_t len)
{
    char w[8][96];
    int n = 0;
    const char *p = line;
    for (int k; n < 8 && sscanf(p, "%95s%n", w[n], &k) == 1; p += k)
        n++;
    static const char *const client_calls[] = {"client_new",          "set_uplink", "set_always_reconnect",
                                               "set_active_channels", "go_stage",   "client_delete"};
    bool is_client = false;
    for (size_t i = 0; i < sizeof(client_calls) / sizeof(client_calls[0]) && n >= 2; i++)
        is_client |= !strcmp(w[0], client_calls[i]);
    if (is_client)
        snprintf(w[1], sizeof(w[1]), "c%zu", client_ordinal(run, strtoull(w[1], NULL, 10)));
    else if (n >= 3 && !strcmp(w[0], "stream_close"))
        uuid_label(run, strtoull(w[2], NULL, 10), w[2], sizeof(w[2]));
    size_t k = 0;
    out[0] = '\0';
    for (int i = 0; i < n && k < len; i++)
        k += (size_t)snprintf(out + k, len - k, "%s%s", i ? " " : "", w[i]);
    if (*p && k < len) /* more than 8 words: keep the rest as is */
        snprintf(out + k, len - k, "%s", p);
}

/* Wait until the library and the SDK worker are idle (see replay.h). */
static void settle(lm_run_t *run)
{
    const lm_lib_t *lib = run->lib;
    for (int round = 0; round < LM_SETTLE_ROUNDS; round++) {
        size_t journal = sdk_journal_len();
        unsigned long cbs = cb_total();
        lib->sync(0);
        sdk_quiesce();
        lib->sync(0);
        if (round > 0 && journal == sdk_journal_len() && cbs == cb_total())
            return;
    }
}

/* The first node address a line mentions (0 when none): the key of its group. */
static uint64_t line_addr(const char *line)
{
    for (const char *p = strstr(line, "::"); p; p = strstr(p + 1, "::")) {
        if (p - line < 4)
            continue;
        uint64_t a;
        char word[23];
        snprintf(word, sizeof(word), "%.22s", p - 4);
        if (lm_parse_addr(word, &a))
            return a;
    }
    return 0;
}

/* Within one address: the journal id of a client call's client (its second word), the uuid of a closed
 * stream (several streams of one address close in the SDK's list order), 0 for other lines. */
static uint64_t line_object(const char *line)
{
    if (!strncmp(line, "stream_close ", 13)) {
        const char *uuid = strchr(line + 13, ' ');
        return uuid ? strtoull(uuid + 1, NULL, 10) : 0;
    }
    static const char *const calls[] = {"client_new ",          "set_uplink ", "set_always_reconnect ",
                                        "set_active_channels ", "go_stage ",   "client_delete "};
    for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
        if (!strncmp(line, calls[i], strlen(calls[i])))
            return strtoull(line + strlen(calls[i]), NULL, 10);
    return 0;
}

typedef struct {
    uint64_t key, key2;
    size_t seq;
    const char *line;
} lm_keyed_t;

static int cmp_keyed(const void *a, const void *b)
{
    const lm_keyed_t *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    if (x->key2 != y->key2)
        return x->key2 < y->key2 ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Lines of one event, grouped by the address they concern, then by client (a client has no address
 * before its first set_uplink; ids follow creation order in both runs) or stream. Stable: the order of
 * the calls on one object is kept; lines about no link come first. The order between links of one pass (wake-up, net
 * off, deinit) is not part of the contract, and the two implementations walk their tables differently. */
static lm_keyed_t *group_by_addr(const char *const *lines, size_t n)
{
    lm_keyed_t *k = calloc(n ? n : 1, sizeof(*k));
    if (!k)
        abort();
    for (size_t i = 0; i < n; i++)
        k[i] = (lm_keyed_t){line_addr(lines[i]), line_object(lines[i]), i, lines[i]};
    qsort(k, n, sizeof(*k), cmp_keyed);
    return k;
}

/* Append what the event caused: callbacks, the folded link_count_changed, journal lines, misuses. */
static void collect(lm_run_t *run)
{
    pthread_mutex_lock(&g_rec.mu);
    lm_keyed_t *cbs = group_by_addr((const char *const *)g_rec.cbs.v, g_rec.cbs.n);
    for (size_t i = 0; i < g_rec.cbs.n; i++)
        lm_lines_add(run->out, "  %s", cbs[i].line);
    free(cbs);
    if (g_rec.count_changed)
        lm_lines_add(run->out, "  cb link_count_changed");
    lm_lines_free(&g_rec.cbs);
    g_rec.count_changed = 0;
    pthread_mutex_unlock(&g_rec.mu);
    size_t n = sdk_journal_len() - run->journal_mark;
    const char **raw = calloc(n ? n : 1, sizeof(*raw));
    if (!raw)
        abort();
    for (size_t i = 0; i < n; i++)
        raw[i] = sdk_journal_line(run->journal_mark + i);
    lm_keyed_t *j = group_by_addr(raw, n);
    for (size_t i = 0; i < n; i++) {
        char norm[512];
        journal_normalise(run, j[i].line, norm, sizeof(norm)); /* client ordinals in the grouped order */
        lm_lines_add(run->out, "  sdk %s", norm);
    }
    free(j);
    free(raw);
    run->journal_mark += n;
    size_t misuse = sdk_misuse_count();
    if (misuse != run->misuse_mark)
        lm_lines_add(run->out, "  !misuse +%zu", misuse - run->misuse_mark);
    run->misuse_mark = misuse;
}

/* ---------------------------------------------------------------- queries */

static void query(lm_run_t *run, const lm_event_t *e)
{
    const lm_lib_t *lib = run->lib;
    dap_stream_node_addr_t a = {.uint64 = e->addr};
    char buf[2048], list[1600];
    switch ((lm_query_t)e->query) {
    case Q_LINKS_COUNT:
        lm_lines_add(run->out, "  = %zu", lib->links_count(e->net));
        break;
    case Q_REQUIRED:
        lm_lines_add(run->out, "  = %zu", lib->required_links_count(e->net));
        break;
    case Q_NEEDED:
        lm_lines_add(run->out, "  = %zu", lib->needed_links_count(e->net));
        break;
    case Q_ESTABLISHED_N:
        lm_lines_add(run->out, "  = %zu", lib->established_uplinks_count(e->net));
        break;
    case Q_NET_CONDITION:
        lm_lines_add(run->out, "  = %d", lib->get_net_condition(e->net) ? 1 : 0);
        break;
    case Q_LINK_FIND:
        lm_lines_add(run->out, "  = %d", lib->link_find(&a, e->net) ? 1 : 0);
        break;
    case Q_ESTABLISHED:
        lm_lines_add(run->out, "  = %d", lib->link_is_established(&a) ? 1 : 0);
        break;
    case Q_CONDITION:
        lm_lines_add(run->out, "  = %d", lib->get_condition() ? 1 : 0);
        break;
    case Q_CHANNELS:
        lm_lines_add(run->out, "  = %s", lib->get_active_channels());
        break;
    case Q_NET_LINKS: {
        size_t up = LM_UNTOUCHED, down = LM_UNTOUCHED;
        dap_stream_node_addr_t *v = lib->get_net_links_addrs(e->net, &up, &down, e->flag);
        char us[24], ds[24];
        snprintf(us, sizeof(us), up == LM_UNTOUCHED ? "untouched" : "%zu", up);
        snprintf(ds, sizeof(ds), down == LM_UNTOUCHED ? "untouched" : "%zu", down);
        if (!v) {
            lm_lines_add(run->out, "  = NULL up=%s down=%s", us, ds);
            break;
        }
        uint64_t raw[LM_MAX_ITEMS];
        size_t total = up + down > LM_MAX_ITEMS ? LM_MAX_ITEMS : up + down;
        for (size_t i = 0; i < total; i++)
            raw[i] = v[i].uint64;
        free(v);
        size_t nu = up < total ? up : total;
        addr_list(list, sizeof(list), raw, nu);
        snprintf(buf, sizeof(buf), "up=%s", list);
        addr_list(list, sizeof(list), raw + nu, total - nu);
        lm_lines_add(run->out, "  = %s down=%s", buf, list);
        break;
    }
    case Q_IGNORED: {
        size_t count = LM_UNTOUCHED;
        dap_stream_node_addr_t *v = lib->get_ignored_addrs(&count, e->net);
        if (!v) {
            lm_lines_add(run->out, count == LM_UNTOUCHED ? "  = NULL" : "  = NULL count=%zu", count);
            break;
        }
        uint64_t raw[LM_MAX_ITEMS];
        size_t n = count > LM_MAX_ITEMS ? LM_MAX_ITEMS : count;
        for (size_t i = 0; i < n; i++)
            raw[i] = v[i].uint64;
        free(v);
        addr_list(list, sizeof(list), raw, n);
        lm_lines_add(run->out, "  = %s", list);
        break;
    }
    case Q_LINK: {
        if (!lib->link_snapshot || !lib->link_snapshot_free) {
            lm_lines_add(run->out, "  = n/a (no dap_link_manager_link_snapshot)");
            break;
        }
        struct dap_lm_link_snapshot *s = NULL;
        int rc = lib->link_snapshot(&a, &s);
        if (rc == DAP_LM_ERR_NOT_FOUND) {
            lm_lines_add(run->out, "  = none");
            break;
        }
        if (rc != DAP_LM_OK || !s) {
            lm_lines_add(run->out, "  = rc %d", rc);
            break;
        }
        uint64_t nets[LM_MAX_ITEMS];
        size_t nn = s->nets_count > LM_MAX_ITEMS ? LM_MAX_ITEMS : s->nets_count;
        if (nn)
            memcpy(nets, s->nets, nn * sizeof(*nets));
        qsort(nets, nn, sizeof(*nets), cmp_u64);
        size_t k = 0;
        char n24[24];
        list[0] = '\0';
        for (size_t i = 0; i < nn; i++)
            k += (size_t)snprintf(list + k, sizeof(list) - k, "%s%s", i ? "," : "", net_s(nets[i], n24));
        const char *names[2][LM_MAX_ITEMS];
        size_t counts[2] = {s->active_clusters_count, s->static_clusters_count};
        dap_cluster_t **sets[2] = {s->active_clusters, s->static_clusters};
        char cl[2][512];
        for (int j = 0; j < 2; j++) {
            if (counts[j] > LM_MAX_ITEMS)
                counts[j] = LM_MAX_ITEMS;
            for (size_t i = 0; i < counts[j]; i++)
                names[j][i] = cluster_label(run, sets[j][i]);
            qsort(names[j], counts[j], sizeof(char *), cmp_str);
            size_t m = 0;
            cl[j][0] = '\0';
            for (size_t i = 0; i < counts[j] && m < sizeof(cl[j]); i++)
                m += (size_t)snprintf(cl[j] + m, sizeof(cl[j]) - m, "%s%s", i ? "," : "", names[j][i]);
        }
        char start[32], es[32];
        uint64_t t0 = LM_T0_NS / LM_SEC_NS;
        if (s->start_after == 0)
            snprintf(start, sizeof(start), "0");
        else
            snprintf(start, sizeof(start), "T0%+lld", (long long)(s->start_after - t0));
        uuid_label(run, s->es_uuid, es, sizeof(es));
        lm_lines_add(run->out,
                     "  = up=%d state=%d attempts=%u client=%d destroyed=%d start_after=%s es=%s nets=[%s] "
                     "active=[%s] static=[%s]",
                     s->is_uplink ? 1 : 0, (int)s->state, s->attempts_count, s->has_client ? 1 : 0,
                     s->stream_is_destroyed ? 1 : 0, start, es, list, cl[0], cl[1]);
        lib->link_snapshot_free(s);
        break;
    }
    case Q_CLUSTER: {
        dap_cluster_t *c = cluster_get(run, e->s1, "links", false);
        if (!c) {
            lm_lines_add(run->out, "  = unknown cluster");
            break;
        }
        size_t count = 0;
        dap_stream_node_addr_t *m = dap_cluster_get_all_members_addrs(c, &count, -1);
        uint64_t raw[LM_MAX_ITEMS];
        size_t n = count > LM_MAX_ITEMS ? LM_MAX_ITEMS : count;
        for (size_t i = 0; m && i < n; i++)
            raw[i] = m[i].uint64;
        free(m);
        addr_list(list, sizeof(list), raw, m ? n : 0);
        lm_lines_add(run->out, "  = %s members=%s", c->status == DAP_CLUSTER_STATUS_ENABLED ? "ENABLED" : "DISABLED",
                     list);
        break;
    }
    }
}

/* ---------------------------------------------------------------- events */

static void stream_open(lm_run_t *run, uint64_t addr)
{
    if (run->n_streams == LM_MAX_ITEMS)
        return;
    uint64_t uuid = LM_DOWN_UUID | ++run->next_down_uuid;
    sdk_stream_open(addr, uuid);
    run->streams[run->n_streams++] = (lm_stream_ent_t){addr, uuid};
}

/* The newest downlink stream of addr went away (before the stream layer reports stream_delete). */
static void stream_gone(lm_run_t *run, uint64_t addr)
{
    for (size_t i = run->n_streams; i-- > 0;)
        if (run->streams[i].addr == addr) {
            sdk_stream_remove(run->streams[i].uuid);
            run->streams[i] = run->streams[--run->n_streams];
            return;
        }
}

/* What the SDK's stream table does around a stream event: a downlink stream exists before the stream
 * layer reports it, and is gone before it reports the delete. */
static void stream_side(lm_run_t *run, const lm_event_t *e)
{
    if (e->kind == EV_STREAM_ADD && !e->flag)
        stream_open(run, e->addr);
    else if (e->kind == EV_STREAM_DELETE)
        stream_gone(run, e->addr);
}

static void run_event(lm_run_t *run, const lm_event_t *e, bool in_burst)
{
    const lm_lib_t *lib = run->lib;
    dap_stream_node_addr_t a = {.uint64 = e->addr};
    switch (e->kind) {
    case EV_CONFIG:
        sdk_config_set("link_manager", e->s1, e->s2);
        break;
    case EV_OWN:
        sdk_set_node_addr(e->addr);
        break;
    case EV_CLUSTER:
        if (cluster_get(run, e->s1, e->s2, false))
            lm_lines_add(run->out, "  ! cluster %s already declared", e->s1);
        else
            cluster_get(run, e->s1, e->s2, true);
        break;
    case EV_INIT: {
        dap_link_manager_callbacks_t cb = {
            .connected = cb_connected,
            .disconnected = cb_disconnected,
            .error = cb_error,
            .fill_net_info = cb_fill_net_info,
            .link_request = cb_link_request,
            .link_count_changed = cb_link_count_changed,
        };
        int rc = lib->init(&cb);
        lm_lines_add(run->out, "  rc %d", rc);
        if (rc == 0) {
            run->inited = true;
            int c = lib->test_clock_set(run->vt_ns);
            if (c != 0)
                lm_lines_add(run->out, "  ! test_clock_set = %d", c);
        }
        break;
    }
    case EV_DEINIT:
        lib->deinit();
        run->inited = false;
        break;
    case EV_SET_CONDITION:
        lib->set_condition(e->flag);
        break;
    case EV_ADD_NET:
        lm_lines_add(run->out, "  rc %d", lib->add_net(e->net, cluster_arg(run, e->s1), (uint32_t)e->num));
        break;
    case EV_ADD_NET_ASSOCIATE:
        lm_lines_add(run->out, "  rc %d", lib->add_net_associate(e->net, cluster_arg(run, e->s1)));
        break;
    case EV_REMOVE_NET:
        lib->remove_net(e->net);
        break;
    case EV_SET_NET_CONDITION:
        lib->set_net_condition(e->net, e->flag);
        break;
    case EV_LINK_CREATE:
        lm_lines_add(run->out, "  rc %d", lib->link_create(&a, e->net));
        break;
    case EV_LINK_UPDATE:
        lm_lines_add(run->out, "  rc %d", lib->link_update(&a, e->s1, (uint16_t)e->num));
        break;
    case EV_STREAM_ADD:
        if (!in_burst)
            stream_side(run, e);
        lm_lines_add(run->out, "  rc %d", lib->stream_add(&a, e->flag));
        break;
    case EV_STREAM_REPLACE:
        lib->stream_replace(&a, e->flag);
        break;
    case EV_STREAM_DELETE:
        if (!in_burst)
            stream_side(run, e);
        lib->stream_delete(&a);
        break;
    case EV_ACCOUNTING:
        lib->accounting_link_in_net(e->net, &a, e->flag);
        break;
    case EV_MEMBER_ADD:
    case EV_MEMBER_DEL: {
        dap_cluster_t *c = cluster_arg(run, e->s1);
        bool changed = c && (e->kind == EV_MEMBER_ADD ? sdk_cluster_add_member(c, e->addr)
                                                      : sdk_cluster_remove_member(c, e->addr));
        lm_lines_add(run->out, "  rc %d", changed ? 1 : 0);
        break;
    }
    case EV_CLIENT_CONNECTED:
        lm_lines_add(run->out, "  rc %d", sdk_client_complete_connect(e->addr) ? 1 : 0);
        break;
    case EV_CLIENT_ERROR:
        lm_lines_add(run->out, "  rc %d", sdk_client_fail(e->addr, e->flag) ? 1 : 0);
        break;
    case EV_ADVANCE:
        run->vt_ns += e->num * LM_SEC_NS;
        if (run->inited) {
            int rc = lib->test_clock_advance(e->num * LM_SEC_NS);
            if (rc != 0)
                lm_lines_add(run->out, "  ! test_clock_advance = %d", rc);
        }
        break;
    case EV_TICK:
        lm_lines_add(run->out, "  rc %d", lib->test_tick(e->flag ? 0 : 1, 0));
        break;
    case EV_CHANNEL_ADD:
        lm_lines_add(run->out, "  rc %d", lib->add_active_channel((char)e->num));
        break;
    case EV_CHANNEL_REMOVE:
        lm_lines_add(run->out, "  rc %d", lib->remove_active_channel((char)e->num));
        break;
    case EV_NODE_PERMANENT:
    case EV_NODE_ROUTE:
    case EV_NODE_ROUTE_NONE: {
        pthread_mutex_lock(&g_rec.mu);
        lm_node_ent_t *n = node_ent(e->addr, e->any_addr);
        if (n && e->kind == EV_NODE_PERMANENT) {
            n->has_perm = true;
            n->permanent = e->flag;
        } else if (n) {
            n->has_route = true;
            n->none = e->kind == EV_NODE_ROUTE_NONE;
            snprintf(n->host, sizeof(n->host), "%s", e->s1);
            n->port = (uint16_t)e->num;
        }
        pthread_mutex_unlock(&g_rec.mu);
        break;
    }
    case EV_QUERY:
        query(run, e);
        break;
    case EV_BURST:
    case EV_END:
    case EV_KINDS:
        break;
    }
}

/* Back to the process-wide default "RCGEND" (FIX-CHANNELS-GLOBAL: the list outlives init/deinit, so a
 * previous trace run on the same library would leak into this one). */
static void channels_reset(const lm_lib_t *lib)
{
    char cur[300];
    snprintf(cur, sizeof(cur), "%s", lib->get_active_channels());
    for (const char *p = cur; *p; p++)
        lib->remove_active_channel(*p);
    for (const char *p = "RCGEND"; *p; p++)
        lib->add_active_channel(*p);
}

bool lm_replay_run(const lm_lib_t *lib, const lm_trace_t *t, lm_lines_t *out, char *err, size_t errlen)
{
    if (!lm_lib_has_hooks(lib)) {
        snprintf(err, errlen,
                 "%s has no test hooks (dap_link_manager_sync, _test_clock_set/_advance, _test_tick): build it "
                 "with DAP_LM_TEST_HOOKS=ON",
                 lib->name);
        return false;
    }
    lm_run_t *run = calloc(1, sizeof(*run));
    if (!run) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    run->lib = lib;
    run->out = out;
    run->vt_ns = LM_T0_NS;

    sdk_reset();
    sdk_set_node_addr(LM_DEFAULT_OWN);
    channels_reset(lib);
    pthread_mutex_lock(&g_rec.mu);
    lm_lines_free(&g_rec.cbs);
    g_rec.cb_total = 0;
    g_rec.count_changed = 0;
    g_rec.n_node = 0;
    g_rec.lib = lib;
    pthread_mutex_unlock(&g_rec.mu);
    run->journal_mark = sdk_journal_len();
    run->misuse_mark = sdk_misuse_count();

    bool in_burst = false;
    for (size_t i = 0; i < t->n; i++) {
        const lm_event_t *e = &t->ev[i];
        watchdog_arm(run, e);
        lm_lines_add(out, "@%d %s", e->line, e->text);
        if (e->kind == EV_BURST) {
            /* The library works through the burst while it is being issued: for the streams it finds
             * to close not to depend on that timing, the SDK's stream table takes the burst's final
             * state before the first call. */
            for (size_t k = i + 1; k < t->n && t->ev[k].kind != EV_END; k++)
                stream_side(run, &t->ev[k]);
            in_burst = true;
        }
        run_event(run, e, in_burst);
        if (e->kind == EV_END)
            in_burst = false;
        if (in_burst)
            continue; /* a burst's events go back to back; what they caused is collected at its end */
        settle(run);
        collect(run);
    }

    watchdog_arm(run, NULL);
    lm_lines_add(out, "@exit");
    if (run->inited) {
        lib->deinit();
        run->inited = false;
    }
    sdk_quiesce();
    collect(run);
    lm_lines_add(out, "  clients_live %zu", sdk_clients_live());
    lm_lines_add(out, "  misuse %zu", sdk_misuse_count());
    alarm(0);

    for (size_t i = 0; i < run->n_clusters; i++)
        sdk_cluster_free(run->clusters[i].c);
    for (size_t i = 0; i < run->n_streams; i++)
        sdk_stream_remove(run->streams[i].uuid);
    pthread_mutex_lock(&g_rec.mu);
    lm_lines_free(&g_rec.cbs);
    g_rec.lib = NULL;
    pthread_mutex_unlock(&g_rec.mu);
    free(run);
    return true;
}
