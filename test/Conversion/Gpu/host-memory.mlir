// RUN: nova-opt %s --split-input-file --verify-diagnostics --nova-gpu-host-memory | FileCheck %s

// Host buffers become managed memory (freed asynchronously on a stream that
// is waited on); a global a kernel reads is copied into managed memory and
// freed before the return; kernel scratch becomes a stack buffer at the top
// of the launch body, its deallocation gone.
// CHECK-LABEL: func.func @buffers
// CHECK: %[[G:.*]] = memref.get_global @table
// CHECK: %[[GC:.*]] = gpu.alloc host_shared () : memref<4xf32>
// CHECK: memref.copy %[[G]], %[[GC]]
// CHECK: %[[A:.*]] = gpu.alloc host_shared () : memref<4xf32>
// CHECK: gpu.launch
// CHECK-NEXT: %[[S:.*]] = memref.alloca() {alignment = 64 : i64} : memref<16xf32>
// CHECK-NOT: memref.dealloc
// CHECK: memref.load %[[GC]]
// CHECK: memref.store %{{.*}}, %[[A]]
// CHECK: gpu.terminator
// CHECK: memref.load %[[A]]
// CHECK: %[[T0:.*]] = gpu.wait async
// CHECK: %[[T1:.*]] = gpu.dealloc async [%[[T0]]] %[[A]]
// CHECK: gpu.wait [%[[T1]]]
// CHECK: gpu.dealloc async [%{{.*}}] %[[GC]]
// CHECK: return
memref.global "private" constant @table : memref<4xf32> = dense<[1.0, 2.0, 3.0, 4.0]>
func.func @buffers(%out: memref<f32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %g = memref.get_global @table : memref<4xf32>
  %a = memref.alloc() : memref<4xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%x = %c1, %y = %c1, %z = %c1)
             threads(%tx, %ty, %tz) in (%u = %c1, %v = %c1, %w = %c1) {
    %s = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
    %e = memref.load %g[%tx] : memref<4xf32>
    memref.store %e, %s[%tx] : memref<16xf32>
    memref.store %e, %a[%tx] : memref<4xf32>
    memref.dealloc %s : memref<16xf32>
    gpu.terminator
  }
  %r = memref.load %a[%c0] : memref<4xf32>
  memref.store %r, %out[] : memref<f32>
  memref.dealloc %a : memref<4xf32>
  return
}

// -----

// The GPU cannot reach the host stack, nor allocate a dynamic size.
func.func @stack(%n: index) {
  %c1 = arith.constant 1 : index
  // expected-error @below {{is a host stack buffer that a GPU kernel uses}}
  %a = memref.alloca() : memref<4xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%x = %c1, %y = %c1, %z = %c1)
             threads(%tx, %ty, %tz) in (%u = %c1, %v = %c1, %w = %c1) {
    %e = memref.load %a[%tx] : memref<4xf32>
    gpu.terminator
  }
  return
}

// -----

func.func @dynamic(%n: index) {
  %c1 = arith.constant 1 : index
  gpu.launch blocks(%bx, %by, %bz) in (%x = %c1, %y = %c1, %z = %c1)
             threads(%tx, %ty, %tz) in (%u = %c1, %v = %c1, %w = %c1) {
    // expected-error @below {{is a buffer of dynamic size inside a GPU kernel}}
    %s = memref.alloc(%n) : memref<?xf32>
    gpu.terminator
  }
  return
}
