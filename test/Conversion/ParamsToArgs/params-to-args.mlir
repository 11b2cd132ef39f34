// RUN: nova-opt %s --nova-params-to-args | FileCheck %s

// The compiled code's argument order (docs/abi.md): the function's inputs,
// then one argument per distinct parameter path, sorted by path, a
// quantized parameter as its weight then `<path>.scales`, each tagged with
// its path. Every argument is read-only to bufferization.

// External declarations have no body to rewrite.
// CHECK: func.func private @external(tensor<4xf32>) -> tensor<4xf32>
func.func private @external(tensor<4xf32>) -> tensor<4xf32>

// "a/linear/w" sorts before "b/rms_norm/scale" although it is used second;
// the repeated nova.param ops of one path share its arguments.
// CHECK-LABEL: func.func @forward
// CHECK-SAME: (%[[X:[^:]+]]: tensor<2x64xbf16> {bufferization.writable = false},
// CHECK-SAME: %{{[^:]+}}: tensor<2xi32> {bufferization.writable = false},
// CHECK-SAME: %[[Q:[^:]+]]: tensor<64x32xi8> {bufferization.writable = false, nova.param = "a/linear/w"},
// CHECK-SAME: %[[S:[^:]+]]: tensor<1x32xbf16> {bufferization.writable = false, nova.param = "a/linear/w.scales"},
// CHECK-SAME: %[[N:[^:]+]]: tensor<64xf32> {bufferization.writable = false, nova.param = "b/rms_norm/scale"})
// CHECK-SAME: -> tensor<2x32xbf16>
// CHECK-NOT: nova.param "
// CHECK: %[[Y:.+]] = nova.rms_norm %[[X]], %[[N]]
// CHECK: nova.qmatmul %[[Y]], %[[Q]], %[[S]]
// CHECK: %[[Z:.+]] = nova.qmatmul %[[Y]], %[[Q]], %[[S]]
// CHECK: return %[[Z]]
func.func @forward(%x: tensor<2x64xbf16>, %ids: tensor<2xi32>) -> tensor<2x32xbf16> {
  %n = nova.param "b/rms_norm/scale" : tensor<64xf32>
  %q, %s = nova.param "a/linear/w" scales <per_column> : tensor<64x32xi8>, tensor<1x32xbf16>
  %y = nova.rms_norm %x, %n eps 1.0e-5 : tensor<2x64xbf16>, tensor<64xf32> -> tensor<2x64xbf16>
  %z = nova.qmatmul %y, %q, %s layout <per_column> : tensor<2x64xbf16>, tensor<64x32xi8>, tensor<1x32xbf16> -> tensor<2x32xbf16>
  %n2 = nova.param "b/rms_norm/scale" : tensor<64xf32>
  %q2, %s2 = nova.param "a/linear/w" scales <per_column> : tensor<64x32xi8>, tensor<1x32xbf16>
  %z2 = nova.qmatmul %y, %q2, %s2 layout <per_column> : tensor<2x64xbf16>, tensor<64x32xi8>, tensor<1x32xbf16> -> tensor<2x32xbf16>
  return %z2 : tensor<2x32xbf16>
}

// Without parameters only the read-only marking is added.
// CHECK-LABEL: func.func @no_params
// CHECK-SAME: (%{{[^:]+}}: tensor<4xf32> {bufferization.writable = false}) -> tensor<4xf32>
func.func @no_params(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}
