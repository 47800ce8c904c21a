// harness/src/trace_tool/distill_command.cpp — `alloclab-trace distill FILE --out DIST.csv`:
// reads a trace with its events, distils it into a size distribution
// (alloclab/trace/distribution.hpp) and writes the CSV atomically: to a temporary file in the
// output's directory, flushed to disk, then renamed over DIST.csv, so a reader of DIST.csv sees
// the old file or the whole new one, never a part. On any error nothing is left behind.
// Exit status: 0 written, 2 bad input or output (one line "alloclab-trace: FILE: problem").
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>

#include "alloclab/trace/distribution.hpp"
#include "alloclab/trace/reader.hpp"

namespace alloclab::trace_tool {

using trace::Distribution;
using trace::ReadOptions;
using trace::Trace;

namespace {

int refuse(const std::string& line) {
  std::fprintf(stderr, "alloclab-trace: %s\n", line.c_str());
  return 2;
}

// Writes all of `data` to fd; false with errno set on failure.
bool write_all(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

int run_distill(const std::string& trace_path, const std::string& out_path) {
  if (out_path.empty()) return refuse("--out: empty path (valid: the CSV file to write)");

  // The output must not be the trace itself: the rename would replace the recording.
  struct stat in_st {}, out_st {};
  if (::stat(trace_path.c_str(), &in_st) == 0 && ::stat(out_path.c_str(), &out_st) == 0 &&
      in_st.st_dev == out_st.st_dev && in_st.st_ino == out_st.st_ino) {
    return refuse(out_path + ": is the trace itself (valid: another file for the CSV)");
  }

  // Only a new name or a regular file is replaced: the rename would otherwise put a file in
  // place of a device, a FIFO or a symbolic link (--out /dev/stdout as root).
  struct stat link_st {};
  if (::lstat(out_path.c_str(), &link_st) == 0 && !S_ISREG(link_st.st_mode)) {
    return refuse(out_path + ": " + (S_ISDIR(link_st.st_mode) ? "is a folder" : "exists and is not a regular file") +
                  " (valid: a new file or a regular file to replace)");
  }

  std::string error;
  ReadOptions options;
  options.events = true;
  const std::optional<Trace> trace = trace::read_trace(trace_path, &error, options);
  if (!trace) {
    if (error.find("(valid") == std::string::npos)
      error += " (valid: a trace recorded by liballoclab_trace.so, see workloads/TRACE_FORMAT.md)";
    return refuse(error);
  }

  if (trace->summary.truncated) {
    // Not an error: the readable prefix is a trace of its own (TRACE_FORMAT.md, Truncation).
    std::fprintf(stderr, "alloclab-trace: %s: truncated (no end record); distilling its %llu events\n",
                 trace_path.c_str(), static_cast<unsigned long long>(trace->summary.events));
  }
  const Distribution dist = trace::distill(*trace);
  if (dist.rows.empty()) {
    return refuse(trace_path + ": no successful allocation to distil (valid: a trace with at least one)");
  }
  std::ostringstream csv;
  trace::write_csv(csv, dist);
  const std::string text = csv.str();

  // The temporary file lives beside the output so that rename() stays within one filesystem.
  std::string tmp = out_path + ".XXXXXX";
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) return refuse(out_path + ": cannot write (" + std::strerror(errno) + ") (valid: a new or regular file in an existing, writable folder)");
  auto discard = [&](int e) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return refuse(out_path + ": cannot write (" + std::strerror(e) + ") (valid: a new or regular file in an existing, writable folder)");
  };
  // mkstemp makes it 0600; a distribution is as readable as any file the user writes.
  const mode_t mask = ::umask(0);
  ::umask(mask);
  if (::fchmod(fd, 0666 & ~mask) != 0) return discard(errno);
  if (!write_all(fd, text)) return discard(errno);
  if (::fsync(fd) != 0) return discard(errno);
  if (::close(fd) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return refuse(out_path + ": cannot write (" + std::strerror(e) + ") (valid: a new or regular file in an existing, writable folder)");
  }
  if (::rename(tmp.c_str(), out_path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return refuse(out_path + ": cannot write (" + std::strerror(e) + ") (valid: a new or regular file in an existing, writable folder)");
  }
  return 0;
}

}  // namespace alloclab::trace_tool
