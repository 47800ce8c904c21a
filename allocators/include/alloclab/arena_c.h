/* alloclab/arena_c.h — C API of the growable chained arena.
 *
 * A C program gets a growable arena without C++: create, allocate (plain or zeroed), reset
 * everything at once, destroy. Every function tolerates a NULL arena (allocation then returns
 * NULL). Allocations are aligned to alignof(max_align_t); a request of 0 bytes, or a calloc
 * whose count * size overflows, returns NULL. Not thread-safe: one arena per thread. */
#ifndef ALLOCLAB_ARENA_C_H
#define ALLOCLAB_ARENA_C_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct alloclab_arena arena_t;

/* A new arena taking blocks of `block_size` data bytes (0: the default, 64 KiB); NULL if
 * memory for the arena itself cannot be had. */
arena_t* arena_create(size_t block_size);
void* arena_alloc(arena_t* arena, size_t size);
/* Zeroed memory for `count` objects of `size` bytes. */
void* arena_calloc(arena_t* arena, size_t count, size_t size);
/* Frees every allocation at once; the arena keeps its blocks for reuse. */
void arena_reset(arena_t* arena);
/* Frees every allocation and the arena. */
void arena_destroy(arena_t* arena);
/* Bytes handed out and padding since the last reset (the arena's `used`). */
size_t arena_used(const arena_t* arena);

#ifdef __cplusplus
}
#endif

#endif /* ALLOCLAB_ARENA_C_H */
