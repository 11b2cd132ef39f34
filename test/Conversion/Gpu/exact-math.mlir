// RUN: nova-opt %s --pass-pipeline='builtin.module(gpu.module(nova-gpu-exact-math))' | FileCheck %s

// Scalar f32/f64 sqrt and rsqrt become the correctly rounded NVVM sqrt (and
// an IEEE division); other types stay for libdevice.
// CHECK-LABEL: gpu.func @roots
// CHECK: %[[S:.*]] = llvm.call_intrinsic "llvm.nvvm.sqrt.rn.f"(%{{.*}}) : (f32) -> f32
// CHECK: %[[R:.*]] = llvm.call_intrinsic "llvm.nvvm.sqrt.rn.f"(%{{.*}}) : (f32) -> f32
// CHECK: arith.divf %{{.*}}, %[[R]] : f32
// CHECK: llvm.call_intrinsic "llvm.nvvm.sqrt.rn.d"(%{{.*}}) : (f64) -> f64
// CHECK: math.sqrt %{{.*}} : vector<4xf32>
// CHECK-NOT: math.rsqrt %{{.*}} : f32
gpu.module @k {
  gpu.func @roots(%a: f32, %b: f64, %v: vector<4xf32>, %o: memref<f32>,
                  %p: memref<f64>, %q: memref<vector<4xf32>>) kernel {
    %s = math.sqrt %a : f32
    %r = math.rsqrt %s : f32
    %d = math.sqrt %b : f64
    %w = math.sqrt %v : vector<4xf32>
    memref.store %r, %o[] : memref<f32>
    memref.store %d, %p[] : memref<f64>
    memref.store %w, %q[] : memref<vector<4xf32>>
    gpu.return
  }
}
