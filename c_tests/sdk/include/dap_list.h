/* Stand-in DAP SDK: the doubly linked list node (utlist style: head->prev is the tail, tail->next is
 * NULL). Nodes are calloc'd and freed with free(). */
#ifndef DAP_LIST_H
#define DAP_LIST_H

#include "dap_common.h"

typedef struct dap_list {
    void *data;
    struct dap_list *next;
    struct dap_list *prev;
} dap_list_t;

#ifdef DAP_SDK_LP64
DAP_STATIC_ASSERT(sizeof(dap_list_t) == 24, "dap_list_t is 24 bytes");
DAP_STATIC_ASSERT(offsetof(dap_list_t, next) == 8 && offsetof(dap_list_t, prev) == 16, "dap_list_t layout");
#endif

#endif
