// Host memory for the CPU handlers' float32 copies of 16-bit operands and results, kept between
// calls. A fresh block each call costs a page fault at the first touch of each page (glibc maps
// large blocks anew) and, as a std::vector, a zeroing pass: a probe that kept them per thread
// made bfloat16 SpMM 1.05-1.45x faster (session 36). Calls may overlap (XLA runs independent ops
// at once; Python threads call jitted functions side by side), so each call takes blocks of its
// own (a Scratch) and gives them back when it ends; the pool keeps at most a set number of bytes
// of free blocks (set_scratch_limit in _jsdl_cpu), dropping the longest unused first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace jsdl {

struct ScratchBlock {
  std::unique_ptr<float[]> data;
  size_t size = 0;  // floats
};

class ScratchPool {
 public:
  static constexpr size_t kDefaultLimitBytes = size_t{256} << 20;

  static ScratchPool& Get() {
    static ScratchPool* pool = new ScratchPool;  // never destroyed: handlers may run at exit
    return *pool;
  }

  // A block of at least `count` floats, not initialized: the smallest free one that holds
  // them, else a new one.
  ScratchBlock Take(size_t count) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      size_t best = free_.size();
      for (size_t i = 0; i < free_.size(); ++i)
        if (free_[i].size >= count && (best == free_.size() || free_[i].size < free_[best].size))
          best = i;
      if (best < free_.size()) {
        ScratchBlock block = std::move(free_[best]);
        free_.erase(free_.begin() + static_cast<std::ptrdiff_t>(best));
        kept_bytes_ -= Bytes(block);
        return block;
      }
    }
    return {std::unique_ptr<float[]>(new float[count]), count};  // new float[]: no zeroing
  }

  void Give(ScratchBlock block) {
    std::vector<ScratchBlock> dropped;  // freed after the lock is released
    std::lock_guard<std::mutex> lock(mutex_);
    kept_bytes_ += Bytes(block);
    free_.push_back(std::move(block));
    DropOverLimit(dropped);
  }

  // Sets the most bytes of free blocks kept between calls; returns the old limit.
  size_t SetLimit(size_t bytes) {
    std::vector<ScratchBlock> dropped;
    std::lock_guard<std::mutex> lock(mutex_);
    const size_t old = limit_bytes_;
    limit_bytes_ = bytes;
    DropOverLimit(dropped);
    return old;
  }

  size_t KeptBytes() {
    std::lock_guard<std::mutex> lock(mutex_);
    return kept_bytes_;
  }

 private:
  static size_t Bytes(const ScratchBlock& block) { return block.size * sizeof(float); }

  // Oldest first (free_ is in the order blocks came back).
  void DropOverLimit(std::vector<ScratchBlock>& dropped) {
    size_t drop = 0;
    while (kept_bytes_ > limit_bytes_ && drop < free_.size()) kept_bytes_ -= Bytes(free_[drop++]);
    for (size_t i = 0; i < drop; ++i) dropped.push_back(std::move(free_[i]));
    free_.erase(free_.begin(), free_.begin() + static_cast<std::ptrdiff_t>(drop));
  }

  std::mutex mutex_;
  std::vector<ScratchBlock> free_;
  size_t kept_bytes_ = 0;
  size_t limit_bytes_ = kDefaultLimitBytes;
};

// One call's blocks, given back to the pool when the call ends.
class Scratch {
 public:
  Scratch() = default;
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch() {
    for (ScratchBlock& block : blocks_) ScratchPool::Get().Give(std::move(block));
  }

  float* Take(int64_t count) {
    if (count == 0) return nullptr;  // (an empty bias) no block taken from other calls
    blocks_.push_back(ScratchPool::Get().Take(static_cast<size_t>(count)));
    return blocks_.back().data.get();
  }

 private:
  std::vector<ScratchBlock> blocks_;
};

}  // namespace jsdl
