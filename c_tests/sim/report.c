/* Status lines and the final summary, as text or as JSON (one object per line). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

/* A growing string: every report is built whole, then printed with one call so lines never interleave. */
typedef struct buf {
    char *s;
    size_t len, cap;
} buf_t;

static void __attribute__((format(printf, 2, 3))) bprintf(buf_t *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            abort();
        if (b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        char *grown = realloc(b->s, cap);
        if (!grown)
            abort();
        b->s = grown;
        b->cap = cap;
    }
}

static size_t hot_size(uint64_t net_id)
{
    size_t count = 0;
    dap_stream_node_addr_t *ignored = dap_link_manager_get_ignored_addrs(&count, net_id);
    free(ignored);
    return ignored ? count : 0;
}

static uint64_t s_prev_processed;
static uint64_t s_prev_ms;

void report_status_line(unsigned second)
{
    struct dap_lm_stats st;
    memset(&st, 0, sizeof(st));
    int rc = dap_link_manager_get_stats(&st);
    sim_expect("dap_link_manager_get_stats", NULL, rc, DAP_LM_OK);
    uint64_t now = sim_now_ms();
    uint64_t depth = st.queue_depth[0] + st.queue_depth[1] + st.queue_depth[2] + st.queue_depth[3];
    double dt = s_prev_ms ? (double)(now - s_prev_ms) / 1000.0 : (double)(now - g_sim.start_ms) / 1000.0;
    double events = dt > 0 ? (double)(st.messages_processed - s_prev_processed) / dt : 0;
    s_prev_processed = st.messages_processed;
    s_prev_ms = now;

    buf_t b = {0};
    if (g_sim.opt.json)
        bprintf(&b, "{\"type\":\"status\",\"t\":%u,\"nets\":[", second);
    else
        bprintf(&b, "[%3us]", second);
    for (unsigned i = 0; i < g_sim.opt.nets; i++) {
        sim_net_t *n = &g_sim.nets[i];
        size_t links = dap_link_manager_links_count(n->id);
        size_t est = dap_link_manager_established_uplinks_count(n->id);
        size_t need = dap_link_manager_needed_links_count(n->id);
        size_t hot = hot_size(n->id);
        bool on = dap_link_manager_get_net_condition(n->id);
        if (g_sim.opt.json)
            bprintf(&b,
                    "%s{\"net\":\"%s\",\"id\":%llu,\"on\":%s,\"links\":%zu,\"min\":%u,\"established\":%zu,"
                    "\"needed\":%zu,\"hot\":%zu}",
                    i ? "," : "", n->name, (unsigned long long)n->id, on ? "true" : "false", links, n->min_links, est,
                    need, hot);
        else
            bprintf(&b, " %s%s %zu/%u est %zu need %zu hot %zu |", n->name, on ? "" : "[off]", links, n->min_links, est,
                    need, hot);
    }
    if (g_sim.opt.json)
        bprintf(&b,
                "],\"queue_depth\":%llu,\"proc_p99_ns\":%llu,\"events_per_s\":%.0f,\"links\":%llu,"
                "\"drops\":%lu,\"reconnects\":%lu,\"failures\":%u}\n",
                (unsigned long long)depth, (unsigned long long)st.proc_p99_ns, events, (unsigned long long)st.links,
                atomic_load(&g_sim.c.up_deletes), atomic_load(&g_sim.c.reconnects), g_sim.failures);
    else
        bprintf(&b, " q %llu p99 %.0fus %.0f ev/s links %llu drops %lu%s\n", (unsigned long long)depth,
                (double)st.proc_p99_ns / 1000.0, events, (unsigned long long)st.links, atomic_load(&g_sim.c.up_deletes),
                g_sim.failures ? " FAIL" : "");
    fputs(b.s, stdout);
    fflush(stdout);
    free(b.s);
}

char *report_final_nets(void)
{
    struct dap_lm_nets_snapshot *snap = NULL;
    buf_t b = {0};
    bprintf(&b, "%s", g_sim.opt.json ? "[" : "");
    if (!sim_expect("dap_link_manager_nets_snapshot_sync", NULL, dap_link_manager_nets_snapshot_sync(&snap, 10000),
                    DAP_LM_OK))
        return b.s;
    for (size_t i = 0; i < snap->count; i++) {
        const struct dap_lm_net_info *ni = &snap->nets[i];
        int idx = sim_net_index(ni->net_id);
        const char *name = idx >= 0 ? g_sim.nets[idx].name : "?";
        size_t hot = hot_size(ni->net_id);
        /* time from start until the net first had its target of links: bring-up speed */
        double reached = idx >= 0 && g_sim.nets[idx].reached_ms
                             ? (double)(g_sim.nets[idx].reached_ms - g_sim.start_ms) / 1000.0
                             : -1.0;
        if (g_sim.opt.json)
            bprintf(&b,
                    "%s{\"net\":\"%s\",\"id\":%llu,\"active\":%s,\"min\":%u,\"links\":%zu,\"uplinks_cached\":%zu,"
                    "\"needed\":%zu,\"established\":%zu,\"clusters\":%zu,\"hot\":%zu,\"reached_target_s\":%.0f}",
                    i ? "," : "", name, (unsigned long long)ni->net_id, ni->active ? "true" : "false", ni->min_links,
                    ni->links_count, ni->uplinks_cached, ni->needed_links, ni->established_uplinks, ni->clusters_count,
                    hot, reached);
        else
            bprintf(&b,
                    "  %s (id %llu) %s: links %zu/%u, established uplinks %zu, needed %zu, hot list %zu, target first "
                    "met at %.0f s\n",
                    name, (unsigned long long)ni->net_id, ni->active ? "on" : "OFF", ni->links_count, ni->min_links,
                    ni->established_uplinks, ni->needed_links, hot, reached);
    }
    bprintf(&b, "%s", g_sim.opt.json ? "]" : "");
    dap_lm_nets_snapshot_free(snap);
    return b.s;
}

#define C(field) atomic_load(&g_sim.c.field)

static void summary_text(buf_t *b, const sim_verdicts_t *v, bool pass, double elapsed)
{
    const sim_options_t *o = &g_sim.opt;
    bprintf(b, "== node_sim summary: %.1f s, seed %llu, %u nets, %zu peers ==\n", elapsed, (unsigned long long)o->seed,
            o->nets, g_sim.peer_count);
    bprintf(b, "peers:");
    for (int p = 0; p < PROFILE_COUNT; p++)
        bprintf(b, " %s %zu", profile_name((peer_profile_t)p), g_sim.profile_count[p]);
    bprintf(b, "; permanent %zu\n", g_sim.permanent_count);
    bprintf(b,
            "callbacks: link_request %lu, fill_net_info %lu, connected %lu, disconnected %lu (kept %lu), error %lu, "
            "link_count_changed %lu\n",
            C(cb_link_request), C(cb_fill_net_info), C(cb_connected), C(cb_disconnected), C(cb_disconnected_kept),
            C(cb_error), C(cb_link_count_changed));
    bprintf(b,
            "node: balancer requests %lu, link_create %lu, ANNOUNCE sent %lu, accounting ok %lu / refused %lu, "
            "replies lost %lu\n",
            C(balancer_requests), C(link_creates), C(announces_sent), C(accounting_ok), C(accounting_refused),
            C(announce_lost));
    bprintf(b,
            "streams: uplink add %lu / delete %lu (reconnects %lu), downlinks opened %lu, add %lu / delete %lu "
            "(closed by the library %lu), connect timeouts %lu, clients giving up after a drop %lu, net switches %lu\n",
            C(up_adds), C(up_deletes), C(reconnects), C(downlinks_opened), C(down_adds), C(down_deletes),
            C(downlinks_closed_by_library), C(connect_timeouts), C(client_giveups), C(net_switches));
    bprintf(b, "final nets:\n%s", v->final_nets ? v->final_nets : "  (none)\n");
    bprintf(b, "stats: %s\n", v->stats_json ? v->stats_json : "null");
    if (v->metrics_text)
        bprintf(b, "metrics:\n%s", v->metrics_text);
    bprintf(b, "invariants:\n");
    unsigned below = 0;
    for (unsigned i = 0; i < o->nets; i++)
        below += g_sim.nets[i].below_violations;
    bprintf(b, "  below-target   %s (%u episodes longer than %u s with healthy peers available)\n",
            v->below_target_ok ? "ok  " : "FAIL", below, o->settle_seconds);
    bprintf(b, "  permanent      %s (%u permanent links tracked at the end, %u lost)\n",
            v->permanent_ok ? "ok  " : "FAIL", v->permanent_tracked, v->permanent_lost);
    bprintf(b, "  api-results    %s (%lu calls checked, %u unexpected)\n", v->api_ok ? "ok  " : "FAIL", C(api_calls),
            g_sim.api_unexpected);
    bprintf(b, "  callbacks      %s (%u calls with arguments the contract rules out)\n",
            v->callbacks_ok ? "ok  " : "FAIL", g_sim.anomalies);
    bprintf(b, "  consistency    %s (%lu checks that cluster members have link records, no ghost links; %lu failed)\n",
            v->consistency_ok ? "ok  " : "FAIL", C(consistency_checks), C(consistency_failures));
    bprintf(b,
            "  leaks          %s (after deinit: %zu clients live, %zu uplink streams, %zu downlinks of linked peers "
            "left open; sim closed %zu of its own)\n",
            v->leaks_ok ? "ok  " : "FAIL", v->clients_live, v->uplink_streams_left, v->downlinks_left_open,
            v->downlinks_sim_closed);
    bprintf(b, "  sdk-misuse     %s (%zu)\n", v->misuse_ok ? "ok  " : "FAIL", v->misuse);
    bprintf(b, "  panics         %s (%llu)\n", v->panics_ok ? "ok  " : "FAIL", (unsigned long long)v->panics);
    unsigned shown = g_sim.failures < 8 ? g_sim.failures : 8;
    for (unsigned i = 0; i < shown; i++)
        bprintf(b, "  ! %s\n", g_sim.failure_text[i]);
    bprintf(b, "result: %s\n", pass ? "PASS" : "FAIL");
}

static void json_string(buf_t *b, const char *s)
{
    bprintf(b, "\"");
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            bprintf(b, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            bprintf(b, "\\u%04x", (unsigned)(unsigned char)*s);
        else
            bprintf(b, "%c", *s);
    }
    bprintf(b, "\"");
}

static void summary_json(buf_t *b, const sim_verdicts_t *v, bool pass, double elapsed)
{
    const sim_options_t *o = &g_sim.opt;
    bprintf(b, "{\"type\":\"summary\",\"seconds\":%.1f,\"seed\":%llu,\"nets\":%u,\"peers\":%zu,\"profiles\":{", elapsed,
            (unsigned long long)o->seed, o->nets, g_sim.peer_count);
    for (int p = 0; p < PROFILE_COUNT; p++)
        bprintf(b, "%s\"%s\":%zu", p ? "," : "", profile_name((peer_profile_t)p), g_sim.profile_count[p]);
    bprintf(b, "},\"permanent\":%zu,", g_sim.permanent_count);
    bprintf(b,
            "\"totals\":{\"link_request\":%lu,\"fill_net_info\":%lu,\"connected\":%lu,\"disconnected\":%lu,"
            "\"disconnected_kept\":%lu,\"error\":%lu,\"link_count_changed\":%lu,\"balancer_requests\":%lu,"
            "\"link_create\":%lu,\"announces\":%lu,\"accounting_ok\":%lu,\"accounting_refused\":%lu,"
            "\"announce_lost\":%lu,\"uplink_adds\":%lu,\"uplink_deletes\":%lu,\"reconnects\":%lu,"
            "\"downlinks_opened\":%lu,\"downlink_adds\":%lu,\"downlink_deletes\":%lu,"
            "\"downlinks_closed_by_library\":%lu,\"connect_timeouts\":%lu,\"client_giveups\":%lu,\"net_switches\":%lu,"
            "\"api_calls\":%lu},",
            C(cb_link_request), C(cb_fill_net_info), C(cb_connected), C(cb_disconnected), C(cb_disconnected_kept),
            C(cb_error), C(cb_link_count_changed), C(balancer_requests), C(link_creates), C(announces_sent),
            C(accounting_ok), C(accounting_refused), C(announce_lost), C(up_adds), C(up_deletes), C(reconnects),
            C(downlinks_opened), C(down_adds), C(down_deletes), C(downlinks_closed_by_library), C(connect_timeouts),
            C(client_giveups), C(net_switches), C(api_calls));
    bprintf(b, "\"final_nets\":%s,", v->final_nets && *v->final_nets ? v->final_nets : "[]");
    bprintf(b, "\"stats\":%s,", v->stats_json ? v->stats_json : "null");
    unsigned below = 0;
    for (unsigned i = 0; i < o->nets; i++)
        below += g_sim.nets[i].below_violations;
    bprintf(b,
            "\"invariants\":{\"below_target\":{\"ok\":%s,\"episodes\":%u,\"settle_s\":%u},"
            "\"permanent\":{\"ok\":%s,\"tracked\":%u,\"lost\":%u},"
            "\"api_results\":{\"ok\":%s,\"calls\":%lu,\"unexpected\":%u},\"callbacks\":{\"ok\":%s,\"anomalies\":%u},"
            "\"consistency\":{\"ok\":%s,\"checks\":%lu,\"failed\":%lu},\"leaks\":{\"ok\":%s,\"clients_live\":%zu,"
            "\"uplink_streams\":%zu,\"downlinks_left_open\":%zu,"
            "\"sim_closed\":%zu},\"sdk_misuse\":{\"ok\":%s,\"count\":%zu},\"panics\":{\"ok\":%s,\"count\":%llu}},",
            v->below_target_ok ? "true" : "false", below, o->settle_seconds, v->permanent_ok ? "true" : "false",
            v->permanent_tracked, v->permanent_lost, v->api_ok ? "true" : "false", C(api_calls), g_sim.api_unexpected,
            v->callbacks_ok ? "true" : "false", g_sim.anomalies, v->consistency_ok ? "true" : "false",
            C(consistency_checks), C(consistency_failures), v->leaks_ok ? "true" : "false", v->clients_live,
            v->uplink_streams_left, v->downlinks_left_open, v->downlinks_sim_closed, v->misuse_ok ? "true" : "false",
            v->misuse, v->panics_ok ? "true" : "false", (unsigned long long)v->panics);
    bprintf(b, "\"failures\":[");
    unsigned shown = g_sim.failures < 8 ? g_sim.failures : 8;
    for (unsigned i = 0; i < shown; i++) {
        bprintf(b, "%s", i ? "," : "");
        json_string(b, g_sim.failure_text[i]);
    }
    bprintf(b, "],\"result\":\"%s\"}\n", pass ? "pass" : "fail");
    /* Prometheus text is line-oriented by design: it follows the JSON object rather than being escaped into it. */
    if (v->metrics_text)
        bprintf(b, "%s", v->metrics_text);
}

void report_summary(const sim_verdicts_t *v, bool pass, double elapsed_s)
{
    buf_t b = {0};
    if (g_sim.opt.json)
        summary_json(&b, v, pass, elapsed_s);
    else
        summary_text(&b, v, pass, elapsed_s);
    fputs(b.s, stdout);
    fflush(stdout);
    free(b.s);
}
