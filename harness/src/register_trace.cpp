// The `trace:FILE` cases of every allocator: TraceCaseRunner (trace_case_runner.hpp) instantiated
// once per allocator type, in a translation unit of its own like each built-in workload's.
#include "allocator_registry.hpp"
#include "parametric_workloads.hpp"
#include "trace_case_runner.hpp"

namespace alloclab::harness {

namespace {

template <Allocator A>
void register_trace_case(const Selection& sel, const ParametricWorkload& w, workloads::Touch touch,
                         std::vector<SkippedCase>& skipped) {
  const std::string name = w.name + "/" + std::string(A::name);
  const int threads = w.plan->threads();  // the trace's own: --threads does not apply
  const std::string reason = workloads::TraceReplay<A>::incompatibility(*w.plan);
  if (!reason.empty()) {
    register_skipped_case(name, threads, reason, skipped);
    return;
  }
  auto* b = benchmark::RegisterBenchmark(name.c_str(), TraceCaseRunner<A>(sel.config_for(A::name), w.plan, touch));
  b->Threads(threads)->UseRealTime();
  if (sel.repetitions > 1) b->Repetitions(sel.repetitions);
  if (sel.min_time > 0) b->MinTime(sel.min_time);
  if (sel.iterations > 0) b->Iterations(sel.iterations);
}

template <class... As>
void register_selected(const Selection& sel, const ParametricWorkload& w, workloads::Touch touch,
                       std::vector<SkippedCase>& skipped, TypeList<As...>) {
  for (const std::string& wanted : sel.allocators) {  // in the order the user gave them
    ((As::name == wanted ? register_trace_case<As>(sel, w, touch, skipped) : void()), ...);
  }
}

}  // namespace

workloads::WorkloadInfo trace_workload_info() { return workloads::TraceReplay<NullAllocator>::info; }

void register_trace_cases(const Selection& sel, const ParametricWorkload& w, workloads::Touch touch,
                          std::vector<SkippedCase>& skipped) {
  register_selected(sel, w, touch, skipped, DriverAllocators{});
}

}  // namespace alloclab::harness
