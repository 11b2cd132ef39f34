// arith.divsi at the element type: the type's minimum over -1 and a zero
// divisor are errors (LLVM's sdiv is undefined there and x86 traps), never a
// silently wrapped quotient; 0 / -1 in i32 is 0.
// RUN: nova-run %s --entry=ok | FileCheck %s
// RUN: not nova-run %s --entry=min 2>&1 | FileCheck %s --check-prefix=MIN
// RUN: not nova-run %s --entry=zero 2>&1 | FileCheck %s --check-prefix=ZERO
// RUN: not nova-run %s --entry=min8 2>&1 | FileCheck %s --check-prefix=MIN8
// Compiled code would trap (SIGFPE) where the interpreter reports an error:
// the CPU backend refuses each division that may, at the op, and compiles
// the one whose constants are safe (@ok: -1 never meets the minimum).
// RUN: not nova-run %s --entry=ok --backend cpu 2>&1 | FileCheck %s --check-prefix=CPU
// CPU: error: 'arith.divsi' op cannot be compiled for the CPU: its divisor holds -1, whose quotient of the type's minimum does not fit
// CPU: error: 'arith.divsi' op cannot be compiled for the CPU: its divisor holds a zero
// CPU: error: 'arith.divsi' op cannot be compiled for the CPU: its divisor holds -1
// CPU-NOT: 'arith.divsi'
// CPU: nova-run: error: nova-cpu-pipeline failed

// CHECK: q = i32[3] [0, -7, 100]
func.func @ok() -> (tensor<3xi32> {nova.name = "q"}) {
  %n = arith.constant dense<[0, 7, -100]> : tensor<3xi32>
  %d = arith.constant dense<-1> : tensor<3xi32>
  %q = arith.divsi %n, %d : tensor<3xi32>
  return %q : tensor<3xi32>
}

// MIN: integer division overflow (-2147483648 / -1) at element 1
func.func @min() -> (tensor<2xi32> {nova.name = "q"}) {
  %n = arith.constant dense<[4, -2147483648]> : tensor<2xi32>
  %d = arith.constant dense<-1> : tensor<2xi32>
  %q = arith.divsi %n, %d : tensor<2xi32>
  return %q : tensor<2xi32>
}

// ZERO: integer division by zero at element 0
func.func @zero() -> (tensor<2xi32> {nova.name = "q"}) {
  %n = arith.constant dense<[4, 5]> : tensor<2xi32>
  %d = arith.constant dense<[0, 1]> : tensor<2xi32>
  %q = arith.divsi %n, %d : tensor<2xi32>
  return %q : tensor<2xi32>
}

// MIN8: integer division overflow (-128 / -1) at element 0
func.func @min8() -> (tensor<1xi8> {nova.name = "q"}) {
  %n = arith.constant dense<-128> : tensor<1xi8>
  %d = arith.constant dense<-1> : tensor<1xi8>
  %q = arith.divsi %n, %d : tensor<1xi8>
  return %q : tensor<1xi8>
}
