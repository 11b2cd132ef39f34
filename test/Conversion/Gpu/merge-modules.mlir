// RUN: nova-opt %s --nova-merge-gpu-modules | FileCheck %s
// RUN: nova-opt %s --nova-merge-gpu-modules='module-name=kernels' | FileCheck %s --check-prefix=NAMED

// Every outlined kernel lands in one module, named after the module it came
// from; helpers get that name as a prefix; launches follow.
// CHECK: gpu.module @nova_kernels {
// CHECK-DAG: gpu.func @f_kernel(
// CHECK-DAG: func.func @f_kernel_0__helper(
// CHECK-DAG: gpu.func @f_kernel_0(
// CHECK-NEXT: func.call @f_kernel_0__helper()
// CHECK-NOT: gpu.module
// CHECK: gpu.launch_func @nova_kernels::@f_kernel
// CHECK: gpu.launch_func @nova_kernels::@f_kernel_0
// NAMED: gpu.module @kernels
// NAMED: gpu.launch_func @kernels::@f_kernel_0
module attributes {gpu.container_module} {
  gpu.module @f_kernel {
    gpu.func @f_kernel(%a: memref<4xf32>) kernel {
      gpu.return
    }
  }
  gpu.module @f_kernel_0 {
    func.func @helper() {
      return
    }
    gpu.func @f_kernel(%a: memref<4xf32>) kernel {
      func.call @helper() : () -> ()
      gpu.return
    }
  }
  func.func @f(%a: memref<4xf32>) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @f_kernel::@f_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<4xf32>)
    gpu.launch_func @f_kernel_0::@f_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<4xf32>)
    return
  }
}
