// Uses a C++ allocator and the C API through the installed package.
#include <alloclab/arena_c.h>
#include <alloclab/coalescing_pool.hpp>

#include <cstdio>

int main() {
  alloclab::CoalescingPool pool(4096);
  void* p = pool.allocate(100);
  arena_t* arena = arena_create(0);
  void* q = arena_calloc(arena, 4, 8);
  const bool ok = p != nullptr && q != nullptr && static_cast<const long*>(q)[3] == 0;
  pool.deallocate(p, 100);
  arena_destroy(arena);
  std::printf("consumer: %s\n", ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
