/* Stand-in DAP SDK: stream channel processors, found by their one-letter id. */
#ifndef DAP_STREAM_CH_PROC_H
#define DAP_STREAM_CH_PROC_H

#include "dap_common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dap_stream_ch_proc {
    uint8_t id;         /* 0 */
    void *callbacks[6]; /* never called by the link manager */
    void *_inheritor;
} dap_stream_ch_proc_t;

DAP_STATIC_ASSERT(offsetof(dap_stream_ch_proc_t, id) == 0, "ch proc id @0");

/* The processor registered for `id`, or NULL. The pointer stays valid for the process lifetime. */
DAP_SDK_API dap_stream_ch_proc_t *dap_stream_ch_proc_find(uint8_t id);

#ifdef __cplusplus
}
#endif
#endif
