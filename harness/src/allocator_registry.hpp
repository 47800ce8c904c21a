// Every allocator the driver knows, as compile-time lists (so each case is instantiated for the
// concrete type), and the preloaded peers it only lists.
//
// One source of truth: an allocator's name, description and traits are members of its type;
// its kind is the ONE list it is registered in:
//   reference   References below (reference_allocators.hpp)
//   library     alloclab::LibraryAllocators (allocators/include/alloclab/alloclab.hpp), measured
//               through measured_variant_t: Counting::off where the type has a Counting parameter
//   peer        Peers below (peer_allocators.hpp)
//   preloaded   preloaded_peers below: measured by the sweep through the `malloc` adapter with
//               the library preloaded, so not runnable as --allocators of the driver itself.
// How a run builds each type is generic (AllocatorFactory in case_runner.hpp); the one special
// case is below.
#pragma once

#include <array>
#include <memory>
#include <string_view>
#include <type_traits>

#include "alloclab/alloclab.hpp"
#include "case_runner.hpp"
#include "peer_allocators.hpp"
#include "reference_allocators.hpp"

namespace alloclab::harness {

using alloclab::TypeList;

// null_free last: the charts' reference looks go by this order, and the first three keep theirs.
using References = TypeList<NullAllocator, BumpLimit, BumpCold, NullFreeAllocator>;
using Peers = TypeList<MallocAllocator, TbbMallocAllocator, PmrMonotonic, PmrUnsyncPool, PmrSyncPool>;

// The variant of a library allocator the driver measures: without per-request counters where
// the type offers the choice (with_counting), the fastest each design gets; their
// overhead_ratio is then not reported.
template <class A>
using measured_variant_t = with_counting_t<A, Counting::off>;

template <class List>
struct MeasuredVariants;
template <class... As>
struct MeasuredVariants<TypeList<As...>> {
  using type = TypeList<measured_variant_t<As>...>;
};
using MeasuredLibrary = typename MeasuredVariants<LibraryAllocators>::type;

// Every allocator the driver runs, in `--list` order.
using DriverAllocators = type_list_concat_t<References, MeasuredLibrary, Peers>;

enum class AllocatorKind { reference, library, peer, preloaded };

constexpr std::string_view kind_name(AllocatorKind kind) {
  switch (kind) {
    case AllocatorKind::reference: return "reference";
    case AllocatorKind::library: return "library";
    case AllocatorKind::peer: return "peer";
    case AllocatorKind::preloaded: return "preloaded";
  }
  return "?";
}

// Peers measured through the `malloc` adapter with their library preloaded (LD_PRELOAD) by the
// sweep, which checks in the process that malloc resolves into a file whose name contains
// `expect_in_path` (alloclab --expect-malloc) before trusting a figure.
//
// Where the library is (`--list --json` says it as "library_from"):
//   system  a file name in the system's library folders (a Debian package installs it)
//   build   built with alloclab (allocators/, the malloc shims over its own allocators): a file
//           in the build tree's allocators/ folder, beside the driver's harness/ folder, so the
//           tools find it relative to the driver they run, whatever the machine's paths.
enum class LibraryFrom { system, build };

constexpr std::string_view library_from_name(LibraryFrom from) {
  return from == LibraryFrom::build ? "build" : "system";
}

struct PreloadedPeer {
  std::string_view name;
  std::string_view description;
  std::string_view library;         // the shared object preloaded: its file name (see LibraryFrom)
  std::string_view expect_in_path;  // text the loaded library's file name must contain
  LibraryFrom library_from = LibraryFrom::system;
  // false: free() does nothing (a bump malloc). The sweep skips a workload that needs free with
  // it, as the driver skips an arena, and the programs runner calls a run that ran out of its
  // memory "did not fit" rather than a crash.
  bool supports_free = true;
};
inline constexpr std::string_view preloaded_measured_as = MallocAllocator::name;
inline constexpr std::array<PreloadedPeer, 6> preloaded_peers{{
    {"jemalloc", "jemalloc's malloc/free, preloaded under the malloc adapter", "libjemalloc.so.2", "libjemalloc"},
    {"mimalloc", "mimalloc's malloc/free, preloaded under the malloc adapter", "libmimalloc.so.2", "libmimalloc"},
    {"tcmalloc", "gperftools tcmalloc (minimal) malloc/free, preloaded under the malloc adapter",
     "libtcmalloc_minimal.so.4", "libtcmalloc"},
    {"tbbmalloc_proxy", "oneTBB's malloc proxy (scalable_malloc behind malloc/free), preloaded",
     "libtbbmalloc_proxy.so.2", "libtbbmalloc"},
    {"alloclab_malloc", "alloclab's general-purpose malloc shim (thread_cached_pool), preloaded",
     "liballoclab_malloc.so", "liballoclab_malloc", LibraryFrom::build},
    {"alloclab_bump", "alloclab's bump malloc shim, free does nothing: the speed of light, its peak RSS the price",
     "liballoclab_bump.so", "liballoclab_bump", LibraryFrom::build, false},
}};

// Its first buffer as large as a chained_arena block (64 KiB; later ones grow by its own
// policy): with the default (1 KiB in libstdc++) every release() would restart the growth and
// the comparison would measure buffer sizing rather than the bump.
template <>
struct AllocatorFactory<PmrMonotonic> {
  static std::unique_ptr<PmrMonotonic> make(const CaseConfig&, int /*threads*/) {
    return std::make_unique<PmrMonotonic>(std::in_place, ChainedArena::default_block_size);
  }
};

}  // namespace alloclab::harness
