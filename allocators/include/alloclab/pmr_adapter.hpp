// alloclab/pmr_adapter.hpp — any alloclab allocator as a std::pmr::memory_resource.
//
// pmr requires do_allocate to throw on failure, so this is the one place in the library that
// throws: std::bad_alloc when the allocator returns nullptr. The resource does not own the
// allocator; two adapters compare equal only when they are the same object, since memory from
// one allocator must go back to the same allocator.
#pragma once

#include <cstddef>
#include <memory_resource>
#include <new>

#include "alloclab/allocator.hpp"

namespace alloclab {

template <Allocator A>
class PmrAdapter final : public std::pmr::memory_resource {
 public:
  explicit PmrAdapter(A& allocator) noexcept : allocator_(&allocator) {}
  [[nodiscard]] A& allocator() const noexcept { return *allocator_; }

 private:
  void* do_allocate(std::size_t bytes, std::size_t alignment) override {
    // pmr may ask for 0 bytes and expects a valid pointer; the contract gives none for 0.
    void* p = allocator_->allocate(bytes == 0 ? 1 : bytes, alignment);
    if (p == nullptr) throw std::bad_alloc();
    return p;
  }
  void do_deallocate(void* p, std::size_t bytes, std::size_t /*alignment*/) override {
    allocator_->deallocate(p, bytes == 0 ? 1 : bytes);
  }
  [[nodiscard]] bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
    return this == &other;
  }

  A* allocator_;
};

}  // namespace alloclab
