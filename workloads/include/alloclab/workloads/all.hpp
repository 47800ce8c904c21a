// alloclab/workloads/all.hpp — every workload in one include.
#pragma once

#include "alloclab/workloads/ast.hpp"
#include "alloclab/workloads/cache_scratch.hpp"
#include "alloclab/workloads/frame.hpp"
#include "alloclab/workloads/larson.hpp"
#include "alloclab/workloads/mixed.hpp"
#include "alloclab/workloads/release.hpp"
#include "alloclab/workloads/small.hpp"
#include "alloclab/workloads/stress.hpp"
#include "alloclab/workloads/workload.hpp"
