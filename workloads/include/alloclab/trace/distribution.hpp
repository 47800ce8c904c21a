// alloclab/trace/distribution.hpp — a program's allocation shape distilled from a trace: per
// requested size, how often it is allocated and how many objects of it are live on average
// (the shape of fleetbench's empirical tables). `alloclab-trace distill` writes it as CSV; the
// `empirical:FILE` workload replays it as a birth/death process at any thread count.
//
// Time is counted in events of the recorded trace, not seconds, so the table does not depend
// on how fast the recorded machine was:
//   rate(size)       = allocations of that size / events of the trace
//   mean_live(size)  = time-average over the trace's events of the objects of that size alive
//   lifetime(size)   = mean_live / rate        (Little's law), in events
//
// Distilling (distill()): the clock is an event's index in stamp order (0 .. events-1; a
// realloc is one event, as in Summary::events). The live count after event i holds for one
// unit, so an object made at event a and freed at event b counts b - a, and one still live at
// the end counts until the end: mean_live(size) = sum of those lifetimes / events. A realloc
// frees its old object and makes a new one of the new size at the same index (rate counts the
// new size). Left out: failed calls (no object), the free side of a failed realloc (its object
// lives on), frees of objects the trace never made (foreign). Every distinct size is kept, as
// fleetbench keeps exact sizes: a size class is the allocator's business, not the program's.
// A request of 0 bytes (malloc(0) hands out a unique minimum-size object) is counted as size 1,
// because the Allocator contract refuses size 0; the table says how many were folded.
// Alignments are not kept: the table is size-only, like fleetbench's.
//
// The CSV (write_csv / read_distribution, or parse_distribution for text in memory):
//   # alloclab distribution v1
//   # source: /usr/bin/program          (the trace's program)
//   # events: 123456                    (events of the trace: the rates' denominator)
//   # zero-size requests: 12            (only when some were folded into size 1)
//   size,rate,mean_live
//   16,0.125,3.5
// `#` lines are only allowed before the header; the reader knows the keys above and ignores
// other comments (a hand-made table needs none of them). Rows ascend by size, each size once;
// doubles are written in the shortest form that reads back to the same value.
// The reader is strict and never crashes: any problem is ONE line "PATH:LINE: problem (valid:
// ...)" (or "PATH: problem" for the file as a whole).
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "alloclab/trace/trace.hpp"

namespace alloclab::trace {

struct DistributionRow {
  std::uint64_t size = 0;      // requested bytes
  double rate = 0;             // allocations per event, > 0
  double mean_live = 0;        // objects, >= 0
};

struct Distribution {
  std::vector<DistributionRow> rows;  // by size, ascending, sizes unique
  std::string source;                 // what it was distilled from (the trace's program), may be empty
  std::uint64_t events = 0;           // events of the trace distilled (0: not known, a hand-made table)
  std::uint64_t zero_size_requests = 0;  // allocations of 0 bytes, counted as size 1
};

// Limits of a row, shared by the reader and the workload: a size fits the trace's 48-bit size
// field (Op), and no address space holds more than 2^48 objects.
inline constexpr std::uint64_t max_distribution_size = (std::uint64_t{1} << 48) - 1;
inline constexpr double max_mean_live = 0x1.0p48;

// --- distill ---------------------------------------------------------------------------------

// Needs t.events (read with ReadOptions::events); a trace read without them, or with no
// successful allocation, gives no rows.
inline Distribution distill(const Trace& t) {
  Distribution d;
  d.source = t.meta.program;
  const std::uint64_t events = t.events.size();
  d.events = events;
  if (events == 0) return d;

  // Per distinct size: allocations, objects live now and the live count integrated up to
  // `since` (lazily: it only changes at that size's own events). 128 bits: a sum of lifetimes
  // is bounded by events x live objects, which 64 bits need not hold.
  __extension__ using u128 = unsigned __int128;
  struct Acc {
    std::uint64_t size = 0;
    std::uint64_t allocations = 0;
    std::uint64_t live = 0;
    std::uint64_t since = 0;
    u128 integral = 0;
  };
  std::vector<Acc> acc;
  std::unordered_map<std::uint64_t, std::uint32_t> row_of_size;
  constexpr std::uint32_t dead = UINT32_MAX;
  // Object id -> its size's row while it is live. Ids are dense (0 .. objects-1).
  std::vector<std::uint32_t> row_of_object(static_cast<std::size_t>(t.objects), dead);

  auto advance = [&](Acc& a, std::uint64_t now) {
    a.integral += static_cast<u128>(a.live) * (now - a.since);
    a.since = now;
  };
  auto make = [&](std::uint32_t object, std::uint64_t size, std::uint64_t now) {
    if (size == 0) {
      size = 1;
      ++d.zero_size_requests;
    }
    auto [it, fresh] = row_of_size.try_emplace(size, static_cast<std::uint32_t>(acc.size()));
    if (fresh) acc.push_back(Acc{size, 0, 0, now, 0});
    Acc& a = acc[it->second];
    advance(a, now);
    ++a.allocations;
    ++a.live;
    if (object < row_of_object.size()) row_of_object[object] = it->second;
  };
  auto kill = [&](std::uint32_t object, std::uint64_t now) {
    // Ids outside the table or already dead cannot come from a reader that checked the file;
    // they are skipped rather than trusted.
    if (object >= row_of_object.size() || row_of_object[object] == dead) return;
    Acc& a = acc[row_of_object[object]];
    row_of_object[object] = dead;
    advance(a, now);
    --a.live;
  };

  for (std::uint64_t i = 0; i < events; ++i) {
    const Op& op = t.events[static_cast<std::size_t>(i)].op;
    if (op.failed()) continue;  // no object made; a failed realloc frees nothing either
    switch (op.kind()) {
      case Kind::malloc:
      case Kind::calloc:
      case Kind::aligned:
        make(op.object, op.size(), i);
        break;
      case Kind::realloc:
        if (!op.foreign() && op.old_object != no_object) kill(op.old_object, i);
        make(op.object, op.size(), i);
        break;
      case Kind::free:
        if (!op.foreign() && op.object != no_object) kill(op.object, i);
        break;
      default:
        break;  // time marks are not events; nothing else exists in version 1
    }
  }

  d.rows.reserve(acc.size());
  for (Acc& a : acc) {
    advance(a, events);  // objects still live count until the end
    d.rows.push_back({a.size, static_cast<double>(a.allocations) / static_cast<double>(events),
                      static_cast<double>(a.integral) / static_cast<double>(events)});
  }
  std::sort(d.rows.begin(), d.rows.end(),
            [](const DistributionRow& x, const DistributionRow& y) { return x.size < y.size; });
  return d;
}

// --- CSV ---------------------------------------------------------------------------------------

namespace detail {

// Length of the valid UTF-8 sequence at s[i] (1-4), or 0 if it is not one (overlong forms,
// surrogates and code points above U+10FFFF are not).
inline std::size_t utf8_sequence(std::string_view s, std::size_t i) noexcept {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  std::size_t n;
  std::uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
    return 0;
  return n;
}

// One comment line's worth of text: valid UTF-8 kept, control characters and invalid bytes
// replaced by '?', so a program name cannot break the file's lines or its encoding.
inline std::string printable(std::string_view s, std::size_t limit = std::string::npos) {
  std::string out;
  std::size_t i = 0;
  while (i < s.size() && out.size() < limit) {
    const std::size_t n = utf8_sequence(s, i);
    const auto c = static_cast<unsigned char>(s[i]);
    if (n == 0 || (n == 1 && (c < 0x20 || c == 0x7F))) {
      out += '?';
      i += n == 0 ? 1 : n;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  if (i < s.size()) out += "...";
  return out;
}

inline void put_double(std::ostream& out, double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest form that reads back exactly
  out.write(buf, r.ptr - buf);
}

}  // namespace detail

inline void write_csv(std::ostream& out, const Distribution& d) {
  out << "# alloclab distribution v1\n";
  out << "# source: " << detail::printable(d.source) << '\n';
  out << "# events: " << d.events << '\n';
  if (d.zero_size_requests != 0) out << "# zero-size requests: " << d.zero_size_requests << '\n';
  out << "size,rate,mean_live\n";
  for (const DistributionRow& row : d.rows) {
    out << row.size << ',';
    detail::put_double(out, row.rate);
    out << ',';
    detail::put_double(out, row.mean_live);
    out << '\n';
  }
}

inline std::optional<Distribution> parse_distribution(std::string_view text, const std::string& path,
                                                      std::string* error);

// Reads PATH whole (a regular file only: a device such as /dev/zero never ends) and parses it.
inline std::optional<Distribution> read_distribution(const std::string& path, std::string* error) {
  auto fail = [&](const std::string& problem) -> std::optional<Distribution> {
    if (error != nullptr) *error = path + ": " + problem;
    return std::nullopt;
  };
  std::string text;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail("not a regular file (valid: a CSV file)");
  }
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      ::close(fd);
      return fail(std::string("cannot read: ") + std::strerror(e));
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return parse_distribution(text, path, error);
}

// The CSV in memory; `path` is what messages call it.
inline std::optional<Distribution> parse_distribution(std::string_view text, const std::string& path,
                                                      std::string* error) {
  auto fail = [&](std::size_t line, const std::string& problem) -> std::optional<Distribution> {
    if (error != nullptr) {
      *error = line == 0 ? path + ": " + problem : path + ":" + std::to_string(line) + ": " + problem;
    }
    return std::nullopt;
  };
  constexpr const char* valid_file =
      "valid: optional '# ...' lines, the header size,rate,mean_live, then one row per size";
  if (text.empty()) return fail(0, std::string("empty file (") + valid_file + ")");

  // Text: UTF-8 without NUL (a leading byte-order mark, as spreadsheets write, is skipped).
  {
    std::size_t line = 1;
    for (std::size_t i = 0; i < text.size();) {
      const std::size_t n = detail::utf8_sequence(text, i);
      if (n == 0 || text[i] == '\0') return fail(line, "not UTF-8 text (valid: a UTF-8 CSV file)");
      if (text[i] == '\n') ++line;
      i += n;
    }
  }
  std::string_view rest = text;
  if (rest.substr(0, 3) == "\xEF\xBB\xBF") rest.remove_prefix(3);

  Distribution d;
  bool header = false;
  std::size_t line = 0;
  auto shown = [](std::string_view s) { return "'" + detail::printable(s, 40) + "'"; };
  while (!rest.empty()) {
    const std::size_t eol = rest.find('\n');
    std::string_view l = rest.substr(0, eol);
    rest.remove_prefix(eol == std::string_view::npos ? rest.size() : eol + 1);
    ++line;
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);  // CRLF, as RFC 4180 writes it

    if (!header) {
      if (!l.empty() && l.front() == '#') {
        std::string_view c = l.substr(1);
        if (!c.empty() && c.front() == ' ') c.remove_prefix(1);
        auto value_of = [&](std::string_view key) -> std::optional<std::string_view> {
          if (c.substr(0, key.size()) != key) return std::nullopt;
          std::string_view v = c.substr(key.size());
          if (!v.empty() && v.front() == ' ') v.remove_prefix(1);
          return v;
        };
        auto count = [&](std::string_view key, std::string_view v, std::uint64_t* out) -> bool {
          const auto r = std::from_chars(v.data(), v.data() + v.size(), *out);
          if (v.empty() || r.ec != std::errc() || r.ptr != v.data() + v.size()) {
            fail(line, std::string(key) + " " + shown(v) + " is not a count (valid: a decimal integer)");
            return false;
          }
          return true;
        };
        if (auto v = value_of("alloclab distribution v")) {
          if (*v != "1") return fail(line, "distribution format v" + detail::printable(*v, 20) + " (valid: v1)");
        } else if (auto s = value_of("source:")) {
          d.source = std::string(*s);
        } else if (auto e = value_of("events:")) {
          if (!count("events", *e, &d.events)) return std::nullopt;
        } else if (auto z = value_of("zero-size requests:")) {
          if (!count("zero-size requests", *z, &d.zero_size_requests)) return std::nullopt;
        }
        continue;
      }
      if (l != "size,rate,mean_live") {
        return fail(line, (l.empty() ? std::string("empty line") : "header " + shown(l)) +
                              " (valid: '# ...' lines, then the header size,rate,mean_live)");
      }
      header = true;
      continue;
    }

    if (l.empty()) return fail(line, "empty line (valid: a row size,rate,mean_live)");
    if (l.front() == '#') return fail(line, "comment after the header (valid: '# ...' lines only before it)");
    std::string_view field[3];
    std::size_t fields = 0;
    for (std::string_view f = l;; ++fields) {
      const std::size_t comma = f.find(',');
      if (fields < 3) field[fields] = f.substr(0, comma);
      if (comma == std::string_view::npos) {
        ++fields;
        break;
      }
      f.remove_prefix(comma + 1);
    }
    if (fields != 3) {
      return fail(line, std::to_string(fields) + (fields == 1 ? " column" : " columns") +
                            " (valid: 3 columns, size,rate,mean_live)");
    }
    DistributionRow row;
    {
      const std::string_view f = field[0];
      const auto r = std::from_chars(f.data(), f.data() + f.size(), row.size);
      const bool digits = !f.empty() && std::all_of(f.begin(), f.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
      if (!digits || r.ec != std::errc() || r.ptr != f.data() + f.size() || row.size == 0 ||
          row.size > max_distribution_size) {
        return fail(line, "size " + shown(f) + " (valid: an integer 1 .. " + std::to_string(max_distribution_size) + ")");
      }
    }
    auto number = [&](std::string_view f, double* out) -> bool {
      const auto r = std::from_chars(f.data(), f.data() + f.size(), *out);
      return !f.empty() && r.ec == std::errc() && r.ptr == f.data() + f.size() && std::isfinite(*out);
    };
    if (!number(field[1], &row.rate) || !(row.rate > 0)) {
      return fail(line, "rate " + shown(field[1]) + " (valid: a finite number > 0, allocations per event)");
    }
    if (!number(field[2], &row.mean_live) || row.mean_live < 0 || row.mean_live > max_mean_live) {
      return fail(line, "mean_live " + shown(field[2]) + " (valid: a finite number 0 .. 2^48, objects)");
    }
    row.mean_live += 0.0;  // -0 reads as 0
    if (!d.rows.empty() && row.size <= d.rows.back().size) {
      return fail(line, "size " + std::to_string(row.size) +
                            (row.size == d.rows.back().size ? " twice" : " after " + std::to_string(d.rows.back().size)) +
                            " (valid: sizes strictly ascending, each once)");
    }
    d.rows.push_back(row);
  }
  if (!header) return fail(line, "no header (valid: '# ...' lines, then the header size,rate,mean_live)");
  if (d.rows.empty()) return fail(line, "no rows (valid: at least one row size,rate,mean_live)");
  return d;
}

}  // namespace alloclab::trace
