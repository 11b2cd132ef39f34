// RUN: nova-opt %s --split-input-file --nova-check-cpu-input --verify-diagnostics | FileCheck %s
// RUN: not nova-opt %s --split-input-file --nova-check-cpu-input="max-constant-bytes=16" 2>&1 | FileCheck %s --check-prefix=SMALL
// Compiled code traps on an integer division by zero and on the minimum
// over -1: a divisor that may be either is refused at the op (the
// interpreter runs such a module and reports the failing element).

// CHECK-LABEL: func @safe
// CHECK-COUNT-3: arith.
func.func @safe(%x: tensor<4xi32>, %i: index) -> (tensor<4xi32>, tensor<4xi32>, index) {
  %c = arith.constant dense<[1, 2, -3, 7]> : tensor<4xi32>
  %q = arith.divsi %x, %c : tensor<4xi32>
  %u = arith.constant dense<[1, 2, 4294967295, 7]> : tensor<4xi32>
  %r = arith.remui %x, %u : tensor<4xi32>
  // Index arithmetic is the compiler's own.
  %j = arith.divsi %i, %i : index
  return %q, %r, %j : tensor<4xi32>, tensor<4xi32>, index
}

// A 32-byte table: under the default limit, over a 16-byte one.
func.func @table() -> tensor<8xi32> {
  %c = arith.constant dense<[1, 2, 3, 4, 5, 6, 7, 8]> : tensor<8xi32>
  return %c : tensor<8xi32>
}

// -----

func.func @dynamic(%x: tensor<4xi32>, %d: tensor<4xi32>) -> tensor<4xi32> {
  // expected-error @+1 {{'arith.divsi' op cannot be compiled for the CPU: its divisor is not a constant, so it may be zero}}
  %q = arith.divsi %x, %d : tensor<4xi32>
  return %q : tensor<4xi32>
}

// -----

func.func @zero(%x: i64) -> i64 {
  %c = arith.constant 0 : i64
  // expected-error @+1 {{'arith.remui' op cannot be compiled for the CPU: its divisor holds a zero}}
  %r = arith.remui %x, %c : i64
  return %r : i64
}

// -----

func.func @minus_one(%x: tensor<2xi8>) -> tensor<2xi8> {
  %c = arith.constant dense<[3, -1]> : tensor<2xi8>
  // expected-error @+1 {{'arith.floordivsi' op cannot be compiled for the CPU: its divisor holds -1}}
  %q = arith.floordivsi %x, %c : tensor<2xi8>
  return %q : tensor<2xi8>
}

// -----

func.func @huge_splat() -> tensor<4294967296x4294967296xf32> {
  // expected-error @+1 {{'arith.constant' op cannot be compiled for the CPU: a constant of more than 2^63 bytes is over the limit of 1073741824 bytes}}
  %c = arith.constant dense<1.0> : tensor<4294967296x4294967296xf32>
  return %c : tensor<4294967296x4294967296xf32>
}

// -----

func.func @eight_gib() -> tensor<2147483648xf32> {
  // expected-error @+1 {{'arith.constant' op cannot be compiled for the CPU: a constant of 8589934592 bytes is over the limit of 1073741824 bytes}}
  %c = arith.constant dense<1.0> : tensor<2147483648xf32>
  return %c : tensor<2147483648xf32>
}

// SMALL: error: 'arith.constant' op cannot be compiled for the CPU: a constant of 32 bytes is over the limit of 16 bytes
