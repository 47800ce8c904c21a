// The `empirical:FILE` cases of every allocator: CaseRunner over workloads::Empirical, one
// instance per allocator type, in a translation unit of its own like each built-in workload's.
// The table reaches the workload through Params::distribution (see parametric_workloads.hpp).
#include "alloclab/workloads/empirical.hpp"
#include "allocator_registry.hpp"
#include "parametric_workloads.hpp"

namespace alloclab::harness {

namespace {

template <Allocator A>
void register_empirical_case(const Selection& sel, const ParametricWorkload& w, std::vector<SkippedCase>& skipped) {
  using Workload = workloads::Empirical<A>;
  const std::string name = w.name + "/" + std::string(A::name);
  const std::string_view reason = workloads::incompatibility<A>(Workload::info);
  CaseConfig config = sel.config_for(A::name);
  config.params.distribution = w.distribution.get();  // kept alive by the ParametricWorkload
  for (int t : sel.threads) {
    if (!reason.empty()) {
      register_skipped_case(name, t, std::string(reason), skipped);
      continue;
    }
    auto* b = benchmark::RegisterBenchmark(name.c_str(), CaseRunner<workloads::Empirical, A>(config));
    b->Threads(t)->UseRealTime();
    if (sel.repetitions > 1) b->Repetitions(sel.repetitions);
    if (sel.min_time > 0) b->MinTime(sel.min_time);
    if (sel.iterations > 0) b->Iterations(sel.iterations);
  }
}

template <class... As>
void register_selected(const Selection& sel, const ParametricWorkload& w, std::vector<SkippedCase>& skipped,
                       TypeList<As...>) {
  for (const std::string& wanted : sel.allocators) {  // in the order the user gave them
    ((As::name == wanted ? register_empirical_case<As>(sel, w, skipped) : void()), ...);
  }
}

}  // namespace

workloads::WorkloadInfo empirical_workload_info() { return workloads::Empirical<NullAllocator>::info; }

void register_empirical_cases(const Selection& sel, const ParametricWorkload& w, std::vector<SkippedCase>& skipped) {
  register_selected(sel, w, skipped, DriverAllocators{});
}

}  // namespace alloclab::harness
