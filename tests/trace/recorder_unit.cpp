// tests/trace/recorder_unit.cpp — the recorder's parts in-process: the encoder
// (alloclab/trace/writer.hpp) against bytes worked out by hand from TRACE_FORMAT.md (so a
// mistake shared by the encoder and the reader cannot hide), the metadata JSON
// (trace_recorder/metadata.hpp: valid JSON and UTF-8 whatever the arguments hold), and the
// object map (trace_recorder/object_map.hpp) against std::unordered_map, from many threads, and
// giving memory back when the live objects go.
#include <cstdint>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "alloclab/trace/writer.hpp"
#include "metadata.hpp"
#include "object_map.hpp"

namespace {

using namespace alloclab::trace;
using alloclab::trace_recorder::JsonOut;
using alloclab::trace_recorder::MetadataInput;
using alloclab::trace_recorder::ObjectMap;
using Bytes = std::vector<unsigned char>;

Bytes payload_of(std::span<const unsigned char> chunk, std::size_t header) {
  return {chunk.begin() + static_cast<std::ptrdiff_t>(header), chunk.end()};
}

TEST(RecorderEncoder, EventsAsTheSpecificationLaysThemOut) {
  unsigned char buffer[4096];
  ChunkEncoder c(buffer, sizeof buffer, 3);
  c.time_mark(300);                   // 05 · varint 300 = ac 02
  c.malloc_event(5, 24, false);       // first: base 4, next_stamp: 08 · 18
  c.free_event(6, 5);                 // 0b · ref 1
  c.realloc_event(9, 1, 100, 11);     // 02 · delta 3 · ref 8 · size 64 · new_delta 2
  c.aligned_event(12, 6, 64, false);  // after the realloc's second stamp, next_stamp: 0c · log2 06 · size 40
  c.calloc_event(13, 200, true);      // 01|08|10 = 19 · size c8 01
  c.failed_realloc_event(14, 12, 1);  // 02|08|10 = 1a · ref 2 · size 1 (no new_delta)
  c.malloc_event(1000, 0, false);     // 00 · delta 986 = da 07 · size 0
  EXPECT_EQ(c.event_count(), 7u);
  const Bytes expected_payload = {0x05, 0xac, 0x02, 0x08, 0x18, 0x0b, 0x01, 0x02, 0x03, 0x08, 0x64, 0x02,
                                  0x0c, 0x06, 0x40, 0x19, 0xc8, 0x01, 0x1a, 0x02, 0x01, 0x00, 0xda,
                                  0x07, 0x00};
  const auto chunk = c.finish();
  // 'C' · thread 3 · base 4 · count 7 · payload bytes · FNV-1a of the payload
  const std::uint32_t sum = checksum(expected_payload.data(), expected_payload.size());
  const Bytes expected_header = {'C',
                                 3,
                                 4,
                                 7,
                                 static_cast<unsigned char>(expected_payload.size()),
                                 static_cast<unsigned char>(sum),
                                 static_cast<unsigned char>(sum >> 8),
                                 static_cast<unsigned char>(sum >> 16),
                                 static_cast<unsigned char>(sum >> 24)};
  ASSERT_EQ(chunk.size(), expected_header.size() + expected_payload.size());
  EXPECT_EQ(Bytes(chunk.begin(), chunk.begin() + 9), expected_header);
  EXPECT_EQ(payload_of(chunk, 9), expected_payload);

  // Cleared, the next chunk starts from its own base.
  c.clear();
  EXPECT_TRUE(c.empty());
  c.free_event(20, 14);  // base 19: 0b · ref 6
  const auto next = c.finish();
  EXPECT_EQ(payload_of(next, next.size() - 2), (Bytes{0x0b, 0x06}));
  EXPECT_EQ(next[2], 19);
}

TEST(RecorderEncoder, FirstStampZeroUsesAZeroDelta) {
  unsigned char buffer[256];
  ChunkEncoder c(buffer, sizeof buffer, 0);
  c.malloc_event(0, 1, false);  // base 0, delta 0 (allowed for a chunk's first event only)
  const auto chunk = c.finish();
  EXPECT_EQ(payload_of(chunk, chunk.size() - 3), (Bytes{0x00, 0x00, 0x01}));
}

TEST(RecorderEncoder, HasRoomKeepsTheWorstEventInsideTheBuffer) {
  unsigned char buffer[200];
  ChunkEncoder c(buffer, sizeof buffer, 0);
  std::uint64_t stamp = 1;
  std::size_t events = 0;
  while (c.has_room()) {
    c.time_mark(UINT64_MAX);
    c.realloc_event(stamp + (1ull << 62), 1, UINT64_MAX, stamp + (1ull << 63));  // every field 9-10 bytes
    stamp += 1ull << 63;
    ++events;
  }
  EXPECT_GE(events, 1u);
  EXPECT_LE(c.payload_bytes() + max_chunk_header_bytes, sizeof buffer);
}

TEST(RecorderEncoder, FileHeaderAndEndRecord) {
  const std::string meta = R"({"program":"x"})";
  Bytes header(file_header_bytes(meta));
  ASSERT_EQ(put_file_header(header.data(), meta), header.size());
  Bytes expected = {'A', 'L', 'C', 'T', 'R', 'A', 'C', 'E', 1, 0, 0, 0, static_cast<unsigned char>(meta.size())};
  expected.insert(expected.end(), meta.begin(), meta.end());
  EXPECT_EQ(header, expected);

  unsigned char end[max_end_record_bytes];
  EndRecord e{1000, 2, 1, 3, 128, 0};
  const std::size_t n = put_end_record(end, e);
  const Bytes fields = {'E', 0xe8, 0x07, 2, 1, 3, 0x80, 0x01, 0};
  ASSERT_EQ(n, fields.size() + 4);
  EXPECT_EQ(Bytes(end, end + fields.size()), fields);
  EXPECT_EQ(get_u32le(end + fields.size()), checksum(fields.data(), fields.size()));
}

TEST(RecorderMetadata, IsValidJsonWithEveryKey) {
  std::vector<char> json(1 << 20), scratch(256 << 10);
  JsonOut out(json.data(), json.size());
  MetadataInput in;
  in.pid = 42;
  in.parent_pid = 7;
  in.forked = true;
  in.forked_from_stamp = 123456;
  in.started_unix_ns = 1700000000000000000ull;
  in.recorder = "liballoclab_trace.so test";
  ASSERT_TRUE(alloclab::trace_recorder::write_metadata(out, in, scratch.data(), scratch.size()));
  const auto j = nlohmann::json::parse(out.view());
  for (const char* key : {"program", "args", "pid", "parent_pid", "forked_from_stamp", "started_unix_ns", "host",
                          "cpu_model", "cores", "kernel", "recorder"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["pid"], 42);
  EXPECT_EQ(j["parent_pid"], 7);
  EXPECT_EQ(j["forked_from_stamp"], 123456);
  EXPECT_EQ(j["started_unix_ns"], 1700000000000000000ull);
  EXPECT_TRUE(j["args"].is_array());
  EXPECT_FALSE(j["args"].empty());  // this test's own command line
  EXPECT_EQ(j["args"][0], j["program"]);
}

TEST(RecorderMetadata, StringsAreEscapedAndValidUtf8) {
  char buffer[512];
  JsonOut out(buffer, sizeof buffer);
  out.raw("[");
  out.string("quote\" back\\ nl\n tab\t bell\x07 del\x7f");
  out.raw(",");
  out.string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");  // well-formed: kept
  out.raw(",");
  out.string("latin1 caf\xe9 lone \x80 overlong \xc0\xaf surrogate \xed\xa0\x80 cut \xe2\x82");
  out.raw("]");
  ASSERT_FALSE(out.overflowed());
  const auto j = nlohmann::json::parse(out.view());  // throws on invalid UTF-8
  EXPECT_EQ(j[0], "quote\" back\\ nl\n tab\t bell\x07 del\x7f");
  EXPECT_EQ(j[1], "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  const std::string r = "\xef\xbf\xbd";
  EXPECT_EQ(j[2], "latin1 caf" + r + " lone " + r + " overlong " + r + r + " surrogate " + r + r + r + " cut " + r + r);
}

TEST(RecorderMetadata, OverflowIsReportedNotWrittenPast) {
  char buffer[16];
  JsonOut out(buffer, 8);
  out.raw("0123456789");
  EXPECT_TRUE(out.overflowed());
  EXPECT_LE(out.size(), 8u);
}

TEST(RecorderObjectMap, MatchesAReferenceMap) {
  static ObjectMap map;  // large: not on the stack
  std::unordered_map<std::uintptr_t, std::uint64_t> reference;
  std::mt19937_64 rng(12345);
  std::vector<std::uintptr_t> live;
  for (std::uint64_t stamp = 1; stamp <= 200000; ++stamp) {
    const bool insert = live.empty() || rng() % 100 < 55;
    if (insert) {
      const std::uintptr_t address = (rng() % (1u << 24)) * 16 + 16;
      map.insert(address, stamp);
      if (reference.emplace(address, stamp).second) {
        live.push_back(address);
      } else {
        reference[address] = stamp;  // handed out twice: the latest id wins
      }
    } else {
      const std::size_t i = rng() % live.size();
      const std::uintptr_t address = live[i];
      live[i] = live.back();
      live.pop_back();
      std::uint64_t id = 0;
      ASSERT_TRUE(map.erase(address, &id));
      EXPECT_EQ(id, reference[address]);
      reference.erase(address);
      EXPECT_FALSE(map.erase(address, &id));
    }
  }
  EXPECT_EQ(map.size(), reference.size());
  for (const auto& [address, id] : reference) {
    std::uint64_t got = 0;
    ASSERT_TRUE(map.erase(address, &got));
    EXPECT_EQ(got, id);
  }
  EXPECT_EQ(map.size(), 0u);
}

TEST(RecorderObjectMap, MemoryFollowsTheLiveObjects) {
  static ObjectMap map;
  constexpr std::size_t n = 1 << 20;
  for (std::size_t i = 0; i < n; ++i) map.insert(16 * (i + 1), i + 1);
  const std::size_t full = map.table_bytes();
  EXPECT_GE(full, n * 16 * 2);  // at most half full
  EXPECT_LE(full, n * 16 * 8);
  std::uint64_t id = 0;
  for (std::size_t i = 0; i < n; ++i) ASSERT_TRUE(map.erase(16 * (i + 1), &id));
  // The program goes on with few objects live: once it has for as many calls as half a
  // table's slots, every table is back to a page.
  for (std::size_t i = 0; i < 4 * n; ++i) {
    const std::uintptr_t address = (i % 4096 + 1) << 12;  // one per 4 KiB: every shard
    map.insert(address, i + 1);
    ASSERT_TRUE(map.erase(address, &id));
  }
  EXPECT_EQ(map.table_bytes(), ObjectMap::shards * (std::size_t{16} << ObjectMap::initial_slot_bits));
}

TEST(RecorderObjectMap, ManyThreadsEachWithTheirOwnAddresses) {
  static ObjectMap map;
  constexpr int threads = 8;
  constexpr std::uintptr_t per_thread = 50000;
  std::vector<std::thread> pool;
  std::vector<int> errors(threads, 0);
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([t, &errors] {
      const std::uintptr_t base = (static_cast<std::uintptr_t>(t) + 1) << 32;
      for (int round = 0; round < 3; ++round) {
        for (std::uintptr_t i = 0; i < per_thread; ++i) map.insert(base + 16 * i, i + 1);
        for (std::uintptr_t i = 0; i < per_thread; ++i) {
          std::uint64_t id = 0;
          if (!map.erase(base + 16 * i, &id) || id != i + 1) ++errors[static_cast<std::size_t>(t)];
        }
      }
    });
  }
  for (std::thread& th : pool) th.join();
  for (int t = 0; t < threads; ++t) EXPECT_EQ(errors[static_cast<std::size_t>(t)], 0) << t;
  EXPECT_EQ(map.size(), 0u);
}

}  // namespace
