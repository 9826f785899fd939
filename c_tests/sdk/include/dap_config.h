/* Stand-in DAP SDK: configuration lookups. `g_config` is NULL until a test sets a key. */
#ifndef DAP_CONFIG_H
#define DAP_CONFIG_H

#include "dap_common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dap_config dap_config_t;

DAP_SDK_API extern dap_config_t *g_config;

/* Getters return `dflt` when `config` is NULL, the key is missing or its value does not parse.
 * Integers: the whole value must parse (strtoull/strtoll, base 0; a '-' sign is rejected by the
 * unsigned getter). Booleans: true/false/1/0, case-insensitive. Strings stay valid until sdk_reset. */
DAP_SDK_API uint64_t _dap_config_get_item_uint(dap_config_t *config, const char *section, const char *key,
                                               uint64_t dflt);
DAP_SDK_API int64_t _dap_config_get_item_int(dap_config_t *config, const char *section, const char *key, int64_t dflt);
DAP_SDK_API bool dap_config_get_item_bool_default(dap_config_t *config, const char *section, const char *key,
                                                  bool dflt);
DAP_SDK_API const char *dap_config_get_item_str_default(dap_config_t *config, const char *section, const char *key,
                                                        const char *dflt);

#ifdef __cplusplus
}
#endif
#endif
