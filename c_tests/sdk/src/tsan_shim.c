/* Built only with DAP_LM_RUST_SANITIZE: rustc's ThreadSanitizer instrumentation (LLVM) calls
 * __tsan_memset/__tsan_memcpy/__tsan_memmove, which gcc 12's libtsan does not export. Forwarding them to
 * the libc functions keeps the accesses visible to TSan: this file is itself compiled with
 * -fsanitize=thread, so the calls below are intercepted and checked. */
#include <string.h>

__attribute__((visibility("default"))) void *__tsan_memset(void *p, int c, size_t n) { return memset(p, c, n); }
__attribute__((visibility("default"))) void *__tsan_memcpy(void *d, const void *s, size_t n) { return memcpy(d, s, n); }
__attribute__((visibility("default"))) void *__tsan_memmove(void *d, const void *s, size_t n) { return memmove(d, s, n); }
