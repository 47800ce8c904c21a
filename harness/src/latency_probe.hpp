// Per-call latency, sampled in a separate untimed pass so the timer never slows the throughput
// measurement. Every allocate() of the pass is timed with the TSC (x86-64) or steady_clock.
// The timer's own floor (the cheapest back-to-back reading) is measured once and subtracted.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace alloclab::harness {

struct Ticks {
  [[gnu::always_inline]] static std::uint64_t start() noexcept {
#if defined(__x86_64__)
    _mm_lfence();  // earlier instructions finish before the read
    return __rdtsc();
#else
    return static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
#endif
  }
  [[gnu::always_inline]] static std::uint64_t stop() noexcept {
#if defined(__x86_64__)
    unsigned aux;
    const std::uint64_t t = __rdtscp(&aux);  // waits for the timed call to finish
    _mm_lfence();
    return t;
#else
    return static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
#endif
  }
};

// Tick rate and timer floor, measured once per process.
struct TickCalibration {
  double ns_per_tick = 1.0;
  std::uint64_t floor_ticks = 0;       // cheapest back-to-back reading: subtracted from samples
  std::uint64_t resolution_ticks = 0;  // smallest step the counter was seen to take
  static const TickCalibration& get();
};

class LatencyProbe {
 public:
  explicit LatencyProbe(std::size_t max_samples) : floor_(TickCalibration::get().floor_ticks) {
    samples_.reserve(max_samples);
  }
  template <class F>
  [[gnu::always_inline]] void* operator()(std::size_t size, F&& allocate_call) {
    const std::uint64_t t0 = Ticks::start();
    void* p = allocate_call();
    const std::uint64_t t1 = Ticks::stop();
    if (p != nullptr) {  // a refused request is not an allocation's latency
      if (samples_.size() < samples_.capacity()) samples_.push_back(t1 - t0 > floor_ ? t1 - t0 - floor_ : 0);
      bytes_ += size;
    }
    return p;
  }
  [[nodiscard]] const std::vector<std::uint64_t>& samples() const noexcept { return samples_; }
  // Bytes of the successful requests seen.
  [[nodiscard]] std::size_t bytes() const noexcept { return bytes_; }

 private:
  std::uint64_t floor_;
  std::size_t bytes_ = 0;
  std::vector<std::uint64_t> samples_;
};

struct LatencySummary {
  double p50_ns = 0, p99_ns = 0, p999_ns = 0, max_ns = 0;
  std::size_t samples = 0;
};

// Percentiles of the merged samples (nearest rank), converted to nanoseconds.
LatencySummary summarize(std::vector<std::uint64_t> ticks);

}  // namespace alloclab::harness
