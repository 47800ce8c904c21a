// Distill (trace -> size distribution), its CSV round trip, the strict CSV reader on every
// class of bad input, and `alloclab-trace distill`'s file handling (run_distill).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "alloclab/trace/distribution.hpp"
#include "alloclab/trace/reader.hpp"
#include "alloclab/workloads/workload.hpp"
#include "distribution_events.hpp"
#include "trace_builder.hpp"

namespace alloclab::trace_tool {
int run_distill(const std::string& trace_path, const std::string& out_path);
}

namespace alloclab::trace {
namespace {

namespace fs = std::filesystem;
using testing::EventList;

// A fresh directory per test, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "alloclab-distribution-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data()) ? tmpl : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  [[nodiscard]] std::string file(const std::string& name) const { return path_ + "/" + name; }
  [[nodiscard]] std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(path_)) out.push_back(e.path().filename().string());
    return out;
  }
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}
std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

const DistributionRow* row_of(const Distribution& d, std::uint64_t size) {
  for (const auto& r : d.rows)
    if (r.size == size) return &r;
  return nullptr;
}

// --- distill -----------------------------------------------------------------------------------

TEST(Distill, RatesAndMeanLiveOfAHandBuiltTrace) {
  EventList e;
  const auto o0 = e.malloc(16);             // 0
  const auto o1 = e.malloc(32);             // 1
  e.free(o0);                               // 2: o0 lived 2 events
  const auto o2 = e.malloc(16);             // 3
  const auto o3 = e.realloc(o1, 48);        // 4: o1 (32) lived 3; o3 (48) born
  e.free(o2);                               // 5: o2 lived 2
  e.malloc(0);                              // 6: size 0 -> 1, live to the end (11 - 6 = 5)
  e.failed(Kind::malloc, 64);               // 7: no object, no rate
  e.failed_realloc(o3, 4096);               // 8: frees nothing, makes nothing
  e.foreign_free();                         // 9: not in the trace: skipped
  e.free(o3);                               // 10: o3 lived 10 - 4 = 6
  const Trace t = e.trace();
  ASSERT_EQ(t.summary.events, 11u);

  const Distribution d = distill(t);
  EXPECT_EQ(d.source, "/usr/bin/example");
  EXPECT_EQ(d.events, 11u);
  EXPECT_EQ(d.zero_size_requests, 1u);
  ASSERT_EQ(d.rows.size(), 4u);
  const double n = 11.0;
  const std::vector<DistributionRow> want = {
      {1, 1 / n, 5 / n}, {16, 2 / n, 4 / n}, {32, 1 / n, 3 / n}, {48, 1 / n, 6 / n}};
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(d.rows[i].size, want[i].size) << i;
    EXPECT_EQ(d.rows[i].rate, want[i].rate) << "size " << want[i].size;
    EXPECT_EQ(d.rows[i].mean_live, want[i].mean_live) << "size " << want[i].size;
  }
}

TEST(Distill, EveryAllocatingKindCountsAndLittlesLawHolds) {
  // Three sizes, each made by another kind; every object freed, so mean_live = rate x the mean
  // lifetime in events exactly (Little's law without censoring).
  EventList e;
  std::vector<std::pair<std::uint32_t, int>> pending;  // id, events left
  const std::uint64_t sizes[] = {24, 100, 4000};
  const Kind kinds[] = {Kind::calloc, Kind::aligned, Kind::malloc};
  const int lives[] = {1, 3, 7};
  std::uint64_t lifetime_sum[3] = {}, made[3] = {};
  std::vector<std::pair<std::uint32_t, std::uint64_t>> born;  // id -> event index
  std::vector<int> which;
  for (int round = 0; round < 30; ++round) {
    const int k = round % 3;
    const std::uint64_t at = e.events();
    const auto id = e.make(kinds[k], sizes[k], kinds[k] == Kind::aligned ? 6 : 0);
    born.push_back({id, at});
    which.push_back(k);
    pending.push_back({id, lives[k]});
    ++made[k];
    // Age everything by the event just made; free what is due (each free is an event too).
    for (std::size_t i = 0; i < pending.size();) {
      if (--pending[i].second <= 0) {
        const auto id_due = pending[i].first;
        std::size_t j = 0;
        while (born[j].first != id_due) ++j;
        lifetime_sum[which[j]] += e.events() - born[j].second;
        e.free(id_due);
        pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        ++i;
      }
    }
  }
  while (!pending.empty()) {  // free the rest
    const auto id_due = pending.back().first;
    std::size_t j = 0;
    while (born[j].first != id_due) ++j;
    lifetime_sum[which[j]] += e.events() - born[j].second;
    e.free(id_due);
    pending.pop_back();
  }
  const Trace t = e.trace();
  const Distribution d = distill(t);
  ASSERT_EQ(d.rows.size(), 3u);
  const double n = static_cast<double>(t.summary.events);
  for (int k = 0; k < 3; ++k) {
    const DistributionRow* r = row_of(d, sizes[k]);
    ASSERT_NE(r, nullptr) << sizes[k];
    EXPECT_EQ(r->rate, static_cast<double>(made[k]) / n);
    EXPECT_EQ(r->mean_live, static_cast<double>(lifetime_sum[k]) / n);
    // Little: lifetime = mean_live / rate.
    EXPECT_DOUBLE_EQ(r->mean_live / r->rate, static_cast<double>(lifetime_sum[k]) / static_cast<double>(made[k]));
  }
}

TEST(Distill, ForeignReallocMakesItsNewObjectOnly) {
  EventList e;
  const auto o = e.foreign_realloc(64);  // 0: the old side is not in the trace
  e.free(o);                             // 1
  e.malloc(8);                           // 2, live to the end
  const Distribution d = distill(e.trace());
  ASSERT_EQ(d.rows.size(), 2u);
  EXPECT_EQ(d.rows[0].size, 8u);
  EXPECT_EQ(d.rows[0].mean_live, 1 / 3.0);
  EXPECT_EQ(d.rows[1].size, 64u);
  EXPECT_EQ(d.rows[1].rate, 1 / 3.0);
  EXPECT_EQ(d.rows[1].mean_live, 1 / 3.0);
}

TEST(Distill, NoEventsOrNoAllocationGivesNoRows) {
  EXPECT_TRUE(distill(Trace{}).rows.empty());
  EventList e;
  e.failed(Kind::malloc, 10);
  e.foreign_free();
  EXPECT_TRUE(distill(e.trace()).rows.empty());
}

TEST(Distill, FromAFileReadByTheReaderWithCrossThreadFrees) {
  // Two threads interleaved by stamp: stamps 1..6, a realloc taking 4 and 5.
  testing::TraceBuilder b;
  b.time_mark(0, 0).time_mark(1, 0);
  b.malloc(0, 1, 100);          // event 0: object 1
  b.malloc(1, 2, 100);          // event 1: object 2
  b.free(1, 3, 1);              // event 2: thread 1 frees thread 0's object (lived 2)
  b.realloc(0, 4, 2, 200, 5);   // event 3: object 2 (lived 2) -> object 5
  b.free(0, 6, 5);              // event 4: object 5 lived 1
  b.end(1000);
  std::string error;
  ReadOptions options;
  options.events = true;
  const auto t = parse_trace(b.bytes().data(), b.bytes().size(), "mem.trace", &error, options);
  ASSERT_TRUE(t.has_value()) << error;
  ASSERT_EQ(t->summary.events, 5u);
  const Distribution d = distill(*t);
  ASSERT_EQ(d.rows.size(), 2u);
  EXPECT_EQ(d.source, "/usr/bin/example");
  EXPECT_EQ(d.rows[0].size, 100u);
  EXPECT_EQ(d.rows[0].rate, 2 / 5.0);
  EXPECT_EQ(d.rows[0].mean_live, 4 / 5.0);
  EXPECT_EQ(d.rows[1].size, 200u);
  EXPECT_EQ(d.rows[1].rate, 1 / 5.0);
  EXPECT_EQ(d.rows[1].mean_live, 1 / 5.0);
}

// --- CSV ---------------------------------------------------------------------------------------

TEST(DistributionCsv, RoundTripIsExact) {
  Distribution d;
  d.source = "/opt/prog name";
  d.events = 123456789;
  d.zero_size_requests = 3;
  d.rows = {{1, 0.1, 0.0},
            {16, 1.0 / 3.0, 2.0 / 3.0},
            {17, 1e300, 5e-324},
            {4096, 0.30000000000000004, 12345.678901234567},
            {max_distribution_size, 1e-20, 0x1.0p48}};
  TempDir dir;
  const std::string path = dir.file("d.csv");
  {
    std::ofstream out(path);
    write_csv(out, d);
  }
  const std::string text = read_file(path);
  EXPECT_EQ(text.rfind("# alloclab distribution v1\n# source: /opt/prog name\n# events: 123456789\n", 0), 0u) << text;
  EXPECT_NE(text.find("\nsize,rate,mean_live\n1,0.1,0\n16,"), std::string::npos) << text;

  std::string error;
  const auto back = read_distribution(path, &error);
  ASSERT_TRUE(back.has_value()) << error;
  EXPECT_EQ(back->source, d.source);
  EXPECT_EQ(back->events, d.events);
  EXPECT_EQ(back->zero_size_requests, d.zero_size_requests);
  ASSERT_EQ(back->rows.size(), d.rows.size());
  for (std::size_t i = 0; i < d.rows.size(); ++i) {
    EXPECT_EQ(back->rows[i].size, d.rows[i].size);
    EXPECT_EQ(back->rows[i].rate, d.rows[i].rate);  // bit for bit
    EXPECT_EQ(back->rows[i].mean_live, d.rows[i].mean_live);
  }
}

TEST(DistributionCsv, SourceCannotBreakTheFile) {
  Distribution d;
  d.source = "evil\nsize,rate,mean_live\n\xff\x01name";
  d.rows = {{8, 0.5, 1}};
  TempDir dir;
  const std::string path = dir.file("d.csv");
  {
    std::ofstream out(path);
    write_csv(out, d);
  }
  std::string error;
  const auto back = read_distribution(path, &error);
  ASSERT_TRUE(back.has_value()) << error;
  EXPECT_EQ(back->source, "evil?size,rate,mean_live???name");
  ASSERT_EQ(back->rows.size(), 1u);
}

TEST(DistributionCsv, HandMadeTablesNeedNoComments) {
  TempDir dir;
  const std::string path = dir.file("fleet.csv");
  write_file(path, "\xEF\xBB\xBFsize,rate,mean_live\r\n8,2.5,100\r\n16,1e-3,0\r\n");
  std::string error;
  const auto d = read_distribution(path, &error);
  ASSERT_TRUE(d.has_value()) << error;
  EXPECT_EQ(d->source, "");
  EXPECT_EQ(d->events, 0u);
  ASSERT_EQ(d->rows.size(), 2u);
  EXPECT_EQ(d->rows[0].rate, 2.5);  // rates in any unit: the workload uses their ratios
  EXPECT_EQ(d->rows[1].mean_live, 0.0);
}

struct BadCsv {
  const char* name;
  std::string content;
  int line;               // 0: the file as a whole ("PATH: problem")
  const char* mentions;   // the message names the problem with this
};

TEST(DistributionCsv, EveryBadInputIsOneLineNamingFileLineAndProblem) {
  const std::string h = "size,rate,mean_live\n";
  const std::vector<BadCsv> cases = {
      {"empty", "", 0, "empty file"},
      {"not_utf8", h + "16,0.5,1\n32,\xff,1\n", 3, "not UTF-8"},
      {"overlong_utf8", "# \xC0\xAF\n" + h + "1,1,1\n", 1, "not UTF-8"},
      {"nul_byte", h + std::string("16,0.5,1\0\n", 10), 2, "not UTF-8"},
      {"wrong_header", "size,rate\n16,0.5\n", 1, "header 'size,rate'"},
      {"header_case", "Size,Rate,Mean_Live\n", 1, "header"},
      {"only_comments", "# alloclab distribution v1\n# source: x\n", 2, "no header"},
      {"newer_version", "# alloclab distribution v2\n" + h + "1,1,1\n", 1, "format v2"},
      {"bad_events", "# events: many\n" + h + "1,1,1\n", 1, "events 'many'"},
      {"two_columns", h + "16,0.5\n", 2, "2 columns"},
      {"four_columns", h + "16,0.5,1,7\n", 2, "4 columns"},
      {"one_column", h + "16\n", 2, "1 column"},
      {"size_word", h + "sixteen,0.5,1\n", 2, "size 'sixteen'"},
      {"size_zero", h + "0,0.5,1\n", 2, "size '0'"},
      {"size_2_48", h + "281474976710656,0.5,1\n", 2, "size '281474976710656'"},
      {"size_overflow", h + "99999999999999999999999,0.5,1\n", 2, "size"},
      {"size_negative", h + "-16,0.5,1\n", 2, "size '-16'"},
      {"size_fraction", h + "16.5,0.5,1\n", 2, "size '16.5'"},
      {"size_space", h + " 16,0.5,1\n", 2, "size ' 16'"},
      {"size_plus", h + "+16,0.5,1\n", 2, "size '+16'"},
      {"rate_word", h + "16,half,1\n", 2, "rate 'half'"},
      {"rate_nan", h + "16,nan,1\n", 2, "rate 'nan'"},
      {"rate_inf", h + "16,inf,1\n", 2, "rate 'inf'"},
      {"rate_zero", h + "16,0,1\n", 2, "rate '0'"},
      {"rate_negative", h + "16,-0.5,1\n", 2, "rate '-0.5'"},
      {"rate_overflow", h + "16,1e999,1\n", 2, "rate '1e999'"},
      {"rate_empty", h + "16,,1\n", 2, "rate ''"},
      {"rate_hex", h + "16,0x10,1\n", 2, "rate '0x10'"},
      {"live_negative", h + "16,0.5,-1\n", 2, "mean_live '-1'"},
      {"live_nan", h + "16,0.5,NaN\n", 2, "mean_live 'NaN'"},
      {"live_inf", h + "16,0.5,infinity\n", 2, "mean_live 'infinity'"},
      {"live_too_many", h + "16,0.5,1e20\n", 2, "mean_live '1e20'"},
      {"live_trailing", h + "16,0.5,1x\n", 2, "mean_live '1x'"},
      {"duplicate", h + "16,0.5,1\n16,0.25,1\n", 3, "size 16 twice"},
      {"unsorted", h + "32,0.5,1\n16,0.25,1\n", 3, "size 16 after 32"},
      {"no_rows", "# source: x\n" + h, 2, "no rows"},
      {"empty_line", h + "16,0.5,1\n\n32,0.5,1\n", 3, "empty line"},
      {"trailing_empty_line", h + "16,0.5,1\n\n", 3, "empty line"},
      {"empty_line_before_header", "\n" + h, 1, "empty line"},
      {"comment_after_header", h + "# late\n16,0.5,1\n", 2, "comment after the header"},
  };
  TempDir dir;
  for (const BadCsv& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string path = dir.file(std::string(c.name) + ".csv");
    write_file(path, c.content);
    std::string error;
    const auto d = read_distribution(path, &error);
    EXPECT_FALSE(d.has_value());
    const std::string prefix = c.line == 0 ? path + ": " : path + ":" + std::to_string(c.line) + ": ";
    EXPECT_EQ(error.rfind(prefix, 0), 0u) << error;
    EXPECT_NE(error.find(c.mentions), std::string::npos) << error;
    EXPECT_NE(error.find("(valid: "), std::string::npos) << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  }
}

TEST(DistributionCsv, MissingFileAndDirectoryAreRefused) {
  TempDir dir;
  std::string error;
  EXPECT_FALSE(read_distribution(dir.file("absent.csv"), &error).has_value());
  EXPECT_EQ(error, dir.file("absent.csv") + ": cannot open: No such file or directory");
  EXPECT_FALSE(read_distribution(dir.path(), &error).has_value());
  EXPECT_EQ(error.rfind(dir.path() + ": not a regular file", 0), 0u) << error;
  EXPECT_FALSE(read_distribution(dir.file("x.csv"), nullptr).has_value());  // no error wanted: fine
}

TEST(DistributionCsv, NeverCrashesOnMangledInput) {
  // Random edits of a valid file (bytes replaced, inserted, deleted, lines cut), parsed in
  // memory: every outcome is a distribution that satisfies the invariants, or one line of error.
  const std::string valid =
      "# alloclab distribution v1\n# source: p\n# events: 100\nsize,rate,mean_live\n"
      "8,0.25,3.5\n16,0.125,0\n4096,1e-05,12.75\n";
  const char alphabet[] = "0123456789,.-+eEnaif#\n\r \xff\xc3\xa9x";
  workloads::Rng rng(2024);
  const std::string path = "mangled.csv";
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string s = valid;
    const int edits = 1 + static_cast<int>(rng.between(0, 3));
    for (int k = 0; k < edits && !s.empty(); ++k) {
      const std::size_t at = rng.between(0, s.size() - 1);
      const char ch = alphabet[rng.between(0, sizeof alphabet - 2)];
      switch (rng.between(0, 3)) {
        case 0: s[at] = ch; break;
        case 1: s.insert(s.begin() + static_cast<std::ptrdiff_t>(at), ch); break;
        case 2: s.erase(at, 1); break;
        default: s.resize(at); break;
      }
    }
    std::string error;
    const auto d = parse_distribution(s, path, &error);
    if (d) {
      ++accepted;
      ASSERT_FALSE(d->rows.empty());
      for (std::size_t r = 0; r < d->rows.size(); ++r) {
        const auto& row = d->rows[r];
        ASSERT_TRUE(row.size >= 1 && row.size <= max_distribution_size);
        ASSERT_TRUE(std::isfinite(row.rate) && row.rate > 0);
        ASSERT_TRUE(std::isfinite(row.mean_live) && row.mean_live >= 0);
        if (r > 0) {
          ASSERT_LT(d->rows[r - 1].size, row.size);
        }
      }
    } else {
      ASSERT_EQ(error.rfind(path + ":", 0), 0u) << error;
      ASSERT_EQ(error.find('\n'), std::string::npos) << error;
    }
  }
  EXPECT_GT(accepted, 0);  // some edits keep the file valid (a digit for a digit)
}

// --- run_distill (the `distill` command) -------------------------------------------------------

std::string small_trace_bytes() {
  testing::TraceBuilder b;
  b.time_mark(0, 0);
  b.malloc(0, 1, 64).malloc(0, 2, 128).free(0, 3, 1).malloc(0, 4, 64).free(0, 5, 4);
  b.end(100);
  return std::string(b.bytes().begin(), b.bytes().end());
}

TEST(DistillCommand, WritesTheCsvAtomicallyAndNothingElse) {
  TempDir dir;
  const std::string trace = dir.file("prog.trace");
  const std::string out = dir.file("prog.csv");
  write_file(trace, small_trace_bytes());
  write_file(out, "old contents\n");  // replaced whole
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(alloclab::trace_tool::run_distill(trace, out), 0);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  auto names = dir.names();
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"prog.csv", "prog.trace"}));  // no temporary left

  std::string error;
  const auto d = read_distribution(out, &error);
  ASSERT_TRUE(d.has_value()) << error;
  EXPECT_EQ(d->source, "/usr/bin/example");
  EXPECT_EQ(d->events, 5u);
  ASSERT_EQ(d->rows.size(), 2u);
  EXPECT_EQ(d->rows[0].size, 64u);
  EXPECT_EQ(d->rows[0].rate, 2 / 5.0);
  EXPECT_EQ(d->rows[0].mean_live, 3 / 5.0);  // lived 2 and 1 events
  EXPECT_EQ(d->rows[1].mean_live, 4 / 5.0);  // live from event 1 to the end
  struct stat st {};
  ASSERT_EQ(::stat(out.c_str(), &st), 0);
  EXPECT_NE(st.st_mode & 0044, 0u) << "readable like any file the user writes, not mkstemp's 0600";
}

struct CommandFailure {
  const char* name;
  std::string trace_bytes;  // empty: no trace file
  bool out_in_missing_dir;
  const char* mentions;
};

TEST(DistillCommand, BadInputIsOneLineExitTwoAndNothingWritten) {
  testing::TraceBuilder only_frees;
  only_frees.time_mark(0, 0);
  only_frees.malloc(0, 1, 8, /*failed=*/true);
  only_frees.end(10);
  std::string truncated_header = small_trace_bytes().substr(0, 5);
  const std::vector<CommandFailure> cases = {
      {"missing_trace", "", false, "No such file"},
      {"not_a_trace", "size,rate,mean_live\n", false, "prog.trace"},
      {"truncated_header", truncated_header, false, "prog.trace"},
      {"no_allocation", std::string(only_frees.bytes().begin(), only_frees.bytes().end()), false,
       "no successful allocation"},
      {"out_dir_missing", small_trace_bytes(), true, "cannot write"},
  };
  for (const CommandFailure& c : cases) {
    SCOPED_TRACE(c.name);
    TempDir dir;
    const std::string trace = dir.file("prog.trace");
    if (!c.trace_bytes.empty()) write_file(trace, c.trace_bytes);
    const std::string out = c.out_in_missing_dir ? dir.file("nowhere/prog.csv") : dir.file("prog.csv");
    ::testing::internal::CaptureStderr();
    EXPECT_EQ(alloclab::trace_tool::run_distill(trace, out), 2);
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(err.rfind("alloclab-trace: ", 0), 0u) << err;
    EXPECT_NE(err.find(c.mentions), std::string::npos) << err;
    ASSERT_FALSE(err.empty());
    EXPECT_EQ(err.find('\n'), err.size() - 1) << "one line: " << err;
    auto names = dir.names();
    if (!c.trace_bytes.empty()) {
      EXPECT_EQ(names, std::vector<std::string>{"prog.trace"});
    } else {
      EXPECT_TRUE(names.empty());
    }
  }
}

TEST(DistillCommand, ATruncatedTraceIsDistilledWithANote) {
  TempDir dir;
  const std::string trace = dir.file("cut.trace");
  testing::TraceBuilder b;
  b.time_mark(0, 0);
  b.malloc(0, 1, 64).malloc(0, 2, 128).free(0, 3, 1);
  b.flush_all();  // no end record: the process died
  write_file(trace, std::string(b.bytes().begin(), b.bytes().end()));
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(alloclab::trace_tool::run_distill(trace, dir.file("cut.csv")), 0);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("truncated"), std::string::npos) << err;
  std::string error;
  const auto d = read_distribution(dir.file("cut.csv"), &error);
  ASSERT_TRUE(d.has_value()) << error;
  EXPECT_EQ(d->events, 3u);
  EXPECT_EQ(d->rows.size(), 2u);
}

TEST(DistillCommand, RefusesToOverwriteTheTrace) {
  TempDir dir;
  const std::string trace = dir.file("prog.trace");
  const std::string bytes = small_trace_bytes();
  write_file(trace, bytes);
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(alloclab::trace_tool::run_distill(trace, trace), 2);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("is the trace itself"), std::string::npos) << err;
  EXPECT_EQ(read_file(trace), bytes);
}

}  // namespace
}  // namespace alloclab::trace
