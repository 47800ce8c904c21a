// tests/trace/recorder_sizes.hpp — the sizes and counts shared by the recorder's scenarios
// (recorder_scenarios.cpp, run under the recorder) and the test that reads their traces
// (recorder_preload.cpp). Distinctive values, so each call is found in the trace by its size.
#pragma once

#include <cstddef>
#include <cstdint>

namespace alloclab::trace::recorder_test {

inline constexpr std::size_t marker_begin = 777001;
inline constexpr std::size_t marker_end = 777002;
inline constexpr std::size_t huge = SIZE_MAX / 2;  // fails: no machine has it

// counts
inline constexpr std::size_t count_malloc_size = 1000;  // + i, i < 10
inline constexpr std::size_t count_calloc_element = 25;  // 4 × (25 + i), i < 3
inline constexpr std::size_t count_realloc_grow = 5000;
inline constexpr std::size_t count_realloc_shrink = 50;
inline constexpr std::size_t count_posix_memalign = 200;
inline constexpr std::size_t count_aligned_alloc = 8192;
inline constexpr std::size_t count_memalign = 300;
inline constexpr std::size_t count_valloc = 1000;
inline constexpr std::size_t count_pvalloc = 5000;  // allocates 8192 with 4 KiB pages

// realloc_edges
inline constexpr std::size_t edge_realloc_null = 40;
inline constexpr std::size_t edge_failed_realloc_block = 64;
inline constexpr std::size_t edge_reallocarray_block = 16;

// cross_thread
inline constexpr std::size_t cross_objects = 100;
inline constexpr std::size_t cross_size = 2000;  // + i

// handoff: producers allocate, consumers free, through a queue
inline constexpr int handoff_threads = 4;  // producers, and as many consumers
inline constexpr std::size_t handoff_objects = 50000;  // per producer
inline constexpr std::size_t handoff_size = 2501;  // + 2 (i % 32): odd, unlike the queue's own blocks

// thread_exit
inline constexpr std::size_t exit_events = 500;  // mallocs (and as many frees) of exit_size
inline constexpr std::size_t exit_size = 3001;
inline constexpr std::size_t exit_thread_local_size = 4001;
inline constexpr std::size_t exit_key_destructor_size = 4002;
inline constexpr std::size_t churn_threads = 300;
inline constexpr std::size_t churn_size = 5001;

// fork
inline constexpr std::size_t fork_parent_freed_in_child = 6001;
inline constexpr std::size_t fork_parent_kept = 6002;
inline constexpr std::size_t fork_child_size = 6003;
inline constexpr std::size_t fork_busy_size = 6004;
inline constexpr int fork_children = 20;

// underscore_exit
inline constexpr std::size_t exit_kept = 1000;
inline constexpr std::size_t exit_kept_size = 7001;

// abort, sigkill: enough events for several 64 KiB chunks before the end
inline constexpr std::size_t killed_pairs = 100000;
inline constexpr std::size_t killed_size = 7002;

// write_error
inline constexpr std::size_t write_error_file_limit = 100 * 1024;
inline constexpr std::size_t write_error_pairs = 200000;

// late_frees
inline constexpr std::size_t late_atexit_size = 8001;
inline constexpr std::size_t late_static_size = 8002;
inline constexpr std::size_t late_library_size = 8003;  // freed by a library's ELF destructor

}  // namespace alloclab::trace::recorder_test
