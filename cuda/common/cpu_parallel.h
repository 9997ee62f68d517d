// Work of a CPU handler spread over XLA's intra-op thread pool (ffi::ThreadPool).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>

#include "xla/ffi/api/ffi.h"

namespace jsdl {

// Below this many multiply-adds (or comparable steps) a chunk is not worth a task.
inline constexpr int64_t kMinChunkCost = 1 << 15;

// Calls fn(begin, end) over [0, items) in chunks, on the pool's threads and the caller's.
// XLA may run scheduled tasks late, on the caller's thread, or on a pool of one thread, so
// the caller takes chunks too and waits only for chunks that other threads have taken: a task
// that starts after the last chunk was taken touches nothing but the shared counters.
template <typename Fn>
void ParallelFor(xla::ffi::ThreadPool& pool, int64_t items, int64_t cost_per_item, Fn&& fn) {
  const int64_t threads = std::max<int64_t>(pool.num_threads(), 1);
  const int64_t by_cost = items * std::max<int64_t>(cost_per_item, 1) / kMinChunkCost;
  const int64_t chunks = std::min({items, 4 * threads, std::max<int64_t>(by_cost, 1)});
  if (chunks <= 1) {
    if (items > 0) fn(int64_t{0}, items);
    return;
  }
  struct Counters {
    std::atomic<int64_t> next{0}, done{0};
  };
  auto counters = std::make_shared<Counters>();
  const int64_t per_chunk = (items + chunks - 1) / chunks;
  auto* body = &fn;
  auto work = [counters, chunks, per_chunk, items, body] {
    for (int64_t c; (c = counters->next.fetch_add(1)) < chunks;) {
      (*body)(c * per_chunk, std::min(items, (c + 1) * per_chunk));
      counters->done.fetch_add(1, std::memory_order_release);
    }
  };
  for (int64_t t = 1; t < std::min(threads, chunks); ++t) {
    auto task = work;
    pool.Schedule(std::move(task));
  }
  work();
  while (counters->done.load(std::memory_order_acquire) < chunks) std::this_thread::yield();
}

}  // namespace jsdl
