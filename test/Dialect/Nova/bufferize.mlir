// RUN: nova-opt %s --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" -split-input-file | FileCheck %s
// RUN: nova-opt %s --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --buffer-deallocation-pipeline -split-input-file | FileCheck %s --check-prefix=DEALLOC

// The collectives bufferize to their buffer form: the input's buffer is
// read as it is (never copied or written), the result is a new identity-
// layout allocation passed as `into`, which later ops may update in place.

nova.mesh @mesh ["model" = 2]

// CHECK-LABEL: func.func @all_reduce
// CHECK-SAME: (%[[X:.+]]: memref<4x8xf32>, %[[COMM:.+]]: i32) -> (memref<4x8xf32>, memref<4x8xf32>)
// CHECK: %[[Y:.+]] = memref.alloc() {{.*}}: memref<4x8xf32>
// CHECK-NOT: memref.copy
// CHECK: nova.all_reduce %[[X]], %[[COMM]] over @mesh ["model"] into %[[Y]] : memref<4x8xf32>, memref<4x8xf32>
// CHECK-NOT: memref.alloc
// CHECK: linalg.fill ins(%{{.+}} : f32) outs(%[[Y]] : memref<4x8xf32>)
// CHECK: return %[[X]], %[[Y]]
//
// Deallocation accepts the ops and frees nothing the caller gets back.
// DEALLOC-LABEL: func.func @all_reduce
// DEALLOC: nova.all_reduce
// DEALLOC-NOT: memref.dealloc
// DEALLOC: return
func.func @all_reduce(%x: tensor<4x8xf32>, %comm: i32) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %y = nova.all_reduce %x, %comm over @mesh ["model"] : tensor<4x8xf32> -> tensor<4x8xf32>
  %zero = arith.constant 0.0 : f32
  %z = linalg.fill ins(%zero : f32) outs(%y : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %x, %z : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

nova.mesh @mesh ["model" = 2]

// An input that is itself a slice is read through its (strided) view; the
// lowering stages it when MPI needs a dense block.
// CHECK-LABEL: func.func @all_gather
// CHECK-SAME: (%[[X:.+]]: memref<4x8xbf16>, %[[COMM:.+]]: i32) -> memref<2x16xbf16>
// CHECK: %[[VIEW:.+]] = memref.subview %[[X]][0, 0] [2, 8] [2, 1] : memref<4x8xbf16> to memref<2x8xbf16, strided<[16, 1]>>
// CHECK: %[[Y:.+]] = memref.alloc() {{.*}}: memref<2x16xbf16>
// CHECK: nova.all_gather %[[VIEW]], %[[COMM]] over @mesh ["model"] dim 1 into %[[Y]] : memref<2x8xbf16, strided<[16, 1]>>, memref<2x16xbf16>
// CHECK: return %[[Y]]
//
// DEALLOC-LABEL: func.func @all_gather
// DEALLOC: nova.all_gather
// DEALLOC: return
func.func @all_gather(%x: tensor<4x8xbf16>, %comm: i32) -> tensor<2x16xbf16> {
  %s = tensor.extract_slice %x[0, 0] [2, 8] [2, 1] : tensor<4x8xbf16> to tensor<2x8xbf16>
  %y = nova.all_gather %s, %comm over @mesh ["model"] dim 1 : tensor<2x8xbf16> -> tensor<2x16xbf16>
  return %y : tensor<2x16xbf16>
}

// -----

nova.mesh @mesh ["model" = 2]

// A partial sum that only feeds the all-reduce is freed after it.
// DEALLOC-LABEL: func.func @partial
// DEALLOC: %[[P:.+]] = memref.alloc() {{.*}}: memref<4xf32>
// DEALLOC: nova.all_reduce %[[P]], %{{.+}} over @mesh ["model"] into %[[Y:[^ ]+]]
// DEALLOC: memref.dealloc %[[P]]
// DEALLOC: return %[[Y]]
func.func @partial(%x: tensor<4xf32> {bufferization.writable = false}, %comm: i32) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  %p = linalg.add ins(%x, %x : tensor<4xf32>, tensor<4xf32>) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %y = nova.all_reduce %p, %comm over @mesh ["model"] : tensor<4xf32> -> tensor<4xf32>
  return %y : tensor<4xf32>
}
