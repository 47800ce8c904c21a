// tests/trace/recorder_preload.cpp — liballoclab_trace.so as it is used: each test runs a
// scenario of recorder_scenarios.cpp under LD_PRELOAD with ALLOCLAB_TRACE_DIR set to a fresh
// directory, then reads the trace(s) it left with read_trace (reader.hpp) and checks the
// events against the calls the scenario made. Where the reader hides a detail (the id a fork
// child's free names, which the reader only marks as foreign), a small decoder of the raw
// events checks it. The process's own behaviour (output, exit status, stderr) is checked too.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "alloclab/trace/format.hpp"
#include "alloclab/trace/reader.hpp"
#include "recorder_sizes.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using namespace alloclab::trace;
using namespace alloclab::trace::recorder_test;

enum class DirMode { set, unset, missing };

struct Outcome {
  int status = -1;
  std::string out, err;
  fs::path dir;
  [[nodiscard]] bool exited(int code) const { return WIFEXITED(status) && WEXITSTATUS(status) == code; }
  [[nodiscard]] bool signaled(int signal) const { return WIFSIGNALED(status) && WTERMSIG(status) == signal; }
  [[nodiscard]] std::vector<fs::path> traces() const {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (entry.path().extension() == ".trace") files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    return files;
  }
};

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class RecorderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/alloclab-recorder-XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(root_, ignored);
  }

  // Runs the scenario with the recorder preloaded; its traces go to root_/traces.
  Outcome run(const std::string& scenario, DirMode mode = DirMode::set) {
    Outcome r;
    r.dir = root_ / "traces";
    fs::create_directories(r.dir);
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string_view v = *e;
      if (v.starts_with("LD_PRELOAD=") || v.starts_with("ALLOCLAB_TRACE_DIR=")) continue;
      env.emplace_back(v);
    }
    env.push_back(std::string("LD_PRELOAD=") + ALLOCLAB_TRACE_RECORDER);
    if (mode == DirMode::set) env.push_back("ALLOCLAB_TRACE_DIR=" + r.dir.string());
    if (mode == DirMode::missing) env.push_back("ALLOCLAB_TRACE_DIR=" + (root_ / "missing").string());
    std::vector<char*> envp;
    for (std::string& s : env) envp.push_back(s.data());
    envp.push_back(nullptr);

    const std::string out = (root_ / "stdout").string(), err = (root_ / "stderr").string();
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::string program = ALLOCLAB_TRACE_SCENARIOS;
    std::string argument = scenario;
    char* argv[] = {program.data(), argument.data(), nullptr};
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, program.c_str(), &actions, nullptr, argv, envp.data());
    posix_spawn_file_actions_destroy(&actions);
    EXPECT_EQ(rc, 0) << "posix_spawn " << program;
    if (rc != 0) return r;
    EXPECT_EQ(waitpid(pid, &r.status, 0), pid);
    pid_ = pid;
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
  }

  // The trace of the process the test started.
  [[nodiscard]] fs::path main_trace(const Outcome& r) const { return r.dir / (std::to_string(pid_) + ".trace"); }

  fs::path root_;
  pid_t pid_ = -1;
};

std::optional<Trace> read(const fs::path& path) {
  std::string error;
  ReadOptions options;
  options.events = true;
  auto trace = read_trace(path.string(), &error, options);
  EXPECT_TRUE(trace.has_value()) << error;
  return trace;
}

// The events strictly between the begin and the end marker (all threads, stamp order).
std::vector<Event> region(const Trace& t) {
  auto is_marker = [](const Event& e, std::size_t size) {
    return e.op.kind() == Kind::malloc && !e.op.failed() && e.op.size() == size;
  };
  const auto begin = std::find_if(t.events.begin(), t.events.end(), [&](const Event& e) { return is_marker(e, marker_begin); });
  const auto end = std::find_if(t.events.begin(), t.events.end(), [&](const Event& e) { return is_marker(e, marker_end); });
  EXPECT_NE(begin, t.events.end()) << "no begin marker";
  EXPECT_NE(end, t.events.end()) << "no end marker";
  if (begin == t.events.end() || end == t.events.end() || end < begin) return {};
  return {begin + 1, end};
}

std::size_t count_kind(const std::vector<Event>& events, Kind kind) {
  return static_cast<std::size_t>(std::count_if(events.begin(), events.end(), [&](const Event& e) { return e.op.kind() == kind; }));
}

std::vector<const Event*> with_size(const std::vector<Event>& events, Kind kind, std::size_t size) {
  std::vector<const Event*> found;
  for (const Event& e : events) {
    if (e.op.kind() == kind && e.op.size() == size && !e.op.failed()) found.push_back(&e);
  }
  return found;
}

// Frees (free, or a realloc's free side) of `object`.
std::vector<const Event*> frees_of(const std::vector<Event>& events, std::uint32_t object) {
  std::vector<const Event*> found;
  for (const Event& e : events) {
    if ((e.op.kind() == Kind::free && e.op.object == object) ||
        (e.op.kind() == Kind::realloc && !e.op.failed() && e.op.old_object == object)) {
      found.push_back(&e);
    }
  }
  return found;
}

std::size_t lines(const std::string& text) { return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')); }

// The raw events of a trace file, decoded here from TRACE_FORMAT.md alone: stamps and the ids
// frees name, which the reader turns into dense indices.
struct RawEvent {
  std::uint32_t thread = 0;
  std::uint64_t stamp = 0;
  Kind kind = Kind::malloc;
  bool failed = false;
  std::uint64_t size = 0;
  std::uint64_t freed = 0;  // free, realloc: the id named
};

std::vector<RawEvent> raw_events(const fs::path& path) {
  const std::string file = slurp(path);
  const auto* p = reinterpret_cast<const unsigned char*>(file.data());
  const unsigned char* end = p + file.size();
  std::vector<RawEvent> events;
  auto varint = [&](const unsigned char* limit) {
    auto v = get_varint(&p, limit);
    EXPECT_TRUE(v.has_value());
    return v.value_or(0);
  };
  p += 12;
  p += varint(end);
  while (p < end && *p == chunk_tag) {
    ++p;
    const auto thread = static_cast<std::uint32_t>(varint(end));
    std::uint64_t previous = varint(end);
    varint(end);  // event count
    const std::uint64_t bytes = varint(end);
    p += 4;
    if (static_cast<std::uint64_t>(end - p) < bytes) break;  // torn
    const unsigned char* limit = p + bytes;
    while (p < limit) {
      const unsigned char byte0 = *p++;
      const auto kind = static_cast<Kind>(byte0 & kind_mask);
      if (kind == Kind::time_mark) {
        varint(limit);
        continue;
      }
      RawEvent e;
      e.thread = thread;
      e.kind = kind;
      e.failed = (byte0 & failed_bit) != 0;
      e.stamp = (byte0 & next_stamp_bit) != 0 ? previous + 1 : previous + varint(limit);
      previous = e.stamp;
      if (kind == Kind::aligned) ++p;
      if (kind == Kind::free || kind == Kind::realloc) e.freed = e.stamp - varint(limit);
      if (kind != Kind::free) e.size = varint(limit);
      if (kind == Kind::realloc && !e.failed) previous = e.stamp + varint(limit);
      events.push_back(e);
    }
  }
  return events;
}

// --- the tests --------------------------------------------------------------------------------

TEST_F(RecorderTest, CountsEachKindExactly) {
  const Outcome r = run("counts");
  ASSERT_TRUE(r.exited(0)) << r.err;
  EXPECT_EQ(r.out, "counts done\n");
  EXPECT_EQ(r.err, "");
  const auto trace = read(main_trace(r));
  ASSERT_TRUE(trace);
  EXPECT_FALSE(trace->summary.truncated);
  EXPECT_EQ(trace->summary.dropped_events, 0u);
  const std::vector<Event> ev = region(*trace);
  EXPECT_EQ(count_kind(ev, Kind::malloc), 10u);
  EXPECT_EQ(count_kind(ev, Kind::calloc), 3u);
  EXPECT_EQ(count_kind(ev, Kind::realloc), 2u);
  EXPECT_EQ(count_kind(ev, Kind::aligned), 5u);
  EXPECT_EQ(count_kind(ev, Kind::free), 18u);  // free(NULL) is not recorded
  EXPECT_EQ(ev.size(), 38u);

  std::multiset<std::uint64_t> malloc_sizes, calloc_sizes, realloc_sizes;
  std::multiset<std::pair<std::size_t, std::uint64_t>> aligned;
  std::set<std::uint32_t> made, freed;
  for (const Event& e : ev) {
    EXPECT_FALSE(e.op.failed());
    EXPECT_EQ(e.thread, ev.front().thread);
    switch (e.op.kind()) {
      case Kind::malloc: malloc_sizes.insert(e.op.size()); break;
      case Kind::calloc: calloc_sizes.insert(e.op.size()); break;
      case Kind::realloc:
        realloc_sizes.insert(e.op.size());
        EXPECT_TRUE(freed.insert(e.op.old_object).second);
        break;
      case Kind::aligned: aligned.insert({e.op.alignment_log2(), e.op.size()}); break;
      case Kind::free: EXPECT_TRUE(freed.insert(e.op.object).second); break;
      default: ADD_FAILURE() << "kind " << static_cast<int>(e.op.kind());
    }
    if (e.op.kind() != Kind::free) made.insert(e.op.object);
  }
  std::multiset<std::uint64_t> expected_mallocs;
  for (std::size_t i = 0; i < 10; ++i) expected_mallocs.insert(count_malloc_size + i);
  EXPECT_EQ(malloc_sizes, expected_mallocs);
  EXPECT_EQ(calloc_sizes, (std::multiset<std::uint64_t>{4 * count_calloc_element, 4 * (count_calloc_element + 1),
                                                         4 * (count_calloc_element + 2)}));
  EXPECT_EQ(realloc_sizes, (std::multiset<std::uint64_t>{count_realloc_grow, count_realloc_shrink}));
  const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  const std::size_t page_log2 = static_cast<std::size_t>(__builtin_ctzll(page));
  EXPECT_EQ(aligned, (std::multiset<std::pair<std::size_t, std::uint64_t>>{
                         {6, count_posix_memalign},
                         {12, count_aligned_alloc},
                         {7, count_memalign},
                         {page_log2, count_valloc},
                         {page_log2, (count_pvalloc + page - 1) / page * page}}));
  // Every object the sequence made, it freed, and nothing else.
  EXPECT_EQ(made, freed);
}

TEST_F(RecorderTest, ReallocEdgesAndFailedCalls) {
  const Outcome r = run("realloc_edges");
  ASSERT_TRUE(r.exited(0)) << r.err;
  EXPECT_EQ(r.out, "edges done\n");
  const auto trace = read(main_trace(r));
  ASSERT_TRUE(trace);
  const std::vector<Event> ev = region(*trace);
  EXPECT_EQ(count_kind(ev, Kind::malloc), 5u);   // realloc(NULL), 2 blocks, malloc(huge), reallocarray(NULL)
  EXPECT_EQ(count_kind(ev, Kind::calloc), 1u);   // the overflow
  EXPECT_EQ(count_kind(ev, Kind::realloc), 2u);  // both failed
  EXPECT_EQ(count_kind(ev, Kind::free), 3u);     // realloc(p, 0) and two frees
  EXPECT_EQ(count_kind(ev, Kind::aligned), 0u);
  std::size_t failed = 0;
  for (const Event& e : ev) failed += e.op.failed() ? 1 : 0;
  EXPECT_EQ(failed, 5u);
  for (const Event& e : ev) {
    if (e.op.kind() == Kind::calloc || e.op.kind() == Kind::realloc) {
      EXPECT_TRUE(e.op.failed());
    }
  }

  // realloc(NULL, n) is a malloc, realloc(p, 0) its free.
  const auto made_by_realloc_null = with_size(ev, Kind::malloc, edge_realloc_null);
  ASSERT_EQ(made_by_realloc_null.size(), 1u);
  EXPECT_EQ(frees_of(ev, made_by_realloc_null[0]->op.object).size(), 1u);
  // A failed realloc keeps its object: the later free names the object malloc made.
  for (std::size_t size : {edge_failed_realloc_block, edge_reallocarray_block}) {
    const auto made = with_size(ev, Kind::malloc, size);
    ASSERT_EQ(made.size(), 1u) << size;
    const std::uint32_t object = made[0]->op.object;
    const auto frees = frees_of(ev, object);
    ASSERT_EQ(frees.size(), 1u) << size;
    EXPECT_EQ(frees[0]->op.kind(), Kind::free);
    const bool failed_realloc_names_it = std::any_of(ev.begin(), ev.end(), [&](const Event& e) {
      return e.op.kind() == Kind::realloc && e.op.failed() && e.op.old_object == object;
    });
    EXPECT_TRUE(failed_realloc_names_it) << size;
  }
}

TEST_F(RecorderTest, CrossThreadFreeNamesTheOtherThreadsObject) {
  const Outcome r = run("cross_thread");
  ASSERT_TRUE(r.exited(0)) << r.err;
  const auto trace = read(main_trace(r));
  ASSERT_TRUE(trace);
  const std::vector<Event> ev = region(*trace);
  std::set<std::uint32_t> makers, freers;
  for (std::size_t i = 0; i < cross_objects; ++i) {
    const auto made = with_size(ev, Kind::malloc, cross_size + i);
    ASSERT_EQ(made.size(), 1u) << cross_size + i;
    const auto frees = frees_of(ev, made[0]->op.object);
    ASSERT_EQ(frees.size(), 1u);
    EXPECT_NE(frees[0]->thread, made[0]->thread);
    EXPECT_TRUE(frees[0]->op.wait());  // the replay waits for the other thread's malloc
    EXPECT_GT(frees[0]->stamp, made[0]->stamp);
    makers.insert(made[0]->thread);
    freers.insert(frees[0]->thread);
  }
  EXPECT_EQ(makers.size(), 1u);
  EXPECT_EQ(freers.size(), 1u);
  EXPECT_GE(trace->summary.frees_by_other_thread, cross_objects);
  EXPECT_GE(trace->threads.size(), 3u);
}

TEST_F(RecorderTest, ManyThreadsHandingObjectsOver) {
  const Outcome r = run("handoff");
  ASSERT_TRUE(r.exited(0)) << r.err;
  const auto trace = read(main_trace(r));  // the reader checks stamps, ids and double frees
  ASSERT_TRUE(trace);
  EXPECT_EQ(trace->summary.dropped_events, 0u);
  const std::vector<Event> ev = region(*trace);
  std::size_t made = 0, freed_elsewhere = 0;
  std::map<std::uint32_t, std::uint32_t> maker;
  for (const Event& e : ev) {
    if (e.op.kind() == Kind::malloc && e.op.size() >= handoff_size && e.op.size() < handoff_size + 64 &&
        e.op.size() % 2 == 1) {
      ++made;
      maker[e.op.object] = e.thread;
    }
  }
  for (const Event& e : ev) {
    if (e.op.kind() != Kind::free) continue;
    const auto it = maker.find(e.op.object);
    if (it == maker.end()) continue;
    if (it->second != e.thread && e.op.wait()) ++freed_elsewhere;
    maker.erase(it);
  }
  EXPECT_EQ(made, handoff_threads * handoff_objects);
  EXPECT_EQ(freed_elsewhere, made);  // every one, by a consumer
  EXPECT_TRUE(maker.empty());
}

TEST_F(RecorderTest, ThreadsThatExitKeepAllTheirEvents) {
  const Outcome r = run("thread_exit");
  ASSERT_TRUE(r.exited(0)) << r.err;
  const auto trace = read(main_trace(r));
  ASSERT_TRUE(trace);
  EXPECT_EQ(trace->summary.dropped_events, 0u);
  const std::vector<Event> ev = region(*trace);
  const auto blocks = with_size(ev, Kind::malloc, exit_size);
  ASSERT_EQ(blocks.size(), exit_events);
  const std::uint32_t worker = blocks[0]->thread;
  for (const Event* e : blocks) {
    EXPECT_EQ(e->thread, worker);
    EXPECT_EQ(frees_of(ev, e->op.object).size(), 1u);
  }
  // After the thread's function: its thread_local destructor, then a pthread key destructor
  // that runs after the recorder's own.
  for (std::size_t size : {exit_thread_local_size, exit_key_destructor_size}) {
    const auto late = with_size(ev, Kind::malloc, size);
    ASSERT_EQ(late.size(), 1u) << size;
    EXPECT_EQ(late[0]->thread, worker) << size;
    const auto frees = frees_of(ev, late[0]->op.object);
    ASSERT_EQ(frees.size(), 1u) << size;
    EXPECT_EQ(frees[0]->thread, worker);
  }
  // Thread churn: every short-lived thread's events are there.
  const auto churn = with_size(ev, Kind::malloc, churn_size);
  EXPECT_EQ(churn.size(), churn_threads);
  std::set<std::uint32_t> churn_thread_ids;
  for (const Event* e : churn) {
    churn_thread_ids.insert(e->thread);
    EXPECT_EQ(frees_of(ev, e->op.object).size(), 1u);
  }
  EXPECT_EQ(churn_thread_ids.size(), churn_threads);
  EXPECT_GE(trace->threads.size(), churn_threads + 2);
}

// Parent and child traces of a fork without exec; the child's free of the parent's object.
void check_fork(const Outcome& r, const fs::path& parent_path) {
  ASSERT_TRUE(r.exited(0)) << r.err;
  ASSERT_TRUE(r.out.starts_with("child ")) << r.out;
  const std::string child_pid = r.out.substr(6, r.out.size() - 7);
  const fs::path child_path = r.dir / (child_pid + ".trace");
  EXPECT_EQ(r.traces().size(), 2u);
  const auto parent = read(parent_path);
  const auto child = read(child_path);
  ASSERT_TRUE(parent && child);
  EXPECT_FALSE(parent->summary.truncated);
  EXPECT_FALSE(child->summary.truncated);
  EXPECT_EQ(child->meta.parent_pid, parent->meta.pid);
  EXPECT_EQ(std::to_string(child->meta.pid), child_pid);
  EXPECT_FALSE(parent->meta.forked_from_stamp.has_value());
  ASSERT_TRUE(child->meta.forked_from_stamp.has_value());
  const std::uint64_t forked_from = *child->meta.forked_from_stamp;

  // In the parent: the object freed in the child lives on; the other is freed.
  const std::vector<Event> pev = region(*parent);
  const auto handed = with_size(pev, Kind::malloc, fork_parent_freed_in_child);
  const auto kept = with_size(pev, Kind::malloc, fork_parent_kept);
  ASSERT_EQ(handed.size(), 1u);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_TRUE(frees_of(pev, handed[0]->op.object).empty());
  EXPECT_EQ(frees_of(pev, kept[0]->op.object).size(), 1u);
  EXPECT_LT(handed[0]->stamp, forked_from);

  // In the child: only its own events, stamped after the fork; the free of the parent's object
  // is a foreign free for the reader, and its raw id is the parent's stamp of that malloc.
  for (const Event& e : child->events) EXPECT_GE(e.stamp, forked_from);
  EXPECT_EQ(with_size(child->events, Kind::malloc, fork_child_size).size(), 1u);
  EXPECT_GE(child->summary.frees_foreign, 1u);
  const auto raw = raw_events(child_path);
  const bool names_parent_object = std::any_of(raw.begin(), raw.end(), [&](const RawEvent& e) {
    return e.kind == Kind::free && e.freed == handed[0]->stamp;
  });
  EXPECT_TRUE(names_parent_object) << "no free of id " << handed[0]->stamp << " in the child";
}

TEST_F(RecorderTest, ForkChildRecordsToItsOwnFile) {
  const Outcome r = run("fork");
  check_fork(r, main_trace(r));
}

TEST_F(RecorderTest, ForkChildEndingWithUnderscoreExit) {
  const Outcome r = run("fork_underscore_exit");
  check_fork(r, main_trace(r));
}

TEST_F(RecorderTest, ForkWhileAnotherThreadAllocates) {
  const Outcome r = run("fork_threads");
  ASSERT_TRUE(r.exited(0)) << r.err;
  const auto files = r.traces();
  EXPECT_EQ(files.size(), static_cast<std::size_t>(fork_children) + 1);
  std::size_t children = 0;
  for (const fs::path& f : files) {
    const auto t = read(f);
    ASSERT_TRUE(t) << f;
    EXPECT_FALSE(t->summary.truncated) << f;  // children end with _exit: their end record is there
    if (f == main_trace(r)) continue;
    ++children;
    EXPECT_TRUE(t->meta.forked_from_stamp.has_value()) << f;
    EXPECT_EQ(with_size(t->events, Kind::malloc, fork_child_size).size(), 1u) << f;
  }
  EXPECT_EQ(children, static_cast<std::size_t>(fork_children));
}

TEST_F(RecorderTest, UnderscoreExitWritesTheEnd) {
  const Outcome r = run("underscore_exit");
  ASSERT_TRUE(r.exited(0)) << r.err;
  const auto trace = read(main_trace(r));
  ASSERT_TRUE(trace);
  EXPECT_FALSE(trace->summary.truncated);
  EXPECT_EQ(with_size(region(*trace), Kind::malloc, exit_kept_size).size(), exit_kept);
}

TEST_F(RecorderTest, CapitalExitWritesTheEnd) {
  const Outcome r = run("capital_exit");
  ASSERT_TRUE(r.exited(3)) << r.err;
  const auto trace = read(main_trace(r));
  ASSERT_TRUE(trace);
  EXPECT_FALSE(trace->summary.truncated);
  EXPECT_EQ(with_size(region(*trace), Kind::malloc, exit_kept_size).size(), exit_kept);
}

void check_killed(const Trace& t) {
  EXPECT_TRUE(t.summary.truncated);
  // Complete chunks were flushed before the end (a chunk holds some 20 000 of these events).
  const auto made = with_size(t.events, Kind::malloc, killed_size);
  EXPECT_GT(made.size(), 5000u);
  EXPECT_LT(made.size(), killed_pairs);
}

TEST_F(RecorderTest, AbortLeavesAReadablePrefix) {
  const Outcome r = run("abort");
  ASSERT_TRUE(r.signaled(SIGABRT)) << r.status;
  const auto trace = read(main_trace(r));
  ASSERT_TRUE(trace);
  check_killed(*trace);
}

TEST_F(RecorderTest, SigkillLeavesAReadablePrefix) {
  const Outcome r = run("sigkill");
  ASSERT_TRUE(r.signaled(SIGKILL)) << r.status;
  const auto trace = read(main_trace(r));
  ASSERT_TRUE(trace);
  check_killed(*trace);
}

TEST_F(RecorderTest, DlsymBootstrapAndDlerror) {
  const Outcome r = run("bootstrap");
  ASSERT_TRUE(r.exited(0)) << r.err;
  EXPECT_EQ(r.out, "cos(0)=1\n");
  EXPECT_EQ(r.err, "");
  const auto trace = read(main_trace(r));
  ASSERT_TRUE(trace);
  EXPECT_FALSE(trace->summary.truncated);
  EXPECT_GT(trace->summary.events, 0u);
}

TEST_F(RecorderTest, UnsetDirectoryRunsUntracedWithOneLine) {
  const Outcome r = run("counts", DirMode::unset);
  ASSERT_TRUE(r.exited(0)) << r.err;
  EXPECT_EQ(r.out, "counts done\n");
  EXPECT_EQ(lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("ALLOCLAB_TRACE_DIR is not set"), std::string::npos) << r.err;
  EXPECT_TRUE(r.traces().empty());
}

TEST_F(RecorderTest, MissingDirectoryRunsUntracedWithOneLine) {
  const Outcome r = run("counts", DirMode::missing);
  ASSERT_TRUE(r.exited(0)) << r.err;
  EXPECT_EQ(r.out, "counts done\n");
  EXPECT_EQ(lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("missing"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("No such file or directory"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(root_ / "missing"));
}

TEST_F(RecorderTest, WriteErrorSaysOneLineAndKeepsAReadableFile) {
  const Outcome r = run("write_error");
  ASSERT_TRUE(r.exited(0)) << r.err;
  EXPECT_EQ(r.out, "write error done\n");
  EXPECT_EQ(lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("alloclab_trace: writing "), std::string::npos) << r.err;
  EXPECT_LE(fs::file_size(main_trace(r)), write_error_file_limit);
  const auto trace = read(main_trace(r));
  ASSERT_TRUE(trace);
  // The limit cuts the file: a prefix without its end (or with dropped events counted).
  EXPECT_TRUE(trace->summary.truncated || trace->summary.dropped_events > 0);
  EXPECT_LT(trace->summary.events, 2 * write_error_pairs);
}

TEST_F(RecorderTest, ExitWhileOtherThreadsAllocate) {
  const Outcome r = run("exit_with_threads");
  ASSERT_TRUE(r.exited(0)) << r.err;
  EXPECT_EQ(r.out, "exit with threads done\n");
  const auto trace = read(main_trace(r));
  ASSERT_TRUE(trace);
  EXPECT_FALSE(trace->summary.truncated);
  EXPECT_GE(trace->threads.size(), 4u);
}

// The end comes after the atexit handlers, the static destructors and the ELF destructors of
// the libraries (run by _dl_fini): their frees are in the trace.
TEST_F(RecorderTest, FreesInAtexitHandlersAndDestructorsAreRecorded) {
  const Outcome r = run("late_frees");
  ASSERT_TRUE(r.exited(0)) << r.err;
  const auto trace = read(main_trace(r));
  ASSERT_TRUE(trace);
  EXPECT_FALSE(trace->summary.truncated);
  for (std::size_t size : {late_atexit_size, late_static_size, late_library_size}) {
    const auto made = with_size(trace->events, Kind::malloc, size);
    ASSERT_EQ(made.size(), 1u) << size;
    EXPECT_EQ(frees_of(trace->events, made[0]->op.object).size(), 1u) << size;
  }
}

}  // namespace
