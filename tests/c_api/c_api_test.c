/* The C API, from C (C11): create, allocate, calloc, reset, used, destroy, and a NULL arena
 * given to every function. Prints "N passed, M failed" and exits nonzero on any failure. */
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloclab/arena_c.h"

static int passed = 0;
static int failed = 0;

#define CHECK(cond)                                                              \
  do {                                                                           \
    if (cond) {                                                                  \
      ++passed;                                                                  \
    } else {                                                                     \
      ++failed;                                                                  \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                            \
  } while (0)

/* A byte unique to (block, i): two overlapping blocks cannot both keep their pattern. */
static unsigned char pattern_byte(uint64_t block, size_t i) {
  uint64_t x = (block * 0x9E3779B97F4A7C15ULL) ^ (uint64_t)i;
  return (unsigned char)(x ^ (x >> 17) ^ (x >> 31));
}
static void fill_pattern(void* p, size_t n, uint64_t block) {
  unsigned char* b = (unsigned char*)p;
  for (size_t i = 0; i < n; ++i) b[i] = pattern_byte(block, i);
}
static int check_pattern(const void* p, size_t n, uint64_t block) {
  const unsigned char* b = (const unsigned char*)p;
  for (size_t i = 0; i < n; ++i)
    if (b[i] != pattern_byte(block, i)) return 0;
  return 1;
}
static int all_zero(const void* p, size_t n) {
  const unsigned char* b = (const unsigned char*)p;
  for (size_t i = 0; i < n; ++i)
    if (b[i] != 0) return 0;
  return 1;
}
static int is_aligned(const void* p, size_t alignment) {
  return ((uintptr_t)p % alignment) == 0;
}

#define MAX_ALIGN (alignof(max_align_t))

static void test_create_and_destroy(void) {
  arena_t* a = arena_create(0);
  arena_t* b = arena_create(128);
  CHECK(a != NULL);
  CHECK(b != NULL);
  CHECK(arena_used(a) == 0);
  CHECK(arena_used(b) == 0);
  arena_reset(a); /* resetting an empty arena is fine */
  CHECK(arena_used(a) == 0);
  arena_destroy(a);
  arena_destroy(b);
  /* An arena destroyed without ever allocating, and one destroyed right after a reset. */
  a = arena_create(64);
  CHECK(a != NULL);
  CHECK(arena_alloc(a, 10) != NULL);
  arena_reset(a);
  arena_destroy(a);
}

static void test_null_arena(void) {
  CHECK(arena_alloc(NULL, 16) == NULL);
  CHECK(arena_alloc(NULL, 0) == NULL);
  CHECK(arena_calloc(NULL, 4, 4) == NULL);
  CHECK(arena_calloc(NULL, SIZE_MAX, SIZE_MAX) == NULL);
  arena_reset(NULL);
  CHECK(arena_used(NULL) == 0);
  arena_destroy(NULL);
  ++passed; /* reached: reset and destroy of NULL did not crash */
}

static void test_alignment(size_t block_size) {
  arena_t* a = arena_create(block_size);
  CHECK(a != NULL);
  if (a == NULL) return;
  int misaligned = 0;
  int null_results = 0;
  for (size_t size = 1; size <= 300; ++size) {
    void* p = arena_alloc(a, size);
    if (p == NULL) {
      ++null_results;
      continue;
    }
    if (!is_aligned(p, MAX_ALIGN)) ++misaligned;
    void* q = arena_calloc(a, 3, size);
    if (q == NULL) {
      ++null_results;
      continue;
    }
    if (!is_aligned(q, MAX_ALIGN)) ++misaligned;
  }
  CHECK(null_results == 0);
  CHECK(misaligned == 0);
  CHECK(MAX_ALIGN >= 8);
#if defined(__x86_64__)
  CHECK(MAX_ALIGN == 16);
#endif
  arena_destroy(a);
}

static void test_zero_and_overflow(void) {
  arena_t* a = arena_create(128);
  CHECK(a != NULL);
  if (a == NULL) return;
  CHECK(arena_alloc(a, 0) == NULL);
  CHECK(arena_used(a) == 0); /* a refused request changes nothing */
  CHECK(arena_calloc(a, 0, 8) == NULL);
  CHECK(arena_calloc(a, 8, 0) == NULL);
  /* count * size overflows */
  CHECK(arena_calloc(a, SIZE_MAX, 2) == NULL);
  CHECK(arena_calloc(a, 2, SIZE_MAX) == NULL);
  CHECK(arena_calloc(a, SIZE_MAX / 2 + 1, 2) == NULL);
  CHECK(arena_calloc(a, (SIZE_MAX >> (sizeof(size_t) * 4)) + 1,
                     (SIZE_MAX >> (sizeof(size_t) * 4)) + 1) == NULL);
  CHECK(arena_calloc(a, SIZE_MAX, SIZE_MAX) == NULL);
  /* size + alignment overflows, or is simply too large to get */
  CHECK(arena_alloc(a, SIZE_MAX) == NULL);
  CHECK(arena_alloc(a, SIZE_MAX - 8) == NULL);
  CHECK(arena_used(a) == 0);
  /* Still usable afterwards. */
  void* p = arena_alloc(a, 24);
  CHECK(p != NULL);
  CHECK(arena_used(a) >= 24);
  arena_destroy(a);
}

static void test_calloc_zeroes_dirty_memory(size_t block_size) {
  arena_t* a = arena_create(block_size);
  CHECK(a != NULL);
  if (a == NULL) return;
  /* Dirty a good stretch of blocks, including dedicated ones. */
  for (int round = 0; round < 3; ++round) {
    for (size_t i = 0; i < 200; ++i) {
      const size_t size = 1 + (i * 37) % 400;
      void* p = arena_alloc(a, size);
      CHECK(p != NULL);
      if (p != NULL) memset(p, 0xFF, size);
    }
    arena_reset(a);
    CHECK(arena_used(a) == 0);
    /* The same memory comes back, now zeroed by calloc. */
    int not_zero = 0;
    int null_results = 0;
    for (size_t i = 0; i < 200; ++i) {
      const size_t count = 1 + i % 7;
      const size_t size = 1 + (i * 37) % 57;
      unsigned char* p = (unsigned char*)arena_calloc(a, count, size);
      if (p == NULL) {
        ++null_results;
        continue;
      }
      if (!is_aligned(p, MAX_ALIGN)) ++not_zero;
      if (!all_zero(p, count * size)) ++not_zero;
      memset(p, 0xEE, count * size); /* dirty again for the next round */
    }
    CHECK(null_results == 0);
    CHECK(not_zero == 0);
    /* A calloc larger than a block. */
    unsigned char* big = (unsigned char*)arena_calloc(a, 100, 50);
    CHECK(big != NULL);
    if (big != NULL) {
      CHECK(all_zero(big, 5000));
      memset(big, 0xCC, 5000);
    }
    arena_reset(a);
  }
  arena_destroy(a);
}

struct range {
  uintptr_t begin;
  size_t size;
};

static int compare_ranges(const void* x, const void* y) {
  const struct range* a = (const struct range*)x;
  const struct range* b = (const struct range*)y;
  return a->begin < b->begin ? -1 : a->begin > b->begin ? 1 : 0;
}

#define MANY 5000

static void test_many_allocations_across_blocks(size_t block_size) {
  static void* ptrs[MANY];
  static size_t sizes[MANY];
  static struct range ranges[MANY];
  arena_t* a = arena_create(block_size);
  CHECK(a != NULL);
  if (a == NULL) return;
  for (int cycle = 0; cycle < 3; ++cycle) {
    size_t total = 0;
    int null_results = 0;
    int misaligned = 0;
    size_t got = 0;
    for (size_t i = 0; i < MANY; ++i) {
      /* Mostly small, some larger than a 128-byte block, a few larger than 64 KiB. */
      size_t size = 1 + (i * 2654435761u) % 200;
      if (i % 97 == 0) size = 1000 + i;
      if (i % 1999 == 0) size = 70000;
      void* p = arena_alloc(a, size);
      if (p == NULL) {
        ++null_results;
        continue;
      }
      if (!is_aligned(p, MAX_ALIGN)) ++misaligned;
      fill_pattern(p, size, (uint64_t)cycle * MANY + i);
      ptrs[got] = p;
      sizes[got] = size;
      ranges[got].begin = (uintptr_t)p;
      ranges[got].size = size;
      ++got;
      total += size;
    }
    CHECK(null_results == 0);
    CHECK(misaligned == 0);
    CHECK(arena_used(a) >= total);
    /* Every block kept its pattern: nothing overlapped, nothing was overwritten. */
    int damaged = 0;
    size_t k = 0;
    for (size_t i = 0; i < MANY && k < got; ++i) {
      size_t size = 1 + (i * 2654435761u) % 200;
      if (i % 97 == 0) size = 1000 + i;
      if (i % 1999 == 0) size = 70000;
      if (sizes[k] != size) ++damaged;
      if (!check_pattern(ptrs[k], sizes[k], (uint64_t)cycle * MANY + i)) ++damaged;
      ++k;
    }
    CHECK(damaged == 0);
    qsort(ranges, got, sizeof ranges[0], compare_ranges);
    int overlaps = 0;
    for (size_t i = 1; i < got; ++i)
      if (ranges[i - 1].begin + ranges[i - 1].size > ranges[i].begin) ++overlaps;
    CHECK(overlaps == 0);
    arena_reset(a);
    CHECK(arena_used(a) == 0);
  }
  arena_destroy(a);
}

static void test_used_tracks_allocations(void) {
  arena_t* a = arena_create(0);
  CHECK(a != NULL);
  if (a == NULL) return;
  size_t before = arena_used(a);
  CHECK(before == 0);
  size_t requested = 0;
  for (size_t i = 1; i <= 100; ++i) {
    CHECK(arena_alloc(a, i) != NULL);
    requested += i;
    const size_t now = arena_used(a);
    CHECK(now > before);    /* every allocation consumes */
    CHECK(now >= requested); /* at least what was asked for */
    before = now;
  }
  arena_reset(a);
  CHECK(arena_used(a) == 0);
  CHECK(arena_alloc(a, 1) != NULL);
  CHECK(arena_used(a) >= 1);
  arena_destroy(a);
}

int main(void) {
  test_create_and_destroy();
  test_null_arena();
  test_alignment(0);
  test_alignment(128);
  test_zero_and_overflow();
  test_calloc_zeroes_dirty_memory(0);
  test_calloc_zeroes_dirty_memory(128);
  test_many_allocations_across_blocks(128);
  test_many_allocations_across_blocks(0);
  test_used_tracks_allocations();
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
