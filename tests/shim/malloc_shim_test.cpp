// The malloc shims as a program sees them: this executable runs with LD_PRELOAD set to
// liballoclab_malloc.so, liballoclab_malloc_checked.so or liballoclab_bump.so (one ctest each,
// tests/shim/CMakeLists.txt), and every entry point of the C API is called through the
// dynamic linker, as in any preloaded program. GoogleTest's own allocations go through the
// shim too.
//
// Before any test runs, main() checks that `malloc` and friends resolve to the preloaded file,
// so this suite can never pass by testing glibc (gtest_discover_tests lists the tests without
// the preload: --gtest_list_tests skips the check).
//
// The shim under test is named by LD_PRELOAD's file name. Where the shims differ by design
// (bump's free does nothing, so it never reuses memory; only the pools grow in place into a
// freed neighbour; the checked pool aborts on a bad free) the tests say so.
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

enum class Shim { pool, checked, bump, unknown };

std::string_view base_name(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// The preloaded file's name, from LD_PRELOAD (its first entry).
std::string preloaded_file() {
  const char* env = std::getenv("LD_PRELOAD");
  if (env == nullptr) return {};
  std::string_view all(env);
  const std::size_t end = all.find_first_of(": ");
  return std::string(base_name(all.substr(0, end)));
}

Shim shim() {
  static const Shim kind = [] {
    const std::string file = preloaded_file();
    if (file == "liballoclab_malloc.so") return Shim::pool;
    if (file == "liballoclab_malloc_checked.so") return Shim::checked;
    if (file == "liballoclab_bump.so") return Shim::bump;
    return Shim::unknown;
  }();
  return kind;
}
bool is_pool() { return shim() == Shim::pool || shim() == Shim::checked; }

// The file that defines the symbol the dynamic linker binds `name` to, for this program.
std::string defining_file(const char* name) {
  void* sym = ::dlsym(RTLD_DEFAULT, name);
  Dl_info info{};
  if (sym == nullptr || ::dladdr(sym, &info) == 0 || info.dli_fname == nullptr) return "(unresolved)";
  return std::string(base_name(info.dli_fname));
}

constexpr const char* kEntryPoints[] = {"malloc",        "free",     "calloc", "realloc", "reallocarray",
                                        "posix_memalign", "aligned_alloc", "memalign", "valloc",  "pvalloc",
                                        "malloc_usable_size"};

// Keeps the compiler from eliding an allocation (GCC and Clang may remove new/delete pairs).
template <class T>
void escape(T* p) {
  asm volatile("" : : "g"(p) : "memory");
}

// A cheap pattern, word by word, unique to (seed, index): a copy that lost or shifted bytes
// does not verify.
void stamp(void* p, std::size_t n, std::uint64_t seed) {
  auto* b = static_cast<unsigned char*>(p);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<unsigned char>((seed * 0x9E3779B97F4A7C15ULL + i * 131 + (i >> 8)) >> 7);
}
[[nodiscard]] bool stamped(const void* p, std::size_t n, std::uint64_t seed) {
  const auto* b = static_cast<const unsigned char*>(p);
  for (std::size_t i = 0; i < n; ++i)
    if (b[i] != static_cast<unsigned char>((seed * 0x9E3779B97F4A7C15ULL + i * 131 + (i >> 8)) >> 7)) return false;
  return true;
}
// Large blocks: stamp the first and last 64 KiB and one word per 64 KiB between (the bump
// shim keeps every page it touches).
void stamp_sparse(void* p, std::size_t n, std::uint64_t seed) {
  if (n <= (256u << 10)) return stamp(p, n, seed);
  auto* b = static_cast<unsigned char*>(p);
  stamp(b, 64 << 10, seed);
  stamp(b + n - (64 << 10), 64 << 10, seed + 1);
  for (std::size_t at = 64 << 10; at + 8 <= n - (64 << 10); at += 64 << 10) std::memcpy(b + at, &at, 8);
}
// After a block stamped at `old_size` became `new_size` bytes: the bytes both share still
// carry the old stamp.
[[nodiscard]] bool kept_stamp(const void* p, std::size_t old_size, std::size_t new_size, std::uint64_t seed) {
  const auto* b = static_cast<const unsigned char*>(p);
  if (old_size <= (256u << 10)) return stamped(p, std::min(old_size, new_size), seed);
  if (!stamped(b, std::min<std::size_t>(64 << 10, new_size), seed)) return false;
  for (std::size_t at = 64 << 10; at + 8 <= std::min(new_size, old_size - (64 << 10)); at += 64 << 10) {
    std::size_t w;
    std::memcpy(&w, b + at, 8);
    if (w != at) return false;
  }
  return new_size < old_size || stamped(b + old_size - (64 << 10), 64 << 10, seed + 1);
}
[[nodiscard]] bool stamped_sparse(const void* p, std::size_t n, std::uint64_t seed) { return kept_stamp(p, n, n, seed); }

// A value the optimizer cannot see through. glibc declares aligned_alloc and memalign with
// alloc_align, and a pointer to an alignas(N) type is N-aligned by the language: a compiler may
// fold "is p aligned?" to true, so the address is laundered first.
std::size_t opaque(std::size_t n) {
  asm volatile("" : "+r"(n));
  return n;
}
bool aligned_to(const void* p, std::size_t alignment) {
  return opaque(reinterpret_cast<std::uintptr_t>(p)) % alignment == 0;
}

bool all_zero(const void* p, std::size_t n) {
  const auto* b = static_cast<const unsigned char*>(p);
  return std::all_of(b, b + n, [](unsigned char c) { return c == 0; });
}

const std::size_t kPage = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
constexpr std::size_t kMiB = std::size_t{1} << 20;

// --- the shim is the one bound ------------------------------------------------------------------

TEST(ShimActive, EveryEntryPointResolvesToThePreloadedFile) {
  ASSERT_NE(shim(), Shim::unknown) << "LD_PRELOAD='" << (std::getenv("LD_PRELOAD") ? std::getenv("LD_PRELOAD") : "")
                                   << "' names no alloclab shim";
  for (const char* name : kEntryPoints) EXPECT_EQ(defining_file(name), preloaded_file()) << name;
  // The addresses this executable calls (through its own GOT) are the shim's too.
  Dl_info info{};
  ASSERT_NE(::dladdr(reinterpret_cast<void*>(&::malloc), &info), 0);
  EXPECT_EQ(base_name(info.dli_fname), preloaded_file());
  ASSERT_NE(::dladdr(reinterpret_cast<void*>(&::free), &info), 0);
  EXPECT_EQ(base_name(info.dli_fname), preloaded_file());
}

// A behaviour glibc does not have: glibc's usable size of a 100-byte request is 104 (8 mod 16);
// the pool's is a 16-byte class, the bump shim's the request itself. operator new (libstdc++,
// calling malloc from inside libstdc++.so) arrives at the shim too.
TEST(ShimActive, UsableSizeIsTheShims) {
  void* p = std::malloc(100);
  void* q = ::operator new(100);
  escape(q);
  for (void* x : {p, q}) {
    if (shim() == Shim::bump) {
      EXPECT_EQ(malloc_usable_size(x), 100u);
    } else {
      EXPECT_EQ(malloc_usable_size(x) % 16, 0u);
      EXPECT_GE(malloc_usable_size(x), 100u);
    }
  }
  ::operator delete(q);
  std::free(p);
}

// --- malloc, free, malloc_usable_size -------------------------------------------------------------

TEST(ShimMalloc, ResultsAre16AlignedWritableAndDisjoint) {
  std::vector<std::pair<void*, std::size_t>> blocks;
  std::vector<std::size_t> sizes;
  for (std::size_t s = 0; s <= 300; ++s) sizes.push_back(s);
  for (std::size_t s : {1000, 1023, 1024, 1025, 4095, 4096, 4097, 65536, 100000, 1 << 20, (1 << 20) - 1, 3 << 20})
    sizes.push_back(s);
  for (std::size_t s : sizes) {
    void* p = std::malloc(s);
    ASSERT_NE(p, nullptr) << s;
    EXPECT_TRUE(aligned_to(p, 16)) << s;
    stamp_sparse(p, s, blocks.size());
    blocks.emplace_back(p, s);
  }
  for (std::size_t i = 0; i < blocks.size(); ++i)
    EXPECT_TRUE(stamped_sparse(blocks[i].first, blocks[i].second, i)) << "block of " << blocks[i].second;
  for (auto [p, s] : blocks) std::free(p);
}

TEST(ShimMalloc, ZeroBytesGivesUniqueNonNullPointers) {
  std::vector<void*> blocks;
  for (int i = 0; i < 100; ++i) {
    void* p = std::malloc(0);
    ASSERT_NE(p, nullptr);
    EXPECT_TRUE(aligned_to(p, 16));
    blocks.push_back(p);
  }
  std::sort(blocks.begin(), blocks.end());
  EXPECT_EQ(std::adjacent_find(blocks.begin(), blocks.end()), blocks.end()) << "malloc(0) returned a pointer twice";
  for (void* p : blocks) std::free(p);
}

// Every usable byte can be written without touching another block.
TEST(ShimMalloc, UsableSizeIsAtLeastTheRequestAndWritable) {
  EXPECT_EQ(malloc_usable_size(nullptr), 0u);
  struct Block {
    unsigned char* p;
    std::size_t size, usable;
  };
  std::vector<Block> blocks;
  std::vector<std::size_t> sizes;
  for (std::size_t s = 1; s <= 2100; s += (s < 200 ? 1 : 37)) sizes.push_back(s);
  for (std::size_t s : {65536, 200000, 1 << 20, (1 << 20) + 1, 5 << 20}) sizes.push_back(s);
  for (std::size_t s : sizes) {
    auto* p = static_cast<unsigned char*>(std::malloc(s));
    ASSERT_NE(p, nullptr);
    const std::size_t usable = malloc_usable_size(p);
    EXPECT_GE(usable, s);
    blocks.push_back({p, s, usable});
  }
  for (std::size_t i = 0; i < blocks.size(); ++i) std::memset(blocks[i].p, static_cast<int>(i % 251), blocks[i].usable);
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const auto want = static_cast<unsigned char>(i % 251);
    ASSERT_TRUE(std::all_of(blocks[i].p, blocks[i].p + blocks[i].usable, [&](unsigned char c) { return c == want; }))
        << "the usable bytes of a block of " << blocks[i].size << " were overwritten by a neighbour's";
    EXPECT_EQ(malloc_usable_size(blocks[i].p), blocks[i].usable) << "usable size changed while live";
  }
  for (const Block& b : blocks) std::free(b.p);
}

TEST(ShimMalloc, FreeNullIsANoOpAndFreeKeepsErrno) {
  errno = 4242;
  std::free(nullptr);
  std::free(std::malloc(100));
  std::free(std::malloc(3 * kMiB));
  EXPECT_EQ(errno, 4242);  // POSIX.1-2024: free() does not change errno (glibc >= 2.33)
}

// Requests no memory can serve fail with ENOMEM: never an abort, never a tiny block.
TEST(ShimMalloc, HugeRequestsReturnNullWithEnomem) {
  for (std::size_t n : {SIZE_MAX, SIZE_MAX - 15, SIZE_MAX / 2, std::size_t{PTRDIFF_MAX}, std::size_t{1} << 48,
                        std::size_t{1} << 62}) {
    errno = 0;
    void* p = std::malloc(n);
    escape(p);
    EXPECT_EQ(p, nullptr) << n;
    EXPECT_EQ(errno, ENOMEM) << n;
    std::free(p);
  }
  void* p = std::malloc(64);  // still working
  ASSERT_NE(p, nullptr);
  std::free(p);
}

// --- calloc --------------------------------------------------------------------------------------

TEST(ShimCalloc, ZeroedForEveryShape) {
  for (auto [count, size] : std::vector<std::pair<std::size_t, std::size_t>>{
           {1, 1}, {3, 5}, {10, 100}, {1, 1024}, {7, 1000}, {100, 1000}, {1, (1 << 20) - 16}, {1, 1 << 20},
           {1024, 1024}, {3, 1 << 20}, {0, 0}, {0, 10}, {10, 0}}) {
    errno = 0;
    auto* p = static_cast<unsigned char*>(std::calloc(count, size));
    ASSERT_NE(p, nullptr) << count << " x " << size;
    EXPECT_TRUE(aligned_to(p, 16));
    EXPECT_TRUE(all_zero(p, count * size)) << count << " x " << size;
    std::memset(p, 0xEE, count * size);
    std::free(p);
  }
}

// Freed blocks are dirty; calloc must zero what it reuses. The pools reuse (their caches hand
// back the block just freed): the test checks that it did, so it really tested reuse.
TEST(ShimCalloc, ReusedDirtyMemoryComesBackZeroed) {
  std::size_t reused = 0;
  for (int round = 0; round < 4; ++round) {
    for (std::size_t size : {8, 24, 100, 1000, 1024, 5000, 70000, 400000, (1 << 20) - 64, 2 << 20}) {
      void* dirty = std::malloc(size);
      ASSERT_NE(dirty, nullptr);
      std::memset(dirty, 0xAB, size);
      std::free(dirty);
      auto* p = static_cast<unsigned char*>(std::calloc(1, size));
      ASSERT_NE(p, nullptr);
      reused += p == dirty ? 1 : 0;
      EXPECT_TRUE(all_zero(p, size)) << "calloc(1, " << size << ") returned dirty bytes";
      std::memset(p, 0xCD, size);
      std::free(p);
    }
  }
  // Many blocks at once, freed, then called back.
  std::vector<std::pair<void*, std::size_t>> blocks;
  for (std::size_t i = 0; i < 300; ++i) {
    const std::size_t size = 16 + (i * 97) % 3000;
    void* p = std::malloc(size);
    std::memset(p, 0x5A, size);
    blocks.emplace_back(p, size);
  }
  for (auto [p, s] : blocks) std::free(p);
  for (auto [old, size] : blocks) {
    auto* p = static_cast<unsigned char*>(std::calloc(size, 1));
    ASSERT_NE(p, nullptr);
    EXPECT_TRUE(all_zero(p, size)) << "calloc(" << size << ", 1)";
    std::free(p);
    (void)old;
  }
  if (is_pool()) {
    EXPECT_GT(reused, 0u) << "the pool never reused a freed block: reuse went untested";
  }
}

TEST(ShimCalloc, OverflowAndHugeReturnNullWithEnomem) {
  for (auto [count, size] : std::vector<std::pair<std::size_t, std::size_t>>{
           {SIZE_MAX / 2, 3}, {SIZE_MAX, SIZE_MAX}, {std::size_t{1} << 33, std::size_t{1} << 33}, {3, SIZE_MAX / 2},
           {1, SIZE_MAX}, {std::size_t{1} << 24, std::size_t{1} << 24}}) {
    errno = 0;
    void* p = std::calloc(count, size);
    escape(p);
    EXPECT_EQ(p, nullptr) << count << " x " << size;
    EXPECT_EQ(errno, ENOMEM) << count << " x " << size;
  }
}

// --- realloc, reallocarray -----------------------------------------------------------------------

// Walks one block through `sizes`, checking after each step that the bytes both sizes share
// survived, then restamping.
void realloc_chain(const std::vector<std::size_t>& sizes) {
  void* p = nullptr;
  std::size_t size = 0;
  for (std::size_t step = 0; step < sizes.size(); ++step) {
    const std::size_t n = sizes[step];
    void* q = std::realloc(p, n);
    ASSERT_NE(q, nullptr) << size << " -> " << n;
    EXPECT_TRUE(aligned_to(q, 16));
    EXPECT_GE(malloc_usable_size(q), n);
    if (p != nullptr) {
      EXPECT_TRUE(kept_stamp(q, size, n, step)) << "contents lost: " << size << " -> " << n;
    }
    stamp_sparse(q, n, step + 1);
    p = q;
    size = n;
  }
  std::free(p);
}

// A buffer appended to step by step (a string built by +=): every shim must get it to 64 MiB
// with its contents. A bump that moved on every step would leave each old copy behind and map
// the sum of all the sizes (about 32 TiB here), far past any budget.
TEST(ShimRealloc, GrowthLoopOfSmallStepsReachesSixtyFourMebibytes) {
  constexpr std::size_t target = 64 * kMiB, step = 64;
  auto* p = static_cast<unsigned char*>(std::malloc(step));
  ASSERT_NE(p, nullptr);
  std::size_t size = step;
  p[0] = 0x5a;
  while (size < target) {
    size += step;
    p = static_cast<unsigned char*>(std::realloc(p, size));
    ASSERT_NE(p, nullptr) << "realloc to " << size << " failed";
    p[size - 1] = static_cast<unsigned char>(size / step);
  }
  EXPECT_EQ(p[0], 0x5a);
  for (std::size_t at = 2 * step - 1; at < target; at += 4099 * step)
    ASSERT_EQ(p[at], static_cast<unsigned char>((at + 1) / step)) << at;
  std::free(p);
}

TEST(ShimRealloc, SmallGrowthAndShrinkKeepContents) { realloc_chain({16, 17, 100, 1000, 8, 1, 600, 1024, 1040, 33}); }
TEST(ShimRealloc, MediumGrowthAndShrinkKeepContents) {
  realloc_chain({2000, 200000, 900000, 50000, 3000, 1000000, 100});
}
TEST(ShimRealloc, AcrossTheLargeThresholdKeepContents) {
  realloc_chain({500000, 2 * kMiB, 500000, kMiB + kMiB / 2, kMiB - 16, kMiB, 100, 4 * kMiB});
}
TEST(ShimRealloc, LargeToLargeKeepContents) {
  realloc_chain({2 * kMiB, 8 * kMiB, 3 * kMiB, kMiB + kMiB / 2, 40 * kMiB, kMiB + 1, 17 * kMiB});
}

// Many blocks resized in turn, so a block's neighbours are live, freed or resized themselves.
TEST(ShimRealloc, InterleavedBlocksKeepTheirContents) {
  std::mt19937_64 rng(7);
  std::vector<std::pair<void*, std::size_t>> blocks(40, {nullptr, 0});
  std::vector<std::uint64_t> seeds(blocks.size(), 0);
  for (int step = 0; step < 3000; ++step) {
    const std::size_t i = rng() % blocks.size();
    auto& [p, size] = blocks[i];
    const std::size_t n = rng() % 8 == 0 ? 1 + rng() % 300000 : 1 + rng() % 3000;
    void* q = std::realloc(p, n);
    ASSERT_NE(q, nullptr);
    if (p != nullptr) {
      ASSERT_TRUE(stamped(q, std::min(size, n), seeds[i])) << "step " << step << ": " << size << " -> " << n;
    }
    seeds[i] = static_cast<std::uint64_t>(step) + 1000;
    stamp(q, n, seeds[i]);
    p = q;
    size = n;
  }
  for (auto [p, s] : blocks) std::free(p);
}

TEST(ShimRealloc, NullPointerIsMalloc) {
  void* p = std::realloc(nullptr, 100);
  ASSERT_NE(p, nullptr);
  EXPECT_GE(malloc_usable_size(p), 100u);
  void* z = std::realloc(nullptr, 0);  // as malloc(0): a unique pointer
  ASSERT_NE(z, nullptr);
  EXPECT_NE(z, p);
  void* big = std::realloc(nullptr, 3 * kMiB);
  ASSERT_NE(big, nullptr);
  stamp_sparse(big, 3 * kMiB, 1);
  for (void* x : {p, z, big}) std::free(x);
}

TEST(ShimRealloc, ZeroSizeFreesAndReturnsNull) {
  for (std::size_t size : {std::size_t{100}, std::size_t{5000}, 2 * kMiB}) {
    void* p = std::malloc(size);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(std::realloc(p, 0), nullptr) << size;
  }
}

// A realloc that fails leaves the block as it was.
TEST(ShimRealloc, FailureReturnsNullWithEnomemAndKeepsTheBlock) {
  for (std::size_t size : {std::size_t{100}, std::size_t{5000}, 2 * kMiB}) {
    void* p = std::malloc(size);
    ASSERT_NE(p, nullptr);
    stamp_sparse(p, size, 3);
    for (std::size_t n : {SIZE_MAX, SIZE_MAX - 4096, std::size_t{1} << 48}) {
      errno = 0;
      void* q = std::realloc(p, n);
      escape(q);
      EXPECT_EQ(q, nullptr) << size << " -> " << n;
      EXPECT_EQ(errno, ENOMEM);
      EXPECT_TRUE(stamped_sparse(p, size, 3)) << "a failed realloc damaged the block of " << size;
    }
    std::free(p);
  }
}

// The pools shrink in place (the tail goes back to the pool) and grow into that freed tail; the
// bump shim grows the last block of its chunk and shrinks anywhere. This thread makes no other
// allocation between the calls, so the neighbour is still free.
TEST(ShimRealloc, InPlaceWhereTheShimCan) {
  if (is_pool()) {
    void* p = std::malloc(100000);
    ASSERT_NE(p, nullptr);
    stamp(p, 1000, 5);
    void* q = std::realloc(p, 1000);
    EXPECT_EQ(q, p) << "a shrink to 1% moved the block";
    void* r = std::realloc(q, 50000);
    EXPECT_EQ(r, q) << "growth into the tail just given back moved the block";
    EXPECT_TRUE(stamped(r, 1000, 5));
    void* s = std::realloc(r, 30000);
    EXPECT_EQ(s, r);
    std::free(s);
  } else {
    // A fresh chunk may be needed once; after that the block is at the chunk's end.
    bool grown_in_place = false;
    for (int attempt = 0; attempt < 3 && !grown_in_place; ++attempt) {
      void* p = std::malloc(16);
      stamp(p, 16, 6);
      void* q = std::realloc(p, 4000);
      ASSERT_NE(q, nullptr);
      EXPECT_TRUE(stamped(q, 16, 6));
      grown_in_place = q == p;
      std::free(q);
    }
    EXPECT_TRUE(grown_in_place) << "the last block of the chunk was never grown in place";
    void* big = std::malloc(5000);
    void* other = std::malloc(16);  // big is no longer last: a shrink is still in place
    EXPECT_EQ(std::realloc(big, 100), big);
    EXPECT_EQ(malloc_usable_size(big), 100u);
    std::free(other);
    std::free(big);
  }
}

TEST(ShimReallocarray, MultipliesAndDetectsOverflow) {
  auto* p = static_cast<int*>(reallocarray(nullptr, 10, sizeof(int)));
  ASSERT_NE(p, nullptr);
  for (int i = 0; i < 10; ++i) p[i] = i * 7;
  auto* q = static_cast<int*>(reallocarray(p, 1000, sizeof(int)));
  ASSERT_NE(q, nullptr);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(q[i], i * 7);
  EXPECT_GE(malloc_usable_size(q), 1000 * sizeof(int));
  for (auto [count, size] : std::vector<std::pair<std::size_t, std::size_t>>{
           {SIZE_MAX / 2, 3}, {SIZE_MAX, 2}, {std::size_t{1} << 32, std::size_t{1} << 32}}) {
    errno = 0;
    EXPECT_EQ(reallocarray(q, count, size), nullptr) << count << " x " << size;
    EXPECT_EQ(errno, ENOMEM);
    for (int i = 0; i < 10; ++i) ASSERT_EQ(q[i], i * 7) << "the block changed on overflow";
  }
  std::free(q);
}

// --- aligned allocation --------------------------------------------------------------------------

std::vector<std::size_t> alignments() {
  std::vector<std::size_t> all;
  for (std::size_t a = 16; a <= 2 * kMiB; a *= 2) all.push_back(a);
  return all;
}
const std::vector<std::size_t> kAlignedSizes = {1, 100, 4097, 100000, kMiB, 3 * kMiB + 5};

void check_aligned_block(void* p, std::size_t alignment, std::size_t size, const char* what) {
  ASSERT_NE(p, nullptr) << what << "(" << alignment << ", " << size << ")";
  EXPECT_TRUE(aligned_to(p, alignment)) << what << "(" << alignment << ", " << size << ") = " << p;
  EXPECT_GE(malloc_usable_size(p), size) << what;
  stamp_sparse(p, size, alignment + size);
  EXPECT_TRUE(stamped_sparse(p, size, alignment + size));
}

TEST(ShimAligned, PosixMemalignEveryAlignmentSmallAndLarge) {
  for (std::size_t alignment : alignments())
    for (std::size_t size : kAlignedSizes) {
      void* p = nullptr;
      errno = 1234;
      ASSERT_EQ(posix_memalign(&p, alignment, size), 0) << alignment << ", " << size;
      EXPECT_EQ(errno, 1234);
      check_aligned_block(p, alignment, size, "posix_memalign");
      std::free(p);
    }
}

TEST(ShimAligned, AlignedAllocEveryAlignmentSmallAndLarge) {
  for (std::size_t alignment : alignments())
    for (std::size_t size : kAlignedSizes) {
      void* p = aligned_alloc(alignment, size);
      check_aligned_block(p, alignment, size, "aligned_alloc");
      std::free(p);
    }
  // Alignments below malloc's own are valid and get at least 16.
  for (std::size_t alignment : {1, 2, 4, 8}) {
    void* p = aligned_alloc(alignment, 10);
    check_aligned_block(p, 16, 10, "aligned_alloc");
    std::free(p);
  }
}

TEST(ShimAligned, MemalignEveryAlignmentSmallAndLarge) {
  for (std::size_t alignment : alignments())
    for (std::size_t size : kAlignedSizes) {
      void* p = memalign(alignment, size);
      check_aligned_block(p, alignment, size, "memalign");
      std::free(p);
    }
}

// Aligned blocks are ordinary blocks: realloc keeps their contents (not their alignment).
TEST(ShimAligned, AlignedBlocksReallocAndFreeLikeOthers) {
  for (std::size_t alignment : {64, 4096, 1 << 16, 2 << 20}) {
    void* p = aligned_alloc(alignment, 300);
    ASSERT_NE(p, nullptr);
    stamp(p, 300, 9);
    void* q = std::realloc(p, 300000);
    ASSERT_NE(q, nullptr);
    EXPECT_TRUE(stamped(q, 300, 9));
    void* r = std::realloc(q, 3 * kMiB);
    ASSERT_NE(r, nullptr);
    EXPECT_TRUE(stamped(r, 300, 9));
    std::free(r);
  }
}

TEST(ShimAligned, PosixMemalignRejectsBadAlignmentsLeavingErrnoAndOutAlone) {
  for (std::size_t alignment : {0, 1, 2, 4, 3, 24, 48, 100, 4095}) {
    void* out = reinterpret_cast<void*>(0x1234);
    errno = 777;
    EXPECT_EQ(posix_memalign(&out, alignment, 64), EINVAL) << alignment;
    EXPECT_EQ(errno, 777) << "posix_memalign changed errno";
    EXPECT_EQ(out, reinterpret_cast<void*>(0x1234)) << "posix_memalign wrote *out on failure";
  }
  for (std::size_t size : {SIZE_MAX, std::size_t{1} << 48}) {
    void* out = reinterpret_cast<void*>(0x1234);
    errno = 777;
    EXPECT_EQ(posix_memalign(&out, 64, size), ENOMEM);
    EXPECT_EQ(errno, 777);
    EXPECT_EQ(out, reinterpret_cast<void*>(0x1234));
  }
}

TEST(ShimAligned, AlignedAllocRejectsNonPowersOfTwo) {
  for (std::size_t alignment : {0, 3, 24, 48, 1000, 4097}) {
    errno = 0;
    void* p = aligned_alloc(alignment, 64);
    escape(p);
    EXPECT_EQ(p, nullptr) << alignment;
    EXPECT_EQ(errno, EINVAL) << alignment;
  }
  errno = 0;
  EXPECT_EQ(aligned_alloc(64, opaque(SIZE_MAX)), nullptr);
  EXPECT_EQ(errno, ENOMEM);
}

// Alignments no address space can satisfy fail cleanly (no overflow in the padding arithmetic).
TEST(ShimAligned, HugeAlignmentsFailWithEnomem) {
  for (std::size_t alignment : {std::size_t{1} << 40, std::size_t{1} << 62, std::size_t{1} << 63})
    for (std::size_t size : {std::size_t{16}, kMiB, 4 * kMiB}) {
      void* out = nullptr;
      EXPECT_EQ(posix_memalign(&out, alignment, size), ENOMEM) << alignment << ", " << size;
      errno = 0;
      void* p = aligned_alloc(alignment, size);
      escape(p);
      EXPECT_EQ(p, nullptr) << alignment << ", " << size;
      EXPECT_EQ(errno, ENOMEM) << alignment << ", " << size;
    }
}

// Every size whose rounding, header or alignment arithmetic could wrap — SIZE_MAX down by up to
// two pages plus a header, and the same above PTRDIFF_MAX (the largest object) — through every
// entry point that takes a size: NULL with ENOMEM (posix_memalign: the code), never a block.
TEST(ShimHuge, EveryOverflowingSizeFailsWithEnomemInEveryEntryPoint) {
  std::vector<std::size_t> sizes;
  for (std::size_t k = 0; k <= 2 * kPage + 64; ++k) {
    sizes.push_back(SIZE_MAX - k);
    sizes.push_back(static_cast<std::size_t>(PTRDIFF_MAX) + 1 + k);
  }
  void* live = std::malloc(100);
  ASSERT_NE(live, nullptr);
  std::memset(live, 0x3C, 100);
  for (const std::size_t size : sizes) {
    const std::size_t n = opaque(size);
    errno = 0;
    void* p = std::malloc(n);
    escape(p);
    ASSERT_EQ(p, nullptr) << "malloc(" << n << ")";
    ASSERT_EQ(errno, ENOMEM) << "malloc(" << n << ")";
    errno = 0;
    p = std::calloc(1, n);
    escape(p);
    ASSERT_EQ(p, nullptr) << "calloc(1, " << n << ")";
    ASSERT_EQ(errno, ENOMEM) << "calloc(1, " << n << ")";
    errno = 0;
    p = std::realloc(live, n);
    escape(p);
    ASSERT_EQ(p, nullptr) << "realloc(p, " << n << ")";
    ASSERT_EQ(errno, ENOMEM) << "realloc(p, " << n << ")";
    for (const std::size_t alignment : {std::size_t{16}, std::size_t{64}, kPage, std::size_t{1} << 20}) {
      void* out = nullptr;
      ASSERT_EQ(posix_memalign(&out, alignment, n), ENOMEM) << alignment << ", " << n;
      ASSERT_EQ(out, nullptr);
      errno = 0;
      p = aligned_alloc(alignment, n);
      escape(p);
      ASSERT_EQ(p, nullptr) << "aligned_alloc(" << alignment << ", " << n << ")";
      ASSERT_EQ(errno, ENOMEM) << "aligned_alloc(" << alignment << ", " << n << ")";
    }
  }
  for (int i = 0; i < 100; ++i)
    ASSERT_EQ(static_cast<unsigned char*>(live)[i], 0x3C) << "a failed realloc damaged the block";
  std::free(live);
}

// glibc's memalign rounds an alignment that is not a power of two up to one.
TEST(ShimAligned, MemalignRoundsAlignmentUp) {
  for (auto [asked, expected] : std::vector<std::pair<std::size_t, std::size_t>>{
           {0, 16}, {1, 16}, {8, 16}, {24, 32}, {48, 64}, {100, 128}, {3000, 4096}, {kMiB + 1, 2 * kMiB}}) {
    void* p = memalign(asked, 100);
    ASSERT_NE(p, nullptr) << asked;
    EXPECT_TRUE(aligned_to(p, expected)) << "memalign(" << asked << ") = " << p;
    std::memset(p, 1, 100);
    std::free(p);
  }
  errno = 0;
  EXPECT_EQ(memalign(opaque(SIZE_MAX / 2 + 2), 16), nullptr);
  EXPECT_EQ(errno, EINVAL);
}

TEST(ShimAligned, VallocAndPvallocArePageAligned) {
  for (std::size_t size : {std::size_t{1}, std::size_t{100}, kPage, kPage + 1, 5 * kPage - 3, 3 * kMiB}) {
    void* v = valloc(size);
    ASSERT_NE(v, nullptr);
    EXPECT_TRUE(aligned_to(v, kPage)) << "valloc(" << size << ")";
    EXPECT_GE(malloc_usable_size(v), size);
    std::memset(v, 2, size);
    std::free(v);
    // pvalloc rounds the size up to whole pages, all of them the caller's.
    void* pv = pvalloc(size);
    ASSERT_NE(pv, nullptr);
    EXPECT_TRUE(aligned_to(pv, kPage)) << "pvalloc(" << size << ")";
    const std::size_t rounded = (size + kPage - 1) / kPage * kPage;
    EXPECT_GE(malloc_usable_size(pv), rounded) << "pvalloc(" << size << ")";
    std::memset(pv, 3, rounded);
    std::free(pv);
  }
  void* pv0 = pvalloc(0);
  ASSERT_NE(pv0, nullptr);
  EXPECT_TRUE(aligned_to(pv0, kPage));
  EXPECT_GE(malloc_usable_size(pv0), kPage);
  std::free(pv0);
  errno = 0;
  EXPECT_EQ(pvalloc(SIZE_MAX), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  errno = 0;
  EXPECT_EQ(valloc(SIZE_MAX), nullptr);
  EXPECT_EQ(errno, ENOMEM);
}

// --- C++ -------------------------------------------------------------------------------------------

template <std::size_t Alignment>
struct alignas(Alignment) Aligned {
  unsigned char bytes[Alignment + 44];
};

template <std::size_t Alignment>
void check_aligned_new() {
  auto* one = new Aligned<Alignment>;
  escape(one);
  EXPECT_TRUE(aligned_to(one, Alignment)) << "new of alignas(" << Alignment << ")";
  std::memset(one->bytes, 1, sizeof one->bytes);
  delete one;
  auto* many = new Aligned<Alignment>[7];
  escape(many);
  EXPECT_TRUE(aligned_to(many, Alignment)) << "new[] of alignas(" << Alignment << ")";
  std::memset(static_cast<void*>(many), 2, sizeof(Aligned<Alignment>) * 7);
  delete[] many;
}

TEST(ShimNew, ScalarArrayAlignedAndSizedForms) {
  auto* i = new int(42);
  escape(i);
  EXPECT_EQ(*i, 42);
  delete i;
  auto* arr = new double[1000]();
  escape(arr);
  EXPECT_TRUE(aligned_to(arr, 16));
  EXPECT_EQ(arr[999], 0.0);
  delete[] arr;
  void* sized = ::operator new(300);
  escape(sized);
#ifdef __cpp_sized_deallocation
  ::operator delete(sized, 300);
#else
  ::operator delete(sized);
#endif
  check_aligned_new<32>();
  check_aligned_new<64>();
  check_aligned_new<256>();
  check_aligned_new<4096>();
  check_aligned_new<65536>();
  for (std::size_t alignment : {std::size_t{128}, std::size_t{1} << 21}) {
    void* p = ::operator new(5000, std::align_val_t{alignment});
    escape(p);
    EXPECT_TRUE(aligned_to(p, alignment));
    ::operator delete(p, std::align_val_t{alignment});
  }
  void* big = ::operator new[](3 * kMiB);
  escape(big);
  ::operator delete[](big);
}

TEST(ShimNew, FailureThrowsOrReturnsNullForNothrow) {
  EXPECT_THROW(escape(::operator new(SIZE_MAX / 2)), std::bad_alloc);
  EXPECT_THROW(escape(::operator new(std::size_t{1} << 48, std::align_val_t{64})), std::bad_alloc);
  void* p = ::operator new(SIZE_MAX / 2, std::nothrow);
  escape(p);
  EXPECT_EQ(p, nullptr);
  void* q = ::operator new[](std::size_t{1} << 48, std::align_val_t{4096}, std::nothrow);
  escape(q);
  EXPECT_EQ(q, nullptr);
}

// Containers churned against a model kept in a fixed array (no allocation): what they hold at
// the end is exactly what was put there.
TEST(ShimNew, StandardContainersChurn) {
  constexpr int kKeys = 5000;
  std::mt19937_64 rng(11);
  std::map<int, std::string> tree;
  std::unordered_map<int, std::vector<int>> hashed;
  static int model_string[kKeys], model_vector[kKeys];  // lengths; -1: absent
  std::fill(std::begin(model_string), std::end(model_string), -1);
  std::fill(std::begin(model_vector), std::end(model_vector), -1);
  for (int i = 0; i < 20000; ++i) {
    const int key = static_cast<int>(rng() % kKeys);
    if (rng() % 3 == 0) {
      tree.erase(key);
      hashed.erase(key);
      model_string[key] = model_vector[key] = -1;
    } else {
      const auto length = static_cast<std::size_t>(rng() % 200);
      tree[key] = std::string(length, static_cast<char>('a' + key % 26));
      model_string[key] = static_cast<int>(length);
      const auto count = static_cast<std::size_t>(rng() % 64);
      hashed[key].resize(count, key);  // keeps the old elements (all == key)
      model_vector[key] = static_cast<int>(count);
    }
  }
  std::size_t strings = 0, vectors = 0;
  for (int key = 0; key < kKeys; ++key) {
    strings += model_string[key] >= 0 ? 1 : 0;
    vectors += model_vector[key] >= 0 ? 1 : 0;
  }
  ASSERT_EQ(tree.size(), strings);
  ASSERT_EQ(hashed.size(), vectors);
  for (const auto& entry : tree) {
    const int key = entry.first;
    ASSERT_EQ(static_cast<int>(entry.second.size()), model_string[key]) << "key " << key;
    EXPECT_EQ(entry.second.find_first_not_of(static_cast<char>('a' + key % 26)), std::string::npos) << "key " << key;
  }
  for (const auto& entry : hashed) {
    const int key = entry.first;
    ASSERT_EQ(static_cast<int>(entry.second.size()), model_vector[key]) << "key " << key;
    EXPECT_EQ(std::count(entry.second.begin(), entry.second.end(), key), model_vector[key]) << "key " << key;
  }
  std::vector<std::string> growing;
  for (int i = 0; i < 50000; ++i) growing.push_back(std::to_string(i) + std::string(static_cast<std::size_t>(i % 40), 'x'));
  std::string joined;
  std::size_t expected_length = 0;
  for (const auto& text : growing) {
    joined += text;
    expected_length += text.size();
  }
  EXPECT_EQ(joined.size(), expected_length);
  EXPECT_EQ(growing[49999], "49999" + std::string(49999 % 40, 'x'));
  EXPECT_EQ(joined.substr(0, 12), "01x2xx3xxx4x");
}

// --- threads and fork ------------------------------------------------------------------------------

// 1000 threads start and exit (50 at a time), each allocating and freeing, and freeing blocks
// that earlier threads allocated (their thread caches are gone by then).
TEST(ShimThreads, AThousandThreadsStartAllocateAndExit) {
  struct Block {
    void* p;
    std::size_t size;
    std::uint64_t seed;
  };
  std::mutex exchange_mutex;
  std::vector<Block> exchange;
  std::atomic<std::size_t> damaged{0}, failed{0};
  std::atomic<std::uint64_t> next_seed{1};
  constexpr int kWaves = 20, kPerWave = 50;
  for (int wave = 0; wave < kWaves; ++wave) {
    std::vector<std::thread> threads;
    threads.reserve(kPerWave);
    for (int t = 0; t < kPerWave; ++t) {
      threads.emplace_back([&, t] {
        std::vector<Block> mine;
        for (int i = 0; i < 40; ++i) {
          const std::size_t size = (i == 0 && t % 10 == 0) ? 2 * kMiB : 1 + static_cast<std::size_t>((i * 131 + t * 17) % 3000);
          void* p = std::malloc(size);
          if (p == nullptr) {
            failed.fetch_add(1);
            continue;
          }
          const std::uint64_t seed = next_seed.fetch_add(1);
          stamp_sparse(p, size, seed);
          mine.push_back({p, size, seed});
        }
        std::vector<Block> theirs;
        {
          std::lock_guard lock(exchange_mutex);
          theirs.swap(exchange);
          exchange.assign(mine.begin() + static_cast<std::ptrdiff_t>(mine.size() / 2), mine.end());
        }
        mine.resize(mine.size() / 2);
        for (const auto* list : {&mine, &theirs})
          for (const Block& b : *list) {
            if (!stamped_sparse(b.p, b.size, b.seed)) damaged.fetch_add(1);
            std::free(b.p);
          }
      });
    }
    for (auto& th : threads) th.join();
  }
  for (const Block& b : exchange) {
    EXPECT_TRUE(stamped_sparse(b.p, b.size, b.seed));
    std::free(b.p);
  }
  EXPECT_EQ(failed.load(), 0u);
  EXPECT_EQ(damaged.load(), 0u);
}

// fork() while other threads allocate: the child (which has only the forking thread) must find
// the allocator usable — not a lock inherited taken — allocate, free, start a thread and exit 0.
// An alarm turns a hang in the child into a failure.
TEST(ShimFork, ForkWhileOtherThreadsAllocate) {
  std::atomic<bool> stop{false};
  std::atomic<std::size_t> ops{0};
  std::vector<std::thread> workers;
  // Stops and joins the workers however the test ends (a failed ASSERT returns early).
  struct Joiner {
    std::atomic<bool>& stop;
    std::vector<std::thread>& workers;
    ~Joiner() {
      stop.store(true);
      for (auto& w : workers) w.join();
    }
  } joiner{stop, workers};
  for (int t = 0; t < 4; ++t) {
    workers.emplace_back([&, t] {
      std::vector<void*> held;
      for (std::size_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        const std::size_t size = (i % 97 == 0) ? 2 * kMiB : 16 + (i * 37 + static_cast<std::size_t>(t) * 11) % 1000;
        void* p = std::malloc(size);
        if (p != nullptr) std::memset(p, 1, std::min<std::size_t>(size, 256));
        held.push_back(p);
        if (held.size() > 64) {
          for (void* q : held) std::free(q);
          held.clear();
          // The bump shim never reuses memory: unpaced, four threads would map gigabytes
          // (and make each fork copy their page tables). It has no lock a fork could catch.
          if (shim() == Shim::bump) std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        ops.fetch_add(1, std::memory_order_relaxed);
      }
      for (void* q : held) std::free(q);
    });
  }
  while (ops.load() < 2000) std::this_thread::yield();
  for (int round = 0; round < 20; ++round) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::alarm(20);
      int status = 0;
      std::vector<void*> blocks;
      for (std::size_t i = 0; i < 500; ++i) blocks.push_back(std::malloc(16 + (i * 53) % 5000));
      for (void* p : blocks) status |= p == nullptr ? 1 : 0;
      for (void* p : blocks) std::free(p);
      void* big = std::malloc(3 * kMiB);
      status |= big == nullptr ? 1 : 0;
      std::free(big);
      std::thread child_thread([&] {
        std::vector<std::string> strings;
        for (int i = 0; i < 1000; ++i) strings.push_back(std::string(static_cast<std::size_t>(i % 300), 'c'));
      });
      child_thread.join();
      ::_exit(status);
    }
    ASSERT_GT(pid, 0) << "fork failed";
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status)) << "round " << round << ": child killed by signal "
                                   << (WIFSIGNALED(status) ? WTERMSIG(status) : 0) << " (14, SIGALRM: it hung)";
    EXPECT_EQ(WEXITSTATUS(status), 0) << "round " << round << ": an allocation failed in the child";
  }
}

// --- the checked pool: a bad free aborts naming the fault -----------------------------------------

class CheckedShimDeathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (shim() != Shim::checked) GTEST_SKIP() << "only the checked shim validates frees";
    GTEST_FLAG_SET(death_test_style, "threadsafe");
  }
};

// Each bad free happens inside the death statement, right after the block's last good use:
// any allocation in between (GoogleTest's own, in the child) could be handed the freed block
// and make the second free a valid one.
TEST_F(CheckedShimDeathTest, DoubleFree) {
  EXPECT_DEATH(
      {
        void* p = std::malloc(100);
        std::free(p);
        std::free(p);
      },
      "^alloclab: coalescing_pool: double free");
  EXPECT_DEATH(
      {
        void* p = std::malloc(50000);  // not cached, merged with its free neighbours
        std::free(p);
        std::free(p);
      },
      "^alloclab: coalescing_pool: double free");
}

TEST_F(CheckedShimDeathTest, FreeAfterReallocToZero) {
  EXPECT_DEATH(
      {
        void* p = std::malloc(2000);
        if (std::realloc(p, 0) == nullptr) std::free(p);
      },
      "^alloclab: coalescing_pool: double free");
}

TEST_F(CheckedShimDeathTest, InteriorPointerFree) {
  auto* p = static_cast<char*>(std::malloc(256));
  std::memset(p, 0x11, 256);
  EXPECT_DEATH(std::free(p + 64), "^alloclab: coalescing_pool: .*not handed out");
  EXPECT_DEATH(std::free(p + 8), "^alloclab: coalescing_pool: misaligned");
  EXPECT_DEATH(escape(std::realloc(p + 64, 1000)), "^alloclab: coalescing_pool: .*not handed out");
  EXPECT_DEATH((void)malloc_usable_size(p + 64), "^alloclab: coalescing_pool: .*not handed out");
  std::free(p);
}

TEST_F(CheckedShimDeathTest, ForeignPointerFree) {
  alignas(64) static char static_buffer[256] = {};
  alignas(16) char on_stack[64] = {};
  escape(on_stack);
  EXPECT_DEATH(std::free(static_buffer + 64), "^alloclab: alloclab_malloc: foreign pointer");
  EXPECT_DEATH(std::free(on_stack), "^alloclab: alloclab_malloc: foreign pointer");
  EXPECT_DEATH(escape(std::realloc(static_buffer + 64, 10)), "^alloclab: alloclab_malloc: foreign pointer");
}

// A block of its own mapping (>= 1 MiB) freed twice: its mapping is gone, so the shim must not
// read its header there to decide (a SIGSEGV is a crash, not a fault named).
TEST_F(CheckedShimDeathTest, DoubleFreeOfALargeBlock) {
  EXPECT_DEATH(
      {
        void* p = std::malloc(2 * kMiB);
        std::free(p);
        std::free(p);
      },
      "^alloclab: ");
}

TEST_F(CheckedShimDeathTest, InteriorPointerOfALargeBlock) {
  auto* p = static_cast<char*>(std::malloc(2 * kMiB));
  std::memset(p, 0x22, 2 * kMiB);
  EXPECT_DEATH(std::free(p + 4096), "^alloclab: ");
  std::free(p);
}

}  // namespace

// Refuses to run the tests unless the shim is the malloc in use (listing them is fine).
int main(int argc, char** argv) {
  bool listing = false;
  for (int i = 1; i < argc; ++i) listing |= std::string_view(argv[i]).starts_with("--gtest_list_tests");
  // A death test's child re-runs main: it is checked like its parent.
  if (!listing) {
    const std::string expected = preloaded_file();
    const std::string bound = defining_file("malloc");
    if (shim() == Shim::unknown || bound != expected) {
      std::fprintf(stderr, "malloc_shim_test: run me with LD_PRELOAD=<an alloclab shim>; malloc is %s's (LD_PRELOAD '%s')\n",
                   bound.c_str(), std::getenv("LD_PRELOAD") ? std::getenv("LD_PRELOAD") : "");
      return 1;
    }
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
