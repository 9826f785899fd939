/* Stand-in DAP SDK: the private part of a client behind dap_client_t::_internal. The link manager
 * reads only `stream_es` @24 (then the socket's `uuid` @16). */
#ifndef DAP_CLIENT_PVT_H
#define DAP_CLIENT_PVT_H

#include "dap_client.h"
#include "dap_events_socket.h"
#include "dap_worker.h"

typedef struct dap_client_pvt {
    dap_client_t *client;           /* 0 */
    dap_worker_t *worker;           /* 8 */
    int stage;                      /* 16: dap_client_stage_t, current stage */
    int stage_status;               /* 20: unused by the stand-in */
    dap_events_socket_t *stream_es; /* 24 */
} dap_client_pvt_t;

#ifdef DAP_SDK_LP64
DAP_STATIC_ASSERT(offsetof(dap_client_pvt_t, stream_es) == 24, "client private stream_es @24");
#endif

#endif
