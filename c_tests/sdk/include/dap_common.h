/* Stand-in DAP SDK (test harness only; written from shared/spec/ABI.md, not from the GPL SDK).
 * Basic types, node address, logging. Layouts are asserted against the ABI.md figures (LP64). */
#ifndef DAP_COMMON_H
#define DAP_COMMON_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "uthash.h"

#if defined(__GLIBC__) && !defined(__USE_XOPEN2K)
#error                                                                                                                 \
    "pthread_rwlock_t is hidden: define _POSIX_C_SOURCE 200809L (or _GNU_SOURCE) before any include, or use -std=gnu11"
#endif

#ifdef __cplusplus
#define DAP_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#define DAP_ALIGNOF(type)            alignof(type)
extern "C" {
#else
#define DAP_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#define DAP_ALIGNOF(type)            _Alignof(type)
#endif

#define DAP_ALIGN_PACKED __attribute__((packed))
/* Every stand-in symbol the library or a test may import; everything else is hidden. */
#define DAP_SDK_API __attribute__((visibility("default")))

#if UINTPTR_MAX == UINT64_MAX
#define DAP_SDK_LP64 1
#endif

typedef uint64_t dap_time_t;     /* seconds */
typedef uint64_t dap_nanotime_t; /* nanoseconds */

/* A node address: 8 bytes, align 1. */
typedef union dap_stream_node_addr {
    uint64_t uint64;
    uint16_t words[4];
    uint8_t raw[8];
} DAP_ALIGN_PACKED dap_stream_node_addr_t;

DAP_STATIC_ASSERT(sizeof(dap_stream_node_addr_t) == 8, "dap_stream_node_addr_t is 8 bytes");
DAP_STATIC_ASSERT(DAP_ALIGNOF(dap_stream_node_addr_t) == 1, "dap_stream_node_addr_t is packed");
#ifdef DAP_SDK_LP64
DAP_STATIC_ASSERT(sizeof(UT_hash_handle) == 56, "UT_hash_handle is 56 bytes");
DAP_STATIC_ASSERT(DAP_ALIGNOF(UT_hash_handle) == 8, "UT_hash_handle is pointer aligned");
DAP_STATIC_ASSERT(sizeof(pthread_rwlock_t) == 56, "pthread_rwlock_t is 56 bytes");
#endif

/* Text form of an address: "XXXX::XXXX::XXXX::XXXX", words[3] (most significant) first. */
#define NODE_ADDR_FP_STR         "%04hX::%04hX::%04hX::%04hX"
#define NODE_ADDR_FP_ARGS(a_ptr) (a_ptr)->words[3], (a_ptr)->words[2], (a_ptr)->words[1], (a_ptr)->words[0]
#define NODE_ADDR_FP_ARGS_S(a)   (a).words[3], (a).words[2], (a).words[1], (a).words[0]
/* Buffer size for the text form, NUL included. */
#define DAP_NODE_ADDR_STR_SIZE 23

/* Formats *addr into buf (DAP_NODE_ADDR_STR_SIZE bytes) and returns buf. */
static inline char *dap_stream_node_addr_to_str_buf(const dap_stream_node_addr_t *addr, char *buf)
{
    snprintf(buf, DAP_NODE_ADDR_STR_SIZE, NODE_ADDR_FP_STR, NODE_ADDR_FP_ARGS(addr));
    return buf;
}

enum dap_log_level {
    L_DEBUG = 0,
    L_INFO = 1,
    L_NOTICE = 2,
    L_MSG = 3,
    L_DAP = 4,
    L_WARNING = 5,
    L_ATT = 6,
    L_ERROR = 7,
    L_CRITICAL = 8
};
DAP_STATIC_ASSERT(sizeof(enum dap_log_level) == 4, "enums are int sized");

/* Lines below this level are dropped (the library skips formatting them). Default L_DEBUG. */
DAP_SDK_API extern enum dap_log_level g_dap_log_level;

/* Records one log line (level, tag, formatted text) in the stand-in's ring buffer. */
DAP_SDK_API void _log_it_tag(enum dap_log_level level, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Convenience for C code that defines LOG_TAG, as SDK sources do. */
#define log_it(level, ...) _log_it_tag((level), LOG_TAG, __VA_ARGS__)

#ifdef __cplusplus
}
#endif
#endif
