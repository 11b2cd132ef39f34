// RUN: not nova-opt %s --nova-spmd-partition=max-collective-bytes=1024 2>&1 | FileCheck %s
// RUN: nova-opt %s --nova-spmd-partition=max-collective-bytes=2048 | FileCheck %s --check-prefix=OK

// A collective over budget is an error at the op that caused it.

nova.mesh @mesh ["model" = 2]

func.func @f(%x: tensor<32x16xf32>) -> tensor<32x16xf32> {
  %w = nova.param "row/w" sharding <@mesh, ["model"]> : tensor<16x16xf32>
  // CHECK: spmd-budget.mlir:[[@LINE+1]]:8: error: nova.all_reduce of 2048 bytes per call per rank exceeds --max-collective-bytes 1024 (partial sums of row-parallel nova.matmul)
  %y = nova.matmul %x, %w : tensor<32x16xf32>, tensor<16x16xf32> -> tensor<32x16xf32>
  // OK: nova.all_reduce
  return %y : tensor<32x16xf32>
}
