// RUN: nova-opt %s --split-input-file --convert-nova-to-linalg="parallel-tiles=2" | FileCheck %s

// Routing: softmax, top-k and gates in one loop over the tokens; the
// probabilities live in one row-sized scratch, never an [M, E] tensor.

// CHECK-LABEL: func.func @route
// CHECK-NOT: nova.
// CHECK: scf.for %[[T:.+]] = %{{.+}} to %c6{{(_[0-9]+)?}} step
// CHECK: math.exp
// CHECK: arith.divf
// The top-2 selection, inside the same token loop.
// CHECK: scf.for %{{.+}} = %{{.+}} to %c2{{(_[0-9]+)?}} step
// CHECK: tensor.insert %{{.+}} into %{{.+}}[%[[T]], %{{.+}}] : tensor<6x2xf32>
// CHECK: tensor.insert %{{.+}} into %{{.+}}[%[[T]], %{{.+}}] : tensor<6x2xi32>
// CHECK-NOT: linalg.generic
// CHECK-NOT: linalg.softmax
// CHECK: return
func.func @route(%router: tensor<6x8xf32>) -> (tensor<6x2xf32>, tensor<6x2xi32>) {
  %g, %i = nova.moe_route %router top 2 : tensor<6x8xf32> -> tensor<6x2xf32>, tensor<6x2xi32>
  return %g, %i : tensor<6x2xf32>, tensor<6x2xi32>
}

// -----

// Experts (prefill: 12 slots): the slots are grouped by expert (counting
// sort: counts, prefix sums, placement); each expert's slots go in blocks of
// at most 64 — an expert without slots has no block, so its weights are
// never read. Four weight rows at a time are dequantized once (linalg.map)
// and applied in one pass over the block's slots. No [E, K, N]-sized tensor
// of any other type exists.

// CHECK-LABEL: func.func @experts
// CHECK-NOT: nova.
// Counting sort of the slots by expert index.
// CHECK: linalg.fill ins(%{{.+}} : index) outs(%{{.+}} : tensor<6xindex>)
// CHECK: scf.for %{{.+}} = %{{.+}} to %c12{{(_[0-9]+)?}} step
// CHECK: scf.for %{{.+}} = %{{.+}} to %c5{{(_[0-9]+)?}} step
// CHECK: scf.for %{{.+}} = %{{.+}} to %c12{{(_[0-9]+)?}} step {{.+}} -> (tensor<12xindex>, tensor<6xindex>)
// The expert loop; an expert's blocks come from its slot count.
// CHECK: scf.for %[[E:.+]] = %{{.+}} to %c4{{(_[0-9]+)?}} step
// CHECK: %[[LO:.+]] = tensor.extract %{{.+}}[%[[E]]] : tensor<6xindex>
// CHECK: %[[HI:.+]] = tensor.extract %{{.+}}[%{{.+}}] : tensor<6xindex>
// CHECK: %[[N:.+]] = arith.subi %[[HI]], %[[LO]] : index
// CHECK: %[[BLOCKS:.+]] = arith.ceildivui %[[N]], %c64{{(_[0-9]+)?}} : index
// CHECK: scf.for %{{.+}} = %{{.+}} to %[[BLOCKS]] step
// CHECK: %[[BHI:.+]] = arith.minui %{{.+}}, %[[HI]] : index
// CHECK: scf.for %{{.+}} = %{{.+}} to %c16{{(_[0-9]+)?}} step
// CHECK: tensor.extract_slice %{{.+}}[%[[E]], %{{.+}}, %{{.+}}] [1, 1, 128] [1, 1, 1] : tensor<4x64x128xi8> to tensor<128xi8>
// Each row is dequantized by the split rounding when every scale allows it
// (checked once per call), exactly on the bits otherwise.
// CHECK: %[[R0:.+]] = scf.if %[[SPLIT:.+]] -> (tensor<128xf32>)
// CHECK: linalg.map ins(%{{.+}}, %{{.+}} : tensor<128xi8>, tensor<128xbf16>) outs(%{{.+}} : tensor<128xf32>)
// CHECK: math.fma
// CHECK: } else {
// CHECK: linalg.map ins(%{{.+}}, %{{.+}} : tensor<128xi8>, tensor<128xbf16>) outs(%{{.+}} : tensor<128xf32>)
// CHECK: arith.bitcast
// CHECK: %[[R1:.+]] = scf.if %[[SPLIT]] -> (tensor<128xf32>)
// CHECK: %[[R2:.+]] = scf.if %[[SPLIT]] -> (tensor<128xf32>)
// CHECK: %[[R3:.+]] = scf.if %[[SPLIT]] -> (tensor<128xf32>)
// CHECK: scf.for %{{.+}} = %{{.+}} to %[[BHI]] step
// CHECK: linalg.generic {{.+}} ins(%[[R0]], %[[R1]], %[[R2]], %[[R3]] : tensor<128xf32>, tensor<128xf32>, tensor<128xf32>, tensor<128xf32>)
// CHECK-COUNT-4: math.fma
// CHECK-NOT: tensor<4x64x128xf32>
// CHECK-NOT: tensor<4x64x128xbf16>
// CHECK: return
func.func @experts(%x: tensor<6x64xbf16>, %i: tensor<6x2xi32>, %wq: tensor<4x64x128xi8>, %ws: tensor<4x1x128xbf16>) -> tensor<6x2x128xbf16> {
  %h = nova.expert_qmatmul %x, %i, %wq, %ws layout <per_column>
      : tensor<6x64xbf16>, tensor<6x2xi32>, tensor<4x64x128xi8>, tensor<4x1x128xbf16> -> tensor<6x2x128xbf16>
  return %h : tensor<6x2x128xbf16>
}

// -----

// Experts (decode: 2 slots): each expert's weight is read only under an
// scf.if that its slot range is non-empty. An expert with one slot
// dequantizes eight rows inside one update of that slot's accumulators (one
// linalg.generic reading the int8 rows, no scratch row; one row at a time
// in the exact fallback); with several, each row is dequantized once
// (linalg.map) and applied to each slot.

// CHECK-LABEL: func.func @experts_decode
// CHECK-NOT: nova.
// CHECK: scf.for %[[E:.+]] = %{{.+}} to %c4{{(_[0-9]+)?}} step
// CHECK: %[[LO:.+]] = tensor.extract %{{.+}}[%[[E]]] : tensor<6xindex>
// CHECK: %[[HI:.+]] = tensor.extract %{{.+}}[%{{.+}}] : tensor<6xindex>
// CHECK: %[[ANY:.+]] = arith.cmpi ult, %[[LO]], %[[HI]] : index
// CHECK: scf.if %[[ANY]]
// CHECK: %[[NEXT:.+]] = arith.addi %[[LO]], %c1{{(_[0-9]+)?}} : index
// CHECK: %[[ONE:.+]] = arith.cmpi eq, %[[NEXT]], %[[HI]] : index
// CHECK: scf.if %[[ONE]]
// CHECK: scf.if %{{.+}} -> (tensor<2x128xf32>)
// CHECK: scf.for %{{.+}} = %{{.+}} to %c8{{(_[0-9]+)?}} step
// CHECK-NOT: linalg.map
// CHECK: linalg.generic {{.+}} ins(%{{.+}} : tensor<128xi8>, tensor<128xi8>, tensor<128xi8>, tensor<128xi8>, tensor<128xi8>, tensor<128xi8>, tensor<128xi8>, tensor<128xi8>, tensor<128xbf16>) outs(%{{.+}} : tensor<128xf32>)
// CHECK-COUNT-16: math.fma
// CHECK: } else {
// CHECK: scf.for %{{.+}} = %{{.+}} to %c64{{(_[0-9]+)?}} step
// CHECK-NOT: linalg.map
// CHECK: linalg.generic {{.+}} ins(%{{.+}}, %{{.+}} : tensor<128xi8>, tensor<128xbf16>) outs(%{{.+}} : tensor<128xf32>)
// CHECK: math.fma
// CHECK: } else {
// CHECK: scf.for %[[K:.+]] = %{{.+}} to %c64{{(_[0-9]+)?}} step
// CHECK: tensor.extract_slice %{{.+}}[%[[E]], %[[K]], %{{.+}}] [1, 1, 128] [1, 1, 1] : tensor<4x64x128xi8> to tensor<128xi8>
// CHECK: %[[ROW:.+]] = scf.if
// CHECK: linalg.map ins(%{{.+}}, %{{.+}} : tensor<128xi8>, tensor<128xbf16>) outs(%{{.+}} : tensor<128xf32>)
// CHECK: scf.for %{{.+}} = %[[LO]] to %[[HI]] step
// CHECK: linalg.generic {{.+}} ins(%[[ROW]] : tensor<128xf32>)
// CHECK: math.fma
// CHECK-NOT: tensor<4x64x128xf32>
// CHECK-NOT: tensor<4x64x128xbf16>
// CHECK: return
func.func @experts_decode(%x: tensor<1x64xbf16>, %i: tensor<1x2xi32>, %wq: tensor<4x64x128xi8>, %ws: tensor<4x1x128xbf16>) -> tensor<1x2x128xbf16> {
  %h = nova.expert_qmatmul %x, %i, %wq, %ws layout <per_column>
      : tensor<1x64xbf16>, tensor<1x2xi32>, tensor<4x64x128xi8>, tensor<4x1x128xbf16> -> tensor<1x2x128xbf16>
  return %h : tensor<1x2x128xbf16>
}

// -----

// Combine: the gated sum over the k slots is one reduction that writes each
// output element once.

// CHECK-LABEL: func.func @combine
// CHECK: %[[SUM:.+]] = linalg.generic {{.+}}iterator_types = ["parallel", "parallel", "reduction"]
// CHECK-SAME: outs(%{{.+}} : tensor<6x64xf32>)
// CHECK: linalg.generic {{.+}} ins(%[[SUM]] : tensor<6x64xf32>) outs(%{{.+}} : tensor<6x64xbf16>)
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @combine(%o: tensor<6x2x64xf32>, %g: tensor<6x2xf32>) -> tensor<6x64xbf16> {
  %y = nova.moe_combine %o, %g : tensor<6x2x64xf32>, tensor<6x2xf32> -> tensor<6x64xbf16>
  return %y : tensor<6x64xbf16>
}

// -----

// Padding mask and forced routes: per token an scf.if on its mask entry;
// a masked token writes -1 and 0 to its slots without reading its logits.
// A real token's forced experts replace the top-k scans: one pass over its
// k slots reads the forced id, keeps ids in [0, E) (others become -1 with
// gate 0) and sums their probabilities in f64 for the renormalization,
// which leaves the slots of no expert at 0.

// CHECK-LABEL: func.func @route_masked_forced
// CHECK-NOT: nova.
// CHECK: scf.for %[[T:.+]] = %{{.+}} to %c6{{(_[0-9]+)?}} step
// CHECK: %[[M:.+]] = tensor.extract %{{.+}}[%[[T]]] : tensor<6xi1>
// CHECK: %[[REAL:.+]] = arith.cmpi ne, %[[M]], %{{.+}} : i1
// CHECK: scf.if %[[REAL]]
// CHECK: math.exp
// CHECK: scf.for %{{.+}} = %{{.+}} to %c2{{(_[0-9]+)?}} step
// CHECK: %[[ID:.+]] = tensor.extract %{{.+}}[%[[T]], %{{.+}}] : tensor<6x2xi32>
// CHECK: arith.cmpi sge, %[[ID]]
// CHECK: arith.cmpi slt, %[[ID]], %c8_i32
// CHECK: arith.select %{{.+}}, %[[ID]], %c-1_i32 : i32
// CHECK-NOT: tensor<8xi1>
// CHECK: arith.divf
// CHECK: } else {
// CHECK-NOT: math.exp
// CHECK: tensor.insert %c-1_i32{{.*}} into %{{.+}}[%[[T]], %{{.+}}] : tensor<6x2xi32>
// CHECK: return
func.func @route_masked_forced(%router: tensor<6x8xf32>, %pad: tensor<6xi1>, %rec: tensor<6x2xi32>) -> (tensor<6x2xf32>, tensor<6x2xi32>) {
  %g, %i = nova.moe_route %router top 2 mask(%pad : tensor<6xi1>) forced(%rec : tensor<6x2xi32>) renormalize
      : tensor<6x8xf32> -> tensor<6x2xf32>, tensor<6x2xi32>
  return %g, %i : tensor<6x2xf32>, tensor<6x2xi32>
}

// -----

// Expert -1 (no expert): the counting sort sends every id outside [0, E)
// to bucket E = 4, and the expert loop runs over [0, 4) only, so those
// slots read neither their input row nor a weight; their rows stay zero.

// CHECK-LABEL: func.func @experts_none
// CHECK: scf.for %{{.+}} = %{{.+}} to %c6{{(_[0-9]+)?}} step
// CHECK: %[[E:.+]] = arith.index_cast %{{.+}} : i32 to index
// CHECK: %[[GE:.+]] = arith.cmpi sge, %[[E]], %{{.+}} : index
// CHECK: %[[LT:.+]] = arith.cmpi slt, %[[E]], %[[C4:c4(_[0-9]+)?]] : index
// CHECK: %[[OK:.+]] = arith.andi %[[GE]], %[[LT]] : i1
// CHECK: arith.select %[[OK]], %[[E]], %c4{{(_[0-9]+)?}} : index
// The experts: the bucket of index 4 is never visited.
// CHECK: linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<6x128xf32>)
// CHECK: scf.for %{{.+}} = %{{.+}} to %c4{{(_[0-9]+)?}} step
// CHECK-NOT: to %c5
// CHECK: return
func.func @experts_none(%x: tensor<3x64xbf16>, %i: tensor<3x2xi32>, %wq: tensor<4x64x128xi8>, %ws: tensor<4x1x128xbf16>) -> tensor<3x2x128xbf16> {
  %h = nova.expert_qmatmul %x, %i, %wq, %ws layout <per_column>
      : tensor<3x64xbf16>, tensor<3x2xi32>, tensor<4x64x128xi8>, tensor<4x1x128xbf16> -> tensor<3x2x128xbf16>
  return %h : tensor<3x2x128xbf16>
}
