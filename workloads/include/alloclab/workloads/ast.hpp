// alloclab/workloads/ast.hpp — build a syntax tree node by node, then destroy it whole.
//
// Origin: the compiler use of arenas (GCC's obstacks, Clang's BumpPtrAllocator for the AST,
//   Hanson's "Fast allocation and deallocation of memory based on object lifetimes", 1990):
//   a parser allocates many small nodes whose lifetimes all end when the tree is dropped.
// Stresses: small-object allocation in a pointer-linked structure, and the destroy: a walk
//   that frees every node (allocators with free) against one reset (arenas). The destroy is
//   also timed on its own, to check that a bulk free costs the same whatever the tree size.
// Parameters: ast_1k, ast_16k, ast_256k: 1024, 16384, 262144 nodes per tree (tiny: / 64, at
//   least 16); one tree per thread per round. A node is {Node* children[2]; uint32 kind;
//   uint32 value} (24 B) followed by a payload of 0..32 B (uniform; `value` holds its length,
//   as a token's text), allocated with alignof(Node); each new node is written whole and hung
//   under a uniformly chosen node that still has a free child slot (a random binary tree).
//   Destroy: post-order walk with an explicit stack freeing each node, or one reset (with
//   every thread stopped when the instance is shared). Thread::destroy_seconds_total and
//   Thread::trees accumulate the destroy's steady_clock time and the trees destroyed, reported
//   through Totals as destroy_ns_per_tree; for a shared arena every thread first meets at a
//   barrier, so the time covers the reset and the bulk barriers, not waiting for slower
//   threads to finish building.
// Operation: one node allocated and written into the tree; the destroy is included, spread
//   over the round's operations.
// Does not test: reuse of freed memory (see `mixed`), cross-thread frees (`larson`), trees
//   that are edited after being built, large objects.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <string_view>
#include <vector>

#include "alloclab/allocator.hpp"
#include "alloclab/workloads/release.hpp"
#include "alloclab/workloads/workload.hpp"

namespace alloclab::workloads {

namespace detail {
constexpr std::string_view ast_name(std::size_t nodes) {
  return nodes == 1024 ? "ast_1k" : nodes == 16384 ? "ast_16k" : nodes == 262144 ? "ast_256k" : "ast";
}
}  // namespace detail

template <Allocator A, std::size_t Nodes>
class Ast {
 public:
  static constexpr WorkloadInfo info{
      .name = detail::ast_name(Nodes),
      .description = "build a random binary syntax tree of small nodes, then destroy it whole",
      .operation = "allocate one 24-56 B node and link it into the tree (destroy included)",
      .links_objects = true};

  // The driver's latency pass keeps 2^18 samples a thread: ast_256k's one tree fills them, and
  // four rounds of it cost four times the timed part of a case.
  static constexpr int latency_rounds = Nodes >= (std::size_t{1} << 18) ? 1 : 4;

  struct Node {
    Node* children[2];
    std::uint32_t kind;
    std::uint32_t value;  // payload length in bytes; the payload follows the node
  };
  static constexpr std::size_t max_payload = 32;

  struct Thread {
    Thread(std::uint64_t seed, std::size_t nodes) : rng(seed) {
      open.reserve(nodes);
      stack.reserve(nodes);
    }
    Rng rng;
    std::vector<Node*> open;           // nodes with a free child slot
    std::vector<std::uintptr_t> stack; // destroy walk: node | 1 once its children are pushed
    double destroy_seconds_total = 0;  // summed by Totals
    std::size_t trees = 0;             // summed by Totals
  };

  // The destroy timed on its own: nanoseconds per tree, over every thread's timed rounds.
  struct Totals {
    double destroy_seconds = 0;
    std::size_t trees = 0;
    void add(const Thread& t) {
      destroy_seconds += t.destroy_seconds_total;
      trees += t.trees;
    }
    template <class F>
    void report(F&& counter) const {
      if (trees > 0) counter("destroy_ns_per_tree", 1e9 * destroy_seconds / static_cast<double>(trees));
    }
  };

  Ast(const Params& params, int /*threads*/)
      : params_(params), nodes_(params.tiny ? (Nodes / 64 < 16 ? 16 : Nodes / 64) : Nodes) {}

  Thread make_thread(int thread_index) const { return Thread(thread_seed(params_, thread_index), nodes_); }

  template <class Probe>
  std::size_t run_round(A& a, Thread& t, RoundSync& sync, Probe& probe) {
    Node* root = nullptr;
    std::size_t built = 0;
    t.open.clear();
    for (; built < nodes_; ++built) {
      const auto payload = static_cast<std::uint32_t>(t.rng.between(0, max_payload));
      const auto kind = static_cast<std::uint32_t>(t.rng.between(0, 63));
      void* p = probe(sizeof(Node) + payload, [&] { return a.allocate(sizeof(Node) + payload, alignof(Node)); });
      if (p == nullptr) [[unlikely]] break;  // exhausted: destroy what was built
      Node* node = ::new (p) Node{{nullptr, nullptr}, kind, payload};
      std::memset(reinterpret_cast<unsigned char*>(node) + sizeof(Node), static_cast<int>(kind), payload);
      if (root == nullptr) {
        root = node;
      } else {
        const std::size_t i = t.rng.between(0, t.open.size() - 1);
        Node* parent = t.open[i];
        if (parent->children[0] == nullptr) {
          parent->children[0] = node;
        } else {
          parent->children[1] = node;  // now full: no longer open
          t.open[i] = t.open.back();
          t.open.pop_back();
        }
      }
      t.open.push_back(node);
    }
    destroy(a, t, sync, root);
    return built;
  }

  void finish(A& /*a*/, Thread& /*t*/, RoundSync& /*sync*/) {}  // every round destroys its tree

 private:
  void destroy(A& a, Thread& t, RoundSync& sync, Node* root) {
    using Clock = std::chrono::steady_clock;
    if constexpr (!allocator_traits<A>::supports_free) sync.barrier();  // builders done (shared)
    if constexpr (allocator_traits<A>::supports_free) {
      if (sync.recording()) sync.record(a.stats());  // the whole tree is live: the peak
    }
    const Clock::time_point start = Clock::now();
    if constexpr (allocator_traits<A>::supports_free) {
      if (root != nullptr) t.stack.push_back(reinterpret_cast<std::uintptr_t>(root));
      while (!t.stack.empty()) {
        const std::uintptr_t entry = t.stack.back();
        t.stack.pop_back();
        Node* node = reinterpret_cast<Node*>(entry & ~std::uintptr_t{1});
        if ((entry & 1) != 0) {
          a.deallocate(node, sizeof(Node) + node->value);  // its children are gone already
        } else {
          t.stack.push_back(entry | 1);
          if (node->children[1] != nullptr) t.stack.push_back(reinterpret_cast<std::uintptr_t>(node->children[1]));
          if (node->children[0] != nullptr) t.stack.push_back(reinterpret_cast<std::uintptr_t>(node->children[0]));
        }
      }
    } else {
      bulk_reset(a, sync);
    }
    t.destroy_seconds_total += std::chrono::duration<double>(Clock::now() - start).count();
    ++t.trees;
  }

  Params params_;
  std::size_t nodes_;
};

template <Allocator A>
using Ast1k = Ast<A, 1024>;
template <Allocator A>
using Ast16k = Ast<A, 16384>;
template <Allocator A>
using Ast256k = Ast<A, 262144>;

}  // namespace alloclab::workloads
