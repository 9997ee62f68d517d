// The pattern's tile index (csr.py _tile_index): the entries of each 64 x 64 tile of the matrix,
// listed tile by tile (row-major tiles, CSR order within a tile), so that a dense-tile kernel
// (the SDDMM tiles, the SpMM wgmma tile) reads only its own entries.
#pragma once

#include <cstdint>

namespace jsdl {

// The index's tile edge (csr.py TILE_EDGE).
inline constexpr int kTileIndexEdge = 64;

// 64 x 64 tiles covering an m x k pattern.
inline int64_t TileIndexCount(int64_t m, int64_t k) {
  constexpr int64_t kEdge = kTileIndexEdge;
  return (m + kEdge - 1) / kEdge * ((k + kEdge - 1) / kEdge);
}

}  // namespace jsdl
