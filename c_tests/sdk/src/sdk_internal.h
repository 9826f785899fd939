/* Shared internals of the stand-in SDK (not installed, not exported). */
#ifndef SDK_INTERNAL_H
#define SDK_INTERNAL_H

#include <inttypes.h>
#include <stdarg.h>

#include "sdk_standin.h"

#define SDK_HIDDEN       __attribute__((visibility("hidden")))
#define SDK_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* Monotonic clock in nanoseconds. */
SDK_HIDDEN uint64_t sdk__now_ns(void);
/* Absolute CLOCK_MONOTONIC deadline ms from now, for pthread_cond_timedwait on sdk__cond_init conds. */
SDK_HIDDEN struct timespec sdk__deadline(unsigned ms);
SDK_HIDDEN void sdk__cond_init(pthread_cond_t *cond);

/* Records a misuse of the SDK API (counted, printed to stderr). */
SDK_HIDDEN void sdk__misuse(const char *fmt, ...) SDK_PRINTF(1, 2);
SDK_HIDDEN void sdk__misuse_reset(void);

/* Appends one journal line. */
SDK_HIDDEN void sdk__journal(const char *fmt, ...) SDK_PRINTF(1, 2);
SDK_HIDDEN void sdk__journal_free_all(void);

SDK_HIDDEN void sdk__log_free_all(void);
SDK_HIDDEN void sdk__config_free_all(void);

/* Clients, worker and streams (sdk_client.c, sdk_stream.c). */
SDK_HIDDEN void sdk__clients_reset(void);    /* drains the worker; forgets scripts and counters */
SDK_HIDDEN void sdk__clients_shutdown(void); /* at exit: stops the worker, frees deleted clients */
SDK_HIDDEN void sdk__streams_reset(void);
SDK_HIDDEN void sdk__ch_proc_reset(void);
SDK_HIDDEN void sdk__cluster_reset(void);
/* Stream registry, called with no stand-in lock held. */
SDK_HIDDEN void sdk__stream_register_uplink(uint64_t addr, uint64_t uuid, dap_worker_t *worker, uint64_t client_id);
SDK_HIDDEN void sdk__stream_unregister_uplink(uint64_t client_id);

/* "-" for NULL or empty strings in journal lines. */
static inline const char *sdk__str_or_dash(const char *s)
{
    return s && *s ? s : "-";
}

#endif
