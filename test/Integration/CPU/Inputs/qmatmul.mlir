// A decode-shaped quantized matmul large enough to be split across threads.
func.func @qmatmul(%x: tensor<1x1024xbf16> {nova.name = "x"}, %q: tensor<1024x512xi8> {nova.name = "q"},
                   %s: tensor<8x512xbf16> {nova.name = "s"}) -> (tensor<1x512xbf16> {nova.name = "y"}) {
  %y = nova.qmatmul %x, %q, %s layout <row_blocks = 8>
      : tensor<1x1024xbf16>, tensor<1024x512xi8>, tensor<8x512xbf16> -> tensor<1x512xbf16>
  return %y : tensor<1x512xbf16>
}
