// Launch configuration of the SDDMM kernel: one warp per sparse row, split
// into kGroups groups of kLanesPerGroup lanes. A group takes kLanesPerGroup
// entries of the row at once: each lane forms partial dot products of its
// slice of d (kVecsPerLane accesses of kVec elements, consecutive across the
// group's lanes so that loads coalesce) for all of them, then one transposing
// reduction (kLanesPerGroup - 1 shuffles) leaves entry j's dot product on
// lane j, and the group's stores are consecutive.
#pragma once

#include <cstdint>

namespace jsdl {

template <int kVec_, int kLanesPerGroup_, int kVecsPerLane_>
struct SddmmConfig {
  static constexpr int kVec = kVec_;
  static constexpr int kLanesPerGroup = kLanesPerGroup_;
  static constexpr int kVecsPerLane = kVecsPerLane_;
  static constexpr int kGroups = 32 / kLanesPerGroup;
  // Elements of d covered per pass; longer rows take several passes.
  static constexpr int kChunk = kLanesPerGroup * kVec * kVecsPerLane;
  static constexpr int kWarpsPerBlock = 4;  // rows per block
  static constexpr int kSparseTile = 32;    // entries per warp step
};

// Lanes per group and accesses per lane for rows of d elements read kVec at a
// time: as narrow as d allows, up to 4 accesses (16 registers of lhs) a lane.
struct SddmmShape {
  int lanes;
  int vecs_per_lane;
};

inline SddmmShape ChooseSddmmShape(int64_t d, int vec) {
  const int64_t accesses = (d + vec - 1) / vec;
  for (int lanes = 4; lanes < 32; lanes *= 2)
    if (accesses <= lanes) return {lanes, 1};
  if (accesses <= 32) return {32, 1};
  if (accesses <= 64) return {32, 2};
  return {32, 4};
}

}  // namespace jsdl
