// The upstream ops the spec importer emits, run on the interpreter and
// checked against hand-computed values.
// RUN: nova-run %s | FileCheck %s

// CHECK: sum = f32[4] [3.5, 0, 5, 2.1]
// CHECK-NEXT: prod = f32[4] [5.25, -0, 15, 0.21]
// CHECK-NEXT: max = f32[4] [5.25, 2, 15, 2]
// 0.1 in bf16 is 0.10009765625; 1.00390625 is a tie between 1 and
// 1.0078125 and rounds to the even 1; bf16(78.3837) = 78.5.
// CHECK-NEXT: bf = bf16[4] [1.5, -2, 3, 0.100098]
// CHECK-NEXT: ext = f32[2] [1, 78.5]
// CHECK-NEXT: trunc = i32[4] [1, -2, 3, 0]
// CHECK-NEXT: quot = i32[4] [3, -3, -2, 33]
// CHECK-NEXT: narrow = i8[4] [7, -7, 9, 44]
// CHECK-NEXT: wide = i64[4] [7, -7, 9, 300]
// CHECK-NEXT: mx = i32[4] [7, 2, 9, 300]
// CHECK-NEXT: float = f32[4] [7, -7, 9, 300]
// CHECK-NEXT: col = f32[2] [-2, 0.1]
// CHECK-NEXT: put = f32[2, 2] [1.5, 9, 3, 9]
// CHECK-NEXT: flat = f32[4] [1.5, 9, 3, 9]
func.func @forward() -> (tensor<4xf32> {nova.name = "sum"},
                         tensor<4xf32> {nova.name = "prod"},
                         tensor<4xf32> {nova.name = "max"},
                         tensor<4xbf16> {nova.name = "bf"},
                         tensor<2xf32> {nova.name = "ext"},
                         tensor<4xi32> {nova.name = "trunc"},
                         tensor<4xi32> {nova.name = "quot"},
                         tensor<4xi8> {nova.name = "narrow"},
                         tensor<4xi64> {nova.name = "wide"},
                         tensor<4xi32> {nova.name = "mx"},
                         tensor<4xf32> {nova.name = "float"},
                         tensor<2xf32> {nova.name = "col"},
                         tensor<2x2xf32> {nova.name = "put"},
                         tensor<4xf32> {nova.name = "flat"}) {
  %a = arith.constant dense<[1.5, -2.0, 3.0, 0.1]> : tensor<4xf32>
  %two = arith.constant dense<2.0> : tensor<4xf32>
  %sum = arith.addf %a, %two : tensor<4xf32>
  %prod = arith.mulf %sum, %a : tensor<4xf32>
  %max = arith.maximumf %prod, %two : tensor<4xf32>
  %bf = arith.truncf %a : tensor<4xf32> to tensor<4xbf16>
  %e = arith.constant dense<[1.00390625, 78.38367176906169]> : tensor<2xf32>
  %eb = arith.truncf %e : tensor<2xf32> to tensor<2xbf16>
  %ext = arith.extf %eb : tensor<2xbf16> to tensor<2xf32>
  %trunc = arith.fptosi %a : tensor<4xf32> to tensor<4xi32>
  %n = arith.constant dense<[7, -7, 9, 100]> : tensor<4xi32>
  %d = arith.constant dense<[2, 2, -4, 3]> : tensor<4xi32>
  %quot = arith.divsi %n, %d : tensor<4xi32>
  %m = arith.constant dense<[7, -7, 9, 300]> : tensor<4xi32>
  %narrow = arith.trunci %m : tensor<4xi32> to tensor<4xi8>
  %wide = arith.extsi %m : tensor<4xi32> to tensor<4xi64>
  %twoi = arith.constant dense<2> : tensor<4xi32>
  %mx = arith.maxsi %m, %twoi : tensor<4xi32>
  %float = arith.sitofp %m : tensor<4xi32> to tensor<4xf32>
  %sq = tensor.expand_shape %a [[0, 1]] output_shape [2, 2] : tensor<4xf32> into tensor<2x2xf32>
  %col = tensor.extract_slice %sq[0, 1] [2, 1] [1, 1] : tensor<2x2xf32> to tensor<2xf32>
  %nine = arith.constant dense<9.0> : tensor<2xf32>
  %put = tensor.insert_slice %nine into %sq[0, 1] [2, 1] [1, 1] : tensor<2xf32> into tensor<2x2xf32>
  %flat = tensor.collapse_shape %put [[0, 1]] : tensor<2x2xf32> into tensor<4xf32>
  return %sum, %prod, %max, %bf, %ext, %trunc, %quot, %narrow, %wide, %mx, %float, %col, %put, %flat
      : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xbf16>, tensor<2xf32>, tensor<4xi32>,
        tensor<4xi32>, tensor<4xi8>, tensor<4xi64>, tensor<4xi32>, tensor<4xf32>, tensor<2xf32>,
        tensor<2x2xf32>, tensor<4xf32>
}
