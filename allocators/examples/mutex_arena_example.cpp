// The classic arena usage: an arena of 1024 bytes, ten ints written and printed, the arena
// cleared and its block released. Runs in the test suite, which checks the printed line.
#include <cstdio>

#include "alloclab/mutex_arena.hpp"

int main() {
  alloclab::MutexArena arena(1024);
  auto* numbers = static_cast<int*>(arena.allocate(10 * sizeof(int), alignof(int)));
  if (numbers == nullptr) {
    std::fprintf(stderr, "mutex_arena_example: allocation of 10 ints failed\n");
    return 1;
  }
  for (int i = 0; i < 10; ++i) numbers[i] = i;
  for (int i = 0; i < 10; ++i) std::printf(i == 0 ? "%d" : " %d", numbers[i]);
  std::printf("\n");
  std::printf("used %zu of %zu bytes\n", arena.used(), arena.capacity());
  arena.clear();
  std::printf("after clear: used %zu of %zu bytes\n", arena.used(), arena.capacity());
  arena.release();
  std::printf("after release: capacity %zu bytes\n", arena.capacity());
  return 0;
}
