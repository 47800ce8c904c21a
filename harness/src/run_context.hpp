// Facts that make a result file self-describing: build, libraries, machine, command.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace alloclab::harness {

// Key/value pairs for Google Benchmark's JSON `context` block.
std::vector<std::pair<std::string, std::string>> run_context(int argc, char** argv,
                                                              unsigned long long seed);

// The shared object that provides `malloc` in this process (e.g. "libc.so.6",
// "libjemalloc.so.2"): which C allocator the `malloc` adapter really measures.
std::string active_malloc();

// True when a library whose path contains `name` is mapped into this process.
bool library_mapped(const std::string& name);

}  // namespace alloclab::harness
