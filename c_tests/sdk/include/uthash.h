/* Stand-in DAP SDK (test harness only, not the GPL SDK): the one uthash type the link manager's
 * public header names. Only its size (56 bytes, align 8 on LP64) matters to callers; the stand-in's
 * cluster table uses the first three slots for its own member chain. */
#ifndef DAP_STANDIN_UTHASH_H
#define DAP_STANDIN_UTHASH_H

typedef struct UT_hash_handle {
    void *prev;        /* previous item in insertion order */
    void *next;        /* next item in insertion order */
    void *chain;       /* next item in the same bucket */
    void *reserved[4]; /* pads to the 7 pointers of the real handle */
} UT_hash_handle;

#endif
