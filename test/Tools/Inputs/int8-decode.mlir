func.func @decode(%x: tensor<1x1024xbf16>, %q: tensor<1024x512xi8>, %s: tensor<8x512xbf16>) -> tensor<1x512xbf16> {
  %y = nova.qmatmul %x, %q, %s layout <row_blocks = 8> {int8_activations} : tensor<1x1024xbf16>, tensor<1024x512xi8>, tensor<8x512xbf16> -> tensor<1x512xbf16>
  return %y : tensor<1x512xbf16>
}
