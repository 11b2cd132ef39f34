// RUN: nova-opt %s --convert-nova-to-linalg | FileCheck %s

// On one device nova.shard is an annotation only: the lowering forwards its
// input. The mesh declaration stays (it is not compute).

// CHECK: nova.mesh @mesh
nova.mesh @mesh ["data" = 1, "model" = 8]

// CHECK-LABEL: func.func @shard
// CHECK-SAME: (%[[X:.+]]: tensor<8x64xbf16>)
// CHECK-NEXT: return %[[X]] : tensor<8x64xbf16>
func.func @shard(%x: tensor<8x64xbf16>) -> tensor<8x64xbf16> {
  %y = nova.shard %x to <@mesh, [None, "model"]> : tensor<8x64xbf16>
  return %y : tensor<8x64xbf16>
}

// A chain of annotations folds away entirely, feeding the consumer.
// CHECK-LABEL: func.func @shard_chain
// CHECK-SAME: (%[[X:.+]]: tensor<8x64xbf16>)
// CHECK-NOT: nova.shard
// CHECK: %[[Y:.+]] = linalg.generic
// CHECK-SAME: ins(%[[X]] : tensor<8x64xbf16>)
// CHECK: return %[[Y]]
func.func @shard_chain(%x: tensor<8x64xbf16>) -> tensor<8x64xbf16> {
  %a = nova.shard %x to <@mesh, [None, "model"]> : tensor<8x64xbf16>
  %b = nova.shard %a to <@mesh, ["data", None]> : tensor<8x64xbf16>
  %y = nova.silu %b : tensor<8x64xbf16>
  return %y : tensor<8x64xbf16>
}
