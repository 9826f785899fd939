/* Stand-in DAP SDK: the uplink client. Layout per shared/spec/ABI.md §3 (336 bytes); the fields the
 * link manager never touches are reserved padding. */
#ifndef DAP_CLIENT_H
#define DAP_CLIENT_H

#include "dap_common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dap_client_stage {
    STAGE_UNDEFINED = -1,
    STAGE_BEGIN = 0,
    STAGE_ENC_INIT = 1,
    STAGE_STREAM_CTL = 2,
    STAGE_STREAM_SESSION = 3,
    STAGE_STREAM_CONNECTED = 4,
    STAGE_STREAM_STREAMING = 5
} dap_client_stage_t;

typedef struct dap_client dap_client_t;
/* Done and error callbacks. Done gets the arg given to dap_client_new; error gets a bool in the
 * pointer value (non-zero = disconnected, last attempt). */
typedef void (*dap_client_callback_t)(dap_client_t *client, void *arg);

#define DAP_HOSTADDR_STRLEN 256

typedef struct dap_client_link_info {
    dap_stream_node_addr_t node_addr;      /* +0 */
    char uplink_addr[DAP_HOSTADDR_STRLEN]; /* +8 */
    uint16_t uplink_port;                  /* +264 */
} DAP_ALIGN_PACKED dap_client_link_info_t;

struct dap_client {
    char *active_channels;            /* 0 */
    dap_client_link_info_t link_info; /* 8, 266 bytes */
    uint8_t _reserved_274[14];
    bool always_reconnect; /* 288 */
    bool _reserved_289;
    bool del_arg;     /* 290: free() the arg given to dap_client_new on deletion */
    int stage_target; /* 292: dap_client_stage_t */
    uint8_t _reserved_296[24];
    void *_internal;  /* 320: dap_client_pvt_t (dap_client_pvt.h) */
    void *_inheritor; /* 328: owned by the user of the client */
};

DAP_STATIC_ASSERT(sizeof(dap_client_stage_t) == 4, "stage enum is int sized");
DAP_STATIC_ASSERT(sizeof(dap_client_link_info_t) == 266, "link_info is packed, 266 bytes");
#ifdef DAP_SDK_LP64
DAP_STATIC_ASSERT(sizeof(dap_client_t) == 336, "dap_client_t is 336 bytes");
DAP_STATIC_ASSERT(offsetof(dap_client_t, active_channels) == 0, "active_channels @0");
DAP_STATIC_ASSERT(offsetof(dap_client_t, link_info) == 8, "link_info @8");
DAP_STATIC_ASSERT(offsetof(dap_client_t, link_info.node_addr) == 8, "link_info.node_addr @8");
DAP_STATIC_ASSERT(offsetof(dap_client_t, link_info.uplink_addr) == 16, "link_info.uplink_addr @16");
DAP_STATIC_ASSERT(offsetof(dap_client_t, link_info.uplink_port) == 272, "link_info.uplink_port @272");
DAP_STATIC_ASSERT(offsetof(dap_client_t, always_reconnect) == 288, "always_reconnect @288");
DAP_STATIC_ASSERT(offsetof(dap_client_t, del_arg) == 290, "del_arg @290");
DAP_STATIC_ASSERT(offsetof(dap_client_t, stage_target) == 292, "stage_target @292");
DAP_STATIC_ASSERT(offsetof(dap_client_t, _internal) == 320, "_internal @320");
DAP_STATIC_ASSERT(offsetof(dap_client_t, _inheritor) == 328, "_inheritor @328");
#endif

/* A zeroed client at stage BEGIN with its private part and stream socket (fresh uuid). */
DAP_SDK_API dap_client_t *dap_client_new(dap_client_callback_t error_cb, void *arg);
/* Asynchronous: results arrive on the SDK worker thread (see sdk_standin.h for the simulated network). */
DAP_SDK_API void dap_client_go_stage(dap_client_t *client, int stage, dap_client_callback_t done_cb);
DAP_SDK_API int dap_client_get_stage(dap_client_t *client);
/* Asynchronous: freed later on the worker, after completions already queued for it. */
DAP_SDK_API void dap_client_delete_mt(dap_client_t *client);
DAP_SDK_API void dap_client_set_uplink_unsafe(dap_client_t *client, dap_stream_node_addr_t *node_addr, const char *host,
                                              uint16_t port);
DAP_SDK_API void dap_client_set_is_always_reconnect(dap_client_t *client, bool on);
DAP_SDK_API void dap_client_set_active_channels_unsafe(dap_client_t *client, const char *channels);

#ifdef __cplusplus
}
#endif
#endif
