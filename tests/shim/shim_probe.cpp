// Small scenarios run under a preloaded shim by tests/shim/expect_probe.cmake, each in a
// process of its own because it ends the process or needs its own environment:
//   exhaust-pool   (ALLOCLAB_MALLOC_RESERVE=64M) 64 KiB mallocs until one fails with ENOMEM;
//                  the process goes on, and freeing makes room again.
//   exhaust-bump   (ALLOCLAB_BUMP_LIMIT=64M) the same until the limit; the process goes on.
//   double-free, interior-free, foreign-free   (checked shim) must abort naming the fault.
//   allocate       one malloc/free (for the bad-environment tests: the shim reads its
//                  variable on first use).
// Output goes through write(2): stdio may need the very malloc that is exhausted.
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace {

void say(const char* text) { (void)!::write(1, text, std::strlen(text)); }

int fail(const char* why) {
  (void)!::write(2, "shim_probe: ", 12);
  (void)!::write(2, why, std::strlen(why));
  (void)!::write(2, "\n", 1);
  return 1;
}

constexpr std::size_t kBlock = 64 * 1024;
constexpr std::size_t kMiB = std::size_t{1} << 20;
void* blocks[1 << 16];  // static: no allocation while the allocator is being exhausted

// Allocates kBlock until malloc fails; returns how many it got (or -1 if it never failed).
long exhaust() {
  for (std::size_t n = 0; n < sizeof blocks / sizeof blocks[0]; ++n) {
    errno = 0;
    blocks[n] = std::malloc(kBlock);
    if (blocks[n] == nullptr) return errno == ENOMEM ? static_cast<long>(n) : -2;
    std::memset(blocks[n], 0x77, 64);  // touched: really handed out
  }
  return -1;
}

void report(const char* what, long count) {
  char line[160];
  std::snprintf(line, sizeof line, "%s after %ld blocks of 64 KiB (%ld MiB)\n", what, count,
                count * static_cast<long>(kBlock) / static_cast<long>(kMiB));
  say(line);
}

int exhaust_pool() {
  const long count = exhaust();
  if (count == -1) return fail("malloc never failed: is ALLOCLAB_MALLOC_RESERVE=64M set?");
  if (count == -2) return fail("malloc failed without ENOMEM");
  report("ENOMEM", count);
  // Most of a 64 MiB reservation is usable, and not more than it.
  if (count * kBlock > 64 * kMiB || count * kBlock < 48 * kMiB) return fail("the reservation's size is not what was asked");
  if (std::malloc(kBlock) != nullptr || std::malloc(100000) != nullptr) return fail("a second request succeeded in a full pool");
  void* large = std::malloc(2 * kMiB);  // large blocks are mapped on their own: unaffected
  if (large == nullptr) return fail("a large block failed although it does not use the pool");
  std::free(large);
  for (long i = 0; i < count; ++i) std::free(blocks[i]);
  // Everything freed: the whole reservation can be had again, in one piece.
  void* again = std::malloc(kBlock);
  if (again == nullptr) return fail("freeing did not make room again");
  std::free(again);
  const long second = exhaust();
  if (second < count) return fail("fewer blocks fit after freeing everything");
  for (long i = 0; i < second; ++i) std::free(blocks[i]);
  say("recovered\n");
  return 0;
}

int exhaust_bump() {
  const long count = exhaust();
  if (count == -1) return fail("malloc never failed: is ALLOCLAB_BUMP_LIMIT=64M set?");
  if (count == -2) return fail("malloc failed without ENOMEM");
  report("ENOMEM", count);
  if (count * kBlock > 64 * kMiB || count * kBlock < 32 * kMiB) return fail("the limit is not what was asked");
  errno = 0;
  if (std::malloc(2 * kMiB) != nullptr || errno != ENOMEM) return fail("a large request passed the limit");
  errno = 0;
  if (std::calloc(1, kBlock) != nullptr || errno != ENOMEM) return fail("calloc passed the limit");
  say("continued\n");
  return 0;
}

int double_free() {
  void* keep = std::malloc(100);
  void* p = std::malloc(100);
  std::free(p);
  std::free(p);
  std::free(keep);
  say("survived a double free\n");
  return 0;
}

int interior_free() {
  auto* p = static_cast<char*>(std::malloc(256));
  std::memset(p, 0x33, 256);
  std::free(p + 64);
  say("survived an interior free\n");
  return 0;
}

int foreign_free() {
  alignas(64) static char buffer[256];
  std::free(buffer + 64);
  say("survived a foreign free\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string_view what = argc > 1 ? argv[1] : "";
  if (what == "exhaust-pool") return exhaust_pool();
  if (what == "exhaust-bump") return exhaust_bump();
  if (what == "double-free") return double_free();
  if (what == "interior-free") return interior_free();
  if (what == "foreign-free") return foreign_free();
  if (what == "allocate") {
    void* p = std::malloc(1000);
    std::free(p);
    say(p != nullptr ? "allocated\n" : "malloc failed\n");
    return p != nullptr ? 0 : 1;
  }
  return fail("usage: shim_probe exhaust-pool|exhaust-bump|double-free|interior-free|foreign-free|allocate");
}
