// RUN: nova-opt %s --split-input-file --convert-nova-to-linalg | FileCheck %s --check-prefix=DEFAULT
// RUN: nova-opt %s --split-input-file --convert-nova-to-linalg="parallel-tiles=4" | FileCheck %s --check-prefix=FOUR
// RUN: nova-opt %s --split-input-file --convert-nova-to-linalg="parallel-tiles=1" | FileCheck %s --check-prefix=ONE
// RUN: nova-opt %s --split-input-file --convert-nova-to-linalg="parallel-work=1073741824" | FileCheck %s --check-prefix=ONE
// RUN: nova-opt %s --split-input-file --convert-nova-to-linalg="parallel-sample-work=200" | FileCheck %s --check-prefix=ROWS
// RUN: nova-opt %s --split-input-file --nova-cpu-pipeline | FileCheck %s --check-prefix=PIPE2
// RUN: nova-opt %s --split-input-file --nova-cpu-pipeline="parallel-tiles=4" | FileCheck %s --check-prefix=PIPE4
// RUN: nova-opt %s --split-input-file --nova-cpu-pipeline="parallel-tiles=4 parallel-work=1 parallel-sample-work=2" --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=DUMP
// RUN: not nova-opt %s --split-input-file --convert-nova-to-linalg="parallel-tiles=0" 2>&1 | FileCheck %s --check-prefix=ZERO

// The schedule is a function of the pass options alone (fixed defaults,
// never the compiling machine's core count; 2 tiles by default): `parallel-tiles` is the
// number of column tiles of a large contraction, `parallel-work` the size
// below which it stays on one thread, `parallel-sample-work` the same for
// nova.sample's rows.

// DEFAULT-LABEL: func.func @decode
// DEFAULT: scf.forall (%{{.+}}) in (2)
// DEFAULT: tensor.extract_slice %{{.+}}[%{{.+}}, %{{.+}}] [1, 256] [1, 1] : tensor<1024x512xi8> to tensor<256xi8>
// FOUR-LABEL: func.func @decode
// FOUR: scf.forall (%{{.+}}) in (4)
// FOUR: tensor.extract_slice %{{.+}}[%{{.+}}, %{{.+}}] [1, 128] [1, 1] : tensor<1024x512xi8> to tensor<128xi8>
// One tile, or too little work: whole weight rows.
// ONE-LABEL: func.func @decode
// ONE-NOT: scf.forall
// ONE: tensor.extract_slice %{{.+}}[%{{.+}}, %{{.+}}] [1, 512] [1, 1] : tensor<1024x512xi8> to tensor<512xi8>
// ONE-NOT: scf.forall
// The OpenMP loop runs over the tiles (of 256 or 128 columns).
// PIPE2-LABEL: llvm.func @decode
// PIPE2: %[[N:[0-9]+]] = llvm.mlir.constant(2 : index) : i64
// PIPE2: llvm.mlir.constant(256 : index) : i64
// PIPE2: omp.parallel
// PIPE2-NEXT: omp.wsloop
// PIPE2-NEXT: omp.loop_nest (%{{.+}}) : i64 = (%{{.+}}) to (%[[N]]) step
// PIPE4-LABEL: llvm.func @decode
// PIPE4: %[[N:[0-9]+]] = llvm.mlir.constant(4 : index) : i64
// PIPE4: llvm.mlir.constant(128 : index) : i64
// PIPE4: omp.parallel
// PIPE4-NEXT: omp.wsloop
// PIPE4-NEXT: omp.loop_nest (%{{.+}}) : i64 = (%{{.+}}) to (%[[N]]) step
// The pipeline's options reach the lowering.
// DUMP: nova-declare-cpu-tier-functions,
// DUMP: convert-nova-to-linalg{bf16-dot=true parallel-sample-work=2 parallel-tiles=4 parallel-work=1}
// ZERO: error: convert-nova-to-linalg: expected parallel-tiles >= 1, got 0
func.func @decode(%x: tensor<1x1024xbf16>, %q: tensor<1024x512xi8>, %s: tensor<8x512xbf16>) -> tensor<1x512xbf16> {
  %y = nova.qmatmul %x, %q, %s layout <row_blocks = 8>
      : tensor<1x1024xbf16>, tensor<1024x512xi8>, tensor<8x512xbf16> -> tensor<1x512xbf16>
  return %y : tensor<1x512xbf16>
}

// -----

// 2 x 100 logits: below the default threshold the rows run in one loop;
// at parallel-sample-work=200 they run as an scf.forall over the batch.
// DEFAULT-LABEL: func.func @sample
// DEFAULT-NOT: scf.forall
// DEFAULT: scf.for %{{.+}} = %{{.+}} to %c2 step
// DEFAULT-NOT: scf.forall
// ROWS-LABEL: func.func @sample
// ROWS: scf.forall (%{{.+}}) in (2)
func.func @sample(%l: tensor<2x100xbf16>, %t: tensor<2xf32>, %p: tensor<2xf32>, %g: tensor<2x100xbf16>) -> tensor<2xi32> {
  %tok, %prob, %ids, %probs = nova.sample %l, %t, %p noise %g top_k 3
      : (tensor<2x100xbf16>, tensor<2xf32>, tensor<2xf32>, tensor<2x100xbf16>)
      -> (tensor<2xi32>, tensor<2xbf16>, tensor<2x3xi32>, tensor<2x3xbf16>)
  return %tok : tensor<2xi32>
}
