/* Stand-in DAP SDK: a worker is opaque to the link manager (it only passes the pointer back). */
#ifndef DAP_WORKER_H
#define DAP_WORKER_H

#include "dap_common.h"

typedef struct dap_worker {
    uint32_t id;   /* index of the stand-in worker */
    void *context; /* unused by the stand-in */
} dap_worker_t;

#endif
