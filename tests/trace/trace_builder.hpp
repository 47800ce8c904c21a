// tests/trace/trace_builder.hpp — builds trace files in memory for tests and fixtures, through
// the recorder's own encoder (alloclab/trace/writer.hpp): events are added per thread with
// explicit stamps, each thread's events go to its open chunk, flush() writes a chunk, end()
// writes the end record with the counts of what was written. Like the encoder it checks
// nothing, so a test can build a file that breaks any rule; corrupt() variants are made by
// editing bytes() afterwards.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "alloclab/trace/writer.hpp"

namespace alloclab::trace::testing {

inline std::string default_metadata() {
  return R"({"program":"/usr/bin/example","args":["/usr/bin/example","--flag","x y"],"pid":4242,)"
         R"("parent_pid":1,"started_unix_ns":1700000000000000000,"host":"testhost",)"
         R"("cpu_model":"Test CPU @ 1GHz","cores":8,"kernel":"Linux 6.1.0","recorder":"test"})";
}

class TraceBuilder {
 public:
  explicit TraceBuilder(const std::string& metadata = default_metadata()) {
    bytes_.resize(file_header_bytes(metadata));
    put_file_header(bytes_.data(), metadata);
  }

  TraceBuilder& time_mark(std::uint32_t t, std::uint64_t ns) {
    enc(t).time_mark(ns);
    return *this;
  }
  TraceBuilder& malloc(std::uint32_t t, std::uint64_t stamp, std::uint64_t size, bool failed = false) {
    enc(t).malloc_event(stamp, size, failed);
    return *this;
  }
  TraceBuilder& calloc(std::uint32_t t, std::uint64_t stamp, std::uint64_t size, bool failed = false) {
    enc(t).calloc_event(stamp, size, failed);
    return *this;
  }
  TraceBuilder& aligned(std::uint32_t t, std::uint64_t stamp, unsigned log2, std::uint64_t size, bool failed = false) {
    enc(t).aligned_event(stamp, log2, size, failed);
    return *this;
  }
  TraceBuilder& free(std::uint32_t t, std::uint64_t stamp, std::uint64_t object) {
    enc(t).free_event(stamp, object);
    return *this;
  }
  TraceBuilder& realloc(std::uint32_t t, std::uint64_t stamp, std::uint64_t object, std::uint64_t size,
                        std::uint64_t new_stamp) {
    enc(t).realloc_event(stamp, object, size, new_stamp);
    return *this;
  }
  TraceBuilder& failed_realloc(std::uint32_t t, std::uint64_t stamp, std::uint64_t object, std::uint64_t size) {
    enc(t).failed_realloc_event(stamp, object, size);
    return *this;
  }

  // Writes thread t's open chunk (if it holds anything) to the file.
  TraceBuilder& flush(std::uint32_t t) {
    auto it = threads_.find(t);
    if (it == threads_.end() || it->second.encoder.empty()) return *this;
    ChunkEncoder& e = it->second.encoder;
    const auto chunk = e.finish();
    spans_.push_back({bytes_.size(), bytes_.size() + chunk.size() - e.payload_bytes(), e.payload_bytes()});
    bytes_.insert(bytes_.end(), chunk.begin(), chunk.end());
    total_events_ += e.event_count();
    ++chunks_;
    e.clear();
    return *this;
  }
  TraceBuilder& flush_all() {
    for (auto& [t, state] : threads_) flush(t);
    return *this;
  }
  // Flushes every thread and writes the end record: the counts are those written unless given.
  TraceBuilder& end(std::uint64_t end_ns = 0, std::uint64_t untracked = 0, std::uint64_t dropped = 0) {
    flush_all();
    EndRecord r;
    r.total_events = total_events_;
    r.chunks = chunks_;
    r.threads = threads_.empty() ? 0 : threads_.rbegin()->first + 1;
    r.untracked_frees = untracked;
    r.end_ns = end_ns;
    r.dropped_events = dropped;
    return end_record(r);
  }
  TraceBuilder& end_record(const EndRecord& r) {
    unsigned char buf[max_end_record_bytes];
    const std::size_t n = put_end_record(buf, r);
    bytes_.insert(bytes_.end(), buf, buf + n);
    return *this;
  }

  // Where each chunk written so far lies in bytes(), in file order.
  struct ChunkSpan {
    std::size_t offset = 0;          // of the 'C'
    std::size_t payload_offset = 0;  // the checksum is the 4 bytes before
    std::size_t payload_bytes = 0;
  };
  const std::vector<ChunkSpan>& chunk_spans() const { return spans_; }
  // Recomputes chunk i's checksum after a test edited its payload in place.
  void reseal(std::size_t i) {
    const ChunkSpan& c = spans_.at(i);
    put_u32le(bytes_.data() + c.payload_offset - 4, checksum(bytes_.data() + c.payload_offset, c.payload_bytes));
  }

  std::vector<unsigned char>& bytes() { return bytes_; }
  std::uint64_t total_events() const { return total_events_; }
  std::uint64_t chunks() const { return chunks_; }

 private:
  struct ThreadChunk {
    std::vector<unsigned char> buffer;
    ChunkEncoder encoder;
  };
  ChunkEncoder& enc(std::uint32_t t) {
    auto [it, fresh] = threads_.try_emplace(t);
    ThreadChunk& c = it->second;
    if (fresh) {
      c.buffer.resize(std::size_t{1} << 16);
      c.encoder = ChunkEncoder(c.buffer.data(), c.buffer.size(), t);
    }
    if (!c.encoder.has_room()) flush(t);
    return c.encoder;
  }

  std::vector<unsigned char> bytes_;
  std::vector<ChunkSpan> spans_;
  std::map<std::uint32_t, ThreadChunk> threads_;
  std::uint64_t total_events_ = 0;
  std::uint64_t chunks_ = 0;
};

}  // namespace alloclab::trace::testing
