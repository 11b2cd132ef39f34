// RUN: nova-opt %s --split-input-file --nova-declare-cpu-tier-functions --convert-nova-to-linalg="bf16-dot=1" | FileCheck %s
// RUN: nova-opt %s --split-input-file --convert-nova-to-linalg | FileCheck %s --check-prefix=OFF
// RUN: not nova-opt %s --split-input-file --convert-nova-to-linalg="bf16-dot=1" 2>&1 | FileCheck %s --check-prefix=UNDECLARED

// A multi-row qmatmul of bf16 x and bf16 scales with bf16-dot: the check
// once per call (the tier's answer, the scales' split bound, the smallest
// exponents of x and of the scales), x packed in bf16 pairs, and (in each
// column tile; here one) the paired-row schedule under that check, the f32
// schedule otherwise.
// The schedule's panel holds 64 row pairs of the tile; the micro-kernel
// updates 4 rows x 4 chunks of 16 accumulators (vectors carried by the loop
// over the panel's pairs), one tier dot product each per pair.

// CHECK-LABEL: func.func private @__nova_cpu_has_bf16_dot() -> i1
// CHECK-LABEL: func.func private @__nova_cpu_dot_bf16_pairs(vector<16xf32>, vector<16xi32>, vector<16xi32>) -> vector<16xf32>
// CHECK-LABEL: func.func @prefill
// CHECK: %[[TIER:.+]] = call @__nova_cpu_has_bf16_dot() : () -> i1
// CHECK: arith.cmpi sge, %{{.+}}, %c142_i32 : i32
// CHECK: %[[WITH:.+]] = arith.andi %[[TIER]], %{{.+}} : i1
// CHECK: %[[PAIRED:.+]] = arith.andi %[[WITH]], %{{.+}} : i1
// CHECK: linalg.generic {indexing_maps = [#{{.+}}, #{{.+}}, #{{.+}}]{{.*}} ins(%{{.+}}, %{{.+}} : tensor<64x256xbf16>, tensor<64x256xbf16>) outs(%{{.+}} : tensor<64x128xi32>)
// CHECK: arith.shli
// CHECK: arith.ori
// CHECK: scf.if %[[PAIRED]] -> (tensor<64x512xf32>)
// CHECK: tensor.empty() : tensor<64x512xi32>
// CHECK: linalg.map
// CHECK: arith.andi %{{.+}}, %c-65536_i32 : i32
// CHECK: scf.for {{.+}} iter_args({{.+}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK-COUNT-16: func.call @__nova_cpu_dot_bf16_pairs
// CHECK: } else {
// CHECK-NOT: __nova_cpu_dot_bf16_pairs
// CHECK: math.fma
// OFF-LABEL: func.func @prefill
// OFF-NOT: __nova_cpu
// OFF-NOT: vector.
// OFF-LABEL: func.func @f32x
// UNDECLARED: error: convert-nova-to-linalg{bf16-dot=1}: '__nova_cpu_has_bf16_dot' is not declared (run nova-declare-cpu-tier-functions)
func.func @prefill(%x: tensor<64x256xbf16>, %q: tensor<256x512xi8>, %s: tensor<2x512xbf16>) -> tensor<64x512xf32> {
  %y = nova.qmatmul %x, %q, %s layout <row_blocks = 2>
      : tensor<64x256xbf16>, tensor<256x512xi8>, tensor<2x512xbf16> -> tensor<64x512xf32>
  return %y : tensor<64x512xf32>
}

// -----

// f32 x: the products are not bf16 pairs, the schedule does not apply.
// CHECK-LABEL: func.func @f32x
// CHECK-NOT: __nova_cpu_dot_bf16_pairs
func.func @f32x(%x: tensor<64x256xf32>, %q: tensor<256x512xi8>, %s: tensor<2x512xbf16>) -> tensor<64x512xf32> {
  %y = nova.qmatmul %x, %q, %s layout <row_blocks = 2>
      : tensor<64x256xf32>, tensor<256x512xi8>, tensor<2x512xbf16> -> tensor<64x512xf32>
  return %y : tensor<64x512xf32>
}
