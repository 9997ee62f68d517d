// exp in float32 vectors (GCC vector extensions; also compiles for one float) for the CPU
// softmax: std::exp is a call a value, which GCC does not vectorize without -ffast-math.
#pragma once

#include "cpu_float.h"
#include "cpu_vector.h"

namespace jsdl {

// exp(x) for x <= 0 (the softmax's x - max) or NaN, within 1 ulp (0.98 the most in a sweep of
// [-87, 0] against double); results below float's normal range are 0 (XLA's CPU threads would
// flush them anyway). The usual reduction: x = k ln 2 + r with |r| <= ln 2 / 2 (ln 2 in two
// parts, so that k ln 2 is exact), exp(r) by a degree-6 polynomial (Cephes' expf
// coefficients), and 2^k put into the exponent bits.
template <typename F>
JSDL_ALWAYS_INLINE F ExpNonPositive(F x) {
  using U = typename LaneTypes<F>::Uint32;
  constexpr float kMin = -87.33654f;  // exp(kMin) = float's smallest normal, 2^-126
  F clamped = x < kMin ? F{} + kMin : x;
  clamped = x == x ? clamped : F{};  // NaN: 0 here (no float-to-int of NaN), NaN at the end
  // k = round(x / ln 2): adding and taking away 1.5 * 2^23 rounds to an integer.
  const F k = (clamped * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  const F r = (clamped - k * 0.693359375f) + k * 2.12194440e-4f;
  F p = F{} + 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  // 2^k for k in [-126, 0] (clamped), as float bits.
  const U two_k = (BitCast<U>(ConvertLanes<typename LaneTypes<F>::Int32>(k)) + 127u) << 23;
  const F result = p * BitCast<F>(two_k);
  return x == x ? (x < kMin ? F{} : result) : x;
}

}  // namespace jsdl
