//===- Philox.h - Philox 4x32-10 and Nova's Gumbel noise --------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
// The counter-based generator of Salmon et al., "Parallel random numbers:
// as easy as 1, 2, 3" (SC'11), and the noise nova.sample draws from it. One
// implementation, usable from host C++ and from CUDA device code (the
// functions are constexpr-friendly and branch-free), so that a seed yields
// the same token on the interpreter, CPU and CUDA backends.
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_RUNTIME_PHILOX_H
#define NOVA_RUNTIME_PHILOX_H

#include <array>
#include <cstdint>

#ifdef __CUDACC__
#define NOVA_HOST_DEVICE __host__ __device__
#else
#define NOVA_HOST_DEVICE
#endif

namespace nova::rt {

using PhiloxCounter = std::array<uint32_t, 4>;
using PhiloxKey = std::array<uint32_t, 2>;

/// Philox 4x32 with 10 rounds.
NOVA_HOST_DEVICE inline PhiloxCounter philox4x32_10(PhiloxCounter c,
                                                    PhiloxKey k) {
  constexpr uint32_t m0 = 0xD2511F53u, m1 = 0xCD9E8D57u;
  constexpr uint32_t w0 = 0x9E3779B9u, w1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    uint64_t p0 = static_cast<uint64_t>(m0) * c[0];
    uint64_t p1 = static_cast<uint64_t>(m1) * c[2];
    uint32_t hi0 = static_cast<uint32_t>(p0 >> 32),
             lo0 = static_cast<uint32_t>(p0);
    uint32_t hi1 = static_cast<uint32_t>(p1 >> 32),
             lo1 = static_cast<uint32_t>(p1);
    c = {hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0};
    k = {k[0] + w0, k[1] + w1};
  }
  return c;
}

/// The 32-bit word nova.sample uses for vocabulary entry `index` of the
/// row with key `rowKey` at decode step `step` under `seed`: key = (low,
/// high 32 bits of the seed), counter = (index / 4, low 32 bits of the row
/// key, step, high 32 bits of the row key), word index % 4. The row key is
/// the row's `row_seeds` entry, or its batch row when there are none (then
/// the counter is (index / 4, row, step, 0)).
NOVA_HOST_DEVICE inline uint32_t sampleWord(uint64_t seed, uint64_t rowKey,
                                            uint32_t step, uint32_t index) {
  PhiloxCounter out = philox4x32_10(
      {index / 4, static_cast<uint32_t>(rowKey), step,
       static_cast<uint32_t>(rowKey >> 32)},
      {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)});
  return out[index % 4];
}

/// Gumbel noise g = round_T(-log(-log(u))) for the uniform
/// u = max(floor(word / 2^(32-m)) * 2^-m, tiny_T), where m is the number of
/// explicit mantissa bits of T and tiny_T its smallest normal number
/// (grok1-semantics.md §4.2.4). The logs are evaluated in double. Returns the
/// value as a double (exactly representable in T).
double gumbelNoise(uint32_t word, int mantissaBits, int exponentBits);

} // namespace nova::rt

#endif // NOVA_RUNTIME_PHILOX_H
