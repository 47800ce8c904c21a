// --threads: "4", "1,2,8" or "1..64" (doubling from the first to the last, the last included).
#pragma once

#include <string>
#include <vector>

namespace alloclab::harness {

inline constexpr int max_threads = 1024;  // a sane ceiling: far above any machine's cores x 4

// Parses the spec or exits 2 with one line naming the bad value and the valid forms.
std::vector<int> parse_thread_spec(const std::string& spec);

}  // namespace alloclab::harness
