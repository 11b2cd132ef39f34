/* SPDX-License-Identifier: Apache-2.0
 *
 * Runs the AOT-compiled 2-device SPMD module spmd-model2.mlir on every rank
 * of MPI_COMM_WORLD (mpirun -n 2): rank r binds its shards of the global
 * parameters, calls the entries with the world communicator and checks the
 * results against a plain C evaluation of the whole, unsharded model.
 * Declares the few MPI functions it calls itself (MPICH ABI: MPI_Comm is an
 * int, MPI_COMM_WORLD 0x44000000); links libmpich.so.12. Prints one line per
 * rank and check: "rank R: <entry> ok" or the first mismatch.
 */
#include "spmd-model2.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int MPI_Init(int *argc, char ***argv);
int MPI_Comm_rank(int comm, int *rank);
int MPI_Comm_size(int comm, int *size);
int MPI_Finalize(void);
#define MPI_COMM_WORLD 0x44000000

enum { M = 4, K = 16, H = 16, N = 16, HL = H / 2 };

static float w1[K][H], w2[H][N];

static uint16_t to_bf16(float f) {
  uint32_t bits;
  memcpy(&bits, &f, 4);
  return (uint16_t)((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

static int check_mlp(int rank) {
  float x[M][K], w1_shard[K][HL], w2_shard[HL][N], y[M][N];
  for (int i = 0; i < M; ++i)
    for (int k = 0; k < K; ++k)
      x[i][k] = (float)((i * K + k) % 7 - 3) / 4;
  for (int k = 0; k < K; ++k)
    for (int h = 0; h < H; ++h)
      w1[k][h] = (float)((k * H + h) % 5 - 2) / 8;
  for (int h = 0; h < H; ++h)
    for (int n = 0; n < N; ++n)
      w2[h][n] = (float)((h * N + n) % 9 - 4) / 16;
  /* Column-parallel w1 (its columns [8r, 8r + 8)), row-parallel w2 (its
   * rows [8r, 8r + 8)): the shard boxes of the manifest's partition specs. */
  for (int k = 0; k < K; ++k)
    for (int h = 0; h < HL; ++h)
      w1_shard[k][h] = w1[k][rank * HL + h];
  for (int h = 0; h < HL; ++h)
    for (int n = 0; n < N; ++n)
      w2_shard[h][n] = w2[rank * HL + h][n];
  nova_mlp(&x[0][0], MPI_COMM_WORLD, &w1_shard[0][0], &w2_shard[0][0],
           &y[0][0]);
  for (int i = 0; i < M; ++i)
    for (int n = 0; n < N; ++n) {
      double want = 0;
      for (int h = 0; h < H; ++h) {
        double a = 0;
        for (int k = 0; k < K; ++k)
          a += (double)x[i][k] * w1[k][h];
        want += a / (1 + exp(-a)) * w2[h][n];
      }
      if (fabs(y[i][n] - want) > 1e-5 * (1 + fabs(want))) {
        printf("rank %d: mlp y[%d][%d] = %.9g, expected %.9g\n", rank, i, n,
               y[i][n], want);
        return 1;
      }
    }
  printf("rank %d: mlp ok\n", rank);
  return 0;
}

/* Shard r of the gathered tensors: x_r[i][j] = 100 r + 10 i + j, exact in
 * bf16. */
static uint16_t shard_value(int r, int i, int j) {
  return to_bf16((float)(100 * r + 10 * i + j));
}

static int check_gather(int rank) {
  uint16_t x[2][3], cols[2][6], rows[4][3];
  int32_t index = -1;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      x[i][j] = shard_value(rank, i, j);
  /* Through the packed variant: the buffers in ABI order, then the
   * communicator. */
  void *args[NOVA_GATHER_NUM_ARGS] = {x, cols, rows, &index};
  nova_gather_args(args, MPI_COMM_WORLD);
  for (int r = 0; r < 2; ++r)
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j) {
        uint16_t want = shard_value(r, i, j);
        if (cols[i][r * 3 + j] != want || rows[r * 2 + i][j] != want) {
          printf("rank %d: gather of shard %d [%d][%d]: cols %#x, rows %#x, "
                 "expected %#x\n",
                 rank, r, i, j, cols[i][r * 3 + j], rows[r * 2 + i][j], want);
          return 1;
        }
      }
  if (index != rank) {
    printf("rank %d: shard index %d\n", rank, index);
    return 1;
  }
  printf("rank %d: gather ok\n", rank);
  return 0;
}

int main(int argc, char **argv) {
  int rank, size;
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (size != 2) {
    printf("rank %d: expected 2 ranks, got %d\n", rank, size);
    MPI_Finalize();
    return 1;
  }
  int failed = check_mlp(rank) | check_gather(rank);
  fflush(stdout);
  MPI_Finalize();
  return failed;
}
