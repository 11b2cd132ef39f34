// RUN: nova-opt %s --nova-params-to-args | FileCheck %s

// An SPMD entry (nova-spmd-partition's output) keeps its communicator where
// the manifest puts it, right after the inputs; the parameters, typed as
// this rank's shards, follow it. The communicator is no buffer: it is not
// marked for bufferization.

nova.mesh @mesh ["model" = 2]

// CHECK-LABEL: func.func @forward
// CHECK-SAME: (%[[X:[^:]+]]: tensor<2x16xf32> {bufferization.writable = false, nova.name = "x"},
// CHECK-SAME: %[[COMM:[^:]+]]: i32 {nova.communicator},
// CHECK-SAME: %[[W:[^:]+]]: tensor<16x8xf32> {bufferization.writable = false, nova.param = "layer/w"})
// CHECK: nova.matmul %[[X]], %[[W]]
// CHECK: nova.all_gather %{{.+}}, %[[COMM]]
func.func @forward(%x: tensor<2x16xf32> {nova.name = "x"}, %comm: i32 {nova.communicator})
    -> (tensor<2x16xf32> {nova.name = "y"}) {
  %w = nova.param "layer/w" sharding <@mesh, [None, "model"]> : tensor<16x8xf32>
  %h = nova.matmul %x, %w : tensor<2x16xf32>, tensor<16x8xf32> -> tensor<2x8xf32>
  %y = nova.all_gather %h, %comm over @mesh ["model"] dim 1 : tensor<2x8xf32> -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}
