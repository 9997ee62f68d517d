// Which rows a stream kernel's owners take (an owner: a warp, or with rows-stream an 8-lane
// group). Host and device code: the stream kernel calls it, tests/test_spmm_row_slots.py checks
// it on the host.
#pragma once

#if defined(__CUDACC__)
#define JSDL_ROW_SLOTS_FN __host__ __device__ __forceinline__
#else
#define JSDL_ROW_SLOTS_FN inline
#endif

namespace jsdl {

// Row slot of an owner's i-th row (first_slot: its slot in the first round, below slot_stride):
// each round of slot_stride slots goes to the owners forwards in even rounds and backwards in
// odd ones. Rows are sorted by length, so the owner of a round's longest row gets the next
// round's shortest (session 47: with a plain stride the first warp had 1.3-1.5x the mean warp's
// entries on ResNet-50's layers, and every warp waits for it at each column tile's barrier).
// Slots grow with i, so an owner's rows below m are a prefix.
JSDL_ROW_SLOTS_FN int SnakeSlot(int first_slot, int slot_stride, int i) {
  return i * slot_stride + ((i & 1) ? slot_stride - 1 - first_slot : first_slot);
}

// Block-local index of an owner's i-th row, dense below the block's rows (the passes' partial
// sums): the owner's place in round i, backwards in odd rounds, whose rows below m (a last,
// partial round) go to the block's last owners.
JSDL_ROW_SLOTS_FN int SnakeLocal(int owner_in_block, int owners_per_block, int i) {
  return ((i & 1) ? owners_per_block - 1 - owner_in_block : owner_in_block) +
         owners_per_block * i;
}

}  // namespace jsdl
