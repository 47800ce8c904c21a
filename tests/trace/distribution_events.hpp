// tests/trace/distribution_events.hpp — builds a Trace in memory as the reader would return it
// with ReadOptions::events (events in stamp order, dense object ids), for the distill and
// empirical tests: no file, no reader, exact control of every event.
#pragma once

#include <cstdint>
#include <string>

#include "alloclab/trace/trace.hpp"

namespace alloclab::trace::testing {

class EventList {
 public:
  explicit EventList(std::string program = "/usr/bin/example") { trace_.meta.program = std::move(program); }

  // Each call is one event (index = events() before the call); allocating calls return the id.
  std::uint32_t make(Kind kind, std::uint64_t size, unsigned alignment_log2 = 0) {
    const std::uint32_t id = next_object_++;
    push(Op::make(kind, size, false, alignment_log2, false, false, id, no_object));
    return id;
  }
  std::uint32_t malloc(std::uint64_t size) { return make(Kind::malloc, size); }
  void failed(Kind kind, std::uint64_t size) { push(Op::make(kind, size, true, 0, false, false, no_object, no_object)); }
  void free(std::uint32_t id) { push(Op::make(Kind::free, 0, false, 0, false, false, id, no_object)); }
  void foreign_free() { push(Op::make(Kind::free, 0, false, 0, false, true, no_object, no_object)); }
  std::uint32_t realloc(std::uint32_t old, std::uint64_t size) {
    const std::uint32_t id = next_object_++;
    push(Op::make(Kind::realloc, size, false, 0, false, false, id, old));
    return id;
  }
  // realloc of an object the trace never made (its free side is skipped, the new object is made).
  std::uint32_t foreign_realloc(std::uint64_t size) {
    const std::uint32_t id = next_object_++;
    push(Op::make(Kind::realloc, size, false, 0, false, true, id, no_object));
    return id;
  }
  void failed_realloc(std::uint32_t old, std::uint64_t size) {
    push(Op::make(Kind::realloc, size, true, 0, false, false, no_object, old));
  }

  [[nodiscard]] std::uint64_t events() const { return trace_.events.size(); }

  [[nodiscard]] Trace trace() const {
    Trace t = trace_;
    t.objects = next_object_;
    t.summary.events = t.events.size();
    t.summary.objects = next_object_;
    for (const Event& e : t.events) ++t.summary.by_kind[static_cast<std::size_t>(e.op.kind())];
    t.threads.assign(1, {});
    for (const Event& e : t.events) t.threads[0].push_back(e.op);
    return t;
  }

 private:
  void push(const Op& op) {
    Event e;
    e.stamp = ++stamp_;
    e.op = op;
    trace_.events.push_back(e);
  }

  Trace trace_;
  std::uint32_t next_object_ = 0;
  std::uint64_t stamp_ = 0;
};

}  // namespace alloclab::trace::testing
