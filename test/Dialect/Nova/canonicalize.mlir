// RUN: nova-opt %s --canonicalize --split-input-file | FileCheck %s

nova.mesh @mesh ["data" = 2, "model" = 4]

// shard(shard(x, s), s) folds to shard(x, s).
// CHECK-LABEL: func.func @same_spec
// CHECK-SAME: (%[[X:.+]]: tensor<8x8xf32>)
// CHECK: %[[S:.+]] = nova.shard %[[X]] to <@mesh, [None, "model"]>
// CHECK-NOT: nova.shard
// CHECK: return %[[S]]
func.func @same_spec(%x: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %0 = nova.shard %x to <@mesh, [None, "model"]> : tensor<8x8xf32>
  %1 = nova.shard %0 to <@mesh, [None, "model"]> : tensor<8x8xf32>
  return %1 : tensor<8x8xf32>
}

// A different spec is a resharding and stays.
// CHECK-LABEL: func.func @different_spec
// CHECK: %[[A:.+]] = nova.shard %{{.+}} to <@mesh, [None, "model"]>
// CHECK: %[[B:.+]] = nova.shard %[[A]] to <@mesh, ["data"]>
// CHECK: return %[[B]]
func.func @different_spec(%x: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %0 = nova.shard %x to <@mesh, [None, "model"]> : tensor<8x8xf32>
  %1 = nova.shard %0 to <@mesh, ["data"]> : tensor<8x8xf32>
  return %1 : tensor<8x8xf32>
}

// -----

nova.mesh @mesh ["data" = 2, "model" = 4]

// Unused pure ops (parameters included) are removed.
// CHECK-LABEL: func.func @dead_param
// CHECK-NOT: nova.param
// CHECK: return
func.func @dead_param() {
  %0 = nova.param "a/w" : tensor<8xf32>
  return
}
