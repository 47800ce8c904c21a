// The allocators as `--list` and name validation see them (from the compile-time list).
#pragma once

#include <string_view>
#include <vector>

#include "allocator_registry.hpp"

namespace alloclab::harness {

struct AllocatorListing {
  std::string_view name;
  std::string_view description;
  bool thread_safe;
  bool supports_free;
};

template <class... As>
std::vector<AllocatorListing> listing_of(TypeList<As...>) {
  return {AllocatorListing{As::name, description_of<As>(), allocator_traits<As>::thread_safe,
                           allocator_traits<As>::supports_free}...};
}

inline const std::vector<AllocatorListing>& allocator_listing() {
  static const std::vector<AllocatorListing> list = listing_of(AllAllocators{});
  return list;
}

}  // namespace alloclab::harness
