/* Stand-in DAP SDK: this node's address and the registry of open streams by remote address. */
#ifndef DAP_STREAM_H
#define DAP_STREAM_H

#include "dap_common.h"
#include "dap_events_socket.h"
#include "dap_list.h"

#ifdef __cplusplus
extern "C" {
#endif

/* This node's own address (sdk_set_node_addr). */
DAP_SDK_API extern dap_stream_node_addr_t g_node_addr;

/* Every open stream (uplink and downlink) to *addr: a calloc'd list of malloc'd
 * dap_events_socket_uuid_ctrl_t, or NULL. The caller frees data and nodes with free(). */
DAP_SDK_API dap_list_t *dap_stream_find_all_by_addr(dap_stream_node_addr_t *addr);

#ifdef __cplusplus
}
#endif
#endif
