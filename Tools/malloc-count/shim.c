#define _GNU_SOURCE
#include <stddef.h>
#include <errno.h>
static __thread long counting = 0, count = 0;
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
void *malloc(size_t n) { if (counting) count++; return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { if (counting) count++; return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { if (counting) count++; return __libc_realloc(p, n); }
void *aligned_alloc(size_t al, size_t n) { if (counting) count++; return __libc_memalign(al, n); }
void *memalign(size_t al, size_t n) { if (counting) count++; return __libc_memalign(al, n); }
int posix_memalign(void **out, size_t al, size_t n) {
    if (counting) count++;
    void *p = __libc_memalign(al, n);
    if (!p) return ENOMEM;
    *out = p; return 0;
}
void flowdb_malloc_count_start(void) { count = 0; counting = 1; }
long flowdb_malloc_count_stop(void) { counting = 0; return count; }
