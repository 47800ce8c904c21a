// harness/src/trace_tool/info.cpp — `alloclab-trace info`: computes an InfoReport from a trace
// read with its events (one pass in stamp order, per-object arrays indexed by the dense object
// ids), then prints it as text or JSON. See info.hpp for what each figure means.
#include "info.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <iostream>

#include "alloclab/trace/reader.hpp"

namespace alloclab::trace_tool {

using trace::Event;
using trace::Kind;
using trace::no_object;

Percentiles percentiles(std::vector<double> sample) {
  Percentiles p;
  p.count = sample.size();
  if (sample.empty()) return p;
  // Nearest rank: the smallest value with at least q of the sample at or below it.
  auto rank = [&](double q) {
    const auto n = static_cast<double>(sample.size());
    auto k = static_cast<std::size_t>(std::ceil(q * n));
    k = std::clamp<std::size_t>(k, 1, sample.size()) - 1;
    std::nth_element(sample.begin(), sample.begin() + static_cast<std::ptrdiff_t>(k), sample.end());
    return sample[k];
  };
  p.p50 = rank(0.50);
  p.p90 = rank(0.90);
  p.p99 = rank(0.99);
  auto [lo, hi] = std::minmax_element(sample.begin(), sample.end());
  p.min = *lo;
  p.max = *hi;
  return p;
}

InfoReport compute_info(const trace::Trace& t, const std::string& file) {
  InfoReport r;
  r.file = file;
  r.meta = t.meta;
  r.summary = t.summary;
  if (t.summary.events > 0) {
    r.bytes_per_event = static_cast<double>(t.summary.file_bytes) / static_cast<double>(t.summary.events);
  }
  for (const auto& ops : t.threads) r.events_per_thread.push_back(ops.size());

  // Per object: the event (stamp-order index) and time it was made, and its size.
  const std::size_t objects = t.objects;
  std::vector<std::uint64_t> born(objects, 0), born_ns(objects, 0), size(objects, 0);
  std::vector<std::uint64_t> bins(65, 0);  // by std::bit_width(size): 0, 1, 2-3, 4-7, ...
  std::vector<double> life_events, life_ns, growth;
  life_events.reserve(objects);
  life_ns.reserve(objects);

  auto make = [&](std::uint32_t id, std::uint64_t index, const Event& e) {
    if (id == no_object || id >= objects) return;
    born[id] = index;
    born_ns[id] = e.time_ns;
    size[id] = e.op.size();
    ++bins[std::bit_width(e.op.size())];
  };
  auto release = [&](std::uint32_t id, std::uint64_t index, const Event& e) {
    if (id == no_object || id >= objects) return;
    ++r.freed_objects;
    life_events.push_back(static_cast<double>(index - born[id]));
    life_ns.push_back(static_cast<double>(e.time_ns >= born_ns[id] ? e.time_ns - born_ns[id] : 0));
  };

  for (std::uint64_t i = 0; i < t.events.size(); ++i) {
    const Event& e = t.events[i];
    const trace::Op& op = e.op;
    switch (op.kind()) {
      case Kind::malloc:
      case Kind::calloc:
      case Kind::aligned:
        if (!op.failed()) make(op.object, i, e);
        break;
      case Kind::free:
        if (op.foreign()) break;
        ++r.frees;
        r.frees_by_other_thread += op.wait();
        release(op.object, i, e);
        break;
      case Kind::realloc:
        if (op.failed()) break;
        if (!op.foreign() && op.old_object < objects) {
          ++r.reallocs;
          r.reallocs_by_other_thread += op.wait();
          const std::uint64_t old_size = size[op.old_object];
          const std::uint64_t new_size = op.size();
          if (new_size > old_size) {
            ++r.realloc_grow;
          } else if (new_size < old_size) {
            ++r.realloc_shrink;
          } else {
            ++r.realloc_same;
          }
          if (old_size > 0) growth.push_back(static_cast<double>(new_size) / static_cast<double>(old_size));
          release(op.old_object, i, e);
        }
        make(op.object, i, e);
        break;
      case Kind::time_mark:
        break;
    }
  }
  r.lifetime_events = percentiles(std::move(life_events));
  r.lifetime_seconds = percentiles(std::move(life_ns));
  r.lifetime_seconds.min /= 1e9;
  r.lifetime_seconds.p50 /= 1e9;
  r.lifetime_seconds.p90 /= 1e9;
  r.lifetime_seconds.p99 /= 1e9;
  r.lifetime_seconds.max /= 1e9;
  r.realloc_growth = percentiles(std::move(growth));

  std::uint64_t made = 0;
  for (std::uint64_t c : bins) made += c;
  std::size_t first = bins.size(), last = 0;
  for (std::size_t b = 0; b < bins.size(); ++b) {
    if (bins[b] == 0) continue;
    first = std::min(first, b);
    last = b;
  }
  for (std::size_t b = first; b <= last && b < bins.size(); ++b) {
    SizeBin bin;
    bin.min = b == 0 ? 0 : std::uint64_t{1} << (b - 1);
    bin.max = b == 0 ? 0 : (b == 64 ? UINT64_MAX : (std::uint64_t{1} << b) - 1);
    bin.count = bins[b];
    bin.share = made ? static_cast<double>(bins[b]) / static_cast<double>(made) : 0;
    r.size_histogram.push_back(bin);
  }
  return r;
}

// ---- text -----------------------------------------------------------------------------------

namespace {

std::string with_commas(std::uint64_t v) {
  std::string digits = std::to_string(v);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string format(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

// 1536 -> "1.5 KiB"; exact bytes stay beside it where it matters.
std::string human_bytes(double v) {
  static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  return u == 0 ? format("%.0f", v) + " B" : format("%.1f", v) + " " + units[u];
}

// A power of two in binary units: 1024 -> "1K".
std::string size_label(std::uint64_t v) {
  static const char* const units[] = {"", "K", "M", "G", "T", "P", "E"};
  int u = 0;
  while (v >= 1024 && v % 1024 == 0 && u < 6) {
    v /= 1024;
    ++u;
  }
  return std::to_string(v) + units[u];
}
// "0", "1", "[2, 4)", ..., "[1K, 2K)": sizes are below 2^48 (Op), so max + 1 never wraps.
std::string bin_label(const SizeBin& b) {
  if (b.min == b.max) return size_label(b.min);
  return "[" + size_label(b.min) + ", " + size_label(b.max + 1) + ")";
}

std::string percent(double share) { return format("%.1f%%", 100 * share); }

std::string share_of(std::uint64_t part, std::uint64_t whole) {
  if (whole == 0) return "-";
  return percent(static_cast<double>(part) / static_cast<double>(whole));
}

std::string seconds(double s) {
  if (s == 0) return "0 s";
  if (s < 1e-6) return format("%.0f ns", s * 1e9);
  if (s < 1e-3) return format("%.1f us", s * 1e6);
  if (s < 1) return format("%.1f ms", s * 1e3);
  return format("%.3f s", s);
}

// An argument as a shell would need it, on one line: plain, 'quoted', or $'...' with escapes
// when it holds control characters (a newline in `python3 -c` code).
std::string quote_arg(const std::string& a) {
  bool control = false;
  for (unsigned char c : a) control |= c < 0x20 || c == 0x7F;
  if (!control && !a.empty() && a.find_first_of(" '\"\\$`*?[]{}()<>|&;#~!") == std::string::npos) return a;
  if (!control) {
    std::string out = "'";
    for (char c : a) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
  }
  std::string out = "$'";
  for (unsigned char c : a) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\\' || c == '\'') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "'";
}

std::string utc_time(std::uint64_t unix_ns) {
  const std::time_t secs = static_cast<std::time_t>(unix_ns / 1000000000u);
  std::tm tm{};
  if (!gmtime_r(&secs, &tm)) return std::to_string(unix_ns) + " ns";
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

// A count right-aligned, then its share: the columns of the events and threads tables.
std::string count_share(std::uint64_t count, std::uint64_t whole) {
  std::string c = with_commas(count);
  std::string out = std::string(c.size() < 14 ? 14 - c.size() : 0, ' ') + c;
  if (whole) out += "  " + format("%5.1f%%", 100 * static_cast<double>(count) / static_cast<double>(whole));
  return out;
}

// 12345678 -> "12.3 M"
std::string rate(double v) {
  if (v >= 1e9) return format("%.1f G", v / 1e9);
  if (v >= 1e6) return format("%.1f M", v / 1e6);
  if (v >= 1e3) return format("%.1f k", v / 1e3);
  return format("%.0f", v);
}

void line(std::ostream& out, const std::string& label, const std::string& value) {
  out << "  " << label;
  for (std::size_t i = label.size(); i < 22; ++i) out << ' ';
  out << value << '\n';
}

}  // namespace

void print_info_text(std::ostream& out, const InfoReport& r) {
  const trace::Summary& s = r.summary;
  const trace::Metadata& m = r.meta;
  out << r.file << "\n";
  std::string command;
  for (const std::string& a : m.args) command += (command.empty() ? "" : " ") + quote_arg(a);
  line(out, "program", m.program.empty() ? "(not recorded)" : m.program);
  if (!command.empty()) line(out, "command", command);
  std::string pid = std::to_string(m.pid) + " (parent " + std::to_string(m.parent_pid) + ")";
  if (m.forked_from_stamp) pid += ", a fork child without exec: from the parent's stamp " + std::to_string(*m.forked_from_stamp);
  line(out, "pid", pid);
  std::string machine = m.host.empty() ? "(not recorded)" : m.host;
  if (!m.cpu_model.empty()) machine += ", " + m.cpu_model;
  if (m.cores) machine += ", " + std::to_string(m.cores) + " cores";
  if (!m.kernel.empty()) machine += ", " + m.kernel;
  line(out, "machine", machine);
  if (m.started_unix_ns) line(out, "started", utc_time(m.started_unix_ns));
  const double duration = static_cast<double>(s.duration_ns) / 1e9;
  line(out, "duration", seconds(duration) + (duration > 0 ? " (" + rate(static_cast<double>(s.events) / duration) + " events/s)" : ""));
  line(out, "file", with_commas(s.file_bytes) + " bytes (" + human_bytes(static_cast<double>(s.file_bytes)) + "), " +
                        format("%.2f", r.bytes_per_event) + " bytes/event");
  std::string state = s.truncated ? "TRUNCATED: no end record; the complete chunks are read (a prefix per thread)"
                                  : "complete (end record present)";
  line(out, "state", state);
  if (s.dropped_events) line(out, "dropped events", with_commas(s.dropped_events) + " (not written: a write error or exit)");
  line(out, "untracked frees", with_commas(s.untracked_frees) + " (of memory from before the recorder; not in the trace)");

  out << "\nevents\n";
  line(out, "total", count_share(s.events, 0));
  static const char* const names[] = {"malloc", "calloc", "realloc", "free", "aligned"};
  for (int k = 0; k < 5; ++k) line(out, names[k], count_share(s.by_kind[k], s.events));
  line(out, "failed", count_share(s.failed, s.events) + "  (returned NULL)");

  const std::size_t nt = r.events_per_thread.size();
  out << "\nthreads: " << nt << "\n";
  if (nt <= 16) {
    for (std::size_t t = 0; t < nt; ++t) {
      line(out, "thread " + std::to_string(t), count_share(r.events_per_thread[t], s.events));
    }
  } else {
    std::vector<std::size_t> order(nt);
    for (std::size_t t = 0; t < nt; ++t) order[t] = t;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return r.events_per_thread[a] > r.events_per_thread[b]; });
    for (std::size_t i = 0; i < 10; ++i) {
      const std::size_t t = order[i];
      line(out, "thread " + std::to_string(t), count_share(r.events_per_thread[t], s.events));
    }
    std::vector<std::uint64_t> sorted = r.events_per_thread;
    std::sort(sorted.begin(), sorted.end());
    line(out, "the other " + std::to_string(nt - 10), "events per thread: min " + with_commas(sorted.front()) + ", median " +
                                                         with_commas(sorted[nt / 2]) + " (--json lists every thread)");
  }

  out << "\nobjects\n";
  line(out, "made", with_commas(s.objects));
  line(out, "freed", with_commas(r.freed_objects));
  line(out, "never freed", with_commas(s.live_objects_at_end) + ", " + with_commas(s.live_bytes_at_end) + " bytes (" +
                               human_bytes(static_cast<double>(s.live_bytes_at_end)) + ") live at the end");
  line(out, "peak live", with_commas(s.peak_live_bytes) + " bytes (" + human_bytes(static_cast<double>(s.peak_live_bytes)) +
                             "), " + with_commas(s.peak_live_objects) + " objects (requested bytes, in stamp order)");
  line(out, "frees by other thread",
       with_commas(r.frees_by_other_thread) + " of " + with_commas(r.frees) + " frees (" + share_of(r.frees_by_other_thread, r.frees) +
           "), " + with_commas(r.reallocs_by_other_thread) + " of " + with_commas(r.reallocs) + " reallocs (" +
           share_of(r.reallocs_by_other_thread, r.reallocs) + ")");
  if (s.frees_foreign) {
    line(out, "foreign frees", with_commas(s.frees_foreign) + " (of objects not in the trace: a replay skips them)");
  }

  out << "\nsizes of the objects made (requested bytes, power-of-two bins)\n";
  if (r.size_histogram.empty()) out << "  (none)\n";
  for (const SizeBin& b : r.size_histogram) {
    const std::string label = bin_label(b);
    std::string count = with_commas(b.count);
    out << "  " << label;
    for (std::size_t i = label.size(); i < 16; ++i) out << ' ';
    for (std::size_t i = count.size(); i < 14; ++i) out << ' ';
    out << count << "  " << format("%5.1f%%", 100 * b.share) << "  ";
    const int bar = static_cast<int>(std::lround(b.share * 40));
    out << std::string(static_cast<std::size_t>(bar), '#') << '\n';
  }

  out << "\nlifetimes of the freed objects (" << with_commas(r.freed_objects) << "; never freed: "
      << with_commas(s.live_objects_at_end) << ")\n";
  if (r.lifetime_events.count == 0) {
    out << "  (none)\n";
  } else {
    const Percentiles& e = r.lifetime_events;
    const Percentiles& t = r.lifetime_seconds;
    line(out, "", "      p50        p90        p99        max");
    char buf[160];
    std::snprintf(buf, sizeof buf, "%9.0f  %9.0f  %9.0f  %9.0f", e.p50, e.p90, e.p99, e.max);
    line(out, "in events", buf);
    auto cell = [](double v) {
      std::string c = seconds(v);
      return std::string(c.size() < 9 ? 9 - c.size() : 0, ' ') + c;
    };
    line(out, "in time", cell(t.p50) + "  " + cell(t.p90) + "  " + cell(t.p99) + "  " + cell(t.max));
  }

  out << "\nrealloc growth (" << with_commas(r.reallocs) << " reallocs of traced objects)\n";
  line(out, "grow / shrink / same", with_commas(r.realloc_grow) + " / " + with_commas(r.realloc_shrink) + " / " +
                                        with_commas(r.realloc_same));
  if (r.realloc_growth.count > 0) {
    const Percentiles& g = r.realloc_growth;
    line(out, "new size / old size", "min " + format("%.3g", g.min) + ", p50 " + format("%.3g", g.p50) + ", p90 " +
                                         format("%.3g", g.p90) + ", p99 " + format("%.3g", g.p99) + ", max " +
                                         format("%.3g", g.max));
  }
}

// ---- JSON -----------------------------------------------------------------------------------

namespace {

// Values are null for an empty sample; whole numbers (lifetimes in events) are written as such.
nlohmann::json percentiles_json(const Percentiles& p, bool whole = false) {
  nlohmann::json j;
  j["count"] = p.count;
  for (auto [key, value] : {std::pair{"min", p.min}, {"p50", p.p50}, {"p90", p.p90}, {"p99", p.p99}, {"max", p.max}}) {
    if (p.count == 0) {
      j[key] = nullptr;
    } else if (whole) {
      j[key] = static_cast<std::uint64_t>(value);
    } else {
      j[key] = value;
    }
  }
  return j;
}

}  // namespace

nlohmann::json info_json(const InfoReport& r) {
  const trace::Summary& s = r.summary;
  const trace::Metadata& m = r.meta;
  nlohmann::json j;
  j["schema"] = 1;
  j["file"] = r.file;
  j["file_bytes"] = s.file_bytes;
  j["bytes_per_event"] = r.bytes_per_event;
  j["program"] = m.program;
  j["args"] = m.args;
  j["pid"] = m.pid;
  j["parent_pid"] = m.parent_pid;
  j["forked_from_stamp"] = m.forked_from_stamp ? nlohmann::json(*m.forked_from_stamp) : nlohmann::json(nullptr);
  j["started_unix_ns"] = m.started_unix_ns;
  j["machine"] = {{"host", m.host}, {"cpu_model", m.cpu_model}, {"cores", m.cores}, {"kernel", m.kernel}};
  // The header's metadata as recorded (keys this tool does not know included).
  j["metadata"] = nlohmann::json::parse(m.json, nullptr, false);
  if (j["metadata"].is_discarded()) j["metadata"] = nlohmann::json::object();
  j["duration_s"] = static_cast<double>(s.duration_ns) / 1e9;
  j["truncated"] = s.truncated;
  j["dropped_events"] = s.dropped_events;
  j["untracked_frees"] = s.untracked_frees;
  j["events"] = {{"total", s.events},
                 {"malloc", s.by_kind[0]},
                 {"calloc", s.by_kind[1]},
                 {"realloc", s.by_kind[2]},
                 {"free", s.by_kind[3]},
                 {"aligned", s.by_kind[4]},
                 {"failed", s.failed}};
  j["threads"] = {{"count", r.events_per_thread.size()}, {"events", r.events_per_thread}};
  j["objects"] = {{"made", s.objects},
                  {"freed", r.freed_objects},
                  {"never_freed", s.live_objects_at_end},
                  {"live_bytes_at_end", s.live_bytes_at_end}};
  j["peak_live"] = {{"bytes", s.peak_live_bytes}, {"objects", s.peak_live_objects}};
  nlohmann::json bins = nlohmann::json::array();
  for (const SizeBin& b : r.size_histogram) {
    bins.push_back({{"min", b.min}, {"max", b.max}, {"count", b.count}, {"share", b.share}});
  }
  j["size_histogram"] = bins;
  j["lifetime"] = {{"freed", r.freed_objects},
                   {"never_freed", s.live_objects_at_end},
                   {"events", percentiles_json(r.lifetime_events, true)},
                   {"seconds", percentiles_json(r.lifetime_seconds)}};
  const std::uint64_t both = r.frees + r.reallocs;
  const std::uint64_t both_other = r.frees_by_other_thread + r.reallocs_by_other_thread;
  j["cross_thread"] = {{"frees", r.frees},
                       {"frees_by_other_thread", r.frees_by_other_thread},
                       {"reallocs", r.reallocs},
                       {"reallocs_by_other_thread", r.reallocs_by_other_thread},
                       {"share", both ? nlohmann::json(static_cast<double>(both_other) / static_cast<double>(both))
                                      : nlohmann::json(nullptr)}};
  j["foreign_frees"] = s.frees_foreign;
  j["realloc"] = {{"count", r.reallocs},
                  {"grow", r.realloc_grow},
                  {"shrink", r.realloc_shrink},
                  {"same", r.realloc_same},
                  {"growth_factor", percentiles_json(r.realloc_growth)}};
  return j;
}

int run_info(const std::string& path, bool json) {
  std::string error;
  trace::ReadOptions options;
  options.events = true;
  const std::optional<trace::Trace> t = trace::read_trace(path, &error, options);
  if (!t) {
    if (error.find("(valid") == std::string::npos)
      error += " (valid: a trace recorded by liballoclab_trace.so, see workloads/TRACE_FORMAT.md)";
    std::fprintf(stderr, "alloclab-trace: %s\n", error.c_str());
    return 2;
  }
  const InfoReport report = compute_info(*t, path);
  if (json) {
    // Strings from the trace are checked UTF-8 (the reader's JSON parser), so dump() cannot throw.
    std::cout << info_json(report).dump(2) << '\n';
  } else {
    print_info_text(std::cout, report);
  }
  std::cout.flush();
  if (!std::cout) {
    std::fprintf(stderr, "alloclab-trace: the figures could not be written to standard output\n");
    return 1;
  }
  return 0;
}

}  // namespace alloclab::trace_tool
