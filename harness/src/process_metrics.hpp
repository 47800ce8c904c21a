// Memory and fault counters of this process, read around each case.
#pragma once

#include <cstddef>
#include <cstdint>

namespace alloclab::harness {

// Resets the kernel's peak-RSS mark (VmHWM) so the next reading covers one case only.
// Returns false where the kernel refuses (the reading then spans the process's life).
bool reset_peak_rss() noexcept;
// VmHWM in bytes (0 if unreadable).
std::size_t peak_rss_bytes() noexcept;
// VmRSS in bytes now (0 if unreadable).
std::size_t rss_bytes() noexcept;
// Minor + major page faults of the whole process so far.
std::uint64_t page_faults() noexcept;

}  // namespace alloclab::harness
