/* node_sim: a Cellframe node simulated around the link manager (shared state of the simulator).
 *
 * Threads, and which part of the node each one plays (CONTRACT.md §11):
 *   main        node start/stop, CLI: status line every second, invariant checks
 *   loader      one per net at start: add_net concurrently, as the node loads its nets
 *   balancer    answers link_request: link_create for fresh candidates (node.c)
 *   channel     chain-net channel: ANNOUNCE replies -> accounting_link_in_net (node.c)
 *   streams     stream layer: turns the stand-in's stream registry into stream_add/stream_delete (world.c)
 *   world       the remote peers: inbound downlinks, connect timeouts, net on/off switches (world.c)
 * The library's callbacks run on its own thread and only read, count and enqueue (node.c). */
#ifndef NODE_SIM_H
#define NODE_SIM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dap_link_manager.h"
#include "sdk_standin.h"

#define SIM_MAX_NETS 16

/* How a remote peer behaves when dialed (the stand-in network script of its host:port). */
typedef enum {
    PROFILE_HEALTHY,   /* accepts within tens of ms */
    PROFILE_SLOW,      /* accepts after up to 2 s */
    PROFILE_REFUSING,  /* refuses (error, last attempt) */
    PROFILE_SILENT,    /* never answers: only the SDK's connect timeout (played by world.c) ends it */
    PROFILE_FLAPPING,  /* accepts, drops the stream within 1.5 s, accepts again on redial */
    PROFILE_DROPPING,  /* accepts, drops the stream after 4-12 s */
    PROFILE_REJECTING, /* accepts the stream but answers ANNOUNCE with an error (accounting !ok) */
    PROFILE_INBOUND,   /* has no public port: never dialed, connects to us (downlinks) */
    PROFILE_COUNT
} peer_profile_t;

typedef struct sim_peer {
    /* Set once by population_build, read by every thread. */
    dap_stream_node_addr_t addr;
    char host[20];
    uint16_t port;
    peer_profile_t profile;
    bool permanent; /* the node's `disconnected` returns true (a seed/root node) */
    unsigned delay_ms;

    /* streams thread only: the streams it last saw, to report changes once. */
    uint64_t seen_up_uuid, seen_down_uuid;
    bool ever_up;

    /* world thread only */
    uint64_t connecting_since_ms; /* first sample in CONNECTING, 0 otherwise */
    uint64_t gave_up_ms;          /* last time its client reported a dropped stream as final */
    uint64_t dl_uuid;             /* downlink stream the peer opened to us, 0 none */
    uint64_t dl_close_at_ms;
    atomic_int dl_net; /* net index the downlink announces itself in (read by the streams thread) */

    atomic_bool dialed;        /* the balancer made a link to it at least once (limits timeout scans) */
    uint32_t announce_pending; /* bit per net: an ANNOUNCE reply is scheduled (channel lock) */
    uint32_t permanent_linked; /* bit per net: a permanent link that must stay (sim.perm_lock) */
} sim_peer_t;

typedef struct sim_net {
    uint64_t id;
    uint32_t min_links;
    char name[16];
    dap_cluster_t *cluster;
    atomic_bool on;              /* the sim's intent: switched on (after set_net_condition returned) */
    atomic_bool request_pending; /* a link_request is queued to the balancer */
    uint64_t epoch;              /* bumped by every switch (sim.perm_lock) */
    atomic_uint_fast64_t on_since_ms;

    /* the balancer's last decision, for failure reports */
    atomic_ulong requests;
    atomic_uint_fast64_t last_request_ms, last_balanced_ms;
    atomic_uint last_needed, last_inflight, last_created;

    /* balancer thread only: when it created each peer's link in this net (0 never) */
    uint64_t *created_ms;

    /* main thread only: below-target tracking */
    uint64_t reached_ms; /* first time at its target, 0 never */
    uint64_t last_ok_ms;
    bool below_flagged;
    unsigned below_violations;
} sim_net_t;

typedef struct sim_options {
    unsigned nets, peers, seconds, settle_seconds;
    uint64_t seed;
    double refuse_rate, flap_rate, drop_rate, permanent_rate, slow_rate, silent_rate, reject_rate, inbound_rate;
    unsigned tick_ms, reconnect_delay_s, max_attempts, connect_timeout_ms;
    bool json, metrics;
} sim_options_t;

/* Counters of what the simulated node saw and did (relaxed atomics: read for reports only). */
typedef struct sim_counters {
    atomic_ulong cb_fill_net_info, cb_connected, cb_disconnected, cb_disconnected_kept, cb_error, cb_link_request,
        cb_link_count_changed;
    atomic_ulong balancer_requests, link_creates, announces_sent, accounting_ok, accounting_refused, announce_lost;
    atomic_ulong up_adds, up_deletes, reconnects, down_adds, down_deletes, downlinks_opened,
        downlinks_closed_by_library, connect_timeouts, client_giveups, net_switches;
    atomic_ulong api_calls, consistency_checks, consistency_failures;
} sim_counters_t;

typedef struct sim {
    sim_options_t opt;
    sim_peer_t *peers;
    size_t peer_count;
    size_t profile_count[PROFILE_COUNT];
    size_t permanent_count;
    sim_net_t nets[SIM_MAX_NETS];
    uint64_t start_ms;
    unsigned permanent_lost; /* main thread: permanent links found gone */
    atomic_bool stopping;
    pthread_mutex_t perm_lock;
    sim_counters_t c;

    /* every broken invariant is counted by kind; the first few descriptions are kept for the summary */
    pthread_mutex_t fail_lock;
    unsigned failures, api_unexpected, anomalies;
    char failure_text[8][200];
} sim_t;

extern sim_t g_sim;

/* ---- util (main.c) ---- */
uint64_t sim_now_ms(void);
uint64_t sim_rng_next(uint64_t *state); /* splitmix64 */
double sim_rng_unit(uint64_t *state);   /* [0, 1) */
unsigned sim_rng_range(uint64_t *state, unsigned lo, unsigned hi);
/* Records an API call; a result other than `want` is an invariant failure. Returns rc == want. */
bool sim_expect(const char *what, const sim_peer_t *peer, long rc, long want);
/* Keeps the description of a broken invariant (the caller counts it under its kind). */
void sim_record(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Something the library handed the node that the contract rules out (unknown link, foreign host...). */
void sim_anomaly(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int sim_net_index(uint64_t net_id); /* -1 when unknown */

/* ---- population.c ---- */
int population_build(void); /* peers, profiles, network scripts; 0 ok */
void population_free(void);
sim_peer_t *population_find(const dap_stream_node_addr_t *addr); /* NULL when not a peer */
const char *profile_name(peer_profile_t p);
/* Uplink streams carry the uuid the stand-in gives a client's stream; downlinks the sim opens use its own. */
#define SIM_UPLINK_UUID_TAG   UINT64_C(0xC1)
#define SIM_DOWNLINK_UUID_TAG UINT64_C(0xD0)
/* The uplink and downlink stream uuids currently registered for `peer` (0 when none). */
void population_streams_of(const sim_peer_t *peer, uint64_t *up_uuid, uint64_t *down_uuid);

/* ---- node.c: callbacks, balancer, chain-net channel ---- */
extern const dap_link_manager_callbacks_t g_sim_callbacks;
int node_start(void); /* balancer and channel threads */
void node_stop(void);
void node_free(void); /* after deinit: callbacks no longer run */
/* Schedules the ANNOUNCE reply of a peer whose downlink just appeared (streams thread). */
void node_downlink_announce(sim_peer_t *peer, int net_index);

/* ---- world.c: stream layer, remote peers, net switches ---- */
int world_start(void);
void world_stop(void);
/* After deinit: closes the downlinks the sim still holds open; returns how many it had to close. */
size_t world_close_downlinks(void);

/* ---- report.c ---- */
void report_status_line(unsigned second);
/* Final report; `verdicts` is filled by main. */
typedef struct sim_verdicts {
    bool below_target_ok, permanent_ok, api_ok, callbacks_ok, consistency_ok, leaks_ok, misuse_ok, panics_ok;
    unsigned permanent_tracked, permanent_lost;
    size_t clients_live, uplink_streams_left, downlinks_left_open, downlinks_sim_closed;
    size_t misuse;
    uint64_t panics;
    char *stats_json;
    char *metrics_text;
    char *final_nets; /* rendered before deinit */
} sim_verdicts_t;
char *report_final_nets(void); /* malloc'd text or JSON array of the final per-net state */
void report_summary(const sim_verdicts_t *v, bool pass, double elapsed_s);

/* ---- check.c: invariants evaluated while running ---- */
void check_below_target(uint64_t now_ms);
unsigned check_permanent_links(unsigned *tracked); /* returns how many were lost */
size_t check_healthy_available(int net_index);
void check_members_have_links(void); /* async: results counted in sim.c.consistency_* */
unsigned check_ghost_downlinks(void);

#endif
