// Launch configuration of the SDDMM kernel: one warp per sparse row; the warp
// is split into groups of kGroupWidth lanes, each group computes one entry's
// dot product at a time (lanes over consecutive d, so loads coalesce).
#pragma once

#include <cstdint>

namespace jsdl {

template <int kGroupWidth_, int kLhsRegs_>
struct SddmmConfig {
  static constexpr int kGroupWidth = kGroupWidth_;  // lanes per entry
  static constexpr int kGroups = 32 / kGroupWidth;   // entries in flight
  // The lhs row stays in registers when d <= kGroupWidth * kLhsRegs (it is
  // reused for every entry of the row); longer rows are re-read (L1 hits).
  static constexpr int kLhsRegs = kLhsRegs_;
  static constexpr int kWarpsPerBlock = 4;  // rows per block
  static constexpr int kSparseTile = 32;    // column indices staged per step
};

// Small d: narrow groups so that fewer lanes idle.
enum class SddmmGroupWidth { k8, k16, k32 };

inline SddmmGroupWidth ChooseSddmmGroupWidth(int64_t d) {
  if (d <= 8) return SddmmGroupWidth::k8;
  if (d <= 16) return SddmmGroupWidth::k16;
  return SddmmGroupWidth::k32;
}

}  // namespace jsdl
