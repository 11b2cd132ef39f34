// RUN: nova-opt %s --nova-distinct-results | FileCheck %s

// Every tensor a function returns gets an allocation of its own
// (docs/abi.md: outputs are separate caller-owned buffers): an operand that
// repeats an earlier one's buffer, an argument, a constant or a view of one
// is copied; the first use of a buffer the function computes is not.

// The same value twice: the first stays, the second is a copy.
// CHECK-LABEL: func.func @same_value_twice
// CHECK: %[[Y:.+]] = linalg.generic
// CHECK: %[[A:.+]] = bufferization.alloc_tensor() : tensor<2x4xf32>
// CHECK: %[[C:.+]] = bufferization.materialize_in_destination %[[Y]] in %[[A]]
// CHECK: return %[[Y]], %[[C]] :
func.func @same_value_twice(%x: tensor<2x4xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>) {
  %e = tensor.empty() : tensor<2x4xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<2x4xf32>) outs(%e : tensor<2x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %n = arith.negf %in : f32
    linalg.yield %n : f32
  } -> tensor<2x4xf32>
  return %y, %y : tensor<2x4xf32>, tensor<2x4xf32>
}

// Arguments (inputs, parameters, a KV cache passed through) are the
// caller's read-only buffers: each return of one is its own copy.
// CHECK-LABEL: func.func @arguments
// CHECK-SAME: (%[[X:[^:]+]]: tensor<2x4xf32>, %[[W:[^:]+]]: tensor<4xi8>)
// CHECK: %[[A0:.+]] = bufferization.alloc_tensor() : tensor<2x4xf32>
// CHECK: %[[C0:.+]] = bufferization.materialize_in_destination %[[X]] in %[[A0]]
// CHECK: %[[A1:.+]] = bufferization.alloc_tensor() : tensor<4xi8>
// CHECK: %[[C1:.+]] = bufferization.materialize_in_destination %[[W]] in %[[A1]]
// CHECK: %[[A2:.+]] = bufferization.alloc_tensor() : tensor<2x4xf32>
// CHECK: %[[C2:.+]] = bufferization.materialize_in_destination %[[X]] in %[[A2]]
// CHECK: return %[[C0]], %[[C1]], %[[C2]] :
func.func @arguments(%x: tensor<2x4xf32>, %w: tensor<4xi8>) -> (tensor<2x4xf32>, tensor<4xi8>, tensor<2x4xf32>) {
  return %x, %w, %x : tensor<2x4xf32>, tensor<4xi8>, tensor<2x4xf32>
}

// A constant is a global: every return of it is a copy.
// CHECK-LABEL: func.func @constant_twice
// CHECK: %[[K:.+]] = arith.constant dense<
// CHECK: %[[A0:.+]] = bufferization.alloc_tensor() : tensor<2xi32>
// CHECK: %[[C0:.+]] = bufferization.materialize_in_destination %[[K]] in %[[A0]]
// CHECK: %[[A1:.+]] = bufferization.alloc_tensor() : tensor<2xi32>
// CHECK: %[[C1:.+]] = bufferization.materialize_in_destination %[[K]] in %[[A1]]
// CHECK: return %[[C0]], %[[C1]] :
func.func @constant_twice() -> (tensor<2xi32>, tensor<2xi32>) {
  %k = arith.constant dense<[3, 4]> : tensor<2xi32>
  return %k, %k : tensor<2xi32>, tensor<2xi32>
}

// A reshape keeps the buffer of its source: the reshaped result comes
// first and stays, the source returned after it shares its buffer and is
// copied. A reshape of an argument is copied as the argument is.
// CHECK-LABEL: func.func @reshapes
// CHECK-SAME: (%[[X:[^:]+]]: tensor<2x4xf32>, %[[Y:[^:]+]]: tensor<8xf32>)
// CHECK: %[[N:.+]] = arith.negf %[[X]]
// CHECK: %[[R:.+]] = tensor.collapse_shape %[[N]]
// CHECK: %[[RY:.+]] = tensor.expand_shape %[[Y]]
// CHECK: %[[A0:.+]] = bufferization.alloc_tensor() : tensor<2x4xf32>
// CHECK: %[[C0:.+]] = bufferization.materialize_in_destination %[[N]] in %[[A0]]
// CHECK: %[[A1:.+]] = bufferization.alloc_tensor() : tensor<2x4xf32>
// CHECK: %[[C1:.+]] = bufferization.materialize_in_destination %[[RY]] in %[[A1]]
// CHECK: return %[[R]], %[[C0]], %[[C1]] :
func.func @reshapes(%x: tensor<2x4xf32>, %y: tensor<8xf32>) -> (tensor<8xf32>, tensor<2x4xf32>, tensor<2x4xf32>) {
  %n = arith.negf %x : tensor<2x4xf32>
  %r = tensor.collapse_shape %n [[0, 1]] : tensor<2x4xf32> into tensor<8xf32>
  %ry = tensor.expand_shape %y [[0, 1]] output_shape [2, 4] : tensor<8xf32> into tensor<2x4xf32>
  return %r, %n, %ry : tensor<8xf32>, tensor<2x4xf32>, tensor<2x4xf32>
}

// A slice may be strided: it is copied element by element (linalg.copy),
// whichever buffer it views, so that no memrefCopy call is needed.
// CHECK-LABEL: func.func @slices
// CHECK-SAME: (%[[X:[^:]+]]: tensor<2x4xf32>)
// CHECK: %[[N:.+]] = arith.negf %[[X]]
// CHECK: %[[S:.+]] = tensor.extract_slice %[[N]]
// CHECK: %[[T:.+]] = tensor.extract_slice %[[X]]
// CHECK: %[[A0:.+]] = bufferization.alloc_tensor() : tensor<2x2xf32>
// CHECK: %[[C0:.+]] = linalg.copy ins(%[[S]] : tensor<2x2xf32>) outs(%[[A0]] : tensor<2x2xf32>)
// CHECK: %[[A1:.+]] = bufferization.alloc_tensor() : tensor<2x2xf32>
// CHECK: %[[C1:.+]] = linalg.copy ins(%[[T]] : tensor<2x2xf32>) outs(%[[A1]] : tensor<2x2xf32>)
// CHECK: return %[[N]], %[[C0]], %[[C1]] :
func.func @slices(%x: tensor<2x4xf32>) -> (tensor<2x4xf32>, tensor<2x2xf32>, tensor<2x2xf32>) {
  %n = arith.negf %x : tensor<2x4xf32>
  %s = tensor.extract_slice %n[0, 1] [2, 2] [1, 1] : tensor<2x4xf32> to tensor<2x2xf32>
  %t = tensor.extract_slice %x[0, 1] [2, 2] [1, 1] : tensor<2x4xf32> to tensor<2x2xf32>
  return %n, %s, %t : tensor<2x4xf32>, tensor<2x2xf32>, tensor<2x2xf32>
}

// Dynamic sizes come from the value copied; non-tensor results stay.
// CHECK-LABEL: func.func @dynamic
// CHECK-SAME: (%[[X:[^:]+]]: tensor<?x4xf32>, %[[I:[^:]+]]: index)
// CHECK: %[[D:.+]] = tensor.dim %[[X]], %c0
// CHECK: %[[A:.+]] = bufferization.alloc_tensor(%[[D]]) : tensor<?x4xf32>
// CHECK: %[[C:.+]] = bufferization.materialize_in_destination %[[X]] in %[[A]]
// CHECK: return %[[C]], %[[I]] :
func.func @dynamic(%x: tensor<?x4xf32>, %i: index) -> (tensor<?x4xf32>, index) {
  return %x, %i : tensor<?x4xf32>, index
}

// Distinct computed results are left alone.
// CHECK-LABEL: func.func @distinct
// CHECK-NOT: bufferization
// CHECK: return
func.func @distinct(%x: tensor<2x4xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>) {
  %a = arith.negf %x : tensor<2x4xf32>
  %b = arith.addf %x, %x : tensor<2x4xf32>
  return %a, %b : tensor<2x4xf32>, tensor<2x4xf32>
}
