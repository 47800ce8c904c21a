#include "process_metrics.hpp"

#include <sys/resource.h>

#include <cstdio>
#include <cstring>

namespace alloclab::harness {

bool reset_peak_rss() noexcept {
  std::FILE* f = std::fopen("/proc/self/clear_refs", "w");
  if (f == nullptr) return false;
  const bool ok = std::fputs("5", f) >= 0;  // "5": reset the peak RSS mark (Linux >= 4.0)
  return std::fclose(f) == 0 && ok;
}

namespace {
// A "Key:   N kB" line of /proc/self/status, in bytes.
std::size_t status_kib(const char* key) noexcept {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return 0;
  char line[256];
  const std::size_t length = std::strlen(key);
  std::size_t kib = 0;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::strncmp(line, key, length) == 0) {
      std::sscanf(line + length, "%zu", &kib);
      break;
    }
  }
  std::fclose(f);
  return kib * 1024;
}
}  // namespace

std::size_t peak_rss_bytes() noexcept { return status_kib("VmHWM:"); }
std::size_t rss_bytes() noexcept { return status_kib("VmRSS:"); }

std::uint64_t page_faults() noexcept {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<std::uint64_t>(u.ru_minflt) + static_cast<std::uint64_t>(u.ru_majflt);
}

}  // namespace alloclab::harness
