// The allocators as `--list` and name validation see them (from the compile-time lists).
#pragma once

#include <string_view>
#include <vector>

#include "allocator_registry.hpp"

namespace alloclab::harness {

struct AllocatorListing {
  std::string_view name;
  AllocatorKind kind;
  std::string_view description;
  bool thread_safe;
  bool supports_free;
};

// What every registered allocator type must state besides the contract.
template <class A>
concept Described = requires {
  { A::description } -> std::convertible_to<std::string_view>;
};

template <class A>
AllocatorListing listing_entry(AllocatorKind kind) {
  static_assert(Described<A>, "state the allocator's one-line description next to its name: "
                              "static constexpr std::string_view description = \"...\";");
  return {A::name, kind, A::description, allocator_traits<A>::thread_safe, allocator_traits<A>::supports_free};
}

template <class... As>
void append_listing(std::vector<AllocatorListing>& out, AllocatorKind kind, TypeList<As...>) {
  (out.push_back(listing_entry<As>(kind)), ...);
}

// The allocators the driver runs, in `--list` order (References, library, Peers).
inline const std::vector<AllocatorListing>& allocator_listing() {
  static const std::vector<AllocatorListing> list = [] {
    std::vector<AllocatorListing> out;
    append_listing(out, AllocatorKind::reference, References{});
    append_listing(out, AllocatorKind::library, MeasuredLibrary{});
    append_listing(out, AllocatorKind::peer, Peers{});
    return out;
  }();
  return list;
}

}  // namespace alloclab::harness
