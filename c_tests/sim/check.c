/* Invariants checked while the simulation runs (main thread). */
#include <stdio.h>
#include <stdlib.h>

#include "sim.h"

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Peers that would connect and stay if dialed now: healthy or slow, not in the net's hot list (the
 * balancer must skip those) and not already linked in the net. */
size_t check_healthy_available(int net_index)
{
    sim_net_t *n = &g_sim.nets[net_index];
    size_t count = 0;
    dap_stream_node_addr_t *ignored = dap_link_manager_get_ignored_addrs(&count, n->id);
    uint64_t *hot = calloc(count ? count : 1, sizeof(*hot));
    if (!hot)
        abort();
    for (size_t i = 0; ignored && i < count; i++)
        hot[i] = ignored[i].uint64;
    free(ignored);
    if (!ignored)
        count = 0;
    qsort(hot, count, sizeof(*hot), cmp_u64);
    size_t available = 0;
    for (size_t i = 0; i < g_sim.peer_count; i++) {
        sim_peer_t *p = &g_sim.peers[i];
        if (p->profile != PROFILE_HEALTHY && p->profile != PROFILE_SLOW)
            continue;
        uint64_t a = p->addr.uint64;
        if (count && bsearch(&a, hot, count, sizeof(*hot), cmp_u64))
            continue;
        if (!dap_link_manager_link_find(&p->addr, n->id))
            available++;
    }
    free(hot);
    return available;
}

/* What a failure report needs to tell the library's fault from the sim's: every link of the net. */
static void dump_net_links(int ni, uint64_t now)
{
    sim_net_t *n = &g_sim.nets[ni];
    static const char *const states[] = {"DISCONNECTED", "CONNECTING", "ESTABLISHED"};
    uint64_t asked = atomic_load(&n->last_request_ms), balanced = atomic_load(&n->last_balanced_ms);
    fprintf(stderr,
            "node_sim: %s below target at %.1f s; link_request %lu times, last at %.1f s; last balancing at %.1f s: "
            "needed %u, in flight %u, created %u; its links:\n",
            n->name, (double)(now - g_sim.start_ms) / 1000.0, atomic_load(&n->requests),
            asked ? (double)(asked - g_sim.start_ms) / 1000.0 : -1.0,
            balanced ? (double)(balanced - g_sim.start_ms) / 1000.0 : -1.0, atomic_load(&n->last_needed),
            atomic_load(&n->last_inflight), atomic_load(&n->last_created));
    for (size_t i = 0; i < g_sim.peer_count; i++) {
        sim_peer_t *p = &g_sim.peers[i];
        if (!dap_link_manager_link_find(&p->addr, n->id))
            continue;
        struct dap_lm_link_snapshot *s = NULL;
        if (dap_link_manager_link_snapshot(&p->addr, &s) != DAP_LM_OK)
            continue;
        uint64_t up, down;
        population_streams_of(p, &up, &down);
        char addr[SDK_ADDR_STRLEN];
        fprintf(stderr,
                "  %s %-14s %-9s%s %-12s attempts %u client %d uplink %d destroyed %d clusters %zu member %d "
                "stream %s start_after %llu\n",
                sdk_addr_str(p->addr.uint64, addr), p->host, profile_name(p->profile), p->permanent ? "*" : " ",
                states[s->state <= LINK_STATE_ESTABLISHED ? s->state : 0], s->attempts_count, s->has_client,
                s->is_uplink, s->stream_is_destroyed, s->active_clusters_count,
                sdk_cluster_has(n->cluster, p->addr.uint64),
                up     ? "up"
                : down ? "down"
                       : "none",
                (unsigned long long)s->start_after);
        dap_lm_link_snapshot_free(s);
    }
}

/* A net on for longer than the settle window, below its target for all of that window, while enough
 * healthy peers were there to dial: the manager stopped asking for links or lost them (no cause). */
void check_below_target(uint64_t now)
{
    uint64_t settle = (uint64_t)g_sim.opt.settle_seconds * 1000;
    for (unsigned i = 0; i < g_sim.opt.nets; i++) {
        sim_net_t *n = &g_sim.nets[i];
        size_t links = dap_link_manager_links_count(n->id);
        if (links >= n->min_links && !n->reached_ms)
            n->reached_ms = now;
        if (!atomic_load(&n->on) || links >= n->min_links) {
            n->last_ok_ms = now;
            n->below_flagged = false;
            continue;
        }
        uint64_t since = n->last_ok_ms;
        uint64_t on_since = atomic_load(&n->on_since_ms);
        if (on_since > since)
            since = on_since;
        if (n->below_flagged || now - since < settle)
            continue;
        size_t available = check_healthy_available((int)i);
        size_t deficit = n->min_links - links;
        if (available < deficit)
            continue; /* a cause: the population ran out of peers worth dialing */
        n->below_flagged = true;
        n->below_violations++;
        dump_net_links((int)i, now);
        sim_record("%s below target for %.1f s: links %zu/%u, established %zu, needed %zu, %zu healthy "
                   "peers available",
                   n->name, (double)(now - since) / 1000.0, links, n->min_links,
                   dap_link_manager_established_uplinks_count(n->id), dap_link_manager_needed_links_count(n->id),
                   available);
    }
}

/* Every permanent peer the balancer linked must keep its link record in that net until the net is
 * switched off (CONTRACT.md §6, §7, §12.14). The fast getter reads the published view; a miss is
 * confirmed with the _sync variant so a view not yet republished is not taken for a loss. */
unsigned check_permanent_links(unsigned *tracked)
{
    typedef struct {
        size_t peer;
        int net;
        uint64_t epoch;
    } entry_t;
    entry_t *list = NULL;
    size_t len = 0, cap = 0;
    pthread_mutex_lock(&g_sim.perm_lock);
    for (size_t i = 0; i < g_sim.peer_count; i++) {
        for (unsigned ni = 0; ni < g_sim.opt.nets; ni++) {
            if (!(g_sim.peers[i].permanent_linked & (UINT32_C(1) << ni)))
                continue;
            if (len == cap) {
                cap = cap ? cap * 2 : 32;
                entry_t *grown = realloc(list, cap * sizeof(*grown));
                if (!grown)
                    abort();
                list = grown;
            }
            list[len++] = (entry_t){i, (int)ni, g_sim.nets[ni].epoch};
        }
    }
    pthread_mutex_unlock(&g_sim.perm_lock);

    unsigned lost = 0;
    for (size_t k = 0; k < len; k++) {
        sim_peer_t *p = &g_sim.peers[list[k].peer];
        sim_net_t *n = &g_sim.nets[list[k].net];
        if (dap_link_manager_link_find(&p->addr, n->id))
            continue;
        bool found = false;
        if (!sim_expect("dap_link_manager_link_find_sync", p,
                        dap_link_manager_link_find_sync(&p->addr, n->id, &found, 10000), DAP_LM_OK) ||
            found)
            continue;
        /* A switch after we listed it releases the link legitimately. */
        pthread_mutex_lock(&g_sim.perm_lock);
        bool still = n->epoch == list[k].epoch && (p->permanent_linked & (UINT32_C(1) << list[k].net));
        if (still)
            p->permanent_linked &= ~(UINT32_C(1) << list[k].net); /* report each loss once */
        pthread_mutex_unlock(&g_sim.perm_lock);
        if (!still)
            continue;
        struct dap_lm_link_snapshot *s = NULL;
        int rc = dap_link_manager_link_snapshot_sync(&p->addr, &s, 10000);
        char addr[SDK_ADDR_STRLEN];
        sim_record("permanent link lost: %s (%s:%u, %s) in %s; link record %s", sdk_addr_str(p->addr.uint64, addr),
                   p->host, p->port, profile_name(p->profile), n->name,
                   rc == DAP_LM_OK ? (s->nets_count ? "kept, other nets only" : "kept without nets") : "deleted");
        dap_lm_link_snapshot_free(s);
        lost++;
        g_sim.permanent_lost++;
    }
    *tracked = (unsigned)len;
    free(list);
    return lost;
}

/* On the library's thread, after everything queued before was applied: every member of the net's
 * primary cluster must have a link record (the library alone adds and removes members). */
static void on_net_links(int rc, const struct dap_lm_net_links *r, void *arg)
{
    sim_net_t *n = arg;
    if (rc == DAP_LM_ERR_SHUTTING_DOWN)
        return;
    if (!sim_expect("dap_link_manager_get_net_links_addrs_async (completion)", NULL, rc, DAP_LM_OK) || !r)
        return;
    size_t members = sdk_cluster_size(n->cluster);
    size_t listed = r->uplinks_count + r->downlinks_count;
    atomic_fetch_add(&g_sim.c.consistency_checks, 1);
    if (listed != members) {
        atomic_fetch_add(&g_sim.c.consistency_failures, 1);
        sim_record("%s: %zu members in the primary cluster, %zu of them with a link record", n->name, members, listed);
    }
}

void check_members_have_links(void)
{
    for (unsigned i = 0; i < g_sim.opt.nets; i++) {
        sim_net_t *n = &g_sim.nets[i];
        sim_expect("dap_link_manager_get_net_links_addrs_async", NULL,
                   dap_link_manager_get_net_links_addrs_async(n->id, false, on_net_links, n), DAP_LM_OK);
    }
}

/* After the stream layer reported its last deletes: an inbound peer with no stream left must have no
 * link record (FIX-GHOST-DOWNLINK, CONTRACT.md §5). */
unsigned check_ghost_downlinks(void)
{
    unsigned ghosts = 0;
    for (size_t i = 0; i < g_sim.peer_count; i++) {
        sim_peer_t *p = &g_sim.peers[i];
        if (p->profile != PROFILE_INBOUND)
            continue;
        uint64_t up, down;
        population_streams_of(p, &up, &down);
        if (down)
            continue;
        struct dap_lm_link_snapshot *s = NULL;
        int rc = dap_link_manager_link_snapshot_sync(&p->addr, &s, 10000);
        if (rc == DAP_LM_OK) {
            ghosts++;
            atomic_fetch_add(&g_sim.c.consistency_failures, 1);
            sim_record("ghost link: inbound peer %s has no stream left but a link record (client %d, clusters %zu)",
                       p->host, s->has_client, s->active_clusters_count);
        } else if (rc != DAP_LM_ERR_NOT_FOUND) {
            sim_expect("dap_link_manager_link_snapshot_sync", p, rc, DAP_LM_OK);
        }
        dap_lm_link_snapshot_free(s);
    }
    return ghosts;
}
