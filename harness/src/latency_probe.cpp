#include "latency_probe.hpp"

#include <thread>

namespace alloclab::harness {

const TickCalibration& TickCalibration::get() {
  static const TickCalibration calibration = [] {
    TickCalibration c;
    using clock = std::chrono::steady_clock;
    const auto w0 = clock::now();
    const std::uint64_t t0 = Ticks::start();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const std::uint64_t t1 = Ticks::stop();
    const auto w1 = clock::now();
    const double ns = std::chrono::duration<double, std::nano>(w1 - w0).count();
    c.ns_per_tick = t1 > t0 ? ns / static_cast<double>(t1 - t0) : 1.0;
    std::uint64_t floor = UINT64_MAX;
    std::uint64_t step = UINT64_MAX;
    for (int i = 0; i < 10000; ++i) {
      const std::uint64_t a = Ticks::start();
      const std::uint64_t b = Ticks::stop();
      floor = std::min(floor, b - a);
      if (b > a) step = std::min(step, b - a);
    }
    c.floor_ticks = floor;
    c.resolution_ticks = step == UINT64_MAX ? 0 : step;
    return c;
  }();
  return calibration;
}

LatencySummary summarize(std::vector<std::uint64_t> ticks) {
  LatencySummary s;
  s.samples = ticks.size();
  if (ticks.empty()) return s;
  const double k = TickCalibration::get().ns_per_tick;
  auto rank = [&](double q) {
    const auto i = static_cast<std::size_t>(q * static_cast<double>(ticks.size() - 1) + 0.5);
    std::nth_element(ticks.begin(), ticks.begin() + static_cast<std::ptrdiff_t>(i), ticks.end());
    return static_cast<double>(ticks[i]) * k;
  };
  s.p50_ns = rank(0.50);
  s.p99_ns = rank(0.99);
  s.p999_ns = rank(0.999);
  s.max_ns = static_cast<double>(*std::max_element(ticks.begin(), ticks.end())) * k;
  return s;
}

}  // namespace alloclab::harness
