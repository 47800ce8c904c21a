// Registration of workload x allocator x threads with Google Benchmark, and the workload list.
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "allocator_registry.hpp"
#include "alloclab/workloads/workload.hpp"
#include "case_runner.hpp"
#include "selection.hpp"

namespace alloclab::harness {

struct WorkloadEntry {
  workloads::WorkloadInfo info;
  // Registers the selected allocators x threads of this workload; appends skipped cases.
  void (*register_cases)(const Selection&, std::vector<SkippedCase>&);
};

// Every workload, in `--list` order (defined in workload_registry.cpp).
const std::vector<WorkloadEntry>& all_workloads();

template <template <class> class W, Allocator A>
void register_one(const Selection& sel, std::vector<SkippedCase>& skipped) {
  const workloads::WorkloadInfo& info = W<A>::info;
  const std::string_view reason = workloads::incompatibility<A>(info);
  for (int t : sel.threads) {
    const std::string name = std::string(info.name) + "/" + std::string(A::name);
    const std::string full = name + "/threads:" + std::to_string(t);
    if (!reason.empty()) {
      skipped.push_back({full, std::string(reason)});
      const std::string message = "skipped: " + std::string(reason);
      benchmark::RegisterBenchmark(name.c_str(), [message](benchmark::State& state) {
        state.SkipWithError(message.c_str());
        for (auto _ : state) {
        }
      })->Threads(t)->Iterations(1);
      continue;
    }
    auto* b = benchmark::RegisterBenchmark(name.c_str(), CaseRunner<W, A>(sel.config_for(A::name)));
    b->Threads(t)->UseRealTime();
    if (sel.repetitions > 1) b->Repetitions(sel.repetitions);
    if (sel.min_time > 0) b->MinTime(sel.min_time);
    if (sel.iterations > 0) b->Iterations(sel.iterations);
  }
}

template <class A>
bool name_is(std::string_view wanted) {
  return A::name == wanted;
}

template <template <class> class W, class... As>
void register_selected(const Selection& sel, std::vector<SkippedCase>& skipped, TypeList<As...>) {
  // Allocators in the order the user gave them.
  for (const std::string& wanted : sel.allocators) {
    ((name_is<As>(wanted) ? register_one<W, As>(sel, skipped) : void()), ...);
  }
}

template <template <class> class W>
void register_workload(const Selection& sel, std::vector<SkippedCase>& skipped) {
  register_selected<W>(sel, skipped, DriverAllocators{});
}

template <template <class> class W>
WorkloadEntry entry() {
  return {W<NullAllocator>::info, &register_workload<W>};
}

}  // namespace alloclab::harness
