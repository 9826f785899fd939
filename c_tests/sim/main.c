/* node_sim: runs the link manager the way a Cellframe node does, against a simulated network of peers
 * that refuse, stall, flap and drop, and checks that the nets keep their links.
 * Exit code: 0 every invariant held, 1 one broke, 2 bad usage or the setup failed. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

sim_t g_sim = {.perm_lock = PTHREAD_MUTEX_INITIALIZER, .fail_lock = PTHREAD_MUTEX_INITIALIZER};

/* This node's own address: never one of the peers (population.c redraws a clash). */
#define SIM_OWN_ADDR UINT64_C(0x0A0B0C0D00000001)

/* ---- util ---- */

uint64_t sim_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t sim_rng_next(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

double sim_rng_unit(uint64_t *state)
{
    return (double)(sim_rng_next(state) >> 11) / (double)(UINT64_C(1) << 53);
}

unsigned sim_rng_range(uint64_t *state, unsigned lo, unsigned hi)
{
    return lo + (unsigned)(sim_rng_next(state) % ((uint64_t)hi - lo + 1));
}

static void vrecord(const char *fmt, va_list ap)
{
    pthread_mutex_lock(&g_sim.fail_lock);
    if (g_sim.failures < sizeof(g_sim.failure_text) / sizeof(g_sim.failure_text[0]))
        vsnprintf(g_sim.failure_text[g_sim.failures], sizeof(g_sim.failure_text[0]), fmt, ap);
    g_sim.failures++;
    pthread_mutex_unlock(&g_sim.fail_lock);
}

void sim_record(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vrecord(fmt, ap);
    va_end(ap);
}

void sim_anomaly(const char *fmt, ...)
{
    pthread_mutex_lock(&g_sim.fail_lock);
    g_sim.anomalies++;
    pthread_mutex_unlock(&g_sim.fail_lock);
    va_list ap;
    va_start(ap, fmt);
    vrecord(fmt, ap);
    va_end(ap);
}

bool sim_expect(const char *what, const sim_peer_t *peer, long rc, long want)
{
    atomic_fetch_add(&g_sim.c.api_calls, 1);
    if (rc == want)
        return true;
    pthread_mutex_lock(&g_sim.fail_lock);
    g_sim.api_unexpected++;
    pthread_mutex_unlock(&g_sim.fail_lock);
    sim_record("%s%s%s returned %ld (%s), expected %ld", what, peer ? " for " : "", peer ? peer->host : "", rc,
               dap_link_manager_strerror((int)rc), want);
    return false;
}

int sim_net_index(uint64_t net_id)
{
    for (unsigned i = 0; i < g_sim.opt.nets; i++)
        if (g_sim.nets[i].id == net_id)
            return (int)i;
    return -1;
}

/* ---- options ---- */

static const sim_options_t s_defaults = {
    .nets = 3,
    .peers = 500,
    .seconds = 30,
    .settle_seconds = 15,
    .seed = 1,
    .refuse_rate = 0.15,
    .flap_rate = 0.05,
    .drop_rate = 0.10,
    .permanent_rate = 0.03,
    .slow_rate = 0.20,
    .silent_rate = 0.05,
    .reject_rate = 0.03,
    .inbound_rate = 0.10,
    .tick_ms = 200,
    .reconnect_delay_s = 2,
    .max_attempts = 2,
    .connect_timeout_ms = 3000,
};

static void usage(FILE *out)
{
    const sim_options_t *d = &s_defaults;
    fprintf(out,
            "usage: node_sim [options]\n"
            "Simulates a Cellframe node around the link manager: nets with link targets, a population of peers\n"
            "with failure profiles, a balancer, ANNOUNCE/accounting, stream events and net switches. Prints a\n"
            "status line a second and a summary; exits 1 if an invariant broke.\n\n"
            "  --nets N            nets to manage, 1..%d (default %u; targets 5, 4, 3, then 3)\n"
            "  --peers N           peer population, 10..100000 (default %u)\n"
            "  --seconds N         run time in seconds (default %u)\n"
            "  --seed N            seed of the population and of every random choice (default %llu)\n"
            "  --refuse-rate F     share of peers refusing connections (default %.2f)\n"
            "  --flap-rate F       share accepting then dropping within 1.5 s, again and again (default %.2f)\n"
            "  --drop-rate F       share dropping established streams after 4-12 s (default %.2f)\n"
            "  --permanent-rate F  share of permanent peers: `disconnected` keeps them (default %.2f)\n"
            "  --slow-rate F       share accepting after 0.3-2 s (default %.2f)\n"
            "  --silent-rate F     share never answering (connect timeout) (default %.2f)\n"
            "  --reject-rate F     share answering ANNOUNCE with an error (default %.2f)\n"
            "  --inbound-rate F    share without a public port that connect to us (downlinks) (default %.2f)\n"
            "  --settle N          a net below target this many seconds with healthy peers left fails (default %u)\n"
            "  --tick-ms N         link manager timer_update_states (default %u)\n"
            "  --reconnect-delay N link manager reconnect_delay in seconds (default %u)\n"
            "  --max-attempts N    link manager max_attempts_num: dials before `disconnected` (default %u)\n"
            "  --json              status lines and summary as JSON objects, one per line\n"
            "  --metrics           print the Prometheus metrics text at the end\n"
            "  --help              this text\n",
            SIM_MAX_NETS, d->nets, d->peers, d->seconds, (unsigned long long)d->seed, d->refuse_rate, d->flap_rate,
            d->drop_rate, d->permanent_rate, d->slow_rate, d->silent_rate, d->reject_rate, d->inbound_rate,
            d->settle_seconds, d->tick_ms, d->reconnect_delay_s, d->max_attempts);
}

static bool parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *end || s[0] == '-' || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static bool parse_rate(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= 0.0 && v <= 1.0))
        return false;
    *out = v;
    return true;
}

/* 0 run, 1 --help given, -1 bad usage (reported). */
static int parse_options(int argc, char **argv, sim_options_t *o)
{
    *o = s_defaults;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 1;
        }
        if (!strcmp(a, "--json")) {
            o->json = true;
            continue;
        }
        if (!strcmp(a, "--metrics")) {
            o->metrics = true;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "node_sim: %s: unknown option or missing value (see --help)\n", a);
            return -1;
        }
        const char *v = argv[++i];
        uint64_t n = 0;
        bool ok = true;
        if (!strcmp(a, "--nets"))
            ok = parse_u64(v, 1, SIM_MAX_NETS, &n) && ((o->nets = (unsigned)n), true);
        else if (!strcmp(a, "--peers"))
            ok = parse_u64(v, 10, 100000, &n) && ((o->peers = (unsigned)n), true);
        else if (!strcmp(a, "--seconds"))
            ok = parse_u64(v, 1, 86400, &n) && ((o->seconds = (unsigned)n), true);
        else if (!strcmp(a, "--seed"))
            ok = parse_u64(v, 0, UINT64_MAX, &o->seed);
        else if (!strcmp(a, "--settle"))
            ok = parse_u64(v, 1, 86400, &n) && ((o->settle_seconds = (unsigned)n), true);
        else if (!strcmp(a, "--tick-ms"))
            ok = parse_u64(v, 10, 60000, &n) && ((o->tick_ms = (unsigned)n), true);
        else if (!strcmp(a, "--reconnect-delay"))
            ok = parse_u64(v, 0, 3600, &n) && ((o->reconnect_delay_s = (unsigned)n), true);
        else if (!strcmp(a, "--max-attempts"))
            ok = parse_u64(v, 1, 100, &n) && ((o->max_attempts = (unsigned)n), true);
        else if (!strcmp(a, "--refuse-rate"))
            ok = parse_rate(v, &o->refuse_rate);
        else if (!strcmp(a, "--flap-rate"))
            ok = parse_rate(v, &o->flap_rate);
        else if (!strcmp(a, "--drop-rate"))
            ok = parse_rate(v, &o->drop_rate);
        else if (!strcmp(a, "--permanent-rate"))
            ok = parse_rate(v, &o->permanent_rate);
        else if (!strcmp(a, "--slow-rate"))
            ok = parse_rate(v, &o->slow_rate);
        else if (!strcmp(a, "--silent-rate"))
            ok = parse_rate(v, &o->silent_rate);
        else if (!strcmp(a, "--reject-rate"))
            ok = parse_rate(v, &o->reject_rate);
        else if (!strcmp(a, "--inbound-rate"))
            ok = parse_rate(v, &o->inbound_rate);
        else {
            fprintf(stderr, "node_sim: unknown option %s (see --help)\n", a);
            return -1;
        }
        if (!ok) {
            fprintf(stderr, "node_sim: bad value '%s' for %s (see --help)\n", v, a);
            return -1;
        }
    }
    double sum =
        o->refuse_rate + o->flap_rate + o->drop_rate + o->slow_rate + o->silent_rate + o->reject_rate + o->inbound_rate;
    if (sum > 1.0 + 1e-9) {
        fprintf(stderr, "node_sim: the profile rates add up to %.2f, more than 1 (the rest are healthy peers)\n", sum);
        return -1;
    }
    return 0;
}

/* ---- setup ---- */

static const uint32_t s_default_min_links[] = {5, 4, 3};

static void *net_loader(void *arg)
{
    sim_net_t *n = arg;
    /* The node loads its nets on one thread each, concurrently (CONTRACT.md §11, §12.9). */
    sim_expect("dap_link_manager_add_net", NULL, dap_link_manager_add_net(n->id, n->cluster, n->min_links), 0);
    return NULL;
}

/* Before init: the callbacks read the net table from the library's thread, so it is complete first. */
static int prepare_nets(void)
{
    for (unsigned i = 0; i < g_sim.opt.nets; i++) {
        sim_net_t *n = &g_sim.nets[i];
        n->id = UINT64_C(0x0100) + i + 1;
        n->min_links = i < 3 ? s_default_min_links[i] : 3;
        snprintf(n->name, sizeof(n->name), "net%u", i + 1);
        /* The net's primary cluster: its member callbacks are the link manager's, as in the node. */
        n->cluster =
            sdk_cluster_new(n->name, dap_link_manager_add_links_cluster, dap_link_manager_remove_links_cluster, NULL);
        if (!n->cluster)
            return -1;
    }
    return 0;
}

static int load_nets(void)
{
    pthread_t loaders[SIM_MAX_NETS];
    for (unsigned i = 0; i < g_sim.opt.nets; i++)
        if (pthread_create(&loaders[i], NULL, net_loader, &g_sim.nets[i]) != 0)
            return -1;
    for (unsigned i = 0; i < g_sim.opt.nets; i++)
        pthread_join(loaders[i], NULL);
    uint64_t now = sim_now_ms();
    for (unsigned i = 0; i < g_sim.opt.nets; i++) {
        sim_net_t *n = &g_sim.nets[i];
        dap_link_manager_set_net_condition(n->id, true);
        atomic_fetch_add(&g_sim.c.api_calls, 1);
        n->last_ok_ms = now;
        atomic_store(&n->on_since_ms, now);
        atomic_store(&n->on, true);
    }
    return g_sim.api_unexpected ? -1 : 0;
}

static void print_start(void)
{
    const sim_options_t *o = &g_sim.opt;
    if (o->json) {
        printf("{\"type\":\"start\",\"version\":\"%s\",\"nets\":[", dap_link_manager_version());
        for (unsigned i = 0; i < o->nets; i++)
            printf("%s{\"net\":\"%s\",\"id\":%llu,\"min\":%u}", i ? "," : "", g_sim.nets[i].name,
                   (unsigned long long)g_sim.nets[i].id, g_sim.nets[i].min_links);
        printf("],\"peers\":%zu,\"seconds\":%u,\"seed\":%llu,\"tick_ms\":%u,\"reconnect_delay_s\":%u,"
               "\"max_attempts\":%u}\n",
               g_sim.peer_count, o->seconds, (unsigned long long)o->seed, o->tick_ms, o->reconnect_delay_s,
               o->max_attempts);
    } else {
        printf("node_sim: link manager %s, %u nets (", dap_link_manager_version(), o->nets);
        for (unsigned i = 0; i < o->nets; i++)
            printf("%s%s min %u", i ? ", " : "", g_sim.nets[i].name, g_sim.nets[i].min_links);
        printf("), %zu peers, %u s, seed %llu, tick %u ms, reconnect %u s, max attempts %u\n", g_sim.peer_count,
               o->seconds, (unsigned long long)o->seed, o->tick_ms, o->reconnect_delay_s, o->max_attempts);
        printf("status: per net links/min, established uplinks, needed, hot-list size; queue "
               "depth, p99 processing, library events/s\n");
    }
    fflush(stdout);
}

static void sleep_until_ms(uint64_t deadline_ms)
{
    struct timespec ts = {.tv_sec = (time_t)(deadline_ms / 1000), .tv_nsec = (long)(deadline_ms % 1000) * 1000000L};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

/* ---- shutdown checks ---- */

/* The library must free every client and close every stream it owns at deinit (CONTRACT.md §2):
 * uplink streams, and the downlinks of the links it force-deletes. `had_link` marks the inbound peers
 * whose downlink had a link record just before deinit. */
static void check_leaks(sim_verdicts_t *v, const bool *had_link)
{
    sdk_quiesce();
    v->clients_live = sdk_clients_live();
    for (size_t i = 0; i < g_sim.peer_count; i++) {
        uint64_t up, down;
        population_streams_of(&g_sim.peers[i], &up, &down);
        v->uplink_streams_left += up != 0;
        v->downlinks_left_open += had_link[i] && down;
    }
    v->downlinks_sim_closed = world_close_downlinks();
    size_t left = 0;
    for (size_t i = 0; i < g_sim.peer_count; i++)
        left += sdk_streams_count(g_sim.peers[i].addr.uint64);
    v->leaks_ok = !v->clients_live && !v->uplink_streams_left && !v->downlinks_left_open && !left;
    if (left)
        sim_record("%zu streams still registered after the sim closed its own", left);
}

int main(int argc, char **argv)
{
    int prc = parse_options(argc, argv, &g_sim.opt);
    if (prc)
        return prc > 0 ? 0 : 2;
    const sim_options_t *o = &g_sim.opt;

    sdk_set_node_addr(SIM_OWN_ADDR);
    /* Compressed time: the maintenance tick and the reconnect pause are shortened so a 30 s run sees
     * many dial/drop/redial cycles. Set before init, which reads them. */
    char value[32];
    snprintf(value, sizeof(value), "%u", o->tick_ms);
    sdk_config_set("link_manager", "timer_update_states", value);
    snprintf(value, sizeof(value), "%u", o->reconnect_delay_s);
    sdk_config_set("link_manager", "reconnect_delay", value);
    /* Two dials before giving a peer up (the node's default is one) so the retry path runs too. */
    snprintf(value, sizeof(value), "%u", o->max_attempts);
    sdk_config_set("link_manager", "max_attempts_num", value);

    if (population_build() != 0 || prepare_nets() != 0) {
        fprintf(stderr, "node_sim: out of memory\n");
        for (unsigned i = 0; i < o->nets; i++)
            sdk_cluster_free(g_sim.nets[i].cluster);
        population_free();
        sdk_config_clear();
        return 2;
    }
    int rc = dap_link_manager_init(&g_sim_callbacks);
    if (rc != 0) {
        fprintf(stderr, "node_sim: dap_link_manager_init returned %d\n", rc);
        for (unsigned i = 0; i < o->nets; i++)
            sdk_cluster_free(g_sim.nets[i].cluster);
        population_free();
        sdk_config_clear();
        return 2;
    }
    g_sim.start_ms = sim_now_ms();
    bool setup_ok = load_nets() == 0 && node_start() == 0 && world_start() == 0;
    if (setup_ok) {
        print_start();
        for (unsigned s = 1; s <= o->seconds; s++) {
            sleep_until_ms(g_sim.start_ms + (uint64_t)s * 1000);
            report_status_line(s);
            check_below_target(sim_now_ms());
            unsigned tracked;
            check_permanent_links(&tracked);
            check_members_have_links();
            /* The stand-in journals every SDK call for tests that read it; the sim never does, so keep it small. */
            sdk_journal_clear();
        }
    } else {
        fprintf(stderr, "node_sim: setup failed\n");
    }
    double elapsed = (double)(sim_now_ms() - g_sim.start_ms) / 1000.0;

    /* Stop the node's threads first (each flushes what it queued), then judge, then deinit. */
    atomic_store(&g_sim.stopping, true);
    world_stop();
    node_stop();

    sim_verdicts_t v = {0};
    check_permanent_links(&v.permanent_tracked);
    check_ghost_downlinks();
    check_members_have_links();
    /* The completions above run before this returns: they were queued first. */
    sim_expect("dap_link_manager_sync(main)", NULL, dap_link_manager_sync(10000), DAP_LM_OK);
    v.permanent_lost = g_sim.permanent_lost;
    struct dap_lm_stats st;
    memset(&st, 0, sizeof(st));
    sim_expect("dap_link_manager_get_stats", NULL, dap_link_manager_get_stats(&st), DAP_LM_OK);
    v.panics = st.panics;
    v.stats_json = dap_link_manager_stats_json();
    if (!v.stats_json)
        sim_record("dap_link_manager_stats_json returned NULL");
    if (o->metrics && !(v.metrics_text = dap_link_manager_metrics_prometheus()))
        sim_record("dap_link_manager_metrics_prometheus returned NULL");
    v.final_nets = report_final_nets();
    bool *had_link = calloc(g_sim.peer_count, sizeof(bool));
    if (!had_link)
        abort();
    for (size_t i = 0; i < g_sim.peer_count; i++) {
        sim_peer_t *p = &g_sim.peers[i];
        if (!p->dl_uuid)
            continue;
        struct dap_lm_link_snapshot *s = NULL;
        had_link[i] = dap_link_manager_link_snapshot(&p->addr, &s) == DAP_LM_OK;
        dap_lm_link_snapshot_free(s);
    }

    dap_link_manager_deinit();
    node_free(); /* no callback runs after deinit */
    check_leaks(&v, had_link);
    free(had_link);
    v.misuse = sdk_misuse_count();

    unsigned below = 0;
    for (unsigned i = 0; i < o->nets; i++) {
        below += g_sim.nets[i].below_violations;
        sdk_cluster_free(g_sim.nets[i].cluster);
    }
    v.below_target_ok = below == 0;
    v.permanent_ok = v.permanent_lost == 0;
    v.api_ok = g_sim.api_unexpected == 0;
    v.callbacks_ok = g_sim.anomalies == 0;
    v.consistency_ok = atomic_load(&g_sim.c.consistency_failures) == 0;
    v.misuse_ok = v.misuse == 0;
    v.panics_ok = v.panics == 0;
    bool pass = setup_ok && v.below_target_ok && v.permanent_ok && v.api_ok && v.callbacks_ok && v.consistency_ok &&
                v.leaks_ok && v.misuse_ok && v.panics_ok;
    report_summary(&v, pass, elapsed);

    free(v.stats_json);
    free(v.metrics_text);
    free(v.final_nets);
    population_free();
    sdk_config_clear();
    return pass ? 0 : 1;
}
