/* Stand-in DAP SDK: clusters (member sets) with add/delete callbacks. Layouts per ABI.md §3.
 *
 * Locking, as in the SDK: members live in a table guarded by the cluster's `members_lock`.
 * dap_cluster_member_add inserts under the write lock, releases it, then calls the add callback on the
 * caller's thread. dap_cluster_member_delete and dap_cluster_delete_all_members call the delete
 * callback for each removed member on the caller's thread WHILE HOLDING the write lock. */
#ifndef DAP_STREAM_CLUSTER_H
#define DAP_STREAM_CLUSTER_H

#include "dap_common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dap_guuid {
    uint64_t net_id;
    uint64_t srv_id;
} DAP_ALIGN_PACKED dap_guuid_t;

typedef enum dap_cluster_status {
    DAP_CLUSTER_STATUS_DISABLED = 0,
    DAP_CLUSTER_STATUS_ENABLED = 1
} dap_cluster_status_t;

typedef struct dap_cluster dap_cluster_t;

typedef struct dap_cluster_member {
    dap_stream_node_addr_t addr; /* 0 */
    int role;                    /* 8 */
    bool persistent;             /* 12 */
    void *info;                  /* 16 */
    dap_cluster_t *cluster;      /* 24: the cluster this member belongs to */
    UT_hash_handle hh;           /* 32 */
} dap_cluster_member_t;

typedef void (*dap_cluster_change_callback_t)(dap_cluster_member_t *member, void *arg);

struct dap_cluster {
    char *mnemonim;                                        /* 0: name */
    dap_guuid_t guuid;                                     /* 8 */
    int type;                                              /* 24 */
    dap_cluster_status_t status;                           /* 28: read/written directly by the link manager */
    dap_cluster_member_t *members;                         /* 32: first member in insertion order */
    pthread_rwlock_t members_lock;                         /* 40 */
    dap_cluster_change_callback_t members_add_callback;    /* 96 */
    dap_cluster_change_callback_t members_delete_callback; /* 104 */
    void *callbacks_arg;                                   /* 112 */
    void *_inheritor;                                      /* 120 */
    UT_hash_handle hh;                                     /* 128 */
    UT_hash_handle hh_str;                                 /* 184 */
};

DAP_STATIC_ASSERT(sizeof(dap_guuid_t) == 16 && DAP_ALIGNOF(dap_guuid_t) == 1, "guuid 16 bytes align 1");
DAP_STATIC_ASSERT(sizeof(dap_cluster_status_t) == 4, "status enum is int sized");
DAP_STATIC_ASSERT(offsetof(dap_cluster_t, guuid) == 8, "cluster guuid @8");
DAP_STATIC_ASSERT(offsetof(dap_cluster_t, type) == 24, "cluster type @24");
DAP_STATIC_ASSERT(offsetof(dap_cluster_t, status) == 28, "cluster status @28");
DAP_STATIC_ASSERT(offsetof(dap_cluster_member_t, role) == 8, "member role @8");
DAP_STATIC_ASSERT(offsetof(dap_cluster_member_t, persistent) == 12, "member persistent @12");
#ifdef DAP_SDK_LP64
DAP_STATIC_ASSERT(sizeof(dap_cluster_t) == 240, "dap_cluster_t is 240 bytes");
DAP_STATIC_ASSERT(sizeof(dap_cluster_member_t) == 88, "dap_cluster_member_t is 88 bytes");
DAP_STATIC_ASSERT(offsetof(dap_cluster_member_t, info) == 16, "member info @16");
DAP_STATIC_ASSERT(offsetof(dap_cluster_member_t, cluster) == 24, "member cluster @24");
#endif

/* New member (role, info) or NULL when NULL arguments or the address is already a member. */
DAP_SDK_API dap_cluster_member_t *dap_cluster_member_add(dap_cluster_t *cluster, dap_stream_node_addr_t *addr, int role,
                                                         void *info);
/* Takes the read lock unless the calling thread holds the write lock (e.g. from a delete callback).
 * The member may be freed as soon as the lock is released, as in the SDK. */
DAP_SDK_API dap_cluster_member_t *dap_cluster_member_find_unsafe(dap_cluster_t *cluster, dap_stream_node_addr_t *addr);
/* 0 deleted; -1 not a member; -2 NULL argument. */
DAP_SDK_API int dap_cluster_member_delete(dap_cluster_t *cluster, dap_stream_node_addr_t *addr);
DAP_SDK_API size_t dap_cluster_members_count(dap_cluster_t *cluster);
DAP_SDK_API void dap_cluster_delete_all_members(dap_cluster_t *cluster);
/* malloc'd array of the members' addresses in insertion order (role -1 = all), *count set; NULL and
 * *count = 0 when there are none. The caller free()s it. */
DAP_SDK_API dap_stream_node_addr_t *dap_cluster_get_all_members_addrs(dap_cluster_t *cluster, size_t *count, int role);

#ifdef __cplusplus
}
#endif
#endif
