// harness/src/trace_recorder/metadata.hpp — the trace header's metadata JSON (TRACE_FORMAT.md,
// "Metadata"), written by the recorder without allocating: into a caller's buffer, from
// /proc/self/cmdline, /proc/cpuinfo, uname and sysconf, with open/read only.
//
// Strings are escaped for JSON and made valid UTF-8 (a byte that is not part of a well-formed
// sequence becomes U+FFFD): an argument in Latin-1 must not make the header unreadable.
// Arguments that do not fit the buffer are left out and "args_truncated": true says so.
// Not a JSON library: it writes one object, in one order.
#pragma once

#include <fcntl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace alloclab::trace_recorder {

// Appends to [buffer, buffer + capacity); past the end it stops and remembers it overflowed.
class JsonOut {
 public:
  JsonOut(char* buffer, std::size_t capacity) noexcept : buffer_(buffer), capacity_(capacity) {}

  void raw(std::string_view s) noexcept {
    if (s.size() > capacity_ - size_) {
      overflow_ = true;
      return;
    }
    std::memcpy(buffer_ + size_, s.data(), s.size());
    size_ += s.size();
  }
  void number(std::uint64_t v) noexcept {
    char digits[20];
    std::size_t n = 0;
    do {
      digits[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    char out[20];
    for (std::size_t i = 0; i < n; ++i) out[i] = digits[n - 1 - i];
    raw({out, n});
  }
  void string(std::string_view s) noexcept {
    raw("\"");
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const unsigned char* end = p + s.size();
    while (p < end) {
      const unsigned char c = *p;
      if (c == '"') {
        raw("\\\"");
      } else if (c == '\\') {
        raw("\\\\");
      } else if (c == '\n') {
        raw("\\n");
      } else if (c == '\t') {
        raw("\\t");
      } else if (c == '\r') {
        raw("\\r");
      } else if (c < 0x20 || c == 0x7F) {
        static constexpr char hex[] = "0123456789abcdef";
        const char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        raw({u, 6});
      } else if (c < 0x80) {
        raw({reinterpret_cast<const char*>(p), 1});
      } else {
        const std::size_t n = utf8_sequence(p, end);
        if (n == 0) {
          raw("\xEF\xBF\xBD");  // U+FFFD for the one byte
          ++p;
          continue;
        }
        raw({reinterpret_cast<const char*>(p), n});
        p += n;
        continue;
      }
      ++p;
    }
    raw("\"");
  }

  [[nodiscard]] bool overflowed() const noexcept { return overflow_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] std::size_t room() const noexcept { return capacity_ - size_; }
  [[nodiscard]] std::string_view view() const noexcept { return {buffer_, size_}; }

 private:
  // The length of the well-formed UTF-8 sequence at p (RFC 3629: no overlongs, no surrogates,
  // nothing past U+10FFFF), or 0.
  static std::size_t utf8_sequence(const unsigned char* p, const unsigned char* end) noexcept {
    const unsigned char c = p[0];
    std::size_t n = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return 0;
    }
    if (static_cast<std::size_t>(end - p) < n) return 0;
    if (p[1] < lo || p[1] > hi) return 0;
    for (std::size_t i = 2; i < n; ++i) {
      if (p[i] < 0x80 || p[i] > 0xBF) return 0;
    }
    return n;
  }

  char* buffer_;
  std::size_t capacity_;
  std::size_t size_ = 0;
  bool overflow_ = false;
};

// Reads up to `capacity` bytes of a file (a /proc file's size is 0 to stat: read until EOF).
inline std::size_t read_file(const char* path, char* buffer, std::size_t capacity) noexcept {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  std::size_t n = 0;
  while (n < capacity) {
    const ssize_t r = ::read(fd, buffer + n, capacity - n);
    if (r <= 0) break;
    n += static_cast<std::size_t>(r);
  }
  ::close(fd);
  return n;
}

// The first "model name" of /proc/cpuinfo, as the driver's run context reports it.
inline std::string_view cpu_model(char* scratch, std::size_t capacity) noexcept {
  const std::size_t n = read_file("/proc/cpuinfo", scratch, capacity);
  const std::string_view text(scratch, n);
  for (std::size_t at = 0; at < text.size();) {
    std::size_t eol = text.find('\n', at);
    if (eol == std::string_view::npos) eol = text.size();
    const std::string_view line = text.substr(at, eol - at);
    if (line.starts_with("model name")) {
      const std::size_t colon = line.find(':');
      if (colon != std::string_view::npos) {
        std::string_view model = line.substr(colon + 1);
        while (!model.empty() && model.front() == ' ') model.remove_prefix(1);
        if (!model.empty()) return model;
      }
    }
    at = eol + 1;
  }
  return "unknown";
}

struct MetadataInput {
  std::uint64_t pid = 0;
  std::uint64_t parent_pid = 0;
  bool forked = false;
  std::uint64_t forked_from_stamp = 0;
  std::uint64_t started_unix_ns = 0;
  std::string_view recorder;  // name and commit
};

// Writes the metadata object into `out`; `scratch` (at least a few KiB; the larger, the longer a
// command line fits) holds the files read. Returns false when even the fixed keys did not fit.
inline bool write_metadata(JsonOut& out, const MetadataInput& in, char* scratch, std::size_t scratch_bytes) noexcept {
  // Keep room for the keys after the arguments (host, CPU model, kernel: a few hundred bytes).
  constexpr std::size_t tail_room = 2048;
  const std::size_t cmdline_bytes = read_file("/proc/self/cmdline", scratch, scratch_bytes);
  const std::string_view cmdline(scratch, cmdline_bytes);
  const std::string_view program = cmdline.substr(0, cmdline.find('\0'));

  out.raw("{\"program\":");
  out.string(program);
  out.raw(",\"args\":[");
  bool truncated = cmdline_bytes == scratch_bytes;
  bool first = true;
  for (std::size_t at = 0; at < cmdline.size();) {
    std::size_t end = cmdline.find('\0', at);
    if (end == std::string_view::npos) end = cmdline.size();
    const std::string_view arg = cmdline.substr(at, end - at);
    if (out.room() < tail_room + 6 * arg.size() + 4) {  // worst case: every byte escaped as \u00XX
      truncated = true;
      break;
    }
    if (!first) out.raw(",");
    out.string(arg);
    first = false;
    at = end + 1;
  }
  out.raw("]");
  if (truncated) out.raw(",\"args_truncated\":true");
  out.raw(",\"pid\":");
  out.number(in.pid);
  out.raw(",\"parent_pid\":");
  out.number(in.parent_pid);
  if (in.forked) {
    out.raw(",\"forked_from_stamp\":");
    out.number(in.forked_from_stamp);
  }
  out.raw(",\"started_unix_ns\":");
  out.number(in.started_unix_ns);

  utsname u{};
  const bool have_uname = ::uname(&u) == 0;
  out.raw(",\"host\":");
  out.string(have_uname ? std::string_view(u.nodename) : "unknown");
  out.raw(",\"cpu_model\":");
  out.string(cpu_model(scratch, scratch_bytes < 65536 ? scratch_bytes : 65536));
  out.raw(",\"cores\":");
  const long cores = ::sysconf(_SC_NPROCESSORS_ONLN);
  out.number(cores > 0 ? static_cast<std::uint64_t>(cores) : 0);
  out.raw(",\"kernel\":");
  if (have_uname) {
    char kernel[sizeof u.sysname + sizeof u.release + sizeof u.machine + 2];
    JsonOut k(kernel, sizeof kernel);
    k.raw(u.sysname);
    k.raw(" ");
    k.raw(u.release);
    k.raw(" ");
    k.raw(u.machine);
    out.string(k.view());
  } else {
    out.string("unknown");
  }
  out.raw(",\"recorder\":");
  out.string(in.recorder);
  out.raw("}");
  return !out.overflowed();
}

}  // namespace alloclab::trace_recorder
