/* Stand-in DAP SDK: events sockets. The link manager reads only `uuid` @16 (through a client's
 * private `stream_es`) and closes sockets by (worker, uuid). */
#ifndef DAP_EVENTS_SOCKET_H
#define DAP_EVENTS_SOCKET_H

#include "dap_common.h"
#include "dap_worker.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef uint64_t dap_events_socket_uuid_t;

typedef struct dap_events_socket {
    int socket;                    /* 0: never a real descriptor in the stand-in (-1) */
    uint32_t flags;                /* 4 */
    dap_worker_t *worker;          /* 8 */
    dap_events_socket_uuid_t uuid; /* 16 */
    void *_inheritor;              /* 24 */
} dap_events_socket_t;

typedef struct dap_events_socket_uuid_ctrl {
    dap_events_socket_uuid_t uuid; /* 0 */
    dap_worker_t *worker;          /* 8 */
} dap_events_socket_uuid_ctrl_t;

DAP_STATIC_ASSERT(offsetof(dap_events_socket_t, uuid) == 16, "events socket uuid @16");
#ifdef DAP_SDK_LP64
DAP_STATIC_ASSERT(sizeof(dap_events_socket_uuid_ctrl_t) == 16, "dap_events_socket_uuid_ctrl_t is 16 bytes");
DAP_STATIC_ASSERT(offsetof(dap_events_socket_uuid_ctrl_t, worker) == 8, "uuid_ctrl worker @8");
#endif

/* Closes the stream socket `uuid` living on `worker` (asynchronous in the SDK; recorded at once here). */
DAP_SDK_API void dap_events_socket_remove_and_delete_mt(dap_worker_t *worker, dap_events_socket_uuid_t uuid);

#ifdef __cplusplus
}
#endif
#endif
