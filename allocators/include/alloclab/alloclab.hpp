// alloclab/alloclab.hpp — the whole allocator library in one include.
#pragma once

#include "alloclab/allocator.hpp"
#include "alloclab/atomic_bump_arena.hpp"
#include "alloclab/block_chain.hpp"
#include "alloclab/block_source.hpp"
#include "alloclab/chained_arena.hpp"
#include "alloclab/coalescing_pool.hpp"
#include "alloclab/debug.hpp"
#include "alloclab/mutex_arena.hpp"
#include "alloclab/pmr_adapter.hpp"
#include "alloclab/stats.hpp"
#include "alloclab/thread_cached_pool.hpp"
#include "alloclab/thread_local_arena.hpp"
