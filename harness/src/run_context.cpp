#include "run_context.hpp"

#include <dlfcn.h>
#include <gnu/libc-version.h>
#include <sys/utsname.h>
#include <tbb/version.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "build_info.hpp"
#include "latency_probe.hpp"

namespace alloclab::harness {
namespace {

std::string first_line(const char* path, const std::string& fallback = "unknown") {
  std::ifstream in(path);
  std::string line;
  return std::getline(in, line) && !line.empty() ? line : fallback;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "unknown";
}

std::string basename_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

std::string active_malloc() {
  void* symbol = dlsym(RTLD_DEFAULT, "malloc");
  Dl_info info{};
  if (symbol == nullptr || dladdr(symbol, &info) == 0 || info.dli_fname == nullptr) return "unknown";
  return basename_of(info.dli_fname);
}

bool library_mapped(const std::string& name) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    const auto slash = line.rfind('/');
    if (slash != std::string::npos && line.find(name, slash) != std::string::npos) return true;
  }
  return false;
}

std::vector<std::pair<std::string, std::string>> run_context(int argc, char** argv,
                                                              unsigned long long seed) {
  std::ostringstream command;
  for (int i = 0; i < argc; ++i) command << (i ? " " : "") << argv[i];
  utsname u{};
  uname(&u);
  const TickCalibration& ticks = TickCalibration::get();
  const char* preload = std::getenv("LD_PRELOAD");
  return {
      {"alloclab_version", build_info::version},
      {"git_commit", build_info::git_commit},
      {"git_dirty", build_info::git_dirty},
      {"compiler", build_info::compiler},
      {"cxx_flags", build_info::cxx_flags},
      {"build_type", build_info::build_type},
      {"tbb_version", TBB_VERSION_STRING},
      {"glibc_version", gnu_get_libc_version()},
      {"cpu_model", cpu_model()},
      {"hardware_threads", std::to_string(std::thread::hardware_concurrency())},
      {"cpu_governor", first_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")},
      {"kernel", std::string(u.sysname) + " " + u.release + " " + u.machine},
      {"aslr", first_line("/proc/sys/kernel/randomize_va_space")},
      {"command_line", command.str()},
      {"seed", std::to_string(seed)},
      {"active_malloc", active_malloc()},
      {"ld_preload", preload != nullptr ? preload : ""},
      {"ns_per_op_definition", "wall time of the run divided by operations of all threads"},
      {"latency_method",
       "separate untimed pass: every allocate() timed with the TSC, timer floor subtracted"},
      {"latency_timer_floor_ns",
       std::to_string(static_cast<double>(ticks.floor_ticks) * ticks.ns_per_tick)},
      {"latency_timer_resolution_ns",
       std::to_string(static_cast<double>(ticks.resolution_ticks) * ticks.ns_per_tick)},
      {"peak_rss_definition",
       "peak_rss_bytes: the kernel's peak mark, reset before the case (peak_rss_case_only=1); "
       "rss_at_start_bytes: resident memory when the case began"},
  };
}

}  // namespace alloclab::harness
