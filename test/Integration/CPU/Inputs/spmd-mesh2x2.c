/* SPDX-License-Identifier: Apache-2.0
 *
 * Runs spmd-mesh2x2.mlir on 4 ranks (mpirun -n 4). Rank r is the device at
 * (data, model) = (r / 2, r % 2) and contributes x_r = {r + 1, 10 (r + 1),
 * 100 (r + 1)}; every sum, gather order and shard index is checked against
 * the group the op names. Prints "rank R: groups ok" or the first mismatch.
 */
#include "spmd-mesh2x2.h"

#include <stdio.h>

int MPI_Init(int *argc, char ***argv);
int MPI_Comm_rank(int comm, int *rank);
int MPI_Finalize(void);
#define MPI_COMM_WORLD 0x44000000

static int32_t value(int rank, int j) {
  static const int32_t scale[3] = {1, 10, 100};
  return (rank + 1) * scale[j];
}

static int expect(int rank, const char *what, int j, int32_t got,
                  int32_t want) {
  if (got == want)
    return 0;
  printf("rank %d: %s[%d] = %d, expected %d\n", rank, what, j, got, want);
  return 1;
}

int main(int argc, char **argv) {
  int rank;
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  int data = rank / 2, model = rank % 2, bad = 0;
  int32_t x[3], model_sum[3], data_sum[3], mesh_sum[3], data_gather[6],
      transposed[12], index[3];
  for (int j = 0; j < 3; ++j)
    x[j] = value(rank, j);
  nova_groups(x, MPI_COMM_WORLD, model_sum, data_sum, mesh_sum, data_gather,
              transposed, index);
  for (int j = 0; j < 3; ++j) {
    /* Over "model": the two ranks of this data row. */
    bad |= expect(rank, "model_sum", j, model_sum[j],
                  value(2 * data, j) + value(2 * data + 1, j));
    /* Over "data": the two ranks of this model column. */
    bad |= expect(rank, "data_sum", j, data_sum[j],
                  value(model, j) + value(model + 2, j));
    bad |= expect(rank, "mesh_sum", j, mesh_sum[j],
                  value(0, j) + value(1, j) + value(2, j) + value(3, j));
    /* Shards in data order: (0, model), then (1, model). */
    for (int d = 0; d < 2; ++d)
      bad |= expect(rank, "data_gather", 3 * d + j, data_gather[3 * d + j],
                    value(2 * d + model, j));
    /* Over ("model", "data"): model-major, so ranks 0, 2, 1, 3. */
    for (int k = 0; k < 4; ++k)
      bad |= expect(rank, "transposed_gather", 3 * k + j, transposed[3 * k + j],
                    value(2 * (k % 2) + k / 2, j));
  }
  bad |= expect(rank, "index", 0, index[0], model);
  bad |= expect(rank, "index", 1, index[1], data);
  bad |= expect(rank, "index", 2, index[2], 2 * model + data);
  if (!bad)
    printf("rank %d: groups ok\n", rank);
  fflush(stdout);
  MPI_Finalize();
  return bad;
}
