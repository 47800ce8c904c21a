// harness/src/trace_recorder/object_map.hpp — the recorder's map from a live address to the id
// (creation stamp) of the object there, and the spin lock it and the recorder use.
//
// Runs inside malloc, so it never calls malloc: its tables come from mmap. Sharded by the
// address's hash (64 shards, each behind its own lock) so threads rarely meet; each shard is an
// open-addressing table with linear probing and backward-shift deletion (no tombstones, so a
// long run of malloc/free pairs does not fill a table with dead slots). A shard doubles above
// half full; below an eighth full, it shrinks to a quarter full once it has stayed that empty
// for as many calls as half its slots: a program whose live objects rise and fall (a garbage
// collector's cycles) would otherwise shrink and regrow its tables each cycle, and the page
// faults of fresh tables cost more than the recording (three quarters of the recorder's time
// under lua5.4); amortised, a shrink is O(1) per call. So the memory follows the live objects,
// 32 to 128 bytes each once the program has run on a while at its new size, and at least one
// 4 KiB page per shard used (256 KiB in all). Tables past 64 KiB are populated when mapped:
// one system call instead of a fault per page.
//
// Locality: a program allocates and frees neighbouring addresses together, so the hash keeps
// neighbours together. Each 4 KiB of address space (a group) is hashed to a random place in a
// shard's table, and within it an address keeps its offset (address / 16): the 256 slots of a
// group are 4 KiB of table, a few cache lines for a run of small objects. A fully random hash
// made each insert and erase a cache miss into a table of tens of MB (half the recorder's time
// under lua5.4, and the program's own data evicted from the cache).
//
// Not a general hash map: keys are non-null addresses, one value per key, no iteration.
#pragma once

#include <sched.h>
#include <sys/mman.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace alloclab::trace_recorder {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// A test-and-test-and-set lock that yields after a short spin. pthread_mutex would do too, but
// this one is constinit, trivially reset in a fork child, and two stores on the fast path.
class SpinLock {
 public:
  void lock() noexcept {
    unsigned spins = 0;
    while (flag_.exchange(true, std::memory_order_acquire)) {
      while (flag_.load(std::memory_order_relaxed)) {
        if (++spins < 64) {
          cpu_relax();
        } else {
          sched_yield();
        }
      }
    }
  }
  void unlock() noexcept { flag_.store(false, std::memory_order_release); }
  // In a fork child: the threads that held it do not exist there.
  void reset() noexcept { flag_.store(false, std::memory_order_relaxed); }

 private:
  std::atomic<bool> flag_{false};
};

class ObjectMap {
 public:
  static constexpr unsigned shard_bits = 6;
  static constexpr std::size_t shards = std::size_t{1} << shard_bits;
  static constexpr unsigned initial_slot_bits = 8;  // 256 slots of 16 bytes: one page
  static constexpr unsigned group_bits = 8;         // 256 addresses 16 bytes apart: 4 KiB

  // Sets the id of `address` (replacing any: an address handed out twice without a free we saw).
  // False when no memory could be had for the table: the object is then unknown.
  bool insert(std::uintptr_t address, std::uint64_t id) noexcept {
    const std::uint64_t h = hash(address);
    Shard& s = shards_[h >> (64 - shard_bits)];
    s.lock.lock();
    bool ok = true;
    if (s.slots == nullptr || (s.count + 1) * 2 > (std::size_t{1} << s.slot_bits)) {
      const unsigned bits = s.slots == nullptr ? initial_slot_bits : s.slot_bits + 1;
      // Out of memory: go on in the old table while it has a free slot.
      if (!resize(s, bits) && (s.slots == nullptr || s.count + 1 >= (std::size_t{1} << s.slot_bits))) ok = false;
    }
    if (ok) {
      const std::size_t mask = (std::size_t{1} << s.slot_bits) - 1;
      std::size_t i = home(address, h, s.slot_bits);
      while (s.slots[i].key != 0 && s.slots[i].key != address) i = (i + 1) & mask;
      if (s.slots[i].key == 0) ++s.count;
      s.slots[i] = Slot{address, id};
      maybe_shrink(s);
    }
    s.lock.unlock();
    return ok;
  }

  // Removes `address`; true and its id in *id when it was there.
  bool erase(std::uintptr_t address, std::uint64_t* id) noexcept {
    const std::uint64_t h = hash(address);
    Shard& s = shards_[h >> (64 - shard_bits)];
    s.lock.lock();
    bool found = false;
    if (s.slots != nullptr) {
      const std::size_t mask = (std::size_t{1} << s.slot_bits) - 1;
      std::size_t i = home(address, h, s.slot_bits);
      while (s.slots[i].key != 0 && s.slots[i].key != address) i = (i + 1) & mask;
      if (s.slots[i].key == address) {
        found = true;
        *id = s.slots[i].value;
        remove_at(s, i);
        maybe_shrink(s);
      }
    }
    s.lock.unlock();
    return found;
  }

  // fork: the parent holds every lock across the fork so no shard is copied mid-change.
  void lock_all() noexcept {
    for (Shard& s : shards_) s.lock.lock();
  }
  void unlock_all() noexcept {
    for (Shard& s : shards_) s.lock.unlock();
  }
  void reset_locks() noexcept {
    for (Shard& s : shards_) s.lock.reset();
  }

  // For tests: live entries and the bytes of the tables.
  [[nodiscard]] std::size_t size() noexcept {
    std::size_t n = 0;
    for (Shard& s : shards_) {
      s.lock.lock();
      n += s.count;
      s.lock.unlock();
    }
    return n;
  }
  [[nodiscard]] std::size_t table_bytes() noexcept {
    std::size_t n = 0;
    for (Shard& s : shards_) {
      s.lock.lock();
      if (s.slots != nullptr) n += sizeof(Slot) << s.slot_bits;
      s.lock.unlock();
    }
    return n;
  }

 private:
  struct Slot {
    std::uintptr_t key;
    std::uint64_t value;
  };
  struct alignas(64) Shard {
    SpinLock lock;
    unsigned slot_bits = 0;
    Slot* slots = nullptr;
    std::size_t count = 0;
    std::size_t quiet = 0;  // calls since the table fell below an eighth full
  };

  // Fibonacci hashing of the address's group: the top bits pick the shard, the bits below
  // them the group's place in the table (so the places grow with the table).
  static std::uint64_t hash(std::uintptr_t address) noexcept {
    return (static_cast<std::uint64_t>(address) >> (4 + group_bits)) * 0x9E3779B97F4A7C15ull;
  }
  static std::size_t home(std::uintptr_t address, std::uint64_t h, unsigned slot_bits) noexcept {
    const auto within = static_cast<std::size_t>(address >> 4) & ((std::size_t{1} << group_bits) - 1);
    const std::uint64_t place = h << shard_bits;
    if (slot_bits <= group_bits) {
      // A table smaller than a group: groups overlap, offset by their hash.
      return (static_cast<std::size_t>(place >> (64 - slot_bits)) ^ within) & ((std::size_t{1} << slot_bits) - 1);
    }
    return static_cast<std::size_t>(place >> (64 - (slot_bits - group_bits))) << group_bits | within;
  }

  static void maybe_shrink(Shard& s) noexcept {
    const std::size_t slots = std::size_t{1} << s.slot_bits;
    if (s.slot_bits <= initial_slot_bits || s.count * 8 >= slots) {
      s.quiet = 0;
      return;
    }
    if (++s.quiet < slots / 2) return;
    unsigned bits = initial_slot_bits;
    while ((std::size_t{1} << bits) < s.count * 4) ++bits;
    (void)resize(s, bits);  // failing to shrink costs memory, nothing else
    s.quiet = 0;
  }

  static void remove_at(Shard& s, std::size_t i) noexcept {
    const std::size_t mask = (std::size_t{1} << s.slot_bits) - 1;
    std::size_t j = i;
    for (;;) {
      j = (j + 1) & mask;
      if (s.slots[j].key == 0) break;
      const std::size_t k = home(s.slots[j].key, hash(s.slots[j].key), s.slot_bits);
      // The entry at j may move back to i unless its home lies cyclically in (i, j].
      const bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
      if (!stays) {
        s.slots[i] = s.slots[j];
        i = j;
      }
    }
    s.slots[i].key = 0;
    --s.count;
  }

  static bool resize(Shard& s, unsigned bits) noexcept {
    const std::size_t slots = std::size_t{1} << bits;
    const int populate = slots * sizeof(Slot) > (std::size_t{64} << 10) ? MAP_POPULATE : 0;
    void* m = ::mmap(nullptr, slots * sizeof(Slot), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | populate, -1, 0);
    if (m == MAP_FAILED) return false;
    auto* table = static_cast<Slot*>(m);  // zero-filled by the kernel: every key 0
    const std::size_t mask = slots - 1;
    if (s.slots != nullptr) {
      const std::size_t old = std::size_t{1} << s.slot_bits;
      for (std::size_t j = 0; j < old; ++j) {
        if (s.slots[j].key == 0) continue;
        std::size_t i = home(s.slots[j].key, hash(s.slots[j].key), bits);
        while (table[i].key != 0) i = (i + 1) & mask;
        table[i] = s.slots[j];
      }
      ::munmap(s.slots, old * sizeof(Slot));
    }
    s.slots = table;
    s.slot_bits = bits;
    return true;
  }

  Shard shards_[shards];
};

}  // namespace alloclab::trace_recorder
