#include "test_support.hpp"

#include <algorithm>
#include <thread>

namespace alloclab::test {

std::size_t oversubscribed_threads() {
  const std::size_t cores = std::max(1u, std::thread::hardware_concurrency());
  return std::max<std::size_t>(8, 2 * cores);
}

}  // namespace alloclab::test
