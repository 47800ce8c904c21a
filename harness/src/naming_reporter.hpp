// Google Benchmark appends "/real_time" and "/min_time:X" to names; alloclab's names are
// exactly workload/allocator/threads:N (plus _mean/_median/... for aggregates), so the
// reporters see the runs with those parts cleared.
#pragma once

#include <benchmark/benchmark.h>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

namespace alloclab::harness {

// The name the malloc adapter is reported under ("malloc" unless a preload is being measured).
inline std::string& malloc_label() {
  static std::string label = "malloc";
  return label;
}
inline void set_malloc_label(std::string label) { malloc_label() = std::move(label); }

template <class Base>
class NamingReporter : public Base {
 public:
  using Base::Base;
  void ReportRuns(const std::vector<benchmark::BenchmarkReporter::Run>& runs) override {
    std::vector<benchmark::BenchmarkReporter::Run> renamed = runs;
    for (auto& r : renamed) {
      // Google Benchmark 1.7 writes non-finite numbers as bare NaN/Infinity, which is not JSON
      // (the cv of a counter that is 0 in every repetition is 0/0): such counters are left out.
      std::erase_if(r.counters, [](const auto& c) { return !std::isfinite(static_cast<double>(c.second.value)); });
      if (malloc_label() != "malloc") {
        std::string& f = r.run_name.function_name;  // workload/allocator
        if (f.size() > 7 && f.compare(f.size() - 7, 7, "/malloc") == 0) f.replace(f.size() - 6, 6, malloc_label());
      }
      r.run_name.time_type.clear();
      r.run_name.min_time.clear();
      r.run_name.iterations.clear();
      r.run_name.repetitions.clear();
    }
    Base::ReportRuns(renamed);
  }
};

}  // namespace alloclab::harness
