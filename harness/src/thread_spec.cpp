#include "thread_spec.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdint>
#include <cstdlib>

#include "command_line.hpp"

namespace alloclab::harness {
namespace {

[[noreturn]] void bad(const std::string& spec, const std::string& why) {
  std::fprintf(stderr,
               "alloclab: bad --threads '%s': %s (valid: a count like 4, a list like 1,2,8, or a "
               "doubling range like 1..64; each from 1 to %d)\n",
               command_line::shown(spec).c_str(), why.c_str(), max_threads);
  std::exit(2);
}

int count(const std::string& spec, const std::string& text) {
  if (text.empty()) bad(spec, "an empty count");
  if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    bad(spec, "'" + command_line::shown(text) + "' is not a whole number");
  if (!command_line::whole_number(text, 0, UINT64_MAX)) bad(spec, "'" + text + "' is above the ceiling");
  const std::uint64_t value = *command_line::whole_number(text, 0, UINT64_MAX);
  if (value < 1) bad(spec, "'" + text + "' is not positive");
  if (value > static_cast<std::uint64_t>(max_threads)) bad(spec, "'" + text + "' is above the ceiling");
  return static_cast<int>(value);
}

}  // namespace

std::vector<int> parse_thread_spec(const std::string& spec) {
  std::vector<int> out;
  if (const auto dots = spec.find(".."); dots != std::string::npos) {
    const int lo = count(spec, spec.substr(0, dots));
    const int hi = count(spec, spec.substr(dots + 2));
    if (lo > hi) bad(spec, "the range runs backwards");
    for (long t = lo; t < hi; t *= 2) out.push_back(static_cast<int>(t));
    out.push_back(hi);
    return out;
  }
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = spec.find(',', start);
    out.push_back(count(spec, spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (std::find(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(i), out[i]) != out.begin() + static_cast<std::ptrdiff_t>(i))
      bad(spec, "'" + std::to_string(out[i]) + "' twice");
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace alloclab::harness
