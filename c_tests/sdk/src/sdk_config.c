/* Stand-in SDK: a [section] key = value table behind g_config. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sdk_internal.h"

struct dap_config {
    int unused;
};

typedef struct config_item {
    struct config_item *next;
    char *section, *key, *value;
} config_item_t;

dap_config_t *g_config;

static struct dap_config s_config;
static pthread_mutex_t s_config_lock = PTHREAD_MUTEX_INITIALIZER;
static config_item_t *s_items;
/* Values replaced or removed while the library may still hold the pointer a getter returned:
 * kept until sdk_reset / exit. */
static config_item_t *s_graveyard;

static void bury_locked(config_item_t *item)
{
    item->next = s_graveyard;
    s_graveyard = item;
}

static config_item_t *find_locked(const char *section, const char *key, config_item_t ***link_out)
{
    config_item_t **link = &s_items;
    for (; *link; link = &(*link)->next)
        if (strcmp((*link)->section, section) == 0 && strcmp((*link)->key, key) == 0) {
            if (link_out)
                *link_out = link;
            return *link;
        }
    return NULL;
}

void sdk_config_set(const char *section, const char *key, const char *value)
{
    if (!section || !key) {
        sdk__misuse("sdk_config_set(%s, %s): NULL section or key", sdk__str_or_dash(section), sdk__str_or_dash(key));
        return;
    }
    pthread_mutex_lock(&s_config_lock);
    config_item_t **link = NULL;
    config_item_t *old = find_locked(section, key, &link);
    if (old) {
        *link = old->next;
        bury_locked(old);
    }
    if (value) {
        config_item_t *item = calloc(1, sizeof(*item));
        if (!item || !(item->section = strdup(section)) || !(item->key = strdup(key)) || !(item->value = strdup(value)))
            abort();
        item->next = s_items;
        s_items = item;
    }
    __atomic_store_n(&g_config, &s_config, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&s_config_lock);
}

void sdk_config_clear(void)
{
    pthread_mutex_lock(&s_config_lock);
    __atomic_store_n(&g_config, NULL, __ATOMIC_RELEASE);
    while (s_items) {
        config_item_t *item = s_items;
        s_items = item->next;
        bury_locked(item);
    }
    pthread_mutex_unlock(&s_config_lock);
}

static void free_list(config_item_t *item)
{
    while (item) {
        config_item_t *next = item->next;
        free(item->section);
        free(item->key);
        free(item->value);
        free(item);
        item = next;
    }
}

void sdk__config_free_all(void)
{
    pthread_mutex_lock(&s_config_lock);
    free_list(s_items);
    free_list(s_graveyard);
    s_items = s_graveyard = NULL;
    __atomic_store_n(&g_config, NULL, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&s_config_lock);
}

/* The stored value, or NULL. The string lives until sdk_reset / exit. */
static const char *lookup(dap_config_t *config, const char *section, const char *key)
{
    if (!config || !section || !key)
        return NULL;
    pthread_mutex_lock(&s_config_lock);
    config_item_t *item = find_locked(section, key, NULL);
    const char *value = item ? item->value : NULL;
    pthread_mutex_unlock(&s_config_lock);
    return value;
}

uint64_t _dap_config_get_item_uint(dap_config_t *config, const char *section, const char *key, uint64_t dflt)
{
    const char *v = lookup(config, section, key);
    if (!v || !*v || strchr(v, '-'))
        return dflt;
    char *end = NULL;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 0);
    return errno || *end ? dflt : (uint64_t)n;
}

int64_t _dap_config_get_item_int(dap_config_t *config, const char *section, const char *key, int64_t dflt)
{
    const char *v = lookup(config, section, key);
    if (!v || !*v)
        return dflt;
    char *end = NULL;
    errno = 0;
    long long n = strtoll(v, &end, 0);
    return errno || *end ? dflt : (int64_t)n;
}

bool dap_config_get_item_bool_default(dap_config_t *config, const char *section, const char *key, bool dflt)
{
    const char *v = lookup(config, section, key);
    if (!v)
        return dflt;
    if (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0)
        return true;
    if (strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0)
        return false;
    return dflt;
}

const char *dap_config_get_item_str_default(dap_config_t *config, const char *section, const char *key,
                                            const char *dflt)
{
    const char *v = lookup(config, section, key);
    return v ? v : dflt;
}
