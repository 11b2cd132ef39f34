// A prefill-shaped quantized matmul of bf16 x and bf16 scales (the
// paired-row schedule's shape), the same on a slice of x that is not
// contiguous (the K-sharded x of a row-parallel weight), and an expert
// matmul of 128 slots (the blocked expert schedule).
func.func @prefill(%x: tensor<64x1024xbf16> {nova.name = "x"}, %q: tensor<1024x512xi8> {nova.name = "q"},
                   %s: tensor<8x512xbf16> {nova.name = "s"}) -> (tensor<64x512xbf16> {nova.name = "y"}) {
  %y = nova.qmatmul %x, %q, %s layout <row_blocks = 8>
      : tensor<64x1024xbf16>, tensor<1024x512xi8>, tensor<8x512xbf16> -> tensor<64x512xbf16>
  return %y : tensor<64x512xbf16>
}

func.func @sliced(%x: tensor<2x8x64xbf16> {nova.name = "x"}, %q: tensor<16x64xi8> {nova.name = "q"},
                  %s: tensor<1x64xbf16> {nova.name = "s"}) -> (tensor<2x8x64xf32> {nova.name = "y"}) {
  %part = tensor.extract_slice %x[0, 0, 16] [2, 8, 16] [1, 1, 1] : tensor<2x8x64xbf16> to tensor<2x8x16xbf16>
  %y = nova.qmatmul %part, %q, %s layout <per_column>
      : tensor<2x8x16xbf16>, tensor<16x64xi8>, tensor<1x64xbf16> -> tensor<2x8x64xf32>
  return %y : tensor<2x8x64xf32>
}

func.func @experts(%x: tensor<64x256xbf16> {nova.name = "x"}, %e: tensor<64x2xi32> {nova.name = "e"},
                   %q: tensor<4x256x512xi8> {nova.name = "q"}, %s: tensor<4x2x512xbf16> {nova.name = "s"})
    -> (tensor<64x2x512xf32> {nova.name = "y"}) {
  %y = nova.expert_qmatmul %x, %e, %q, %s layout <row_blocks = 2>
      : tensor<64x256xbf16>, tensor<64x2xi32>, tensor<4x256x512xi8>, tensor<4x2x512xbf16> -> tensor<64x2x512xf32>
  return %y : tensor<64x2x512xf32>
}
