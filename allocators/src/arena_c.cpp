// The C API over BasicChainedArena<HeapBlockSource>.
#include "alloclab/arena_c.h"

#include <new>

#include "alloclab/chained_arena.hpp"

struct alloclab_arena {
  alloclab::ChainedArena arena;
  explicit alloclab_arena(std::size_t block_size) noexcept : arena(block_size) {}
};

extern "C" {

arena_t* arena_create(size_t block_size) {
  return new (std::nothrow)
      alloclab_arena(block_size != 0 ? block_size : alloclab::ChainedArena::default_block_size);
}

void* arena_alloc(arena_t* arena, size_t size) {
  return arena != nullptr ? arena->arena.allocate(size) : nullptr;
}

void* arena_calloc(arena_t* arena, size_t count, size_t size) {
  return arena != nullptr ? arena->arena.calloc(count, size) : nullptr;
}

void arena_reset(arena_t* arena) {
  if (arena != nullptr) arena->arena.reset();
}

void arena_destroy(arena_t* arena) { delete arena; }

size_t arena_used(const arena_t* arena) { return arena != nullptr ? arena->arena.used() : 0; }

}  // extern "C"
