#include "summary_reporter.hpp"

#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <ostream>
#include <string>

#include "run_context.hpp"

namespace alloclab::harness {
namespace {

std::string clock_text(double seconds) {
  const auto s = static_cast<long>(std::lround(seconds));
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%ld:%02ld", s / 60, s % 60);
  return buffer;
}

double counter(const benchmark::BenchmarkReporter::Run& run, const char* name) {
  const auto it = run.counters.find(name);
  return it == run.counters.end() ? NAN : static_cast<double>(it->second.value);
}

std::string si(double value, const char* unit) {
  const char* prefixes[] = {"", "k", "M", "G", "T"};
  int i = 0;
  while (std::fabs(value) >= 1000 && i < 4) {
    value /= 1000;
    ++i;
  }
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%.3g %s%s", value, prefixes[i], unit);
  return buffer;
}

// printf-style formatting into a string, for the reporter's stream.
[[gnu::format(printf, 1, 2)]] std::string format(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  va_list again;
  va_copy(again, args);
  const int n = std::vsnprintf(nullptr, 0, fmt, args);
  va_end(args);
  std::string out(n > 0 ? static_cast<std::size_t>(n) : 0, '\0');
  if (n > 0) std::vsnprintf(out.data(), out.size() + 1, fmt, again);
  va_end(again);
  return out;
}

}  // namespace

bool SummaryReporter::ReportContext(const Context& context) {
  std::ostream& out = GetOutputStream();
  out << format("alloclab on %s: %d CPUs at %.0f MHz, malloc from %s\n", context.executable_name,
                context.cpu_info.num_cpus, context.cpu_info.cycles_per_second / 1e6, active_malloc().c_str());
  out << "ns/op: wall time per operation, all threads together; latency: allocate() "
         "alone, sampled in a separate untimed pass\n";
  out.flush();
  return true;
}

void SummaryReporter::ReportRuns(const std::vector<Run>& runs) {
  if (runs.empty()) return;
  // With repetitions, Google Benchmark reports a case twice: its repetitions, then their
  // aggregates. The case is shown (and counted) once, with the aggregates.
  bool aggregates = false;
  for (const Run& r : runs) aggregates |= r.run_type == Run::RT_Aggregate;
  if (!aggregates && runs.front().repetitions > 1 && !runs.front().error_occurred) return;
  ++done_;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::string progress = "[" + std::to_string(done_);
  if (total_ > 0) {
    progress += "/" + std::to_string(total_) + " " + clock_text(elapsed);
    progress += done_ < total_ ? " eta " + clock_text(elapsed / static_cast<double>(done_) *
                                                      static_cast<double>(total_ - done_))
                               : " done";
  } else {
    progress += " " + clock_text(elapsed);
  }
  progress += "]";

  // With repetitions, the median stands for the case; the coefficient of variation says how noisy.
  const Run* shown = &runs.front();
  double cv = NAN;
  for (const Run& r : runs) {
    if (r.run_type == Run::RT_Aggregate && r.aggregate_name == "median") shown = &r;
    if (r.run_type == Run::RT_Aggregate && r.aggregate_name == "cv") cv = counter(r, "items_per_second");
  }
  const std::string name = runs.front().run_name.function_name + "/" + runs.front().run_name.threads;
  std::ostream& out = GetOutputStream();
  if (shown->error_occurred) {
    out << format("%-24s %-44s %s\n", progress.c_str(), name.c_str(), shown->error_message.c_str());
  } else {
    std::string line = si(counter(*shown, "ns_per_op"), "") + "ns/op";
    line += "  " + si(counter(*shown, "items_per_second"), "op/s");
    const double p50 = counter(*shown, "latency_p50_ns");
    if (!std::isnan(p50)) {
      line += "  p50 " + si(p50, "ns") + "  p99.9 " + si(counter(*shown, "latency_p999_ns"), "ns");
    }
    line += "  rss " + si(counter(*shown, "peak_rss_bytes"), "B");
    if (!std::isnan(cv)) line += "  cv " + si(100 * cv, "%");
    out << format("%-24s %-44s %s\n", progress.c_str(), name.c_str(), line.c_str());
  }
  out.flush();
}

}  // namespace alloclab::harness
