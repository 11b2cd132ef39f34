// RUN: nova-opt %s --convert-nova-to-linalg | FileCheck %s

// Attention fused per (batch, query, head): scores, logit cap, causal
// mask, online softmax and the weighted sum over V in one pass over the
// 512 cached positions, with a running max, a running sum and a
// head-sized accumulator; no score row or matrix exists.

// CHECK-LABEL: func.func @attention
// CHECK-NOT: nova.
// CHECK: scf.for %{{.+}} = %{{.+}} to %c1{{(_[0-9]+)?}} step
// CHECK: scf.for %{{.+}} = %{{.+}} to %c4{{(_[0-9]+)?}} step
// CHECK: scf.for %{{.+}} = %{{.+}} to %c8{{(_[0-9]+)?}} step
// The pass over the cache: running max, running sum, accumulator.
// CHECK: scf.for %{{.+}} iter_args(%[[M:.+]] = %{{.+}}, %[[L:.+]] = %{{.+}}, %[[ACC:.+]] = %{{.+}}) -> (f32, f32, tensor<16xf32>)
// The score: a dot product over the head dimension, then the tanh cap.
// CHECK: scf.for %{{.+}} = %{{.+}} to %c16{{(_[0-9]+)?}} step
// CHECK: math.tanh
// Rescale of the old state and the new weight.
// CHECK: math.exp
// CHECK: math.exp
// CHECK: scf.for %{{.+}} = %{{.+}} to %c16{{(_[0-9]+)?}} step {{.+}} -> (tensor<16xf32>)
// CHECK-NOT: tensor<512xf32>
// CHECK-NOT: tensor<1x4x8x512x
// CHECK-NOT: x512xf32>
// CHECK: return
func.func @attention(%q: tensor<1x4x8x16xbf16>, %kc: tensor<1x512x2x16xbf16>, %vc: tensor<1x512x2x16xbf16>, %offset: tensor<1xi32>) -> tensor<1x4x8x16xbf16> {
  %o = nova.attention %q, %kc, %vc, %offset scale 0.25 cap 30.0
      : tensor<1x4x8x16xbf16>, tensor<1x512x2x16xbf16>, tensor<1x512x2x16xbf16>, tensor<1xi32> -> tensor<1x4x8x16xbf16>
  return %o : tensor<1x4x8x16xbf16>
}
