/* Stand-in SDK: this node's address, the registry of open streams, channel processors. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "sdk_internal.h"

dap_stream_node_addr_t g_node_addr;

static dap_worker_t s_workers[2] = {{.id = 0, .context = NULL}, {.id = 1, .context = NULL}};

dap_worker_t *sdk_worker(unsigned index)
{
    return index < sizeof(s_workers) / sizeof(s_workers[0]) ? &s_workers[index] : NULL;
}

/* ---- stream registry ---- */

typedef struct stream_entry {
    uint64_t addr, uuid;
    dap_worker_t *worker;
    uint64_t client_id; /* uplink: the client's journal id; 0 for a downlink */
} stream_entry_t;

static pthread_mutex_t s_stream_lock = PTHREAD_MUTEX_INITIALIZER;
static stream_entry_t *s_streams;
static size_t s_streams_len, s_streams_cap;

static void add_locked(stream_entry_t e)
{
    if (s_streams_len == s_streams_cap) {
        size_t cap = s_streams_cap ? s_streams_cap * 2 : 64;
        stream_entry_t *grown = realloc(s_streams, cap * sizeof(*grown));
        if (!grown)
            abort();
        s_streams = grown;
        s_streams_cap = cap;
    }
    s_streams[s_streams_len++] = e;
}

static void remove_at_locked(size_t i)
{
    s_streams[i] = s_streams[--s_streams_len]; /* order is not observable */
}

static ptrdiff_t find_uuid_locked(uint64_t uuid)
{
    for (size_t i = 0; i < s_streams_len; i++)
        if (s_streams[i].uuid == uuid)
            return (ptrdiff_t)i;
    return -1;
}

void sdk_stream_open(uint64_t addr, uint64_t uuid)
{
    pthread_mutex_lock(&s_stream_lock);
    if (find_uuid_locked(uuid) >= 0)
        sdk__misuse("sdk_stream_open: stream uuid %" PRIu64 " already open", uuid);
    else
        add_locked((stream_entry_t){addr, uuid, &s_workers[0], 0});
    pthread_mutex_unlock(&s_stream_lock);
}

bool sdk_stream_remove(uint64_t uuid)
{
    pthread_mutex_lock(&s_stream_lock);
    ptrdiff_t i = find_uuid_locked(uuid);
    if (i >= 0)
        remove_at_locked((size_t)i);
    pthread_mutex_unlock(&s_stream_lock);
    return i >= 0;
}

size_t sdk_streams_count(uint64_t addr)
{
    size_t n = 0;
    pthread_mutex_lock(&s_stream_lock);
    for (size_t i = 0; i < s_streams_len; i++)
        n += s_streams[i].addr == addr;
    pthread_mutex_unlock(&s_stream_lock);
    return n;
}

void sdk__stream_register_uplink(uint64_t addr, uint64_t uuid, dap_worker_t *worker, uint64_t client_id)
{
    pthread_mutex_lock(&s_stream_lock);
    for (size_t i = 0; i < s_streams_len; i++)
        if (s_streams[i].client_id == client_id) { /* reconnected: one stream per client */
            remove_at_locked(i);
            break;
        }
    add_locked((stream_entry_t){addr, uuid, worker, client_id});
    pthread_mutex_unlock(&s_stream_lock);
}

void sdk__stream_unregister_uplink(uint64_t client_id)
{
    pthread_mutex_lock(&s_stream_lock);
    for (size_t i = 0; i < s_streams_len; i++)
        if (s_streams[i].client_id == client_id) {
            remove_at_locked(i);
            break;
        }
    pthread_mutex_unlock(&s_stream_lock);
}

void sdk__streams_reset(void)
{
    pthread_mutex_lock(&s_stream_lock);
    free(s_streams);
    s_streams = NULL;
    s_streams_len = s_streams_cap = 0;
    pthread_mutex_unlock(&s_stream_lock);
}

dap_list_t *dap_stream_find_all_by_addr(dap_stream_node_addr_t *addr)
{
    if (!addr) {
        sdk__misuse("dap_stream_find_all_by_addr(NULL)");
        return NULL;
    }
    uint64_t a = addr->uint64;
    dap_list_t *head = NULL;
    pthread_mutex_lock(&s_stream_lock);
    for (size_t i = 0; i < s_streams_len; i++) {
        if (s_streams[i].addr != a)
            continue;
        dap_list_t *node = calloc(1, sizeof(*node));
        dap_events_socket_uuid_ctrl_t *ctrl = malloc(sizeof(*ctrl));
        if (!node || !ctrl)
            abort();
        ctrl->uuid = s_streams[i].uuid;
        ctrl->worker = s_streams[i].worker;
        node->data = ctrl;
        if (!head) {
            head = node;
            node->prev = node; /* head->prev is the tail */
        } else {
            dap_list_t *tail = head->prev;
            tail->next = node;
            node->prev = tail;
            head->prev = node;
        }
    }
    pthread_mutex_unlock(&s_stream_lock);
    return head;
}

void dap_events_socket_remove_and_delete_mt(dap_worker_t *worker, dap_events_socket_uuid_t uuid)
{
    char addr_str[SDK_ADDR_STRLEN];
    pthread_mutex_lock(&s_stream_lock);
    ptrdiff_t i = find_uuid_locked(uuid);
    if (i < 0) {
        pthread_mutex_unlock(&s_stream_lock);
        sdk__journal("stream_close - %" PRIu64 " unknown", uuid);
        return;
    }
    stream_entry_t e = s_streams[i];
    if (worker != e.worker) {
        /* The SDK looks the uuid up in that worker's context only: nothing is closed. */
        pthread_mutex_unlock(&s_stream_lock);
        sdk__journal("stream_close - %" PRIu64 " unknown", uuid);
        sdk__misuse("dap_events_socket_remove_and_delete_mt: stream %" PRIu64 " lives on worker %u, not %s", uuid,
                    e.worker->id, worker ? "the one given" : "NULL");
        return;
    }
    remove_at_locked((size_t)i);
    pthread_mutex_unlock(&s_stream_lock);
    sdk__journal("stream_close %s %" PRIu64 "%s", sdk_addr_str(e.addr, addr_str), uuid, e.client_id ? " uplink" : "");
}

/* ---- channel processors ---- */

static dap_stream_ch_proc_t s_procs[256];
static bool s_proc_registered[256]; /* atomic */
static const char s_default_procs[] = "RCGEND";
static pthread_once_t s_proc_once = PTHREAD_ONCE_INIT;

static void register_defaults(void)
{
    for (unsigned i = 0; i < 256; i++)
        __atomic_store_n(&s_proc_registered[i], false, __ATOMIC_RELEASE);
    for (const char *c = s_default_procs; *c; c++)
        __atomic_store_n(&s_proc_registered[(uint8_t)*c], true, __ATOMIC_RELEASE);
}

static void proc_defaults(void)
{
    for (unsigned i = 0; i < 256; i++)
        s_procs[i].id = (uint8_t)i;
    register_defaults();
}

void sdk__ch_proc_reset(void)
{
    pthread_once(&s_proc_once, proc_defaults);
    register_defaults();
}

void sdk_ch_proc_register(uint8_t id)
{
    pthread_once(&s_proc_once, proc_defaults);
    __atomic_store_n(&s_proc_registered[id], true, __ATOMIC_RELEASE);
}

void sdk_ch_proc_unregister(uint8_t id)
{
    pthread_once(&s_proc_once, proc_defaults);
    __atomic_store_n(&s_proc_registered[id], false, __ATOMIC_RELEASE);
}

dap_stream_ch_proc_t *dap_stream_ch_proc_find(uint8_t id)
{
    pthread_once(&s_proc_once, proc_defaults);
    return __atomic_load_n(&s_proc_registered[id], __ATOMIC_ACQUIRE) ? &s_procs[id] : NULL;
}
