/* Stand-in SDK: clusters. Members are kept in insertion order (hh.prev/next) and hashed by address
 * (hh.chain) in a table owned by the cluster and guarded by its members_lock. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sdk_internal.h"

typedef struct sdk_cluster {
    dap_cluster_t pub; /* first: the library only sees this part */
    dap_cluster_member_t **buckets;
    size_t nbuckets, count;
    dap_cluster_member_t *tail;
    uintptr_t writer;             /* atomic: token of the thread holding the write lock, 0 if none */
    struct sdk_cluster *next_all; /* registry of live clusters, newest first */
} sdk_cluster_t;

static pthread_mutex_t s_registry_lock = PTHREAD_MUTEX_INITIALIZER;
static size_t s_unlocked_finds; /* atomic */
static sdk_cluster_t *s_clusters;
static _Thread_local char s_thread_token;

static uintptr_t self_token(void)
{
    return (uintptr_t)&s_thread_token;
}

static sdk_cluster_t *cl(dap_cluster_t *cluster)
{
    return (sdk_cluster_t *)cluster;
}

static void write_lock(sdk_cluster_t *c)
{
    pthread_rwlock_wrlock(&c->pub.members_lock);
    __atomic_store_n(&c->writer, self_token(), __ATOMIC_RELAXED);
}

static void write_unlock(sdk_cluster_t *c)
{
    __atomic_store_n(&c->writer, 0, __ATOMIC_RELAXED);
    pthread_rwlock_unlock(&c->pub.members_lock);
}

/* Read lock, unless this thread already holds the write lock (a callback asking about its cluster).
 * Returns whether a lock was taken. */
static bool read_lock(sdk_cluster_t *c)
{
    if (__atomic_load_n(&c->writer, __ATOMIC_RELAXED) == self_token())
        return false;
    pthread_rwlock_rdlock(&c->pub.members_lock);
    return true;
}

static void read_unlock(sdk_cluster_t *c, bool locked)
{
    if (locked)
        pthread_rwlock_unlock(&c->pub.members_lock);
}

static size_t bucket_of(const sdk_cluster_t *c, uint64_t addr)
{
    return (size_t)((addr * UINT64_C(0x9E3779B97F4A7C15)) >> 32) & (c->nbuckets - 1);
}

static dap_cluster_member_t *find_locked(const sdk_cluster_t *c, uint64_t addr)
{
    if (!c->nbuckets)
        return NULL;
    for (dap_cluster_member_t *m = c->buckets[bucket_of(c, addr)]; m; m = m->hh.chain)
        if (m->addr.uint64 == addr)
            return m;
    return NULL;
}

static void rehash_locked(sdk_cluster_t *c, size_t nbuckets)
{
    dap_cluster_member_t **buckets = calloc(nbuckets, sizeof(*buckets));
    if (!buckets)
        abort();
    free(c->buckets);
    c->buckets = buckets;
    c->nbuckets = nbuckets;
    for (dap_cluster_member_t *m = c->pub.members; m; m = m->hh.next) {
        size_t b = bucket_of(c, m->addr.uint64);
        m->hh.chain = c->buckets[b];
        c->buckets[b] = m;
    }
}

static void insert_locked(sdk_cluster_t *c, dap_cluster_member_t *m)
{
    m->hh.prev = c->tail;
    m->hh.next = NULL;
    if (c->tail)
        ((dap_cluster_member_t *)c->tail)->hh.next = m;
    else
        c->pub.members = m;
    c->tail = m;
    c->count++;
    if (c->count > c->nbuckets) {
        rehash_locked(c, c->nbuckets ? c->nbuckets * 2 : 16);
    } else {
        size_t b = bucket_of(c, m->addr.uint64);
        m->hh.chain = c->buckets[b];
        c->buckets[b] = m;
    }
}

static void unlink_locked(sdk_cluster_t *c, dap_cluster_member_t *m)
{
    size_t b = bucket_of(c, m->addr.uint64);
    if (c->buckets[b] == m) {
        c->buckets[b] = m->hh.chain;
    } else {
        dap_cluster_member_t *p = c->buckets[b];
        while (p->hh.chain != m)
            p = p->hh.chain;
        p->hh.chain = m->hh.chain;
    }
    dap_cluster_member_t *prev = m->hh.prev, *next = m->hh.next;
    if (prev)
        prev->hh.next = next;
    else
        c->pub.members = next;
    if (next)
        next->hh.prev = prev;
    else
        c->tail = prev;
    c->count--;
}

/* ---- shared implementations (journal-free) ---- */

static dap_cluster_member_t *member_add(sdk_cluster_t *c, uint64_t addr, int role, void *info, bool journal)
{
    dap_cluster_member_t *m = calloc(1, sizeof(*m));
    if (!m)
        abort();
    m->addr.uint64 = addr;
    m->role = role;
    m->info = info;
    m->cluster = &c->pub;
    write_lock(c);
    bool exists = find_locked(c, addr) != NULL;
    if (!exists)
        insert_locked(c, m);
    dap_cluster_change_callback_t add_cb = c->pub.members_add_callback;
    void *arg = c->pub.callbacks_arg;
    dap_cluster_member_t snap = *m; /* taken under the lock: see the add callback below */
    write_unlock(c);
    if (journal) {
        char a[SDK_ADDR_STRLEN];
        sdk__journal("cluster_add %s %s%s", sdk__str_or_dash(c->pub.mnemonim), sdk_addr_str(addr, a),
                     exists ? " exists" : "");
    }
    if (exists) {
        free(m);
        return NULL;
    }
    if (add_cb) {
        /* After the lock is released, as in the SDK. The SDK hands the live member, which another
         * thread may delete (and free) in that window: a race of the SDK's own design that no consumer
         * can close. The stand-in hands a snapshot of the member instead, so sanitizer runs report the
         * library's races, not that one. */
        add_cb(&snap, arg);
    }
    return m;
}

static int member_delete(sdk_cluster_t *c, uint64_t addr, bool journal)
{
    write_lock(c);
    dap_cluster_member_t *m = find_locked(c, addr);
    if (journal) {
        char a[SDK_ADDR_STRLEN];
        sdk__journal("cluster_delete %s %s%s", sdk__str_or_dash(c->pub.mnemonim), sdk_addr_str(addr, a),
                     m ? "" : " absent");
    }
    if (!m) {
        write_unlock(c);
        return -1;
    }
    unlink_locked(c, m);
    if (c->pub.members_delete_callback) /* with the write lock held, as in the SDK */
        c->pub.members_delete_callback(m, c->pub.callbacks_arg);
    free(m);
    write_unlock(c);
    return 0;
}

static void delete_all(sdk_cluster_t *c)
{
    write_lock(c);
    while (c->pub.members) {
        dap_cluster_member_t *m = c->pub.members;
        unlink_locked(c, m);
        if (c->pub.members_delete_callback)
            c->pub.members_delete_callback(m, c->pub.callbacks_arg);
        free(m);
    }
    write_unlock(c);
}

/* ---- SDK API ---- */

dap_cluster_member_t *dap_cluster_member_add(dap_cluster_t *cluster, dap_stream_node_addr_t *addr, int role, void *info)
{
    if (!cluster || !addr) {
        sdk__misuse("dap_cluster_member_add: NULL cluster or address");
        return NULL;
    }
    return member_add(cl(cluster), addr->uint64, role, info, true);
}

dap_cluster_member_t *dap_cluster_member_find_unsafe(dap_cluster_t *cluster, dap_stream_node_addr_t *addr)
{
    if (!cluster || !addr) {
        sdk__misuse("dap_cluster_member_find_unsafe: NULL cluster or address");
        return NULL;
    }
    sdk_cluster_t *c = cl(cluster);
    bool locked = read_lock(c);
    if (locked) /* the SDK would have read the table with no lock at all */
        __atomic_add_fetch(&s_unlocked_finds, 1, __ATOMIC_RELAXED);
    dap_cluster_member_t *m = find_locked(c, addr->uint64);
    read_unlock(c, locked);
    return m;
}

size_t sdk_cluster_unlocked_finds(void)
{
    return __atomic_load_n(&s_unlocked_finds, __ATOMIC_RELAXED);
}

void sdk__cluster_reset(void)
{
    __atomic_store_n(&s_unlocked_finds, 0, __ATOMIC_RELAXED);
}

int dap_cluster_member_delete(dap_cluster_t *cluster, dap_stream_node_addr_t *addr)
{
    if (!cluster || !addr) {
        sdk__misuse("dap_cluster_member_delete: NULL cluster or address");
        return -2;
    }
    return member_delete(cl(cluster), addr->uint64, true);
}

size_t dap_cluster_members_count(dap_cluster_t *cluster)
{
    if (!cluster) {
        sdk__misuse("dap_cluster_members_count(NULL)");
        return 0;
    }
    sdk_cluster_t *c = cl(cluster);
    bool locked = read_lock(c);
    size_t n = c->count;
    read_unlock(c, locked);
    return n;
}

void dap_cluster_delete_all_members(dap_cluster_t *cluster)
{
    if (!cluster) {
        sdk__misuse("dap_cluster_delete_all_members(NULL)");
        return;
    }
    sdk__journal("cluster_delete_all %s", sdk__str_or_dash(cluster->mnemonim));
    delete_all(cl(cluster));
}

dap_stream_node_addr_t *dap_cluster_get_all_members_addrs(dap_cluster_t *cluster, size_t *count, int role)
{
    if (!cluster) {
        sdk__misuse("dap_cluster_get_all_members_addrs(NULL)");
        if (count)
            *count = 0;
        return NULL;
    }
    sdk_cluster_t *c = cl(cluster);
    bool locked = read_lock(c);
    size_t n = 0;
    for (dap_cluster_member_t *m = c->pub.members; m; m = m->hh.next)
        n += role == -1 || m->role == role;
    dap_stream_node_addr_t *out = NULL;
    if (n) {
        out = malloc(n * sizeof(*out));
        if (!out)
            abort();
        size_t i = 0;
        for (dap_cluster_member_t *m = c->pub.members; m; m = m->hh.next)
            if (role == -1 || m->role == role)
                out[i++] = m->addr;
    }
    read_unlock(c, locked);
    if (count)
        *count = n;
    return out;
}

/* ---- test control ---- */

dap_cluster_t *sdk_cluster_new(const char *name, sdk_cluster_cb_t add_cb, sdk_cluster_cb_t del_cb, void *cb_arg)
{
    sdk_cluster_t *c = calloc(1, sizeof(*c));
    if (!c || !(c->pub.mnemonim = strdup(name ? name : "")))
        abort();
    c->pub.status = DAP_CLUSTER_STATUS_DISABLED;
    c->pub.members_add_callback = add_cb;
    c->pub.members_delete_callback = del_cb;
    c->pub.callbacks_arg = cb_arg;
    pthread_rwlock_init(&c->pub.members_lock, NULL);
    pthread_mutex_lock(&s_registry_lock);
    c->next_all = s_clusters;
    s_clusters = c;
    pthread_mutex_unlock(&s_registry_lock);
    return &c->pub;
}

void sdk_cluster_free(dap_cluster_t *cluster)
{
    if (!cluster)
        return;
    sdk_cluster_t *c = cl(cluster);
    pthread_mutex_lock(&s_registry_lock);
    for (sdk_cluster_t **link = &s_clusters; *link; link = &(*link)->next_all)
        if (*link == c) {
            *link = c->next_all;
            break;
        }
    pthread_mutex_unlock(&s_registry_lock);
    delete_all(c);
    pthread_rwlock_destroy(&c->pub.members_lock);
    free(c->buckets);
    free(c->pub.mnemonim);
    free(c);
}

const char *sdk_cluster_name(dap_cluster_t *cluster)
{
    return cluster ? cluster->mnemonim : NULL;
}

dap_cluster_t *sdk_cluster_find(const char *name)
{
    pthread_mutex_lock(&s_registry_lock);
    sdk_cluster_t *c = s_clusters;
    while (c && name && strcmp(c->pub.mnemonim, name) != 0)
        c = c->next_all;
    pthread_mutex_unlock(&s_registry_lock);
    return c && name ? &c->pub : NULL;
}

bool sdk_cluster_has(dap_cluster_t *cluster, uint64_t addr)
{
    if (!cluster)
        return false;
    sdk_cluster_t *c = cl(cluster);
    bool locked = read_lock(c);
    bool has = find_locked(c, addr) != NULL;
    read_unlock(c, locked);
    return has;
}

size_t sdk_cluster_size(dap_cluster_t *cluster)
{
    return cluster ? dap_cluster_members_count(cluster) : 0;
}

bool sdk_cluster_add_member(dap_cluster_t *cluster, uint64_t addr)
{
    return cluster && member_add(cl(cluster), addr, 0, NULL, false) != NULL;
}

bool sdk_cluster_remove_member(dap_cluster_t *cluster, uint64_t addr)
{
    return cluster && member_delete(cl(cluster), addr, false) == 0;
}

bool sdk_cluster_write_locked(dap_cluster_t *cluster)
{
    if (!cluster)
        return false;
    if (__atomic_load_n(&cl(cluster)->writer, __ATOMIC_RELAXED) == self_token())
        return true;
    if (pthread_rwlock_tryrdlock(&cluster->members_lock) != 0)
        return true;
    pthread_rwlock_unlock(&cluster->members_lock);
    return false;
}
