// alloclab/trace/reader.hpp — reads a trace file (TRACE_FORMAT.md) into a Trace, or says in one
// line why it cannot: "FILE: problem". Never crashes on any input (fuzzed: tests/fuzz).
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "alloclab/trace/trace.hpp"

namespace alloclab::trace {

struct ReadOptions {
  bool events = false;  // also fill Trace::events (the tools; the replay does not need them)
};

// `name` is what error messages call the input (the path).
std::optional<Trace> parse_trace(const unsigned char* data, std::size_t size, const std::string& name,
                                 std::string* error, ReadOptions options = {});
std::optional<Trace> read_trace(const std::string& path, std::string* error, ReadOptions options = {});

}  // namespace alloclab::trace

// IMPLEMENTATION: inline below this line (header-only, like the rest of workloads/).
