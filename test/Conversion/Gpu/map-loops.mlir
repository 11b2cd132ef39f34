// RUN: nova-opt %s --pass-pipeline='builtin.module(func.func(nova-gpu-map-loops{block-size=128}))' | FileCheck %s
// RUN: not nova-opt %s --pass-pipeline='builtin.module(func.func(nova-gpu-map-loops{block-size=0}))' 2>&1 | FileCheck %s --check-prefix=BAD

// The last (contiguous) dimension is tiled by the block and goes to thread
// x; its tiles to block x, the first other dimension to block y.
// CHECK-LABEL: func.func @rows
// CHECK-DAG: %[[T:.*]] = arith.constant 128 : index
// CHECK: %[[STEP:.*]] = arith.muli %{{.*}}, %[[T]] : index
// CHECK: scf.parallel (%{{.*}}, %{{.*}}) = {{.*}} to (%c8, %c1000) step (%{{.*}}, %[[STEP]])
// CHECK: scf.parallel (%{{.*}}, %{{.*}}) = {{.*}} to (%{{.*}}, %[[STEP]]) step
// CHECK: arith.cmpi ult, %{{.*}}, %c1000
// CHECK: scf.if
// CHECK: memref.store
// CHECK: {mapping = [#gpu.loop_dim_map<processor = sequential, map = (d0) -> (d0), bound = (d0) -> (d0)>, #gpu.loop_dim_map<processor = thread_x, map = (d0) -> (d0), bound = (d0) -> (d0)>]}
// CHECK: {mapping = [#gpu.loop_dim_map<processor = block_y, map = (d0) -> (d0), bound = (d0) -> (d0)>, #gpu.loop_dim_map<processor = block_x, map = (d0) -> (d0), bound = (d0) -> (d0)>]}
func.func @rows(%b: memref<8x1000xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %n = arith.constant 1000 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c8, %n) step (%c1, %c1) {
    %v = memref.load %b[%i, %j] : memref<8x1000xf32>
    memref.store %v, %b[%i, %j] : memref<8x1000xf32>
  }
  return
}

// A last dimension shorter than a block gets whole warps (40 -> 64 threads);
// a nested parallel loop runs in sequence inside the thread.
// CHECK-LABEL: func.func @short
// CHECK: arith.constant 64 : index
// CHECK: processor = sequential
// CHECK: processor = thread_x
// CHECK: processor = block_x
func.func @short(%b: memref<40x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %c40 = arith.constant 40 : index
  scf.parallel (%i) = (%c0) to (%c40) step (%c1) {
    scf.parallel (%j) = (%c0) to (%c16) step (%c1) {
      %v = memref.load %b[%i, %j] : memref<40x16xf32>
      memref.store %v, %b[%i, %j] : memref<40x16xf32>
    }
  }
  return
}

// BAD: nova-gpu-map-loops: block-size must be in 1..1024, got 0
