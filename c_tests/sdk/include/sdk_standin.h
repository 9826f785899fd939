/* Test-control API of the stand-in DAP SDK (libdap_sdk_standin.so).
 *
 * The stand-in provides every SDK symbol the link manager imports (shared/spec/ABI.md §4), written from
 * the spec, not from the GPL SDK. This header adds what tests need to drive and observe it. All
 * functions are thread-safe. Nothing here is called by the library under test.
 *
 * THREADS. One SDK worker thread (started on first use) runs every asynchronous client event: done and
 * error callbacks, go_stage(BEGIN) completions and client frees, in due-time order (FIFO for equal
 * times). Cluster callbacks run synchronously on the thread that called the cluster function.
 *
 * SIMULATED NETWORK. dap_client_go_stage(c, target > BEGIN, done) sets c->stage_target, moves the
 * client to STAGE_ENC_INIT ("in progress") and looks up the behaviour scripted for the client's
 * "host:port" (link_info.uplink_addr / uplink_port; sdk_net_default() when none):
 *   SDK_NET_MANUAL     nothing happens until sdk_client_complete_connect() / sdk_client_fail() (default)
 *   SDK_NET_ACCEPT     after delay_ms: stage = target, the stream is registered, done(c, arg)
 *   SDK_NET_REFUSE     after delay_ms: error(c, (void*)(intptr_t)last_attempt); stage stays ENC_INIT
 *   SDK_NET_SILENT     never answers (stays ENC_INIT)
 *   SDK_NET_DROP_AFTER accepts at once as ACCEPT, then after delay_ms error(c, (void*)0): a dropped stream
 * A client already at `target` gets done(c, arg) on the worker. go_stage(BEGIN, done) resets the stage
 * at once (stage = stage_target = BEGIN, its stream unregistered, scripted events not yet run are
 * dropped) and calls done, if any, on the worker. A stream that errors leaves the stage where it was.
 * dap_client_delete_mt(c): c is freed on the worker after every event already due for it has run;
 * scripted events not yet due are dropped then. Callbacks may arrive after delete_mt, never after the
 * free; when del_arg is set the arg is free()d with the client. Using a client after delete_mt is
 * recorded as a misuse (sdk_misuse_count) and ignored.
 *
 * Every uplink stream accepted is registered for the client's node address with the uuid of the
 * client's stream_es (fresh per client, 0xC1000000_00000000 | client id), so
 * dap_stream_find_all_by_addr returns it next to the downlinks of sdk_stream_open().
 *
 * JOURNAL. Every SDK call with a side effect appends one line (queries such as get_stage, find_unsafe,
 * members_count, find_all_by_addr, config and ch_proc lookups do not). Fields are separated by one
 * space; ADDR is "XXXX::XXXX::XXXX::XXXX"; <id> is a client id (decimal, from 1, restarted by sdk_reset
 * when no client is alive); numbers are decimal; an empty or NULL string is printed "-".
 *   cluster_add <cluster> <ADDR>[ exists]         dap_cluster_member_add (" exists": already a member)
 *   cluster_delete <cluster> <ADDR>[ absent]      dap_cluster_member_delete (" absent": not a member)
 *   cluster_delete_all <cluster>                  dap_cluster_delete_all_members
 *   client_new <id>                               dap_client_new
 *   set_uplink <id> <ADDR> <host> <port>          dap_client_set_uplink_unsafe
 *   set_always_reconnect <id> <0|1> <ADDR>        dap_client_set_is_always_reconnect
 *   set_active_channels <id> <chans> <ADDR>       dap_client_set_active_channels_unsafe
 *   go_stage <id> <stage> <ADDR>                  dap_client_go_stage (stage as a number, -1..5)
 *   client_delete <id> <ADDR>                     dap_client_delete_mt
 *   stream_close <ADDR> <uuid>[ uplink| unknown]  dap_events_socket_remove_and_delete_mt (" uplink": the
 *                                                 stream of an uplink client; " unknown": no such stream, ADDR "-")
 * Client lines carry the client's link_info.node_addr at the time of the call (0000::... before
 * set_uplink). A call on a client after its delete_mt gets the suffix " after_delete".
 * Test-side helpers (sdk_cluster_add_member, ...) are not journaled.
 */
#ifndef SDK_STANDIN_H
#define SDK_STANDIN_H

#include <stdio.h>

#include "dap_client.h"
#include "dap_client_pvt.h"
#include "dap_common.h"
#include "dap_config.h"
#include "dap_events_socket.h"
#include "dap_list.h"
#include "dap_stream.h"
#include "dap_stream_ch_proc.h"
#include "dap_stream_cluster.h"
#include "dap_worker.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- whole SDK ---- */
/* Waits for pending worker work (scripted events not yet due are dropped), then forgets the journal,
 * log, streams, config (g_config = NULL), scripts, misuse and unlocked-find counts and client counters
 * (ids restart at 1 when no client is alive), resumes a paused worker, and restores the
 * default channel processors. Clusters are freed by their owners; g_node_addr and the log level stay. */
DAP_SDK_API void sdk_reset(void);
DAP_SDK_API void sdk_set_node_addr(uint64_t addr); /* sets g_node_addr */
/* Blocks until the worker has no pending or due work (delayed events count as pending). No-op when
 * called from the worker itself. */
DAP_SDK_API void sdk_quiesce(void);
/* Holds the worker: once pause returns no event runs (one in progress has finished) until resume, so a
 * test can queue several events (or keep a deleted client from being freed) and release them at once.
 * sdk_quiesce while paused is a misuse and returns at once; sdk_reset resumes. */
DAP_SDK_API void sdk_worker_pause(void);
DAP_SDK_API void sdk_worker_resume(void);
/* Number of SDK misuses seen (client used after delete_mt, double delete, NULL arguments, closing a
 * stream on the wrong worker); each one is also printed to stderr. */
DAP_SDK_API size_t sdk_misuse_count(void);
/* Formats addr as "XXXX::XXXX::XXXX::XXXX" into out (SDK_ADDR_STRLEN bytes) and returns out. */
#define SDK_ADDR_STRLEN DAP_NODE_ADDR_STR_SIZE
DAP_SDK_API char *sdk_addr_str(uint64_t addr, char *out);

/* ---- config ---- */
/* Sets [section] key = value and makes g_config non-NULL; value NULL removes the key. */
DAP_SDK_API void sdk_config_set(const char *section, const char *key, const char *value);
DAP_SDK_API void sdk_config_clear(void); /* forgets every key, g_config = NULL */

/* ---- log ---- */
/* Counters match substr (NULL or "" = every line) against a line's text or its tag. The ring keeps the
 * last SDK_LOG_CAPACITY lines. Echo to stderr: env SDK_LOG_ECHO=1 or sdk_log_set_echo(true). */
#define SDK_LOG_CAPACITY 16384
DAP_SDK_API size_t sdk_log_count(const char *substr);
DAP_SDK_API size_t sdk_log_count_level(int min_level, const char *substr);
DAP_SDK_API size_t sdk_log_total(void); /* lines ever recorded since sdk_reset/sdk_log_clear */
DAP_SDK_API void sdk_log_clear(void);
DAP_SDK_API void sdk_log_set_echo(bool on);
DAP_SDK_API void sdk_log_dump(FILE *out);
/* Waits until sdk_log_count(substr) >= n; false on timeout. */
DAP_SDK_API bool sdk_log_wait(const char *substr, size_t n, unsigned timeout_ms);

/* ---- clusters ---- */
typedef void (*sdk_cluster_cb_t)(dap_cluster_member_t *member, void *arg);
/* A cluster named `name` (status DISABLED) whose add/delete callbacks get cb_arg. */
DAP_SDK_API dap_cluster_t *sdk_cluster_new(const char *name, sdk_cluster_cb_t add_cb, sdk_cluster_cb_t del_cb,
                                           void *cb_arg);
/* Deletes every member (delete callback under the write lock, as dap_cluster_delete_all_members), then
 * frees the cluster. NULL is a no-op. */
DAP_SDK_API void sdk_cluster_free(dap_cluster_t *cluster);
DAP_SDK_API const char *sdk_cluster_name(dap_cluster_t *cluster);
DAP_SDK_API dap_cluster_t *sdk_cluster_find(const char *name); /* newest live cluster of that name */
DAP_SDK_API bool sdk_cluster_has(dap_cluster_t *cluster, uint64_t addr);
DAP_SDK_API size_t sdk_cluster_size(dap_cluster_t *cluster);
/* Same semantics and callbacks as dap_cluster_member_add / _delete (role 0, info NULL), not journaled:
 * for tests playing the node's cluster code. */
DAP_SDK_API bool sdk_cluster_add_member(dap_cluster_t *cluster, uint64_t addr);
DAP_SDK_API bool sdk_cluster_remove_member(dap_cluster_t *cluster, uint64_t addr);
/* True when some thread holds the cluster's write lock (e.g. inside a delete callback). */
DAP_SDK_API bool sdk_cluster_write_locked(dap_cluster_t *cluster);
/* dap_cluster_member_find_unsafe calls made outside a delete callback of that cluster (since
 * sdk_reset). The SDK reads the member table there without any lock, racing other threads that add or
 * delete members; the stand-in takes the read lock (to stay sanitizer-clean) and counts the call. */
DAP_SDK_API size_t sdk_cluster_unlocked_finds(void);

/* ---- clients and the simulated network ---- */
DAP_SDK_API size_t sdk_clients_live(void);    /* created and not yet freed */
DAP_SDK_API size_t sdk_clients_created(void); /* since sdk_reset */
/* Newest live, not-deleted client whose uplink node address is addr, else NULL. */
DAP_SDK_API dap_client_t *sdk_client_find(uint64_t addr);
DAP_SDK_API uint64_t sdk_client_id(const dap_client_t *client); /* journal id; 0 for NULL/unknown */

typedef enum {
    SDK_NET_MANUAL = 0,
    SDK_NET_ACCEPT,
    SDK_NET_REFUSE,
    SDK_NET_SILENT,
    SDK_NET_DROP_AFTER
} sdk_net_behaviour_t;
/* Behaviour of go_stage(STREAMING) for clients whose uplink is host:port (replaces an earlier script). */
DAP_SDK_API void sdk_net_script(const char *host, uint16_t port, sdk_net_behaviour_t b, unsigned delay_ms,
                                bool last_attempt);
/* Behaviour for hosts without a script (initially and after sdk_reset: MANUAL). */
DAP_SDK_API void sdk_net_default(sdk_net_behaviour_t b, unsigned delay_ms, bool last_attempt);
/* Client of addr waiting in go_stage(> BEGIN): done callback on the worker (scripted events for it are
 * dropped); false if none waits. */
DAP_SDK_API bool sdk_client_complete_connect(uint64_t addr);
/* error(client, (void*)last_attempt) on the worker for the client of addr (scripted events for it are
 * dropped, its stream unregistered); false if no client. */
DAP_SDK_API bool sdk_client_fail(uint64_t addr, bool last_attempt);

/* ---- streams and channel processors ---- */
/* Registers a downlink stream (uuid) from addr on stand-in worker 0. */
DAP_SDK_API void sdk_stream_open(uint64_t addr, uint64_t uuid);
DAP_SDK_API bool sdk_stream_remove(uint64_t uuid);    /* the stream went away by itself (not journaled) */
DAP_SDK_API size_t sdk_streams_count(uint64_t addr);  /* uplink + downlink streams registered for addr */
DAP_SDK_API dap_worker_t *sdk_worker(unsigned index); /* stand-in worker 0 or 1 (NULL otherwise) */
/* Registered by default (and again by sdk_reset): 'R','C','G','E','N','D'. */
DAP_SDK_API void sdk_ch_proc_register(uint8_t id);
DAP_SDK_API void sdk_ch_proc_unregister(uint8_t id);

/* ---- journal ---- */
DAP_SDK_API size_t sdk_journal_len(void);
/* Line i (0-based) or NULL; the string stays valid until sdk_journal_clear / sdk_reset. */
DAP_SDK_API const char *sdk_journal_line(size_t i);
DAP_SDK_API size_t sdk_journal_count(const char *prefix); /* lines starting with prefix (NULL = all) */
DAP_SDK_API void sdk_journal_clear(void);
DAP_SDK_API void sdk_journal_dump(FILE *out);
/* Waits until sdk_journal_count(prefix) >= n; false on timeout. */
DAP_SDK_API bool sdk_journal_wait(const char *prefix, size_t n, unsigned timeout_ms);

#ifdef __cplusplus
}
#endif
#endif
