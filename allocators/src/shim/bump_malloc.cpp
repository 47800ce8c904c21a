// liballoclab_bump.so — a malloc whose free does nothing: a program's speed of light.
//
// Each thread bumps through chunks of its own, mapped from the kernel (MmapBlockSource); a
// chunk is never given back, nor is any block. Allocation is the library's fit_in() on the
// thread's chunk plus a 16-byte header holding the block's size (for malloc_usable_size and
// realloc) and its capacity. A realloc that must move reserves 1.5 x the size asked: a program
// growing a buffer step by step (a string appended to) then moves O(log n) times, not on every
// step — without it, every step would leave its old copy behind and a 100 MB buffer grown a
// byte at a time would exhaust any budget. No lock, no atomic on the fast path; the only shared state is the count of bytes
// mapped, touched once per chunk. What a program gains under it over a real malloc is what
// freeing costs it (Berger, Zorn and McKinley's "regions" question); its peak RSS is the price.
//
// Chunks start at 256 KiB per thread and double up to 32 MiB, so a thread that allocates
// little maps little and one that allocates much maps rarely. A request larger than a quarter
// of the thread's next chunk gets a chunk of its own; the current chunk stays in use.
//
// Invariants: every result is aligned to at least 16; header(p).size = the size p was allocated
// or last resized with <= header(p).capacity, the bytes p owns; chunk.cursor <= chunk.end; mapped_bytes <= limit.
//
// Environment: ALLOCLAB_BUMP_LIMIT (bytes, default half the machine's physical memory) caps
// the bytes mapped. Past it requests fail (NULL, ENOMEM): a program that does not fit fails
// rather than push the machine into swap or the OOM killer.
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "alloclab/allocator.hpp"
#include "alloclab/block_source.hpp"
#include "malloc_api.hpp"

namespace {

using alloclab::MemoryBlock;
using alloclab::MmapBlockSource;
using alloclab::shim::min_alignment;

constexpr std::string_view shim_name = "alloclab_bump";
constexpr std::size_t header_size = 16;
constexpr std::size_t first_chunk = std::size_t{256} << 10;
constexpr std::size_t last_chunk = std::size_t{32} << 20;

struct Chunk {
  char* cursor;
  char* end;
  std::size_t next_size;
};
// initial-exec: the shim is preloaded, so its TLS is in the static block and reading it never
// calls into ld.so (which could allocate).
[[gnu::tls_model("initial-exec")]] constinit thread_local Chunk chunk{nullptr, nullptr, first_chunk};

std::atomic<std::size_t> mapped_bytes{0};
std::atomic<std::size_t> limit_bytes{0};  // read from the environment on first use

std::size_t limit() noexcept {
  std::size_t limit = limit_bytes.load(std::memory_order_relaxed);
  if (limit != 0) [[likely]] return limit;
  const auto physical = static_cast<std::size_t>(::sysconf(_SC_PHYS_PAGES)) * alloclab::shim::page_size();
  limit = alloclab::shim::byte_count_from_env("ALLOCLAB_BUMP_LIMIT", shim_name, physical / 2);
  limit_bytes.store(limit, std::memory_order_relaxed);
  return limit;
}

// Said once, on the first refusal: a program that then fails without a word of its own (or
// crashes on the NULL) still leaves the reason in its stderr. write(2): nothing allocated.
[[gnu::cold]] void report_budget_exhausted() noexcept {
  static std::atomic<bool> said{false};
  if (said.exchange(true, std::memory_order_relaxed)) return;
  static constexpr char line[] =
      "alloclab_bump: out of its memory budget (it never frees; raise ALLOCLAB_BUMP_LIMIT): malloc returns NULL\n";
  (void)!::write(STDERR_FILENO, line, sizeof line - 1);
}

// A mapping of at least `size` bytes within the limit, or {}.
MemoryBlock map_chunk(std::size_t size) noexcept {
  std::size_t before = mapped_bytes.load(std::memory_order_relaxed);
  do {
    if (size > limit()) return {};  // larger than the whole budget: impossible, not exhausted
    if (before > limit() - size) {
      report_budget_exhausted();
      return {};
    }
  } while (!mapped_bytes.compare_exchange_weak(before, before + size, std::memory_order_relaxed));
  const MemoryBlock block = MmapBlockSource{}.allocate_block(size);
  if (!block) mapped_bytes.fetch_sub(size, std::memory_order_relaxed);
  else if (block.size > size) mapped_bytes.fetch_add(block.size - size, std::memory_order_relaxed);
  return block;
}

struct Header {
  std::size_t size;
  std::size_t capacity;
};
static_assert(sizeof(Header) == header_size);

Header& header(const void* p) noexcept {
  return *reinterpret_cast<Header*>(const_cast<char*>(static_cast<const char*>(p)) - header_size);
}

// p for `size` bytes at `alignment` in [cursor, end), with room for its header below, or nullptr.
char* fit(char* cursor, char* end, std::size_t size, std::size_t alignment) noexcept {
  if (cursor == nullptr || end - cursor < static_cast<std::ptrdiff_t>(header_size)) return nullptr;
  return alloclab::fit_in(cursor + header_size, end, size, alignment);
}

[[gnu::noinline]] void* allocate_from_new_chunk(std::size_t size, std::size_t alignment) noexcept {
  if (size > SIZE_MAX / 2 || alignment > SIZE_MAX / 4) return nullptr;
  const std::size_t need = header_size + alignment + size;
  if (need > chunk.next_size / 4) {  // a chunk of its own; the current one stays
    const MemoryBlock own = map_chunk(need);
    char* p = own ? fit(static_cast<char*>(own.data), static_cast<char*>(own.data) + own.size, size, alignment) : nullptr;
    if (p != nullptr) header(p) = {size, size};
    return p;
  }
  const MemoryBlock fresh = map_chunk(chunk.next_size);
  if (!fresh) return nullptr;
  if (chunk.next_size < last_chunk) chunk.next_size *= 2;
  chunk.cursor = static_cast<char*>(fresh.data);
  chunk.end = chunk.cursor + fresh.size;
  char* p = fit(chunk.cursor, chunk.end, size, alignment);
  header(p) = {size, size};
  chunk.cursor = p + size;
  return p;
}

struct BumpBackend {
  static constexpr std::string_view name = shim_name;

  static void* allocate(std::size_t size, std::size_t alignment) noexcept {
    char* p = fit(chunk.cursor, chunk.end, size, alignment);
    if (p == nullptr) [[unlikely]] return allocate_from_new_chunk(size, alignment);
    header(p) = {size, size};
    chunk.cursor = p + size;
    return p;
  }

  // Every byte is fresh from the kernel, hence zero: nothing is ever reused.
  static void* allocate_zeroed(std::size_t size) noexcept { return allocate(size, min_alignment); }

  static void deallocate(void*) noexcept {}

  static std::size_t usable_size(const void* p) noexcept { return header(p).size; }

  // Within the capacity, in place (a shrink never gives bytes back: the tail is dirty, and
  // calloc relies on everything past the cursor being fresh from the kernel). Past it, in place
  // when p's bytes end at this thread's cursor and the chunk has room; else moved, with room.
  static void* reallocate(void* p, std::size_t n) noexcept {
    Header& h = header(p);
    if (n <= h.capacity) {
      h.size = n;
      return p;
    }
    char* const end_of_p = static_cast<char*>(p) + h.capacity;
    if (end_of_p == chunk.cursor && n <= static_cast<std::size_t>(chunk.end - static_cast<char*>(p))) {
      h.size = h.capacity = n;
      chunk.cursor = static_cast<char*>(p) + n;
      return p;
    }
    const std::size_t room = n <= SIZE_MAX / 3 ? n + n / 2 : n;
    void* q = allocate(room, min_alignment);
    if (q == nullptr && room != n) q = allocate(n, min_alignment);
    if (q == nullptr) return nullptr;
    std::memcpy(q, p, h.size);
    header(q).size = n;
    return q;
  }
};
static_assert(alloclab::shim::MallocBackend<BumpBackend>);

}  // namespace

ALLOCLAB_DEFINE_MALLOC_API(BumpBackend)
